"""Membership invitations, the invited person's side: list, accept, decline; and the mails.

A head or an org admin invites (``orgs.add_member``): the membership stays pending (``accepted_at`` NULL)
and gives no power until the person accepts it here (issue 13: "never enrolled without their consent").
An invitation to an address without an account is kept by its address; the person who creates the
account with that address, and confirms it, sees and accepts it. Confirming matters: anyone may sign up
with any address, and an unconfirmed one would let a stranger take a membership meant for someone else.

Every refusal is ``NotFound``: another person's invitation is not yours to see (ids reveal nothing).
"""
from __future__ import annotations

import logging

from flask import current_app, render_template
from flask_babel import force_locale, lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app import policy
from app.database import utcnow
from app.mail import send_after_response, send_mail
from app.models import Membership, Organisation, User
from app.services import audit
from app.services.errors import Conflict, NotFound

log = logging.getLogger(__name__)


def _for(user: User):
    """The SQL condition of an invitation addressed to ``user``: by account, or by their confirmed address."""
    mine = Membership.user_id == user.id
    if user.email_verified_at is None:
        return mine
    return or_(mine, and_(Membership.user_id.is_(None), Membership.email == user.email.lower()))


def mine(session: Session, user: User) -> list[Membership]:
    """The invitations waiting for ``user``'s answer, newest first."""
    return list(session.scalars(select(Membership).join(Organisation, Organisation.id == Membership.organisation_id)
                                .where(Membership.accepted_at.is_(None), _for(user))
                                .order_by(Membership.created_at.desc())))


def unconfirmed_address(session: Session, user: User) -> bool:
    """Are invitations waiting for this address while the account has not confirmed it (the page says so)?"""
    return user.email_verified_at is None and session.scalar(select(Membership.id).where(
        Membership.accepted_at.is_(None), Membership.user_id.is_(None),
        Membership.email == user.email.lower()).limit(1)) is not None


def _mine(session: Session, user: User, membership_id) -> Membership:
    key = policy.parse_id(membership_id)
    row = session.scalar(select(Membership).where(Membership.id == key, Membership.accepted_at.is_(None),
                                                  _for(user))) if key is not None else None
    if row is None:
        raise NotFound(str(_l("Not found.")))
    return row


def accept(session: Session, user: User, membership_id) -> Membership:
    """The person accepts: from now on the role gives its powers (and their activity counts there), and
    the group places waiting with a staff invitation become theirs."""
    row = _mine(session, user, membership_id)
    if row.user_id is None:
        if session.scalar(select(Membership.id).where(Membership.organisation_id == row.organisation_id,
                                                      Membership.user_id == user.id)) is not None:
            session.delete(row)
            session.flush()
            raise Conflict(str(_l("You are already a member of this organisation.")), code="already_member")
        row.user_id = user.id
    row.accepted_at = utcnow()
    session.flush()
    from app.services import institutions  # the group places a head gave with a staff invitation
    institutions.take_places(session, row)
    audit.record(session, actor=user, action="invitation.accept", target_type="membership", target_id=row.id,
                 organisation_id=row.organisation_id, details={"role": row.role})
    return row


def decline(session: Session, user: User, membership_id) -> None:
    """The person declines: the invitation goes (the inviter may invite again; the audit log keeps it)."""
    row = _mine(session, user, membership_id)
    audit.record(session, actor=user, action="invitation.decline", target_type="membership", target_id=row.id,
                 organisation_id=row.organisation_id, details={"role": row.role})
    session.delete(row)
    session.flush()


def pending_of(session: Session, org: Organisation, roles: tuple[str, ...] | None = None) -> list[Membership]:
    """The organisation's invitations not answered yet (its heads' and admins' pages), by address."""
    query = select(Membership).where(Membership.organisation_id == org.id, Membership.accepted_at.is_(None))
    if roles is not None:
        query = query.where(Membership.role.in_(roles))
    return list(session.scalars(query.order_by(Membership.email)))


# --- mails --------------------------------------------------------------------------------------------------

def _base() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def send_invitation(membership: Membership, inviter) -> None:
    """The same mail whether or not the address has an account: it offers both ways in (sign in, or create
    the account with this address), so that nothing about the address depends on who owns it."""
    org = membership.organisation
    locale = (membership.user.locale if membership.user is not None else None) or "fr"
    context = {"organisation": org.name, "role": membership.role,
               "inviter": getattr(inviter, "email", None) or "",
               "link": _base() + "/organisations/invitations",
               "register": _base() + "/register?next=/organisations/invitations"}
    from app.sharing.limits import mail_sent  # noqa: PLC0415 (the sender's budget of invitation e-mails)
    mail_sent()
    send_after_response(_render_and_send, membership.email or membership.address, locale,
                        "issuing/email/invitation.txt", _l("%(org)s invites you to join it on Sillage", org=org.name),
                        context)


def send_removal(membership: Membership) -> None:
    """The notice to a member removed: the account stays theirs, and grants people gave them stay until
    those people revoke them (a grant belongs to its giver, never to the organisation)."""
    user = membership.user
    context = {"organisation": membership.organisation.name, "role": membership.role,
               "link": _base() + "/shared"}
    send_after_response(_render_and_send, user.email, user.locale or "fr", "issuing/email/removed.txt",
                        _l("You are no longer a member of %(org)s", org=membership.organisation.name), context)


def _render_and_send(to: str, locale: str, template: str, subject, context: dict) -> None:
    try:
        from app.issuing.forms import ROLE_LABELS
        with force_locale(locale):
            subject = str(subject)
            body = render_template(template, subject=subject, role_label=str(ROLE_LABELS[context["role"]]),
                                   **context)
        send_mail(to, subject, body)
    except Exception:  # noqa: BLE001 - the act is done; a lost mail is logged, never raised
        log.exception("Could not send a membership mail to %s", to)
