"""The backpack: bring badges earned elsewhere into the portfolio, verified, and keep them as issued.

Accepted: a baked PNG or SVG (OB 2.0 or OB 3.0, ``badges.bake`` unbakes it), OB 3.0 JSON secured with a
Data Integrity proof, an OB 3.0 VC-JWT (compact JWS), an OB 2.0 assertion (JSON, or its hosted URL,
fetched through the SSRF-guarded ``fetch``), and a CLR 2.0 ``ClrCredential``, whose included credentials
each become an entry (``clr-member``) while the CLR itself is verified too and its verdict kept beside
them (``bundle``). Reading is ``badges.read``'s; verifying is the one verifier's (``badges.verify``).

What is refused, with a stable code and a message a person can act on: anything that is not an Open
Badge (a plain image, a PDF, a non-badge verifiable credential: ``not_a_badge`` and ``badges.errors``'
codes), a URL that the guard refuses (``fetch_refused``: private addresses, plain http, redirects), an
empty CLR, more than ``MAX_ENTRIES`` badges in one portfolio.

A credential that reads but does not verify (a forged or tampered one, or one whose issuer's key or
hosted assertion cannot be reached today) is **refused unless the owner confirms** after seeing the
verifier's reasons (``accept_unverified=True``: the page's "Keep it anyway" button, the API's
``accept_unverified``). Why not refuse outright: an issuer's server that is gone makes a genuine badge
unverifiable, and it is still the person's. Why not keep silently: a forged badge must never look like
the others. A kept one shows its failing verdict everywhere it appears (section, pages, CVs) and can be
checked again at any time (``recheck``).

Importing the same badge twice never duplicates it: ``fingerprint`` is a SHA-256 of the credential's
content without its proof (so the same OB 3.0 credential as a baked PNG, as JSON or inside a CLR is one
entry) or, for OB 2.0, of its hosted assertion URL; it is unique per portfolio. Services flush, never commit.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models import User
from app.models.backpack import ExternalCredential, ExternalCredentialLink
from app.models.credentials import Credential
from app.models.received import VerificationVerdict
from app.policy import parse_id
from app.services import received
from app.services.errors import NotFound, ServiceError
from badges import images
from badges import read as reading
from badges import summary
from badges.bake import image_format
from badges.errors import BadgeError
from badges.fetch import json_fetcher
from badges.formats import as_list, looks_like_jws
from badges.identity import hash_matches
from badges.verify import verify
from certs.errors import CertsError
from certs.proofs import parse_datetime

Fetch = Callable[[str], Any]

MAX_ENTRIES = 500  # badges per portfolio: far above a person's collection, bounds the stored images
MAX_IMAGE = 5 * 1024 * 1024  # the verifier's own limit for a baked image
MAX_CLR_MEMBERS = 200
CLR_TYPE = "ClrCredential"
ENVELOPED = "EnvelopedVerifiableCredential"
FORMAT_OF = {reading.OB3_CREDENTIAL: "ob3-di", reading.OB3_JWT: "ob3-jwt",
             reading.OB2_ASSERTION: "ob2", reading.OB2_SIGNED: "ob2"}


class NotVerified(ServiceError):
    """A badge that does not verify, offered without ``accept_unverified``: nothing was stored."""

    status = 422
    code = "credential_not_verified"


class NotTheRecipient(NotVerified):
    """A badge that names another person, offered without ``accept_unverified``: nothing was stored. A
    subclass of ``NotVerified`` because it is answered the same way (the owner may confirm and keep it,
    then shown as issued to another person), with its own code."""

    code = "recipient_not_you"


@dataclass
class Candidate:
    """One badge as read and verified, before (or instead of) being stored: what ``preview`` shows."""

    format: str
    original: bytes
    document: dict
    fingerprint: str
    result: dict  # the verifier's answer (verified, checks, errors, warnings, verdict, credential)
    issuer_name: str = ""
    issuer_id: str | None = None
    achievement_name: str = ""
    achievement_description: str | None = None
    achievement_image: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    image: bytes | None = None
    image_type: str | None = None
    source_url: str | None = None
    filename: str | None = None
    bundle: dict | None = None
    recipient: str | None = None  # "you", "someone_else", or None (the badge names no e-mail)
    existing: ExternalCredential | None = None
    issued_here: Credential | None = None  # the owner's own credential issued by this platform: not added
    warnings: list = field(default_factory=list)

    @property
    def status(self) -> str:
        return str((self.result.get("verdict") or {}).get("status") or summary.NOT_VERIFIED)

    @property
    def reason(self) -> str | None:
        return (self.result.get("verdict") or {}).get("reason")

    @property
    def is_new(self) -> bool:
        """``add`` would store it: neither in the backpack already nor the owner's own credential issued here."""
        return self.existing is None and self.issued_here is None

    @property
    def verified(self) -> bool:
        return self.status != summary.NOT_VERIFIED


