"""Invitations and roles: the owner shares their portfolio with a person, who accepts by link.

The owner invites an e-mail address with a role and a scope (``invite``), changes them (``change``) or
revokes the grant (``revoke``) at any time. The invitee accepts by the e-mailed link (``accept_by_link``:
the link proves the mailbox) or, signed in with that verified address, by id (``accept``). From then on
the grant belongs to the account; what it gives is decided by ``app.policy`` alone, which this module
only asks. ``shared_items`` is what an invited person sees: exactly the items in scope, through
``policy.shared_filter`` (the same scope resolution as ``policy.can``), and each read goes to the owner's
access log.

Decisions written down here:
- a guardian (a minor's parent) reads the whole portfolio: their scope is ``"all"`` whatever was asked;
- one open grant (pending or active) per address and portfolio: a second invitation is a change of the
  first, not a second key to the same door;
- the invitation link lives 14 days from its last sending or change (``INVITATION_TTL``); the grant's
  own ``expires_at`` is separate and optional (the end of the access, e.g. the end of a school year);
- nobody can invite their own address (``self_invitation``).

Like every service: flush, never commit; the mails are sent by the caller after committing.
"""
from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app import policy
from app.database import utcnow
from app.models import (
    Credential, Diploma, Document, Experience, ExternalCredential, Grant, JournalEntry, Portfolio, Skill, User,
)
from app.models.sharing import ROLES, SCOPE_ITEM_TYPES, SECTIONS
from app.services import access_log, minors, received
from app.services.errors import Conflict, NotFound, ServiceError, ValidationFailed
from app.services.tokens import hash_token
from app.services.validation import CONTROL_CHARS

INVITATION_TTL = timedelta(days=14)
MAX_OPEN_GRANTS = 200  # per portfolio: sharing, not a mailing list
MAX_SCOPE_ENTRIES = 500
MESSAGE_MAX = 2000
RECENT_LIMIT = 5
# The models of a shared view, in the order it shows them, by section.
SECTION_MODELS = {"experiences": Experience, "diplomas": Diploma, "skills": Skill, "documents": Document,
                  "credentials": Credential, "journal": JournalEntry}
ORDER = {Experience: (Experience.start_date.desc(), Experience.id), Diploma: (Diploma.awarded_on.desc(), Diploma.id),
         Skill: (Skill.sort_name, Skill.id), Document: (Document.created_at.desc(), Document.id),
         Credential: (Credential.issued_at.desc(), Credential.id),
         JournalEntry: (JournalEntry.created_at.desc(), JournalEntry.id)}


def _invalid(field: str, message) -> ValidationFailed:
    return ValidationFailed(str(_l("Some information is not valid.")), fields={field: str(message)})


def not_found() -> NotFound:
    return NotFound(str(_l("This share does not exist or is no longer open to you.")))


# --- checking what the owner asks for ---------------------------------------------------------------

def clean_email(value) -> str:
    if not isinstance(value, str):
        raise _invalid("email", _l("Enter an e-mail address."))
    email = value.strip().lower()
    local, _, domain = email.partition("@")
    if (not local or "." not in domain or len(email) > 254 or CONTROL_CHARS.search(email)
            or any(char.isspace() for char in email) or domain.startswith(".") or domain.endswith(".")):
        raise _invalid("email", _l("Enter an e-mail address."))
    return email


def clean_role(value) -> str:
    if value not in ROLES:
        raise _invalid("role", _l("Choose a role: viewer, contributor, certifier, guardian or counsellor."))
    return value


