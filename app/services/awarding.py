"""Awarding one credential, revoking and suspending it, and delivering it to its recipient's portfolio.

Shared by the issuer's pages, the API and the CLI. Like every service: takes the session, the acting
person and plain values, flushes, never commits, never sends mail (it returns what the mail needs).

Choices:

- The credential is an OB 3.0 ``OpenBadgeCredential`` built by :func:`badges.ob3.build_credential`
  (``credentialSchema`` naming the official schema, which it passes) and signed ``eddsa-rdfc-2022`` with
  the organisation's current key (:func:`badges.signing.sign_credential`). Its JSON is stored verbatim.
- The recipient is an e-mail address, written in the credential only as a salted SHA-256
  ``IdentityObject`` (OB 3.0): the public credential does not reveal the address.
- Status: ONE ``credentialStatus`` entry, purpose ``revocation`` (a deliberate choice). VC 2.0 allows a
  set of status entries, but OB 3.0's ``AchievementCredential`` gives ``credentialStatus`` the
  multiplicity ``[0..1]`` and its official JSON Schema a single object; the issue requires the
  credential to pass that schema. Allowing several entries (revocation *and* suspension) is
  1EdTech/openbadges-specification issue #623 ("Allow multiple credentialStatus entries"), open for
  OB 3.1. So revocation, which must reach every verifier, is in the signed credential; suspension is a
  state kept here and shown only by Sillage's own credential page, API and the issuer's and owner's
  lists (see :func:`suspend`): a third-party verifier does NOT see a suspension, and an
  unsuspended credential never looked suspended to it. The status list service keeps one list per
  organisation and purpose, so a suspension entry can be added the day the schema allows several.
- The recipient's name, when the issuer gives one (the bulk file's name column), is a second
  ``IdentityObject`` of ``credentialSubject.identifier`` with ``identityType: "name"``, **hashed and
  salted** like the address. OB 3.0 allows a plain one (``hashed: false``), but its IdentityObject
  section strongly recommends a hash wherever the plain value would leak personal information, and
  Sillage's credentials are public by URL. Whoever knows the name (the holder, a recruiter reading the
  CV) can check it against the credential; nobody can read it out of it. The issuer's report keeps it.
- Everything that all the awards of one achievement share (the actor's right to issue, the unsealed
  key, the issuer and achievement documents) is an ``Issuing``, prepared once: a single award prepares
  its own, a bulk award one per transaction of rows, with the rows' status indexes reserved together.
- Delivery: if an account has that address *verified*, the credential lands in its portfolio at once.
  Otherwise a claim link is made (hashed, expiring); the credential lands when an account verifies the
  address (``deliver_pending``, called by e-mail verification and e-mail change) or when a signed-in
  person follows the link (``claim``: the link was sent to that mailbox, so following it proves it).
"""
from __future__ import annotations

import calendar
import hashlib
import secrets
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models import Portfolio, User
from app.models.credentials import ClaimToken, Credential, StatusEntry
from app.policy import parse_id
from app.services import accounts, achievements, orgs, status_lists
from app.services.errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from app.services.tokens import hash_token
from app.services.validation import CONTROL_CHARS, URL
from badges.errors import InvalidValue
from badges.identity import new_salt
from badges.ob3 import build_credential
from badges.signing import sign_credential
from certs.canon import Memo

STATUS_PURPOSE = "revocation"  # the one entry the signed credential carries (see the module docstring)
CLAIM_TTL = timedelta(days=90)
NARRATIVE_MAX = 5000
REASON_MAX = 1000
EVIDENCE_MAX = 10
URL_MAX = 2000


@dataclass
class Issuing:
    """What the awards of one achievement by one actor share, checked and built once
    (``prepare_issuing``): the right to issue, the unsealed signing key, the issuer's and the
    achievement's documents, and optionally status indexes reserved for several awards. Valid for the
    transaction that prepared it (the key and the right are as they were when it began)."""

    achievement: object
    key: object
    issuer: dict
    achieved: dict
    statuses: status_lists.Reservation | None = None
    # The verified accounts of the addresses about to be awarded, looked up together (a bulk award's
    # rows); None: each award looks its recipient up.
    recipients: dict | None = None
    memo: Memo = field(default_factory=Memo)  # the proof configuration, canonicalized once per second
    # A bulk award's ``certs.shapes.ShapeCanonicalizer.canonize`` (same N-Quads as pyld, by template);
    # None: pyld for each credential.
    canonizer: object = None

    def status_entry(self, session: Session, credential_id) -> dict:
        if self.statuses is not None:
            return self.statuses.take(session, credential_id)
        return status_lists.allocate(session, self.achievement.organisation, credential_id, STATUS_PURPOSE)


