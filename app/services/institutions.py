"""Institutions: groups and their staff, activation codes and letters, joining, leaving, group sharing.

Rules kept here (the pages, the API and the CLI all come through these functions):

- a head (``Membership.role == "head"``) manages the groups, staff and rosters of their own institution
  only; every lookup of a group or an enrolment is scoped to the organisation the actor heads, so a head
  of another school gets ``NotFound`` rather than a hint that the object exists;
- an activation code is 12 characters from an alphabet without look-alikes (60 bits), printed in three
  groups of four, typed with or without separators and in any case, stored as its SHA-256, valid once
  and for ``CODE_DAYS`` days; a new one supersedes the enrolment's earlier ones of the same channel (a
  letter or an e-mail: see ``new_code``), and using any spends them all. Guessing is limited per
  address, per account and in total (app/institutions/guard.py; the arithmetic is in ``CODE_LENGTH``'s
  comment below);
- activation creates the account (with the roster's birth date) or, for a person who already has one,
  links it after they confirm while signed in: nothing is merged silently;
- ending an affiliation keeps the account, the portfolio and every credential; it revokes the person's
  grants to that institution's groups and tells them why by e-mail. Nothing here deletes an account;
- every head action is written to the audit log (app/services/audit.py) right where it happens, with
  the head as ``actor``; the roster import's own steps (groups it makes, affiliations it ends) run with
  ``actor=None`` and are covered by the one ``roster.import`` line its caller records.
"""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.orm.attributes import set_committed_value

from app import policy
from app.database import utcnow
from app.models import Grant, Membership, Organisation, User
from app.models.institutions import (
    ACTIVATE, ENROLLING_KINDS, GROUP_KINDS, GROUP_STAFF_ROLES, JOIN, ActivationCode, Enrolment, Group,
    GroupStaff,
)
from app.models.issuing import APPROVED, HEAD, STAFF_ROLES
from app.services import accounts, audit
from app.services.errors import Conflict, NotFound, ServiceError, ValidationFailed

CODE_DAYS = 60
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
# Why 12 characters (review 14, L1). 32 symbols: 32**12 = 2**60 ≈ 1.15e18 codes. Worst case: 100,000
# live codes (a whole region's pending pupils, some with both a letter and an e-mailed code, counted
# twice: 2e5). Failed codes are capped for the whole platform at RATE_LIMIT_CODES_TOTAL (1,000 an hour:
# 24,000 a day, 1.44e6 over the CODE_DAYS = 60 days a code lives), whatever the number of addresses;
# the chance that any guess hits any code over a code's whole life is then at most
# 1.44e6 × 2e5 / 1.15e18 ≈ 2.5e-7. Without the total cap (say it were lifted), the review's attacker
# (10,000 IPv6 /64s, each held to 10 a minute: 1.44e8 guesses a day, 8.6e9 in 60 days) would have
# 8.6e9 × 2e5 / 1.15e18 ≈ 1.5e-3 — against 0.8 with the old 10 characters. 12 characters are still
# typed in 15 seconds from a letter ("ABCD-EFGH-JKMN").
CODE_LENGTH = 12
LEGACY_LENGTH = 10  # codes printed or mailed before the change stay valid until they expire


def _not_found() -> NotFound:
    return NotFound(str(_l("Not found.")))


def _audit(session: Session, actor, action: str, org_id, target_type: str, target_id, **details) -> None:
    """One audit line for a head's act (nothing for ``actor=None``: a roster import's own steps)."""
    if actor is not None:
        audit.record(session, actor=actor, action=action, target_type=target_type, target_id=target_id,
                     organisation_id=org_id, details=details)


def headed(session: Session, actor, org_id) -> Organisation:
    """The organisation ``org_id`` if ``actor`` heads it (or is the operator) and it enrols; else an error."""
    from app.services.rosters import check_head
    key = policy.parse_id(org_id)
    org = session.get(Organisation, key) if key is not None else None
    check_head(session, actor, org)
    return org


def institutions_of(session: Session, user: User) -> list[tuple[Organisation, str]]:
    """The enrolling institutions where ``user`` is staff, with their role."""
    rows = session.execute(select(Organisation, Membership.role).join(Membership)
                           .where(Membership.user_id == user.id, Membership.role.in_(STAFF_ROLES),
                                  Membership.accepted(), Organisation.kind.in_(ENROLLING_KINDS), Organisation.status == APPROVED)
                           .order_by(Organisation.name))
    return [(org, role) for org, role in rows]


