"""Salted identity hashes, shared by OB 3.0 (``IdentityObject.identityHash``) and OB 2.0
(``recipient.identity``).

Both versions use the same form: ``"sha256$" + hex(sha256(identity + salt))`` (OB 3.0 also
allows ``md5$``, which is accepted when reading but never produced). The OB 3.0 data model gives
the worked example ``sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399``
for ``a@example.com`` salted with ``Kosher``.

E-mail addresses are hashed lower-cased and stripped, so that the recipient typing
``Alice@Example.org`` still matches; when matching others' badges we also try the address exactly
as given, since not every issuer lower-cases before hashing.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_HEX = re.compile(r"[0-9a-fA-F]{32,128}")


def new_salt() -> str:
    """A fresh random salt (128 bits, hex): one per credential, so hashes cannot be correlated."""
    return secrets.token_hex(16)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def identity_hash(email: str, salt: str) -> str:
    """``sha256$<hex>`` of the normalized e-mail followed by the salt (UTF-8)."""
    digest = hashlib.sha256((normalize_email(email) + (salt or "")).encode("utf-8")).hexdigest()
    return "sha256$" + digest


def hash_matches(stored: str, email: str, salt: str | None) -> bool:
    """True when ``stored`` (``sha256$..`` or ``md5$..``) is the hash of ``email`` with ``salt``."""
    if not isinstance(stored, str) or "$" not in stored:
        return False
    algorithm, _, expected = stored.partition("$")
    algorithm = algorithm.lower()
    if algorithm not in ("sha256", "md5") or not _HEX.fullmatch(expected):
        return False
    candidates = {normalize_email(email), email.strip()}
    for candidate in candidates:
        data = (candidate + (salt or "")).encode("utf-8")
        actual = hashlib.new(algorithm, data).hexdigest()
        if hmac.compare_digest(actual, expected.lower()):
            return True
    return False
