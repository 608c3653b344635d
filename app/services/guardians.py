"""Guardians of minors and partners of institutions.

A guardian holds an ordinary ``guardian`` grant on the minor's portfolio (app/services/grants.py): it reads
everything but the journal, writes nothing (app/policy.py), and sees the access log (``access_log``); a
guardian the school named may also share the minor's portfolio with a group's staff (``share_with_group``).
Being a guardian is that grant, active and accepted by the guardian's own account; from it the guardian
decides on the consents of app/services/minors.py. At 18 the guardian's access ends (``end_at_majority``,
a daily job) unless the person renewed it (``renew``, possible from ``RENEWAL_WINDOW_DAYS`` before;
``notify_majority`` warns both once). A refusal of the ``account`` suspends the account (the platform's
suspension, app/services/admin.py) and tells the heads (or admins) of the person's institutions to provide
paper forms; a later consent of that guardian reinstates it.

Partners are members of an institution with the ``partner`` role, added by a head; they can be asked for
attestations (they count as inside the institution) and contribute only through a contributor grant the
pupil gave them (the collab proposals): no other right comes with the role.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone

from flask import has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import jobs, policy
from app.database import utcnow
from app.extensions import db
from app.models import Grant, Membership, Organisation, Portfolio, User
from app.models.guardians import DECISIONS, GuardianConsent
from app.models.institutions import Enrolment, Group
from app.models.issuing import ADMIN, HEAD, PARTNER
from app.services import admin, grants, minors, orgs
from app.services.errors import Forbidden, ServiceError, ValidationFailed

log = logging.getLogger(__name__)
DECIDABLE = (minors.PUBLIC_PAGE, minors.SHARE_LINK, minors.OUTSIDE_ATTESTATION, minors.ACCOUNT)
# How long before the 18th birthday the person may renew a guardian's access, and when the nightly job
# tells both of them: a month leaves time to act, while the person is nearly an adult and decides alone.
RENEWAL_WINDOW_DAYS = 30
# A ``GuardianConsent`` row with this scope records that the nightly job told a person and one guardian
# that the access ends at 18 (decision ``sent``): the notice goes once, however often the job runs.
MAJORITY_NOTICE = "majority_notice"


def invite(session: Session, minor: User, email, *, locale: str | None = None) -> tuple[Grant, str]:
    """Invite a guardian of ``minor`` by e-mail: a ``guardian`` grant (scope ``all``) and its raw link. The
    pupil's own address is refused (``guardian_is_pupil``)."""
    address = grants.clean_email(email)
    if address == minor.email.lower():
        raise ValidationFailed(str(_l("A guardian's e-mail cannot be the pupil's own.")), code="guardian_is_pupil",
                               fields={"email": str(_l("A guardian's e-mail cannot be the pupil's own."))})
    return grants.invite(session, minor, email=address, role="guardian", scope="all", locale=locale)


def invite_added_guardians(session: Session, enrolment: Enrolment, before) -> list[tuple[Grant, str]]:
    """A re-import changed an activated pupil's guardian e-mails (``before`` -> ``enrolment.guardian_emails``):
    invite only the addresses it added, so that a guardian the school names later can decide too."""
    if enrolment.user_id is None:
        return []
    added = set(enrolment.guardian_emails or []) - set(before or [])
    if not added:
        return []
    minor = session.get(User, enrolment.user_id)
    return invite_from_enrolment(session, minor, enrolment, only=added) if minor is not None else []


def invite_from_enrolment(session: Session, minor: User, enrolment: Enrolment,
                          only=None) -> list[tuple[Grant, str]]:
    """On activation of a minor's account (under 18), on a join with a code by a minor who already has an
    account, and when a re-import adds guardian e-mails to an activated pupil (``only``: the new ones),
    invite the roster's guardian e-mails (by e-mail once the request ends; the pupil's own address and
    already invited ones are skipped: ``grants.invite`` refuses an open grant to the same address)."""
    years = minors.age(enrolment.birth_date)
    if years is None or years >= minors.MAJORITY:
        return []
    wanted = {e.lower() for e in only} if only is not None else None
    out = []
    for email in enrolment.guardian_emails or []:
        if wanted is not None and email.lower() not in wanted:
            continue
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


def guardian_grant_by_id(session: Session, guardian: User, grant_id) -> Grant:
    """One of ``guardian``'s guardian grants by its id (as "shared with me" names it), active even while a
    guardian's refusal suspends the account; ``NotFound`` for any other grant (another role, another
    person's, revoked), like every grant a person does not hold."""
    key = policy.parse_id(grant_id)
    grant = session.get(Grant, key) if key is not None else None
    if grant is None or grant.role != "guardian" or grant.grantee_id != guardian.id \
            or not grant.is_active(despite_suspension=True):
        raise grants.not_found()
    return grant


