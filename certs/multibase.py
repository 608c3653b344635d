"""The two Multibase encodings Sillage meets: base58btc (``z``) and base64url (``u``).

Controlled Identifiers v1.0 (section "Multibase") uses ``z`` for keys and proof
values and ``u`` (base64url, no padding) for Bitstring Status Lists. Anything else
is refused rather than guessed.
"""

from __future__ import annotations

import base64
import binascii

import base58

from .errors import CertsError

BASE58BTC = "z"
BASE64URL = "u"


def encode(data: bytes, base: str = BASE58BTC) -> str:
    if base == BASE58BTC:
        return BASE58BTC + base58.b58encode(data).decode("ascii")
    if base == BASE64URL:
        return BASE64URL + base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
    raise ValueError(f"unsupported multibase {base!r}")


def decode(value: str, allowed: str = BASE58BTC + BASE64URL) -> tuple[str, bytes]:
    """Return ``(prefix, bytes)``; raise CertsError ``invalid_multibase`` on bad input."""
    if not isinstance(value, str) or len(value) < 2 or value[0] not in allowed:
        raise CertsError(f"not a supported multibase value: {str(value)[:20]!r}", "invalid_multibase")
    prefix, body = value[0], value[1:]
    try:
        if prefix == BASE58BTC:
            return prefix, base58.b58decode(body.encode("ascii"))
        if "=" in body or "+" in body or "/" in body:
            raise ValueError("padding or non-url alphabet")
        padded = body + "=" * (-len(body) % 4)
        return prefix, base64.urlsafe_b64decode(padded.encode("ascii"))
    except (ValueError, binascii.Error, UnicodeEncodeError) as error:
        raise CertsError(f"malformed multibase value: {error}", "invalid_multibase") from None