# --- reading --------------------------------------------------------------------------------------------

def default_fetch() -> Fetch:
    """The verifier's SSRF-guarded fetch (loopback only where the instance allows it, for local demos)."""
    return json_fetcher(allow_loopback=bool(current_app.config.get("VERIFY_ALLOW_LOOPBACK")))


def _refused(error: BadgeError | Exception) -> ServiceError:
    code = getattr(error, "code", None) or "invalid_credential"
    message = {
        "no_badge": _l("This image holds no badge: it was not baked with one."),
        "unsupported_image": _l("This file is neither a badge image (PNG, SVG) nor badge JSON."),
        "unsupported_document": _l("This is not an Open Badge nor a verifiable credential."),
        "too_large": _l("This file is too large for a badge."),
        "fetch_refused": _l("Sillage does not fetch that address (only public https addresses are allowed)."),
        "fetch_failed": _l("The badge could not be fetched from that address."),
        "fetch_timeout": _l("The badge's server did not answer in time."),
        "fetch_required": _l("Give the badge file, or its https address."),
    }.get(code, _l("This is not a readable badge."))
    return ServiceError(str(message), code=code, status=422)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(fmt: str, document: dict) -> str:
    """A SHA-256 of what makes the badge this badge: an OB 2.0 assertion's hosted URL (the hosted copy
    is the authority, embedded copies vary), else the credential's content without its proof (the
    same credential baked, as JSON or inside a CLR is one; a re-signed copy too)."""
    if fmt == "ob2" and isinstance(document.get("id"), str) and document["id"].startswith("https://"):
        basis = "ob2:" + document["id"]
    else:
        basis = _canonical({k: v for k, v in document.items() if k != "proof"})
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    text = value if "T" in value else value + "T00:00:00Z"
    try:
        return parse_datetime(text)[0].astimezone(timezone.utc)
    except CertsError:
        return None


def _recipient(said: dict, email: str) -> str | None:
    """``you`` when one of the badge's e-mail identities is ``email`` (OB 2.0 ``recipient`` of type
    ``email``; OB 3.0 ``identifier`` of ``identityType`` ``emailAddress``; hashed ``sha256$``/``md5$`` with
    their salt, or plain), ``someone_else`` when it names e-mail addresses and none is, None when it names
    none (a DID, a URL, a telephone number, a student id: nothing Sillage can compare)."""
    identifiers = (said.get("recipient") or {}).get("identifiers") or []
    emails = [i for i in identifiers if (i.get("type") or "").lower() in ("emailaddress", "email")]
    if not emails or not email:
        return None
    for item in emails:
        if item.get("hashed") and hash_matches(item.get("hash") or "", email, item.get("salt")):
            return "you"
        if not item.get("hashed") and (item.get("value") or "").strip().lower() == email.strip().lower():
            return "you"
    return "someone_else"


