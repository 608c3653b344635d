"""Pages of the training catalogue: everyone signed in reads it; platform admins and approved
organisations' admins import a CSV (all or nothing: the refusal lists the bad lines) and withdraw
trainings. The work is ``app.services.trainings``."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import policy
from app.extensions import db, limiter
from app.models import Organisation
from app.path import bp
from app.path.forms import EmptyForm, TrainingImportForm
from app.services import orgs, trainings as service
from app.services.errors import ServiceError

PAGE = 50


def _publishers() -> list[tuple[str, str, Organisation | None]]:
    """Where the person may publish: the platform's catalogue (admins), their approved organisations."""
    found = [("platform", _("The platform"), None)] if policy.reviews_requests(current_user) else []
    for organisation, _role in orgs.organisations_of(db.session, current_user):
        if service.may_publish(current_user, organisation):
            found.append((str(organisation.id), organisation.name, organisation))
    return found


@bp.get("/trainings")
@login_required
def trainings():
    q = (request.args.get("q") or "").strip()[:100]
    try:
        page = max(0, min(int(request.args.get("page", 0)), 2000))
    except ValueError:
        page = 0
    found = service.catalogue(db.session, q=q or None, limit=PAGE + 1, offset=page * PAGE)
    publishers = {str(o.id): o.name for _k, _n, o in _publishers() if o is not None}
    return render_template("path/trainings.html", trainings=found[:PAGE], more=len(found) > PAGE, page=page, q=q,
                           may_import=bool(_publishers()), form=EmptyForm(), publishers=publishers,
                           is_admin=policy.reviews_requests(current_user))


@bp.route("/trainings/import", methods=["GET", "POST"])
@login_required
@limiter.limit("30/hour", methods=["POST"])
def import_trainings():
    publishers = _publishers()
    if not publishers:
        abort(404)
    form = TrainingImportForm()
    form.publisher.choices = [(key, name) for key, name, _o in publishers]
    errors, status = [], 200
    if form.validate_on_submit():
        chosen = next((o for key, _n, o in publishers if key == form.publisher.data), False)
        if chosen is False:
            abort(404)
        upload = form.file.data
        try:
            report = service.import_catalogue(db.session, current_user, upload.stream.read(service.MAX_BYTES + 1),
                                              filename=upload.filename or "", organisation=chosen)
        except service.CatalogueRefused as exc:
            db.session.rollback()
            errors, status = exc.errors, 422
        except ServiceError:
            abort(404)
        else:
            db.session.commit()
            flash(_("Catalogue imported: %(created)d new trainings, %(updated)d updated.",
                    created=report.created, updated=report.updated), "success")
            return redirect(url_for("path.trainings"))
    elif request.method == "POST":
        status = 400
    return render_template("path/trainings_import.html", form=form, errors=errors), status


@bp.post("/trainings/<training_id>/delete")
@login_required
def delete_training(training_id):
    if EmptyForm().validate_on_submit():
        try:
            service.delete_training(db.session, current_user, service.get(db.session, training_id))
        except ServiceError:
            abort(404)
        db.session.commit()
        flash(_("Training withdrawn from the catalogue."), "success")
    return redirect(url_for("path.trainings"))