def prepare_issuing(session: Session, actor, achievement, *, reserve: int = 0) -> Issuing:
    """Check that ``actor`` may issue ``achievement`` and prepare what its awards share; with
    ``reserve``, draw that many status indexes at once (see ``status_lists.reserve``)."""
    organisation = achievement.organisation
    check_may_issue(actor, organisation)
    try:
        issuer, achieved = orgs.issuer_profile(organisation), achievements.achievement_document(achievement)
    except InvalidValue as exc:
        raise _not_signable(exc) from None
    statuses = status_lists.reserve(session, organisation, STATUS_PURPOSE, reserve) if reserve > 0 else None
    return Issuing(achievement, orgs.signing_key(session, organisation), issuer, achieved, statuses)


def _not_signable(exc: InvalidValue) -> ServiceError:
    return ServiceError(str(_l("This credential could not be signed: %(reason)s", reason=exc.message)),
                        code="not_signable", status=422)


def name_identity(name: str, salt: str) -> dict:
    """The recipient's name as a salted, hashed OB 3.0 ``IdentityObject`` (see the module docstring):
    ``sha256$`` + hex(SHA-256(NFC name + salt)), the form OB 3.0 gives for every identity hash."""
    text = unicodedata.normalize("NFC", " ".join(name.split()))
    return {"type": "IdentityObject", "identityType": "name", "hashed": True,
            "identityHash": "sha256$" + hashlib.sha256((text + salt).encode("utf-8")).hexdigest(),
            "salt": salt}


@dataclass
class Awarded:
    """What ``award`` made: the credential, and who to tell (a portfolio owner, or a claim link)."""

    credential: Credential
    recipient: User | None
    claim_token: str | None


def _invalid(field: str, message) -> ValidationFailed:
    return ValidationFailed(str(_l("Some information is not valid.")), fields={field: str(message)})


