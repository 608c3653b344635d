"""Checks shared by the OB 3.0 and OB 2.0 builders.

Every text that goes into a credential is checked here first, because the signing stack has
sharp edges the Sillage design lists as pitfalls:

* pyld writes some control characters raw where RDFC-1.0 escapes them, so two canonicalizers
  disagree and a signature made here fails elsewhere: refuse U+0000-U+001F (except tab, line
  feed, carriage return) and U+007F, and lone surrogates (not encodable in UTF-8).
* pyld resolves a relative id against a fake base that other verifiers reject: every id must be
  an absolute IRI (``scheme:...``; an http(s) URL also needs a host).
* Dates are emitted only as UTC with a ``Z`` and no fractional seconds.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from urllib.parse import urlsplit

from .errors import InvalidValue

_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
# Characters that may not appear anywhere in an IRI (RFC 3987): spaces, controls, <>"{}|\^`
_IRI_FORBIDDEN = re.compile(r"[\x00-\x20\x7f<>\"{}|\\^`]")
# A reasonable upper bound for a single text; a credential is not a document store.
MAX_TEXT = 20_000
MAX_IRI = 4_096


def text(field: str, value: object, *, required: bool = True, max_length: int = MAX_TEXT) -> str | None:
    """Return ``value`` as a checked string (or None when optional and empty)."""
    if value is None or value == "":
        if required:
            raise InvalidValue(field, "is required")
        return None
    if not isinstance(value, str):
        raise InvalidValue(field, "must be a string")
    if not value.strip():
        if required:
            raise InvalidValue(field, "is required")
        return None
    bad = _FORBIDDEN.search(value)
    if bad:
        raise InvalidValue(field, f"contains a control character (U+{ord(bad.group()):04X})")
    if len(value) > max_length:
        raise InvalidValue(field, f"is longer than {max_length} characters")
    return value


def iri(field: str, value: object, *, required: bool = True,
        schemes: tuple[str, ...] | None = None) -> str | None:
    """Return ``value`` as an absolute IRI, optionally restricted to some schemes.

    ``schemes`` entries are lower-case prefixes such as ``"https"``, ``"did"``, ``"urn:uuid"``.
    """
    checked = text(field, value, required=required, max_length=MAX_IRI)
    if checked is None:
        return None
    if checked != checked.strip() or _IRI_FORBIDDEN.search(checked):
        raise InvalidValue(field, "is not a valid IRI (spaces or forbidden characters)")
    if not _SCHEME.match(checked):
        raise InvalidValue(field, "must be an absolute IRI (for example https://... or urn:uuid:...)")
    scheme = checked.split(":", 1)[0].lower()
    if scheme in ("http", "https"):
        parts = urlsplit(checked)
        if not parts.netloc or not parts.hostname:
            raise InvalidValue(field, "must be an absolute URL with a host")
    if schemes is not None:
        lowered = checked.lower()
        if not any(lowered.startswith(prefix + ":") for prefix in schemes):
            raise InvalidValue(field, "must start with " + " or ".join(p + ":" for p in schemes))
    return checked


def email(field: str, value: object) -> str:
    """A minimal e-mail check (one @, a dot in the domain); full validation belongs to the app."""
    checked = text(field, value, max_length=320)
    assert checked is not None
    address = checked.strip()
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or " " in address or domain.startswith(".") or domain.endswith("."):
        raise InvalidValue(field, "is not an e-mail address")
    return address


def timestamp(field: str, value: object, *, required: bool = True) -> str | None:
    """Format an aware datetime as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, no fractional seconds)."""
    if value is None:
        if required:
            raise InvalidValue(field, "is required")
        return None
    if not isinstance(value, datetime):
        raise InvalidValue(field, "must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValue(field, "must be timezone-aware (UTC)")
    return value.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_tree(field: str, value: object) -> None:
    """Refuse control characters in every string of a nested JSON value (keys included).

    Used on dicts the builders accept as they are (``credentialStatus``): a last guard so no
    text reaches the canonicalizer unchecked.
    """
    if isinstance(value, str):
        text(field, value, required=False, max_length=MAX_TEXT)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidValue(field, "has a non-string key")
            text(f"{field}.{key}", key, max_length=200)
            check_tree(f"{field}.{key}", item)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_tree(f"{field}[{index}]", item)
    elif value is None or isinstance(value, (bool, int, float)):
        return
    else:
        raise InvalidValue(field, f"has a value of unsupported type {type(value).__name__}")
