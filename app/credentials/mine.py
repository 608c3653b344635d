"""The owner's "Credentials" section: everything others signed about them — awarded credentials,
confirmed attestations, endorsements — each with the verifier's cached verdict (re-check button), hide or
show, downloads (JSON, baked PNG), sharing (public link, LinkedIn "add to profile"), and the links from a
credential to the experiences, diplomas and skills it proves. The work is ``app.services.received``."""
from __future__ import annotations

from typing import Callable

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.attestations.public import local_fetch
from app.credentials import bp
from app.credentials.forms import EmptyForm
from app.extensions import db
from app.models.received import LINKABLE_KINDS
from app.services import awarding, endorsements, received
from app.services.errors import ServiceError
from app.verification import runner
from app.verification.routes import verify_limit
from badges.fetch import json_fetcher

AUTO_CHECKS = 3  # verdicts run on a view of the section (the rest wait for the next view or the button)
KINDS = "any(credential, attestation, endorsement, external)"  # external: app.backpack


def _fetch():
    fallback = json_fetcher(allow_loopback=bool(current_app.config.get("VERIFY_ALLOW_LOOPBACK")))
    return local_fetch(db.session, fallback)


def _check_stale(found: list) -> None:
    """Verify the few entries never (or long ago) checked, if a verification slot is free right now."""
    stale = [entry for entry in found if entry.stale][:AUTO_CHECKS]
    if not stale:
        return
    try:
        with runner.slot():
            for entry in stale:
                received.check(db.session, entry, _fetch(), locale=runner.reader_locale())
    except runner.VerifierBusy:
        return
    db.session.commit()


@bp.get("/portfolio/credentials")
@login_required
def mine():
    found = received.entries(db.session, current_user)
    _check_stale(found)
    items = {kind: received.ITEM_MODELS[kind] for kind in LINKABLE_KINDS}
    choices = [(kind, item) for kind, model in items.items()
               for item in db.session.scalars(db.select(model).where(model.portfolio_id == current_user.portfolio.id))]
    return render_template("credentials/mine.html", entries=found, form=EmptyForm(), choices=choices,
                           kind_labels={"experience": _("Experience"), "diploma": _("Diploma"), "skill": _("Skill")})


def back_to_item(anchor: str | None = None):
    """Back to the item page the form was on (``back=experience:<id>``, one of the owner's items), else to
    the Credentials section at ``anchor``: the link and unlink forms of issued credentials and of badges
    earned elsewhere (``app.backpack.routes``) are on both pages."""
    kind, _sep, item_id = (request.form.get("back") or "").partition(":")
    if kind in LINKABLE_KINDS and item_id:
        try:
            item = received.owned_item(db.session, current_user, kind, item_id)
        except ServiceError:
            item = None
        if item is not None:
            return redirect(url_for(f"portfolio.{kind}", item_id=item.id), 303)
    return redirect(url_for("credentials.mine", _anchor=anchor), 303)


def link_from_form(link: Callable[[str, str], object], done_message: str, anchor: str):
    """The "Show it on" form (``item`` = "<kind>:<id>") of an issued credential or a badge from elsewhere:
    ``link(kind, item_id)`` says that it proves that item; a refusal is flashed, nothing is kept."""
    kind, _sep, item_id = (request.form.get("item") or "").partition(":")
    if EmptyForm().validate_on_submit():
        try:
            link(kind, item_id)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return back_to_item(anchor)
        db.session.commit()
        flash(done_message, "success")
    return back_to_item(anchor)


def unlink_from_form(unlink: Callable[[], object], anchor: str):
    """The "Unlink" button, for both kinds of credential (``unlink()`` removes the link)."""
    if EmptyForm().validate_on_submit():
        unlink()
        db.session.commit()
        flash(_("Unlinked."), "success")
    return back_to_item(anchor)


def _back(entry_kind=None, entry_id=None):
    return back_to_item(f"{entry_kind}-{entry_id}" if entry_id else None)


