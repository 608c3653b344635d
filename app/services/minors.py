"""The age rule for minors: under the French digital majority (15, loi du 7 juillet 2023 and art. 45 of
the loi Informatique et Libertés) an account works for the school's purpose, and anything beyond it waits
for a guardian's consent, recorded with its date and guardian (``GuardianConsent``).

Age comes from ``User.birth_date`` (set from the roster on activation); an unknown birth date is an adult's
account (a person who signed up alone). The services that reach beyond the school call
``require_consent(session, user, action)`` once: pages (making a page public), share links (to outsiders),
attestations (asking someone outside the person's institutions).
"""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from app.database import utcnow
from app.models import Grant, Membership, Portfolio, User
from app.models.guardians import SCOPES, GuardianConsent
from app.models.institutions import Enrolment
from app.services.errors import Forbidden, ValidationFailed

DIGITAL_MAJORITY = 15
MAJORITY = 18
PUBLIC_PAGE, SHARE_LINK, OUTSIDE_ATTESTATION, ACCOUNT, RENEWAL = SCOPES

_MESSAGES = {
    PUBLIC_PAGE: _l("You are under 15: a public page needs the consent of one of your guardians first. "
                    "Ask them to give it from their Sillage account."),
    SHARE_LINK: _l("You are under 15: a share link for people outside your school needs the consent of one "
                   "of your guardians first. Ask them to give it from their Sillage account."),
    OUTSIDE_ATTESTATION: _l("You are under 15: asking someone outside your school for an attestation needs "
                            "the consent of one of your guardians first. Ask them to give it from their "
                            "Sillage account."),
}


def today() -> date:
    return utcnow().date()


def age(birth_date: date | None, on: date | None = None) -> int | None:
    """Whole years on ``on`` (today by default); ``None`` for an unknown birth date."""
    if birth_date is None:
        return None
    on = on or today()
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def check_birth_date(value: date | None, *, field: str = "birth_date", on: date | None = None) -> date | None:
    """A birth date in the future (or more than 120 years ago) is refused with a clear message."""
    if value is None:
        return None
    on = on or today()
    if value > on:
        raise ValidationFailed(str(_l("A birth date cannot be in the future.")),
                               fields={field: str(_l("A birth date cannot be in the future."))})
    if on.year - value.year > 120:
        raise ValidationFailed(str(_l("This birth date is not plausible.")),
                               fields={field: str(_l("This birth date is not plausible."))})
    return value


def is_minor(user: User, on: date | None = None, *, threshold: int = DIGITAL_MAJORITY) -> bool:
    years = age(getattr(user, "birth_date", None), on)
    return years is not None and years < threshold


def latest(session: Session, user: User, scope: str) -> GuardianConsent | None:
    """The latest decision for ``scope`` (rows are never updated: each decision is kept)."""
    return session.scalars(select(GuardianConsent).where(GuardianConsent.minor_id == user.id,
                                                         GuardianConsent.scope == scope)
                           .order_by(GuardianConsent.decided_at.desc()).limit(1)).first()


def account_refused(session: Session, user: User) -> bool:
    """A guardian refused the account: it is suspended for the school's purpose (paper instead)."""
    decision = latest(session, user, ACCOUNT)
    return decision is not None and decision.decision == "refused"


def has_consent(session: Session, user: User, action: str, on: date | None = None) -> bool:
    if not is_minor(user, on):
        return True
    if account_refused(session, user):
        return False
    decision = latest(session, user, action)
    return decision is not None and decision.decision == "granted"


def require_consent(session: Session, user: User, action: str, on: date | None = None) -> None:
    """Raise ``Forbidden`` (code ``guardian_consent_required``, or ``account_refused`` when a guardian
    refused the account) if ``user`` is under 15 and no guardian consented to ``action``."""
    if action not in _MESSAGES:
        raise ValueError(action)
    if not is_minor(user, on):
        return
    if account_refused(session, user):
        raise Forbidden(str(_l("One of your guardians refused this account: your school will give you paper "
                               "forms instead.")), code="account_refused")
    if not has_consent(session, user, action, on):
        raise Forbidden(str(_MESSAGES[action]), code="guardian_consent_required")


def institution_ids(session: Session, user: User) -> set:
    """The organisations the person is enrolled in now."""
    return set(session.scalars(select(Enrolment.organisation_id).where(Enrolment.user_id == user.id,
                                                                     Enrolment.ended_at.is_(None))))


