"""The owner's "Credentials" section: every signed document they received — credentials awarded by
organisations, confirmed attestations, endorsements of their skills and credentials — with the verifier's
verdict (cached), the owner's hide/unhide, and the links between a credential and the items it proves.

Why one list of ``Entry`` rather than three pages: the owner thinks "what others signed about me", not
in tables; the section, the API and the item pages all read this one service, so they agree.

The verdict is cached (``VerificationVerdict``): the verifier may take tens of milliseconds and fetch
other hosts' documents. ``check`` runs it and stores only the status, reason and error codes;
``stale`` says when a verdict is old enough to run again on the next view (``VERDICT_TTL``), and the
owner can re-check at any time. The cached verdict never replaces what the database knows for sure
(a revocation here shows at once through ``state``). Flushes, never commits.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable
from urllib.parse import urlencode

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models import Diploma, Experience, Skill, User
from app.models.attestations import AttestationRequest
from app.models.backpack import ExternalCredential, ExternalCredentialLink
from app.models.credentials import Credential
from app.models.received import LINKABLE_KINDS, VERDICT_KINDS, CredentialLink, VerificationVerdict
from app.policy import parse_id
from app.services import awarding, backpack
from app.services.errors import NotFound, ValidationFailed
from badges.verify import verify

VERDICT_TTL = timedelta(days=1)
ITEM_MODELS = {"experience": Experience, "diploma": Diploma, "skill": Skill}


@dataclass
class Entry:
    """One signed document of the section, in the words the page and the API need."""

    kind: str  # credential, attestation, endorsement, external (a badge earned elsewhere: app.services.backpack)
    id: uuid.UUID
    title: str
    issuer: str
    date: datetime
    state: str  # active, revoked, suspended, expired (attestations and endorsements: active)
    hidden: bool
    document: dict
    row: Any
    verdict: VerificationVerdict | None = None
    links: list = field(default_factory=list)  # [(kind, item)] for credentials

    @property
    def stale(self) -> bool:
        return self.verdict is None or self.verdict.checked_at <= utcnow() - VERDICT_TTL

    @property
    def public_path(self) -> str:
        return {"credential": "/credentials/", "attestation": "/attestations/",
                "endorsement": "/endorsements/", "external": "/backpack/"}[self.kind] + str(self.id)

    @property
    def public_url(self) -> str:
        return current_app.config["BASE_URL"].rstrip("/") + self.public_path

    @property
    def linkedin_url(self) -> str:
        """LinkedIn's "Add to profile" link (a certification, prefilled), as LinkedIn documents it."""
        return "https://www.linkedin.com/profile/add?" + urlencode({
            "startTask": "CERTIFICATION_NAME", "name": self.title[:200], "organizationName": self.issuer[:200],
            "issueYear": self.date.year, "issueMonth": self.date.month, "certUrl": self.public_url,
            "certId": str(self.id)})


def _signed_name(document: dict, fallback: str) -> str:
    subject = document.get("credentialSubject") if isinstance(document, dict) else None
    achieved = subject.get("achievement") if isinstance(subject, dict) else None
    name = achieved.get("name") if isinstance(achieved, dict) else None
    return name if isinstance(name, str) and name else fallback


def _credential_entry(c: Credential) -> Entry:
    return Entry("credential", c.id, _signed_name(c.document, c.achievement.name), c.organisation.name,
                 c.issued_at, c.state, c.hidden, c.document, c)


def _request_entry(r: AttestationRequest) -> Entry:
    issuer = r.signed_by_organisation.name if r.signed_by_organisation else r.referee_name
    title = (str(_l("Attestation: %(title)s", title=r.item_title)) if r.purpose == "attestation"
             else str(_l("Endorsement: %(title)s", title=r.item_title)))
    return Entry(r.purpose, r.id, title, issuer, r.decided_at, "active", r.hidden, r.document, r)


def _external_entry(row: ExternalCredential) -> Entry:
    """A badge earned elsewhere: its state is what its dates say until a verdict says more (_attach_verdicts)."""
    return Entry("external", row.id, row.achievement_name or str(_l("Badge")), row.issuer_name,
                 row.issued_at or row.created_at, backpack.state(row), row.hidden, row.document, row)


def entries(session: Session, user: User, *, include_hidden: bool = True) -> list[Entry]:
    """Credentials, confirmed attestations and endorsements received, and badges brought from elsewhere,
    newest first, with their verdicts."""
    portfolio = user.portfolio
    if portfolio is None:
        return []
    found = [_credential_entry(c) for c in awarding.owned(session, user)]
    requests = session.scalars(select(AttestationRequest).where(
        AttestationRequest.portfolio_id == portfolio.id, AttestationRequest.status == "confirmed",
        AttestationRequest.document.is_not(None)))
    found += [_request_entry(r) for r in requests]
    found += [_external_entry(row) for row in backpack.owned(session, user)]
    if not include_hidden:
        found = [e for e in found if not e.hidden]
    _attach_verdicts(session, found)
    _attach_links(session, [e for e in found if e.kind in ("credential", "external")])
    return sorted(found, key=lambda e: (e.date, str(e.id)), reverse=True)


