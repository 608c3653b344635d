"""Public, unauthenticated routes: the credential page and its downloads, the verify button, status lists,
OB 2.0 hosted documents, and the claim link.

Privacy first: the page shows the achievement, the issuer and the dates; the recipient's name only when
the owner allowed it. The recipient's e-mail address never appears (the credential holds a salted hash).
"""
from __future__ import annotations

import uuid

from flask import abort, current_app, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.credentials import bp, documents, images
from app.credentials.forms import EmptyForm
from app.extensions import db, talisman
from app.models import Achievement, Organisation
from app.models.credentials import StatusList
from app.services import awarding
from app.services.errors import ServiceError
from app.verification import display, runner
from app.verification.routes import verify_limit
from badges.fetch import json_fetcher
from badges.verify import verify as run_verifier

STATUS_MAX_AGE = 60  # seconds a cache may keep a status list: how late a revocation may be seen
DOCUMENT_MAX_AGE = 300
SVG_POLICY = {"default-src": "'none'", "img-src": "data:", "style-src": "'unsafe-inline'"}


def _credential(credential_id: uuid.UUID):
    credential = awarding.get(db.session, credential_id)
    if credential is None:
        abort(404)
    return credential


def _json(document: dict, max_age: int, media_type: str = "application/json"):
    response = make_response(jsonify(document))
    response.mimetype = media_type
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"  # public documents that other verifiers read
    return response


def _download(data: bytes, media_type: str, filename: str, attachment: bool):
    response = make_response(data)
    response.mimetype = media_type
    response.headers["Cache-Control"] = f"public, max-age={DOCUMENT_MAX_AGE}"
    if attachment:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _signed(credential) -> dict:
    """What the signed credential says it certifies (achievement and issuer), for the page: the
    achievement may have been edited since the award, and the page must not tell another story than
    the credential that every verifier reads. Falls back to the current rows for any missing field."""
    document = credential.document if isinstance(credential.document, dict) else {}
    subject = document.get("credentialSubject")
    achieved = subject.get("achievement") if isinstance(subject, dict) else None
    achieved = achieved if isinstance(achieved, dict) else {}
    criteria = achieved.get("criteria") if isinstance(achieved.get("criteria"), dict) else {}
    issuer = document.get("issuer") if isinstance(document.get("issuer"), dict) else {}
    current = credential.achievement
    return {"name": achieved.get("name") or current.name,
            "description": achieved.get("description") or current.description,
            "criteria": criteria.get("narrative") if achieved else current.criteria_narrative,
            "issuer": issuer.get("name") or credential.organisation.name}


def _page(credential, result=None, status=200):
    owner = awarding.recipient_portfolio(db.session, credential) if credential.show_recipient_name else None
    return render_template("credentials/credential.html", credential=credential, result=result,
                           signed=_signed(credential),
                           recipient_name=(owner.display_name or None) if owner else None,
                           form=EmptyForm(), is_owner=_is_owner(credential)), status


def _is_owner(credential) -> bool:
    portfolio = getattr(current_user, "portfolio", None) if current_user.is_authenticated else None
    return portfolio is not None and credential.portfolio_id == portfolio.id


@bp.get("/credentials/<uuid:credential_id>")
def page(credential_id):
    return _page(_credential(credential_id))