# --- groups and staff -------------------------------------------------------------------------------

def groups(session: Session, org: Organisation) -> list[Group]:
    return list(session.scalars(select(Group).where(Group.organisation_id == org.id)
                                .order_by(Group.year.desc(), Group.name)))


def group_of(session: Session, org: Organisation, group_id) -> Group:
    """A group of ``org`` only: another institution's group is not found."""
    key = policy.parse_id(group_id)
    group = session.get(Group, key) if key is not None else None
    if group is None or group.organisation_id != org.id:
        raise _not_found()
    return group


def _group_name(name) -> str:
    name = (name or "").strip() if isinstance(name, (str, type(None))) else ""
    if not name or len(name) > 120:
        raise ValidationFailed(str(_l("A group needs a name (120 characters at most).")),
                               fields={"name": str(_l("A group needs a name (120 characters at most)."))})
    return name


def create_group(session: Session, org: Organisation, *, name, kind="class", year=None, actor=None) -> Group:
    name = _group_name(name)
    if kind not in GROUP_KINDS:
        raise ValidationFailed(str(_l("Not one of the allowed values.")), fields={"kind": str(_l("Not one of the allowed values."))})
    from app.services.rosters import school_year
    try:
        year = int(year) if year not in (None, "") else school_year()
    except (TypeError, ValueError):
        raise ValidationFailed(str(_l("The year must be a number.")), fields={"year": str(_l("The year must be a number."))})
    if not 1900 <= year <= 2200:  # 20 digits overflowed the database's integer: a 500, not a message
        raise ValidationFailed(str(_l("The year must be between 1900 and 2200.")),
                               fields={"year": str(_l("The year must be between 1900 and 2200."))})
    if session.scalars(select(Group.id).where(Group.organisation_id == org.id, Group.name == name,
                                              Group.year == year)).first():
        raise Conflict(str(_l("This group already exists.")), code="group_exists")
    group = Group(id=uuid.uuid4(), organisation_id=org.id, name=name, kind=kind, year=year)
    session.add(group)
    session.flush()
    _audit(session, actor, "group.create", org.id, "group", group.id, name=name, year=year)
    return group


def rename_group(session: Session, org: Organisation, group: Group, name, *, actor=None) -> Group:
    """A new name (one year holds no two groups of one name); shares follow the group, not its name."""
    name = _group_name(name)
    if name == group.name:
        return group
    if session.scalars(select(Group.id).where(Group.organisation_id == org.id, Group.name == name,
                                              Group.year == group.year, Group.id != group.id)).first():
        raise Conflict(str(_l("This group already exists.")), code="group_exists")
    old, group.name = group.name, name
    session.flush()
    _audit(session, actor, "group.rename", org.id, "group", group.id, old=old, name=name)
    return group


def archive_group(session: Session, org: Organisation, group: Group, *, actor=None) -> Group:
    """Archive a group (end of the school year): it stays for the record, but its grants stop reaching
    anyone at once (``policy.reaches_clause`` checks ``archived_at``) and nobody may share with it any more.
    Archiving twice is a ``Conflict`` (``group_archived``)."""
    if group.archived_at is not None:
        raise Conflict(str(_l("This group is already archived.")), code="group_archived")
    group.archived_at = utcnow()
    session.flush()
    _audit(session, actor, "group.archive", org.id, "group", group.id, name=group.name)
    return group