def clean_expiry(value, *, now: datetime | None = None) -> datetime | None:
    """None (no end), or an aware future time; a date alone means the end of that day (UTC)."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _invalid("expires_at", _l("Give a date such as 2027-06-30.")) from None
        if len(text) == 10:  # a date alone: access ends with that day
            value = value.replace(hour=23, minute=59, second=59)
    if not isinstance(value, datetime):
        raise _invalid("expires_at", _l("Give a date such as 2027-06-30."))
    if value.tzinfo is None:
        value = value.replace(tzinfo=utcnow().tzinfo)
    if value <= (now or utcnow()):
        raise _invalid("expires_at", _l("The end of access must be in the future."))
    return value


def clean_scope(session: Session, portfolio: Portfolio, role: str, value):
    """``"all"``, or a deduplicated list of sections and items that exist in this portfolio.

    An id from another portfolio is refused like a missing one (the same message), so that the answer
    tells nothing about others' items.
    """
    if role == "guardian" or value in (None, "all"):
        return "all"
    if not isinstance(value, list) or not value:
        raise _invalid("scope", _l("Share the whole portfolio, or choose at least one section or item."))
    if len(value) > MAX_SCOPE_ENTRIES:
        raise _invalid("scope", _l("Too many items: share whole sections instead."))
    cleaned, seen = [], set()
    for entry in value:
        kind = entry.get("type") if isinstance(entry, dict) else None
        raw_id = entry.get("id") if isinstance(entry, dict) else None
        if kind == "section":
            if raw_id not in SECTIONS:
                raise _invalid("scope", _l("Unknown section: %(name)s.", name=str(raw_id)[:40]))
            key = ("section", raw_id)
        elif kind in SCOPE_ITEM_TYPES:
            item_id = policy.parse_id(raw_id)
            model = policy.MODEL_OF[kind]
            item = session.get(model, item_id) if item_id is not None else None
            if item is None and kind == "credential" and item_id is not None:  # a badge earned elsewhere
                item = session.get(ExternalCredential, item_id)
            if item is None or item.portfolio_id != portfolio.id:
                raise _invalid("scope", _l("One of the chosen items does not exist in your portfolio."))
            key = (kind, str(item_id))
        else:
            raise _invalid("scope", _l("Each shared entry needs a type (%(types)s) and an id.",
                                       types=", ".join((*SCOPE_ITEM_TYPES, "section"))))
        if key not in seen:
            seen.add(key)
            cleaned.append({"type": key[0], "id": key[1]})
    return cleaned


def _clean_message(value) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or CONTROL_CHARS.search(value):  # tabs and line breaks are allowed
        raise _invalid("message", _l("This text contains characters that are not allowed."))
    if len(value) > MESSAGE_MAX:
        raise _invalid("message", _l("At most %(count)d characters.", count=MESSAGE_MAX))
    return value.strip()


# --- the owner's side ---------------------------------------------------------------------------------

def _portfolio_of(user: User) -> Portfolio:
    if user.portfolio is None:
        raise not_found()
    return user.portfolio


def _new_token(grant: Grant) -> str:
    raw = secrets.token_urlsafe(32)
    grant.token_hash = hash_token(raw)
    grant.updated_at = utcnow()
    return raw


def invite(session: Session, owner: User, *, email, role, scope="all", expires_at=None, message="",
           locale: str | None = None) -> tuple[Grant, str]:
    """Invite ``email`` with ``role`` over ``scope``; returns the grant and the raw link token (for the mail).

    Refuses the owner's own address (``self_invitation``) and an address that already has an open grant
    on this portfolio (``already_invited``: change that one instead).
    """
    portfolio = _portfolio_of(owner)
    email, role = clean_email(email), clean_role(role)
    if email == owner.email.lower():
        raise ServiceError(str(_l("You cannot invite yourself: this is your own address.")),
                           code="self_invitation", status=422)
    if role == "guardian":
        check_guardian_invitation(session, owner, email)
    else:
        check_outsider_consent(session, owner, email, role)
    scope = clean_scope(session, portfolio, role, scope)
    expires = clean_expiry(expires_at)
    message = _clean_message(message)
    now = utcnow()
    open_grants = select(Grant).where(Grant.portfolio_id == portfolio.id, Grant.revoked_at.is_(None),
                                      or_(Grant.expires_at.is_(None), Grant.expires_at > now))
    if session.scalar(open_grants.where(Grant.email == email).limit(1)) is not None:
        raise Conflict(str(_l("%(email)s is already invited: change or revoke that invitation.", email=email)),
                       code="already_invited")
    if session.scalar(select(func.count()).select_from(open_grants.subquery())) >= MAX_OPEN_GRANTS:
        raise Conflict(str(_l("You share your portfolio with too many people already.")), code="too_many_grants")
    grant = Grant(portfolio_id=portfolio.id, email=email, role=role, scope=scope, expires_at=expires,
                  invited_by_id=owner.id, message=message, locale=locale or owner.locale or "fr")
    raw = _new_token(grant)
    session.add(grant)
    session.flush()
    return grant, raw


def check_guardian_invitation(session: Session, owner: User, email: str) -> None:
    """A minor (under 18) gives the guardian role only to a guardian their institution named (the roster):
    otherwise a pupil could make a second address of their own "guardian" and consent for themself
    (review 14, H1). Adults keep inviting whom they like: their guardians decide nothing (``guardians.decide``)."""
    if minors.is_minor(owner, threshold=minors.MAJORITY) and not minors.named_guardian(session, owner, email):
        raise ServiceError(str(_l("Only a guardian named by your school can be invited as your guardian: ask "
                                  "your school to add their e-mail to your enrolment.")),
                           code="guardian_not_named", status=403)


def check_outsider_consent(session: Session, owner: User, email: str, role: str) -> None:
    """Under 15, a grant to someone outside the person's institutions waits for a guardian's consent, as a
    share link does (it gives at least as much), and a certifier's also for attestations outside the school
    (review 14, M5). ``Forbidden`` with ``guardian_consent_required`` (or ``account_refused``) otherwise."""
    if not minors.is_minor(owner) or minors.inside_institution(session, owner, email):
        return
    minors.require_consent(session, owner, minors.SHARE_LINK)
    if role == "certifier":
        minors.require_consent(session, owner, minors.OUTSIDE_ATTESTATION)


def owned_grant(session: Session, owner: User, grant_id) -> Grant:
    """The owner's grant with this id; ``NotFound`` for a missing one or another owner's."""
    key = policy.parse_id(grant_id)
    grant = session.get(Grant, key) if key is not None else None
    if grant is None or not policy.can(owner, policy.UPDATE, grant):
        raise not_found()
    return grant


def list_for_owner(session: Session, owner: User) -> list[Grant]:
    portfolio = _portfolio_of(owner)
    return list(session.scalars(select(Grant).where(Grant.portfolio_id == portfolio.id)
                                .order_by(Grant.created_at.desc(), Grant.id)))


def change(session: Session, owner: User, grant: Grant, *, role=None, scope=None, expires_at=...) -> Grant:
    """Change the role, the scope or the end of access (``expires_at=None`` removes the end)."""
    if not policy.can(owner, policy.UPDATE, grant):
        raise not_found()
    if grant.revoked_at is not None:
        raise Conflict(str(_l("This share was revoked: invite the person again.")), code="revoked")
    new_role = clean_role(role) if role is not None else grant.role
    if new_role != grant.role and "guardian" in (new_role, grant.role):
        # The guardian role comes from a guardian invitation only (checked there), and leaves with the grant.
        raise _invalid("role", _l("A guardian's access cannot be made from another share, nor turned into one."))
    if new_role != grant.role and grant.group_id is None:
        check_outsider_consent(session, owner, grant.email, new_role)
    if grant.group_id is not None and new_role != "viewer":
        # A group grant reaches whoever is staff of the group: reading only, never writing or attesting.
        raise _invalid("role", _l("A share with a group's staff is for reading only."))
    if scope is not None or new_role != grant.role:
        grant.scope = clean_scope(session, owner.portfolio, new_role,
                                  scope if scope is not None else grant.scope)
    grant.role = new_role
    if expires_at is not ...:
        grant.expires_at = clean_expiry(expires_at)
    grant.updated_at = utcnow()
    session.flush()
    return grant


def revoke(session: Session, owner: User, grant: Grant) -> Grant:
    """End the grant now (idempotent); its invitation link stops working too."""
    if not policy.can(owner, policy.DELETE, grant):
        raise not_found()
    if (grant.role == "guardian" and grant.revoked_at is None and minors.is_minor(owner, threshold=minors.MAJORITY)
            and minors.named_guardian(session, owner, grant.email)):
        # A minor cannot silence the guardians the school named: they give the access back, or the head
        # changes the roster (review 14, H1).
        raise ServiceError(str(_l("A guardian named by your school keeps access while you are a minor.")),
                           code="guardian_named_by_school", status=403)
    if grant.revoked_at is None:
        grant.revoked_at = utcnow()
    grant.token_hash = None
    session.flush()
    return grant


def resend(session: Session, owner: User, grant: Grant) -> str:
    """A new invitation link for a pending grant (the old one stops working)."""
    if not policy.can(owner, policy.UPDATE, grant):
        raise not_found()
    if grant.status != "pending":
        raise Conflict(str(_l("Only a pending invitation can be sent again.")), code="not_pending")
    raw = _new_token(grant)
    session.flush()
    return raw


# --- the invitee's side --------------------------------------------------------------------------------

def link_error() -> ServiceError:
    return ServiceError(str(_l("This invitation link is not valid, was already used, or has expired.")),
                        code="invalid_invitation", status=404)


def peek(session: Session, raw) -> Grant:
    """The pending grant behind an invitation link, or ``invalid_invitation`` (the same for every fault)."""
    if not isinstance(raw, str) or not 20 <= len(raw) <= 100:
        raise link_error()
    grant = session.scalar(select(Grant).where(Grant.token_hash == hash_token(raw)))
    # ``updated_at`` is the last sending (or change) of the invitation: the link lives INVITATION_TTL from it.
    if grant is None or grant.status != "pending" or grant.updated_at + INVITATION_TTL <= utcnow():
        raise link_error()
    return grant


def _accept(session: Session, user: User, grant: Grant) -> Grant:
    grant.grantee_id, grant.accepted_at, grant.token_hash = user.id, utcnow(), None
    grant.last_seen_at = grant.accepted_at
    session.flush()
    return grant


def accept_by_link(session: Session, user: User, raw) -> Grant:
    """Accept with the e-mailed link, signed in with the invited address (``wrong_account`` otherwise)."""
    grant = peek(session, raw)
    if grant.portfolio.owner_id == user.id:
        raise ServiceError(str(_l("This is your own portfolio.")), code="self_invitation", status=422)
    if not policy.can(user, "accept_by_link", grant):
        raise ServiceError(str(_l("This invitation was sent to another address: sign in with %(email)s.",
                                  email=grant.email)), code="wrong_account", status=403)
    return _accept(session, user, grant)


def invitations_for(session: Session, user: User) -> list[Grant]:
    """The pending invitations to the user's address (verified addresses only: see ``policy``)."""
    if not user.is_verified:
        return []
    now = utcnow()
    return [grant for grant in session.scalars(
        select(Grant).where(Grant.email == user.email.lower(), Grant.grantee_id.is_(None),
                            Grant.accepted_at.is_(None), Grant.revoked_at.is_(None),
                            or_(Grant.expires_at.is_(None), Grant.expires_at > now))
        .order_by(Grant.created_at.desc()))
        if policy.can(user, "accept", grant)]


