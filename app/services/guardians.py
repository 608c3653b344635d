"""Guardians of minors and partners of institutions.

A guardian holds an ordinary ``guardian`` grant on the minor's portfolio (app/services/grants.py): it reads
everything, writes nothing, sees the access log (app/policy.py). Being a guardian is that grant, active and
accepted by the guardian's own account; from it the guardian decides on the consents of
app/services/minors.py. At 18 the guardian's access ends (``end_at_majority``, a daily job) unless the
person renewed it (``renew``). A refusal of the ``account`` suspends the account (the platform's suspension,
app/services/admin.py) and tells the heads of the person's institutions to provide paper forms; a later
consent of that guardian reinstates it.

Partners are members of an institution with the ``partner`` role, added by a head; they can be asked for
attestations (they count as inside the institution) and contribute only through a contributor grant the
pupil gave them (the collab proposals): no other right comes with the role.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from flask import has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import jobs, policy
from app.database import utcnow
from app.extensions import db
from app.models import Grant, Membership, Organisation, Portfolio, User
from app.models.guardians import DECISIONS, GuardianConsent
from app.models.institutions import Enrolment
from app.models.issuing import HEAD, PARTNER
from app.services import admin, grants, minors, orgs
from app.services.errors import Forbidden, ServiceError, ValidationFailed

DECIDABLE = (minors.PUBLIC_PAGE, minors.SHARE_LINK, minors.OUTSIDE_ATTESTATION, minors.ACCOUNT)


def invite(session: Session, minor: User, email, *, locale: str | None = None) -> tuple[Grant, str]:
    """Invite a guardian of ``minor`` by e-mail: a ``guardian`` grant (scope ``all``) and its raw link. The
    pupil's own address is refused (``guardian_is_pupil``)."""
    address = grants.clean_email(email)
    if address == minor.email.lower():
        raise ValidationFailed(str(_l("A guardian's e-mail cannot be the pupil's own.")), code="guardian_is_pupil",
                               fields={"email": str(_l("A guardian's e-mail cannot be the pupil's own."))})
    return grants.invite(session, minor, email=address, role="guardian", scope="all", locale=locale)


def invite_from_enrolment(session: Session, minor: User, enrolment: Enrolment) -> list[tuple[Grant, str]]:
    """On activation of a minor's account (under 18), invite the roster's guardian e-mails (by e-mail once
    the request ends; the pupil's own address and already invited ones are skipped)."""
    years = minors.age(enrolment.birth_date)
    if years is None or years >= minors.MAJORITY:
        return []
    out = []
    for email in enrolment.guardian_emails or []:
        try:
            out.append(invite(session, minor, email))
        except ServiceError:
            continue
    if out and has_app_context():
        from app.sharing.emails import send_invitation
        for grant, raw in out:
            send_invitation(grant, raw)
    return out


def letter_section(enrolment: Enrolment, *, site: str) -> list[str]:
    """The guardians' paragraph of the printed activation letter (inst's ``letters`` may add it)."""
    if minors.age(enrolment.birth_date) is None or minors.age(enrolment.birth_date) >= minors.MAJORITY:
        return []
    return [str(_l("For the pupil's guardians")),
            str(_l("Once the account is activated, each guardian named by the school receives an e-mail "
                   "invitation to follow this portfolio from their own account on %(site)s (create one with "
                   "the same address). A guardian reads everything, writes nothing and sees who read what; "
                   "under 15, public pages, share links and requests to people outside the school wait for "
                   "a guardian's consent. You may also refuse the account: the school then gives paper "
                   "forms instead.", site=site))]


def letter_html(enrolment: Enrolment, *, site: str) -> str:
    """``letter_section`` as escaped HTML for the activation letter ("" for an adult)."""
    from markupsafe import escape
    lines = letter_section(enrolment, site=site)
    if not lines:
        return ""
    return f"<h2>{escape(lines[0])}</h2><p>{escape(lines[1])}</p>"


