"""The issuer's pages: award an achievement to one person, and the list of issued credentials with
revoke, suspend and lift the suspension.

Every route loads the organisation through ``orgs.get(..., "issue")``: an organisation the person is not
an issuer of answers 404 (ids reveal nothing), an unapproved one 403 with the reason. Objects named in
the URL must belong to that organisation, else 404.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.utils import apply_errors
from app.credentials import bp, emails
from app.credentials.forms import AwardForm, EmptyForm, ReasonForm
from app.extensions import db
from app.models import Organisation
from app.services import achievements, awarding, orgs
from app.services.errors import ServiceError, ValidationFailed

PAGE_SIZE = 100


def _organisation(organisation_id, *, revoking: bool = False):
    """The organisation the person issues for; with ``revoking`` (the list and the revocation), also a
    closed one to its former admins and the platform admin (``awarding.may_revoke``: what it issued
    stays revocable), whom ``orgs.get`` answers 404 or 403 like any other page otherwise."""
    found = db.session.get(Organisation, organisation_id)
    closed = revoking and found is not None and found.closed_at is not None
    return orgs.get(db.session, current_user, organisation_id, "revoke_closed" if closed else "issue")


def _achievement(organisation, achievement_id):
    achievement = achievements.get(db.session, current_user, achievement_id, "award")
    if achievement.organisation_id != organisation.id:
        abort(404)
    return achievement


def _issued_credential(organisation, credential_id):
    credential = awarding.get_for_issuer(db.session, current_user, credential_id)
    if credential.organisation_id != organisation.id:
        abort(404)
    return credential


@bp.route("/organisations/<uuid:organisation_id>/achievements/<uuid:achievement_id>/award",
          methods=["GET", "POST"])
@login_required
def award(organisation_id, achievement_id):
    organisation = _organisation(organisation_id)
    achievement = _achievement(organisation, achievement_id)
    form = AwardForm()
    if form.validate_on_submit():
        try:
            awarded = awarding.award(db.session, current_user, achievement, form.recipient.data,
                                     narrative=form.narrative.data or None, evidence=form.evidence.data or "")
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            emails.notify(awarded)
            flash(_("The credential has been issued and the recipient notified."), "success")
            return redirect(url_for("credentials.page", credential_id=awarded.credential.id))
    return render_template("credentials/award.html", form=form, organisation=organisation,
                           achievement=achievement), 422 if form.errors else 200


@bp.get("/organisations/<uuid:organisation_id>/credentials")
@login_required
def issued(organisation_id):
    organisation = _organisation(organisation_id, revoking=True)
    return render_template("credentials/issued.html", organisation=organisation,
                           credentials=awarding.issued(db.session, organisation, limit=PAGE_SIZE),
                           reason_form=ReasonForm(), form=EmptyForm())


def _act(organisation_id, credential_id, action, *, revoking: bool = False):
    organisation = _organisation(organisation_id, revoking=revoking)
    credential = _issued_credential(organisation, credential_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action(credential, form.reason.data or None)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.fields.get("reason") or exc.message, "error")
        return redirect(url_for("credentials.issued", organisation_id=organisation.id)), 303
    return redirect(url_for("credentials.issued", organisation_id=organisation.id)), 303


@bp.post("/organisations/<uuid:organisation_id>/credentials/<uuid:credential_id>/revoke")
@login_required
def revoke(organisation_id, credential_id):
    def done(credential, reason):
        awarding.revoke(db.session, current_user, credential, reason)
        flash(_("The credential is revoked."), "success")
    return _act(organisation_id, credential_id, done, revoking=True)


@bp.post("/organisations/<uuid:organisation_id>/credentials/<uuid:credential_id>/suspend")
@login_required
def suspend(organisation_id, credential_id):
    def done(credential, reason):
        awarding.suspend(db.session, current_user, credential, reason)
        flash(_("The credential is suspended."), "success")
    return _act(organisation_id, credential_id, done)


@bp.post("/organisations/<uuid:organisation_id>/credentials/<uuid:credential_id>/unsuspend")
@login_required
def unsuspend(organisation_id, credential_id):
    def done(credential, _reason):
        awarding.unsuspend(db.session, current_user, credential)
        flash(_("The suspension is lifted."), "success")
    return _act(organisation_id, credential_id, done)
