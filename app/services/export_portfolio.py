"""``portfolio.json``: everything the owner has, in the API's own names (issue 11, "Export").

Why the API's schemas and serialisers (``app.api.*``) rather than a second description of each item: a
program that reads the API reads the export, and a field added to the API appears in both at once (a
test compares ``docs/schemas/portfolio-export.schema.json`` with these schemas, so neither drifts).
Only what points at this site for a signed-in client is replaced by a path inside the ZIP: a document's
``content_url`` becomes ``file`` (``documents/<id>/<name>``), the profile's ``photo_url`` becomes
``photo``, and each credential gets ``files`` (its JSON, and its baked PNG when there is one).

Order is by content, never by id alone (ids change when an export is imported elsewhere), so that
"export, import, export again" gives the same lists in the same order.

A *selection* (a partial export) uses the shape of a grant's scope: ``None`` for everything, else a list
of ``{"type": "section", "id": <section>}`` and ``{"type": <item type>, "id": <uuid>}``. A section not
chosen is an empty list (``profile``: null), so the document has the same keys either way.
"""
from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models import Diploma, Document, Experience, JournalEntry, Skill, User
from app.models.sharing import AccessEvent
from app.services.errors import ValidationFailed

FORMAT = "sillage-export"
VERSION = 1
SECTIONS = ("profile", "experiences", "diplomas", "skills", "journal", "documents", "credentials", "pages",
            "cvs", "grants", "grants_received", "share_links", "attestation_requests", "access_log")
# What an item reference of a selection may name, and the section that holds it.
ITEM_SECTIONS = {"experience": "experiences", "diploma": "diplomas", "skill": "skills", "journal": "journal",
                 "document": "documents", "credential": "credentials", "attestation": "credentials",
                 "endorsement": "credentials", "external": "credentials", "page": "pages", "cv": "cvs"}
MAX_SELECTION = 1000
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


class Selection:
    """What a partial export takes: whole sections, and single items (by section, their ids)."""

    def __init__(self, refs: list[dict] | None):
        self.everything = refs is None
        self.sections: set[str] = set()
        self.items: dict[str, set[str]] = {}
        for ref in refs or ():
            if ref["type"] == "section":
                self.sections.add(ref["id"])
            else:
                self.items.setdefault(ITEM_SECTIONS[ref["type"]], set()).add(ref["id"])

    def wants(self, section: str) -> bool:
        """Whether anything of ``section`` is exported."""
        return self.everything or section in self.sections or section in self.items

    def keep(self, section: str, item_id: Any) -> bool:
        return self.everything or section in self.sections or str(item_id) in self.items.get(section, ())


def clean_selection(value: Any) -> list[dict] | None:
    """A selection as given by a form, the API or the CLI, checked: ``None``/``"all"`` for everything, or a
    non-empty list of ``{"type", "id"}``. Raises ``ValidationFailed`` (field ``selection``) otherwise.
    Items are not looked up here: an id that is not the owner's simply selects nothing."""
    if value is None or value == "all":
        return None
    if not isinstance(value, list) or not value or len(value) > MAX_SELECTION:
        raise ValidationFailed("Some information is not valid.", fields={
            "selection": f'"all", or a list of 1 to {MAX_SELECTION} {{"type", "id"}} entries.'})
    cleaned: list[dict] = []
    for ref in value:
        kind = ref.get("type") if isinstance(ref, dict) else None
        ident = ref.get("id") if isinstance(ref, dict) else None
        if not isinstance(ref, dict) or set(ref) - {"type", "id"} or not isinstance(ident, str):
            raise ValidationFailed("Some information is not valid.",
                                   fields={"selection": 'Each entry is {"type": ..., "id": ...}.'})
        if kind == "section":
            if ident not in SECTIONS:
                raise ValidationFailed("Some information is not valid.", fields={
                    "selection": f"Unknown section {ident!r}; one of: {', '.join(SECTIONS)}."})
        elif kind in ITEM_SECTIONS:
            try:
                ident = str(uuid.UUID(ident))
            except ValueError:
                raise ValidationFailed("Some information is not valid.",
                                       fields={"selection": f"{ident!r} is not an item id."}) from None
        else:
            raise ValidationFailed("Some information is not valid.", fields={
                "selection": f"Unknown type {kind!r}; section or one of: {', '.join(ITEM_SECTIONS)}."})
        entry = {"type": kind, "id": ident}
        if entry not in cleaned:
            cleaned.append(entry)
    return cleaned


def safe_name(name: str, fallback: str = "file") -> str:
    """A file name that is one plain path segment in any unzip tool: no folder separator, no control
    character, no drive colon, not "." or "..", at most 150 characters (NFC)."""
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFC", name or "")).strip(" .")
    return cleaned[:150] or fallback


def document_path(document: Document) -> str:
    return f"documents/{document.id}/{safe_name(document.name, 'document')}"