def add_staff(session: Session, org: Organisation, group: Group, *, email, role, actor=None) -> GroupStaff:
    """Give the person with this address a place in the group (``teacher``/``counsellor``/``head``).

    Accepted staff of the institution get the place at once. Anyone else is invited to the institution's
    staff (``orgs.add_member``: the group role, a group ``head`` being invited as ``teacher``), or their
    pending invitation is used, and the place waits with it (``GroupStaff.membership_id``): it reaches
    nothing until they accept (``take_places``) and goes if they decline or the invitation is withdrawn. A
    head's answer is the same whether or not the address has an account or an invitation (review 14, M4).
    The operator's act (demo, command line: ``actor`` None) invites nobody: the account must exist and
    becomes staff at once. An issuing member or a partner of the organisation is refused (``not_staff``).
    Adding a place the person has already changes its role."""
    from app.services import orgs
    if role not in GROUP_STAFF_ROLES:
        raise ValidationFailed(str(_l("Not one of the allowed values.")), fields={"role": str(_l("Not one of the allowed values."))})
    address = accounts.normalise_email(email)
    membership = orgs.find_membership(session, org, address, accounts.find_by_email(session, address))
    if membership is None:
        operator = actor is None or isinstance(actor, policy.Operator)
        membership = orgs.add_member(session, policy.OPERATOR, org, address, role if role != HEAD else "teacher",
                                     on_behalf_of=None if operator else actor)
    elif membership.role not in STAFF_ROLES:
        raise Conflict(str(_l("This person is an issuing member or a partner of the organisation, not staff.")),
                       code="not_staff")
    holder = (GroupStaff.user_id == membership.user_id if membership.is_accepted
              else GroupStaff.membership_id == membership.id)
    place = session.scalars(select(GroupStaff).where(GroupStaff.group_id == group.id, holder)).first()
    if place is None:
        place = GroupStaff(id=uuid.uuid4(), group=group, role=role)
        if membership.is_accepted:
            place.user_id = membership.user_id
        else:
            place.membership = membership
        session.add(place)
    place.role = role
    session.flush()
    _audit(session, actor, "staff.add", org.id, "group", group.id, role=role,
           **({"user_id": place.user_id} if place.user_id else {"email": membership.email}))
    return place


def take_places(session: Session, membership: Membership) -> None:
    """The person accepted ``membership``: the group places waiting with it become theirs, except in a
    group archived meanwhile or one where they have a place already (those go)."""
    for place in list(membership.group_places):
        taken = session.scalar(select(GroupStaff.id).where(GroupStaff.group_id == place.group_id,
                                                           GroupStaff.user_id == membership.user_id))
        if place.group.archived_at is not None or taken is not None:
            session.delete(place)
        else:
            place.membership, place.user_id = None, membership.user_id
    session.flush()


def remove_staff(session: Session, group: Group, staff_id, *, actor=None) -> None:
    """Take a place away (a waiting one too; the invitation to the institution stays)."""
    key = policy.parse_id(staff_id)
    staff = session.get(GroupStaff, key) if key is not None else None
    if staff is None or staff.group_id != group.id:
        raise _not_found()
    _audit(session, actor, "staff.remove", group.organisation_id, "group", group.id, role=staff.role,
           **({"user_id": staff.user_id} if staff.user_id else {"email": staff.address}))
    session.delete(staff)
    session.flush()


# --- the institution's staff (memberships) ---------------------------------------------------------

def staff_members(session: Session, org: Organisation) -> list[Membership]:
    """The institution's staff memberships (head, teacher, counsellor), by role then e-mail."""
    return list(session.scalars(select(Membership).join(User, User.id == Membership.user_id)
                                .where(Membership.organisation_id == org.id, Membership.role.in_(STAFF_ROLES),
                                       Membership.accepted())
                                .order_by(Membership.role, User.email)))


def _staff_role(role) -> str:
    if role not in STAFF_ROLES:
        raise ValidationFailed(str(_l("Not one of the allowed values.")),
                               fields={"role": str(_l("Not one of the allowed values."))})
    return role


def _staff_membership(session: Session, org: Organisation, actor, membership_id) -> Membership:
    """A staff membership of ``org``; an issuing member (admin, issuer) or a partner is not the head's to
    change here (not found), and a head never demotes or removes themself (``own_membership``): the
    institution always keeps the head who is acting."""
    from app.services import orgs
    membership = orgs.get_membership(session, org, membership_id)
    if membership.role not in STAFF_ROLES:
        raise _not_found()
    if getattr(actor, "id", None) == membership.user_id:
        raise Conflict(str(_l("You cannot change or remove your own role: ask another head.")),
                       code="own_membership")
    return membership


def add_staff_member(session: Session, actor, org: Organisation, *, email, role) -> Membership:
    """A head names a person with an account head, teacher or counsellor of the institution (audited)."""
    from app.services import orgs
    headed(session, actor, org.id)
    return orgs.add_member(session, policy.OPERATOR, org, email, _staff_role(role), on_behalf_of=actor)