def accept(session: Session, user: User, grant_id) -> Grant:
    """Accept an invitation by id (the API): the account's verified address must be the invited one."""
    key = policy.parse_id(grant_id)
    grant = session.get(Grant, key) if key is not None else None
    if grant is None or not policy.can(user, "accept", grant):
        raise not_found()
    return _accept(session, user, grant)


def shared_with(session: Session, user: User) -> list[Grant]:
    """The user's active grants, the most recently accepted first."""
    return list(session.scalars(select(Grant).where(policy.reaches_clause(user), policy.active_clause(utcnow()))
                                .order_by(Grant.accepted_at.desc(), Grant.id)))


def active_grant(session: Session, user: User, grant_id) -> Grant:
    """One of the user's active grants, else ``NotFound`` (revoked, expired, another person's)."""
    key = policy.parse_id(grant_id)
    grant = session.get(Grant, key) if key is not None else None
    if grant is None or not grant.is_active() or not reaches(session, user, grant):
        raise not_found()
    return grant


def reaches(session: Session, user: User, grant: Grant) -> bool:
    """Does ``grant`` name ``user``: accepted by them, or made to a group's staff they are part of."""
    if grant.grantee_id == user.id:
        return True
    return grant.group_id is not None and session.scalar(
        select(Grant.id).where(Grant.id == grant.id, policy.reaches_clause(user))) is not None


