"""Render a page as its visitors see it: the theme's layout, the owner's photo and headline, the items in
the owner's order, credentials with their verify button, schema.org ``Person`` JSON-LD and Open Graph.

Used by ``/s/<token>`` (``public``) and by the owner's preview, so that the preview is exactly what a
recruiter gets. What a visitor may reach from the page (photo, documents, verify) goes through the link's
own routes, which check the link again and accept only items the page holds.
"""
from __future__ import annotations

from flask import make_response, render_template, url_for
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import Portfolio
from app.models.pages import Page, ShareLink
from app.portfolio.labels import LEVEL_LABELS
from app.services import pages as service

SECTION_TITLES = {"experience": _l("Experiences"), "diploma": _l("Diplomas"), "skill": _l("Skills"),
                  "credential": _l("Verifiable credentials"), "attestation": _l("Attestations and endorsements"),
                  "document": _l("Documents"), "external": _l("Badges earned elsewhere")}


def attestation_url(obj, **kwargs) -> str:
    """The public page of a signed attestation (``/attestations/<id>``) or person endorsement
    (``/endorsements/<id>``): the same model, two public routes."""
    if obj.purpose == "endorsement":
        return url_for("credentials.person_endorsement", endorsement_id=obj.id, **kwargs)
    return url_for("attestations.page", request_id=obj.id, **kwargs)


def person_json_ld(portfolio: Portfolio, page: Page, shown, page_url: str | None, photo_url: str | None) -> dict:
    """schema.org ``Person``: the name, headline (``jobTitle``), photo, skills (``knowsAbout``) and
    credentials (``hasCredential``) the page shows; nothing the owner did not put on it (no e-mail,
    no phone)."""
    data = {"@context": "https://schema.org", "@type": "Person",
            "name": portfolio.display_name or page.title}
    if page.headline or portfolio.headline:
        data["jobTitle"] = page.headline or portfolio.headline
    if page_url:
        data["url"] = page_url
    if photo_url:
        data["image"] = photo_url
    skills = [item.obj.name for item in shown if item.type == "skill"]
    if skills:
        data["knowsAbout"] = skills
    credentials = [{"@type": "EducationalOccupationalCredential", "name": service.label(item.type, item.obj),
                    "url": url_for("credentials.page", credential_id=item.obj.id, _external=True)}
                   for item in shown if item.type == "credential"]
    credentials += [{"@type": "EducationalOccupationalCredential", "name": service.label(item.type, item.obj),
                     "url": attestation_url(item.obj, _external=True)}
                    for item in shown if item.type == "attestation"]
    credentials += [{"@type": "EducationalOccupationalCredential", "name": item.obj.achievement_name,
                     "url": url_for("backpack.page", badge_id=item.obj.id, _external=True)}
                    for item in shown if item.type == "external"]
    credentials += [{"@type": "EducationalOccupationalCredential", "name": item.obj.title,
                     **({"recognizedBy": {"@type": "Organization", "name": item.obj.awarding_body}}
                        if item.obj.awarding_body else {})}
                    for item in shown if item.type == "diploma"]
    if credentials:
        data["hasCredential"] = credentials
    return data


def render_showcase(page: Page, *, link: ShareLink | None = None, token: str | None = None,
                    preview: bool = False, results: dict | None = None, form=None, status: int = 200):
    """The page's HTML response. ``token`` (the raw one, from the visitor's own URL) builds the links to
    the photo, documents and verify routes; in the owner's preview they point at the owner's own routes."""
    from app.pages.forms import EmptyForm  # noqa: PLC0415

    portfolio = db.session.get(Portfolio, page.portfolio_id)
    shown = service.resolve(db.session, page)
    indexable = not preview and service.is_public(db.session, page)  # consent read now, at display (L10)
    has_photo = bool(page.show_photo and portfolio.photo_key)
    if preview:
        photo_url = url_for("portfolio.photo") if has_photo else None
        page_url = None
    else:
        photo_url = url_for("pages.shared_photo", token=token, _external=True) if has_photo else None
        page_url = url_for("pages.shared", token=token, _external=True)
    sections: dict[str, list] = {}  # one section per kind, in the order the owner first placed each kind
    for item in shown:
        sections.setdefault(item.type, []).append(item)
    html = render_template("pages/showcase.html", page=page, portfolio=portfolio, shown=shown, sections=list(sections.items()),
                           section_titles=SECTION_TITLES, level_labels=LEVEL_LABELS,
                           photo_url=photo_url, page_url=page_url, token=token, preview=preview,
                           results=results or {}, form=form or EmptyForm(), label=service.label,
                           attestation_url=attestation_url,
                           json_ld=person_json_ld(portfolio, page, shown, page_url, photo_url),
                           indexable=indexable)
    response = make_response(html, status)
    if not indexable:
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store" if (preview or link is None or link.password_hash
                                                       or results) else "private, no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token never leaves in a Referer header
    return response