def change_staff_role(session: Session, actor, org: Organisation, membership_id, role) -> Membership:
    from app.services import orgs
    headed(session, actor, org.id)
    membership = _staff_membership(session, org, actor, membership_id)
    return orgs.change_role(session, policy.OPERATOR, org, membership.id, _staff_role(role),
                            on_behalf_of=actor)


def remove_staff_member(session: Session, actor, org: Organisation, membership_id) -> None:
    """The person stops being staff: their places in the institution's groups go too, so the group grants
    stop reaching them at once. Their own account is untouched."""
    from app.services import orgs
    headed(session, actor, org.id)
    membership = _staff_membership(session, org, actor, membership_id)
    if membership.user_id is not None:  # an invitation's waiting places go with it (``group_places``)
        for staff in session.scalars(select(GroupStaff).join(Group, Group.id == GroupStaff.group_id).where(
                Group.organisation_id == org.id, GroupStaff.user_id == membership.user_id)):
            session.delete(staff)
    orgs.remove_member(session, policy.OPERATOR, org, membership.id, on_behalf_of=actor)


def staff_groups(session: Session, user: User) -> list[tuple[Group, str]]:
    """The groups where ``user`` is staff (still a staff member of the institution), with their role."""
    rows = session.execute(select(Group, GroupStaff.role).join(GroupStaff, GroupStaff.group_id == Group.id)
                           .join(Membership, (Membership.organisation_id == Group.organisation_id)
                                 & (Membership.user_id == user.id))
                           .where(GroupStaff.user_id == user.id, Membership.role.in_(STAFF_ROLES),
                                  Membership.accepted(), Group.archived_at.is_(None))
                           .order_by(Group.name))
    return [(g, r) for g, r in rows]


def members(session: Session, group: Group, *, include_ended: bool = False) -> list[Enrolment]:
    query = select(Enrolment).where(Enrolment.group_id == group.id)
    if not include_ended:
        query = query.where(Enrolment.ended_at.is_(None))
    return list(session.scalars(query.order_by(Enrolment.family_name, Enrolment.given_name)))


def enrolment_of(session: Session, org: Organisation, enrolment_id) -> Enrolment:
    key = policy.parse_id(enrolment_id)
    enrolment = session.get(Enrolment, key) if key is not None else None
    if enrolment is None or enrolment.organisation_id != org.id:
        raise _not_found()
    return enrolment


# --- the audit lines of acts done elsewhere (rosters.py and ``letters`` are called, then these) -------

def roster_imported(session: Session, actor, org: Organisation, batch) -> None:
    """The audit line of a roster import, recorded by its callers (pages, API, CLI) with the batch."""
    audit.record(session, actor=actor, action="roster.import", target_type="batch", target_id=batch.id,
                 organisation_id=org.id, details={"rows": batch.params.get("rows", batch.total)})


def letters_printed(session: Session, actor, org: Organisation, group: Group, pages: int) -> None:
    """The audit line of printed activation letters (each print issued fresh codes)."""
    audit.record(session, actor=actor, action="letters.print", target_type="group", target_id=group.id,
                 organisation_id=org.id, details={"pages": pages})


# --- sharing with a group ---------------------------------------------------------------------------

def shareable_groups(session: Session, user: User) -> list[Group]:
    """The groups the person may share with: those of the institutions where they are enrolled (active)."""
    return list(session.scalars(select(Group).join(Enrolment, Enrolment.group_id == Group.id)
                                .where(Enrolment.user_id == user.id, Enrolment.ended_at.is_(None),
                                       Group.archived_at.is_(None)).order_by(Group.name)))


def share_with_group(session: Session, owner: User, *, group_id, group_role=None, scope="all",
                     expires_at=None) -> Grant:
    """One action: a viewer grant to the staff of one of the owner's groups (optionally one staff role)."""
    from app.services import grants
    key = policy.parse_id(group_id)
    group = session.get(Group, key) if key is not None else None
    if group is None or group not in shareable_groups(session, owner):
        raise _not_found()
    if group_role in ("", None):
        group_role = None
    elif group_role not in ("teacher", "counsellor"):
        raise ValidationFailed(str(_l("Not one of the allowed values.")), fields={"group_role": str(_l("Not one of the allowed values."))})
    portfolio = owner.portfolio
    scope = grants.clean_scope(session, portfolio, "viewer", scope)
    expires_at = grants.clean_expiry(expires_at)
    grant = Grant(id=uuid.uuid4(), portfolio_id=portfolio.id, email="", role="viewer", scope=scope,
                  expires_at=expires_at, accepted_at=utcnow(), invited_by_id=owner.id, group_id=group.id,
                  group_role=group_role, message="", locale=owner.locale or "fr")
    session.add(grant)
    session.flush()
    return grant


