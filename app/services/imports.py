"""Import a file into the owner's portfolio: detect its format, preview, apply in one transaction.

``preview`` and ``apply`` read the file the same way (``app.importers.detect.read``) and build the same
plan: for every item, whether it is *new*, *already there* (never duplicated), or *not importable*
(with the reason, e.g. an experience without a start date). ``apply`` then creates the new items
through the ordinary services (``portfolio.create_item``, ``documents.store``/``link``, the backpack),
so every rule and limit of the pages applies, and records a fingerprint per created item
(``ImportFingerprint``). The caller commits once; any refusal on the way (quota, a damaged member found
late) raises and the caller rolls back: nothing is half-imported (stored blobs are removed with the
rollback, ``storage.delete_unless_committed``).

"Already there" means: an item of the same section whose content has the same fingerprint (title,
organisation and start date for an experience; name for a skill; title, body and so on: ``fingerprint``),
or an item made by an earlier import from a source item with this fingerprint (even if edited since).
Documents are matched by the SHA-256 of their content. The profile only fills fields that are empty:
an import never overwrites what the owner wrote.

A Sillage export restores everything an account holds for itself; its grants, grants received, share
links, attestation requests and access log are deliberately left out, counted in ``Plan.left_out`` and
explained (``LEFT_OUT_REASONS``) in the preview and the summary: they name other people or are bearer
secrets (the whole decision: ``app.importers.sillage_zip``).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.importers import Bundle, FileEntry, detect
from app.importers.safety import ImportRefused, Limits, refuse
from app.models import Diploma, Document, Experience, JournalEntry, Skill, User
from app.models.cvs import CvVariant
from app.models.imports import ImportFingerprint
from app.models.pages import Page
from app.models.portfolio import sort_key
from app import storage
from app.services import documents, photos, portfolio, vault_keys
from app.services.errors import ServiceError, ValidationFailed
from app.services.validation import clean
from certs import vault

MODELS = {"skills": Skill, "experiences": Experience, "diplomas": Diploma, "journal": JournalEntry}
ITEM_SECTIONS = ("skills", "experiences", "diplomas", "journal")
LINK_KINDS = {"experiences": "experience", "diplomas": "diploma", "skills": "skill"}
SHOWCASES = ("pages", "cvs")  # built from the items: imported last, their references pointed at the new items
REF_SECTIONS = {"experience": "experiences", "diploma": "diplomas", "skill": "skills", "document": "documents",
                "external": "credentials", "credential": "credentials"}
PREVIEW_ITEMS = 50  # items listed per section in a preview (all are counted)
# Why each section of a Sillage export that an import deliberately leaves out is not restored
# (``app.importers.sillage_zip``'s docstring gives the whole decision).
LEFT_OUT_REASONS = {
    "grants": _l("The people you shared your portfolio with: they accepted on your original account, and "
                 "nobody gets access to this one without your new decision. Share again from “Sharing”."),
    "grants_received": _l("The portfolios others shared with you: those shares are their owners' to give."),
    "share_links": _l("Share links are secrets that only your original account can answer: create new ones "
                      "for your imported pages and CVs."),
    "attestation_requests": _l("Requests name the people you asked, and their links were sent to them; the "
                               "signed attestations come back with your credentials."),
    "access_log": _l("It records who read your original portfolio; here it would tell of readings that "
                     "never happened. Your export file keeps it."),
}
LEFT_OUT_LABELS = {"grants": _l("Shares with other people"), "grants_received": _l("Portfolios shared with you"),
                   "share_links": _l("Share links"), "attestation_requests": _l("Attestation and endorsement requests"),
                   "access_log": _l("Access log")}
__all__ = ("ImportRefused", "Limits", "preview", "apply", "fingerprint")


def _norm(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(sort_key(str(value)).split())


def fingerprint(section: str, values: dict) -> str:
    """What makes two items "the same" for an import, as a SHA-256 hex digest."""
    if section == "skills":
        key = [_norm(values.get("name"))]
    elif section == "experiences":
        key = [_norm(values.get("title")), _norm(values.get("organisation")), _norm(values.get("start_date"))]
    elif section == "diplomas":
        key = [_norm(values.get("title")), _norm(values.get("awarding_body")), _norm(values.get("awarded_on"))]
    elif section == "journal":
        key = [_norm(values.get("title")), _norm(values.get("body"))]
    elif section == "documents":
        key = [values["sha256"]]
    elif section == "pages":
        key = [_norm(values.get("title")), _norm(values.get("headline"))]
    elif section == "cvs":
        key = [_norm(values.get("name")), _norm(values.get("target_text"))]
    else:
        raise ValueError(section)
    return hashlib.sha256(json.dumps([section, key], ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass
class Planned:
    section: str
    ref: str
    label: str
    status: str  # "new", "existing" or "invalid"
    reason: str = ""
    values: dict = field(default_factory=dict)
    fingerprint: str = ""
    target: object = None  # the existing item (status "existing"), or the first of a duplicate in the file
    source: FileEntry | None = None


@dataclass
class Plan:
    format: str
    items: list[Planned]
    profile: dict
    notes: list[str]
    credentials: list  # one row per badge: label, status, issuer, verdict, reason
    photo: bytes | None = None  # the profile photo to set (the account has none)
    left_out: dict = field(default_factory=dict)  # section -> count: deliberately not restored (Bundle.left_out)

    def counts(self) -> dict:
        counts = {section: {"new": 0, "existing": 0, "invalid": 0}
                  for section in (*ITEM_SECTIONS, "documents", *SHOWCASES)}
        for item in self.items:
            counts[item.section][item.status] += 1
        counts["profile"] = {"new": len(self.profile) + (self.photo is not None), "existing": 0, "invalid": 0}
        counts["credentials"] = {"new": sum(1 for c in self.credentials if c.get("status") == "new"),
                                 "existing": sum(1 for c in self.credentials if c.get("status") == "existing"),
                                 "invalid": sum(1 for c in self.credentials if c.get("status") == "invalid")}
        return counts

    def as_dict(self, limit: int = PREVIEW_ITEMS) -> dict:
        """The preview as the page, the API and the CLI show it."""
        sections = {}
        for section in (*ITEM_SECTIONS, "documents", *SHOWCASES):
            rows = [item for item in self.items if item.section == section]
            sections[section] = [{"label": item.label, "status": item.status,
                                  **({"reason": item.reason} if item.reason else {})} for item in rows[:limit]]
        profile = {**self.profile, **({"photo": True} if self.photo is not None else {})}
        left_out = [{"section": section, "count": count, "label": str(LEFT_OUT_LABELS[section]),
                     "reason": str(LEFT_OUT_REASONS[section])} for section, count in self.left_out.items()]
        return {"format": self.format, "counts": self.counts(), "profile": profile,
                "items": sections, "credentials": self.credentials[:limit], "notes": self.notes,
                "left_out": left_out}


def _label(section: str, values: dict) -> str:
    if section == "skills":
        return values.get("name") or ""
    title = values.get("title") or ""
    extra = values.get("organisation") or values.get("awarding_body") or ""
    when = values.get("start_date") or values.get("awarded_on")
    parts = [title, extra, when.isoformat() if isinstance(when, date) else (when or "")]
    return " · ".join(str(p) for p in parts if p)


def _service_values(section: str, item: dict) -> dict:
    """The item as ``portfolio.create_item`` takes it: the service's fields, dates as ISO text."""
    model = MODELS[section]
    values = {k: v for k, v in item.items() if k in portfolio.RULES[model] and k not in ("skill_ids",
                                                                                         "experience_ids")}
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def _moment(value) -> datetime | None:
    """An ISO 8601 time with its zone (``Z`` or an offset), as UTC; anything else is ``None``."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value.tzinfo else None
    try:
        moment = datetime.fromisoformat(str(value or ""))
    except ValueError:
        return None
    return moment.astimezone(timezone.utc) if moment.tzinfo else None


def _existing(session: Session, user: User) -> dict[str, dict[str, object]]:
    """For each section, fingerprint -> the owner's item it matches."""
    owner = portfolio.portfolio_of(user)
    found: dict[str, dict[str, object]] = {section: {} for section in (*ITEM_SECTIONS, "documents")}
    by_id: dict = {}
    for section, model in MODELS.items():
        for item in session.scalars(select(model).where(model.portfolio_id == owner.id)):
            values = {column: getattr(item, column) for column in portfolio.RULES[model]
                      if column not in ("skill_ids", "experience_ids")}
            found[section].setdefault(fingerprint(section, values), item)
            by_id[item.id] = item
    for document in session.scalars(select(Document).where(Document.portfolio_id == owner.id)):
        found["documents"].setdefault(fingerprint("documents", {"sha256": document.sha256}), document)
        by_id[document.id] = document
    found.update({section: {} for section in SHOWCASES})
    for page in session.scalars(select(Page).where(Page.portfolio_id == owner.id)):
        found["pages"].setdefault(fingerprint("pages", {"title": page.title, "headline": page.headline}), page)
        by_id[page.id] = page
    for cv in session.scalars(select(CvVariant).where(CvVariant.portfolio_id == owner.id)):
        found["cvs"].setdefault(fingerprint("cvs", {"name": cv.name, "target_text": cv.target_text}), cv)
        by_id[cv.id] = cv
    for row in session.scalars(select(ImportFingerprint).where(ImportFingerprint.portfolio_id == owner.id)):
        item = by_id.get(row.item_id)
        if item is not None:  # the item was deleted since: it counts for nothing
            found[row.section].setdefault(row.fingerprint, item)
    return found