def credential_paths(kind: str, entry_id: Any, has_image: bool, *, document_ext: str = "json",
                     image_type: str | None = "image/png") -> dict:
    """Where an entry's files go: ``json`` the document as issued (``.jwt`` for a compact JWS brought from
    elsewhere), ``png`` its baked image; an SVG image (a badge brought as SVG) is ``svg`` instead."""
    base = f"credentials/{kind}-{entry_id}"
    paths = {"json": f"{base}.{document_ext}", "png": None}
    if has_image and image_type == "image/svg+xml":
        paths["svg"] = f"{base}.svg"
    elif has_image:
        paths["png"] = f"{base}.png"
    return paths


def _entry_paths(entry) -> dict:
    if entry.kind != "external":
        return credential_paths(entry.kind, entry.id, True)
    from app.services import backpack  # noqa: PLC0415

    _data, _media_type, extension = backpack.download(entry.row)
    return credential_paths(entry.kind, entry.id, entry.row.image is not None, document_ext=extension,
                            image_type=entry.row.image_type)


PHOTO_PATH = "profile/photo.jpg"


def _dump(schema_class, obj, **options) -> dict:
    return schema_class(**options).dump(obj)


def _profile(user: User) -> dict:
    from app.api.schemas import ProfileSchema  # noqa: PLC0415 - the API imports the services

    portfolio = user.portfolio
    data = _dump(ProfileSchema, portfolio, exclude=("photo_url",))
    data["photo"] = PHOTO_PATH if portfolio.photo_key else None
    return data


def _account(user: User) -> dict:
    from app.api.schemas import AccountSchema  # noqa: PLC0415

    return _dump(AccountSchema, {"email": user.email, "email_verified": user.is_verified, "locale": user.locale,
                                 "timezone": user.timezone, "created_at": user.created_at})


def _items(session: Session, user: User, model: type, schema_class, section: str, chosen: Selection,
           order) -> list[dict]:
    from app.services import portfolio  # noqa: PLC0415

    found = [item for item in portfolio.list_items(session, user, model) if chosen.keep(section, item.id)]
    found.sort(key=order)
    return [_dump(schema_class, item) for item in found]


def _documents(session: Session, user: User, chosen: Selection) -> list[dict]:
    from app.api.documents import DocumentSchema  # noqa: PLC0415

    fields = [name for name in DocumentSchema().dump_fields if not name.endswith("_url")]
    found = session.scalars(select(Document).where(Document.portfolio_id == user.portfolio.id))
    rows = sorted((d for d in found if chosen.keep("documents", d.id)),
                  key=lambda d: (d.created_at, d.name, d.sha256, str(d.id)))
    return [{**_dump(DocumentSchema, d, only=fields), "file": document_path(d)} for d in rows]


def credential_entries(session: Session, user: User, chosen: Selection | None = None) -> list:
    """The owner's "Credentials" section (``app.services.received.entries``) as the export takes it."""
    from app.services import received  # noqa: PLC0415

    chosen = chosen or Selection(None)
    return [e for e in received.entries(session, user) if chosen.keep("credentials", e.id)]


def _credentials(session: Session, user: User, chosen: Selection) -> list[dict]:
    from app.api.received import EntrySchema, dump  # noqa: PLC0415

    out = []
    for entry in credential_entries(session, user, chosen):
        data = _dump(EntrySchema, dump(entry))
        data["files"] = _entry_paths(entry)
        out.append(data)
    out.sort(key=lambda e: (e["date"], e["title"], e["id"]), reverse=True)
    return out


def _pages(session: Session, user: User, chosen: Selection) -> list[dict]:
    from app.api.pages import PageSchema, dump_page  # noqa: PLC0415
    from app.services import pages  # noqa: PLC0415

    rows = [p for p in pages.list_for(session, user) if chosen.keep("pages", p.id)]
    rows.sort(key=lambda p: (p.created_at, p.title, str(p.id)))
    return [_dump(PageSchema, dump_page(p)) for p in rows]


def _cvs(session: Session, user: User, chosen: Selection) -> list[dict]:
    from app.api.cvs import CvSchema, _dump as dump_cv  # noqa: PLC0415
    from app.services import cvs  # noqa: PLC0415

    rows = [cv for cv in cvs.list_for(session, user) if chosen.keep("cvs", cv.id)]
    rows.sort(key=lambda cv: (cv.created_at, cv.name, str(cv.id)))
    return [_dump(CvSchema, dump_cv(cv, with_ranking=False)) for cv in rows]


def _share_links(session: Session, user: User, chosen: Selection) -> list[dict]:
    """The links themselves (never their tokens: only hashes are stored), of the pages and CVs exported."""
    from app.api.pages import ShareLinkSchema, dump_link  # noqa: PLC0415
    from app.services import share_links  # noqa: PLC0415

    rows = list(share_links.list_for(session, user))
    rows.sort(key=lambda link: (link.created_at, link.label, str(link.id)))
    return [_dump(ShareLinkSchema, dump_link(link)) for link in rows]