def _text(value, field: str, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(field, _l("Enter text."))
    value = value.strip()
    if CONTROL_CHARS.search(value):
        raise _invalid(field, _l("This text contains characters that are not allowed."))
    if len(value) > max_length:
        raise _invalid(field, _l("Use at most %(n)d characters.", n=max_length))
    return value or None


def _evidence(urls: Iterable[str] | str | None) -> list[str]:
    """Evidence URLs, from a list (API, CLI) or a text of one per line (the form); duplicates dropped."""
    if urls is None:
        return []
    if isinstance(urls, str):
        urls = urls.split()
    if not isinstance(urls, (list, tuple)) or not all(isinstance(url, str) for url in urls):
        raise _invalid("evidence", _l("Give a list of web addresses."))
    cleaned = [url.strip() for url in urls if url.strip()]
    if len(cleaned) > EVIDENCE_MAX:
        raise _invalid("evidence", _l("At most %(n)d links.", n=EVIDENCE_MAX))
    for url in cleaned:
        if len(url) > URL_MAX or not URL.match(url) or CONTROL_CHARS.search(url):
            raise _invalid("evidence", _l("Enter web addresses starting with https:// or http://."))
    return list(dict.fromkeys(cleaned))


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus whole calendar months, the day clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _base() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def credential_url(credential_id) -> str:
    return f"{_base()}/credentials/{credential_id}"


def check_may_issue(actor, organisation) -> None:
    """Only approved organisations issue, and only through their admins and issuers, their organisation
    token, or the operator at the command line (``policy.OPERATOR``); nobody else, ``None`` included."""
    if getattr(organisation, "status", None) != "approved":
        raise Forbidden(str(_l("This organisation is not approved to issue credentials.")),
                        code="organisation_not_approved")
    if getattr(organisation, "closed_at", None) is not None:
        raise Forbidden(str(_l("This organisation is closed: it issues nothing more.")),
                        code="organisation_closed")
    if actor is None or not orgs.may_issue(actor, organisation):
        raise Forbidden(str(_l("You may not issue credentials for this organisation.")), code="not_issuer")


def award(session: Session, actor, achievement, email: str, *, narrative: str | None = None,
          evidence: Iterable[str] | str | None = (), now: datetime | None = None,
          recipient_name: str | None = None, issuing: Issuing | None = None) -> Awarded:
    """Issue ``achievement`` to the person at ``email``: a signed credential, delivered or claimable.

    ``recipient_name`` goes into the credential hashed (module docstring). ``issuing`` is what
    ``prepare_issuing(session, actor, achievement)`` returned in this transaction (a bulk award's rows
    share one); without it, this award prepares its own."""
    organisation = achievement.organisation
    if issuing is None or issuing.achievement is not achievement:
        issuing = prepare_issuing(session, actor, achievement)
    recipient_name = _text(recipient_name, "recipient_name", 200)
    email = accounts.normalise_email(email, field="recipient")
    narrative = _text(narrative, "narrative", NARRATIVE_MAX)
    urls = _evidence(evidence)
    now = (now or utcnow()).replace(microsecond=0)
    months = getattr(achievement, "validity_months", None)
    valid_until = add_months(now, months) if months else None

    credential = Credential(id=uuid.uuid4(), organisation_id=organisation.id, achievement_id=achievement.id,
                            document={}, recipient_email=email, recipient_salt=new_salt(),
                            issued_by_id=getattr(actor, "id", None), issued_at=now, valid_from=now,
                            valid_until=valid_until, narrative=narrative, evidence_urls=urls, hidden=False,
                            show_recipient_name=False)
    slot = issuing.statuses.draw() if issuing.statuses is not None else None
    if slot is not None:
        # A reserved index: the credential, its entry and its claim link go in one flush (no UPDATE
        # of the signed document). The index was checked free in this transaction (see
        # ``status_lists.Reservation`` for a concurrent writer on PostgreSQL).
        status_list, index = slot
        entry = status_lists.status_entry(status_lists.list_url(status_list.id), index, STATUS_PURPOSE)
    else:
        session.add(credential)
        session.flush()
        entry = issuing.status_entry(session, credential.id)
    evidence_items = ([{"narrative": narrative}] if narrative else []) + [{"id": url} for url in urls]
    issuer, achieved = issuing.issuer, issuing.achieved
    try:
        unsigned = build_credential(
            issuer={"id": issuer["id"], "name": issuer["name"]},
            achievement={"id": achieved["id"], "name": achieved["name"],
                         "description": achieved["description"], "criteria_narrative": "-"},
            valid_from=now, valid_until=valid_until, credential_id=f"urn:uuid:{credential.id}", email=email,
            salt=credential.recipient_salt, credential_status=entry, evidence=evidence_items, awarded_date=now)
        # The organisation's own documents (org-core builds and checks them), in place of the stand-ins.
        unsigned["issuer"], unsigned["credentialSubject"]["achievement"] = issuer, achieved
        if recipient_name:
            unsigned["credentialSubject"]["identifier"].append(name_identity(recipient_name,
                                                                             credential.recipient_salt))
        credential.document = sign_credential(unsigned, issuing.key, created=now, memo=issuing.memo,
                                              canonizer=issuing.canonizer)
    except InvalidValue as exc:
        raise _not_signable(exc) from None
    if slot is not None:
        session.add(credential)
        session.add(StatusEntry(id=uuid.uuid4(), status_list_id=slot[0].id, list_index=slot[1],
                                credential_id=credential.id))

    if issuing.recipients is not None:
        recipient = issuing.recipients.get(email)
    else:
        recipient = session.scalars(select(User).where(User.email == email,
                                                       User.email_verified_at.is_not(None))).first()
    raw = None
    if recipient is not None and recipient.portfolio is not None:
        credential.portfolio_id = recipient.portfolio.id
    else:
        recipient = None
        raw = secrets.token_urlsafe(32)
        session.add(ClaimToken(id=uuid.uuid4(), credential_id=credential.id, token_hash=hash_token(raw),
                               created_at=now, expires_at=now + CLAIM_TTL))
    session.flush()
    return Awarded(credential, recipient, raw)


# --- revocation and suspension ------------------------------------------------------------------

def _check_acting(actor, credential: Credential) -> None:
    check_may_issue(actor, credential.organisation)


def revoke(session: Session, actor, credential: Credential, reason: str) -> None:
    """Revoke for good (a reason is required); the revocation list is re-signed at once."""
    _check_acting(actor, credential)
    reason = _text(reason, "reason", REASON_MAX)
    if not reason:
        raise _invalid("reason", _l("Give the reason for the revocation."))
    if credential.revoked_at is not None:
        raise Conflict(str(_l("This credential is already revoked.")), code="already_revoked")
    credential.revoked_at = utcnow()
    credential.revocation_reason = reason
    session.flush()
    status_lists.publish_for(session, credential, "revocation")


def suspend(session: Session, actor, credential: Credential, reason: str | None = None) -> None:
    """Suspend until ``unsuspend``; a revoked credential cannot be suspended.

    Shown by Sillage's pages and API only: the signed credential carries no suspension entry (OB 3.0
    allows one ``credentialStatus``; 1EdTech/openbadges-specification#623), so other verifiers do not
    see it. See the module docstring."""
    _check_acting(actor, credential)
    reason = _text(reason, "reason", REASON_MAX)
    if credential.revoked_at is not None:
        raise Conflict(str(_l("This credential is revoked.")), code="already_revoked")
    if credential.suspended_at is not None:
        raise Conflict(str(_l("This credential is already suspended.")), code="already_suspended")
    credential.suspended_at = utcnow()
    credential.suspension_reason = reason
    session.flush()
    status_lists.publish_for(session, credential, "suspension")


def unsuspend(session: Session, actor, credential: Credential) -> None:
    _check_acting(actor, credential)
    if credential.suspended_at is None:
        raise Conflict(str(_l("This credential is not suspended.")), code="not_suspended")
    credential.suspended_at = None
    credential.suspension_reason = None
    session.flush()
    status_lists.publish_for(session, credential, "suspension")


# --- lookups --------------------------------------------------------------------------------------

def get(session: Session, credential_id) -> Credential | None:
    """Any credential by its public id (the public page shows every issued credential)."""
    key = parse_id(credential_id)
    return session.get(Credential, key) if key is not None else None


def get_for_issuer(session: Session, actor, credential_id) -> Credential:
    """A credential the actor may manage; another organisation's answers ``not_found`` (no leak)."""
    credential = get(session, credential_id)
    if credential is None or actor is None or not orgs.may_issue(actor, credential.organisation):
        raise NotFound(str(_l("No such credential.")))
    return credential


def issued(session: Session, organisation, *, limit: int = 200, offset: int = 0) -> list[Credential]:
    return list(session.scalars(select(Credential).where(Credential.organisation_id == organisation.id)
                                .order_by(Credential.issued_at.desc(), Credential.id)
                                .limit(limit).offset(offset)))


def owned(session: Session, user: User, *, include_hidden: bool = True) -> list[Credential]:
    """The credentials in ``user``'s portfolio, newest first."""
    portfolio = user.portfolio
    if portfolio is None:
        return []
    query = select(Credential).where(Credential.portfolio_id == portfolio.id)
    if not include_hidden:
        query = query.where(Credential.hidden.is_(False))
    return list(session.scalars(query.order_by(Credential.issued_at.desc(), Credential.id)))


def get_owned(session: Session, user: User, credential_id) -> Credential:
    credential = get(session, credential_id)
    portfolio = getattr(user, "portfolio", None)
    if credential is None or portfolio is None or credential.portfolio_id != portfolio.id:
        raise NotFound(str(_l("No such credential.")))
    return credential


def set_visibility(session: Session, user: User, credential: Credential, *, hidden: bool | None = None,
                   show_name: bool | None = None) -> None:
    """The owner hides a credential from their portfolio, or lets its public page show their name."""
    if credential.portfolio_id is None or credential.portfolio_id != getattr(user.portfolio, "id", None):
        raise NotFound(str(_l("No such credential.")))
    if hidden is not None:
        credential.hidden = bool(hidden)
    if show_name is not None:
        credential.show_recipient_name = bool(show_name)
    session.flush()


# --- delivery -------------------------------------------------------------------------------------

def deliver_pending(session: Session, user: User) -> int:
    """Attach to ``user``'s portfolio every undelivered credential awarded to their (verified) address."""
    if not user.is_verified or user.portfolio is None:
        return 0
    result = session.execute(update(Credential)
                             .where(Credential.recipient_email == user.email, Credential.portfolio_id.is_(None))
                             .values(portfolio_id=user.portfolio.id).execution_options(synchronize_session=False))
    session.flush()
    return result.rowcount or 0


def _claim_token(session: Session, raw) -> ClaimToken:
    if not isinstance(raw, str) or not raw or len(raw) > 200:
        raise ServiceError(str(_l("This link is not valid or has expired.")), code="invalid_token")
    token = session.scalars(select(ClaimToken).where(ClaimToken.token_hash == hash_token(raw))).first()
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        raise ServiceError(str(_l("This link is not valid or has expired.")), code="invalid_token")
    return token


def peek_claim(session: Session, raw) -> Credential:
    return _claim_token(session, raw).credential


def claim(session: Session, user: User, raw) -> Credential:
    """Put the credential of a claim link in ``user``'s portfolio (the link proves the mailbox)."""
    token = _claim_token(session, raw)
    credential = token.credential
    if credential.portfolio_id is not None and credential.portfolio_id != user.portfolio.id:
        raise ServiceError(str(_l("This link is not valid or has expired.")), code="invalid_token")
    used = session.execute(update(ClaimToken).where(ClaimToken.id == token.id, ClaimToken.used_at.is_(None))
                           .values(used_at=utcnow()).execution_options(synchronize_session=False))
    if used.rowcount != 1:
        raise ServiceError(str(_l("This link is not valid or has expired.")), code="invalid_token")
    credential.portfolio_id = user.portfolio.id
    session.flush()
    return credential


def recipient_portfolio(session: Session, credential: Credential) -> Portfolio | None:
    return session.get(Portfolio, credential.portfolio_id) if credential.portfolio_id else None