def reached(session: Session, grant: Grant) -> list[tuple[User, str]]:
    """Each person a group grant reaches now (the grant page lists them), with their role in the group."""
    if grant.group_id is None:
        return [(grant.grantee, "")] if grant.grantee is not None else []
    query = (select(User, GroupStaff.role).join(GroupStaff, GroupStaff.user_id == User.id)
             .join(Group, Group.id == GroupStaff.group_id)
             .join(Membership, (Membership.organisation_id == Group.organisation_id)
                   & (Membership.user_id == User.id))
             .where(GroupStaff.group_id == grant.group_id, Membership.role.in_(STAFF_ROLES),
                    Membership.accepted(), Group.archived_at.is_(None)))
    if grant.group_role:
        query = query.where(GroupStaff.role == grant.group_role)
    return [(u, r) for u, r in session.execute(query.order_by(User.email))]


def shared_with_staff(session: Session, user: User) -> list[Grant]:
    """The active group grants reaching ``user`` as staff (the teacher's page)."""
    return list(session.scalars(select(Grant).where(Grant.group_id.is_not(None), policy.reaches_clause(user),
                                                    policy.active_clause(utcnow()))
                                .order_by(Grant.created_at.desc())))


# --- leaving -----------------------------------------------------------------------------------------

def end_enrolment(session: Session, enrolment: Enrolment, reason: str, *, notify: bool = True,
                  actor=None) -> Enrolment:
    """End an affiliation: the enrolment is kept (ended), the person's grants to the institution's groups
    end, the account and portfolio stay; the person is told by e-mail."""
    if enrolment.ended_at is not None:
        return enrolment
    now = utcnow()
    enrolment.ended_at, enrolment.end_reason = now, (reason or "")[:500]
    for code in session.scalars(select(ActivationCode).where(ActivationCode.enrolment_id == enrolment.id,
                                                             ActivationCode.used_at.is_(None))):
        code.used_at = now
    if enrolment.user is not None and enrolment.user.portfolio is not None:
        org_groups = select(Group.id).where(Group.organisation_id == enrolment.organisation_id)
        for grant in session.scalars(select(Grant).where(Grant.portfolio_id == enrolment.user.portfolio.id,
                                                         Grant.group_id.in_(org_groups),
                                                         Grant.revoked_at.is_(None))):
            grant.revoked_at = now
        if notify and has_app_context():
            _notify_end(session, enrolment)
    session.flush()
    _audit(session, actor, "enrolment.end", enrolment.organisation_id, "enrolment", enrolment.id,
           reason=enrolment.end_reason)
    return enrolment


def _direct_grants_to_staff(session: Session, enrolment: Enrolment) -> list[str]:
    """The addresses of the institution's staff the person still shares with *directly* (a grant they gave
    to a named person, not to a group). Those are the person's own choice of a person, who may be more than
    a teacher to them: they stay, and the leaving notice names them so that the person can revoke them."""
    staff = select(Membership.user_id).where(Membership.organisation_id == enrolment.organisation_id,
                                             Membership.role.in_(STAFF_ROLES), Membership.accepted())
    staff_emails = select(User.email).where(User.id.in_(staff))
    return sorted(set(session.scalars(select(Grant.email).where(
        Grant.portfolio_id == enrolment.user.portfolio.id, Grant.group_id.is_(None),
        or_(Grant.grantee_id.in_(staff), Grant.email.in_(staff_emails)),
        Grant.revoked_at.is_(None), or_(Grant.expires_at.is_(None), Grant.expires_at > utcnow())))))


