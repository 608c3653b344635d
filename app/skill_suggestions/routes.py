"""Confirm or dismiss a suggestion (plain forms, and ``fetch`` from the experience form), and the live
suggestions of a draft being typed. Every experience is looked up through ``policy`` (the owner's own)."""
from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import policy
from app.extensions import db
from app.models import Experience
from app.portfolio.labels import LEVEL_LABELS
from app.services import skill_suggestions as service
from app.services.errors import ServiceError
from app.skill_suggestions import bp

MAX_DRAFT = 20_200  # the experience form's own limits: a title and a 20,000-character description


def suggestions_for(experience) -> list[service.Suggestion]:
    """For the experience page: what the signed-in owner may add (nothing for anyone else)."""
    if not current_user.is_authenticated or not policy.can(current_user, policy.OWN, experience):
        return []
    return service.suggest(db.session, current_user, experience)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _back(experience):
    """Back to where the form was: the experience's edit page or (by default) its page."""
    if request.form.get("back") == "edit":
        return redirect(url_for("portfolio.edit_experience", item_id=experience.id, _anchor="suggestions"))
    return redirect(url_for("portfolio.experience", item_id=experience.id, _anchor="suggestions"))


def _refused(exc: ServiceError, experience):
    db.session.rollback()
    if _wants_json():
        return jsonify({"error": exc.code, "message": exc.message, "fields": exc.fields}), exc.status
    flash(" ".join([exc.message, *exc.fields.values()]), "error")
    return _back(experience)


@bp.route("/experiences/<uuid:item_id>/skill-suggestions/confirm", methods=["POST"])
@login_required
def confirm(item_id):
    experience = policy.get_or_404(Experience, item_id, current_user, policy.OWN)
    try:
        skill = service.confirm(db.session, current_user, experience, request.form.get("concept", ""),
                                request.form.get("level", ""))
    except ServiceError as exc:
        return _refused(exc, experience)
    db.session.commit()
    if _wants_json():
        return jsonify({"skill_id": str(skill.id), "name": skill.name, "level": skill.level})
    flash(_("“%(name)s” is now one of your skills, shown with this experience.", name=skill.name), "success")
    return _back(experience)


@bp.route("/experiences/<uuid:item_id>/skill-suggestions/dismiss", methods=["POST"])
@login_required
def dismiss(item_id):
    experience = policy.get_or_404(Experience, item_id, current_user, policy.OWN)
    try:
        concept = service.dismiss(db.session, current_user, experience, request.form.get("concept", ""))
    except ServiceError as exc:
        return _refused(exc, experience)
    db.session.commit()
    if _wants_json():
        return jsonify({"dismissed": concept.uri})
    flash(_("Suggestion dismissed: it will not be offered again for this experience."), "success")
    return _back(experience)


@bp.route("/skill-suggestions/draft", methods=["POST"])
@login_required
def draft():
    """The suggestions for the text being typed in the experience form (an HTML fragment that the
    form's script puts in place). Nothing is stored; ticked suggestions stay ticked."""
    experience = None
    if request.form.get("experience"):
        experience = policy.get_or_404(Experience, request.form["experience"], current_user, policy.OWN)
    title = request.form.get("title", "")
    description = request.form.get("description", "")
    if len(title) + len(description) > MAX_DRAFT:
        abort(413)
    found = service.suggest(db.session, current_user, experience, title=title, description=description)
    return render_template("skill_suggestions/_choices.html", suggestions=found,
                           ticked=set(request.form.getlist("suggested")), levels=LEVEL_LABELS)


def confirm_ticked(experience) -> None:
    """After the experience form is saved: the suggestions ticked on it become the owner's skills, at
    the level chosen beside each (``suggested`` holds concept ids, ``level-<id>`` their levels)."""
    for concept_id in request.form.getlist("suggested")[:service.LIMIT * 3]:
        service.confirm(db.session, current_user, experience, concept_id,
                        request.form.get(f"level-{concept_id}", ""))