def _grants(session: Session, user: User) -> list[dict]:
    from app.api.grants import GrantSchema, _dump as dump_grant  # noqa: PLC0415
    from app.services import grants  # noqa: PLC0415

    rows = sorted(grants.list_for_owner(session, user), key=lambda g: (g.created_at, g.email, str(g.id)))
    return [_dump(GrantSchema, dump_grant(g)) for g in rows]


def _grants_received(session: Session, user: User) -> list[dict]:
    """Who shares their portfolio with the owner (the names the ``/shared-with-me`` list gives)."""
    from app.api.grants import SharedSchema, _owner_name  # noqa: PLC0415
    from app.services import grants  # noqa: PLC0415

    rows = sorted(grants.shared_with(session, user), key=lambda g: (g.accepted_at, str(g.id)))
    return [_dump(SharedSchema, {"id": g.id, "owner": _owner_name(g), "headline": g.portfolio.headline,
                                 "role": g.role, "expires_at": g.expires_at, "changes_since_last_visit": 0},
                  only=("id", "owner", "headline", "role", "expires_at")) for g in rows]


def _attestation_requests(session: Session, user: User) -> list[dict]:
    from app.api.attestations import AttestationRequestSchema, _dump as dump_request  # noqa: PLC0415
    from app.services import attestations  # noqa: PLC0415

    rows = sorted(attestations.list_for(session, user), key=lambda r: (r.created_at, r.item_title, str(r.id)))
    return [{**_dump(AttestationRequestSchema, dump_request(r)), "purpose": r.purpose} for r in rows]


def _access_log(session: Session, user: User) -> list[dict]:
    """Every line of the owner's access log (the API pages it; the export takes all), oldest first."""
    from app.api.grants import AccessEventSchema  # noqa: PLC0415
    from app.services import grants  # noqa: PLC0415

    events = session.scalars(select(AccessEvent).where(AccessEvent.portfolio_id == user.portfolio.id)
                             .order_by(AccessEvent.created_at, AccessEvent.id))
    titles: dict = {}
    out = []
    for e in events:
        key = (e.object_type, e.object_id)
        if key not in titles:
            titles[key] = grants.object_title(session, e.object_type, e.object_id)
        out.append(_dump(AccessEventSchema, {
            "id": e.id, "at": e.created_at, "action": e.action, "object_type": e.object_type,
            "object_id": e.object_id, "object_title": titles[key], "who": e.actor_label,
            "share_link": e.share_link_label if e.share_link_id else None, "network": e.ip}))
    return out


def _by_date_then_title(date_attr: str, title_attr: str):
    """Newest first as the API lists them, ties by title: a key independent of the ids."""
    def key(item):
        value = getattr(item, date_attr)
        return (value is not None, value.isoformat() if value else "", getattr(item, title_attr))
    return key


def build_portfolio(session: Session, user: User, selection: list[dict] | None = None) -> dict:
    """Everything ``user`` has (or the ``selection`` of it), as the ``portfolio.json`` of an export.

    ``selection`` must have been checked by ``clean_selection``. Reads only; the texts that the API words
    in the reader's language (a verdict's title) are in the owner's language. Plain JSON types only.
    """
    from app.api.schemas import (  # noqa: PLC0415
        DiplomaSchema, ExperienceSchema, JournalEntrySchema, SkillSchema, utc_text,
    )

    chosen = Selection(selection)
    want = chosen.wants
    with force_locale(user.locale or "fr"):
        data: dict[str, Any] = {
            "format": FORMAT, "version": VERSION,
            "exported_at": utc_text(utcnow()),
            "selection": selection,
            "account": _account(user),
            "profile": _profile(user) if want("profile") else None,
        }
        newest = _by_date_then_title
        lists: dict[str, Any] = {
            "experiences": lambda: list(reversed(_items(session, user, Experience, ExperienceSchema, "experiences",
                                                        chosen, newest("start_date", "title")))),
            "diplomas": lambda: list(reversed(_items(session, user, Diploma, DiplomaSchema, "diplomas", chosen,
                                                     newest("awarded_on", "title")))),
            "skills": lambda: _items(session, user, Skill, SkillSchema, "skills", chosen,
                                     lambda s: (s.sort_name, s.name, s.level)),
            "journal": lambda: list(reversed(_items(session, user, JournalEntry, JournalEntrySchema, "journal",
                                                    chosen, newest("created_at", "title")))),
            "documents": lambda: _documents(session, user, chosen),
            "credentials": lambda: _credentials(session, user, chosen),
            "pages": lambda: _pages(session, user, chosen),
            "cvs": lambda: _cvs(session, user, chosen),
            "grants": lambda: _grants(session, user),
            "grants_received": lambda: _grants_received(session, user),
            "share_links": lambda: _share_links(session, user, chosen),
            "attestation_requests": lambda: _attestation_requests(session, user),
            "access_log": lambda: _access_log(session, user),
        }
        for section, build in lists.items():
            data[section] = build() if want(section) else []
    return data


def counts(data: dict) -> dict[str, int]:
    """How many of each section ``data`` holds (the manifest's ``counts``)."""
    return {section: (0 if data.get(section) is None else 1) if section == "profile" else len(data[section])
            for section in SECTIONS}