def _notify_end(session: Session, enrolment: Enrolment) -> None:
    """The person's notice: after the response in a request (the head's action), after the commit
    elsewhere (a roster import's batch: ``after_commit``)."""
    from flask import has_request_context

    from app.mail import send_after_response, send_mail
    org = enrolment.organisation
    body = str(_l("Your affiliation with %(org)s has ended (%(reason)s). Your account, your portfolio and your "
                  "credentials stay yours; what you had shared with its staff is no longer shared.",
                  org=org.name, reason=enrolment.end_reason or "-"))
    direct = _direct_grants_to_staff(session, enrolment)
    if direct:
        body += "\n\n" + str(_l("You still share directly with %(people)s, whom you invited yourself; revoke it "
                                 "from your sharing page if you wish.", people=", ".join(direct)))
    args = (enrolment.user.email, str(_l("Your affiliation with %(org)s has ended", org=org.name)), body)
    if has_request_context():
        send_after_response(send_mail, *args)
    else:
        after_commit(session, send_mail, *args)


_AFTER_COMMIT = "sillage_after_commit"


def after_commit(session: Session, send, *args) -> None:
    """Call ``send(*args)`` once the transaction that is open now commits; never if it (or the savepoint
    open now) rolls back. Why: a roster import whose 200-row transaction fails redoes its rows one by one
    (app/services/batches.py); a notice sent inside the failed attempt went out for a change that was
    rolled back, and the retry sent it a second time. ``send`` takes plain values (the session is closed
    to SQL by then) and its failure is logged, never raised."""
    if isinstance(session, scoped_session):
        session = session()
    tx = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_AFTER_COMMIT, []).append((tx, send, args))


def _within(tx, ancestor) -> bool:
    while tx is not None:
        if tx is ancestor:
            return True
        tx = tx.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous) -> None:
    pending = session.info.get(_AFTER_COMMIT)
    if pending:
        session.info[_AFTER_COMMIT] = [p for p in pending if not _within(p[0], previous)]


@event.listens_for(Session, "after_commit")
def _send_committed(session: Session) -> None:
    from app.mail import _run
    for _tx, send, args in session.info.pop(_AFTER_COMMIT, []):
        _run(send, args)


# --- activation codes --------------------------------------------------------------------------------

def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalise_code(raw) -> str:
    return "".join(c for c in str(raw or "").upper() if c.isalnum())


def random_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def new_code(session: Session, enrolment: Enrolment, *, purpose: str = ACTIVATE, code: str | None = None,
             mailed_to: str | None = None) -> str:
    """A fresh one-time code for the enrolment; ``code`` when it was chosen (and already e-mailed)
    beforehand, else a random one; ``mailed_to`` the address it is e-mailed to (None: a printed letter).

    It supersedes the earlier unused codes *of its own channel* only: a reprinted letter voids the lost
    letter, a new e-mail the old e-mail, but printing the class's letters does not void a code already
    e-mailed to a pupil who has not activated yet (they may be reading it right now; the letter is the
    fallback for a message that went to spam or to an old address). So an enrolment has at most two live
    codes, and whichever is used first spends both (``_link``); the guessing arithmetic counts them twice."""
    if enrolment.ended_at is not None:
        raise Conflict(str(_l("This affiliation has ended.")), code="enrolment_ended")
    now = utcnow()
    channel = ActivationCode.mailed_to.is_not(None) if mailed_to else ActivationCode.mailed_to.is_(None)
    for old in session.scalars(select(ActivationCode).where(ActivationCode.enrolment_id == enrolment.id,
                                                            ActivationCode.used_at.is_(None), channel)):
        old.used_at = now
    code = code or random_code()
    session.add(ActivationCode(id=uuid.uuid4(), enrolment_id=enrolment.id, purpose=purpose,
                               mailed_to=mailed_to, code_hash=_hash(code), created_at=now,
                               expires_at=now + timedelta(days=CODE_DAYS)))
    session.flush()
    return code


def format_code(code: str) -> str:
    """Groups of four (of five for the older 10-character codes), as printed and mailed."""
    size = 5 if len(code) == LEGACY_LENGTH else 4
    return "-".join(code[i:i + size] for i in range(0, len(code), size))


def activation_link(base_url: str, code: str) -> str:
    """The letter's QR code and the e-mail's link: the code rides in the fragment, which browsers never
    send to the server, so it stays out of access logs, proxies and ``Referer`` headers (review 14, L4);
    one line of JavaScript on the page copies it into the form (the form alone works too)."""
    return f"{base_url}/activate#code={code}"


