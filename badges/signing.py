"""Signing an OB 3.0 credential: schema check, then certs' ``eddsa-rdfc-2022`` proof.

The cryptography is entirely ``certs``'; this adds the Open Badges part: the credential must
follow the OB 3.0 schema before it is signed (a signed credential cannot be fixed afterwards),
and certs is given the loader that knows the Open Badges contexts. certs itself refuses
undefined terms, relative ids and control characters.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .errors import InvalidValue
from .loader import document_loader
from .schema import validate_ob3


def sign_credential(credential: Mapping[str, Any], key_pair, *, created: datetime | None = None) -> dict:
    """Return ``credential`` with a DataIntegrityProof (``eddsa-rdfc-2022``) by ``key_pair``.

    ``key_pair`` is a ``certs`` key pair whose ``id`` is the verification method (for Sillage's
    issuers, a key of their did:web document). Raises ``InvalidValue`` (field ``credential``) when
    the credential does not follow the OB 3.0 schema, or certs' ``ValueError`` subclasses when it
    cannot be signed faithfully.
    """
    import certs  # late: only issuing needs the signer

    problems = validate_ob3(credential)
    if problems:
        raise InvalidValue("credential", "does not follow the Open Badges 3.0 schema: " + "; ".join(problems))
    return certs.sign(credential, key_pair, document_loader(), created=created)