@bp.post("/portfolio/credentials/<uuid:credential_id>/visibility")
@login_required
def visibility(credential_id):
    """``hidden`` and ``show_name`` are "1" or "0"; anything else leaves that setting as it is."""
    credential = awarding.get_owned(db.session, current_user, credential_id)
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("credentials.mine")), 303

    def flag(name):
        return {"1": True, "0": False}.get(request.form.get(name))

    awarding.set_visibility(db.session, current_user, credential, hidden=flag("hidden"), show_name=flag("show_name"))
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("credentials.mine")), 303


@bp.post(f"/portfolio/credentials/<{KINDS}:kind>/<uuid:entry_id>/hide")
@login_required
def hide(kind, entry_id):
    """``hidden`` is "1" (hide from the portfolio) or "0" (show again)."""
    entry = received.get(db.session, current_user, kind, entry_id)
    hidden = {"1": True, "0": False}.get(request.form.get("hidden"))
    if EmptyForm().validate_on_submit() and hidden is not None:
        received.set_hidden(db.session, current_user, entry, hidden)
        db.session.commit()
        flash(_("Hidden from your portfolio.") if hidden else _("Shown in your portfolio again."), "success")
    return _back(kind, entry_id)


@bp.post(f"/portfolio/credentials/<{KINDS}:kind>/<uuid:entry_id>/verify")
@login_required
@verify_limit
def recheck(kind, entry_id):
    entry = received.get(db.session, current_user, kind, entry_id)
    if EmptyForm().validate_on_submit():
        with runner.slot():  # VerifierBusy: the app's 503 verifier_busy page
            verdict = received.check(db.session, entry, _fetch(), locale=runner.reader_locale())
        db.session.commit()
        flash(_("Verified again: the signature, dates and status are valid.") if verdict.status != "not_verified"
              else _("Verified again: this document does not verify."),
              "success" if verdict.status != "not_verified" else "error")
    return _back(kind, entry_id)


@bp.post("/portfolio/credentials/<uuid:credential_id>/links")
@login_required
def add_link(credential_id):
    """``item`` is "<kind>:<id>" (an experience, diploma or skill of the owner)."""
    awarding.get_owned(db.session, current_user, credential_id)  # another person's credential: 404
    return link_from_form(lambda kind, item_id: received.link(db.session, current_user, credential_id, kind, item_id),
                          _("Linked: the credential is shown on that item."), f"credential-{credential_id}")


@bp.post(f"/<any({', '.join(LINKABLE_KINDS)}):kind>/<uuid:item_id>/credentials")
@login_required
def add_link_from_item(kind, item_id):
    """The item page's form: ``credential`` is the id of one of the owner's received credentials."""
    item = received.owned_item(db.session, current_user, kind, item_id)  # another person's item: 404
    if EmptyForm().validate_on_submit():
        received.link(db.session, current_user, request.form.get("credential"), kind, item.id)
        db.session.commit()
        flash(_("Linked: the credential is shown on that item."), "success")
    return redirect(url_for(f"portfolio.{kind}", item_id=item.id), 303)


@bp.post(f"/portfolio/credentials/<uuid:credential_id>/links/<any({', '.join(LINKABLE_KINDS)}):kind>/<uuid:item_id>/delete")
@login_required
def remove_link(credential_id, kind, item_id):
    return unlink_from_form(lambda: received.unlink(db.session, current_user, credential_id, kind, item_id),
                            f"credential-{credential_id}")


def item_credentials(kind: str, item) -> dict:
    """For the experience, diploma and skill pages (a Jinja global): the credentials linked to the item,
    and for its owner the received credentials that can still be linked and the person endorsements."""
    owner = current_user.is_authenticated and current_user.portfolio.id == item.portfolio_id
    linked = received.for_item(db.session, kind, item)
    if not owner:
        linked = [entry for entry in linked if not entry.hidden]
    linked_ids = {entry.id for entry in linked}
    available = [c for c in awarding.owned(db.session, current_user) if c.id not in linked_ids] if owner else []
    people = endorsements.by_people(db.session, kind, item.id) if kind == "skill" else []
    return {"linked": linked, "available": available, "owner": owner, "endorsements": people,
            "form": EmptyForm()}


def person_endorsements(kind: str, subject_id) -> list:
    """For the public credential page (a Jinja global): the endorsements people wrote, but not those the
    owner hid."""
    return [e for e in endorsements.by_people(db.session, kind, subject_id) if not e.hidden]
