"""Framework pages: browse and search concepts (everyone signed in); import and retire (platform admins).

Frameworks are reference data, not anyone's portfolio: every signed-in person reads them. Importing
and retiring are the platform admins' (a 404 for anyone else, as the other admin pages do).
"""
from __future__ import annotations

import uuid

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.forms import EmptyForm
from app.extensions import db
from app.frameworks.forms import (FORMAT_LABELS, KIND_LABELS, RELATION_LABELS, REVERSE_RELATION_LABELS,
                                  SKILL_TYPE_LABELS, ImportForm, kind_choices, skill_type_choices)
from app.models.frameworks import CONCEPT_KINDS, SKILL_TYPES, Concept
from app.models.jobs import Batch
from app.services import batches, frameworks
from app.services.errors import NotFound, ServiceError
from app.storage import StorageUnavailable

bp = Blueprint("frameworks", __name__, template_folder="templates")
PICK_TARGETS = ("new",)  # or a skill's id: where "Use this concept" goes back to


@bp.context_processor
def _helpers():
    lang = _lang()
    return {"kind_labels": KIND_LABELS, "relation_labels": RELATION_LABELS,
            "reverse_relation_labels": REVERSE_RELATION_LABELS, "lang": lang,
            "skill_type_labels": SKILL_TYPE_LABELS,
            "concept_label": lambda c: frameworks.label(c, lang),
            "concept_description": lambda c: frameworks.description(c, lang)}


def _lang() -> str:
    locale = str(get_locale() or "fr")[:2]
    return locale if locale in frameworks.LANGUAGES else "fr"


def _pick_target() -> str | None:
    """``pick`` names the skill form to go back to: "new", or the id of one of the person's skills."""
    pick = request.args.get("pick", "")
    if pick in PICK_TARGETS:
        return pick
    try:
        return str(uuid.UUID(pick))
    except ValueError:
        return None


def pick_url(target: str | None, concept: Concept) -> str | None:
    if target is None:
        return None
    if target == "new":
        return url_for("portfolio.new_skill", concept=concept.id)
    return url_for("portfolio.edit_skill", item_id=target, concept=concept.id)


@bp.get("/frameworks")
@login_required
def index():
    q = request.args.get("q", "").strip()[:200]
    kind = request.args.get("kind", "")
    kind = kind if kind in CONCEPT_KINDS else None
    skill_type = request.args.get("skill_type", "")
    skill_type = skill_type if skill_type in SKILL_TYPES else None
    slug = request.args.get("framework", "")
    available = frameworks.frameworks(db.session)
    chosen = next((f for f in available if f.slug == slug), None)
    results = frameworks.search(db.session, q, kind=kind, framework=chosen, skill_type=skill_type,
                                limit=50) if q else []
    target = _pick_target()
    return render_template("frameworks/index.html", q=q, kind=kind or "", framework=chosen, available=available,
                           results=results, kinds=kind_choices(), pick=target, skill_type=skill_type or "",
                           skill_types=skill_type_choices(),
                           pick_for=lambda c: pick_url(target, c))


@bp.get("/frameworks/suggest")
@login_required
def suggest():
    """The skill form's autocomplete (JSON; same session as the page, unlike the token-only API)."""
    q = request.args.get("q", "")[:200]
    kinds = [kind for kind in request.args.getlist("kind") if kind in CONCEPT_KINDS]
    lang = _lang()
    found = frameworks.search(db.session, q, kind=kinds, limit=10) if len(q.strip()) >= 2 else []
    return jsonify([{"id": str(c.id), "uri": c.uri, "kind": c.kind, "label": frameworks.label(c, lang),
                     "framework": c.framework.name} for c in found])


@bp.get("/frameworks/<slug>")
@login_required
def framework(slug):
    try:
        found = frameworks.get_framework(db.session, slug)
    except NotFound:
        abort(404)
    return render_template("frameworks/framework.html", framework=found,
                           roots=frameworks.roots(db.session, found))


@bp.get("/concepts/<uuid:concept_id>")
@login_required
def concept(concept_id):
    found = db.session.get(Concept, concept_id)
    if found is None:
        abort(404)
    target = _pick_target()
    return render_template("frameworks/concept.html", concept=found,
                           ancestors=frameworks.ancestors(db.session, found),
                           children=frameworks.children(db.session, found),
                           also_under=frameworks.broader(db.session, found),
                           links=frameworks.links(db.session, found),
                           # the hierarchy has its own sections: "Narrower concepts", "Also under"
                           outgoing=[pair for pair in frameworks.related(db.session, found) if pair[1] != "broader"],
                           incoming=[pair for pair in frameworks.related(db.session, found, reverse=True)
                                     if pair[1] != "broader"],
                           pick=target, pick_url=pick_url(target, found),
                           pick_for=lambda c: pick_url(target, c))


