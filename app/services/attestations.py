"""Attestation requests: an owner asks a referee to confirm an experience or a skill; a confirmation
becomes a signed OB 3.0 credential attached to that item.

Like every service: takes the session, the acting person and plain values, flushes, never commits,
never sends mail (it returns the raw link for the caller's mail).

Choices:

- The link is 256 random bits; only its SHA-256 is stored (``tokens.hash_token``). It is used once (a
  conditional UPDATE on ``used_at``: two concurrent clicks cannot both confirm), expires after
  ``LINK_TTL``, and a reminder replaces it (the earlier link stops working: only the latest counts).
  The referee needs no account: following the link proves control of the mailbox, which is exactly,
  and only, what the platform vouches for.
- The platform's identity is ``did:web:HOST[:PATH]:issuers:platform``, its document served at
  ``/issuers/platform/did.json``. Why not ``/.well-known/did.json`` (``did:web:HOST``): that one exists
  only when Sillage runs at the root of its host (a did:web with a path never looks in .well-known),
  and it would claim the whole host's identity for one feature; ``issuers/platform`` has the same shape
  as the organisations' DIDs, so the same resolver, cache and local-fetch code serve it, and "platform"
  can never collide with an organisation's UUID.
- The key (``PlatformKey``) is made on first use, sealed by the master key (``vault_keys.PLATFORM_*``),
  re-wrapped by ``sillage keys rotate-master``.
- The credential: an ``OpenBadgeCredential`` whose achievement is the item (name and the statement as
  confirmed), whose criteria say who confirmed it, and whose evidence names the referee, the relationship
  and exactly what the issuer vouches for. The subject is the owner's e-mail as a salted hash (as for
  awards). The referee's e-mail address is NOT in the credential, neither in clear nor hashed: the
  document is public (its page, its ``.json``, every copy the owner shares), and OB 3.0's hashed
  ``IdentityObject`` (``hashed: true``, ``salt``) is defined for the *recipient* only
  (``credentialSubject.identifier``): no property of ``Evidence`` or ``Achievement`` takes one, and an
  undefined term would make the document unsignable here (pyld drops it). A salted hash in the narrative
  would also be guessable by anyone holding a list of addresses (the salt is public). So the credential
  names the referee and the relationship, and says that the platform confirmed the referee's mailbox;
  the address itself stays in Sillage's database (``AttestationRequest.referee_email``), seen only by
  the owner. No status entry: status lists are per organisation and tied to
  ``Credential`` rows; the owner withdraws an attestation by deleting it from their portfolio.
- A referee who is an admin or issuer of an approved organisation may sign as that organisation, after
  signing in with the very address the request was sent to (the link proves the mailbox, the session
  proves the membership; both are needed).
"""
from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale, lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models import Experience, Organisation, Skill, User
from app.models.attestations import ENDORSABLE_KINDS, PURPOSES, AttestationRequest, PlatformKey
from app import policy
from app.policy import parse_id
from app.services import accounts, awarding, minors, vault_keys
from app.services.errors import Conflict, NotFound, ServiceError, ValidationFailed
from app.services.tokens import hash_token
from badges.errors import InvalidValue
from badges.identity import new_salt
from badges.ob3 import Profile, build_credential, profile_document
from badges.signing import sign_credential
from certs.keys import KeyPair, VerificationMethod, decode_public_multikey, did_web, did_web_document, seal, unseal

LINK_TTL = timedelta(days=14)
REMIND_INTERVAL = timedelta(hours=24)  # at most one reminder a day…
MAX_REMINDERS = 3                      # …and three in all: the referee is not to be pestered
MAX_PENDING = 50                       # per owner: the feature is not a mailing tool
NAME_MAX, RELATIONSHIP_MAX, MESSAGE_MAX, STATEMENT_MAX, REASON_MAX = 120, 120, 2000, 5000, 1000
ITEM_MODELS = {"experience": Experience, "skill": Skill}
PLATFORM_SEGMENT = "platform"


def _invalid(field: str, message) -> ValidationFailed:
    return ValidationFailed(str(_l("Some information is not valid.")), fields={field: str(message)})


def _text(value, field: str, max_length: int, *, required: bool = False) -> str:
    """The awards' text rules (type, control characters, length), and a presence check."""
    value = awarding._text(value, field, max_length) or ""
    if required and not value:
        raise _invalid(field, _l("This field is required."))
    return value


