"""``/api/v1``: bulk awards from a CSV file, and the batches they become.

``POST /organisations/<org>/achievements/<id>/awards/bulk`` takes the CSV as the request body
(``Content-Type: text/csv``) or as the multipart field ``file``. With ``?preview=1`` it answers 200 with
what the issuer's preview page shows (nothing issued); otherwise 202 with the batch (its progress and
``Location``) and the rows in error, which are not issued. The same file again answers the same batch
(idempotent). ``GET /batches/<id>`` gives the progress and a page of the per-row report.

Who may call: the same as a single award (``app.api.awards``): an issuer's personal token or the
organisation's token; another organisation's ids answer 404, an unapproved organisation 403.
"""
from __future__ import annotations

import marshmallow as ma
from flask import g, request, url_for
from flask_smorest import Blueprint

from app.api.auth import require_principal
from app.api.awards import _achievement
from app.api.common import document_errors
from app.extensions import db
from app.services import batches, bulk_awards, orgs
from app.services.bulk_awards import BulkError
from app.services.errors import NotFound

CSV_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string",
                                                                                  "format": "binary"}}}}}}}


class BulkArgs(ma.Schema):
    preview = ma.fields.Boolean(load_default=False, metadata={"description": "Check only; issue nothing."})


class ReportArgs(ma.Schema):
    after = ma.fields.Integer(load_default=-1, validate=ma.validate.Range(min=-1),
                              metadata={"description": "The last position already read (cursor)."})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))


def _body_chunks():
    upload = request.files.get("file")
    if upload is not None:
        return bulk_awards.read_chunks(upload.stream)
    if request.mimetype in ("text/csv", "text/plain", "application/csv", "application/octet-stream"):
        return bulk_awards.read_chunks(request.stream)
    raise BulkError("Send the CSV as the body (Content-Type: text/csv) or as the multipart field 'file'.",
                    code="unsupported_media_type", status=415)


def _batch_body(batch) -> dict:
    return {**batches.progress(batch), "url": url_for("bulk_api.batch", batch_id=batch.id, _external=True)}


def make_blueprint() -> Blueprint:
    blp = Blueprint("bulk_api", __name__, url_prefix="/api/v1",
                    description="Award an achievement to many people from a CSV file, and follow the batch.")
    blp.before_request(require_principal)

    @blp.route("/organisations/<uuid:organisation_id>/achievements/<uuid:achievement_id>/awards/bulk",
               methods=["POST"])
    @blp.arguments(BulkArgs, location="query")
    @blp.doc(summary="Award an achievement from a CSV file (preview, or a background batch)", **CSV_BODY)
    @document_errors(blp, 400, 401, 404, 415, 422)
    def bulk(args, organisation_id, achievement_id):
        achievement = _achievement(organisation_id, achievement_id)
        with bulk_awards.spool(_body_chunks()) as spooled:
            parsed = bulk_awards.parse(spooled)
        if args["preview"]:
            return parsed.as_dict(rows=True), 200
        if not parsed.rows:
            return {"error": "no_valid_rows", "message": "No row can be issued.", **parsed.as_dict()}, 422
        batch = bulk_awards.start(db.session, g.api_principal, achievement, parsed)
        db.session.commit()
        batches.run_batch_job(str(batch.id))
        db.session.refresh(batch)  # the job ran in a session of its own (at once, in immediate mode)
        body = {"batch": _batch_body(batch), **parsed.as_dict()}
        return body, 202, {"Location": body["batch"]["url"]}

    @blp.route("/batches/<uuid:batch_id>", methods=["GET"])
    @blp.arguments(ReportArgs, location="query")
    @blp.doc(summary="A bulk award's progress and a page of its per-row report")
    @document_errors(blp, 401, 404, 422)
    def batch(args, batch_id):
        from app.models.jobs import Batch  # noqa: PLC0415

        found = db.session.get(Batch, batch_id)
        if found is None or found.kind != bulk_awards.KIND:
            raise NotFound("No such batch.")
        organisation = orgs.get(db.session, g.api_principal, found.key.split(":", 1)[0], "issue")
        found = bulk_awards.batch_for(db.session, g.api_principal, organisation, batch_id)
        rows = batches.report(db.session, found, after=args["after"], limit=args["limit"])
        return {**_batch_body(found), "rows": rows,
                "next_after": rows[-1]["position"] if len(rows) == args["limit"] else None}

    return blp


def register(app) -> None:
    """Registered by ``app.credentials`` beside the single-award API."""
    from app import api  # noqa: PLC0415 - the package imports this module

    api.register(app, make_blueprint())