def external_entries(session: Session, rows: list[ExternalCredential]) -> list[Entry]:
    """Badges earned elsewhere as entries with their cached verdicts and states, newest first, without
    their links (what a grant shows of them: ``app.services.grants.shared_items``)."""
    found = [_external_entry(row) for row in rows]
    _attach_verdicts(session, found)
    return sorted(found, key=lambda e: (e.date, str(e.id)), reverse=True)


def _attach_verdicts(session: Session, found: list[Entry]) -> None:
    if not found:
        return
    rows = session.scalars(select(VerificationVerdict).where(
        VerificationVerdict.subject_id.in_([e.id for e in found])))
    by_key = {(v.subject_kind, v.subject_id): v for v in rows}
    for entry in found:
        entry.verdict = by_key.get((entry.kind, entry.id))
        if entry.kind == "external":
            entry.state = backpack.state(entry.row, entry.verdict)


def _attach_links(session: Session, found: list[Entry]) -> None:
    if not found:
        return
    links = list(session.scalars(select(CredentialLink).where(
        CredentialLink.credential_id.in_([e.id for e in found if e.kind == "credential"]))
        .order_by(CredentialLink.created_at)))
    links += [_AnyLink(link.external_credential_id, link.item_kind, link.item_id) for link in session.scalars(
        select(ExternalCredentialLink).where(ExternalCredentialLink.external_credential_id.in_(
            [e.id for e in found if e.kind == "external"])).order_by(ExternalCredentialLink.created_at))]
    items = {}
    for kind, model in ITEM_MODELS.items():
        ids = [link.item_id for link in links if link.item_kind == kind]
        if ids:
            items.update({(kind, i.id): i for i in session.scalars(select(model).where(model.id.in_(ids)))})
    for entry in found:
        entry.links = [(link.item_kind, items[(link.item_kind, link.item_id)]) for link in links
                       if link.credential_id == entry.id and (link.item_kind, link.item_id) in items]


@dataclass(frozen=True)
class _AnyLink:
    credential_id: uuid.UUID
    item_kind: str
    item_id: uuid.UUID


def get(session: Session, user: User, kind, entry_id) -> Entry:
    """One entry of ``user``'s section; anything else (another person's, unknown kind) is ``NotFound``."""
    key = parse_id(entry_id)
    if kind not in VERDICT_KINDS or key is None:
        raise NotFound(str(_l("No such credential.")))
    match = _one(session, user, kind, key)
    if not match:
        raise NotFound(str(_l("No such credential.")))
    _attach_verdicts(session, match)
    _attach_links(session, [e for e in match if e.kind in ("credential", "external")])
    return match[0]


def _one(session: Session, user: User, kind: str, key: uuid.UUID) -> list[Entry]:
    portfolio = user.portfolio
    if portfolio is None:
        return []
    if kind == "credential":
        c = session.get(Credential, key)
        if c is None or c.portfolio_id != portfolio.id:
            return []
        return [_credential_entry(c)]
    if kind == "external":
        row = session.get(ExternalCredential, key)
        return [_external_entry(row)] if row is not None and row.portfolio_id == portfolio.id else []
    r = session.get(AttestationRequest, key)
    if r is None or r.portfolio_id != portfolio.id or r.purpose != kind or r.status != "confirmed" or not r.document:
        return []
    return [_request_entry(r)]


def set_hidden(session: Session, user: User, entry: Entry, hidden: bool) -> None:
    """Hide an entry from the portfolio (its public page stays reachable by whoever has the link)."""
    if entry.kind == "credential":
        awarding.set_visibility(session, user, entry.row, hidden=bool(hidden))
    elif entry.kind == "external":
        backpack.set_hidden(session, user, entry.row, bool(hidden))
    else:
        entry.row.hidden = bool(hidden)
    entry.hidden = bool(hidden)
    session.flush()


def check(session: Session, entry: Entry, fetch: Callable[[str], Any], *, locale: str = "en") -> VerificationVerdict:
    """Run the verifier on the entry's signed document and keep its verdict (replacing the older one).
    A badge from elsewhere is verified as it was imported (a VC-JWT as its JWS, not its decoded payload)."""
    if entry.kind == "external":
        entry.verdict = backpack.recheck(session, entry.row, fetch, locale=locale)
        entry.state = backpack.state(entry.row, entry.verdict)
        return entry.verdict
    result = verify(entry.document, fetch=fetch, locale=locale)
    entry.verdict = record_verdict(session, entry.kind, entry.id, result)
    return entry.verdict