def _base() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def public_url(request_id) -> str:
    return f"{_base()}/attestations/{request_id}"


# --- the platform's identity and key ------------------------------------------------------------------

def platform_did(base_url: str | None = None) -> str:
    parts = urlsplit(base_url or current_app.config["BASE_URL"])
    path = [segment for segment in parts.path.split("/") if segment]
    return did_web(parts.netloc, *path, "issuers", PLATFORM_SEGMENT)


def _aad(row_id) -> bytes:
    return vault_keys.PLATFORM_AAD + str(row_id).encode("ascii")


def _current_row(session: Session) -> PlatformKey:
    """The current key, made (sealed by the master key) on first use."""
    row = session.scalars(select(PlatformKey).where(PlatformKey.retired_at.is_(None))
                          .order_by(PlatformKey.created_at.desc()).limit(1)).first()
    if row is None:
        ring, pair, row_id = vault_keys.keyring(), KeyPair.generate(), uuid.uuid4()
        row = PlatformKey(id=row_id, public_key_multibase=pair.public_key_multibase,
                          master_key_id=ring.wrapping_id, created_at=utcnow(),
                          sealed_private_key=seal(pair.private_bytes(), ring.wrapping.encode("utf-8"),
                                                  _aad(row_id), purpose=vault_keys.PLATFORM_PURPOSE))
        session.add(row)
        session.flush()
    return row


def platform_key(session: Session) -> KeyPair:
    row = _current_row(session)
    master = vault_keys.keyring().keys.get(row.master_key_id)
    if master is None:
        raise ServiceError(str(_l("The key that protects the platform's signing key is missing.")),
                           code="master_key_missing", status=500)
    seed = unseal(row.sealed_private_key, master.encode("utf-8"), _aad(row.id),
                  purpose=vault_keys.PLATFORM_PURPOSE)
    did = platform_did()
    pair = KeyPair.from_private_bytes(seed, controller=did, key_id=f"{did}#{row.public_key_multibase}")
    if pair.public_key_multibase != row.public_key_multibase:
        raise ServiceError("sealed key does not match its public key", code="key_mismatch", status=500)
    return pair


def platform_did_document(session: Session) -> dict:
    """Every platform key, current and retired, so that every attestation it signed still verifies."""
    _current_row(session)
    did = platform_did()
    rows = session.scalars(select(PlatformKey).order_by(PlatformKey.created_at)).all()
    return did_web_document(did, [VerificationMethod(f"{did}#{row.public_key_multibase}", did,
                                                     decode_public_multikey(row.public_key_multibase))
                                  for row in rows])


def platform_profile() -> dict:
    return profile_document(Profile(id=platform_did(), name=current_app.config.get("SITE_NAME") or "Sillage",
                                    url=_base() + "/",
                                    description="Attestations confirmed by e-mail on this Sillage instance."))


# --- the owner's side ---------------------------------------------------------------------------------

def owned_item(session: Session, user: User, kind, item_id):
    """The owner's experience or skill (or received credential, for endorsements); another person's id,
    or a missing one, is ``NotFound``."""
    if kind == "credential":
        try:
            return awarding.get_owned(session, user, item_id)
        except NotFound:
            raise NotFound(str(_l("No such item."))) from None
    model, key = ITEM_MODELS.get(kind), parse_id(item_id)
    item = session.get(model, key) if model is not None and key is not None else None
    portfolio = getattr(user, "portfolio", None)
    if item is None or portfolio is None or item.portfolio_id != portfolio.id:
        raise NotFound(str(_l("No such item.")))
    return item


def statement_of(kind: str, item) -> tuple[str, str]:
    """(title, statement): what the referee is asked to confirm, written from the item."""
    if kind == "credential":
        head = f"{item.achievement.name} — {item.organisation.name} ({item.issued_at.date().isoformat()})"
        return item.achievement.name, "\n\n".join(p for p in (head, item.achievement.description.strip()) if p)
    if kind == "skill":
        return item.name, "\n\n".join(part for part in (item.name, item.description.strip()) if part)
    period = item.start_date.isoformat() + (f" – {item.end_date.isoformat()}" if item.end_date else " –")
    head = ", ".join(part for part in (item.title, item.organisation, item.place) if part)
    return item.title, "\n\n".join(part for part in (f"{head} ({period})", item.description.strip()) if part)