def leave(session: Session, user: User, grant: Grant) -> None:
    """The invited person gives the access back (the owner sees it as revoked)."""
    if grant.grantee_id != user.id:
        raise not_found()
    if grant.revoked_at is None:
        grant.revoked_at = utcnow()
    session.flush()


def shared_items(session: Session, user: User, grant: Grant, *, ip: str | None = None,
                 record: bool = True) -> dict:
    """What the grant shows: ``{"portfolio", "profile" (bool), "<section>": [items], "external_credentials"}``.

    Each section's query is filtered by ``policy.shared_filter`` over this one grant: exactly the items
    in scope. The read is logged (``record``) and "recent changes" restart from now.

    ``external_credentials``: the owner's badges earned elsewhere (the backpack) that the same scope
    covers (the "credentials" section, or each one named), as ``received.Entry`` with the verifier's
    cached verdict and state: a badge from elsewhere is only worth what its verification says, so the
    invited person sees that verdict wherever they see the badge. Without the items each badge proves
    (``links``): those may lie outside the scope.
    """
    if not grant.is_active() or not reaches(session, user, grant):
        raise not_found()
    shown = {"portfolio": grant.portfolio, "grant": grant,
             "profile": policy.covers_section(grant, "profile")}
    for section, model in SECTION_MODELS.items():
        condition = policy.shared_filter([grant], model)
        shown[section] = list(session.scalars(select(model).where(condition).order_by(*ORDER[model])))
    badges = session.scalars(select(ExternalCredential).where(policy.shared_filter([grant], ExternalCredential))
                             .order_by(ExternalCredential.created_at.desc(), ExternalCredential.id))
    shown["external_credentials"] = received.external_entries(session, list(badges))
    if record:
        access_log.record(session, grant.portfolio_id, action="view", object_type="portfolio",
                          object_id=grant.portfolio_id, actor=user, ip=ip)
        grant.last_seen_at = utcnow()
        session.flush()
    return shown