def access_log(session: Session, guardian: User, grant_id, *, before=None) -> tuple[Grant, list]:
    """A guardian sees the minor's access log (issue 13: "read everything, write nothing, see the access
    log"): who read what in the portfolio they watch over. Only through a guardian grant: a viewer,
    a counsellor or a group's staff never see who else read."""
    from app.services import access_log as log_service
    grant = guardian_grant_by_id(session, guardian, grant_id)
    return grant, log_service.events(session, grant.portfolio_id, before=before)


def share_with_group(session: Session, guardian: User, minor: User, *, group_id, group_role=None,
                     scope="all", expires_at=None) -> Grant:
    """A guardian shares a minor's portfolio with a group's staff in one action (issue 13: "a pupil (or a
    guardian, for a minor)"). The grant is the minor's, made by the guardian (``invited_by``, and an audit
    line): revocable by the pupil as any other. Only a guardian the school named, while the person is under
    18; the guardian writes nothing else."""
    from app.services import audit, institutions
    _deciding_guardian(session, guardian, minor)
    grant = institutions.share_with_group(session, minor, group_id=group_id, group_role=group_role,
                                          scope=scope, expires_at=expires_at)
    grant.invited_by_id = guardian.id
    group = session.get(Group, grant.group_id)
    audit.record(session, actor=guardian, action="guardian.group_share", target_type="grant",
                 target_id=grant.id, organisation_id=group.organisation_id,
                 details={"minor_id": str(minor.id), "group_id": str(grant.group_id)})
    session.flush()
    return grant


def _deciding_guardian(session: Session, guardian: User, minor: User) -> Grant:
    """The guardian's grant, if they may act for ``minor``: only for a minor (an adult's "guardian" — a
    coach, a renewed parent — reads, no more), and only a guardian the school named (one the pupil invited
    alone may be the pupil, H1), by the address the grant was given to."""
    grant = guardian_grant(session, guardian, minor)
    if not minors.is_minor(minor, threshold=minors.MAJORITY):
        raise ServiceError(str(_l("This person is an adult: nobody decides for them.")), code="not_minor",
                           status=403)
    if not minors.named_guardian(session, minor, grant.email):
        raise Forbidden(str(_l("Only a guardian named by the school can decide for this pupil.")),
                        code="guardian_not_named")
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
    _deciding_guardian(session, guardian, minor)
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
    """Who is told that a guardian refused: the heads of the institutions the minor is enrolled in now and
    their admins too (``rosters.check_head`` treats the admin as the head: an institution made with
    ``sillage orgs create --admin`` may never name a head, and must still hear of the refusal)."""
    orgs_now = minors.institution_ids(session, minor)
    if not orgs_now:
        return []
    ids = select(Membership.user_id).where(Membership.organisation_id.in_(orgs_now),
                                           Membership.role.in_((HEAD, ADMIN)), Membership.accepted())
    return list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.email)))


def _notify_heads(heads: list[User], minor: User) -> None:
    from app.mail import send_after_response, send_mail
    name = (minor.portfolio.display_name if minor.portfolio else "") or minor.email
    for head in heads:
        send_after_response(send_mail, head.email, str(_l("A guardian refused a Sillage account")),
                            str(_l("A guardian of %(name)s refused the Sillage account: please provide paper "
                                   "forms instead for this pupil.", name=name)))


def refused_accounts(session: Session, user_ids) -> set:
    """Of ``user_ids``, the accounts suspended now by a guardian's refusal (the group page marks them: the
    class teacher hands out paper instead). The suspension, not the latest decision, decides: only the
    guardian who refused lifts it, so another guardian's later consent leaves the account refused. One
    query for a whole group, then one per suspended account (rare)."""
    ids = [i for i in user_ids if i is not None]
    if not ids:
        return set()
    suspended = session.scalars(select(User).where(User.id.in_(ids), User.suspended_at.is_not(None)))
    return {user.id for user in suspended if admin.guardian_suspension(session, user) is not None}


def majority_day(birth_date: date) -> date:
    """The 18th birthday (1 March for a person born on 29 February)."""
    if birth_date.month == 2 and birth_date.day == 29:
        return date(birth_date.year + minors.MAJORITY, 3, 1)
    return birth_date.replace(year=birth_date.year + minors.MAJORITY)


def renewal_opens(person: User) -> date | None:
    """The first day the person may renew a guardian's access (``RENEWAL_WINDOW_DAYS`` before 18)."""
    if person.birth_date is None:
        return None
    return majority_day(person.birth_date) - timedelta(days=RENEWAL_WINDOW_DAYS)


def may_renew(person: User, on: date | None = None) -> bool:
    opens = renewal_opens(person)
    return opens is not None and (on or minors.today()) >= opens


def renew(session: Session, person: User, guardian: User, *, on: date | None = None) -> GuardianConsent:
    """The person keeps their guardian's access past 18 (a ``renewal`` row, by the person). Possible from
    ``RENEWAL_WINDOW_DAYS`` before the 18th birthday: the grant is still active then, so the nightly
    ``end_at_majority`` finds the renewal and leaves the grant alone."""
    if not may_renew(person, on):
        raise ServiceError(str(_l("You can keep a guardian's access from %(days)d days before your 18th "
                                  "birthday.", days=RENEWAL_WINDOW_DAYS)), code="not_adult", status=422)
    guardian_grant(session, guardian, person)
    row = GuardianConsent(minor_id=person.id, guardian_id=guardian.id, guardian_email=guardian.email,
                          scope=minors.RENEWAL, decision="granted", decided_at=utcnow())
    session.add(row)
    session.flush()
    return row


