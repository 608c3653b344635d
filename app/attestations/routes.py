"""The owner's pages (ask for an attestation from an item, follow every request, cancel, remind) and the
referee's link page (no account: the link is the credential). Thin: parse, call the service, render."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.attestations import bp, emails
from app.attestations.forms import ConfirmForm, DeclineForm, EmptyForm, RequestForm
from app.extensions import db, limiter
from app.portfolio.common import show_errors
from app.services import attestations as service
from app.services.errors import ServiceError, ValidationFailed

KINDS = {"experiences": "experience", "skills": "skill"}
# Per address: each sends a mail to someone who did not ask for it (the service also caps reminders).
mail_limit = limiter.limit("30/hour", methods=["POST"])


def item_attestations(kind: str, item) -> dict:
    """For the item pages (a Jinja global): its signed attestations and its requests (owner only)."""
    confirmed = service.confirmed_for(db.session, kind, item.id)
    requests = service.list_for(db.session, current_user, kind=kind, item_id=item.id, purpose="attestation") \
        if current_user.is_authenticated and current_user.portfolio.id == item.portfolio_id else []
    return {"confirmed": confirmed, "requests": requests, "kinds": {v: k for k, v in KINDS.items()}}


@bp.route("/<any(experiences, skills):kinds>/<uuid:item_id>/attest", methods=["GET", "POST"])
@login_required
@mail_limit
def new(kinds, item_id):
    kind = KINDS[kinds]
    item = service.owned_item(db.session, current_user, kind, item_id)  # NotFound -> 404 page
    title, statement = service.statement_of(kind, item)
    form = RequestForm()
    people = service.certifiers(db.session, current_user, item)
    form.certifier.choices = [("", _("Someone else (type their name and address)"))] + [
        (str(p.id), f"{service.person_name(p)} <{p.email}>") for p in people]
    return request_page(form, lambda: service.create(
        db.session, current_user, kind, item.id, referee_name=form.referee_name.data,
        referee_email=form.referee_email.data, relationship=form.relationship.data, message=form.message.data,
        certifier_id=form.certifier.data or None),
        "attestations/new.html", item=item, kind=kind, title=title, statement=statement, certifiers=people)


def request_page(form: RequestForm, create, template: str, **context):
    """The request page of an attestation or an endorsement (``attestations/_request_form.html``): on a
    valid POST, ``create()`` makes the request (``(request, raw token)``), which is committed and mailed
    to the referee; otherwise the form again, with the service's refusals under their fields."""
    if form.validate_on_submit():
        try:
            created, raw = create()
        except ValidationFailed as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            emails.send_request(created, raw)
            flash(_("Your request was sent to %(email)s.", email=created.referee_email), "success")
            return redirect(url_for("attestations.mine"))
    status = 400 if request.method == "POST" else 200
    return render_template(template, form=form, **context), status


@bp.get("/portfolio/attestations")
@login_required
def mine():
    return render_template("attestations/mine.html", requests=service.list_for(db.session, current_user),
                           form=EmptyForm(), kinds={v: k for k, v in KINDS.items()})


@bp.post("/portfolio/attestations/<uuid:request_id>/cancel")
@login_required
def cancel(request_id):
    found = service.get_owned(db.session, current_user, request_id)
    if EmptyForm().validate_on_submit():
        service.cancel(db.session, current_user, found)
        db.session.commit()
        flash(_("The request is cancelled: its link no longer works."), "success")
    return redirect(url_for("attestations.mine"))


@bp.post("/portfolio/attestations/<uuid:request_id>/remind")
@login_required
@mail_limit
def remind(request_id):
    found = service.get_owned(db.session, current_user, request_id)
    if EmptyForm().validate_on_submit():
        try:
            raw = service.remind(db.session, current_user, found)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for("attestations.mine")), 303
        db.session.commit()
        emails.send_request(found, raw, reminder=True)
        flash(_("A reminder was sent with a new link; the previous one no longer works."), "success")
    return redirect(url_for("attestations.mine"))


# --- the referee ------------------------------------------------------------------------------------

# A request's link that no longer works: the page that says why (attestations and endorsements alike).
LINK_ERRORS = ("invalid_link", "link_used", "link_expired", "request_cancelled")


def invalid_link(exc: ServiceError):
    db.session.rollback()
    return render_template("attestations/link_invalid.html", message=exc.message, code=exc.code), exc.status


@bp.route("/attest/<token>", methods=["GET", "POST"])
@mail_limit
def answer(token: str):
    """GET shows exactly the item asked about (a mail scanner's prefetch uses nothing); POST confirms or
    declines, once."""
    try:
        found = service.peek(db.session, token)
    except ServiceError as exc:
        return invalid_link(exc)
    if found.purpose == "endorsement":  # an endorsement request: its own page (app.credentials.endorse)
        return redirect(url_for("credentials.endorse_answer", token=token), 303)
    organisations = service.signing_organisations(db.session, current_user)
    signer_ok = current_user.is_authenticated and current_user.email == found.referee_email
    confirm_form, decline_form = ConfirmForm(), DeclineForm()
    confirm_form.sign_as.choices = [("", _("Myself (Sillage confirms my e-mail address)"))] + \
        ([(str(org.id), org.name) for org in organisations] if signer_ok else [])
    if request.method == "GET":
        confirm_form.statement.data = found.statement
        confirm_form.sign_as.data = ""
    try:
        if request.form.get("action") == "confirm" and confirm_form.validate_on_submit():
            done = service.confirm(db.session, token, statement=confirm_form.statement.data,
                                   as_organisation=confirm_form.sign_as.data or None, user=current_user)
        elif request.form.get("action") == "decline" and decline_form.validate_on_submit():
            done = service.decline(db.session, token, decline_form.reason.data)
        else:
            done = None
    except ServiceError as exc:
        if exc.code in LINK_ERRORS:
            return invalid_link(exc)
        if not isinstance(exc, ValidationFailed):
            raise
        show_errors(confirm_form, exc)
        done = None
    if done is not None:
        db.session.commit()
        emails.notify_owner(done)
        return render_template("attestations/answered.html", attestation=done)
    status = 400 if request.method == "POST" else 200
    return render_template("attestations/answer.html", attestation=found, confirm_form=confirm_form,
                           decline_form=decline_form, organisations=organisations, signer_ok=signer_ok), status
