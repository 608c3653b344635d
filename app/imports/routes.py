"""Import pages. The upload form is read as it arrives (``app.vault.formstream``, exempt from the
automatic CSRF check, which would spool the whole body first; the reader checks the token, sent first):
the file goes to a temporary file under the import's limit. The preview is shown at once; the file then
waits, encrypted with the owner's vault key (``imports.stash``), for the confirmation, which imports it
in one transaction. An encrypted export is decrypted before it is stashed, so the passphrase is used once
and never kept. A pending upload is forgotten after ``PENDING_SECONDS``, on cancel, or when another file
is chosen.
"""
from __future__ import annotations

import contextlib
import os
import time

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import BadRequest

from app.api.imports import import_limit
from app.extensions import csrf, db
from app.importers import sillage_zip
from app.importers.safety import Limits
from app.imports import bp
from app.imports.upload import receive as receive_upload
from app.portfolio.forms import ConfirmForm
from app.services import batches, imports
from app.services.errors import ServiceError

PENDING = "import_pending"
PENDING_SECONDS = 3600
SECTIONS = ("profile", "skills", "experiences", "diplomas", "journal", "documents", "credentials", "pages", "cvs")


def _limits() -> Limits:
    return Limits.from_config(current_app.config)


def _forget() -> None:
    pending = session.pop(PENDING, None)
    if pending:
        imports.discard(current_user, pending.get("token", ""))


def _page(error: str | None = None, status: int = 200):
    return render_template("imports/index.html", error=error, limit=_limits().upload), status


@bp.get("")
@login_required
def index():
    return _page()


@bp.post("")
@csrf.exempt
@import_limit
@login_required
def upload():
    limits = _limits()
    if (request.content_length or 0) > limits.upload + 64 * 1024:
        return _page(_("The file is larger than the %(size)s MiB an import may be.",
                       size=limits.upload // 2**20), 413)
    request.max_content_length = limits.upload + 64 * 1024
    try:
        path, filename, fields = receive_upload(limits.upload, ("passphrase",), check_csrf=True)
    except BadRequest:
        return _page(_("The upload could not be read. Please try again."), 400)
    except ServiceError as error:
        return _page(error.message, error.status)
    if path is None:
        return _page(_("Choose a file to import."), 422)
    # Only now, a file accepted behind a checked CSRF token: a cross-site POST must not cancel the
    # person's pending import.
    _forget()
    passphrase, clear = fields.get("passphrase"), path
    try:
        with contextlib.ExitStack() as stack:
            with open(path, "rb") as handle:
                encrypted = sillage_zip.is_encrypted(handle.read(16))
            if encrypted:  # decrypted now: the passphrase is used once and never kept
                clear = stack.enter_context(sillage_zip.decrypted(path, passphrase, limits))
            plan = imports.preview(db.session, current_user, clear, filename=filename, limits=limits)
            token = imports.stash(db.session, current_user, clear)
    except ServiceError as error:
        db.session.rollback()
        return _page(error.message, error.status)
    finally:
        os.unlink(path)
    db.session.commit()  # the vault data key, if this was its first use
    session[PENDING] = {"token": token, "filename": filename or "", "at": time.time()}
    return render_template("imports/preview.html", plan=plan.as_dict(), filename=filename,
                           sections=SECTIONS, form=ConfirmForm())


@bp.post("/confirm")
@import_limit
@login_required
def confirm():
    """Hand the stashed upload to the background import and show its progress (``status``)."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for(".index"))
    pending = session.get(PENDING) or {}
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        _forget()
        return _page(_("This upload is no longer available: choose the file again."), 410)
    if not imports.is_pending(db.session, current_user, pending.get("token", "")):
        session.pop(PENDING, None)  # replaced by an upload of another session: that one stays
        return _page(_("This upload is no longer available: choose the file again."), 410)
    try:
        batch = imports.start_background(db.session, current_user, pending["token"], pending.get("filename"))
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        _forget()
        return _page(_("Nothing was imported: %(reason)s", reason=error.message), error.status)
    session.pop(PENDING, None)  # the job owns the upload now (and removes it when done)
    batches.run_batch_job(str(batch.id))
    return redirect(url_for(".status", batch_id=batch.id), 303)


@bp.get("/jobs/<uuid:batch_id>")
@login_required
def status(batch_id):
    """The background import: a progress bar and its state in words, refreshed by the page itself
    (``<meta http-equiv="refresh">``, no script needed) until it is over; then what was done, or why
    nothing was."""
    try:
        batch = imports.background_job(db.session, current_user, batch_id)
    except ServiceError:
        abort(404)
    progress = batches.progress(batch)
    [row] = batches.report(db.session, batch, limit=1) or [None]
    return render_template("imports/status.html", progress=progress, row=row, sections=SECTIONS,
                           plan=row["result"] if row and row["status"] == "done" else None)


@bp.post("/cancel")
@login_required
def cancel():
    if ConfirmForm().validate_on_submit():
        _forget()
        flash(_("The import was cancelled; nothing was imported."), "info")
    return redirect(url_for(".index"))