def _digest(source: FileEntry) -> str:
    """The SHA-256 of a file to import, read (streamed) when the format does not give it."""
    if not source.sha256:
        digest = hashlib.sha256()
        for piece in source.chunks():
            digest.update(piece)
        source.sha256 = digest.hexdigest()
    return source.sha256


def _plan(session: Session, user: User, bundle: Bundle, *, strict: bool, fetch=None) -> Plan:
    existing = _existing(session, user)
    items: list[Planned] = []
    seen: dict[tuple[str, str], Planned] = {}
    for section in ITEM_SECTIONS:
        for item in getattr(bundle, section):
            values = _service_values(section, item)
            planned = Planned(section, str(item.get("ref", "")), _label(section, item), "new", values=values)
            try:
                clean(portfolio.RULES[MODELS[section]], values)
            except ValidationFailed as error:
                reason = "; ".join(f"{name}: {message}" for name, message in error.fields.items()) \
                    or error.message
                if strict:  # Sillage's own format: anything invalid means the file is not what it claims
                    raise refuse("invalid_format", _l("The export holds an item that is not valid (%(item)s: "
                                                      "%(reason)s).", item=planned.label[:100],
                                                      reason=reason[:300])) from None
                planned.status, planned.reason = "invalid", reason
                items.append(planned)
                continue
            planned.values = values
            planned.fingerprint = fingerprint(section, item)
            if planned.fingerprint in existing[section]:
                planned.status, planned.target = "existing", existing[section][planned.fingerprint]
            elif (section, planned.fingerprint) in seen:  # twice in the same file: one item
                planned.status, planned.target = "existing", seen[(section, planned.fingerprint)]
            else:
                seen[(section, planned.fingerprint)] = planned
            if section == "experiences":
                planned.values["skill_refs"] = list(item.get("skill_refs") or ())
            if section == "journal" and _moment(item.get("created_at")):
                planned.values["created_at"] = _moment(item.get("created_at"))
            items.append(planned)
    for source in bundle.documents:
        planned = Planned("documents", source.ref, source.name, "new", source=source)
        planned.fingerprint = fingerprint("documents", {"sha256": _digest(source)})
        if planned.fingerprint in existing["documents"]:
            planned.status, planned.target = "existing", existing["documents"][planned.fingerprint]
        elif ("documents", planned.fingerprint) in seen:
            planned.status, planned.target = "existing", seen[("documents", planned.fingerprint)]
        else:
            seen[("documents", planned.fingerprint)] = planned
        items.append(planned)
    for section in SHOWCASES:
        for data in getattr(bundle, section):
            values = {k: v for k, v in data.items() if k != "ref"}
            label = values.get("title") or values.get("name") or ""
            planned = Planned(section, str(data.get("ref", "")), label, "new", values=values,
                              fingerprint=fingerprint(section, values))
            if planned.fingerprint in existing[section]:
                planned.status, planned.target = "existing", existing[section][planned.fingerprint]
            items.append(planned)
    current = portfolio.portfolio_of(user)
    profile = {k: v for k, v in bundle.profile.items() if v and not getattr(current, k, None)}
    photo = bundle.photo if bundle.photo and not current.photo_key else None
    try:
        profile = clean(portfolio.PROFILE_RULES, profile, partial=True) if profile else {}
    except ValidationFailed as error:
        bundle.notes.append(str(_l("Some profile fields were left out: %(fields)s.",
                                   fields=", ".join(sorted(error.fields)))))
        profile = {k: v for k, v in profile.items() if k not in error.fields}
    plan = Plan(bundle.format, items, profile, list(bundle.notes), _credential_plan(session, user, bundle, fetch))
    plan.photo = photo
    plan.left_out = dict(bundle.left_out)
    return plan