@bp.get("/concepts/lookup")
@login_required
def lookup():
    """A concept by its URI (what a skill stores): to its page, or 404 when no framework holds it."""
    found = frameworks.find(db.session, request.args.get("uri", "")[:500])
    if found is None:
        abort(404)
    return redirect(url_for(".concept", concept_id=found.id))


# --- platform admins -------------------------------------------------------------------------------

def _platform_admin():
    if not current_user.is_admin:
        abort(404)


def _admin_page(form: ImportForm, status: int = 200, report=None, errors=None):
    return render_template("frameworks/admin.html", form=form, button=EmptyForm(), report=report, errors=errors,
                           all_frameworks=frameworks.frameworks(db.session, include_retired=True),
                           imports=db.session.scalars(db.select(Batch).where(Batch.kind == frameworks.IMPORT_KIND)
                                                      .order_by(Batch.created_at.desc()).limit(10)).all(),
                           format_labels=FORMAT_LABELS), status


@bp.route("/admin/frameworks", methods=["GET", "POST"])
@login_required
def admin():
    """Import a framework (upload → report), and list, retire or restore the imported ones."""
    _platform_admin()
    request.max_content_length = current_app.config.get("FRAMEWORK_MAX_UPLOAD_BYTES",
                                                        frameworks.MAX_UPLOAD_BYTES)
    form = ImportForm()
    if request.method == "GET":
        return _admin_page(form)
    if not form.validate_on_submit():
        return _admin_page(form, 400)
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        form.file.errors.append(_("Choose a file."))
        return _admin_page(form, 422)
    options = {"format": form.format.data or None, "name": (form.name.data or "").strip() or None,
               "slug": frameworks.slugify(form.slug.data) if (form.slug.data or "").strip() else None,
               "version": (form.version.data or "").strip()[:60] or None}
    try:
        key, size = frameworks.store_upload(iter(lambda: upload.stream.read(1024 * 1024), b""), upload.filename)
    except frameworks.FrameworkImportError as exc:
        return _admin_page(form, 422, errors=exc.errors)
    except StorageUnavailable:
        return _admin_page(form, 503, errors=[_("The file could not be stored; try again later.")])
    if size > frameworks.SYNC_IMPORT_BYTES:
        batch = frameworks.queue_import(db.session, current_user, key, {**options, "filename": upload.filename})
        db.session.commit()
        batches.run_batch_job(str(batch.id))
        return redirect(url_for(".import_status", batch_id=batch.id))
    from app import storage

    try:
        parsed = frameworks.read_stored(key, **options)
        with frameworks.import_lock(db.session, parsed.slug):
            try:
                report = frameworks.apply(db.session, parsed, actor=current_user)
                storage.delete_after_commit(db.session, key)
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
    except ServiceError as exc:
        storage.delete(key)
        return _admin_page(form, exc.status if exc.status == 409 else 422,
                           errors=getattr(exc, "errors", [exc.message]))
    flash(_("“%(name)s” imported.", name=report.framework.name), "success")
    return _admin_page(ImportForm(formdata=None), report=report)


@bp.get("/admin/frameworks/imports/<uuid:batch_id>")
@login_required
def import_status(batch_id):
    _platform_admin()
    batch = db.session.get(Batch, batch_id)
    if batch is None or batch.kind != frameworks.IMPORT_KIND:
        abort(404)
    rows = batches.report(db.session, batch, limit=1)
    return render_template("frameworks/import_status.html", batch=batch, progress=batches.progress(batch),
                           row=rows[0] if rows else None)


@bp.post("/admin/frameworks/<uuid:framework_id>/retire")
@login_required
def retire(framework_id):
    _platform_admin()
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        found = frameworks.get_framework(db.session, str(framework_id))
    except NotFound:
        abort(404)
    restore = request.form.get("decision") == "restore"
    frameworks.retire_framework(db.session, found, retired=not restore, actor=current_user)
    db.session.commit()
    flash(_("“%(name)s” is back in search.", name=found.name) if restore else
          _("“%(name)s” is retired: hidden from search, its concepts still resolve.", name=found.name), "success")
    return redirect(url_for(".admin"))
