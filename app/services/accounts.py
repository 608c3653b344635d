"""Accounts: creation, passwords, login backoff, one-time e-mailed tokens, e-mail change, deletion.

Shared by the pages, the API and the CLI. Like every service, these functions take the session and
plain values, flush and never commit; they never send mail either: they return what the caller needs
(a raw token, the user) so that the route commits first and mails second (after the response:
``app.mail.send_after_response``).

Choices, per DESIGN.md:
- Passwords: Argon2id (argon2-cffi). Cost from ``ARGON2_TIME_COST`` / ``ARGON2_MEMORY_COST`` when set
  (tests set them low), else the library's defaults; hashes made with older parameters are upgraded at
  the next successful login (``check_needs_rehash``).
- Password rules (NIST SP 800-63B): 12 to 256 characters, not a well-known password, not the e-mail
  address itself; no composition rules, which only push people towards predictable patterns.
- Login backoff lives in the database (``failed_logins``, ``locked_until``) so that every worker and
  process sees it: after 5 failures in a row the account is locked for 1, 2, 4 ... minutes, at most an
  hour. A locked account answers exactly like a wrong password, in the same time: the password is
  still put through Argon2, and the result ignored. The same backoff guards every re-check of the
  current password (``confirm_password``: changing the password or the address, deleting the
  account), on the pages and in the API alike. Anyone who knows an address can keep its account
  locked by guessing wrongly once per lock period; that is accepted because the answers stay generic
  and the owner can always reset the password by e-mail, which clears the lock.
- One-time tokens (verify e-mail, reset password, change e-mail): ``app.services.one_time_tokens``.
  At most one verification mail per account every two minutes, and one mail a stranger can cause
  (a reset, or registering with a taken address, which mails a reset link): no inbox flooding.
"""
from __future__ import annotations

import functools
import secrets
import uuid
import zoneinfo
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, aliased

from app import sessions, storage
from app.database import utcnow
from app.models import ApiToken, Membership, Organisation, Portfolio, User
from app.models.feed import FeedSettings
from app.models.issuing import ADMIN, REFUSED
from app.services import activity, vault_keys
from app.services.documents import owner_prefix
from app.services.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from app.services.one_time_tokens import (
    consume_token, invalid_token, issue_token, newest_token_time, peek_token, void_tokens,
)
from app.services.portfolio import PROFILE_RULES
from app.services.validation import clean

PASSWORD_MIN, PASSWORD_MAX = 12, 256
LOCK_AFTER = 5  # failures in a row before the first lock
LOCK_MAX = timedelta(hours=1)
RESET_MAIL_INTERVAL = timedelta(minutes=2)  # at most one reset (or register-attempt) mail per account
VERIFY_MAIL_INTERVAL = timedelta(minutes=2)
LOCALES = ("fr", "en")

# Passwords of 12+ characters that still top the breach lists (English and French keyboards and words).
# Compared case-insensitively. A short list on purpose: the length rule does most of the work.
COMMON_PASSWORDS = frozenset("""
123456789012 1234567890123 12345678901234 123456789123 000000000000 111111111111 123123123123
121212121212 987654321098 098765432109 112233445566 123412341234 147258369147 159753159753
password1234 password12345 password123456 passwordpassword password123! 1234password
qwertyuiop12 qwertyuiop123 qwertyuiopas 1qaz2wsx3edc qazwsxedcrfv qwerty123456 123456qwerty
azertyuiop12 azertyuiop123 azertyuiopqs 1234azertyui azerty123456 123456azerty
motdepasse12 motdepasse123 motdepasse1234 motdepassemotdepasse 1234motdepasse
iloveyou1234 jetaime12345 jetaime123456 soleil123456 doudou123456 chouchou1234
letmein12345 welcome12345 welcome123456 bienvenue123 bienvenue1234 administrator admin1234567
changeme1234 football1234 baseball1234 sunshine1234 princess1234 superman1234 trustno12345
monkey123456 dragon123456 starwars1234 abcdefghijkl abcdefghijklmnop
abc123456789 aaaaaaaaaaaa zzzzzzzzzzzz
""".split())


