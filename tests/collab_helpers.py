"""Grants for the collaboration tests: an accepted grant of a role and scope, and its revocation.

Built as rows of the grants' model (``app.models.sharing.Grant``) in the state the grants service leaves
them after an invitation was accepted: what these tests exercise is the collaboration on top of it (the
invitation flow has its own tests in tests/test_grants*.py).
"""
from __future__ import annotations

import hashlib
import secrets

from app.database import utcnow
from app.extensions import db
from app.models.sharing import Grant


def accepted_grant(owner, person, role="contributor", scope="all", *, expires_at=None, revoked=False) -> Grant:
    now = utcnow()
    grant = Grant(portfolio_id=owner.portfolio.id, email=person.email, grantee_id=person.id, role=role,
                  scope=scope, expires_at=expires_at, accepted_at=now, revoked_at=now if revoked else None,
                  token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(), invited_by_id=owner.id)
    db.session.add(grant)
    db.session.commit()
    return grant


def revoke(owner, grant: Grant) -> None:
    grant.revoked_at = utcnow()
    db.session.commit()
