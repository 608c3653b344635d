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
  its own, a bulk award one per transaction of rows. The credential itself is built and signed by
  ``badges.awards.sign_award`` from checked plain values (``award_values``): the same function signs a
  single award here and a bulk award's rows in worker processes (``app.services.bulk_awards``).
- Delivery: if an account has that address *verified*, the credential lands in its portfolio at once.
  Otherwise a claim link is made (hashed, expiring); the credential lands when an account verifies the
  address (``deliver_pending``, called by e-mail verification and e-mail change) or when a signed-in
  person follows the link (``claim``: the link was sent to that mailbox, so following it proves it).
"""
from __future__ import annotations

import calendar
import dataclasses
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import policy
from app.database import utcnow
from app.models import Portfolio, User
from app.models.credentials import ClaimToken, Credential
from app.policy import parse_id
from app.services import accounts, achievements, orgs, status_lists
from app.services.errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from app.services.tokens import hash_token
from app.services.validation import CONTROL_CHARS, URL
from badges.awards import AwardValues, name_identity, sign_award  # noqa: F401 - name_identity: for callers
from badges.errors import InvalidValue
from badges.identity import new_salt
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
    achievement's documents. Valid for the transaction that prepared it (the key and the right are as
    they were when it began)."""

    achievement: object
    key: object
    issuer: dict
    achieved: dict
    # The verified accounts of the addresses about to be awarded, looked up together (a bulk award's
    # rows); None: each award looks its recipient up.
    recipients: dict | None = None
    memo: Memo = field(default_factory=Memo)  # the proof configuration, canonicalized once per second
    # A ``certs.shapes.ShapeCanonicalizer.canonize`` (same N-Quads as pyld, by template); None: pyld.
    canonizer: object = None

    def sign(self, values: AwardValues) -> dict:
        """The signed credential of ``values`` (``badges.awards.sign_award``, the bulk workers' too)."""
        try:
            return sign_award(self.issuer, self.achieved, values, self.key, memo=self.memo,
                              canonizer=self.canonizer)
        except InvalidValue as exc:
            raise _not_signable(exc) from None


def prepare_issuing(session: Session, actor, achievement) -> Issuing:
    """Check that ``actor`` may issue ``achievement`` and prepare what its awards share."""
    organisation = achievement.organisation
    check_may_issue(actor, organisation)
    try:
        issuer, achieved = orgs.issuer_profile(organisation), achievements.achievement_document(achievement)
    except InvalidValue as exc:
        raise _not_signable(exc) from None
    return Issuing(achievement, orgs.signing_key(session, organisation), issuer, achieved)


def _not_signable(exc: InvalidValue) -> ServiceError:
    return ServiceError(str(_l("This credential could not be signed: %(reason)s", reason=exc.message)),
                        code="not_signable", status=422)


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


def award_values(achievement, email: str, *, narrative: str | None = None,
                 evidence: Iterable[str] | str | None = (), now: datetime | None = None,
                 recipient_name: str | None = None, status: dict | None = None,
                 email_normalised: bool = False) -> AwardValues:
    """The checked values of one award, everything its signature covers but the status entry (given
    here, or added by the caller once drawn); raises ``ValidationFailed`` on bad input.
    ``email_normalised``: the address already went through ``accounts.normalise_email`` (a bulk
    award's rows, checked when the file was read), which costs about a millisecond."""
    recipient_name = _text(recipient_name, "recipient_name", 200)
    if not email_normalised:
        email = accounts.normalise_email(email, field="recipient")
    narrative = _text(narrative, "narrative", NARRATIVE_MAX)
    urls = _evidence(evidence)
    now = (now or utcnow()).replace(microsecond=0)
    months = getattr(achievement, "validity_months", None)
    return AwardValues(credential_id=str(uuid.uuid4()), email=email, salt=new_salt(), issued=now,
                       valid_until=add_months(now, months) if months else None, status=status,
                       narrative=narrative, evidence=tuple(urls), recipient_name=recipient_name)


def credential_row(actor, achievement, values: AwardValues, document: dict) -> dict:
    """The ``credentials`` row of a signed award (undelivered: ``deliver`` sets the portfolio)."""
    return {"id": uuid.UUID(values.credential_id), "organisation_id": achievement.organisation_id,
            "achievement_id": achievement.id, "document": document, "recipient_email": values.email,
            "recipient_salt": values.salt, "issued_by_id": getattr(actor, "id", None),
            "issued_at": values.issued, "valid_from": values.issued, "valid_until": values.valid_until,
            "narrative": values.narrative, "evidence_urls": list(values.evidence), "hidden": False,
            "show_recipient_name": False, "portfolio_id": None}


def claim_link(credential_id: uuid.UUID, now: datetime) -> tuple[str, dict]:
    """A new claim link of a credential: the raw token (for the mail only) and its ``claim_tokens`` row."""
    raw = secrets.token_urlsafe(32)
    return raw, {"id": uuid.uuid4(), "credential_id": credential_id, "token_hash": hash_token(raw),
                 "created_at": now, "expires_at": now + CLAIM_TTL, "used_at": None}


