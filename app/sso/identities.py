"""What a checked sign-in means for accounts: find, link, create, unlink (flush only; routes commit).

Linking by e-mail happens only when the provider says the address is verified (``email_verified`` is
JSON ``true``, not a string): an unverified claim could name anyone's address and take their account.
An account whose address the provider does not vouch for is linked only from the settings page, by
the signed-in person. An identity (provider, ``sub``) belongs to one account at a time.

A suspended account (app/services/admin.py) gets the answer the right password of that account gets
(``accounts.AccountSuspended``, app/auth/routes.py): the provider has proved who the person is, as the
password would have; no identity is linked to it meanwhile. Links, unlinks and accounts
created here go to the audit log, the person being the actor: they change who can enter an account.
"""
from __future__ import annotations

import secrets

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models import Membership, User
from app.models.issuing import ADMIN, HEAD
from app.models.sso import ExternalIdentity
from app.services import accounts, activity, audit
from app.services.errors import ServiceError, ValidationFailed
from app.sso.errors import SsoError
from app.sso.providers import Provider


def find(session: Session, provider: Provider, subject: str) -> ExternalIdentity | None:
    return session.scalars(select(ExternalIdentity).where(
        ExternalIdentity.provider == provider.name, ExternalIdentity.subject == subject)).first()


def _verified_email(claims: dict) -> str | None:
    if claims.get("email_verified") is not True or not isinstance(claims.get("email"), str):
        return None
    try:
        return accounts.normalise_email(claims["email"])
    except ServiceError:
        return None


def _remember(identity: ExternalIdentity, claims: dict) -> None:
    identity.email = claims.get("email") if isinstance(claims.get("email"), str) else identity.email
    identity.last_login_at = utcnow()


def _signed_in(session: Session, user: User) -> None:
    now = utcnow()
    user.last_login_at = now
    activity.record(session, user, "sign_in", day=now.date())  # the indicators count SSO sign-ins too


def _audit_link(session: Session, user: User, identity: ExternalIdentity, how: str) -> None:
    audit.record(session, actor=user, action="sso.identity_link", target_type="external_identity",
                 target_id=identity.id, details={"provider": identity.provider, "by": how})


def _links_by_email(session: Session, provider: Provider, user: User) -> bool:
    """Whether a provider's verified e-mail may link to ``user`` silently (review 14, M3). Never when the
    account's own address is unverified (anyone can sign up with an address they do not hold, then wait
    for its owner to arrive by SSO), when the account already has another identity at this provider (a
    recycled address: a new person with the old one's e-mail), nor for the accounts that hold power (a
    platform admin, an organisation's admin or a head): those link from their settings, signed in."""
    if not user.is_verified or user.is_admin:
        return False
    if session.scalar(select(ExternalIdentity.id).where(ExternalIdentity.user_id == user.id,
                                                        ExternalIdentity.provider == provider.name).limit(1)):
        return False
    return session.scalar(select(Membership.id).where(Membership.user_id == user.id,
                                                      Membership.role.in_((ADMIN, HEAD))).limit(1)) is None


def sign_in(session: Session, provider: Provider, claims: dict) -> tuple[User, str]:
    """(account, what happened: ``signed_in`` | ``linked`` | ``created``) for a person signing in."""
    identity = find(session, provider, claims["sub"])
    if identity is not None:
        if identity.user.suspended_at is not None:
            raise accounts.AccountSuspended()
        _remember(identity, claims)
        _signed_in(session, identity.user)
        session.flush()
        return identity.user, "signed_in"
    email = _verified_email(claims)
    if email is None:
        raise SsoError("unverified_email", _(
            "%(provider)s did not confirm an e-mail address for you, so Sillage cannot tell which account is "
            "yours. Sign in with your password, then link %(provider)s from your settings.",
            provider=provider.label), status=403)
    user = session.scalars(select(User).where(User.email == email)).first()
    if user is not None and user.suspended_at is not None:
        raise accounts.AccountSuspended()  # and no identity is linked to it
    if user is not None and not _links_by_email(session, provider, user):
        raise SsoError("link_from_settings", _(
            "A Sillage account already uses this address, but Sillage cannot link %(provider)s to it by the "
            "address alone. Sign in with your password, then link %(provider)s from your settings.",
            provider=provider.label), status=403)
    outcome = "linked"
    if user is None:
        if not provider.create_accounts:
            raise SsoError("no_account", _("No Sillage account uses this address, and this service does not "
                                           "create accounts. Create one first, then link it."), status=403)
        # A random password nobody knows: the person can set one with "forgot your password".
        password = secrets.token_urlsafe(32)
        try:
            user = accounts.create_user(session, email=email, password=password, verified=True,
                                        display_name=str(claims.get("name") or "")[:120])
        except ValidationFailed:  # a name the profile's rules refuse (control characters): left empty
            user = accounts.create_user(session, email=email, password=password, verified=True)
        outcome = "created"
        audit.record(session, actor=user, action="sso.account_create", target_type="user", target_id=user.id,
                     details={"provider": provider.name})
    identity = ExternalIdentity(user_id=user.id, provider=provider.name, subject=claims["sub"])
    session.add(identity)
    _remember(identity, claims)
    session.flush()
    _audit_link(session, user, identity, "verified_email")
    _signed_in(session, user)
    session.flush()
    return user, outcome


def link(session: Session, user: User, provider: Provider, claims: dict) -> ExternalIdentity:
    """The signed-in ``user`` links this provider identity, whatever e-mail it carries (they proved both)."""
    identity = find(session, provider, claims["sub"])
    if identity is not None and identity.user_id != user.id:
        raise SsoError("identity_taken", _("This %(provider)s account is already linked to another Sillage "
                                           "account. Unlink it there first.", provider=provider.label),
                       status=409)
    fresh = identity is None
    if fresh:
        identity = ExternalIdentity(user_id=user.id, provider=provider.name, subject=claims["sub"])
        session.add(identity)
    _remember(identity, claims)
    session.flush()
    if fresh:
        _audit_link(session, user, identity, "settings")
    return identity


def for_user(session: Session, user: User) -> list[ExternalIdentity]:
    return list(session.scalars(select(ExternalIdentity).where(ExternalIdentity.user_id == user.id)
                                .order_by(ExternalIdentity.created_at)))


def unlink(session: Session, user: User, identity_id) -> ExternalIdentity:
    """Remove one of ``user``'s identities (another person's id is refused as not found)."""
    identity = session.get(ExternalIdentity, identity_id)
    if identity is None or identity.user_id != user.id:
        raise SsoError("not_found", _("This linked account does not exist."), status=404)
    audit.record(session, actor=user, action="sso.identity_unlink", target_type="external_identity",
                 target_id=identity.id, details={"provider": identity.provider})
    session.delete(identity)
    session.flush()
    return identity
