"""Demo: Inès's tutor (the contributor of her internship) is a partner of the demo collège (convention),
so that a head sees a partner and Yanis can ask the tutor for an attestation without a guardian's consent.
Yanis's guardians (``parents.martin@example.org``) are invited when he activates his account."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import policy
from app.models import Membership, Organisation, User
from app.services import guardians


def load(session: Session) -> list[str]:
    from app.demo import TUTOR
    from app.institutions.demo import SCHOOL
    org = session.scalars(select(Organisation).where(Organisation.name == SCHOOL["name"])).first()
    tutor = session.scalars(select(User).where(User.email == TUTOR.email)).first()
    if org is None or tutor is None:
        return []
    if session.scalars(select(Membership).where(Membership.organisation_id == org.id,
                                                Membership.user_id == tutor.id)).first() is None:
        guardians.add_partner(session, policy.OPERATOR, org, tutor.email)
        session.flush()
    return [f"Demo partner: {tutor.email} is a partner of {org.name}"]