def award(session: Session, actor, achievement, email: str, *, narrative: str | None = None,
          evidence: Iterable[str] | str | None = (), now: datetime | None = None,
          recipient_name: str | None = None, issuing: Issuing | None = None) -> Awarded:
    """Issue ``achievement`` to the person at ``email``: a signed credential, delivered or claimable.

    ``recipient_name`` goes into the credential hashed (module docstring). ``issuing`` is what
    ``prepare_issuing(session, actor, achievement)`` returned in this transaction (a bulk award's rows
    share one); without it, this award prepares its own. A bulk award signs its rows elsewhere
    (``app.services.bulk_awards``) with the same ``award_values``, ``badges.awards.sign_award`` and rows."""
    if issuing is None or issuing.achievement is not achievement:
        issuing = prepare_issuing(session, actor, achievement)
    values = award_values(achievement, email, narrative=narrative, evidence=evidence, now=now,
                          recipient_name=recipient_name)
    credential = Credential(**credential_row(actor, achievement, values, {}))
    session.add(credential)
    session.flush()  # the status entry names the credential
    status = status_lists.allocate(session, achievement.organisation, credential.id, STATUS_PURPOSE)
    credential.document = issuing.sign(dataclasses.replace(values, status=status))

    if issuing.recipients is not None:
        recipient = issuing.recipients.get(values.email)
    else:
        recipient = session.scalars(select(User).where(User.email == values.email,
                                                       User.email_verified_at.is_not(None))).first()
    raw = None
    if recipient is not None and recipient.portfolio is not None:
        credential.portfolio_id = recipient.portfolio.id
    else:
        recipient = None
        raw, row = claim_link(credential.id, values.issued)
        session.add(ClaimToken(**row))
    session.flush()
    return Awarded(credential, recipient, raw)


# --- revocation and suspension ------------------------------------------------------------------

def _check_acting(actor, credential: Credential) -> None:
    check_may_issue(actor, credential.organisation)


def _check_revoking(actor, credential: Credential) -> None:
    """An open organisation revokes through its issuers (``check_may_issue``). A closed one issues and
    suspends nothing more, but what it issued must stay revocable (a credential found wrong later would
    otherwise count for good): its former admins, the platform admin and the operator may
    (``policy`` action ``revoke_closed``); its issuers and tokens may not."""
    organisation = credential.organisation
    if organisation.closed_at is None:
        check_may_issue(actor, organisation)
    elif actor is None or not policy.can(actor, "revoke_closed", organisation):
        raise Forbidden(str(_l("This organisation is closed: only its former admins and the platform "
                               "administrators may revoke what it issued.")), code="organisation_closed")


def may_revoke(actor, credential: Credential) -> bool:
    """Whether ``revoke`` would let ``actor`` revoke ``credential`` (pages show the form by it)."""
    try:
        _check_revoking(actor, credential)
    except Forbidden:
        return False
    return True


def _audit(session: Session, actor, credential: Credential, action: str, reason: str | None) -> None:
    """An organisation's act on one of its credentials, in the audit log (the reason; never the content)."""
    from app.services import audit

    audit.record(session, actor=actor, action=action, target_type="credential", target_id=credential.id,
                 organisation_id=credential.organisation_id, details={"reason": reason} if reason else {})


def revoke(session: Session, actor, credential: Credential, reason: str) -> None:
    """Revoke for good (a reason is required); the revocation list is re-signed at once, a closed
    organisation's too (``_check_revoking``)."""
    _check_revoking(actor, credential)
    reason = _text(reason, "reason", REASON_MAX)
    if not reason:
        raise _invalid("reason", _l("Give the reason for the revocation."))
    if credential.revoked_at is not None:
        raise Conflict(str(_l("This credential is already revoked.")), code="already_revoked")
    credential.revoked_at = utcnow()
    credential.revocation_reason = reason
    session.flush()
    _audit(session, actor, credential, "credential.revoke", reason)
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
    _audit(session, actor, credential, "credential.suspend", reason)
    status_lists.publish_for(session, credential, "suspension")


def unsuspend(session: Session, actor, credential: Credential) -> None:
    _check_acting(actor, credential)
    if credential.suspended_at is None:
        raise Conflict(str(_l("This credential is not suspended.")), code="not_suspended")
    credential.suspended_at = None
    credential.suspension_reason = None
    session.flush()
    _audit(session, actor, credential, "credential.unsuspend", None)
    status_lists.publish_for(session, credential, "suspension")


# --- lookups --------------------------------------------------------------------------------------

def get(session: Session, credential_id) -> Credential | None:
    """Any credential by its public id (the public page shows every issued credential)."""
    key = parse_id(credential_id)
    return session.get(Credential, key) if key is not None else None


def get_for_issuer(session: Session, actor, credential_id) -> Credential:
    """A credential the actor may manage (or, its organisation closed, revoke); another organisation's
    answers ``not_found`` (no leak). A member of a closed organisation who may not revoke is told why."""
    credential = get(session, credential_id)
    organisation = credential.organisation if credential is not None else None
    if actor is None or organisation is None:
        raise NotFound(str(_l("No such credential.")))
    if not (orgs.may_issue(actor, organisation) or policy.can(actor, "revoke_closed", organisation)):
        if organisation.closed_at is not None:
            orgs.check(actor, "revoke_closed", organisation)  # 404 to strangers, 403 to its members
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