def _backpack():
    try:
        from app.services import backpack  # noqa: PLC0415
    except ImportError:  # the backpack (issue 11) is not in this build
        return None
    return backpack


def _importable(candidate) -> bool:
    """An import adds a badge only when it verifies and does not name another person (an export of
    someone else's account holds their badges): the backpack's page can keep either, once the owner has
    seen why."""
    return candidate.verified and candidate.recipient != "someone_else"


def _candidate_row(candidate, filename: str) -> dict:
    status = "existing" if candidate.existing is not None else "new" if _importable(candidate) else "invalid"
    row = {"label": candidate.achievement_name or filename, "status": status,
           "issuer": candidate.issuer_name or "", "verdict": candidate.status}
    if status == "invalid":
        row["reason"] = str(_l("It was issued to another e-mail address than your account's.")
                            if candidate.verified else candidate.reason or _l("It does not verify."))
    return row


def _credential_plan(session: Session, user: User, bundle: Bundle, fetch=None) -> list[dict]:
    """One row per badge: new (verifies, not in the backpack yet), existing, or invalid (unreadable, does
    not verify, or names another person: an import never keeps such a badge; the backpack's own page can, once the
    owner has seen why it fails)."""
    if not bundle.credentials:
        return []
    backpack = _backpack()
    if backpack is None:
        return [{"label": entry.filename, "status": "invalid",
                 "reason": str(_l("Badges cannot be imported on this server."))} for entry in bundle.credentials]
    # Each badge is verified with outbound fetches (issuer, keys, status list): a crafted file listing
    # thousands would make Sillage send tens of thousands of requests. The backpack's own bound caps
    # them (absolute, not what is left: re-importing one's own full export, all duplicates, must work),
    # before any is verified; and they hold a verification slot like every other verification.
    if len(bundle.credentials) > backpack.MAX_ENTRIES:
        raise refuse("archive_too_large", _l("The file holds more than %(n)s badges.", n=backpack.MAX_ENTRIES))
    from app.verification import runner  # noqa: PLC0415  (the host's verification slots)

    out = []
    with runner.slot():
        for entry in bundle.credentials:
            try:
                entry.candidates = backpack.preview(session, user, entry.payload, filename=entry.filename,
                                                    fetch=fetch)
            except ServiceError as error:
                entry.candidates = []
                out.append({"label": entry.filename, "status": "invalid", "reason": error.message})
                continue
            out.extend(_candidate_row(candidate, entry.filename) for candidate in entry.candidates)
    return out


