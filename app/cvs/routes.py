"""The owner's CV pages. Thin: parse, call ``app.services.cvs``, render."""

from __future__ import annotations

import json
from datetime import datetime, time, timezone

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

import cv_templates
from app.cvs import bp
from app.cvs.forms import CvForm, EmptyForm, NewCvForm
from app.extensions import db, limiter
from app.pages.forms import ShareLinkForm
from app.portfolio.common import show_errors
from app.services import cvs as service
from app.services import frameworks
from app.services import share_links
from app.services.errors import NotFound, ValidationFailed
from cv_templates import pdf as pdf_renderer

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT_FIELDS = (
    "name",
    "template",
    "language",
    "target_text",
    "summary",
    "cover_letter",
    "consent",
    "consent_text",
)


def _designs(form) -> None:
    language = (current_user.locale or "fr")[:2]
    form.template.choices = [
        SelectChoice(key, design.name(language)) for key, design in cv_templates.designs().items()
    ]


@bp.route("/cvs", methods=["GET", "POST"])
@login_required
def index():
    form = NewCvForm()
    _designs(form)
    if request.method == "GET":
        form.language.data = (current_user.locale or "fr")[:2]
    if form.validate_on_submit():
        try:
            cv = service.create(
                db.session,
                current_user,
                {
                    **{
                        name: getattr(form, name).data or ""
                        for name in ("name", "template", "language", "target_text")
                    },
                    "target_occupation": occupation_from_form(form),
                },
            )
        except ValidationFailed as exc:
            _show_errors(form, exc)
        else:
            db.session.commit()
            flash(
                _("Your CV is ready: the items that match the offer best are selected. Check them below."),
                "success",
            )
            return redirect(url_for("cvs.edit", cv_id=cv.id))
    status = 400 if request.method == "POST" else 200
    return (
        render_template("cvs/index.html", form=form, cvs=service.list_for(db.session, current_user)),
        status,
    )


def _show_errors(form, exc: ValidationFailed) -> None:
    """The service names ``target_occupation`` (the hidden URI): its message goes under the visible name."""
    show_errors(form, exc)
    if form.target_occupation.errors and hasattr(form, "occupation"):
        form.occupation.errors = [*form.occupation.errors, *form.target_occupation.errors]


def occupation_from_form(form) -> str:
    """The concept (URI) the occupation field names: the picker's choice while the shown name is still
    its label; otherwise the name typed, looked up among the frameworks' occupations (one match, or one
    whose label is exactly that name). Several matches are refused with the first few named, so the owner
    can be more precise; none, and the text goes to the service, which answers "unknown occupation"."""
    text = (form.occupation.data or "").strip()
    if not text:
        return ""
    chosen = frameworks.find(db.session, form.target_occupation.data) if form.target_occupation.data else None
    folded = frameworks.fold_for_search(text)
    if chosen is not None and folded in {frameworks.fold_for_search(chosen.label_fr),
                                         frameworks.fold_for_search(chosen.label_en)}:
        return chosen.uri
    found = frameworks.search(db.session, text, kind="occupation", limit=6)
    exact = [c for c in found
             if folded in {frameworks.fold_for_search(c.label_fr), frameworks.fold_for_search(c.label_en)}]
    if len(exact) == 1 or len(found) == 1:
        return (exact or found)[0].uri
    if not found:
        return text
    language = (current_user.locale or "fr")[:2]
    names = ", ".join(f"“{frameworks.label(c, language)}”" for c in found[:5])
    raise ValidationFailed(
        _("Several occupations match."),
        fields={"occupation": _("Several occupations match: %(names)s. Type one of them.", names=names)},
    )


def _selection_from_form(cv) -> list[dict]:
    """The ticked items: those already selected keep their order, newly ticked ones come after."""
    ticked = []
    for value in request.form.getlist("selected"):
        kind, _sep, item_id = value.partition(":")
        ticked.append({"type": kind, "id": item_id})
    keys = {(ref["type"], ref["id"]) for ref in ticked}
    kept = [ref for ref in cv.selection or () if (ref["type"], ref["id"]) in keys]
    known = {(ref["type"], ref["id"]) for ref in kept}
    return kept + [ref for ref in ticked if (ref["type"], ref["id"]) not in known]


@bp.route("/cvs/<uuid:cv_id>", methods=["GET", "POST"])
@login_required
def edit(cv_id):
    cv = service.get_owned(db.session, current_user, cv_id)
    form = CvForm(obj=cv)
    _designs(form)
    if request.method == "GET":
        occupation = frameworks.find(db.session, cv.target_occupation) if cv.target_occupation else None
        form.occupation.data = frameworks.label(occupation, cv.language) if occupation else ""
    if form.validate_on_submit():
        data = {name: getattr(form, name).data or "" for name in TEXT_FIELDS}
        data["show_photo"] = bool(form.show_photo.data)
        data["selection"] = _selection_from_form(cv)
        try:
            data["target_occupation"] = occupation_from_form(form)
            service.update(db.session, current_user, cv, data)
            move = request.form.get("move", "")
            if move:
                direction, _sep, ref = move.partition(":")
                kind, _sep, item_id = ref.partition(":")
                service.move(db.session, current_user, cv, kind, item_id, -1 if direction == "up" else 1)
        except ValidationFailed as exc:
            _show_errors(form, exc)
        else:
            db.session.commit()
            if not request.form.get("move"):
                flash(_("Saved."), "success")
            return redirect(
                url_for("cvs.edit", cv_id=cv.id, _anchor="selection" if request.form.get("move") else None)
            )
    return _render_edit(cv, form, 400 if request.method == "POST" else 200)