def _candidate(fmt: str, badge: reading.BadgeDocument, fetch: Fetch, email: str, locale: str) -> Candidate:
    """Verify one badge and read what it says (from the verifier's summary: for OB 2.0 it holds the badge
    class and issuer the verifier fetched)."""
    result = verify(badge.raw, fetch=fetch, locale=locale)
    said = result.get("credential") or summary.summarise(badge.document, locale) or {}
    issuer = said.get("issuer") or {}
    achievement = said.get("achievement") or {}
    image = achievement.get("image") or said.get("image") or {}
    dates = said.get("dates") or {}
    return Candidate(
        format=fmt, original=badge.raw.encode("utf-8"), document=badge.document,
        fingerprint=fingerprint(fmt, badge.document), result=result,
        issuer_name=(issuer.get("name") or issuer.get("id") or "")[:300], issuer_id=(issuer.get("id") or None),
        achievement_name=(achievement.get("name") or said.get("name") or "")[:300],
        achievement_description=achievement.get("description") or said.get("description"),
        achievement_image=image.get("data"),  # a remote image is not fetched: see read()
        issued_at=_moment(dates.get("awarded") or dates.get("valid_from")),
        expires_at=_moment(dates.get("valid_until")), source_url=badge.url,
        recipient=_recipient(said, email), warnings=list(badge.notes))


def _types(document: dict) -> set:
    return {t for t in as_list(document.get("type")) if isinstance(t, str)}


def _member_text(item: Any) -> str | None:
    """A CLR's included credential as text: embedded JSON, a compact JWS, or an enveloped VC-JWT."""
    if isinstance(item, str) and looks_like_jws(item.strip()):
        return item.strip()
    if isinstance(item, dict):
        if ENVELOPED in _types(item) and isinstance(item.get("id"), str) and "," in item["id"]:
            token = item["id"].split(",", 1)[1]
            return token if looks_like_jws(token) else None
        return json.dumps(item, ensure_ascii=False, separators=(",", ":"))
    return None


def _clr_members(clr: reading.BadgeDocument, fetch: Fetch, email: str, locale: str) -> list[Candidate]:
    subject = clr.document.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    members = as_list(subject.get("verifiableCredential")) if isinstance(subject, dict) else []
    if not members:
        raise ServiceError(str(_l("This CLR holds no credential.")), code="empty_clr", status=422)
    if len(members) > MAX_CLR_MEMBERS:
        raise ServiceError(str(_l("This CLR holds more than %(n)d credentials.", n=MAX_CLR_MEMBERS)),
                           code="too_large", status=422)
    result = verify(clr.raw, fetch=fetch, locale=locale)
    said = result.get("credential") or {}
    bundle = {"id": clr.document.get("id") if isinstance(clr.document.get("id"), str) else None,
              "name": said.get("name"), "issuer": (said.get("issuer") or {}).get("name"),
              "fingerprint": fingerprint("clr", clr.document),
              "status": (result.get("verdict") or {}).get("status"),
              "reason": (result.get("verdict") or {}).get("reason")}
    found: dict[str, Candidate] = {}
    for item in members:
        text = _member_text(item)
        try:
            badge = reading.read_text(text) if text else None
        except BadgeError:
            badge = None
        if badge is None or badge.version != "3.0":
            raise ServiceError(str(_l("This CLR includes something that is not an Open Badges 3.0 credential.")),
                               code="unsupported_document", status=422)
        candidate = _candidate("clr-member", badge, fetch, email, locale)
        candidate.bundle = bundle
        found.setdefault(candidate.fingerprint, candidate)
    return list(found.values())