def _message() -> str:
    return str(_l("Some information is not valid."))


# --- e-mail addresses ------------------------------------------------------------------------------

def normalise_email(value, field: str = "email") -> str:
    """Syntax check (no DNS lookup) and lower-case the whole address, so one person has one account."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 254:
        raise ValidationFailed(_message(), fields={field: str(_l("Enter a valid e-mail address."))})
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationFailed(_message(), fields={field: str(_l("Enter a valid e-mail address."))}) from None


def find_by_email(session: Session, email: str) -> User | None:
    try:
        email = normalise_email(email)
    except ValidationFailed:
        return None
    return session.scalars(select(User).where(User.email == email)).first()


# --- passwords -------------------------------------------------------------------------------------

_hashers: dict[tuple, PasswordHasher] = {}
_dummy_hashes: dict[tuple, str] = {}


def _hasher() -> PasswordHasher:
    """One PasswordHasher per parameter set (the tests and production use different costs)."""
    config = current_app.config if has_app_context() else {}
    key = (config.get("ARGON2_TIME_COST"), config.get("ARGON2_MEMORY_COST"))
    if key not in _hashers:
        kwargs = {}
        if key[0]:
            kwargs["time_cost"] = int(key[0])
        if key[1]:
            kwargs["memory_cost"] = int(key[1])
        _hashers[key] = PasswordHasher(**kwargs)
    return _hashers[key]


def _dummy_hash() -> str:
    """A hash to verify against when the e-mail is unknown, so that the answer takes as long."""
    hasher = _hasher()
    key = (hasher.time_cost, hasher.memory_cost)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = hasher.hash(secrets.token_urlsafe(16))
    return _dummy_hashes[key]


def check_password_rules(password, email: str | None = None, field: str = "password") -> str:
    """Refuse short, huge, well-known passwords and the e-mail itself; return the password unchanged."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        error = _l("Use at least %(n)d characters.", n=PASSWORD_MIN)
    elif len(password) > PASSWORD_MAX:
        error = _l("Use at most %(n)d characters.", n=PASSWORD_MAX)
    elif password.lower() in COMMON_PASSWORDS or " ".join(password.lower().split()) in COMMON_PASSWORDS \
            or "".join(password.lower().split()) in COMMON_PASSWORDS:
        error = _l("This password is too common. Choose another one, for example a few unrelated words.")
    elif email and password.strip().lower() in (email.lower(), email.lower().partition("@")[0]):
        error = _l("Your password must not be your e-mail address.")
    else:
        return password
    raise ValidationFailed(_message(), fields={field: str(error)})


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored: User | str | None, password) -> bool:
    """Check ``password`` against a user (or a stored hash). Never raises for a wrong or odd input."""
    encoded = stored.password_hash if isinstance(stored, User) else stored
    if not encoded or not isinstance(password, str) or len(password) > PASSWORD_MAX:
        return False
    try:
        return _hasher().verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False


# --- accounts --------------------------------------------------------------------------------------

