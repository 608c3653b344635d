"""Recognising what a badge document is, without trusting it.

Shared by ``bake`` (which must know whether a credential is OB 3.0 or OB 2.0 to choose the PNG
keyword / SVG element) and ``read`` (which classifies whatever a person uploads). Nothing here
verifies a signature: a compact JWS is only *decoded* so its payload can be classified; checking
it is the verifier's job.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .errors import DUPLICATE_KEY, INVALID_CREDENTIAL, TOO_COMPLEX, TOO_DEEP, TOO_LARGE, BadgeError

MAX_PAYLOAD_BYTES = 1024 * 1024  # an embedded or submitted badge document
MAX_DEPTH = 64  # levels of nesting; a credential needs about ten
# Bounds on the JSON-LD work a credential may ask for (see check_complexity). The largest real
# credential measured, the 1EdTech OB 3.0 "Complete OpenBadgeCredential" example, has 86 objects,
# 545 values, no array longer than 4 and a node-map work (jsonld_work) of 916; Sillage's own
# credentials about 15 objects, 90 values, arrays of 3 and a work of 84; the 1EdTech test vectors
# and the other specification examples less. The limits leave a margin of 20x (objects), 35x
# (values), 64x (array length: an achievement aligned with 256 skills) and 100x (work), and keep
# the worst document within them to about a second or two of verification on this 2-core machine
# (tests/benchmarks/bench_credentials.py, section "inflated").
MAX_OBJECTS = 2_000
MAX_VALUES = 20_000
MAX_ARRAY_LENGTH = 256
MAX_JSONLD_WORK = 100_000
OB2_CONTEXT = "https://w3id.org/openbadges/v2"
VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
VC1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
OB3_CONTEXT_PREFIX = "https://purl.imsglobal.org/spec/ob/v3p0/"
OB3_TYPES = frozenset(("OpenBadgeCredential", "AchievementCredential"))

_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    """A JSON object whose keys repeat means two things at once (each reader keeps another value)."""
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _text_depth_ok(text: str, limit: int = MAX_DEPTH) -> bool:
    """Bracket depth of JSON text, measured before parsing so that no parser recurses deeply."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True


def parse_json(text: str | bytes) -> Any:
    """Strict, bounded JSON, the one parser for whatever comes from outside (pasted, uploaded, baked,
    fetched): at most 1 MB and 64 levels, no NaN/Infinity, no repeated key, only valid Unicode text.

    Raises ``BadgeError``: ``too_large`` (param ``limit``), ``too_deep`` (``limit``), ``duplicate_key``
    (``key``) or ``invalid_credential`` (``reason``).
    """
    if len(text) > MAX_PAYLOAD_BYTES:
        raise BadgeError(TOO_LARGE, f"the badge document is larger than {MAX_PAYLOAD_BYTES // 1024} KiB",
                         limit="1 MB")
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadgeError(INVALID_CREDENTIAL, "the badge document is not UTF-8 text",
                             reason="not UTF-8 text") from None
    if not _text_depth_ok(text):
        raise BadgeError(TOO_DEEP, f"the badge document is nested more than {MAX_DEPTH} levels deep",
                         limit=MAX_DEPTH)
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise BadgeError(DUPLICATE_KEY, f"the badge document repeats the key {exc}", key=str(exc)) from None
    except RecursionError:
        raise BadgeError(TOO_DEEP, "the badge document is nested too deeply", limit=MAX_DEPTH) from None
    except ValueError as exc:
        reason = f"{exc.msg}, line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) \
            else str(exc)
        raise BadgeError(INVALID_CREDENTIAL, f"the badge document is not valid JSON ({reason})",
                         reason=reason) from None
    check_json_value(value)
    return value