def _read(path: str, *, filename: str | None, passphrase: str | None, limits: Limits | None):
    return detect.read(path, filename=filename, limits=limits, passphrase=passphrase)


def preview(session: Session, user: User, path: str, *, filename: str | None = None,
            passphrase: str | None = None, limits: Limits | None = None, fetch=None) -> Plan:
    """What importing the file at ``path`` would do; writes nothing. Raises ``ImportRefused``."""
    with _read(path, filename=filename, passphrase=passphrase, limits=limits) as bundle:
        return _plan(session, user, bundle, strict=bundle.format == "sillage", fetch=fetch)


def apply(session: Session, user: User, path: str, *, filename: str | None = None,
          passphrase: str | None = None, limits: Limits | None = None, fetch=None) -> Plan:
    """Import the file at ``path``: everything new, in this session (flushed, not committed).

    Raises ``ImportRefused`` or the services' errors (``QuotaExceeded``…); the caller then rolls back.
    ``fetch`` is the verifier's fetcher for badges (``None``: the SSRF-guarded one; tests give theirs)."""
    with _read(path, filename=filename, passphrase=passphrase, limits=limits) as bundle:
        plan = _plan(session, user, bundle, strict=bundle.format == "sillage", fetch=fetch)
        made: dict[tuple[str, str], object] = {}
        owner = portfolio.portfolio_of(user)

        def remember(planned: Planned, item) -> None:
            made[(planned.section, planned.ref)] = item
            # A row left by an earlier import whose item was deleted since gives way to the new one.
            session.execute(delete(ImportFingerprint).where(
                ImportFingerprint.portfolio_id == owner.id, ImportFingerprint.section == planned.section,
                ImportFingerprint.fingerprint == planned.fingerprint))
            session.add(ImportFingerprint(portfolio_id=owner.id, section=planned.section,
                                          fingerprint=planned.fingerprint, item_id=item.id))

        def target(planned: Planned):
            if isinstance(planned.target, Planned):
                return made.get((planned.section, planned.target.ref))
            return planned.target

        if plan.profile:
            portfolio.update_profile(session, user, plan.profile)
        if plan.photo is not None:
            try:
                photos.set_photo(session, user, plan.photo)
            except ValidationFailed as error:  # an unreadable picture does not stop the rest
                plan.notes.append(str(_l("The profile photo was left out: %(reason)s", reason=error.message)))
        for section in ITEM_SECTIONS:
            for planned in (p for p in plan.items if p.section == section):
                if planned.status == "existing":
                    made[(section, planned.ref)] = target(planned)
                if planned.status != "new":
                    continue
                values = dict(planned.values)
                refs = values.pop("skill_refs", None)
                written = values.pop("created_at", None)
                if refs:
                    skills = [made.get(("skills", ref)) for ref in refs]
                    values["skill_ids"] = list(dict.fromkeys(str(s.id) for s in skills if s is not None))
                item = portfolio.create_item(session, user, MODELS[section], values)
                if written is not None:  # a journal entry keeps the day it was written (and its order)
                    item.created_at = item.updated_at = written
                remember(planned, item)
        for planned in (p for p in plan.items if p.section == "documents"):
            source = planned.source
            if planned.status == "new":
                document = documents.store(session, user, source.name, source.chunks(),
                                           tags=source.tags, description=source.description,
                                           declared_size=source.size or None)
                remember(planned, document)
            else:
                document = target(planned)
                made[("documents", planned.ref)] = document
            for link in source.links:
                item = made.get(link)
                if item is not None and document is not None:
                    documents.link(session, user, document, item)
        backpack = _backpack()
        for entry in bundle.credentials:
            if backpack is None or not entry.candidates or not all(_importable(c) or c.existing is not None
                                                                   for c in entry.candidates):
                continue  # refused or unverified: listed as not importable in the plan
            for credential in backpack.add(session, user, entry.payload, filename=entry.filename,
                                           candidates=entry.candidates):
                made.setdefault(("credentials", entry.ref), credential)
                if entry.hidden:
                    credential.hidden = True
                for section, ref in entry.links:
                    item = made.get((section, ref))
                    if item is not None:
                        backpack.link(session, user, credential, LINK_KINDS[section], item.id)
        _showcases(session, user, plan, made, remember)
        session.flush()
        return plan


