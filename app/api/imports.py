"""``POST /api/v1/imports``: import a file into the portfolio (or, with ``dry_run``, only preview it).

The body is ``multipart/form-data`` read as it arrives (``app.vault.formstream``): the file goes to a
temporary file under the import's size limit, never whole in memory; ``dry_run`` and ``passphrase`` may
come before or after it. The work is ``app.services.imports``'.
"""
from __future__ import annotations

import contextlib
import os

import marshmallow as ma
from flask import current_app, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import fields
from werkzeug.exceptions import BadRequest

from app.api.auth import api_user, require_token
from app.api.common import document_errors
from app.api.schemas import ErrorSchema
from app.extensions import db, limiter
from app.imports.upload import receive as receive_upload
from app.services import imports
from app.services.errors import ServiceError, ValidationFailed

REFUSALS = ("`unknown_format`, `invalid_format`, `invalid_json`, `invalid_xml`, `unsafe_xml` (DTD or entities: "
            "XXE, billion laughs), `unsafe_archive` (`../` or absolute paths, links), `zip_bomb`, "
            "`archive_too_large`, `corrupt_archive` (truncated), `integrity_error` (a Sillage export whose "
            "files do not match its manifest), `unsupported_version`, `passphrase_required`, "
            "`wrong_passphrase`, `empty_file` (422); `file_too_large` (413)")
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": (
            "A Sillage export (.zip, or .zip.enc encrypted), JSON Resume, LEAP2A (Mahara's export ZIP or "
            "its leap2a.xml), Europass CV XML, LinkedIn's data-export ZIP, or a badge (PNG, SVG, JSON, "
            "VC-JWT). The format is detected from the content.")},
        "dry_run": {"type": "boolean", "description": "true: only preview, change nothing."},
        "passphrase": {"type": "string", "description": "The passphrase of an encrypted Sillage export."},
    }}}}}}


class CountSchema(ma.Schema):
    new = fields.Integer(required=True)
    existing = fields.Integer(required=True, metadata={"description": "Already there: not imported again."})
    invalid = fields.Integer(required=True, metadata={"description": "Cannot be imported (see reason)."})


class PreviewItemSchema(ma.Schema):
    label = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "new, existing or invalid."})
    reason = fields.String()


class ImportResultSchema(ma.Schema):
    dry_run = fields.Boolean(required=True)
    format = fields.String(required=True, metadata={
        "description": "sillage, json_resume, leap2a, europass, linkedin or badge."})
    counts = fields.Dict(keys=fields.String(), values=fields.Nested(CountSchema), required=True)
    profile = fields.Dict(required=True, metadata={"description": "Profile fields filled (only empty ones)."})
    items = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(PreviewItemSchema)),
                        required=True, metadata={"description": "The first 50 items of each section."})
    credentials = fields.List(fields.Dict(), required=True)
    notes = fields.List(fields.String(), required=True, metadata={
        "description": "What the file holds that is not imported, and why."})
    left_out = fields.List(fields.Dict(), required=True, metadata={
        "description": "Sections of a Sillage export deliberately not restored (grants, grants_received, "
                       "share_links, attestation_requests, access_log): `section`, `count`, `label`, `reason`."})


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


IMPORT_LIMIT = "20/hour"


def _import_limit() -> str:
    """``IMPORT_LIMIT`` in the configuration (tests lower it), else 20 an hour."""
    return current_app.config.get("IMPORT_LIMIT", IMPORT_LIMIT)


# An import may take an upload of up to 1 GiB, parse it, decrypt it (Argon2id) and verify its badges, all
# within the request: a few an hour per address, shared by the page's upload and confirm and the API.
import_limit = limiter.shared_limit(_import_limit, scope="import", methods=["POST"])


def make_blueprint() -> Blueprint:
    blp = Blueprint("Import", __name__, url_prefix="/api/v1/imports",
                    description="Bring a portfolio in from Sillage, JSON Resume, LEAP2A, Europass, LinkedIn, "
                                "or badges earned elsewhere.")
    blp.before_request(require_token)

    @blp.route("", methods=["POST"])
    @import_limit
    @blp.response(201, ImportResultSchema, description="Imported (what was done).")
    @blp.alt_response(200, schema=ImportResultSchema, description="dry_run: what would be imported.")
    @blp.alt_response(413, schema=ErrorSchema, description="file_too_large")
    @blp.doc(summary="Import a file (or preview it)", description=(
        "The format is detected from the content. Items already in the portfolio (same content, or imported "
        "before from the same item) are never added again; the profile only fills empty fields. Everything "
        "is imported in one transaction: a refusal leaves nothing behind. Refusals: " + REFUSALS + "."),
        **UPLOAD_BODY)
    @document_errors(blp, 400, 401, 415, 422, 429)
    def create():
        user = api_user()
        limits = imports.Limits.from_config(current_app.config)
        if (request.content_length or 0) > limits.upload + 64 * 1024:
            raise imports.ImportRefused(str(_l("The file is larger than the %(size)s MiB an import may be.",
                                               size=limits.upload // 2**20)), code="file_too_large", status=413)
        request.max_content_length = limits.upload + 64 * 1024
        try:
            path, filename, values = receive_upload(limits.upload, ("dry_run", "passphrase"), check_csrf=False)
        except BadRequest:
            raise ServiceError(str(_l("Send the file as multipart/form-data, in a field named file.")),
                               code="invalid_form") from None
        if path is None:
            message = str(_l("Choose a file to import."))
            raise ValidationFailed(message, fields={"file": message})
        dry_run = _truthy(values.get("dry_run", ""))
        try:
            run = imports.preview if dry_run else imports.apply
            plan = run(db.session, user, path, filename=filename, passphrase=values.get("passphrase") or None,
                       limits=limits)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        response = jsonify({"dry_run": dry_run, **plan.as_dict()})
        response.status_code = 200 if dry_run else 201
        return response

    return blp
