"""The owner's backpack routes: add a badge earned elsewhere (check first, then add; a badge that does
not verify only with the owner's explicit "keep it anyway"), delete one, link one to the experience,
diploma or skill it proves (from the Credentials section or from the item's page). Hide / show and
"check again" are the Credentials section's own buttons (``app.credentials.mine``, kind ``external``)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required

from app.attestations.public import local_fetch
from app.backpack import bp
from app.backpack.forms import AddForm
from app.credentials.forms import EmptyForm
from app.credentials.mine import link_from_form, unlink_from_form
from app.extensions import db
from app.models.received import LINKABLE_KINDS
from app.services import backpack, received
from app.services.errors import ServiceError
from app.verification import runner
from app.verification.routes import verify_limit
from badges import messages

ITEM_KINDS = f"any({', '.join(LINKABLE_KINDS)})"
FORMAT_LABELS = {"ob2": _l("Open Badges 2.0"), "ob3-di": _l("Open Badges 3.0"),
                 "ob3-jwt": _l("Open Badges 3.0 (VC-JWT)"), "clr-member": _l("Open Badges 3.0, from a CLR 2.0")}


def fetcher():
    """The verifier's fetch: this site's own DID documents and status lists answered locally (a badge
    issued here and brought back from another backpack), anything else through the SSRF guard."""
    return local_fetch(db.session, backpack.default_fetch())


def _upload(form: AddForm) -> tuple[bytes | None, str | None]:
    if not (form.file.data and form.file.data.filename):
        return None, None
    data = form.file.data.read(backpack.MAX_IMAGE + 1)
    if len(data) > backpack.MAX_IMAGE:
        form.file.errors.append(_("This file is too large (at most 5 MB)."))
        return None, None
    if not data:
        form.file.errors.append(_("The file is empty."))
        return None, None
    return data, form.file.data.filename


@bp.route("/portfolio/backpack/add", methods=["GET", "POST"])
@login_required
@verify_limit
def add():
    """``action=check`` shows what the file holds and what the verifier says, storing nothing;
    ``action=add`` adds it (the same checks, then the entries)."""
    form, found, error, status = AddForm(), None, None, 200
    if form.validate_on_submit():
        payload, filename = _upload(form)
        url = (form.url.data or "").strip() or None
        if payload is not None or url:
            try:
                with runner.slot():
                    found = backpack.preview(db.session, current_user, payload, filename=filename, url=url,
                                             fetch=fetcher(), locale=runner.reader_locale())
                if request.form.get("action") == "add":
                    rows = backpack.add(db.session, current_user, candidates=found,
                                        accept_unverified=bool(form.keep_unverified.data))
                    db.session.commit()
                    _flash_added(found)
                    return redirect(url_for("credentials.mine", _anchor=f"external-{rows[0].id}" if rows else None),
                                    303)
            except ServiceError as exc:
                db.session.rollback()
                error, status = exc.message, exc.status
        else:
            status = 422
    elif request.method == "POST":
        status = 400 if form.csrf_token.errors else 422
    return render_template("backpack/add.html", form=form, found=found, error=error, format_labels=FORMAT_LABELS,
                           verdict_text=lambda c: messages.verdict_text(c.reason or c.status,
                                                                        runner.reader_locale())[0]), status


def _flash_added(found: list) -> None:
    new = [c for c in found if c.is_new]
    if new:
        flash(ngettext("Added to your backpack: %(num)d badge.", "Added to your backpack: %(num)d badges.",
                       len(new)), "success")
    if len(new) < len(found):
        flash(_("Already in your backpack, not added again: %(names)s.",
                names=", ".join(c.achievement_name for c in found if not c.is_new)), "info")


def _anchor(row_id) -> str:
    return f"external-{row_id}"


@bp.post("/portfolio/backpack/<uuid:badge_id>/delete")
@login_required
def delete(badge_id):
    row = backpack.get(db.session, current_user, badge_id)  # another person's: 404
    if EmptyForm().validate_on_submit():
        backpack.delete(db.session, current_user, row)
        db.session.commit()
        flash(_("Deleted from your backpack."), "success")
    return redirect(url_for("credentials.mine"), 303)


@bp.post("/portfolio/backpack/<uuid:badge_id>/links")
@login_required
def add_link(badge_id):
    """``item`` is "<kind>:<id>" (an experience, diploma or skill of the owner)."""
    row = backpack.get(db.session, current_user, badge_id)  # another person's: 404
    return link_from_form(lambda kind, item_id: backpack.link(db.session, current_user, row, kind, item_id),
                          _("Linked: the badge is shown on that item."), _anchor(row.id))


@bp.post(f"/<{ITEM_KINDS}:kind>/<uuid:item_id>/badges")
@login_required
def add_link_from_item(kind, item_id):
    """The item page's form: ``badge`` is the id of one of the owner's badges from elsewhere."""
    item = received.owned_item(db.session, current_user, kind, item_id)  # another person's item: 404
    row = backpack.get(db.session, current_user, request.form.get("badge"))
    if EmptyForm().validate_on_submit():
        backpack.link(db.session, current_user, row, kind, item.id)
        db.session.commit()
        flash(_("Linked: the badge is shown on that item."), "success")
    return redirect(url_for(f"portfolio.{kind}", item_id=item.id), 303)


@bp.post(f"/portfolio/backpack/<uuid:badge_id>/links/<{ITEM_KINDS}:kind>/<uuid:item_id>/delete")
@login_required
def remove_link(badge_id, kind, item_id):
    row = backpack.get(db.session, current_user, badge_id)
    return unlink_from_form(lambda: backpack.unlink(db.session, current_user, row, kind, item_id), _anchor(row.id))


def item_badges(kind: str, item) -> list:
    """For the experience, diploma and skill pages (a Jinja global): the owner's badges from elsewhere
    that are not linked to this item yet (the linked ones come with ``item_credentials``)."""
    if not current_user.is_authenticated or current_user.portfolio is None \
            or current_user.portfolio.id != item.portfolio_id:
        return []
    linked = {row.id for row in backpack.linked_to(db.session, item.portfolio_id, include_hidden=True)
              .get((kind, str(item.id)), [])}
    return [row for row in backpack.owned(db.session, current_user) if row.id not in linked]
