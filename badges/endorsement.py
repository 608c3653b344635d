"""Open Badges 3.0 ``EndorsementCredential`` documents (OB 3.0 §B.1.6, ``EndorsementSubject``).

An endorsement is a credential whose subject is the thing endorsed (an achievement, a profile, another
credential) named by its ``id``, with the endorser's ``endorsementComment``. It declares and must pass the
official EndorsementCredential schema (bundled in ``badges/schemas``); :func:`badges.signing.sign_credential`
applies the declared schema before signing. Pure: no Flask.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .errors import InvalidValue
from .ob3 import CONTEXTS
from .schema import ENDORSEMENT_CREDENTIAL, VALIDATOR_TYPE
from .vcdm import is_url

COMMENT_MAX = 5000


def build_endorsement(*, credential_id: str, issuer: Mapping[str, Any], subject_id: str, comment: str,
                      name: str, valid_from: datetime) -> dict:
    """The unsigned EndorsementCredential; raises ``InvalidValue`` on an unusable value."""
    if not is_url(credential_id) or not is_url(subject_id):
        raise InvalidValue("subject", "ids must be absolute URLs")
    if not isinstance(comment, str) or not comment.strip():
        raise InvalidValue("comment", "an endorsement says something")
    if len(comment) > COMMENT_MAX:
        raise InvalidValue("comment", f"at most {COMMENT_MAX} characters")
    return {
        "@context": list(CONTEXTS),
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "id": credential_id,
        "name": name,
        "issuer": dict(issuer),
        "validFrom": valid_from.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {"id": subject_id, "type": ["EndorsementSubject"],
                              "endorsementComment": comment.strip()},
        "credentialSchema": [{"id": ENDORSEMENT_CREDENTIAL, "type": VALIDATOR_TYPE}],
    }
