"""A badge earned elsewhere, as others see it: ``/backpack/<id>``, with what it says, the verifier's last
verdict, a verify button, and the badge exactly as its issuer made it (original JSON or JWS, the baked
image as it was given).

Who may see it: anyone who has the address, as for a credential issued here (``/credentials/<id>``): the
id is random, and it reaches others only where the owner puts it (a page, a CV, a link they share).
Unlike an issued credential, a badge the owner hid (or deleted) answers 404 to everyone else: it was
never published by an issuer under that address, so hiding it withdraws it. After its owner deleted the
account, it answers 410 (a tombstone: ``backpack.erase``), like the person's other public pages.
"""
from __future__ import annotations

import uuid

from flask import abort, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.backpack import bp
from app.backpack.routes import fetcher
from app.credentials.forms import EmptyForm
from app.credentials.public import SVG_POLICY
from app.extensions import db, talisman
from app.models import Portfolio, User
from app.models.backpack import ExternalCredential
from app.pages.public import _on_page, _opened_page, guess_limit, owner_suspended
from app.pages.showcase import render_showcase
from app.services import backpack
from app.verification import display, runner
from app.verification.routes import verify_limit
from badges import messages
from badges.verify import verify as run_verifier

MAX_AGE = 300


def _is_owner(row: ExternalCredential) -> bool:
    portfolio = getattr(current_user, "portfolio", None) if current_user.is_authenticated else None
    return portfolio is not None and row.portfolio_id == portfolio.id


def _badge(badge_id: uuid.UUID, *, as_json: bool = False) -> ExternalCredential:
    """The public badge, or a refusal: 404, 410 once erased with its holder, 410 while the holder is
    suspended (as JSON for ``.json``, which programs read)."""
    row = db.session.get(ExternalCredential, badge_id)
    if row is None:
        from app.services.erasure import is_erased_page  # noqa: PLC0415 - issue 11: gone with its holder
        abort(410 if is_erased_page(db.session, badge_id) else 404)
    if row.hidden and not _is_owner(row):
        abort(404)
    owner = db.session.scalar(select(User).join(Portfolio, Portfolio.owner_id == User.id)
                              .where(Portfolio.id == row.portfolio_id))
    if owner is not None and not owner.is_active:  # suspended: like its pages and share links (L9)
        if as_json:
            abort(make_response(jsonify(error="owner_suspended", message=_(
                "The account that published it is suspended by the administrators of this service, so "
                "nothing it shares is shown for now.")), 410))
        abort(owner_suspended())
    return row


def _headers(response, row: ExternalCredential):
    response.headers["Cache-Control"] = "private, no-cache" if not row.hidden else "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _page(row: ExternalCredential, result=None, status: int = 200):
    verdict = backpack.verdict(db.session, row)
    locale = runner.reader_locale()
    html = render_template("backpack/badge.html", row=row, verdict=verdict, result=result, form=EmptyForm(),
                           state=backpack.state(row, verdict), is_owner=_is_owner(row),
                           verdict_title=messages.verdict_text(verdict.reason or verdict.status, locale)[0]
                           if verdict else None,
                           original_ext=backpack.download(row)[2])
    return _headers(make_response(html, status), row)


@bp.get("/backpack/<uuid:badge_id>")
def page(badge_id):
    return _page(_badge(badge_id))


@bp.post("/backpack/<uuid:badge_id>/verify")
@verify_limit
def verify(badge_id):
    """Verify the badge now, as it was imported. The owner's run also replaces the cached verdict; a
    visitor's changes nothing (a visitor writes nothing in someone's portfolio)."""
    row = _badge(badge_id)
    if not EmptyForm().validate_on_submit():
        return _page(row, status=400)
    with runner.slot():
        if _is_owner(row):
            backpack.recheck(db.session, row, fetcher(), locale=runner.reader_locale())
            db.session.commit()
        result = run_verifier(row.original, fetch=fetcher(), locale=runner.reader_locale())
    response = _page(row, display.with_verdict(result, runner.reader_locale()))
    response.headers["Cache-Control"] = "no-store"
    return response


def _file(data: bytes, media_type: str, filename: str, row: ExternalCredential):
    response = make_response(data)
    response.mimetype = media_type
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _headers(response, row)


@bp.get("/backpack/<uuid:badge_id>.json")
def document_json(badge_id):
    """The credential as JSON (a VC-JWT: its decoded credential; ``/original`` has the JWS itself)."""
    row = _badge(badge_id, as_json=True)
    response = make_response(jsonify(row.document))
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="badge-{row.id}.json"'
    return _headers(response, row)


@bp.get("/backpack/<uuid:badge_id>/original")
def original(badge_id):
    """The badge exactly as it was imported: the JSON bytes or the compact JWS."""
    row = _badge(badge_id)
    data, media_type, extension = backpack.download(row)
    return _file(data, media_type, f"badge-{row.id}.{extension}", row)


@bp.get("/backpack/<uuid:badge_id>.png")
def image_png(badge_id):
    row = _badge(badge_id)
    if row.image is None or row.image_type != "image/png":
        abort(404)
    return _file(row.image, "image/png", f"badge-{row.id}.png", row)


@bp.get("/backpack/<uuid:badge_id>.svg")
@talisman(content_security_policy=SVG_POLICY)  # an SVG opened directly is a document: nothing in it may run
def image_svg(badge_id):
    row = _badge(badge_id)
    if row.image is None or row.image_type != "image/svg+xml":
        abort(404)
    return _file(row.image, "image/svg+xml", f"badge-{row.id}.svg", row)


@bp.post("/s/<token>/verify-badge/<uuid:badge_id>")
@verify_limit
@guess_limit
def shared_verify(token, badge_id):
    """The verify button of a badge from elsewhere on a shared page (``/s/<token>``): the link is checked
    as for the page's other sub-routes (``app.pages.public``), and only a badge the page holds (not
    hidden) is verified."""
    link, page = _opened_page(token)
    row = db.session.get(ExternalCredential, badge_id)
    if row is None or row.portfolio_id != page.portfolio_id or row.hidden \
            or not _on_page(page, "external", badge_id):
        abort(404)
    if not EmptyForm().validate_on_submit():
        return render_showcase(page, link=link, token=token, status=400)
    with runner.slot():
        result = run_verifier(row.original, fetch=fetcher(), locale=runner.reader_locale())
    return render_showcase(page, link=link, token=token,
                           results={str(row.id): display.with_verdict(result, runner.reader_locale())})


def verdict_of(row: ExternalCredential):
    """For the showcase and CV templates (a Jinja global): the badge's cached verdict, or None."""
    return backpack.verdict(db.session, row)
