"""The endorsement form shown on achievement, organisation and credential pages to the admins and issuers
of other approved organisations: ``POST /endorse/<kind>/<id>`` signs through
``app.services.endorsements`` and returns to the page (the API does the same for scripts)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.extensions import db
from app.models.endorsements import SUBJECT_KINDS
from app.services import endorsements, orgs
from app.services.errors import ServiceError
from badges.endorsement import COMMENT_MAX

bp = Blueprint("endorse", __name__)


class EndorseForm(FlaskForm):
    organisation = SelectField(_l("Endorse as"), validators=[DataRequired()])
    comment = TextAreaField(_l("Your endorsement"), validators=[DataRequired(), Length(max=COMMENT_MAX)])


def endorsers(kind: str, row) -> list:
    """The signed-in person's approved organisations that may endorse ``row`` (not its own issuer)."""
    if not current_user.is_authenticated:
        return []
    own = row.id if kind == "organisation" else row.organisation_id
    return [org for org, _role in orgs.organisations_of(db.session, current_user)
            if org.id != own and orgs.may_issue(current_user, org)]


def form_for(kind: str, subject_id):
    """The form for ``_endorsements.html``, or None when the reader cannot endorse this subject."""
    try:
        row = endorsements.find_subject(db.session, kind, subject_id)
    except ServiceError:
        return None
    choices = endorsers(kind, row)
    if not choices:
        return None
    form = EndorseForm()
    form.organisation.choices = [(str(org.id), org.name) for org in choices]
    return form


def _back(kind: str, row):
    if kind == "achievement":
        return url_for("issuers.achievement", org_id=row.organisation_id, achievement_id=row.id)
    if kind == "organisation":
        return url_for("issuers.profile", org_id=row.id)
    return url_for("credentials.page", credential_id=row.id)


@bp.post("/endorse/<kind>/<subject_id>")
@login_required
def endorse(kind, subject_id):
    if kind not in SUBJECT_KINDS:
        abort(404)
    try:
        row = endorsements.find_subject(db.session, kind, subject_id)
    except ServiceError:
        abort(404)
    form = form_for(kind, subject_id)
    if form is None:
        abort(403)
    if not form.validate_on_submit():
        flash(_("Choose an organisation and write your endorsement (at most %(n)d characters).", n=COMMENT_MAX),
              "error")
        return redirect(_back(kind, row))
    try:
        endorser = orgs.get(db.session, current_user, form.organisation.data, "issue")
        endorsements.endorse(db.session, current_user, endorser, kind, row.id, form.comment.data)
    except ServiceError as error:
        db.session.rollback()
        message = " ".join([error.message, *error.fields.values()])
        flash(message, "error")
        return redirect(_back(kind, row))
    db.session.commit()
    flash(_("Your endorsement is signed and published."), "success")
    return redirect(_back(kind, row))
