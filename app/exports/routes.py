"""The export page: choose (everything, or sections and items), optionally a passphrase; then the list of
exports with their progress and download links. Every export is looked up as the signed-in owner's
(another person's id is a 404); an expired link is a 410 page."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.api.exports import export_limit, file_response
from app.auth.forms import EmptyForm
from app.exports import bp
from app.extensions import db
from app.models import Diploma, Experience, JournalEntry, Skill
from app.services import exports as service, portfolio
from app.services.errors import ServiceError

# The sections offered on the page, in the page's order, with their labels.
SECTION_LABELS = {
    "profile": _l("Profile"), "experiences": _l("Experiences"), "diplomas": _l("Diplomas"), "skills": _l("Skills"),
    "journal": _l("Journal"), "documents": _l("Documents"), "credentials": _l("Credentials"), "pages": _l("Pages"),
    "cvs": _l("CVs"), "grants": _l("People I share with"), "grants_received": _l("Portfolios shared with me"),
    "share_links": _l("Share links"), "attestation_requests": _l("Attestation requests"), "access_log": _l("Access log"),
}
PICKABLE = (("experience", Experience, "title"), ("diploma", Diploma, "title"), ("skill", Skill, "name"),
            ("journal", JournalEntry, "title"))


def _me():
    return current_user._get_current_object()


def _choices() -> dict:
    """The owner's items that may be picked one by one, by type: [(id, label)]."""
    me = _me()
    picks = {kind: [(str(item.id), getattr(item, attribute))
                    for item in portfolio.list_items(db.session, me, model, with_links=False)]
             for kind, model, attribute in PICKABLE}
    from app.services import documents  # noqa: PLC0415
    picks["document"] = [(str(d.id), d.name) for d in documents.search(db.session, me)[:200]]
    return picks


def _selection_from_form():
    if request.form.get("scope", "all") == "all":
        return None
    refs = [{"type": "section", "id": name} for name in request.form.getlist("section")]
    for value in request.form.getlist("item"):
        kind, _sep, ident = value.partition(":")
        refs.append({"type": kind, "id": ident})
    return refs


def _page(form, error=None, status=200):
    exports = service.list_for(db.session, _me())
    busy = any(e.status in service.IN_PROGRESS for e in exports)
    return render_template("exports/index.html", form=form, exports=exports, error=error, busy=busy,
                           sections=SECTION_LABELS, picks=_choices()), status


@bp.get("")
@login_required
def index():
    return _page(EmptyForm())


@bp.post("")
@login_required
@export_limit
def create():
    form = EmptyForm()
    if not form.validate_on_submit():
        return _page(form, _("The form has expired; please try again."), 400)
    passphrase = request.form.get("passphrase") or None
    if passphrase is not None and passphrase != request.form.get("passphrase_confirm"):
        return _page(form, _("The two passphrases are not the same."), 422)
    try:
        export = service.request_export(db.session, _me(), selection=_selection_from_form(), passphrase=passphrase)
    except ServiceError as error:
        db.session.rollback()
        message = error.message
        if error.fields.get("selection"):
            message = _("Choose at least one section or item, or export everything.")
        return _page(form, message, error.status)
    db.session.commit()
    service.enqueue(export)
    flash(_("Your export is being prepared. This page shows its progress."), "success")
    return redirect(url_for(".index"))


@bp.get("/<uuid:export_id>/download")
@login_required
def download(export_id):
    try:
        export = service.get(db.session, _me(), export_id)
        return file_response(_me(), export)
    except service.ExportGone:
        abort(410)
    except ServiceError as error:
        if error.status == 404:
            abort(404)
        flash(error.message, "error")
        return redirect(url_for(".index"))
