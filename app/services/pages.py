"""Public pages: the owner picks items, orders them, chooses a theme and a title.

A page holds references (``{"type", "id"}``), checked against the owner's own items when written, and
resolved again each time it is shown (``resolve``): an item deleted since is skipped, and an item can
never be shown on someone else's page, because the lookup is always scoped to the page's portfolio.
Like every service, these functions flush and never commit.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import policy
from app.models import AttestationRequest, Credential, Diploma, Document, Experience, Portfolio, Skill, User
from app.models.backpack import ExternalCredential
from app.models.pages import ITEM_TYPES, THEMES, Page
from app.services import minors
from app.services.errors import NotFound, ValidationFailed
from app.services.portfolio import portfolio_of
from app.services.validation import Field, clean

MAX_ITEMS = 100  # a showcase, not an archive
MAX_PAGES = 50

MODELS: dict[str, type] = {"experience": Experience, "diploma": Diploma, "skill": Skill,
                           "credential": Credential, "attestation": AttestationRequest, "document": Document,
                           "external": ExternalCredential}


def _shown_only(kind: str, model) -> tuple:
    """Extra conditions for an item to be showable: an attestation (or person endorsement) only once
    signed, so a pending, declined or cancelled request is "not one of your items" and never shown."""
    if kind == "attestation":
        return (model.status == "confirmed",)
    if kind == "external":  # a badge from elsewhere that its owner hid is withdrawn (app.backpack.public)
        return (model.hidden.is_(False),)
    return ()
RULES = {
    "title": Field(required=True, max_length=120),
    "headline": Field(max_length=160),
    "theme": Field(kind="choice", choices=THEMES),
    "items": Field(kind="refs"),
    "show_photo": Field(kind="bool"),
    "public_profile": Field(kind="bool"),
}


@dataclass(frozen=True)
class Shown:
    """One item of a page, resolved: its type, the object, and its place in the page."""

    type: str
    obj: Any


def _invalid(field: str, message) -> ValidationFailed:
    return ValidationFailed(str(_l("Some information is not valid.")), fields={field: str(message)})


def _refs(value: Any) -> list[dict]:
    """``[{"type", "id"}]`` as given, types known, ids parsed, no duplicates (first place kept)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid("items", _l("Must be a list of items, each {\"type\": ..., \"id\": ...}."))
    if len(value) > MAX_ITEMS:
        raise _invalid("items", _l("At most %(n)d items on a page.", n=MAX_ITEMS))
    refs: dict[tuple, dict] = {}
    for ref in value:
        if not isinstance(ref, dict) or set(ref) != {"type", "id"} or ref["type"] not in ITEM_TYPES:
            raise _invalid("items", _l("Each item is {\"type\": one of %(types)s, \"id\": ...}.",
                                       types=", ".join(ITEM_TYPES)))
        key = policy.parse_id(ref["id"]) if isinstance(ref["id"], str) else None
        if key is None:
            raise _invalid("items", _l("Not a valid id: %(id)s.", id=str(ref["id"])[:40]))
        refs.setdefault((ref["type"], key), {"type": ref["type"], "id": str(key)})
    return list(refs.values())


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    raise _invalid(field, _l("Must be true or false."))


def _clean(data: dict, *, partial: bool) -> dict:
    """The service's own kinds (refs, booleans) apart, the shared rules of ``validation.clean``."""
    if not isinstance(data, dict):
        raise _invalid("items", _l("The body must be a valid JSON object."))
    plain = {k: v for k, v in data.items() if RULES.get(k, Field()).kind not in ("refs", "bool")}
    text_rules = {k: f for k, f in RULES.items() if f.kind not in ("refs", "bool")}
    cleaned = clean(text_rules, plain, partial=partial)
    if "items" in data:
        cleaned["items"] = _refs(data["items"])
    for name in ("show_photo", "public_profile"):
        if name in data:
            cleaned[name] = _bool(data[name], name)
    if not cleaned.get("theme", "x"):
        cleaned.pop("theme")  # an empty choice keeps the current (or the default) theme
    return cleaned


def _check_owned(session: Session, portfolio: Portfolio, refs: list[dict]) -> None:
    """Every reference must be one of this portfolio's items: one query per type, never per item."""
    missing = []
    for kind, model in MODELS.items():
        wanted = {uuid.UUID(ref["id"]) for ref in refs if ref["type"] == kind}
        if not wanted:
            continue
        found = set(session.scalars(select(model.id).where(model.id.in_(wanted), *_shown_only(kind, model),
                                                           model.portfolio_id == portfolio.id)))
        missing += [f"{kind} {item_id}" for item_id in wanted - found]
    if missing:
        raise _invalid("items", _l("Not one of your items: %(items)s.", items=", ".join(sorted(missing)[:5])))


