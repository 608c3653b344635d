"""Demo: the lycée's admin (Nadia Benali) has invited Claire Dubois, the counsellor, to award the lycée's
badges (role ``issuer``). Claire has not answered yet: her organisations page shows the invitation with
its Accept and Decline buttons, and the lycée's page lists it as pending (cancellable)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Membership, Organisation, User
from app.services import orgs


def load(session: Session) -> list[str]:
    from app.demo import DEMO_ACCOUNTS, ISSUER, ISSUER_ADMIN
    org = session.scalars(select(Organisation).where(Organisation.name == ISSUER["name"])).first()
    admin = session.scalars(select(User).where(User.email == ISSUER_ADMIN.email)).first()
    counsellor = session.scalars(select(User).where(User.email == DEMO_ACCOUNTS[1].email)).first()
    if org is None or admin is None or counsellor is None:
        return []
    if session.scalars(select(Membership).where(Membership.organisation_id == org.id,
                                                Membership.user_id == counsellor.id)).first() is None:
        orgs.add_member(session, admin, org, counsellor.email, "issuer")
        session.flush()
    return [f"Demo invitation: {counsellor.email} is invited as issuer of {org.name} (pending)"]
