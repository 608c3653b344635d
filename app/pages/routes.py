"""The owner's pages: list, compose (pick items, order them, theme, title), preview, delete, and the
share links of each page (create, revoke). Thin: parse, call the service, render."""
from __future__ import annotations

from datetime import datetime, time, timezone

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import db
from app.models.pages import ITEM_TYPES
from app.pages import bp
from app.pages.forms import EmptyForm, PageForm, ShareLinkForm
from app.pages.showcase import render_showcase
from app.portfolio.common import show_errors
from app.services import minors
from app.services import pages as service
from app.services import share_links
from app.services.errors import NotFound, ValidationFailed


def _page(page_id):
    try:
        return service.get(db.session, current_user, page_id)
    except NotFound:
        abort(404)


def _picked_items() -> list[dict]:
    """The ticked items (``item`` = ``type:id``) sorted by their position field (``order-type:id``);
    ties and blanks keep the order of the form. Bad values become references the service refuses."""
    picked = []
    for index, value in enumerate(request.form.getlist("item")[:service.MAX_ITEMS + 1]):
        kind, _sep, item_id = value.partition(":")
        try:
            position = int(request.form.get(f"order-{value}") or 10_000)
        except ValueError:
            position = 10_000
        picked.append((position, index, {"type": kind, "id": item_id}))
    return [ref for _p, _i, ref in sorted(picked, key=lambda entry: entry[:2])]


def _render(form, page=None, *, link_form=None, new_url=None, status=200):
    """The editor: the page's form with every item the owner could show, and (for a saved page) its
    share links. After a refused POST the ticked items are those just sent, not the saved ones."""
    refs = _picked_items() if request.method == "POST" and link_form is None else (page.items if page else [])
    links = share_links.list_for(db.session, current_user, page=page) if page else []
    return render_template("pages/edit.html", form=form, page=page,
                           chosen=[f"{ref['type']}:{ref['id']}" for ref in refs],
                           candidates=service.candidates(db.session, current_user), types=ITEM_TYPES,
                           label=service.label, links=links, link_form=link_form or ShareLinkForm(formdata=None),
                           empty_form=EmptyForm(), new_url=new_url), status


def _values(form) -> dict:
    return {"title": form.title.data, "headline": form.headline.data or "", "theme": form.theme.data,
            "show_photo": bool(form.show_photo.data), "public_profile": bool(form.public_profile.data),
            "items": _picked_items()}


@bp.get("/pages")
@login_required
def index():
    found = service.list_for(db.session, current_user)
    links = share_links.list_for(db.session, current_user)
    # "Public profile" only while it is true: a minor's page waits for a guardian's consent (issue 13).
    consent = minors.has_consent(db.session, current_user, minors.PUBLIC_PAGE)
    return render_template("pages/index.html", pages=found, form=EmptyForm(), public_consent=consent,
                           links={page.id: [link for link in links if link.page_id == page.id] for page in found})


@bp.route("/pages/new", methods=["GET", "POST"])
@login_required
def new():
    form = PageForm()
    if form.validate_on_submit():
        try:
            page = service.create(db.session, current_user, _values(form))
        except ValidationFailed as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Your page is ready. Create a share link to send it."), "success")
            return redirect(url_for("pages.edit", page_id=page.id)), 303
    return _render(form, status=422 if request.method == "POST" else 200)


@bp.route("/pages/<page_id>/edit", methods=["GET", "POST"])
@login_required
def edit(page_id):
    page = _page(page_id)
    form = PageForm(obj=page)
    if form.validate_on_submit():
        try:
            service.update(db.session, current_user, page, _values(form), partial=False)
        except ValidationFailed as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("pages.edit", page_id=page.id)), 303
    return _render(form, page, status=422 if request.method == "POST" else 200)


@bp.get("/pages/<page_id>/preview")
@login_required
def preview(page_id):
    """The page as visitors see it, for its owner (not counted, never indexed)."""
    return render_showcase(_page(page_id), preview=True)


@bp.post("/pages/<page_id>/delete")
@login_required
def delete(page_id):
    page = _page(page_id)
    if EmptyForm().validate_on_submit():
        service.delete(db.session, current_user, page)
        db.session.commit()
        flash(_("The page and its share links were deleted."), "success")
    return redirect(url_for("pages.index")), 303


@bp.post("/pages/<page_id>/links")
@login_required
def new_link(page_id):
    """A new share link; its address is shown once, here (only its hash is kept)."""
    page = _page(page_id)
    form = ShareLinkForm()
    new_url = None
    if form.validate_on_submit():
        expires = (datetime.combine(form.expires_on.data, time(23, 59, 59), tzinfo=timezone.utc)
                   if form.expires_on.data else None)
        try:
            _link, raw = share_links.create(db.session, current_user, page=page, label=form.label.data,
                                            expires_at=expires, password=form.password.data or None)
        except ValidationFailed as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            new_url = share_links.url(raw)
    form.password.data = None  # never sent back into the page
    return _render(PageForm(obj=page, formdata=None), page, link_form=form, new_url=new_url,
                   status=201 if new_url else 422)


@bp.post("/pages/<page_id>/links/<link_id>/revoke")
@login_required
def revoke_link(page_id, link_id):
    page = _page(page_id)
    try:
        link = share_links.get(db.session, current_user, link_id)
    except NotFound:
        abort(404)
    if link.page_id != page.id:
        abort(404)
    if EmptyForm().validate_on_submit():
        share_links.revoke(db.session, current_user, link)
        db.session.commit()
        flash(_("The link was revoked: it no longer opens anything."), "success")
    return redirect(url_for("pages.edit", page_id=page.id) + "#links"), 303