def _renewed(session: Session, owner: User, guardian_id) -> bool:
    opens = renewal_opens(owner)
    return session.scalar(select(GuardianConsent.id).where(
        GuardianConsent.minor_id == owner.id, GuardianConsent.guardian_id == guardian_id,
        GuardianConsent.scope == minors.RENEWAL,
        GuardianConsent.decided_at >= datetime.combine(opens, time.min, tzinfo=timezone.utc)).limit(1)) is not None


def _open_guardian_grants(session: Session, *, accepted_only: bool = True) -> list[Grant]:
    query = select(Grant).where(Grant.role == "guardian", Grant.revoked_at.is_(None))
    return list(session.scalars(query.where(Grant.grantee_id.is_not(None)) if accepted_only else query))


def _tell(user: User, subject, body) -> None:
    """A notice from the nightly job, in the person's language (``subject`` and ``body`` are lazy strings):
    a mail that fails is logged, never stops the job."""
    if not has_app_context():
        return
    from flask_babel import force_locale
    from app.mail import send_mail
    try:
        with force_locale(user.locale or "fr"):
            send_mail(user.email, str(subject), str(body))
    except Exception:  # noqa: BLE001 - the other notices and the revocations must still happen
        log.exception("Could not send a guardian notice")


def notify_majority(session: Session, on: date | None = None) -> int:
    """The nightly job's warning, once per person and guardian: from ``RENEWAL_WINDOW_DAYS`` before 18, the
    person and the guardian are told that the access ends on the 18th birthday unless the person keeps it
    (a ``majority_notice`` row records that it went). Returns the number of notices recorded."""
    on = on or minors.today()
    sent = 0
    for grant in _open_guardian_grants(session):
        owner, guardian = grant.portfolio.owner, grant.grantee
        if owner.birth_date is None or guardian is None or not may_renew(owner, on) \
                or on >= majority_day(owner.birth_date) or _renewed(session, owner, guardian.id):
            continue
        if session.scalar(select(GuardianConsent.id).where(
                GuardianConsent.minor_id == owner.id, GuardianConsent.guardian_id == guardian.id,
                GuardianConsent.scope == MAJORITY_NOTICE).limit(1)) is not None:
            continue
        session.add(GuardianConsent(minor_id=owner.id, guardian_id=guardian.id, guardian_email=guardian.email,
                                    scope=MAJORITY_NOTICE, decision="sent", decided_at=utcnow()))
        ends = majority_day(owner.birth_date).isoformat()
        name = (owner.portfolio.display_name if owner.portfolio else "") or owner.email
        _tell(owner, _l("Your guardian's access to your portfolio ends at 18"),
              _l("On %(date)s you turn 18: %(guardian)s will no longer read your portfolio unless you "
                 "keep their access (Guardians page, \"Keep this guardian's access\").",
                 date=ends, guardian=guardian.email))
        _tell(guardian, _l("Your access to a portfolio ends at 18"),
              _l("On %(date)s, %(name)s turns 18: your access to their portfolio ends unless they keep "
                 "it.", date=ends, name=name))
        sent += 1
    session.flush()
    return sent


def end_at_majority(session: Session, on: date | None = None) -> int:
    """The daily job: revoke the guardian grants of people who are 18 on ``on`` unless they renewed that
    guardian's access (from ``RENEWAL_WINDOW_DAYS`` before their 18th birthday); both are told the access
    ended. Returns the number of grants ended."""
    on = on or minors.today()
    ended = 0
    for grant in _open_guardian_grants(session, accepted_only=False):  # a pending invitation ends too
        owner = grant.portfolio.owner
        years = minors.age(owner.birth_date, on)
        if years is None or years < minors.MAJORITY or (
                grant.grantee_id is not None and _renewed(session, owner, grant.grantee_id)):
            continue
        grant.revoked_at = utcnow()
        ended += 1
        if grant.grantee is None:  # an invitation nobody accepted: nothing ends for anyone to hear of
            continue
        name = (owner.portfolio.display_name if owner.portfolio else "") or owner.email
        _tell(owner, _l("Your guardian's access to your portfolio has ended"),
              _l("You are 18: %(guardian)s no longer reads your portfolio. You can invite them again "
                 "from your Guardians page.", guardian=grant.email))
        _tell(grant.grantee, _l("Your access to a portfolio has ended"),
              _l("%(name)s is 18: your access to their portfolio has ended.", name=name))
    session.flush()
    return ended


@jobs.periodic_task(jobs.crontab(hour="2", minute="23"))
def end_guardianships_at_majority() -> None:
    """Every night: the month-ahead notice (once), then guardians' access ends at 18 unless renewed
    (idempotent)."""
    notify_majority(db.session)
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
