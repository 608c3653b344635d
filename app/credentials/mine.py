"""The owner's "Credentials" section: the credentials in their portfolio with their status; hide or show
one, let its public page show their name or not, download it, share its public page."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.credentials import bp
from app.credentials.forms import EmptyForm
from app.extensions import db
from app.services import awarding


@bp.get("/portfolio/credentials")
@login_required
def mine():
    return render_template("credentials/mine.html", credentials=awarding.owned(db.session, current_user),
                           form=EmptyForm())


@bp.post("/portfolio/credentials/<uuid:credential_id>/visibility")
@login_required
def visibility(credential_id):
    """``hidden`` and ``show_name`` are "1" or "0"; anything else leaves that setting as it is."""
    credential = awarding.get_owned(db.session, current_user, credential_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("credentials.mine")), 303

    def flag(name):
        value = request.form.get(name)
        return {"1": True, "0": False}.get(value)

    awarding.set_visibility(db.session, current_user, credential, hidden=flag("hidden"), show_name=flag("show_name"))
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("credentials.mine")), 303