def create_user(session: Session, *, email: str, password: str, display_name: str = "",
                is_admin: bool = False, verified: bool = False, locale: str | None = None) -> User:
    """Create an account and its portfolio.

    The password is checked and hashed before the duplicate check, so that a taken address costs the
    same time as a new one; the register page turns ``email_taken`` into the usual "check your inbox".
    """
    email = normalise_email(email)
    check_password_rules(password, email)
    # The profile's own rule (length, control characters), with its own messages.
    display_name = clean({"display_name": PROFILE_RULES["display_name"]},
                         {"display_name": display_name})["display_name"]
    password_hash = hash_password(password)
    if session.scalars(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict(str(_l("An account already uses this e-mail address.")), code="email_taken",
                       fields={"email": str(_l("An account already uses this e-mail address."))})
    user = User(id=uuid.uuid4(), email=email, password_hash=password_hash, is_admin=is_admin,
                locale=locale if locale in LOCALES else None, session_version=1, failed_logins=0,
                email_verified_at=utcnow() if verified else None)
    session.add(user)
    session.add(Portfolio(id=uuid.uuid4(), owner=user, display_name=display_name))
    session.flush()
    # The vault's data key is made with the account, in the same transaction: a first upload then never
    # has to create one in a transaction of its own while this one may still hold SQLite's write lock
    # (accounts older than the vault got theirs from migration f1a2b3c4d901).
    vault_keys.data_key_for(session, user)
    return user


def _lock_delay(failures: int) -> timedelta:
    return min(timedelta(minutes=2 ** (failures - LOCK_AFTER)), LOCK_MAX)


class AccountSuspended(ServiceError):
    """The right password of a suspended account (see ``authenticate``)."""

    def __init__(self):
        super().__init__(str(_l("Your account is suspended.")), code="account_suspended", status=403)


def _invalid_credentials() -> ServiceError:
    """The one refusal for a wrong password and for a paused account: the two must look the same."""
    return ServiceError(str(_l("This is not your current password, or password checks on this account are "
                               "paused for a few minutes after repeated failures.")),
                        code="invalid_credentials", status=403)


def _check_with_backoff(session: Session, user: User, password, now: datetime) -> bool:
    """True if ``password`` is the user's and the account is not locked; the one place the backoff lives.

    A locked account is refused whatever the password, and not counted; the password still goes
    through Argon2 (against the user's own hash, the result ignored), because an answer without a
    hash would come back in a few milliseconds instead of the usual tens, and tell anyone timing it
    that this address has an account (unknown addresses pay a check against a dummy hash).
    A wrong password is counted in SQL, so concurrent attempts on several workers all count, and
    locks the account after ``LOCK_AFTER`` in a row. A success resets the count. The caller commits
    in both cases: a failure must be remembered too.
    """
    if user.locked_until is not None and user.locked_until > now:
        verify_password(user, password)  # the time of a check, not its answer: see the docstring
        return False
    if not verify_password(user, password):
        session.execute(update(User).where(User.id == user.id)
                        .values(failed_logins=User.failed_logins + 1)
                        .execution_options(synchronize_session=False))
        session.refresh(user, ["failed_logins"])
        if user.failed_logins >= LOCK_AFTER:
            user.locked_until = now + _lock_delay(user.failed_logins)
        session.flush()
        return False
    user.failed_logins = 0
    user.locked_until = None
    return True


def authenticate(session: Session, email, password, *, now: datetime | None = None) -> User | None:
    """The user if the e-mail and password match and the account is not locked, else None.

    Every failure looks the same to the caller (unknown e-mail, wrong password, locked account). The
    caller commits in both cases: a failure must be remembered too. One exception: a suspended account
    whose *right* password was given raises ``AccountSuspended``, so that its owner learns why they cannot
    sign in and whom to ask. That tells nothing to someone without the password (a wrong one answers as
    always, after the same backoff), and the password check costs the same time either way.
    """
    now = now or utcnow()
    user = find_by_email(session, email) if isinstance(email, str) else None
    if user is None:
        verify_password(_dummy_hash(), password if isinstance(password, str) else "")
        return None
    if not _check_with_backoff(session, user, password, now):
        return None
    if user.suspended_at is not None:  # app/services/admin.py: no sign-in while suspended
        session.flush()
        raise AccountSuspended()
    user.last_login_at = now
    activity.record(session, user, "sign_in", day=now.date())
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return user


def confirm_password(session: Session, user: User, password, *, now: datetime | None = None) -> None:
    """Check the signed-in person's current password before a sensitive change, with the sign-in backoff.

    A stolen session or API token must not let anyone guess the password faster than the sign-in page
    allows, so a wrong password here counts towards the same lock, and a locked account is refused even
    with the right one. Raises ``ServiceError`` ``invalid_credentials`` (403) with one generic message;
    the caller commits before answering, so that the failure is remembered. A success resets the count
    but is no sign-in (``last_login_at`` stays), and does not upgrade an old hash: sign-in does that.
    """
    if not _check_with_backoff(session, user, password, now or utcnow()):
        raise _invalid_credentials()
    session.flush()


def set_password(session: Session, user: User, new: str, field: str = "password") -> None:
    """Store a new password and end every session of the user (their version no longer matches)."""
    check_password_rules(new, user.email, field)
    user.password_hash = hash_password(new)
    user.session_version = (user.session_version or 1) + 1
    user.failed_logins = 0
    user.locked_until = None
    void_tokens(session, user, "reset_password")
    revoke_feed_address(session, user)
    session.flush()


def revoke_feed_address(session: Session, user: User) -> None:
    """The private feed address (Atom, iCal) ends with the sessions: it shows the person's skills and
    hypotheses to whoever holds it, and a password change or "sign out everywhere" is what one does when
    someone else may hold what they should not. The person makes a new one on the feed page."""
    session.execute(update(FeedSettings).where(FeedSettings.user_id == user.id)
                    .values(token_hash=None, token_created_at=None).execution_options(synchronize_session="fetch"))


def revoke_api_tokens(session: Session, user: User) -> int:
    """Revoke every active API token of the user (a password reset, or on request with a change);
    return how many. Expired and already revoked tokens keep their history as it is."""
    now = utcnow()
    result = session.execute(update(ApiToken)
                             .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
                                    or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
                             .values(revoked_at=now).execution_options(synchronize_session=False))
    session.flush()
    return result.rowcount


def change_password(session: Session, user: User, current: str, new: str, *,
                    revoke_tokens: bool = False) -> None:
    """Change the password after checking the current one; every session of the user ends, and with
    ``revoke_tokens`` every API token too (by default they keep working: the client making the change
    may be one of them; a reset, where the password may have leaked, always revokes them).

    The new password's rules come first: a refused new password then costs no guess of the current one,
    and a wrong current password (``confirm_password``) is the last possible refusal, with nothing else
    pending for the caller, who commits it so that it counts.
    """
    check_password_rules(new, user.email, "new_password")
    confirm_password(session, user, current)
    set_password(session, user, new, field="new_password")
    if revoke_tokens:
        revoke_api_tokens(session, user)


def end_all_sessions(session: Session, user: User) -> None:
    """"Log out everywhere": every session opened before now stops matching the user, and the private
    feed address stops working."""
    user.session_version = (user.session_version or 1) + 1
    revoke_feed_address(session, user)
    session.flush()


@functools.cache
def timezones() -> frozenset[str]:
    """The time zones one may choose, here and on the settings form: IANA "Area/Location" names and UTC.

    ``zoneinfo.available_timezones()`` also lists names that are no place (``Factory``, ``localtime``,
    which is the server's own zone, ``posixrules``), legacy abbreviations (``EST5EDT``, ``GMT+0``) and
    the ``Etc/``, ``posix/`` and ``right/`` variants; none is offered, so none is accepted. Cached: the
    call walks the whole time zone database.
    """
    return frozenset(zone for zone in zoneinfo.available_timezones()
                     if "/" in zone and not zone.startswith(("Etc/", "posix/", "right/"))) | {"UTC"}


def set_preferences(session: Session, user: User, *, locale: str | None, timezone: str | None) -> None:
    """Language (fr, en) and time zone (``timezones``); empty values fall back to the browser and
    Europe/Paris."""
    errors = {}
    if locale and locale not in LOCALES:
        errors["locale"] = str(_l("Not one of the allowed values."))
    if timezone and timezone not in timezones():
        errors["timezone"] = str(_l("Unknown time zone."))
    if errors:
        raise ValidationFailed(_message(), fields=errors)
    user.locale = locale or None
    user.timezone = timezone or None
    session.flush()


class LastOrganisationAdmin(ValidationFailed):
    """Refused: the account is the only admin of organisations (``organisations``), which would be left
    with nobody to manage members, keys and tokens. A ``ValidationFailed`` so that the settings page shows
    it above its form like any refused submission; 409 for the API, with its own code."""

    status = 409
    code = "last_organisation_admin"

    def __init__(self, organisations: list):
        self.organisations = organisations
        names = ", ".join(f"“{org.name}”" for org in organisations)
        super().__init__(str(_l("You are the only administrator of %(names)s. Make another member an "
                                "administrator there first, or close the organisation, so that it is not "
                                "left without one; then delete your account.", names=names)))


def organisations_only_administered_by(session: Session, user: User) -> list:
    """The organisations (pending or approved, not closed: a refused request or a closed organisation has
    nothing left to manage) whose only admin is ``user``, by name: what stops the deletion of the account."""
    other = aliased(Membership)
    others = select(other.id).where(other.organisation_id == Organisation.id, other.role == ADMIN,
                                    other.user_id != user.id, other.accepted_at.is_not(None))
    return list(session.scalars(
        select(Organisation).join(Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.user_id == user.id, Membership.role == ADMIN, Membership.accepted(),
               Organisation.status != REFUSED,
               Organisation.closed_at.is_(None), ~others.exists())
        .order_by(Organisation.name, Organisation.id)))


def delete_account(session: Session, user: User, password: str) -> None:
    """Delete the account and everything it owns, after checking the password (``confirm_password``:
    a wrong one counts towards the sign-in backoff; the caller commits that refusal too).

    Rows go through the ORM cascades and ON DELETE CASCADE. Every stored browser session of the
    account goes too (not only the one making the request): a session row holds the account's id.
    The profile photo blob, if any, is removed by ``app.storage`` once the transaction commits (kept
    if it rolls back).

    The vault's data key goes first (``vault_keys.shred``, a crypto-shred): from then on, every copy of
    the owner's encrypted documents is unreadable, even one a failed blob deletion leaves behind. The
    document rows go with the portfolio (ON DELETE CASCADE); their blobs, the whole
    ``vault/<portfolio id>`` prefix, once the deletion is committed.

    The only admin of an organisation is refused (``LastOrganisationAdmin``, naming them), after the
    password check: the memberships would go with the account, and the organisation with no admin.
    """
    confirm_password(session, user, password)
    alone = organisations_only_administered_by(session, user)
    if alone:
        raise LastOrganisationAdmin(alone)
    portfolio = user.portfolio
    photo_key = portfolio.photo_key if portfolio is not None else None
    from app.services import backpack, erasure  # noqa: PLC0415 - erasure reads many areas' models and services

    vault_keys.shred(session, user)
    erasure.erase(session, user)  # what names the person outside the rows that cascade (issue 11)
    if portfolio is not None:  # badges from elsewhere: their verdicts, and tombstones so their pages answer 410
        backpack.erase(session, portfolio.id)
    sessions.delete_user_sessions(session, user.id)
    session.delete(user)
    session.flush()
    if photo_key:
        storage.delete_after_commit(session, photo_key)
    if portfolio is not None:  # the vault's blobs, after the key (whose row is gone with this commit)
        storage.delete_prefix_after_commit(session, owner_prefix(portfolio.id))


# --- flows that e-mail a one-time link -----------------------------------------------------------------

def verification_token(session: Session, user: User, *, force: bool = False) -> str | None:
    """A new e-mail verification token, or None if the user is verified or one was sent very recently."""
    if user.is_verified:
        return None
    if not force:
        latest = newest_token_time(session, user, "verify_email")
        if latest is not None and utcnow() - latest < VERIFY_MAIL_INTERVAL:
            return None
    return issue_token(session, user, "verify_email", payload=user.email)


def verify_email(session: Session, raw) -> User:
    """Mark the address verified; the token must have been sent to the address the account has now."""
    token = consume_token(session, raw, "verify_email")
    user = token.user
    if token.payload and token.payload != user.email:
        raise invalid_token()
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    session.flush()
    _deliver_credentials(session, user)
    return user


def _deliver_credentials(session: Session, user: User) -> None:
    """Credentials awarded to an address land in the portfolio once the address is proved (issue 7)."""
    from app.services import awarding  # noqa: PLC0415 - awarding needs accounts: imported when used

    awarding.deliver_pending(session, user)


def request_password_reset(session: Session, email, *,
                           now: datetime | None = None) -> tuple[User, str] | None:
    """(user, raw token) to e-mail, or None: unknown address, or a reset mail went out < 2 minutes ago.

    The caller shows the same message in every case, so the answer reveals nothing about the address,
    and sends the mail after the response, so that its time reveals nothing either. Registering with
    a taken address comes here too (its owner gets a reset link instead of an error): one interval
    for every mail a stranger can make us send to an account.
    """
    now = now or utcnow()
    user = find_by_email(session, email) if isinstance(email, str) else None
    if user is None:
        return None
    if user.last_reset_sent_at is not None and now - user.last_reset_sent_at < RESET_MAIL_INTERVAL:
        return None
    user.last_reset_sent_at = now
    return user, issue_token(session, user, "reset_password")


def reset_password(session: Session, raw, new_password: str) -> User:
    """Set a new password from an e-mailed link. Rules are checked before the token is used, so that a
    refused password leaves the link valid; the link also proves the address, hence verified.

    A reset is what one does when the password may have leaked, so every API token is revoked too
    (someone who had the password may have made one), and the sign-in lock is cleared (a lock kept
    up by someone guessing must not keep the owner out: ``set_password``)."""
    user = peek_token(session, raw, "reset_password").user
    check_password_rules(new_password, user.email)
    consume_token(session, raw, "reset_password")
    set_password(session, user, new_password)
    revoke_api_tokens(session, user)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    session.flush()
    _deliver_credentials(session, user)
    return user


def request_email_change(session: Session, user: User, password: str, new_email: str) -> tuple[str, str]:
    """(normalised new address, raw token) to send to the NEW address; nothing changes until it is used.

    The address is checked first and the password last (``confirm_password``, with the sign-in backoff),
    so that a wrong password is the last possible refusal and nothing else is pending when the caller
    commits it. An address taken by another account is not reported here (that would reveal it): the
    link sent there will simply not work, and its owner ignores it.
    """
    if not user.is_verified:
        raise Forbidden(str(_l("Please verify your current e-mail address first.")), code="email_unverified")
    new_email = normalise_email(new_email, field="new_email")
    if new_email == user.email:
        raise ValidationFailed(_message(),
                               fields={"new_email": str(_l("This is already your e-mail address."))})
    confirm_password(session, user, password)
    return new_email, issue_token(session, user, "change_email", payload=new_email)


def confirm_email_change(session: Session, raw) -> tuple[User, str]:
    """Apply a confirmed e-mail change; return the user and the old address (to notify it)."""
    token = consume_token(session, raw, "change_email")
    user, new_email = token.user, token.payload
    if not new_email:
        raise invalid_token()
    taken = session.scalars(select(User.id).where(User.email == new_email, User.id != user.id)).first()
    if taken is not None:
        raise Conflict(str(_l("An account already uses this e-mail address.")), code="email_taken")
    old_email = user.email
    user.email = new_email
    user.email_verified_at = utcnow()
    void_tokens(session, user, "verify_email")
    void_tokens(session, user, "reset_password")
    revoke_feed_address(session, user)
    session.flush()
    _deliver_credentials(session, user)
    return user, old_email