def _occupation_label(cv) -> str:
    concept = frameworks.find(db.session, cv.target_occupation) if cv.target_occupation else None
    return frameworks.label(concept, cv.language) if concept else ""


def _render_edit(cv, form, status, *, link_form=None, new_url=None):
    """The CV's page: downloads, selection, texts, and its share links (``#share``)."""
    _designs(form)
    ranked = service.ranking(db.session, cv)
    by_key = {(r.kind, r.id): r for r in ranked}
    selected = [
        by_key[(ref["type"], ref["id"])] for ref in cv.selection or () if (ref["type"], ref["id"]) in by_key
    ]
    return (
        render_template(
            "cvs/edit.html",
            cv=cv,
            form=form,
            ranked=ranked,
            selected=selected,
            action_form=EmptyForm(),
            pdf_reason=pdf_renderer.unavailable_reason(),
            links=share_links.list_for(db.session, current_user, cv=cv),
            link_form=link_form or ShareLinkForm(formdata=None),
            new_url=new_url,
            occupation_label=_occupation_label(cv),
        ),
        status,
    )


@bp.post("/cvs/<uuid:cv_id>/links")
@login_required
def new_link(cv_id):
    """A new share link to this CV; its address is shown once, here (only its hash is kept)."""
    cv = service.get_owned(db.session, current_user, cv_id)
    form = ShareLinkForm()
    new_url = None
    if form.validate_on_submit():
        expires = (
            datetime.combine(form.expires_on.data, time(23, 59, 59), tzinfo=timezone.utc)
            if form.expires_on.data
            else None
        )
        try:
            _link, raw = share_links.create(
                db.session,
                current_user,
                cv_id=cv.id,
                label=form.label.data,
                expires_at=expires,
                password=form.password.data or None,
            )
        except ValidationFailed as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            new_url = share_links.url(raw)
    form.password.data = None  # never sent back into the page
    return _render_edit(
        cv, CvForm(obj=cv, formdata=None), 201 if new_url else 422, link_form=form, new_url=new_url
    )


@bp.post("/cvs/<uuid:cv_id>/links/<link_id>/revoke")
@login_required
def revoke_link(cv_id, link_id):
    cv = service.get_owned(db.session, current_user, cv_id)
    try:
        link = share_links.get(db.session, current_user, link_id)
    except NotFound:
        abort(404)
    if link.cv_id != cv.id:
        abort(404)
    if EmptyForm().validate_on_submit():
        share_links.revoke(db.session, current_user, link)
        db.session.commit()
        flash(_("The link was revoked: it no longer opens anything."), "success")
    return redirect(url_for("cvs.edit", cv_id=cv.id, _anchor="share"))


@bp.post("/cvs/<uuid:cv_id>/regenerate")
@login_required
def regenerate(cv_id):
    cv = service.get_owned(db.session, current_user, cv_id)
    if EmptyForm().validate_on_submit():
        service.regenerate(db.session, current_user, cv)
        db.session.commit()
        flash(_("The items were ranked again against the offer and the best ones selected."), "success")
    return redirect(url_for("cvs.edit", cv_id=cv.id))


@bp.post("/cvs/<uuid:cv_id>/delete")
@login_required
def delete(cv_id):
    cv = service.get_owned(db.session, current_user, cv_id)
    if EmptyForm().validate_on_submit():
        service.delete(db.session, current_user, cv)
        db.session.commit()
        flash(_("The CV was deleted. Your portfolio is unchanged."), "success")
    return redirect(url_for("cvs.index"))


def _download(data: bytes, mimetype: str, name: str, *, attachment: bool = True) -> Response:
    disposition = "attachment" if attachment else "inline"
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'{disposition}; filename="{name}"', "Cache-Control": "no-store"},
    )


@bp.get("/cvs/<uuid:cv_id>/<any(docx, pdf, html, json):fmt>")
@login_required
@limiter.limit(service.render_limit)
def download(cv_id, fmt):
    cv = service.get_owned(db.session, current_user, cv_id)
    if fmt == "docx":
        return _download(service.render_docx(db.session, cv), DOCX, service.filename(cv, "docx"))
    if fmt == "pdf":
        return _download(service.render_pdf(db.session, cv), "application/pdf", service.filename(cv, "pdf"))
    if fmt == "html":
        return _download(
            service.render_html(cv, standalone=True).encode("utf-8"),
            "text/html",
            service.filename(cv, "html"),
        )
    return _download(
        json.dumps(service.json_resume(db.session, cv), ensure_ascii=False, indent=2).encode("utf-8"),
        "application/json",
        service.filename(cv, "json"),
    )


@bp.get("/cvs/<uuid:cv_id>/preview.png")
@login_required
@limiter.limit(service.render_limit)
def preview(cv_id):
    cv = service.get_owned(db.session, current_user, cv_id)
    return _download(
        service.preview_png(db.session, cv), "image/png", service.filename(cv, "png"), attachment=False
    )


@bp.get("/cvs/json-resume")
@login_required
def profile_resume():
    data = service.profile_json_resume(db.session, current_user)
    return _download(
        json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"), "application/json", "resume.json"
    )


@bp.get("/cv-designs/<design>.css")
def stylesheet(design):
    """A design's stylesheet, public (it holds no personal data): linked by CVs served on the site."""
    if design not in cv_templates.designs():
        abort(404)
    return Response(
        cv_templates.css(design), mimetype="text/css", headers={"Cache-Control": "public, max-age=3600"}
    )
