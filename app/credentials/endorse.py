"""Person endorsements: the owner asks someone to endorse a skill or a received credential, the endorser
answers through the e-mailed link while signed in, and the signed endorsement has a public page, its JSON
and a baked PNG. The request and its link are the attestations' (``app.services.attestations``); the
signing is ``app.services.endorsements``. Thin: parse, call the service, render."""
from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.attestations import emails
from app.attestations.forms import DeclineForm, RequestForm
from app.attestations.public import local_fetch
from app.attestations.routes import mail_limit
from app.credentials import bp
from app.credentials.forms import EmptyForm, EndorseForm
from app.extensions import db
from app.portfolio.common import show_errors
from app.services import attestations, endorsements
from app.services.errors import ServiceError, ValidationFailed
from app.verification import display, runner
from app.verification.routes import verify_limit
from badges.artwork import default_badge, to_png
from badges.bake import bake
from badges.fetch import json_fetcher
from badges.verify import verify

LINK_ERRORS = ("invalid_link", "link_used", "link_expired", "request_cancelled")


@bp.route("/<any(skills, credentials):kinds>/<uuid:item_id>/endorse-request", methods=["GET", "POST"])
@login_required
@mail_limit
def endorse_request(kinds, item_id):
    kind = kinds[:-1]
    item = attestations.owned_item(db.session, current_user, kind, item_id)  # NotFound -> 404
    title, statement = attestations.statement_of(kind, item)
    form = RequestForm()
    if form.validate_on_submit():
        try:
            created, raw = endorsements.request_endorsement(
                db.session, current_user, kind, item.id, referee_name=form.referee_name.data,
                referee_email=form.referee_email.data, relationship=form.relationship.data,
                message=form.message.data)
        except ValidationFailed as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            emails.send_request(created, raw)
            flash(_("Your request was sent to %(email)s.", email=created.referee_email), "success")
            return redirect(url_for("attestations.mine"))
    status = 400 if request.method == "POST" else 200
    return render_template("credentials/endorse_request.html", form=form, title=title, statement=statement), status


def _invalid_link(exc: ServiceError):
    db.session.rollback()
    return render_template("attestations/link_invalid.html", message=exc.message, code=exc.code), exc.status


@bp.route("/endorse/<token>", methods=["GET", "POST"])
@mail_limit
def endorse_answer(token: str):
    """GET shows what is to be endorsed (a mail scanner's prefetch uses nothing); POST, signed in with the
    address the request was sent to, endorses or declines, once."""
    try:
        found = endorsements.peek_request(db.session, token)
    except ServiceError as exc:
        return _invalid_link(exc)
    form, decline_form = EndorseForm(), DeclineForm()
    try:
        if request.form.get("action") == "endorse" and form.validate_on_submit():
            done = endorsements.endorse_by_link(db.session, token, current_user, form.comment.data)
        elif request.form.get("action") == "decline" and decline_form.validate_on_submit():
            done = attestations.decline(db.session, token, decline_form.reason.data)
        else:
            done = None
    except ValidationFailed as exc:
        show_errors(form, exc)
        done = None
    except ServiceError as exc:
        if exc.code in LINK_ERRORS:
            return _invalid_link(exc)
        db.session.rollback()
        flash(exc.message, "error")
        done = None
    if done is not None:
        db.session.commit()
        emails.notify_owner(done)
        return render_template("credentials/endorse_done.html", endorsement=done)
    signed_in_as_referee = current_user.is_authenticated and current_user.email == found.referee_email
    status = 400 if request.method == "POST" else 200
    return render_template("credentials/endorse_answer.html", request_=found, form=form, decline_form=decline_form,
                           signed_in_as_referee=signed_in_as_referee), status


# --- public: the signed endorsement ------------------------------------------------------------------

def _found(endorsement_id):
    found = endorsements.get_person(db.session, endorsement_id)
    if found is None:
        from app.services.erasure import is_erased_page  # noqa: PLC0415 - issue 11: gone with its holder
        abort(410 if is_erased_page(db.session, endorsement_id) else 404)
    return found


@bp.get("/endorsements/<uuid:endorsement_id>")
def person_endorsement(endorsement_id):
    return render_template("credentials/endorsement.html", endorsement=_found(endorsement_id), form=EmptyForm(),
                           result=None)


@bp.post("/endorsements/<uuid:endorsement_id>/verify")
@verify_limit
def verify_person_endorsement(endorsement_id):
    found = _found(endorsement_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        return render_template("credentials/endorsement.html", endorsement=found, form=form, result=None), 400
    fallback = json_fetcher(allow_loopback=bool(current_app.config.get("VERIFY_ALLOW_LOOPBACK")))
    with runner.slot():
        result = verify(found.document, fetch=local_fetch(db.session, fallback), locale=runner.reader_locale())
    response = make_response(render_template("credentials/endorsement.html", endorsement=found, form=form,
                                             result=display.with_verdict(result, runner.reader_locale())))
    response.headers["Cache-Control"] = "no-store"
    return response


def baked(found) -> bytes:
    """A generated badge with the signed document inside (``openbadgecredential`` iTXt), so that an
    attestation or endorsement travels as a picture like an awarded credential."""
    return bake(to_png(default_badge(found.item_title, found.purpose, str(found.id)), size=256), found.document)


@bp.get("/<any(attestations, endorsements):kinds>/<uuid:request_id>.png")
def request_png(kinds, request_id):
    found = (attestations.get_public(db.session, request_id) if kinds == "attestations"
             else endorsements.get_person(db.session, request_id))
    if found is None:
        from app.services.erasure import is_erased_page  # noqa: PLC0415 - issue 11: gone with its holder
        abort(410 if is_erased_page(db.session, request_id) else 404)
    response = make_response(baked(found))
    response.mimetype = "image/png"
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="{found.purpose}-{found.id}.png"'
    return response
