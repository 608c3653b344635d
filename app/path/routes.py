"""Pages: the owner's hypotheses (list, create with an occupation search or free text), a hypothesis with
its gap analysis, trainings and action plan, its history; a counsellor's view of a portfolio's
hypotheses. Thin: parse, call ``app.services.path``, render. Another person's hypothesis is a 404 page.

The occupation picker works without JavaScript: the search box submits (GET) to the same page, which
lists the matching occupations as radio buttons (``frameworks.search``, accent- and case-insensitive).
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user, login_required

from app import policy
from app.database import utcnow
from app.extensions import db, limiter
from app.models import Portfolio
from app.path import bp
from app.path.forms import (CommentForm, EmptyForm, GoalForm, HypothesisEditForm, HypothesisForm, NoteForm,
                            StatusForm)
from app.portfolio.common import show_errors
from app.services import frameworks, grants, path as service
from app.services.errors import ServiceError, ValidationFailed

write_limit = limiter.limit("120/hour", methods=["POST"])


def lang() -> str:
    return str(get_locale() or "fr")[:2]


def _status() -> int:
    return 400 if request.method == "POST" else 200


def _occupation_choices(q: str) -> list[tuple[str, str]]:
    if not q.strip():
        return []
    found = frameworks.search(db.session, q, kind="occupation", lang=None, limit=20)
    return [(concept.uri, frameworks.label(concept, lang())) for concept in found]


@bp.route("/path", methods=["GET", "POST"])
@login_required
@write_limit
def index():
    """The owner's hypotheses, and the form to add one (occupation search, or a free description)."""
    if current_user.portfolio is None:
        abort(404)
    q = (request.args.get("q") or request.form.get("q") or "").strip()[:100]
    form = HypothesisForm()
    form.occupation.choices = _occupation_choices(q)
    if form.validate_on_submit():
        data = {"occupation": form.occupation.data or "", "title": form.title.data or "",
                "description": form.description.data or ""}
        try:
            created = service.create_hypothesis(db.session, current_user, data, lang=lang())
        except ValidationFailed as exc:
            show_errors(form, exc)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Hypothesis added."), "success")
            return redirect(url_for("path.hypothesis", hypothesis_id=created.id))
    found = service.hypotheses_of(db.session, current_user, current_user.portfolio)
    return render_template("path/index.html", hypotheses=found, form=form, q=q,
                           searched=bool(q)), _status()


def _hypothesis(hypothesis_id):
    try:
        return service.get_hypothesis(db.session, current_user, hypothesis_id)
    except ServiceError:
        abort(404)


def _render(hypothesis, *, status: int = 200, **forms):
    role = policy.path_role(current_user, hypothesis.portfolio_id)
    grants_ = service.counsellor_grants(db.session, current_user, hypothesis.portfolio_id)
    gap = service.gap(db.session, hypothesis.portfolio, hypothesis, lang=lang(), grants=grants_)
    forms.setdefault("goal_form", GoalForm(prefix="goal"))
    forms.setdefault("note_form", NoteForm(prefix="note"))
    forms.setdefault("comment_form", CommentForm(prefix="comment"))
    if role == "owner":
        forms.setdefault("edit_form", HypothesisEditForm(obj=hypothesis, prefix="edit"))
    occupation = frameworks.find(db.session, hypothesis.occupation_uri) if hypothesis.occupation_uri else None
    service.log_read(db.session, current_user, hypothesis, ip=request.remote_addr)
    db.session.commit()  # the access log line of a counsellor's read
    occupation_name = (frameworks.label(occupation, lang()) if occupation is not None
                       else hypothesis.occupation_label or hypothesis.occupation_uri)
    return render_template("path/hypothesis.html", hypothesis=hypothesis, role=role, gap=gap,
                           occupation=occupation, occupation_name=occupation_name, today=utcnow().date(), trainings=service.trainings_for(db.session, gap["missing"]),
                           plan=service.plan(db.session, current_user, hypothesis), empty=EmptyForm(),
                           status_form=StatusForm(), counsellor_view=grants_ is not None,
                           shared_by=hypothesis.portfolio.display_name or hypothesis.portfolio.owner.email,
                           **forms), status


@bp.get("/path/<hypothesis_id>")
@login_required
def hypothesis(hypothesis_id):
    return _render(_hypothesis(hypothesis_id))


