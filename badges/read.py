"""Reading badges that come from outside: uploaded files, pasted JSON, baked images, URLs.

``read_badge`` turns whatever a person hands over into a ``BadgeDocument`` — what it is (kind,
version), the document as JSON, and the text exactly as received (``raw``, kept verbatim because
a signature covers those bytes or their canonical form). It classifies; it never verifies:

* a compact JWS (VC-JWT, OB 2.0 signed assertion) is decoded, its signature left to the verifier;
* an OB 2.0 hosted assertion URL is fetched through the ``fetch`` function the caller passes in
  (the verifier's SSRF-guarded fetch): this package does no network I/O of its own.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .bake import MAX_IMAGE_BYTES, extract, image_format
from .errors import (FETCH_FAILED, FETCH_REQUIRED, INVALID_CREDENTIAL, TOO_LARGE, UNSUPPORTED_DOCUMENT,
                     UNSUPPORTED_IMAGE, BadgeError)
from .formats import MAX_PAYLOAD_BYTES, decode_jws, document_version, looks_like_jws, parse_json

Fetch = Callable[[str], Any]

OB3_CREDENTIAL = "ob3_credential"   # OB 3.0 JSON, proof embedded (or none)
OB3_JWT = "ob3_jwt"                 # OB 3.0 secured as a VC-JWT (compact JWS)
OB2_ASSERTION = "ob2_assertion"     # OB 2.0 assertion JSON (hosted verification)
OB2_SIGNED = "ob2_signed"           # OB 2.0 signed assertion (compact JWS)
VC_CREDENTIAL = "vc_credential"     # a W3C verifiable credential that is not an Open Badge
VC_JWT = "vc_jwt"


@dataclass(frozen=True)
class BadgeDocument:
    """A badge as read. ``document`` is the JSON (for a JWS: its decoded, unverified payload)."""

    kind: str
    version: str | None          # "3.0", "2.0", or None for a non-badge verifiable credential
    document: dict
    raw: str                     # the JSON text or compact JWS exactly as received / embedded
    source: str                  # "json", "jws", "png", "svg" or "url"
    header: dict | None = None   # the JOSE header of a JWS (unverified)
    url: str | None = None       # where a hosted OB 2.0 assertion was fetched from
    notes: tuple[str, ...] = field(default=())

    @property
    def is_jws(self) -> bool:
        return self.header is not None


def _is_vc(document: Mapping) -> bool:
    types = document.get("type")
    types = types if isinstance(types, list) else [types]
    return "VerifiableCredential" in types


def _classify(document: dict, kinds: dict) -> tuple[str, str | None] | None:
    """(kind, version) of a badge document, the kinds given per OB version (None: any other VC)."""
    version = document_version(document)
    if version in ("3.0", "2.0"):
        return kinds[version], version
    return (kinds[None], None) if _is_vc(document) else None


def _from_json(document: Any, raw: str, source: str, url: str | None = None) -> BadgeDocument:
    if not isinstance(document, dict):
        raise BadgeError(INVALID_CREDENTIAL, "the badge document is not a JSON object")
    if found := _classify(document, {"3.0": OB3_CREDENTIAL, "2.0": OB2_ASSERTION, None: VC_CREDENTIAL}):
        return BadgeDocument(*found, document, raw, source, url=url)
    raise BadgeError(UNSUPPORTED_DOCUMENT,
                     "this is neither a verifiable credential nor an Open Badges 2.0 assertion")


def _from_jws(token: str, source: str) -> BadgeDocument:
    header, payload = decode_jws(token)
    if not isinstance(payload, dict):
        raise BadgeError(INVALID_CREDENTIAL, "the JWS payload is not a JSON object")
    document = payload
    if isinstance(payload.get("vc"), dict) and "@context" not in payload:
        document = payload["vc"]  # VC 1.1-style JWT: the credential sits in the "vc" claim
    if found := _classify(document, {"3.0": OB3_JWT, "2.0": OB2_SIGNED, None: VC_JWT}):
        return BadgeDocument(*found, document, token, source, header=header)
    raise BadgeError(UNSUPPORTED_DOCUMENT,
                     "the JWS does not carry a verifiable credential nor a badge assertion")


def read_url(url: str, fetch: Fetch | None) -> BadgeDocument:
    """Fetch a hosted OB 2.0 assertion (or any JSON badge) with the caller's ``fetch``.

    ``fetch(url)`` may return parsed JSON, text, bytes, or an object with a ``body`` (bytes).
    Its errors become ``BadgeError`` keeping their ``code`` (e.g. ``fetch_refused``).
    """
    if fetch is None:
        raise BadgeError(FETCH_REQUIRED, "reading a badge from a URL needs a fetch function")
    if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
        raise BadgeError(INVALID_CREDENTIAL, "the badge URL must be an http(s) URL")
    try:
        result = fetch(url)
    except BadgeError:
        raise
    except Exception as exc:  # any failure of the injected fetch is reported, with its code if it has one
        code = getattr(exc, "code", FETCH_FAILED)
        raise BadgeError(code, f"the badge could not be fetched: {exc}") from exc
    body = getattr(result, "body", result)
    if isinstance(body, (bytes, bytearray)):
        if len(body) > MAX_PAYLOAD_BYTES:
            raise BadgeError(TOO_LARGE, "the fetched document is too large")
        body = bytes(body).decode("utf-8-sig", "replace")
    if isinstance(body, str):
        text = body.strip()
        if looks_like_jws(text):
            return _from_jws(text, "url")
        return _from_json(parse_json(text), text, "url", url=url)
    if isinstance(body, dict):
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return _from_json(body, raw, "url", url=url)
    raise BadgeError(INVALID_CREDENTIAL, "the fetched document is not a JSON object")


def read_text(text: str, fetch: Fetch | None = None) -> BadgeDocument:
    """Read pasted/uploaded text: credential JSON, OB 2.0 assertion JSON, a compact JWS or a URL."""
    if not isinstance(text, str):
        raise BadgeError(INVALID_CREDENTIAL, "the badge must be given as text")
    if len(text) > MAX_PAYLOAD_BYTES:
        raise BadgeError(TOO_LARGE, "the badge document is larger than 1 MB")
    stripped = text.strip().lstrip("\ufeff")
    if stripped.startswith("{"):
        return _from_json(parse_json(stripped), stripped, "json")
    if looks_like_jws(stripped):
        return _from_jws(stripped, "jws")
    if stripped.lower().startswith(("https://", "http://")) and len(stripped.split()) == 1:
        return read_url(stripped, fetch)
    raise BadgeError(INVALID_CREDENTIAL, "this is neither JSON, a compact JWS, nor a badge URL")


def _from_image(data: bytes, fetch: Fetch | None) -> BadgeDocument:
    version, text, kind = extract(data)
    if text.startswith("{"):
        read = _from_json(parse_json(text), text, kind)
    elif looks_like_jws(text):
        read = _from_jws(text, kind)
    elif version == "2.0" and text.lower().startswith(("https://", "http://")):
        fetched = read_url(text, fetch)
        return BadgeDocument(fetched.kind, fetched.version, fetched.document, fetched.raw, kind,
                             fetched.header, fetched.url, ("baked_url",))
    else:
        raise BadgeError(INVALID_CREDENTIAL, "the embedded badge is neither JSON nor a compact JWS")
    if read.version not in (None, version):
        return BadgeDocument(read.kind, read.version, read.document, read.raw, kind, read.header, None,
                             (f"baked_as_{version}",))
    return read


def read_badge(data: bytes | str, fetch: Fetch | None = None) -> BadgeDocument:
    """Read a badge from bytes (a baked PNG/SVG, or JSON/JWS text) or from a string.

    ``fetch`` is only used for an OB 2.0 hosted assertion URL (given directly or baked into an
    old image). Raises ``BadgeError`` with a stable ``code``.
    """
    if isinstance(data, str):
        return read_text(data, fetch)
    if not isinstance(data, (bytes, bytearray)):
        raise BadgeError(INVALID_CREDENTIAL, "a badge must be given as bytes or text")
    if len(data) > MAX_IMAGE_BYTES:
        raise BadgeError(TOO_LARGE, "the file is larger than 10 MB")
    try:
        image_format(data)
    except BadgeError as exc:
        if exc.code != UNSUPPORTED_IMAGE:
            raise
    else:
        return _from_image(bytes(data), fetch)
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadgeError(UNSUPPORTED_IMAGE, "the file is neither a PNG, an SVG, nor UTF-8 text") from None
    return read_text(text, fetch)