def guardian_grant(session: Session, guardian: User, minor: User) -> Grant:
    """The active guardian grant of ``guardian`` on ``minor``'s portfolio; ``Forbidden`` otherwise."""
    grant = session.scalars(select(Grant).join(Portfolio, Portfolio.id == Grant.portfolio_id).where(
        Portfolio.owner_id == minor.id, Grant.grantee_id == guardian.id, Grant.role == "guardian",
        Grant.revoked_at.is_(None))).first()
    if grant is None or not grant.is_active(despite_suspension=True):  # to lift their own refusal
        raise Forbidden(str(_l("You are not a guardian of this person.")), code="not_guardian")
    return grant


def minors_of(session: Session, guardian: User) -> list[User]:
    rows = session.scalars(select(Grant).where(Grant.grantee_id == guardian.id, Grant.role == "guardian",
                                               Grant.revoked_at.is_(None)))
    return [grant.portfolio.owner for grant in rows if grant.is_active(despite_suspension=True)]


def decide(session: Session, guardian: User, minor: User, scope: str, decision: str) -> GuardianConsent:
    """Record a guardian's decision (never updates an older one). A refused ``account`` tells the heads."""
    if scope not in DECIDABLE:
        raise ValidationFailed(str(_l("Not one of the allowed values.")), fields={"scope": str(_l("Not one of the allowed values."))})
    if decision not in DECISIONS:
        raise ValidationFailed(str(_l("Not one of the allowed values.")), fields={"decision": str(_l("Not one of the allowed values."))})
    grant = guardian_grant(session, guardian, minor)
    if not minors.is_minor(minor, threshold=minors.MAJORITY):
        # A guardian decides only for a minor: an adult's "guardian" (a coach, a renewed parent) reads, no more.
        raise ServiceError(str(_l("This person is an adult: nobody decides for them.")), code="not_minor",
                           status=403)
    if not minors.named_guardian(session, minor, grant.email):
        # Only a guardian the school named decides: one the pupil invited alone may be the pupil (H1).
        raise Forbidden(str(_l("Only a guardian named by the school can decide for this pupil.")),
                        code="guardian_not_named")
    consent = GuardianConsent(minor_id=minor.id, guardian_id=guardian.id, guardian_email=guardian.email,
                              scope=scope, decision=decision, decided_at=utcnow())
    session.add(consent)
    session.flush()
    if scope == minors.ACCOUNT and decision == "refused":
        _suspend(session, guardian, minor)
        heads = heads_of(session, minor)
        if has_app_context():
            _notify_heads(heads, minor)
    elif scope == minors.ACCOUNT and admin.guardian_suspension(session, minor) == str(guardian.id):
        admin.reinstate(session, policy.OPERATOR, minor, by_guardian=guardian)
    return consent


def _suspend(session: Session, guardian: User, minor: User) -> None:
    """A guardian's refusal suspends the account for real (the platform's suspension: no sign-in, sessions
    and tokens end, share links answer 410), with the refusal as its reason. An account an admin
    suspended already stays as it is (and a later consent of this guardian does not lift the admin's
    suspension: only the guardian whose refusal suspended it reinstates it, by consenting)."""
    if minor.suspended_at is not None:
        return
    reason = str(_l("A guardian (%(email)s) refused this account on %(date)s: the school provides paper "
                    "forms instead.", email=guardian.email, date=utcnow().date().isoformat()))
    admin.suspend(session, policy.OPERATOR, minor, reason, by_guardian=guardian)


def history(session: Session, minor: User) -> list[GuardianConsent]:
    return list(session.scalars(select(GuardianConsent).where(GuardianConsent.minor_id == minor.id)
                                .order_by(GuardianConsent.decided_at.desc())))


def heads_of(session: Session, minor: User) -> list[User]:
    """The heads of the institutions the minor is enrolled in now."""
    orgs_now = minors.institution_ids(session, minor)
    if not orgs_now:
        return []
    return list(session.scalars(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.organisation_id.in_(orgs_now), Membership.role == HEAD, Membership.accepted())))