def is_public(session: Session, page: Page) -> bool:
    """May search engines index ``page`` now? The owner's opt-in, and for a minor a guardian's
    ``public_page`` consent read when the page is shown, not only when it was ticked: a withdrawn consent,
    or an account that became a minor on joining a school, takes the page out at once (review 14, L10)."""
    if not page.public_profile:
        return False
    owner = session.scalar(select(User).join(Portfolio, Portfolio.owner_id == User.id)
                           .where(Portfolio.id == page.portfolio_id))
    return owner is None or minors.has_consent(session, owner, minors.PUBLIC_PAGE)


def create(session: Session, actor: User, data: dict) -> Page:
    portfolio = portfolio_of(actor)
    values = _clean(data, partial=False)
    if values.get("public_profile"):
        minors.require_consent(session, actor, minors.PUBLIC_PAGE)
    count = len(session.scalars(select(Page.id).where(Page.portfolio_id == portfolio.id)).all())
    if count >= MAX_PAGES:
        raise _invalid("title", _l("At most %(n)d pages.", n=MAX_PAGES))
    _check_owned(session, portfolio, values.get("items", []))
    page = Page(portfolio_id=portfolio.id, **values)
    session.add(page)
    session.flush()
    return page


def update(session: Session, actor: User, page: Page, data: dict, *, partial: bool = True) -> Page:
    values = _clean(data, partial=partial)
    if values.get("public_profile") and not page.public_profile:
        minors.require_consent(session, actor, minors.PUBLIC_PAGE)
    _check_owned(session, portfolio_of(actor), values.get("items", []))
    for name, value in values.items():
        setattr(page, name, value)
    session.flush()
    return page


def delete(session: Session, actor: User, page: Page) -> None:
    """The page and its share links go (the links then answer 404, as revoked ones)."""
    session.delete(page)
    session.flush()


def get(session: Session, actor: User, page_id) -> Page:
    """The actor's page; someone else's or a missing one is ``NotFound`` (ids reveal nothing)."""
    key = policy.parse_id(page_id)
    page = session.get(Page, key) if key is not None else None
    if page is None or not policy.can(actor, policy.UPDATE, page):
        raise NotFound(str(_l("Not found.")))
    return page


def list_for(session: Session, actor: User) -> list[Page]:
    portfolio = portfolio_of(actor)
    return list(session.scalars(select(Page).where(Page.portfolio_id == portfolio.id)
                                .order_by(Page.created_at.desc(), Page.id)))


def resolve(session: Session, page: Page) -> list[Shown]:
    """The page's items in its order, loaded from the page's own portfolio only; deleted ones skipped."""
    refs = [(ref["type"], policy.parse_id(ref["id"])) for ref in page.items or ()
            if isinstance(ref, dict) and ref.get("type") in MODELS]
    loaded: dict[tuple, Any] = {}
    for kind, model in MODELS.items():
        ids = {key for ref_kind, key in refs if ref_kind == kind and key is not None}
        if ids:
            for obj in session.scalars(select(model).where(model.id.in_(ids), *_shown_only(kind, model),
                                                           model.portfolio_id == page.portfolio_id)):
                if kind != "attestation" or obj.document:  # confirmed always signs; never show an unsigned one
                    loaded[(kind, obj.id)] = obj
    return [Shown(kind, loaded[(kind, key)]) for kind, key in refs if (kind, key) in loaded]


def candidates(session: Session, actor: User) -> dict[str, list]:
    """What the editor offers, per type: everything the owner has (hidden credentials included: the
    owner may still choose to show one on a page)."""
    portfolio = portfolio_of(actor)
    order = {"experience": Experience.start_date.desc(), "diploma": Diploma.awarded_on.desc(),
             "skill": Skill.sort_name, "credential": Credential.issued_at.desc(),
             "attestation": AttestationRequest.decided_at.desc(), "document": Document.created_at.desc(),
             "external": ExternalCredential.created_at.desc()}
    return {kind: list(session.scalars(select(model).where(model.portfolio_id == portfolio.id, *_shown_only(kind, model))
                                       .order_by(order[kind]).limit(500)))
            for kind, model in MODELS.items()}


def label(shown_type: str, obj) -> str:
    """A one-line name for an item, for the editor and the API."""
    if shown_type == "credential":
        achieved = ((obj.document or {}).get("credentialSubject") or {}).get("achievement") or {}
        return str(achieved.get("name") or obj.achievement.name)
    if shown_type == "external":
        return obj.achievement_name
    if shown_type == "attestation":
        if obj.purpose == "endorsement":
            return str(_l("%(item)s, endorsed by %(name)s", item=obj.item_title, name=obj.referee_name))
        return str(_l("%(item)s, attested by %(name)s", item=obj.item_title, name=obj.referee_name))
    return str(getattr(obj, "title", None) or getattr(obj, "name", ""))