def record_verdict(session: Session, kind: str, subject_id: uuid.UUID, result: dict) -> VerificationVerdict:
    """Keep the verdict of a verifier ``result`` for one subject (replacing the older one); the
    backpack's badges (kind ``external``) use it too, so there is one cache."""
    verdict = result.get("verdict") or {}
    codes = sorted({str(e.get("code")) for e in result.get("errors") or () if isinstance(e, dict)}
                   | {str(c.get("code") or c.get("name")) for c in result.get("checks") or ()
                      if isinstance(c, dict) and c.get("ok") is False})
    values = {"status": str(verdict.get("status") or "not_verified"), "reason": verdict.get("reason"),
              "error_codes": codes[:20], "checked_at": utcnow()}
    row = session.scalars(select(VerificationVerdict).where(VerificationVerdict.subject_kind == kind,
                                                            VerificationVerdict.subject_id == subject_id)).first()
    if row is None:
        try:
            with session.begin_nested():  # two re-checks at once: the second updates the first's row
                row = VerificationVerdict(id=uuid.uuid4(), subject_kind=kind, subject_id=subject_id, **values)
                session.add(row)
        except IntegrityError:
            row = session.scalars(select(VerificationVerdict).where(
                VerificationVerdict.subject_kind == kind, VerificationVerdict.subject_id == subject_id)).one()
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()
    return row


# --- links between a received credential and the items it proves -----------------------------------------

def owned_item(session: Session, user: User, kind, item_id):
    model, key = ITEM_MODELS.get(kind), parse_id(item_id)
    item = session.get(model, key) if model is not None and key is not None else None
    portfolio = user.portfolio
    if item is None or portfolio is None or item.portfolio_id != portfolio.id:
        raise NotFound(str(_l("No such item.")))
    return item


def link(session: Session, user: User, credential_id, item_kind, item_id) -> CredentialLink:
    """Say that a received credential proves one of the owner's items (idempotent)."""
    credential = awarding.get_owned(session, user, credential_id)
    return add_link(session, user, CredentialLink, "credential_id", credential.id, item_kind, item_id)


def unlink(session: Session, user: User, credential_id, item_kind, item_id) -> None:
    credential = awarding.get_owned(session, user, credential_id)
    remove_link(session, CredentialLink, "credential_id", credential.id, item_kind, item_id,
                _l("This credential is not linked to that item."))


def add_link(session: Session, user: User, model, column: str, credential_id, item_kind, item_id):
    """A row of ``model`` (``CredentialLink`` or the backpack's ``ExternalCredentialLink``, whose credential
    is ``column``) saying that the owner's credential ``credential_id``, already checked as theirs, proves
    one of their items; the existing row when there is one."""
    if item_kind not in LINKABLE_KINDS:
        raise ValidationFailed(str(_l("Some information is not valid.")),
                               fields={"item_kind": str(_l("Choose an experience, a diploma or a skill."))})
    item = owned_item(session, user, item_kind, item_id)
    existing = session.scalars(select(model).where(getattr(model, column) == credential_id,
                                                   model.item_kind == item_kind, model.item_id == item.id)).first()
    if existing is not None:
        return existing
    made = model(id=uuid.uuid4(), portfolio_id=user.portfolio.id, item_kind=item_kind, item_id=item.id,
                 created_at=utcnow(), **{column: credential_id})
    session.add(made)
    session.flush()
    return made


def remove_link(session: Session, model, column: str, credential_id, item_kind, item_id, missing) -> None:
    """Remove what ``add_link`` made; ``NotFound`` (``missing``) when there is no such link."""
    key = parse_id(item_id)
    found = session.scalars(select(model).where(
        getattr(model, column) == credential_id, model.item_kind == item_kind,
        model.item_id == key)).first() if key is not None else None
    if found is None:
        raise NotFound(str(missing))
    session.delete(found)
    session.flush()


def for_item(session: Session, kind: str, item) -> list[Entry]:
    """The credentials linked to one item, with their verdicts (the item's page shows them)."""
    credentials = list(session.scalars(select(Credential).join(
        CredentialLink, CredentialLink.credential_id == Credential.id).where(
        CredentialLink.item_kind == kind, CredentialLink.item_id == item.id,
        CredentialLink.portfolio_id == item.portfolio_id, Credential.portfolio_id == item.portfolio_id)
        .order_by(Credential.issued_at.desc())))
    found = [_credential_entry(c) for c in credentials]
    found += [_external_entry(row) for row in session.scalars(select(ExternalCredential).join(
        ExternalCredentialLink, ExternalCredentialLink.external_credential_id == ExternalCredential.id).where(
        ExternalCredentialLink.item_kind == kind, ExternalCredentialLink.item_id == item.id,
        ExternalCredential.portfolio_id == item.portfolio_id).order_by(ExternalCredential.issued_at.desc()))]
    _attach_verdicts(session, found)
    return found
