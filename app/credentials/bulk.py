"""The issuer's bulk-award pages: upload a CSV file, preview it (nothing issued), confirm, follow the
progress, read or download the per-row report. The work is ``app.services.bulk_awards`` and the batch
runs in the background (``app.services.batches``; immediate in tests).

Access is the single award's: the organisation through ``orgs.get(..., "issue")`` (another
organisation's ids answer 404, an unapproved one 403), and every batch must belong to that organisation.
"""
from __future__ import annotations

import csv
import io
import logging
import uuid

from sqlalchemy import event, select
from sqlalchemy.orm import Session, joinedload

from flask import Response, abort, jsonify, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from huey import crontab
from wtforms import HiddenField

from app import jobs
from app.credentials import bp, emails
from app.credentials.issuer import _achievement, _organisation
from app.extensions import db
from app.models import Portfolio, User
from app.models.credentials import Credential
from app.services import awarding, batches, bulk_awards
from app.services.bulk_awards import BulkError

REPORT_PAGE = 200
log = logging.getLogger(__name__)


@event.listens_for(Session, "after_commit")
def _mail_after_commit(session) -> None:
    """Enqueue the recipients' mails of the rows a bulk award just committed (see ``award_row``): one
    job for the transaction's rows rather than one per row (each enqueue is a write and a sync of the
    queue's own database, which the batch would otherwise wait for).

    SQLAlchemy also calls this when a SAVEPOINT (one row) is released: those wait for the real commit."""
    if session.in_nested_transaction() or bulk_awards.MAILS not in session.info:
        return
    mails = session.info.pop(bulk_awards.MAILS)
    if mails:
        notify_recipients([list(mail) for mail in mails])


@event.listens_for(Session, "after_transaction_end")
def _forget_mails(session, transaction) -> None:
    """A transaction that ends without committing takes its rows' mails with it."""
    if transaction.parent is None:
        session.info.pop(bulk_awards.MAILS, None)


@jobs.task()
def notify_recipients(mails: list) -> None:
    """The mails of one transaction's rows, sent one after the other: their credentials and recipients
    read in one query, each template rendered once per language (``emails.notify``'s cache) rather than
    once per row. This job is not retried (a retry would send the mails already sent again): a mail that
    fails becomes a job of its own, retried."""
    ids = [uuid.UUID(credential_id) for credential_id, _token in mails]
    found = {credential.id: (credential, recipient) for credential, recipient in db.session.execute(
        select(Credential, User).options(joinedload(Credential.achievement), joinedload(Credential.organisation))
        .outerjoin(Portfolio, Portfolio.id == Credential.portfolio_id)
        .outerjoin(User, User.id == Portfolio.owner_id).where(Credential.id.in_(ids))).all()}
    rendered: dict = {}
    for credential_id, claim_token in mails:
        if uuid.UUID(credential_id) not in found:
            continue
        credential, recipient = found[uuid.UUID(credential_id)]
        try:
            emails.notify(awarding.Awarded(credential, recipient, claim_token), rendered)
        except Exception:  # noqa: BLE001 - the others must still go; this one is retried on its own
            log.warning("Bulk award: the mail of credential %s failed; retrying it alone", credential_id,
                        exc_info=True)
            notify_recipient(credential_id, claim_token)


@jobs.task(retries=2, retry_delay=30)
def notify_recipient(credential_id: str, claim_token: str | None) -> None:
    """The single award's mail ("in your portfolio" or "claim it"), for one row of a bulk award. A job
    lost with a killed consumer loses the mail, not the credential (its page and claim-on-sign-up
    remain)."""
    credential = awarding.get(db.session, credential_id)
    if credential is None:
        return
    portfolio = awarding.recipient_portfolio(db.session, credential)
    recipient = db.session.get(User, portfolio.owner_id) if portfolio is not None else None
    emails.notify(awarding.Awarded(credential, recipient, claim_token))


@jobs.periodic_task(crontab(hour="3", minute="41"))
def sweep_bulk_previews() -> None:
    """Daily: previewed CSV files never confirmed leave storage (``bulk_awards.sweep_previews``)."""
    removed = bulk_awards.sweep_previews()
    if removed:
        log.info("Removed %s bulk-award preview file(s) never confirmed", removed)


class UploadForm(FlaskForm):
    file = FileField()


class ConfirmForm(FlaskForm):
    upload = HiddenField()


def _upload_page(organisation, achievement, form, error=None, status=200):
    return render_template("credentials/bulk_upload.html", organisation=organisation, achievement=achievement,
                           form=form, error=error, max_rows=bulk_awards.max_rows()), status