def page_url(badge_id) -> str:
    """The badge's public page, absolute from ``SILLAGE_BASE_URL`` like ``awarding.credential_url``: CVs,
    JSON Resume and exports are also built by jobs and the command line, where no request exists."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/backpack/{badge_id}"


def read(payload: bytes | str | None = None, *, filename: str | None = None, url: str | None = None,
         fetch: Fetch | None = None, email: str = "", locale: str = "en") -> list[Candidate]:
    """Read and verify what was given (a file's bytes, or a URL); store nothing. Raises ServiceError."""
    fetch = fetch or default_fetch()
    image = image_type = None
    try:
        if url:
            badge = reading.read_url(url.strip(), fetch)
        elif payload:
            if isinstance(payload, (bytes, bytearray)):
                try:
                    image_type = {"png": "image/png", "svg": "image/svg+xml"}[image_format(bytes(payload))]
                    image = bytes(payload)
                except BadgeError:
                    image_type = None
            if image is not None and len(image) > MAX_IMAGE:
                raise BadgeError("too_large", "the image is larger than 5 MB")
            badge = reading.read_badge(payload, fetch)
        else:
            raise ServiceError(str(_l("Choose a badge file, or give its address.")), code="empty_file", status=422)
    except BadgeError as exc:
        raise _refused(exc) from None
    if CLR_TYPE in _types(badge.document):
        found = _clr_members(badge, fetch, email, locale)
    else:
        fmt = FORMAT_OF.get(badge.kind)
        if fmt is None:
            raise ServiceError(str(_l("This verifiable credential is not an Open Badge: the backpack keeps "
                                      "Open Badges and CLRs only.")), code="not_a_badge", status=422)
        found = [_candidate(fmt, badge, fetch, email, locale)]
    for candidate in found:
        candidate.filename = (filename or "")[:255] or None
        if candidate.format != "clr-member":
            candidate.image, candidate.image_type = image, image_type
        # What pages show: a PNG Sillage re-encoded (or a sanitised SVG) as a data: URI, from the
        # credential's own data: image or the uploaded baked image. A remote image URL is not fetched:
        # showing it would tell its host who looks at the portfolio, and importing needs no such fetch.
        ref = {"data": candidate.achievement_image} if candidate.achievement_image else None
        candidate.achievement_image = images.display_image(ref, fallback=candidate.image)
        candidate.source_url = candidate.source_url or (url.strip()[:2048] if url else None)
    return found


def preview(session: Session, user: User, payload: bytes | str | None = None, *, filename: str | None = None,
            url: str | None = None, fetch: Fetch | None = None, locale: str = "en") -> list[Candidate]:
    """What ``add`` would store, verified, each marked with the entry it duplicates (``existing``)."""
    found = read(payload, filename=filename, url=url, fetch=fetch, email=user.email, locale=locale)
    portfolio = user.portfolio
    if portfolio is None:
        raise NotFound(str(_l("No portfolio.")))
    stored = {row.fingerprint: row for row in session.scalars(select(ExternalCredential).where(
        ExternalCredential.portfolio_id == portfolio.id,
        ExternalCredential.fingerprint.in_([c.fingerprint for c in found])))}
    for candidate in found:
        candidate.existing = stored.get(candidate.fingerprint)
        candidate.issued_here = _issued_here(session, portfolio.id, candidate.document)
    return found


def _issued_here(session: Session, portfolio_id, document: dict) -> Credential | None:
    """The owner's own credential awarded on this platform that ``document`` is (``urn:uuid:<its id>``):
    it is already in their Credentials section, so bringing it back (a re-imported export) adds nothing."""
    value = document.get("id") if isinstance(document.get("id"), str) else ""
    key = parse_id(value[len("urn:uuid:"):]) if value.startswith("urn:uuid:") else None
    found = session.get(Credential, key) if key is not None else None
    return found if found is not None and found.portfolio_id == portfolio_id else None


def add(session: Session, user: User, payload: bytes | str | None = None, *, filename: str | None = None,
        url: str | None = None, fetch: Fetch | None = None, accept_unverified: bool = False,
        locale: str = "en", candidates: list[Candidate] | None = None) -> list[ExternalCredential]:
    """Read, verify and store the badges given; returns their entries (a badge already in the backpack
    comes back as its existing entry, unchanged; the owner's own credential issued here is left out: it
    is in their Credentials section already). ``candidates`` (from ``preview``) skips reading again.

    Raises ``NotVerified`` (422 ``credential_not_verified``) when a new badge does not verify and
    ``accept_unverified`` is not set: then nothing is stored, not even the badges that verified. The same
    for a badge issued to another e-mail address (422 ``recipient_not_you``): the issuer's signature says
    who issued it, not who holds it, and anyone can download another person's public badge. Kept with
    ``accept_unverified`` (the owner's other address, say), it is shown as issued to another person.
    """
    found = candidates if candidates is not None else preview(
        session, user, payload, filename=filename, url=url, fetch=fetch, locale=locale)
    new = [c for c in found if c.is_new]
    failing = [c for c in new if not c.verified]
    if failing and not accept_unverified:
        names = ", ".join(c.achievement_name or "?" for c in failing[:5])
        raise NotVerified(str(_l("This badge does not verify (%(names)s): keep it only if you know why, "
                                 "it will be shown as not verified.", names=names)),
                          fields={"reason": str(failing[0].reason or "")})
    others = [c for c in new if c.recipient == "someone_else"]
    if others and not accept_unverified:
        names = ", ".join(c.achievement_name or "?" for c in others[:5])
        raise NotTheRecipient(str(_l("This badge was issued to another e-mail address than your account's "
                                     "(%(names)s): keep it only if that address is yours, it will be shown as "
                                     "issued to another person.", names=names)),
                              fields={"reason": "recipient_not_you"})
    portfolio = user.portfolio
    count = session.scalar(select(func.count()).select_from(ExternalCredential).where(
        ExternalCredential.portfolio_id == portfolio.id))
    if count + len(new) > MAX_ENTRIES:
        raise ServiceError(str(_l("Your backpack holds at most %(n)d badges.", n=MAX_ENTRIES)),
                           code="backpack_full", status=422)
    rows = []
    for candidate in found:
        if candidate.issued_here is None:
            rows.append(candidate.existing or _store(session, portfolio.id, candidate))
    session.flush()
    return rows


def _store(session: Session, portfolio_id, c: Candidate) -> ExternalCredential:
    row = ExternalCredential(
        id=uuid.uuid4(), portfolio_id=portfolio_id, format=c.format, original=c.original, document=c.document,
        image=c.image, image_type=c.image_type, source_url=c.source_url, filename=c.filename,
        issuer_name=c.issuer_name, issuer_id=(c.issuer_id or None) and c.issuer_id[:2048],
        achievement_name=c.achievement_name, achievement_description=c.achievement_description,
        achievement_image=c.achievement_image, issued_at=c.issued_at, expires_at=c.expires_at,
        fingerprint=c.fingerprint, bundle=c.bundle, hidden=False, recipient=c.recipient, created_at=utcnow())
    try:
        with session.begin_nested():  # the same badge added twice at once: the second finds the first
            session.add(row)
    except IntegrityError:
        return session.scalars(select(ExternalCredential).where(
            ExternalCredential.portfolio_id == portfolio_id,
            ExternalCredential.fingerprint == c.fingerprint)).one()
    received.record_verdict(session, "external", row.id, c.result)
    return row


# --- the owner's entries --------------------------------------------------------------------------------

def owned(session: Session, user: User, *, include_hidden: bool = True) -> list[ExternalCredential]:
    portfolio = user.portfolio
    if portfolio is None:
        return []
    query = select(ExternalCredential).where(ExternalCredential.portfolio_id == portfolio.id)
    if not include_hidden:
        query = query.where(ExternalCredential.hidden.is_(False))
    return list(session.scalars(query.order_by(ExternalCredential.created_at.desc(), ExternalCredential.id)))


def get(session: Session, user: User, entry_id) -> ExternalCredential:
    """One of ``user``'s external badges; another person's or an unknown id is ``NotFound``."""
    key = parse_id(entry_id)
    row = session.get(ExternalCredential, key) if key is not None else None
    portfolio = user.portfolio
    if row is None or portfolio is None or row.portfolio_id != portfolio.id:
        raise NotFound(str(_l("No such badge.")))
    return row


def verdict(session: Session, row: ExternalCredential) -> VerificationVerdict | None:
    return session.scalars(select(VerificationVerdict).where(
        VerificationVerdict.subject_kind == "external", VerificationVerdict.subject_id == row.id)).first()


def verdicts(session: Session, portfolio_id) -> dict:
    """The cached verdicts of a portfolio's badges, by badge id (one query, for CVs and pages)."""
    return {v.subject_id: v for v in session.scalars(select(VerificationVerdict).join(
        ExternalCredential, ExternalCredential.id == VerificationVerdict.subject_id).where(
        VerificationVerdict.subject_kind == "external", ExternalCredential.portfolio_id == portfolio_id))}


def recheck(session: Session, row: ExternalCredential, fetch: Fetch | None = None, *,
            locale: str = "en") -> VerificationVerdict:
    """Run the verifier again on the badge as it was imported, and keep the new verdict."""
    result = verify(row.original, fetch=fetch or default_fetch(), locale=locale)
    return received.record_verdict(session, "external", row.id, result)


def set_hidden(session: Session, user: User, row: ExternalCredential, hidden: bool) -> None:
    """Hidden: left out of the portfolio, its pages and CVs (and its public page answers 404)."""
    get(session, user, row.id)
    row.hidden = bool(hidden)
    session.flush()


def delete(session: Session, user: User, row: ExternalCredential) -> None:
    """The badge, its links and its cached verdict go (pages and CVs that showed it skip it)."""
    get(session, user, row.id)
    found = verdict(session, row)
    if found is not None:
        session.delete(found)
    session.delete(row)
    session.flush()


def erase(session: Session, portfolio_id) -> int:
    """Everything the backpack holds for a portfolio, for account deletion: the badges, their links, and
    their cached verdicts (which a portfolio's cascade does not reach: the verdict table serves several
    kinds and has no foreign key). Each badge leaves a tombstone (``erasure.public_id_digest``, the same
    table as share links and attestations) so that ``/backpack/<id>``, cited by CVs, pages and exports,
    answers 410 like the person's other public pages. Returns the number of badges deleted."""
    from app.models.exports import ErasedToken  # noqa: PLC0415 - erasure imports this module's callers
    from app.services.erasure import public_id_digest  # noqa: PLC0415

    ids = list(session.scalars(select(ExternalCredential.id)
                               .where(ExternalCredential.portfolio_id == portfolio_id)))
    for badge_id in ids:
        session.merge(ErasedToken(token_digest=public_id_digest(badge_id)))
    if ids:
        session.execute(sql_delete(VerificationVerdict).where(VerificationVerdict.subject_kind == "external",
                                                          VerificationVerdict.subject_id.in_(ids)))
        session.execute(sql_delete(ExternalCredentialLink)
                        .where(ExternalCredentialLink.portfolio_id == portfolio_id))
        session.execute(sql_delete(ExternalCredential).where(ExternalCredential.portfolio_id == portfolio_id))
    session.flush()
    return len(ids)


def state(row: ExternalCredential, found: VerificationVerdict | None = None) -> str:
    """active, expired, revoked or suspended: the dates it states, and what the last verdict found."""
    reason = found.reason if found is not None else None
    if reason in ("revoked", "suspended"):
        return reason
    if row.expires_at is not None and row.expires_at <= utcnow():
        return "expired"
    return "active"


def download(row: ExternalCredential) -> tuple[bytes, str, str]:
    """(bytes, media type, extension) of the badge exactly as imported: the original JSON or JWS."""
    text = row.original.decode("utf-8", "replace")
    if row.format == "ob3-jwt" or (not text.startswith("{") and looks_like_jws(text)):
        return row.original, "application/vc+jwt", "jwt"
    return row.original, "application/json", "json"


# --- links to the items a badge proves ------------------------------------------------------------------

def link(session: Session, user: User, row: ExternalCredential, item_kind, item_id) -> ExternalCredentialLink:
    """Say that an external badge proves one of the owner's items (idempotent)."""
    get(session, user, row.id)
    return received.add_link(session, user, ExternalCredentialLink, "external_credential_id", row.id,
                             item_kind, item_id)


def unlink(session: Session, user: User, row: ExternalCredential, item_kind, item_id) -> None:
    get(session, user, row.id)
    received.remove_link(session, ExternalCredentialLink, "external_credential_id", row.id, item_kind, item_id,
                         _l("This badge is not linked to that item."))


def linked_to(session: Session, portfolio_id, *, include_hidden: bool = False) -> dict[tuple[str, str], list]:
    """The external badges linked to each item of a portfolio, keyed (kind, item id), oldest link first."""
    query = (select(ExternalCredentialLink.item_kind, ExternalCredentialLink.item_id, ExternalCredential)
             .join(ExternalCredential, ExternalCredential.id == ExternalCredentialLink.external_credential_id)
             .where(ExternalCredentialLink.portfolio_id == portfolio_id,
                    ExternalCredential.portfolio_id == portfolio_id)
             .order_by(ExternalCredentialLink.created_at, ExternalCredentialLink.id))
    if not include_hidden:
        query = query.where(ExternalCredential.hidden.is_(False))
    found: dict[tuple[str, str], list] = {}
    for kind, item_id, row in session.execute(query):
        found.setdefault((kind, str(item_id)), []).append(row)
    return found
