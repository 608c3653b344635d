"""``/api/v1/exports`` (personal access token): ask for an export of your data, follow its progress,
download it while its link lasts. The work is ``app.services.exports``; the format is
docs/export-format.md. Another person's export answers 404, as a missing one; an expired link 410.
"""
from __future__ import annotations

import marshmallow as ma
from flask import Response, url_for
from flask_smorest import Blueprint

from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_body, json_object
from app.api.schemas import UTCDateTime
from app.extensions import db, limiter
from app.models.exports import Export
from app.services import exports as service
from app.services.errors import ValidationFailed

FIELDS = {"selection", "passphrase"}


class SelectionEntrySchema(ma.Schema):
    type = ma.fields.String(required=True, metadata={
        "description": "section, or one of: " + ", ".join(service.ITEM_SECTIONS)})
    id = ma.fields.String(required=True, metadata={
        "description": "The item's id, or the section's name: " + ", ".join(service.SECTIONS)})


class ExportBodySchema(ma.Schema):
    selection = ma.fields.Raw(metadata={"description": '"all" (default), or a list of {"type", "id"}: whole '
                                                       "sections and single items."})
    passphrase = ma.fields.String(metadata={"description": "Encrypt the ZIP with this passphrase (8 to 1,024 "
                                                           "characters; Argon2id + AES-256-GCM, see "
                                                           "docs/export-format.md). Not stored."})


class ExportSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    status = ma.fields.String(required=True, metadata={"description": "queued, running, done, failed or "
                                                                      "expired"})
    progress = ma.fields.Integer(required=True, metadata={"description": "Percent."})
    selection = ma.fields.List(ma.fields.Nested(SelectionEntrySchema), allow_none=True, required=True)
    encrypted = ma.fields.Boolean(required=True)
    size = ma.fields.Integer(allow_none=True, required=True, metadata={"description": "Bytes, once done."})
    sha256 = ma.fields.String(allow_none=True, required=True)
    error = ma.fields.String(allow_none=True, required=True, metadata={
        "description": "document_unreadable, storage_unavailable, export_interrupted or export_failed"})
    created_at = UTCDateTime(required=True)
    finished_at = UTCDateTime(allow_none=True, required=True)
    expires_at = UTCDateTime(allow_none=True, required=True, metadata={"description": "When the link ends."})
    download_url = ma.fields.String(allow_none=True, required=True)


class ExportListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ExportSchema), required=True)


def dump(export: Export) -> dict:
    ready = export.shown_status == "done"
    return {"id": export.id, "status": export.shown_status, "progress": export.progress,
            "selection": export.selection, "encrypted": export.encrypted, "size": export.size,
            "sha256": export.sha256, "error": export.error, "created_at": export.created_at,
            "finished_at": export.finished_at, "expires_at": export.expires_at,
            "download_url": url_for("exports_api.download", export_id=export.id, _external=True) if ready else None}


# Each export reads the whole portfolio and writes a file as large as the vault: a few per hour.
export_limit = limiter.limit("10/hour", methods=["POST"])


def make_blueprint() -> Blueprint:
    blp = Blueprint("exports_api", __name__, url_prefix="/api/v1/exports",
                    description="Carry your data away: a ZIP of everything (or of chosen items), in open formats.")
    blp.before_request(require_token)

    @blp.route("", methods=["POST"])
    @export_limit
    @blp.response(202, ExportSchema)
    @blp.doc(summary="Ask for an export; it is prepared in the background (follow its status)",
             **json_body(ExportBodySchema))
    @document_errors(blp, 400, 401, 415, 422, 429)  # and 409 export_in_progress
    def create():
        body = json_object()
        unknown = sorted(set(body) - FIELDS)
        if unknown:
            raise ValidationFailed("Some information is not valid.", fields={k: "Unknown field." for k in unknown})
        passphrase = body.get("passphrase")
        if passphrase is not None and not isinstance(passphrase, str):
            raise ValidationFailed("Some information is not valid.", fields={"passphrase": "Text."})
        export = service.request_export(db.session, api_user(), selection=body.get("selection"),
                                        passphrase=passphrase)
        db.session.commit()
        service.enqueue(export)
        db.session.refresh(export)
        return dump(export), {"Location": url_for(".show", export_id=export.id)}

    @blp.route("", methods=["GET"])
    @blp.response(200, ExportListSchema)
    @blp.doc(summary="Your recent exports, newest first")
    @document_errors(blp, 401)
    def index():
        return {"items": [dump(e) for e in service.list_for(db.session, api_user())]}

    @blp.route("/<uuid:export_id>", methods=["GET"])
    @blp.response(200, ExportSchema)
    @blp.doc(summary="One export: its status and progress, and its download link once done")
    @document_errors(blp, 401, 404)
    def show(export_id):
        return dump(service.get(db.session, api_user(), export_id))

    @blp.route("/<uuid:export_id>/download", methods=["GET"])
    @blp.doc(summary="Download the export (a ZIP, or the encrypted file)", responses={
        "200": {"description": "The file.", "content": {"application/zip": {"schema": {
            "type": "string", "format": "binary"}}}},
        "409": {"description": "Not ready (export_not_ready)."},
        "410": {"description": "The link has expired (export_expired)."}})
    @document_errors(blp, 401, 404)
    def download(export_id):
        export = service.get(db.session, api_user(), export_id)
        return file_response(api_user(), export)

    return blp


def file_response(user, export: Export) -> Response:
    """The stored file, streamed, as an attachment (shared with the page's download)."""
    from app.api.documents import attachment  # noqa: PLC0415

    chunks, name = service.download(user, export)
    return Response(chunks, mimetype="application/octet-stream" if export.encrypted else "application/zip",
                    direct_passthrough=True,
                    headers={"Content-Disposition": attachment(name), "Content-Length": str(export.size),
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


def register(app) -> None:
    """Registered by ``app.exports`` on the API (documented in ``/api/v1/openapi.json``)."""
    from app import api  # noqa: PLC0415

    api.register(app, make_blueprint())