def _notify_heads(heads: list[User], minor: User) -> None:
    from app.mail import send_after_response, send_mail
    name = (minor.portfolio.display_name if minor.portfolio else "") or minor.email
    for head in heads:
        send_after_response(send_mail, head.email, str(_l("A guardian refused a Sillage account")),
                            str(_l("A guardian of %(name)s refused the Sillage account: please provide paper "
                                   "forms instead for this pupil.", name=name)))


def renew(session: Session, person: User, guardian: User, *, on: date | None = None) -> GuardianConsent:
    """At 18 or later, the person keeps their guardian's access (a ``renewal`` row, by the person)."""
    if minors.age(person.birth_date, on) is None or minors.age(person.birth_date, on) < minors.MAJORITY:
        raise ServiceError(str(_l("Only an adult renews a guardian's access.")), code="not_adult", status=422)
    guardian_grant(session, guardian, person)
    row = GuardianConsent(minor_id=person.id, guardian_id=guardian.id, guardian_email=guardian.email,
                          scope=minors.RENEWAL, decision="granted", decided_at=utcnow())
    session.add(row)
    session.flush()
    return row


def end_at_majority(session: Session, on: date | None = None) -> int:
    """The daily job: revoke the guardian grants of people who are 18 on ``on`` unless they renewed that
    guardian's access since their 18th birthday. Returns the number of grants ended."""
    on = on or minors.today()
    ended = 0
    rows = session.scalars(select(Grant).where(Grant.role == "guardian", Grant.revoked_at.is_(None)))
    for grant in rows:
        owner = grant.portfolio.owner
        years = minors.age(owner.birth_date, on)
        if years is None or years < minors.MAJORITY:
            continue
        birthday = owner.birth_date.replace(year=owner.birth_date.year + minors.MAJORITY) \
            if not (owner.birth_date.month == 2 and owner.birth_date.day == 29) \
            else date(owner.birth_date.year + minors.MAJORITY, 3, 1)
        renewed = session.scalar(select(GuardianConsent.id).where(
            GuardianConsent.minor_id == owner.id, GuardianConsent.guardian_id == grant.grantee_id,
            GuardianConsent.scope == minors.RENEWAL, GuardianConsent.decided_at >= datetime.combine(birthday, time.min, tzinfo=timezone.utc)).limit(1))
        if renewed is None:
            grant.revoked_at = utcnow()
            ended += 1
    session.flush()
    return ended


@jobs.periodic_task(jobs.crontab(hour="2", minute="23"))
def end_guardianships_at_majority() -> None:
    """Every night: guardians' access ends at 18 unless renewed (idempotent)."""
    end_at_majority(db.session)


def add_partner(session: Session, head, org: Organisation, email) -> Membership:
    """A head adds a partner (an account) to their institution: role ``partner``, no right on portfolios."""
    from app.services.rosters import check_head
    check_head(session, head, org)
    return orgs.add_member(session, org_actor(head), org, email, PARTNER,
                           on_behalf_of=None if isinstance(head, policy.Operator) else head)


def org_actor(head):
    """``orgs.add_member`` checks ``manage_members``; a head passed ``check_head`` already."""
    return policy.OPERATOR if not isinstance(head, policy.Operator) else head


def partners(session: Session, org: Organisation) -> list[Membership]:
    """The accepted partners (pending invitations: ``invitations.pending_of``)."""
    return list(session.scalars(select(Membership).where(Membership.organisation_id == org.id,
                                                         Membership.role == PARTNER, Membership.accepted())))


def remove_partner(session: Session, head, org: Organisation, membership_id) -> None:
    """A head ends a partnership, or cancels a partner's invitation, as ``orgs.remove_member`` does (audited,
    a notice to a partner removed). What pupils shared with the partner by a contributor or certifier grant
    stays theirs to revoke: they gave it, and the notice says so."""
    from app.services.rosters import check_head
    check_head(session, head, org)
    orgs.remove_member(session, org_actor(head), org, membership_id, only_roles=(PARTNER,),
                       on_behalf_of=None if isinstance(head, policy.Operator) else head)