def _showcases(session: Session, user: User, plan: Plan, made: dict, remember) -> None:
    """Pages and CVs, their items pointed at the imported (or already present) ones. An item that did not
    come in (a credential signed by this site for the original account, an attestation) is left out,
    and said so."""
    from app.services import cvs, pages  # noqa: PLC0415 - they import much of the application

    left_out = 0

    def remap(refs) -> list[dict]:
        nonlocal left_out
        out = []
        for ref in refs or ():
            item = made.get((REF_SECTIONS.get(ref.get("type")), ref.get("id")))
            if item is None:
                left_out += 1
                continue
            # A credential this site signed for the original account came in as a badge earned elsewhere.
            kind = "external" if REF_SECTIONS[ref["type"]] == "credentials" else ref["type"]
            out.append({"type": kind, "id": str(item.id)})
        return out

    for planned in (p for p in plan.items if p.section in SHOWCASES and p.status == "new"):
        values = dict(planned.values)
        if planned.section == "pages":
            values["items"] = remap(values.get("items"))
            remember(planned, pages.create(session, user, values))
        else:
            values["selection"] = remap(values.get("selection"))
            if not values.get("target_occupation"):
                values.pop("target_occupation", None)
            remember(planned, cvs.create(session, user, values))
    if left_out:
        plan.notes.append(str(_l("%(count)s items of pages or CVs were left out: they were not imported.",
                                 count=left_out)))


