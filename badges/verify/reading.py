"""Reading the input: a dict, JSON text or bytes, a compact JWS (VC-JWT, also as a JSON string), a baked
PNG/SVG, or the URL of an OB 2.0 hosted assertion, into the document to verify (the ``parse`` check), and
what kind of document it is. A JWT is returned as a :class:`jwt.SecuredCredential` (not yet verified)."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .. import messages
from ..errors import INVALID_CREDENTIAL, BadgeError
from ..formats import (MAX_PAYLOAD_BYTES, OB2_CONTEXT, OB3_TYPES, VC1_CONTEXT, VC2_CONTEXT, as_list,
                       check_json_value)
from ..formats import parse_json as _parse_json
from .jwt import enveloped_token, looks_like_jwt, read_jwt
from .report import Failure
from .session import _Session

MAX_JSON_BYTES = MAX_PAYLOAD_BYTES
MAX_IMAGE_BYTES = 5 * 1024 * 1024


def _read_failure(error: BadgeError) -> Failure:
    """A reading error of :mod:`badges.formats` as a failed ``parse`` check, in the verifier's codes."""
    code = "invalid_json" if error.code == INVALID_CREDENTIAL else error.code
    return Failure(code, **error.params)


def parse_json(data: bytes | str) -> Any:
    """Strict JSON (badges.formats' one parser: bounded size and depth, no NaN/Infinity, no duplicate
    keys, valid text); raises Failure."""
    try:
        return _parse_json(data)
    except BadgeError as error:
        raise _read_failure(error) from None


def check_value(value: Any) -> None:
    """The same bounds on a value that was not parsed here; raises Failure."""
    try:
        check_json_value(value)
    except BadgeError as error:
        raise _read_failure(error) from None


def _id_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def document_kind(document: Mapping) -> str | None:
    """``ob3``, ``vc2``, ``vc1`` or ``ob2`` from the contexts and types; None for anything else."""
    contexts = [c for c in as_list(document.get("@context")) if isinstance(c, str)]
    types = {t for t in as_list(document.get("type")) if isinstance(t, str)}
    if contexts and contexts[0] in (VC2_CONTEXT, VC1_CONTEXT):
        if types & OB3_TYPES:
            return "ob3"
        return "vc2" if contexts[0] == VC2_CONTEXT else "vc1"
    if OB2_CONTEXT in contexts or "Assertion" in types:
        return "ob2"
    return None


def is_vc1(document: Mapping) -> bool:
    """Whether the document is a VC 1.1 credential (its first context is the VC 1.1 one): its dates are
    then ``issuanceDate`` / ``expirationDate`` rather than ``validFrom`` / ``validUntil``."""
    contexts = as_list(document.get("@context"))
    return bool(contexts) and contexts[0] == VC1_CONTEXT



def read(session: _Session, data: Any) -> tuple[Any, str]:
    """The document to verify, from whatever was given; raises Failure (``parse``)."""
    if isinstance(data, Mapping):
        check_value(data)
        try:
            size = len(json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        except (TypeError, ValueError, RecursionError):
            raise Failure("invalid_json", reason="not a JSON value") from None
        if size > MAX_JSON_BYTES:
            raise Failure("too_large", limit="1 MB")
        if token := enveloped_token(data):
            return _from_jwt(token), "jwt"
        return dict(data), "json"
    if isinstance(data, str):
        stripped = data.strip()
        if stripped.lower().startswith(("https://", "http://")) and len(stripped) < 2048 \
                and not any(c.isspace() for c in stripped):
            return _from_url(session, stripped), "url"
        if looks_like_jwt(stripped):
            return _from_jwt(stripped), "jwt"
        if len(data) > MAX_JSON_BYTES:
            raise Failure("too_large", limit="1 MB")
        data = data.encode("utf-8", "surrogatepass")
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise Failure("unreadable_input")
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if data.startswith(b"\x89PNG") or (head.startswith(b"<") and b"<svg" in head):
        return _from_image(session, data), "image"
    if not head:
        raise Failure("invalid_json", reason="empty input")
    if head[:1] == b'"' or (head[:1] == b"e" and len(data) <= MAX_JSON_BYTES):  # a JWS, or one as JSON
        text = parse_json(data) if head[:1] == b'"' else data.decode("ascii", "replace")
        if looks_like_jwt(text):
            return _from_jwt(text), "jwt"
    if head[:1] not in (b"{", b"["):
        raise Failure("invalid_json", reason="not a JSON object")
    value = parse_json(data)
    if not isinstance(value, dict):
        raise Failure("not_an_object")
    if token := enveloped_token(value):
        return _from_jwt(token), "jwt"
    return value, "json"


def _from_url(session: _Session, url: str) -> dict:
    document = session.fetch(url, "hosted_unavailable")
    if not isinstance(document, dict):
        raise Failure("not_an_object")
    return document


def _from_image(session: _Session, data: bytes) -> dict:
    from ..bake import unbake  # noqa: PLC0415 - only images need Pillow-free PNG/SVG parsing

    if len(data) > MAX_IMAGE_BYTES:
        raise Failure("too_large", limit="5 MB")
    try:
        baked = unbake(data)
    except BadgeError as exc:
        code = exc.code if exc.code in messages.MESSAGES else "invalid_image"
        raise Failure(code, limit="5 MB", reason=exc.message) from None
    credential = baked["credential"]
    if isinstance(credential, dict):
        check_value(credential)
        return credential
    if credential.lower().startswith(("https://", "http://")):
        return _from_url(session, credential)
    return _from_jwt(credential)  # unbake returns JSON, a URL or a compact JWS


def _from_jwt(token: str):
    """A VC-JWT as read (see :mod:`.jwt`); an OB 2.0 signed assertion is a JWS too, which is not verified."""
    secured = read_jwt(token)
    if document_kind(secured.credential) == "ob2":
        raise Failure("unsupported_format", format="Open Badges 2.0 signed assertion (JWS)")
    return secured