def _invalid_code() -> ServiceError:
    return ServiceError(str(_l("This activation code is not valid, already used, or expired.")),
                        code="invalid_code", status=400)


def find_code(session: Session, raw) -> ActivationCode:
    """The usable code for ``raw``; one message for unknown, used and expired (no oracle)."""
    code = normalise_code(raw)
    if len(code) not in (CODE_LENGTH, LEGACY_LENGTH):
        raise _invalid_code()
    row = session.scalars(select(ActivationCode).where(ActivationCode.code_hash == _hash(code))).first()
    if row is None or not row.is_usable() or row.enrolment.ended_at is not None:
        raise _invalid_code()
    return row


def activate(session: Session, raw, *, email, password) -> User:
    """A new account from a letter's or e-mail's code: the code is spent, the enrolment linked.

    A ``join`` code is refused (review 14, L3): it invites an existing account, and only that account,
    signed in, may use it (``join``). The new account's address counts as verified when the code was
    e-mailed to that very address (whoever types it has read that mailbox); a letter's code proves nothing
    about any address."""
    row = find_code(session, raw)
    enrolment = row.enrolment
    if enrolment.user_id is not None:
        raise _invalid_code()
    if row.purpose == JOIN:
        raise ServiceError(str(_l("This code invites an existing account: sign in with the account it was "
                                  "sent to, then enter the code again.")), code="join_code", status=400)
    user = accounts.create_user(session, email=email, password=password,
                                display_name=enrolment.full_name, verified=False)  # ``_link`` may verify
    user.birth_date = enrolment.birth_date
    _link(session, row, user)
    from app.services import guardians; guardians.invite_from_enrolment(session, user, enrolment)  # noqa: E702
    return user


def join(session: Session, user: User, raw) -> Enrolment:
    """A signed-in person with an account confirms that this enrolment is theirs. A ``join`` code works for
    the account it invited only (review 14, L3); an ``activate`` code (a letter) for any signed-in account
    (the pupil who already had Sillage under another address)."""
    row = find_code(session, raw)
    enrolment = row.enrolment
    if enrolment.user_id is not None:
        raise _invalid_code()
    if row.purpose == JOIN and enrolment.invited_user_id != user.id:
        raise ServiceError(str(_l("This code invites another account: sign in with the account it was sent "
                                  "to.")), code="join_code_other_account", status=403)
    if session.scalars(select(Enrolment.id).where(Enrolment.organisation_id == enrolment.organisation_id,
                                                   Enrolment.user_id == user.id)).first():
        raise Conflict(str(_l("Your account is already enrolled in this institution.")), code="already_enrolled")
    if user.birth_date is None:
        user.birth_date = enrolment.birth_date
    _link(session, row, user)
    from app.services import guardians; guardians.invite_from_enrolment(session, user, enrolment)  # noqa: E702
    return enrolment


def _link(session: Session, row: ActivationCode, user: User) -> None:
    """Spend the code with one conditional UPDATE: of two requests racing with the same code, only the one
    that changed the row goes on (review 14, L2); the other gets the usual invalid-code answer."""
    now = utcnow()
    spent = session.execute(update(ActivationCode).where(ActivationCode.id == row.id, ActivationCode.used_at.is_(None))
                            .values(used_at=now).execution_options(synchronize_session=False))
    if spent.rowcount != 1:
        raise _invalid_code()
    set_committed_value(row, "used_at", now)
    for other in session.scalars(select(ActivationCode).where(ActivationCode.enrolment_id == row.enrolment_id,
                                                              ActivationCode.id != row.id,
                                                              ActivationCode.used_at.is_(None))):
        other.used_at = now  # the letter's or the e-mail's twin: one enrolment, one use
    if row.mailed_to and user.email_verified_at is None and user.email == row.mailed_to.strip().lower():
        user.email_verified_at = now
    row.enrolment.user_id, row.enrolment.joined_at = user.id, now
    row.enrolment.invited_user_id = None
    session.flush()


def mail_address(enrolment: Enrolment) -> str:
    """Where ``mail_code`` writes: the invited account's address, else the roster's."""
    return enrolment.invited_user.email if enrolment.invited_user else enrolment.email