def shared_document(session: Session, user: User, grant: Grant, document_id, *, ip: str | None = None) -> Document:
    """A document of the shared portfolio that the grant gives, logged as a download; else ``NotFound``."""
    key = policy.parse_id(document_id)
    document = session.get(Document, key) if key is not None else None
    if (document is None or not reaches(session, user, grant) or document.portfolio_id != grant.portfolio_id
            or not grant.is_active() or not policy.can(user, policy.READ, document)):
        raise not_found()
    access_log.record(session, grant.portfolio_id, action="download", object_type="document",
                      object_id=document.id, actor=user, ip=ip)
    return document


def recent_changes(session: Session, user: User) -> list[dict]:
    """For each followed portfolio: the items in scope changed since the person last looked.

    The counsellors' view ("followed portfolios with recent changes"): what changed since
    ``last_seen_at``, through the same filter as the shared view, so that it never names an item
    out of scope. Newest portfolios first; the few latest items of each.
    """
    followed = []
    for grant in shared_with(session, user):
        since = grant.last_seen_at or grant.accepted_at
        changed, count = [], 0
        for section, model in SECTION_MODELS.items():
            if model is Credential:
                continue  # received credentials have no edit date; they appear in the shared view
            condition = policy.shared_filter([grant], model)
            query = select(model).where(condition, model.updated_at > since)
            count += session.scalar(select(func.count()).select_from(query.subquery())) or 0
            changed += [(section, item) for item in
                        session.scalars(query.order_by(model.updated_at.desc()).limit(RECENT_LIMIT))]
        changed.sort(key=lambda pair: pair[1].updated_at, reverse=True)
        followed.append({"grant": grant, "since": since, "count": count, "latest": changed[:RECENT_LIMIT]})
    followed.sort(key=lambda entry: (entry["count"] > 0, entry["latest"][0][1].updated_at
                                     if entry["latest"] else entry["since"]), reverse=True)
    return followed


def title_of(item) -> str:
    """The display name of any shareable item (for lists and the access log page)."""
    for attribute in ("title", "name"):
        value = getattr(item, attribute, None)
        if value:
            return value
    if isinstance(item, Credential):
        return item.achievement.name
    if isinstance(item, ExternalCredential):
        return item.achievement_name or item.issuer_name
    return str(getattr(item, "id", ""))


def object_title(session: Session, object_type: str | None, object_id: uuid.UUID | None) -> str:
    """The current name of a logged object, or "" once it is gone."""
    model = policy.MODEL_OF.get(object_type or "")
    item = session.get(model, object_id) if model is not None and object_id is not None else None
    return title_of(item) if item is not None else ""