# --- the uploaded file between the preview and the confirmation (the page) --------------------------------

def spool(chunks, limit: int) -> str:
    """Write an upload to a temporary file as it arrives, refusing it (413 ``file_too_large``) as soon as
    it passes ``limit``: an upload is never held whole in memory. The caller removes the file."""
    handle, path = tempfile.mkstemp(prefix="sillage-import-")
    written = 0
    try:
        with os.fdopen(handle, "wb") as out:
            for piece in chunks:
                written += len(piece)
                if written > limit:
                    raise refuse("file_too_large", _l("The file is larger than the %(size)s MiB an import may "
                                                      "be.", size=limit // 2**20), status=413)
                out.write(piece)
    except BaseException:
        os.unlink(path)
        raise
    if written == 0:
        os.unlink(path)
        raise refuse("empty_file", _l("The file is empty."))
    return path


def _stash_key(user: User) -> str:
    """One pending upload per person, whatever the number of sessions: a new upload replaces the last.
    A key per upload left one blob (up to the upload limit) per abandoned session, forever, since
    nothing lists storage to sweep them; now at most one is left, removed with the account."""
    return f"{documents.owner_prefix(portfolio.portfolio_of(user).id)}/import-pending"


def _stash_aad(key: str, token: str) -> str:
    """The token in the associated data: a session holding an older upload's token finds it gone (it
    does not decrypt) rather than importing the file another session uploaded since."""
    return f"{key}/{token}"


def stash(session: Session, user: User, path: str) -> str:
    """Keep an uploaded file until the owner confirms its import: encrypted with the owner's vault key,
    in storage under the owner's prefix (so account deletion removes it with the vault). Returns the
    token that ``unstashed`` and ``discard`` take."""
    token = secrets.token_hex(16)
    key = _stash_key(user)
    data_key = vault_keys.data_key_for(session, user)

    def pieces():
        with open(path, "rb") as handle:
            while piece := handle.read(1024 * 1024):
                yield piece

    storage.put_stream(key, vault.encrypt_stream(data_key, pieces(), _stash_aad(key, token)))
    return token


@contextlib.contextmanager
def unstashed(session: Session, user: User, token: str):
    """The stashed upload, decrypted to a temporary file for the block (``upload_expired`` if gone)."""
    if not isinstance(token, str) or len(token) != 32 or not all(c in "0123456789abcdef" for c in token):
        raise refuse("upload_expired", _l("This upload is no longer available: choose the file again."),
                     status=410)
    key = _stash_key(user)
    try:
        encrypted = storage.backend().open(key)
    except storage.BlobNotFound:
        raise refuse("upload_expired", _l("This upload is no longer available: choose the file again."),
                     status=410) from None
    data_key = vault_keys.data_key_for(session, user)

    def pieces():
        with encrypted:
            while piece := encrypted.read(1024 * 1024):
                yield piece

    try:
        path = spool(vault.decrypt_stream(data_key, pieces(), _stash_aad(key, token)), 2**62)
    except vault.VaultError:  # replaced since by another upload of the same person
        raise refuse("upload_expired", _l("This upload is no longer available: choose the file again."),
                     status=410) from None
    try:
        yield path
    finally:
        os.unlink(path)


def is_pending(session: Session, user: User, token: str) -> bool:
    """Whether ``token`` names the person's current stashed upload: its first piece decrypts with the
    token in the associated data (cheap: the whole file is decrypted only by the import itself)."""
    if not isinstance(token, str) or len(token) != 32 or not all(c in "0123456789abcdef" for c in token):
        return False
    key = _stash_key(user)
    try:
        encrypted = storage.backend().open(key)
    except storage.BlobNotFound:
        return False
    with encrypted:
        first = iter(lambda: encrypted.read(1024 * 1024), b"")
        try:
            next(iter(vault.decrypt_stream(vault_keys.data_key_for(session, user), first,
                                           _stash_aad(key, token))), None)
        except vault.VaultError:
            return False
    return True


def discard(user: User, token: str) -> None:
    """Forget the stashed upload (after its import, on cancel, or before another file replaces it).
    ``token`` is not checked: the one pending upload is the person's own, from whichever session."""
    with contextlib.suppress(storage.BlobNotFound, storage.StorageUnavailable, ValueError):
        storage.delete(_stash_key(user))


# --- the page's import, in the background ----------------------------------------------------------------
# A confirmed upload may be up to a gigabyte of documents and badges to verify: the page hands it to a
# background job (a one-item batch, ``app.services.batches``) and shows its progress, so that no request
# waits minutes. The import stays one transaction (the item's), nothing half-imported: the progress bar
# goes from 0 to 100 % when it is committed, with its state in words meanwhile. The API and the command
# line keep importing within their call (they answer with the result).
BACKGROUND_KIND = "portfolio-import"


def start_background(session: Session, user: User, token: str, filename: str | None = None):
    """The batch that imports the stashed upload ``token`` (idempotent: confirming twice is one import).
    The caller commits, then enqueues ``batches.run_batch_job``."""
    from app.services import batches  # noqa: PLC0415

    return batches.create_batch(session, BACKGROUND_KIND, [{"token": token, "filename": filename or ""}],
                                f"import:{user.id}:{token}", owner=user)


def background_job(session: Session, user: User, batch_id):
    """The person's own import batch, else ``NotFound`` (another person's, or not an import)."""
    from app.models.jobs import Batch  # noqa: PLC0415
    from app.services.errors import NotFound  # noqa: PLC0415

    try:
        batch = session.get(Batch, batch_id)
    except (TypeError, ValueError):
        batch = None
    if batch is None or batch.kind != BACKGROUND_KIND or batch.owner_id != user.id:
        raise NotFound(str(_l("No such import.")))
    return batch


def _background_handler():
    from flask import current_app  # noqa: PLC0415

    from app.services import batches  # noqa: PLC0415

    @batches.handler(BACKGROUND_KIND)
    def run(session: Session, batch, item) -> dict:
        """Import the stashed upload for the batch's owner; the result is the summary the page shows.
        The stash goes once the import is over, imported or refused (the person chooses the file again)."""
        user = session.get(User, batch.owner_id)
        if user is None:
            raise refuse("upload_expired", _l("This upload is no longer available: choose the file again."),
                         status=410)
        token = item.payload.get("token", "")
        # unstashed refuses a token that is no longer the person's upload: then the newer one stays.
        with storage.delete_new_blobs_on_error(session), unstashed(session, user, token) as path:
            try:
                plan = apply(session, user, path, filename=item.payload.get("filename") or None,
                             limits=Limits.from_config(current_app.config))
            finally:
                discard(user, token)
        return json.loads(json.dumps(plan.as_dict(), ensure_ascii=False, default=str))

    return run


_background_handler()
