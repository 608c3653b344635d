"""Demo: Inès's tutor (the contributor of her internship) is a partner of the demo collège (convention),
so that a head sees a partner and Yanis can ask the tutor for an attestation without a guardian's consent.
Yanis (14, in the collège's 4e B) has activated his account, and his parents (``parents.martin@example.org``,
named on the roster, invited by that activation) accepted with their own account: consent, refusal, the
guardian's view with the access log and the group share can be tried from ``sillage demo``."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import policy
from app.models import Grant, Membership, Organisation, User
from app.models.institutions import Enrolment
from app.services import accounts, grants, guardians, institutions

MINOR = ("yanis.martin@example.org", "yanis-demo-portfolio")
GUARDIAN = ("parents.martin@example.org", "parents-demo-martin", "Famille Martin")


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
    return [f"Demo partner: {tutor.email} is a partner of {org.name}", *_minor_and_guardian(session, org)]


def _minor_and_guardian(session: Session, org: Organisation) -> list[str]:
    """Yanis activates his enrolment (a code, then ``institutions.activate``, which invites the roster's
    guardian e-mail); his parents' account accepts that invitation. Each step only when not done yet."""
    enrolment = session.scalars(select(Enrolment).where(Enrolment.organisation_id == org.id,
                                                        Enrolment.given_name == "Yanis")).first()
    if enrolment is None:
        return []
    minor = session.get(User, enrolment.user_id) if enrolment.user_id else None
    if minor is None:
        minor = institutions.activate(session, institutions.new_code(session, enrolment), email=MINOR[0],
                                      password=MINOR[1])
        raw = accounts.verification_token(session, minor, force=True)
        if raw:
            accounts.verify_email(session, raw)
    parent = session.scalars(select(User).where(User.email == GUARDIAN[0])).first()
    if parent is None:
        parent = accounts.create_user(session, email=GUARDIAN[0], password=GUARDIAN[1], display_name=GUARDIAN[2],
                                      verified=True, locale="fr")
    grant = session.scalars(select(Grant).where(Grant.portfolio_id == minor.portfolio.id, Grant.role == "guardian",
                                                Grant.email == GUARDIAN[0], Grant.revoked_at.is_(None))).first()
    if grant is not None and grant.grantee_id is None:
        grants.accept(session, parent, grant.id)
    session.flush()
    return [f"Demo minor: {MINOR[0]}  password: {MINOR[1]}  (Yanis, 14, activated in 4e B)",
            f"Demo guardian: {GUARDIAN[0]}  password: {GUARDIAN[1]}  (Yanis's parents, named by the school)"]