@bp.post("/credentials/<uuid:credential_id>/verify")
@verify_limit
def verify(credential_id):
    """The verify button: the app's verifier on the stored credential, against this site's documents."""
    credential = _credential(credential_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        return _page(credential, status=400)
    fallback = json_fetcher(allow_loopback=bool(current_app.config.get("VERIFY_ALLOW_LOOPBACK")))
    with runner.slot():
        result = run_verifier(credential.document, fetch=documents.local_fetch(db.session, fallback),
                              locale=runner.reader_locale())
    response = make_response(*_page(credential, display.with_verdict(result, runner.reader_locale())))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/credentials/<uuid:credential_id>.json")
def credential_json(credential_id):
    credential = _credential(credential_id)
    response = _json(credential.document, DOCUMENT_MAX_AGE, "application/ld+json")
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="credential-{credential.id}.json"'
    return response


@bp.get("/credentials/<uuid:credential_id>.png")
def credential_png(credential_id):
    credential = _credential(credential_id)
    return _download(documents.baked_png(credential), "image/png", f"credential-{credential.id}.png",
                     bool(request.args.get("download")))


@bp.get("/credentials/<uuid:credential_id>.svg")
@talisman(content_security_policy=SVG_POLICY)  # an SVG opened directly is a document: nothing in it may run
def credential_svg(credential_id):
    credential = _credential(credential_id)
    return _download(documents.baked_svg(credential), "image/svg+xml", f"credential-{credential.id}.svg",
                     bool(request.args.get("download")))


@bp.get("/status/<uuid:list_id>")
def status_list(list_id):
    """The signed BitstringStatusListCredential, with an ETag (a cache revalidates it for nothing)."""
    found = db.session.get(StatusList, list_id)
    if found is None or not found.document:
        abort(404)
    response = _json(found.document, STATUS_MAX_AGE, "application/ld+json")
    response.set_etag(found.etag)
    response.last_modified = found.updated_at
    return response.make_conditional(request)


# --- Open Badges 2.0 hosted documents -----------------------------------------------------------------

@bp.get("/ob2/assertions/<uuid:credential_id>")
def ob2_assertion(credential_id):
    """The hosted assertion; a revoked one answers 410 Gone with the stripped-down document, as OB 2.0's
    "Revoking Hosted Assertions" says (a backpack that only looks at the status code sees it too)."""
    credential = _credential(credential_id)
    response = _json(documents.ob2_assertion(credential), STATUS_MAX_AGE, "application/ld+json")
    if credential.revoked_at is not None:
        response.status_code = 410
    return response


@bp.get("/ob2/assertions/<uuid:credential_id>.png")
def ob2_assertion_png(credential_id):
    credential = _credential(credential_id)
    return _download(documents.baked_ob2_png(credential), "image/png", f"badge-{credential.id}.png",
                     bool(request.args.get("download")))


def _issuing_achievement(achievement_id) -> Achievement:
    achievement = db.session.get(Achievement, achievement_id)
    if achievement is None or not achievement.organisation.is_approved:
        abort(404)
    return achievement


@bp.get("/ob2/badges/<uuid:achievement_id>")
def ob2_badge_class(achievement_id):
    return _json(documents.ob2_badge_class(_issuing_achievement(achievement_id)), DOCUMENT_MAX_AGE,
                 "application/ld+json")


@bp.get("/ob2/badges/<uuid:achievement_id>/image")
def ob2_badge_image(achievement_id):
    return _download(images.achievement_png(_issuing_achievement(achievement_id)), "image/png", "badge.png",
                     False)


@bp.get("/ob2/issuers/<uuid:organisation_id>")
def ob2_issuer(organisation_id):
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or not organisation.is_approved:
        abort(404)
    return _json(documents.ob2_issuer(organisation), DOCUMENT_MAX_AGE, "application/ld+json")


# --- claim links --------------------------------------------------------------------------------------

@bp.route("/claim/<token>", methods=["GET", "POST"])
def claim(token: str):
    """GET shows what was awarded and how to get it (mail scanners that prefetch spend nothing); POST,
    signed in, puts it in the portfolio. Without an account: sign up with the address, and the
    credential lands when the address is confirmed (``awarding.deliver_pending``)."""
    form = EmptyForm()
    try:
        credential = awarding.peek_claim(db.session, token)
        if request.method == "POST" and current_user.is_authenticated and form.validate_on_submit():
            awarding.claim(db.session, current_user, token)
            db.session.commit()
            flash(_("The credential is now in your portfolio."), "success")
            return redirect(url_for("credentials.mine"))
    except ServiceError as exc:
        if exc.code != "invalid_token":
            raise
        db.session.rollback()
        return render_template("credentials/claim_invalid.html"), 400
    return render_template("credentials/claim.html", credential=credential, form=form)