def certifiers(session: Session, user: User, item) -> list[User]:
    """The people the owner may pick as referee of ``item`` without typing an address: those who hold an
    accepted, unexpired, unrevoked *certifier* grant on the owner's portfolio whose scope covers the item
    (the grants policy's ``attest_request``), in name order."""
    from app.models import Grant  # noqa: PLC0415 - sharing models import the portfolio ones

    grants = session.scalars(select(Grant).where(
        Grant.portfolio_id == user.portfolio.id, Grant.role == "certifier", Grant.grantee_id.is_not(None),
        policy.active_clause(utcnow())))
    found = {g.grantee_id: g.grantee for g in grants
             if g.grantee is not None and policy.can(g.grantee, policy.ATTEST_REQUEST, item)}
    return sorted(found.values(), key=lambda person: (person_name(person).casefold(), person.email))


def person_name(person: User) -> str:
    """How an account is named: its portfolio's display name, else its address."""
    return (person.portfolio.display_name if person.portfolio else "") or person.email


def create(session: Session, user: User, kind, item_id, *, referee_name, referee_email, relationship,
           message=None, locale: str | None = None, purpose: str = "attestation",
           certifier_id=None) -> tuple[AttestationRequest, str]:
    """A pending request and the raw link (for the referee's mail). ``purpose="endorsement"`` asks for an
    endorsement of a skill or received credential instead (same link, limits and follow-up).

    ``certifier_id`` picks the referee among ``certifiers`` (a person the owner gave a certifier grant):
    their account's address and name are used (a typed name still wins); anyone else's id is refused."""
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    if kind not in (ENDORSABLE_KINDS if purpose == "endorsement" else tuple(ITEM_MODELS)):
        raise NotFound(str(_l("No such item.")))
    item = owned_item(session, user, kind, item_id)
    if certifier_id:
        chosen = next((p for p in certifiers(session, user, item) if str(p.id) == str(certifier_id)), None)
        if chosen is None:
            raise _invalid("certifier", _l("Choose one of the people who certify this item for you."))
        referee_name = (referee_name or "").strip() or person_name(chosen)
        referee_email = chosen.email
    name = _text(referee_name, "referee_name", NAME_MAX, required=True)
    email = accounts.normalise_email(referee_email, field="referee_email")
    if email == user.email:
        raise _invalid("referee_email", _l("Ask someone else: you cannot endorse yourself.") if purpose == "endorsement"
                       else _l("Ask someone else: you cannot attest your own experience."))
    if not minors.inside_institution(session, user, email):
        minors.require_consent(session, user, minors.OUTSIDE_ATTESTATION)
    relation = _text(relationship, "relationship", RELATIONSHIP_MAX, required=True)
    message = _text(message, "message", MESSAGE_MAX)
    pending = session.scalar(select(func.count()).select_from(AttestationRequest).where(
        AttestationRequest.portfolio_id == user.portfolio.id, AttestationRequest.status == "pending",
        AttestationRequest.expires_at > utcnow()))
    if pending >= MAX_PENDING:
        raise Conflict(str(_l("You have too many requests waiting for an answer.")), code="too_many_pending")
    title, statement = statement_of(kind, item)
    referee = session.scalars(select(User).where(User.email == email)).first()
    raw, now = secrets.token_urlsafe(32), utcnow()
    request = AttestationRequest(
        id=uuid.uuid4(), portfolio_id=user.portfolio.id, item_kind=kind, item_id=item.id,
        item_title=title[:200], statement=statement, referee_name=name, referee_email=email,
        referee_relationship=relation, message=message,
        locale=(getattr(referee, "locale", None) or locale or user.locale
                or current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")),
        status="pending", token_hash=hash_token(raw), created_at=now, expires_at=now + LINK_TTL, reminders=0,
        purpose=purpose)
    session.add(request)
    session.flush()
    return request, raw


def get_owned(session: Session, user: User, request_id) -> AttestationRequest:
    key = parse_id(request_id)
    request = session.get(AttestationRequest, key) if key is not None else None
    portfolio = getattr(user, "portfolio", None)
    if request is None or portfolio is None or request.portfolio_id != portfolio.id:
        raise NotFound(str(_l("No such request.")))
    return request


def list_for(session: Session, user: User, *, kind: str | None = None, item_id=None,
             purpose: str | None = None) -> list[AttestationRequest]:
    query = select(AttestationRequest).where(AttestationRequest.portfolio_id == user.portfolio.id)
    if purpose is not None:
        query = query.where(AttestationRequest.purpose == purpose)
    if kind is not None:
        query = query.where(AttestationRequest.item_kind == kind, AttestationRequest.item_id == parse_id(item_id))
    return list(session.scalars(query.order_by(AttestationRequest.created_at.desc(), AttestationRequest.id)))


def confirmed_for(session: Session, kind: str, item_id, purpose: str = "attestation") -> list[AttestationRequest]:
    """The signed attestations (or endorsements) of one item (shown on its page)."""
    return list(session.scalars(select(AttestationRequest).where(
        AttestationRequest.item_kind == kind, AttestationRequest.item_id == item_id,
        AttestationRequest.purpose == purpose,
        AttestationRequest.status == "confirmed").order_by(AttestationRequest.decided_at.desc())))


def _check_pending(request: AttestationRequest) -> None:
    if request.status != "pending":
        raise Conflict(str(_l("This request has already been answered or cancelled.")), code="not_pending")


def cancel(session: Session, user: User, request: AttestationRequest) -> None:
    """The link stops working at once; the referee's page then says the request was cancelled."""
    get_owned(session, user, request.id)
    _check_pending(request)
    request.status, request.decided_at = "cancelled", utcnow()
    session.flush()


def remind(session: Session, user: User, request: AttestationRequest) -> str:
    """A fresh link (the earlier one stops working) and a fresh expiry; at most one a day, three in all."""
    get_owned(session, user, request.id)
    _check_pending(request)
    now = utcnow()
    last = request.reminded_at or request.created_at
    if request.reminders >= MAX_REMINDERS or now - last < REMIND_INTERVAL:
        raise ServiceError(str(_l("You can send a reminder once a day, three times at most.")),
                           code="too_many_reminders", status=429)
    raw = secrets.token_urlsafe(32)
    request.token_hash, request.expires_at = hash_token(raw), now + LINK_TTL
    request.reminded_at, request.reminders = now, request.reminders + 1
    session.flush()
    return raw


# --- the referee's side -------------------------------------------------------------------------------

def link_error(code: str) -> ServiceError:
    messages = {
        "invalid_link": _l("This link is not valid: check that you copied it whole from the e-mail."),
        "link_used": _l("This link has already been used: the request was answered."),
        "link_expired": _l("This link has expired. Ask the person who sent it for a new one."),
        "request_cancelled": _l("This request was cancelled by the person who sent it."),
    }
    return ServiceError(str(messages[code]), code=code, status=410 if code != "invalid_link" else 404)


def peek(session: Session, raw) -> AttestationRequest:
    """The request behind a link, if it can still be answered; else the precise reason."""
    if not isinstance(raw, str) or not raw or len(raw) > 200:
        raise link_error("invalid_link")
    request = session.scalars(select(AttestationRequest)
                              .where(AttestationRequest.token_hash == hash_token(raw))).first()
    if request is None:
        raise link_error("invalid_link")
    if request.status == "cancelled":
        raise link_error("request_cancelled")
    if request.used_at is not None or request.status != "pending":
        raise link_error("link_used")
    if request.expires_at <= utcnow():
        raise link_error("link_expired")
    return request


def use_link(session: Session, raw) -> AttestationRequest:
    """Spend a referee's single-use link (attestations, and person endorsements that share the machinery):
    one conditional UPDATE, so two tabs or a replay cannot both use it; raises ``link_used`` (or
    ``peek``'s errors for an unknown or expired link)."""
    request = peek(session, raw)
    now = utcnow()
    done = session.execute(update(AttestationRequest)
                           .where(AttestationRequest.id == request.id, AttestationRequest.used_at.is_(None),
                                  AttestationRequest.status == "pending",
                                  AttestationRequest.token_hash == hash_token(raw))
                           .values(used_at=now).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise link_error("link_used")
    request.used_at = now
    return request


def signing_organisations(session: Session, user) -> list[Organisation]:
    """The approved organisations ``user`` may sign for (admin or issuer)."""
    from app.services import orgs

    if user is None or not getattr(user, "is_authenticated", False) or not isinstance(user, User):
        return []
    return [org for org, _role in orgs.organisations_of(session, user) if orgs.may_issue(user, org)]


def confirm(session: Session, raw, *, statement=None, as_organisation=None, user=None,
            now: datetime | None = None) -> AttestationRequest:
    """Use the link and sign the attestation (platform key, or ``as_organisation``'s key)."""
    from app.services import orgs

    request = peek(session, raw)
    if request.purpose != "attestation":  # an endorsement link is answered by app.services.endorsements
        raise link_error("invalid_link")
    corrected = _text(statement, "statement", STATEMENT_MAX) if statement is not None else ""
    organisation = None
    if as_organisation:
        organisation = session.get(Organisation, parse_id(as_organisation)) if parse_id(as_organisation) else None
        if user is None or not isinstance(user, User) or not user.is_verified or user.email != request.referee_email:
            raise ServiceError(str(_l("To sign as an organisation, sign in with the address this request was "
                                      "sent to.")), code="referee_not_signed_in", status=403)
        if organisation is None:
            raise NotFound(str(_l("No such organisation.")))
        awarding.check_may_issue(user, organisation)
    request = use_link(session, raw)
    if corrected and corrected != request.statement:
        request.corrected_statement = corrected
    now = (now or utcnow()).replace(microsecond=0)
    request.status, request.decided_at = "confirmed", now
    request.signed_by_organisation_id = organisation.id if organisation else None
    owner = request.portfolio.owner
    with force_locale(owner.locale or request.locale):
        request.document = _sign(session, request, owner, organisation, now)
    session.flush()
    return request


def _sign(session: Session, request: AttestationRequest, owner: User, organisation, now: datetime) -> dict:
    from app.services import orgs

    who = f"{request.referee_name} ({request.referee_relationship})"
    if organisation is None:
        issuer, key = platform_profile(), platform_key(session)
        vouch = _l("This platform vouches only that the person who followed the single-use link sent to "
                   "%(name)s's e-mail address confirmed this statement on %(date)s; it does not vouch for the "
                   "statement itself.", name=request.referee_name, date=now.date().isoformat())
    else:
        issuer, key = orgs.issuer_profile(organisation), orgs.signing_key(session, organisation)
        vouch = _l("%(name)s, a member of %(organisation)s signed in with the address the request was sent "
                   "to, confirmed this statement on behalf of %(organisation)s on %(date)s.",
                   name=request.referee_name, organisation=organisation.name, date=now.date().isoformat())
    url = public_url(request.id)
    try:
        unsigned = build_credential(
            issuer={"id": issuer["id"], "name": issuer["name"]}, credential_id=f"urn:uuid:{request.id}", email=owner.email, salt=new_salt(),
            achievement={"id": f"{url}#achievement", "name": request.item_title,
                         "description": request.final_statement,
                         "criteria_narrative": str(_l("Confirmed by %(who)s, who knows it at first hand.",
                                                      who=who))},
            name=str(_l("Attestation: %(title)s", title=request.item_title)), valid_from=now, awarded_date=now,
            evidence=[{"id": url, "name": str(_l("Attestation by %(name)s", name=request.referee_name)),
                       "description": str(_l("Relationship to the holder: %(relationship)s",
                                             relationship=request.referee_relationship)),
                       "genre": "Attestation", "narrative": str(vouch)}])
        unsigned["issuer"] = issuer  # the whole profile document, built and checked by its owner
        return sign_credential(unsigned, key, created=now)
    except InvalidValue as exc:
        raise ServiceError(str(_l("This attestation could not be signed: %(reason)s", reason=exc.message)),
                           code="not_signable", status=422) from None


def decline(session: Session, raw, reason=None) -> AttestationRequest:
    request = peek(session, raw)
    reason = _text(reason, "reason", REASON_MAX)
    request = use_link(session, raw)
    request.status, request.decided_at, request.decline_reason = "declined", utcnow(), reason or None
    session.flush()
    return request


def get_public(session: Session, request_id) -> AttestationRequest | None:
    """A confirmed attestation by its public id (its credential is public, like an award's)."""
    key = parse_id(request_id)
    request = session.get(AttestationRequest, key) if key is not None else None
    return request if (request is not None and request.status == "confirmed" and request.document
                       and request.purpose == "attestation") else None