@bp.route("/organisations/<uuid:organisation_id>/achievements/<uuid:achievement_id>/bulk",
          methods=["GET", "POST"])
@login_required
def bulk_upload(organisation_id, achievement_id):
    """Upload → preview. The preview is a page of its own, answered to the POST (nothing is issued)."""
    organisation = _organisation(organisation_id)
    achievement = _achievement(organisation, achievement_id)
    form = UploadForm()
    if not form.validate_on_submit():
        return _upload_page(organisation, achievement, form)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _upload_page(organisation, achievement, form, _("Choose a CSV file."), 422)
    try:
        with bulk_awards.spool(bulk_awards.read_chunks(upload.stream)) as spooled:
            parsed = bulk_awards.parse(spooled)
            upload_id = bulk_awards.stash(achievement, spooled) if parsed.rows else None
    except BulkError as exc:
        return _upload_page(organisation, achievement, form, exc.message, exc.status)
    confirm = ConfirmForm(upload=upload_id)
    return render_template("credentials/bulk_preview.html", organisation=organisation, achievement=achievement,
                           parsed=parsed, form=confirm, shown=parsed.rows[:bulk_awards.PREVIEW_VALID_ROWS])


@bp.post("/organisations/<uuid:organisation_id>/achievements/<uuid:achievement_id>/bulk/confirm")
@login_required
def bulk_confirm(organisation_id, achievement_id):
    organisation = _organisation(organisation_id)
    achievement = _achievement(organisation, achievement_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with bulk_awards.unstash(achievement, form.upload.data) as stashed:
            parsed = bulk_awards.parse(stashed)
        batch = bulk_awards.start(db.session, current_user, achievement, parsed)
        bulk_awards.forget_after_commit(db.session, achievement, form.upload.data)
        db.session.commit()
    except BulkError as exc:
        db.session.rollback()
        return _upload_page(organisation, achievement, UploadForm(), exc.message, exc.status)
    batches.run_batch_job(str(batch.id))
    return redirect(url_for("credentials.bulk_progress", organisation_id=organisation.id, batch_id=batch.id),
                    303)


def _batch(organisation_id, batch_id):
    organisation = _organisation(organisation_id)
    return organisation, bulk_awards.batch_for(db.session, current_user, organisation, batch_id)


@bp.get("/organisations/<uuid:organisation_id>/batches/<uuid:batch_id>")
@login_required
def bulk_progress(organisation_id, batch_id):
    """Progress bar and, below it, the report (failed rows first, then all rows, a page at a time)."""
    organisation, batch = _batch(organisation_id, batch_id)
    after = request.args.get("after", -1, type=int)
    rows = batches.report(db.session, batch, after=after, limit=REPORT_PAGE)
    failed = batches.report(db.session, batch, status="failed", limit=REPORT_PAGE)
    return render_template("credentials/bulk_progress.html", organisation=organisation, batch=batch,
                           progress=batches.progress(batch), rows=rows, failed=failed,
                           next_after=rows[-1]["position"] if len(rows) == REPORT_PAGE else None)


@bp.get("/organisations/<uuid:organisation_id>/batches/<uuid:batch_id>/progress.json")
@login_required
def bulk_progress_json(organisation_id, batch_id):
    _organisation_, batch = _batch(organisation_id, batch_id)
    response = jsonify(batches.progress(batch))
    response.headers["Cache-Control"] = "no-store"
    return response


def report_csv(session, batch):
    """The per-row report as CSV lines, read a page at a time (flat memory for 10,000 rows)."""
    yield "\ufeff"  # so that Excel reads the UTF-8
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["row", "email", "status", "credential", "error", "message"])
    after = -1
    while True:
        rows = batches.report(session, batch, after=after, limit=500)
        for row in rows:
            result = row["result"] or {}
            error = row["error"] or {}
            status = "already_awarded" if result.get("already_awarded") else row["status"]
            writer.writerow([row["position"] + 1, row["key"], status, result.get("credential", ""),
                             error.get("code", ""), error.get("message", "")])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < 500:
            return
        after = rows[-1]["position"]


@bp.get("/organisations/<uuid:organisation_id>/batches/<uuid:batch_id>/report.csv")
@login_required
def bulk_report_csv(organisation_id, batch_id):
    _organisation_, batch = _batch(organisation_id, batch_id)
    return Response(stream_with_context(report_csv(db.session, batch)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="report-{batch.id}.csv"',
                             "Cache-Control": "no-store"})