def check_json_value(value: Any, limit: int = MAX_DEPTH) -> None:
    """The same bounds for a value parsed elsewhere (a dict handed in, a document an injected fetch
    returned): at most ``limit`` levels, and only text that is valid Unicode (a lone surrogate such as
    ``\\ud800`` parses as JSON but is no text: nothing could hash it the same way twice). One iterative
    walk: a recursive one is what deep nesting attacks."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise BadgeError(TOO_DEEP, f"the badge document is nested more than {limit} levels deep",
                             limit=limit)
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise BadgeError(INVALID_CREDENTIAL, "the badge document holds invalid Unicode text",
                                 reason="invalid Unicode text") from None
        elif isinstance(item, Mapping):
            for key, child in item.items():
                stack.append((key, depth))
                stack.append((child, depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, depth + 1) for child in item)


def check_complexity(value: Any) -> None:
    """Refuse (``too_complex``) a document that would cost more JSON-LD work than any real credential.

    pyld's node map adds each value of a node's property after comparing it with those already there:
    quadratic in the number of values a node gets for one property (10,000 alignments in 840 KB took
    38 s), and objects that share an ``id`` are one node, whose values pile up. The size cap alone does
    not bound that, so four bounds do, each far above real credentials (see ``MAX_OBJECTS``): objects,
    values in all, items of one array, and the node map's work, the sum over (node, property) of the
    square of its number of values, counting objects with the same ``id`` as one node. Checked before
    any JSON-LD processing, by the verifier and every signing path; documents that are never JSON-LD
    processed (an OB 2.0 revocation list) are not bound by it. One iterative walk.
    """
    _measure(value, check=True)


def jsonld_work(value: Any) -> int:
    """The node-map work measure of :func:`check_complexity` (for measurements and the README)."""
    return _measure(value, check=False)


def _measure(value: Any, check: bool) -> int:
    objects = values = 0
    blank_work = 0
    named: dict[tuple[str, str], int] = {}  # (node id, property) -> number of values
    stack = [value]
    while stack:
        item = stack.pop()
        values += 1
        if isinstance(item, Mapping):
            objects += 1
            node = item.get("id", item.get("@id"))
            for key, child in item.items():
                count = len(child) if isinstance(child, (list, tuple)) else 1
                if isinstance(node, str) and isinstance(key, str):
                    named[(node, key)] = named.get((node, key), 0) + count
                else:
                    blank_work += count * count
                stack.append(child)
        elif isinstance(item, (list, tuple)):
            if check and len(item) > MAX_ARRAY_LENGTH:
                raise BadgeError(TOO_COMPLEX, f"an array has more than {MAX_ARRAY_LENGTH} items",
                                 limit=f"{MAX_ARRAY_LENGTH} items in an array")
            stack.extend(item)
        if check and (objects > MAX_OBJECTS or values > MAX_VALUES):
            limit = f"{MAX_OBJECTS} objects" if objects > MAX_OBJECTS else f"{MAX_VALUES} values"
            raise BadgeError(TOO_COMPLEX, f"the document has more than {limit}", limit=limit)
    work = blank_work + sum(count * count for count in named.values())
    if check and work > MAX_JSONLD_WORK:
        raise BadgeError(TOO_COMPLEX, "the document asks for too much JSON-LD work "
                         f"({work} > {MAX_JSONLD_WORK} value comparisons)",
                         limit=f"{MAX_JSONLD_WORK} value comparisons")
    return work


def looks_like_jws(value: str) -> bool:
    return len(value) <= MAX_PAYLOAD_BYTES and bool(_JWS.match(value))


def b64url(part: str) -> bytes:
    """A JWS segment: base64url without padding, which is multibase ``u`` without its prefix."""
    from certs import multibase  # late: reading a badge needs no JSON-LD machinery

    return multibase.decode(multibase.BASE64URL + part, allowed=multibase.BASE64URL)[1]


def jws_segments(token: str) -> tuple[dict, bytes]:
    """The header (a JSON object, read with ``parse_json``: no repeated key, since a header whose
    ``alg`` appears twice means two things to two readers) and the raw payload of a compact JWS,
    WITHOUT verifying it; raises ``BadgeError`` (``INVALID_CREDENTIAL``) saying what is wrong.

    The one reader of the compact form: ``decode_jws`` (reading a badge) and the verifier's VC-JWT
    check (``badges.verify.jwt``) both use it, so that they never disagree on what a token says.
    Callers check the token's shape first (they differ on an empty payload or signature)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise BadgeError(INVALID_CREDENTIAL, "not a compact JWS (header.payload.signature)")
    try:
        header, payload = parse_json(b64url(parts[0])), b64url(parts[1])
    except ValueError:  # certs' multibase errors are ValueErrors
        raise BadgeError(INVALID_CREDENTIAL, "a part of the JWS is not base64url") from None
    if not isinstance(header, dict):
        raise BadgeError(INVALID_CREDENTIAL, "the JWS header is not a JSON object")
    return header, payload