@bp.post("/path/<hypothesis_id>/edit")
@login_required
@write_limit
def edit(hypothesis_id):
    found = _hypothesis(hypothesis_id)
    form = HypothesisEditForm(prefix="edit")
    if form.validate_on_submit():
        data = {"title": form.title.data, "status": form.status.data, "description": form.description.data or "",
                "notes": form.notes.data or ""}
        try:
            service.update_hypothesis(db.session, current_user, found, data, lang=lang())
        except ValidationFailed as exc:
            show_errors(form, exc)
        except ServiceError:
            abort(404)
        else:
            db.session.commit()
            flash(_("Hypothesis saved."), "success")
            return redirect(url_for("path.hypothesis", hypothesis_id=found.id))
    return _render(found, status=400, edit_form=form)


@bp.post("/path/<hypothesis_id>/delete")
@login_required
def delete(hypothesis_id):
    found = _hypothesis(hypothesis_id)
    if EmptyForm().validate_on_submit():
        try:
            service.delete_hypothesis(db.session, current_user, found)
        except ServiceError:
            abort(404)
        db.session.commit()
        flash(_("Hypothesis deleted, with its plan and history."), "success")
        return redirect(url_for("path.index"))
    return redirect(url_for("path.hypothesis", hypothesis_id=found.id))


ITEM_FORMS = {"goal": GoalForm, "step": GoalForm, "note": NoteForm, "comment": CommentForm}


@bp.post("/path/<hypothesis_id>/items/<kind>")
@login_required
@write_limit
def add_item(hypothesis_id, kind):
    found = _hypothesis(hypothesis_id)
    if kind not in ITEM_FORMS:
        abort(404)
    prefix = "goal" if kind in ("goal", "step") else kind
    form = ITEM_FORMS[kind](prefix=prefix)
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in ("title", "body", "due_on", "happened_on", "parent_id")
                if hasattr(form, name) and getattr(form, name).data not in (None, "")}
        data["kind"] = kind
        try:
            item = service.add_item(db.session, current_user, found, data)
        except ValidationFailed as exc:
            show_errors(form, exc)
        except ServiceError:
            abort(404)
        else:
            db.session.commit()
            flash(_("Proposed: it waits for the owner's answer.") if item.acceptance == "pending"
                  else _("Added to the plan."), "success")
            return redirect(url_for("path.hypothesis", hypothesis_id=found.id, _anchor="plan"))
    return _render(found, status=400, **{f"{prefix}_form": form})


def _item(item_id):
    try:
        return service.get_item(db.session, current_user, item_id)
    except ServiceError:
        abort(404)


@bp.post("/path/items/<item_id>/status")
@login_required
@write_limit
def item_status(item_id):
    item = _item(item_id)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            service.update_item(db.session, current_user, item, {"status": form.status.data})
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.fields.get("status") or exc.message, "error")
        else:
            db.session.commit()
    return redirect(url_for("path.hypothesis", hypothesis_id=item.hypothesis_id, _anchor="plan"))


@bp.post("/path/items/<item_id>/<decision>")
@login_required
@write_limit
def decide(item_id, decision):
    item = _item(item_id)
    if decision not in ("accept", "decline"):
        abort(404)
    if EmptyForm().validate_on_submit():
        try:
            service.decide(db.session, current_user, item, decision == "accept")
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Goal accepted.") if decision == "accept" else _("Proposal declined."), "success")
    return redirect(url_for("path.hypothesis", hypothesis_id=item.hypothesis_id, _anchor="plan"))


@bp.get("/path/<hypothesis_id>/history")
@login_required
def history(hypothesis_id):
    found = _hypothesis(hypothesis_id)
    return render_template("path/history.html", hypothesis=found,
                           events=service.history(db.session, current_user, found))


@bp.get("/shared/<uuid:grant_id>/path")
@login_required
def shared(grant_id):
    """A counsellor's view of the hypotheses of a portfolio that invited them."""
    try:
        grant = grants.active_grant(db.session, current_user, grant_id)
    except ServiceError:
        abort(404)
    portfolio = db.session.get(Portfolio, grant.portfolio_id)
    try:
        found = service.hypotheses_of(db.session, current_user, portfolio)
    except ServiceError:
        abort(404)
    return render_template("path/shared.html", grant=grant, portfolio=portfolio, hypotheses=found,
                           summary=service.counsellor_summary(db.session, current_user, grant))


def counsellor_summary(grant) -> dict | None:
    """For "Shared with me" (a Jinja global): a counsellor grant's open goals, due soon, proposals and
    recent plan changes; None for other roles."""
    if grant.role != "counsellor" or not grant.is_active():
        return None
    return service.counsellor_summary(db.session, current_user, grant)
