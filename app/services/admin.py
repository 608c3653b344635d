"""The platform administrator's acts on accounts: suspend and reinstate, each written to the audit log.

Decision: a suspended account cannot sign in (a wrong password answers as always; the right one is told
that the account is suspended and whom to contact — nothing a stranger without the password learns), its open sessions end (the session version is bumped), its API tokens are
refused, and its share links answer 410 Gone with the neutral "no longer available" page — the same a
visitor sees for an expired link, so a suspension is not announced to the world. Credentials its owner
received stay verifiable: they belong to their issuers' status lists, not to the account. Nothing is
deleted: reinstating gives everything back.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import policy
from app.database import utcnow
from app.models import User
from app.services import audit
from app.services.errors import Conflict, Forbidden, NotFound
from app.services.validation import Field, clean


def is_platform_admin(actor) -> bool:
    return isinstance(actor, policy.Operator) or bool(getattr(actor, "is_admin", False))


def _require_admin(actor) -> None:
    if not is_platform_admin(actor):
        raise Forbidden(str(_l("Only a platform admin can do this.")))


def get_user(session: Session, actor, user_id) -> User:
    _require_admin(actor)
    key = policy.parse_id(user_id)
    user = session.get(User, key) if key is not None else None
    if user is None:
        raise NotFound(str(_l("Not found.")))
    return user


def suspend(session: Session, actor, user: User, reason, *, by_guardian: User | None = None) -> User:
    """Suspend ``user`` with a recorded reason (required); an admin never suspends themself.

    ``by_guardian``: the platform acts (``actor`` is the operator) on a guardian's refusal of a minor's
    account (app/services/guardians.py); the log names the guardian as the actor and keeps their id, so
    that a later consent of that same guardian may reinstate the account (``guardian_suspension``)."""
    _require_admin(actor)
    reason = clean({"reason": Field("text", required=True, max_length=2000)}, {"reason": reason})["reason"]
    if getattr(actor, "id", None) == user.id:
        raise Conflict(str(_l("You cannot suspend your own account.")), code="own_account")
    if user.suspended_at is not None:
        raise Conflict(str(_l("This account is already suspended.")), code="already_suspended")
    user.suspended_at, user.suspension_reason = utcnow(), reason
    user.session_version += 1  # every open session ends now
    details = {"reason": reason}
    if by_guardian is not None:
        details["guardian_id"] = str(by_guardian.id)
    audit.record(session, actor=by_guardian or actor, action="account.suspend", target_type="user",
                 target_id=user.id, details=details)
    return user


def guardian_suspension(session: Session, user: User) -> str | None:
    """The id of the guardian whose refusal suspended ``user`` now, or None (not suspended, or suspended by an
    admin): read from the log's latest suspension of this account."""
    if user.suspended_at is None:
        return None
    latest = audit.events(session, action="account.suspend", target_type="user", limit=1,
                          target_id=str(user.id))
    return (latest[0].details or {}).get("guardian_id") if latest else None


def reinstate(session: Session, actor, user: User, *, by_guardian: User | None = None) -> User:
    _require_admin(actor)
    if user.suspended_at is None:
        raise Conflict(str(_l("This account is not suspended.")), code="not_suspended")
    user.suspended_at, user.suspension_reason = None, None
    audit.record(session, actor=by_guardian or actor, action="account.reinstate", target_type="user",
                 target_id=user.id, details={"guardian_id": str(by_guardian.id)} if by_guardian else None)
    session.flush()
    return user