def decode_jws(token: str) -> tuple[dict, Any]:
    """Decode a compact JWS into (header, payload) WITHOUT verifying it.

    The payload is parsed as JSON when it is JSON (a JWT claims set); otherwise returned as text.
    """
    token = token.strip()
    if not looks_like_jws(token):
        raise BadgeError(INVALID_CREDENTIAL, "not a compact JWS (header.payload.signature)")
    header, payload_raw = jws_segments(token)
    if not isinstance(header.get("alg"), str):
        raise BadgeError(INVALID_CREDENTIAL, "the JWS header has no algorithm")
    payload: Any
    if payload_raw.lstrip().startswith(b"{"):
        payload = parse_json(payload_raw)
    else:
        payload = payload_raw.decode("utf-8", "replace")
    return header, payload


def as_list(value: Any) -> list:
    """JSON-LD's "one or many": a missing value is none, a single value is a list of one."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def document_version(document: Any) -> str | None:
    """``"3.0"`` for an OB 3.0 credential, ``"2.0"`` for an OB 2.0 assertion, else None."""
    if not isinstance(document, Mapping):
        return None
    # A VC-JWT payload may carry the credential in a "vc" claim (VC 1.1 style).
    if isinstance(document.get("vc"), Mapping) and "@context" not in document:
        document = document["vc"]
    types = {t for t in as_list(document.get("type")) if isinstance(t, str)}
    contexts = [c for c in as_list(document.get("@context")) if isinstance(c, str)]
    if types & OB3_TYPES or any(c.startswith(OB3_CONTEXT_PREFIX) for c in contexts):
        return "3.0"
    if "Assertion" in types or OB2_CONTEXT in contexts:
        return "2.0"
    if "recipient" in document and "badge" in document:
        return "2.0"  # OB 1.x/2.0 assertion without @context
    return None


def credential_version(credential: Any) -> str:
    """Version of something to bake: an OB 3.0 dict or VC-JWT, an OB 2.0 dict, JWS or URL."""
    if isinstance(credential, Mapping):
        version = document_version(credential)
    elif isinstance(credential, str):
        value = credential.strip()
        if looks_like_jws(value):
            _header, payload = decode_jws(value)
            version = document_version(payload)
        elif value.lower().startswith(("https://", "http://")):
            version = "2.0"  # a hosted OB 2.0 assertion URL (legacy baking)
        else:
            version = None
    else:
        version = None
    if version is None:
        raise BadgeError(INVALID_CREDENTIAL,
                         "not an Open Badges 3.0 credential nor an Open Badges 2.0 assertion")
    return version


def serialize(credential: Any) -> str:
    """The text embedded in an image: compact JSON (UTF-8) or the JWS/URL string as given.

    ``]]>`` can only occur inside a JSON string, where ``\\u003e`` is an equivalent escape; it is
    escaped so the text can always sit in an SVG CDATA section.
    """
    if isinstance(credential, str):
        text = credential.strip()
    else:
        text = json.dumps(credential, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        text = text.replace("]]>", "]]\\u003e")
    if len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise BadgeError(TOO_LARGE, f"the credential is larger than {MAX_PAYLOAD_BYTES // 1024} KiB")
    return text