def mail_code(enrolment: Enrolment, code: str, *, base_url: str) -> None:
    """Send ``code`` to the enrolment: an activation code to a new pupil, an invitation to join to an
    existing account. The link carries the code in its fragment (``activation_link``)."""
    from app.mail import send_mail
    org = enrolment.organisation
    to = mail_address(enrolment)
    if enrolment.invited_user_id:
        body = str(_l("%(org)s invites you to join it on Sillage with your existing account. Sign in, then "
                      "enter this code at %(url)s: %(code)s (valid %(days)s days). Your portfolio stays yours; "
                      "the institution sees only what you choose to share.", org=org.name,
                      url=activation_link(base_url, code), code=format_code(code), days=CODE_DAYS))
    else:
        body = str(_l("%(org)s has opened a Sillage account for you: a portfolio of your experiences, skills "
                      "and credentials that stays yours. Activate it at %(url)s with this code: %(code)s "
                      "(valid %(days)s days).", org=org.name, url=activation_link(base_url, code),
                      code=format_code(code), days=CODE_DAYS))
    send_mail(to, str(_l("Your Sillage account at %(org)s", org=org.name)), body)


def send_codes_by_mail(session: Session, org: Organisation, *, base_url: str | None = None) -> int:
    """E-mail a code to every pending enrolment with an address and no usable code yet (new accounts get an
    activation code, existing accounts an invitation to join). Returns how many were sent. Each message
    leaves before its code is committed: a crash in between means a message whose code never existed and
    a new one next time, never a stored code that no message carries. (Roster imports use their own
    resumable e-mail batch: rosters.queue_code_mails.)"""
    from app.services.rosters import _mail_pending
    base_url = (base_url or current_app.config["BASE_URL"]).rstrip("/")
    sent = 0
    for enrolment_id in session.scalars(_mail_pending(session, org.id)).all():
        enrolment = session.get(Enrolment, enrolment_id)
        code = random_code()
        mail_code(enrolment, code, base_url=base_url)
        new_code(session, enrolment, purpose=JOIN if enrolment.invited_user_id else ACTIVATE, code=code,
                 mailed_to=mail_address(enrolment))
        session.commit()
        sent += 1
    return sent


# --- printable letters -------------------------------------------------------------------------------

def letters(session: Session, org: Organisation, group: Group, *, base_url: str | None = None) -> tuple[bytes, int]:
    """One PDF, one page per pupil of ``group`` whose account is not active yet: the site's address, a fresh
    one-time code (earlier letters stop working; a code already e-mailed stays valid: ``new_code``), its QR
    code (``activation_link``: the code in the fragment),
    its expiry, and what the account is for. Commits the codes (the PDF must never carry a code that
    does not exist). Returns the PDF and the number of pages."""
    import segno
    from flask import render_template
    from flask_babel import get_locale
    from markupsafe import Markup

    from cv_templates import pdf
    from app.services.guardians import letter_html

    if not pdf.available():
        raise ServiceError(str(_l("PDF output is not available on this server.")), code="pdf_unavailable",
                           status=503)
    base_url = (base_url or current_app.config["BASE_URL"]).rstrip("/")
    pupils = [e for e in members(session, group) if e.user_id is None]
    if not pupils:
        raise ServiceError(str(_l("Every pupil of this group has already activated their account.")),
                           code="nothing_to_print", status=409)
    pages = []
    for enrolment in pupils:
        code = new_code(session, enrolment, purpose=JOIN if enrolment.invited_user_id else ACTIVATE)
        # One pixel per module (a few hundred bytes), enlarged without smoothing by the template: an
        # inline SVG of the same code costs WeasyPrint about 0.1 s per page to parse and draw.
        qr = segno.make(activation_link(base_url, code), error="m").png_data_uri(scale=1, border=4)
        pages.append({"name": enrolment.full_name, "code": format_code(code), "qr": qr,
                      "guardians": Markup(letter_html(enrolment, site=base_url))})
    session.commit()
    html = render_template("institutions/letters.html", letters=pages, org_name=org.name, group_name=group.name,
                           site=base_url, lang=str(get_locale() or "en"),
                           expires=(utcnow() + timedelta(days=CODE_DAYS)).date().strftime("%d/%m/%Y"))
    return pdf.render_pdf(html), len(pages)