def inside_institution(session: Session, user: User, email: str) -> bool:
    """Is ``email`` an account that is a member (staff or partner) of one of the person's institutions?"""
    orgs = institution_ids(session, user)
    if not orgs:
        return False
    person = session.scalars(select(User).where(User.email == email.lower())).first()
    if person is None:
        return False
    return session.scalar(select(Membership.id).where(Membership.user_id == person.id, Membership.accepted(),
                                                      Membership.organisation_id.in_(orgs)).limit(1)) is not None


def named_guardian(session: Session, user: User, email: str | None) -> bool:
    """Did one of the person's institutions name ``email`` as a guardian (the roster's guardian e-mails of an
    active enrolment)? Only such a guardian decides for a minor: a "guardian" the pupil invited alone could
    be the pupil's own second address (review 14, H1)."""
    address = (email or "").strip().lower()
    if not address:
        return False
    rows = session.scalars(select(Enrolment.guardian_emails).where(Enrolment.user_id == user.id,
                                                                   Enrolment.ended_at.is_(None)))
    return any(address in (emails or []) for emails in rows)


def _minor_cutoff(on: date) -> date:
    """Under 15 on ``on`` exactly when born after this day (the same rule as ``age``; 29 February → 28)."""
    try:
        return on.replace(year=on.year - DIGITAL_MAJORITY)
    except ValueError:
        return on.replace(year=on.year - DIGITAL_MAJORITY, day=28)


def _consented(owner, scope: str):
    """SQL: the latest decision of ``scope`` for ``owner`` (an entity: the users row) is "granted"."""
    row, later = aliased(GuardianConsent), aliased(GuardianConsent)
    return exists().where(row.minor_id == owner.id, row.scope == scope, row.decision == "granted",
                          ~exists().where(later.minor_id == row.minor_id, later.scope == scope,
                                          later.decided_at > row.decided_at))


def _account_refused(owner):
    row, later = aliased(GuardianConsent), aliased(GuardianConsent)
    return exists().where(row.minor_id == owner.id, row.scope == ACCOUNT, row.decision == "refused",
                          ~exists().where(later.minor_id == row.minor_id, later.scope == ACCOUNT,
                                          later.decided_at > row.decided_at))


def grants_waiting_for_consent(on: date):
    """The ids (a SELECT, correlated with nothing outside it) of the grants that reach outside their owner's
    institutions while the owner is under 15 and lacks the consent such a grant needs *now*: ``share_link``
    (and ``outside_attestation`` for a certifier), as ``grants.check_outsider_consent`` asks at creation.

    Checked at use, like suspension (``Grant.is_active`` and ``app.policy.active_clause`` both read it):
    a guardian who withdraws the consent (or refuses the account), or an adult account that becomes a
    minor's by joining a school with a birth date, stops such grants at once, and a consent given (again)
    lets them work again, with nothing to undo (review 14, M5/L10). Group grants reach a school's staff and
    guardian grants are the school's named guardians: neither is an outsider's."""
    grant, portfolio, owner = aliased(Grant), aliased(Portfolio), aliased(User)
    inside = exists().where(Membership.user_id == grant.grantee_id, Membership.accepted(),
                            Membership.organisation_id == Enrolment.organisation_id,
                            Enrolment.user_id == owner.id, Enrolment.ended_at.is_(None))
    consented = and_(_consented(owner, SHARE_LINK), ~_account_refused(owner))
    return (select(grant.id).join(portfolio, portfolio.id == grant.portfolio_id)
            .join(owner, owner.id == portfolio.owner_id)
            .where(owner.birth_date > _minor_cutoff(on), grant.group_id.is_(None), grant.role != "guardian",
                   ~inside, or_(~consented, and_(grant.role == "certifier",
                                                 ~_consented(owner, OUTSIDE_ATTESTATION))))
            .correlate(None))


def grant_waits_for_consent(session: Session, grant: Grant, on: date | None = None) -> bool:
    """``grants_waiting_for_consent`` for one grant (no query unless its owner is under 15)."""
    owner = grant.portfolio.owner
    if grant.group_id is not None or grant.role == "guardian" or not is_minor(owner, on):
        return False
    return session.scalar(select(exists().where(
        Grant.id == grant.id, Grant.id.in_(grants_waiting_for_consent(on or today()))))) is True
