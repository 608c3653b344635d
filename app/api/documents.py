"""``/api/v1/documents``: the vault (upload, list and search, read, change, delete, download with
``Range``, thumbnails), and ``/api/v1/<experiences|diplomas|skills>/<id>/evidence``: documents attached
as evidence. The work is done by ``app.services.documents``; these views parse HTTP and shape answers.

Downloads are never rendered by a browser: always ``Content-Disposition: attachment`` (RFC 6266, with
an ASCII fallback and the UTF-8 name in ``filename*``), ``X-Content-Type-Options: nosniff``, a sandboxing
CSP, and for kinds a browser would run (HTML, SVG, XML) ``application/octet-stream``.
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

import marshmallow as ma
from flask import Response, jsonify, request, url_for
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import fields, validate

from app import policy
from app.api.auth import api_user, require_token
from app.api.common import decode_cursor, document_errors, json_object, page
from app.api.schemas import ErrorSchema, PageArgsSchema, UTCDateTime, page_schema
from app.extensions import db, talisman
from app.models import Diploma, Document, Experience, Skill
from app.services import documents
from app.services.errors import ServiceError

CONTENT_CSP = {"default-src": "'none'", "sandbox": ""}  # nothing loads, nothing runs, even if opened


class DocumentSchema(ma.Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    content_type = fields.String(required=True, metadata={
        "description": "Detected from the content at upload (never from the name)."})
    size = fields.Integer(required=True, metadata={"description": "Bytes."})
    sha256 = fields.String(required=True, metadata={"description": "Hex SHA-256 of the content."})
    tags = fields.List(fields.String(), required=True)
    has_thumbnail = fields.Boolean(required=True)
    content_url = fields.Function(lambda d: url_for("documents.content", document_id=d.id), required=True)
    thumbnail_url = fields.Function(
        lambda d: url_for("documents.thumbnail", document_id=d.id) if d.has_thumbnail else None,
        required=True, allow_none=True)
    created_at = UTCDateTime(required=True)
    updated_at = UTCDateTime(required=True)


class DocumentArgsSchema(PageArgsSchema):
    q = fields.String(validate=validate.Length(max=200),
                      metadata={"description": "Part of the name (case and accents ignored)."})
    tag = fields.String(validate=validate.Length(max=100), metadata={"description": "One tag, exactly."})


class DocumentUpdateSchema(ma.Schema):
    name = fields.String(validate=validate.Length(min=1, max=255))
    description = fields.String(validate=validate.Length(max=documents.DESCRIPTION_LENGTH))
    tags = fields.List(fields.String(validate=validate.Length(max=40)),
                       validate=validate.Length(max=documents.MAX_TAGS))


class UsageSchema(ma.Schema):
    used = fields.Integer(required=True, metadata={"description": "Bytes used by the documents."})
    quota = fields.Integer(required=True, metadata={"description": "Bytes allowed in total."})
    max_file = fields.Integer(required=True, metadata={"description": "Largest file accepted, in bytes."})


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "The file (one per request). Its name is kept, without any folder."},
        "tags": {"type": "string", "description": "Comma-separated tags (or the field repeated)."},
        "description": {"type": "string"},
    }}}}}}
BINARY = {"schema": {"type": "string", "format": "binary"}}
OCTETS = "application/octet-stream"


def attachment(name: str) -> str:
    """``Content-Disposition: attachment`` for ``name`` (RFC 6266): an ASCII ``filename`` (accents
    dropped, anything unsafe as ``_``) for old clients, and the exact name in ``filename*`` (RFC 8187)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r'[^A-Za-z0-9 !#$&+,.;=@^_`{}~()\[\]-]', "_", ascii_name).strip() or "document"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


_INT_RANGE = re.compile(r"([0-9]+)-([0-9]*)")
_SUFFIX_RANGE = re.compile(r"-([0-9]+)")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
UNSATISFIABLE = "unsatisfiable"


def byte_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """The one byte span ``(start, stop)`` to send for a ``Range`` header on ``size`` bytes,
    ``UNSATISFIABLE`` (answer 416), or None (send the whole representation), read as RFC 9110 §14 says.

    Written here rather than taken from werkzeug, whose parser calls ``bytes=-0`` malformed (so it got a
    200) and honours invalid forms such as ``bytes=0 - 4``. What the RFC says, and what follows:
    - §14.1.2 grammar: ``range-unit "=" 1#range-spec`` with no whitespace inside a spec, OWS only around
      the list's commas, empty list elements ignored (§5.6.1.2); the unit is case-insensitive. A spec
      that is invalid (bad syntax, ``last-pos < first-pos``) makes the whole header invalid, and a
      server may ignore an invalid header (§14.2): the whole document, 200. So does another unit.
    - §14.1.1/§14.1.2: the set is satisfiable when one int-range starts before ``size`` or one
      suffix-range has a non-zero length; otherwise 416 with ``Content-Range: bytes */size`` (§15.5.17).
      ``bytes=-0`` is therefore unsatisfiable, not invalid. A last-pos beyond the end is cut to the end,
      and a suffix longer than the document selects all of it.
    - §14.2: several ranges may be coalesced when they overlap or touch; the satisfiable ones that
      coalesce into one span are sent as one part. Ranges that stay apart would need a
      multipart/byteranges body, which we do not send: a server may ignore Range, so the whole document.
    """
    if header is None:
        return None
    unit, equals, range_set = header.strip(" \t").partition("=")
    if not equals or not _TOKEN.fullmatch(unit) or unit.lower() != "bytes":
        return None
    spans, seen = [], False
    for element in range_set.split(","):
        element = element.strip(" \t")
        if not element:
            continue
        seen = True
        if match := _INT_RANGE.fullmatch(element):
            first = int(match[1])
            last = int(match[2]) if match[2] else None
            if last is not None and last < first:
                return None
            if first < size:
                spans.append((first, size if last is None else min(last + 1, size)))
        elif match := _SUFFIX_RANGE.fullmatch(element):
            if int(match[1]) > 0 and size > 0:
                spans.append((max(size - int(match[1]), 0), size))
        else:
            return None
    if not seen:
        return None
    if not spans:
        return UNSATISFIABLE
    spans.sort()
    start, stop = spans[0]
    for first, end in spans[1:]:
        if first > stop:
            return None
        stop = max(stop, end)
    return start, stop


def content_response(user, document: Document) -> Response:
    """The download of ``document`` for the current request: whole (200), one byte range (206) or 416,
    always an attachment, never sniffed. Shared with the vault pages (``app.vault``), whose view must
    also carry ``@talisman(content_security_policy=CONTENT_CSP, content_security_policy_nonce_in=[])``.

    ``byte_range`` reads the ``Range`` header (RFC 9110 §14); an ``If-Range`` that does not match the
    ETag (strong comparison; we send no Last-Modified, so a date never matches) gets the whole document.
    """
    etag = f'"{document.sha256}"'
    headers = {"Content-Disposition": attachment(document.name), "X-Content-Type-Options": "nosniff",
               "Accept-Ranges": "bytes", "ETag": etag, "Cache-Control": "private, no-store"}
    mimetype = documents.served_type(document)
    if_range = request.headers.get("If-Range")
    span = byte_range(request.headers.get("Range"), document.size) \
        if if_range is None or if_range.strip() == etag else None
    if span == UNSATISFIABLE:
        response = jsonify(error="range_not_satisfiable", message=str(_l(
            "The requested range is outside the document (%(size)d bytes).", size=document.size)))
        response.status_code = 416
        response.headers.update({key: value for key, value in headers.items()
                                 if key != "Content-Disposition"})
        response.headers["Content-Range"] = f"bytes */{document.size}"
        return response
    if span is not None:
        start, stop = span
        return Response(documents.read(user, document, start, stop - start), status=206, mimetype=mimetype,
                        direct_passthrough=True,
                        headers={**headers, "Content-Length": str(stop - start),
                                 "Content-Range": f"bytes {start}-{stop - 1}/{document.size}"})
    return Response(documents.read(user, document), status=200, mimetype=mimetype, direct_passthrough=True,
                    headers={**headers, "Content-Length": str(document.size)})


def _document(document_id) -> Document:
    return documents.get(db.session, api_user(), document_id)


def _dump(document: Document) -> dict:
    return DocumentSchema().dump(document)


def make_blueprint() -> Blueprint:
    blp = Blueprint("documents", __name__, url_prefix="/api/v1/documents",
                    description="The owner's vault: documents encrypted at rest, searched by name and tag.")
    blp.before_request(require_token)

    @blp.route("", methods=["GET"])
    @blp.arguments(DocumentArgsSchema, location="query")
    @blp.response(200, page_schema(DocumentSchema, "DocumentPageSchema"))
    @blp.doc(summary="List and search documents", description=(
        "Newest first. `q` keeps names containing it (ignoring case and accents), `tag` documents with "
        "that tag. Pages of at most `limit`; follow `next_cursor` until it is null."))
    @document_errors(blp, 400, 401, 422)
    def index(args):
        after = decode_cursor(args.get("cursor"), documents.ORDER.key_type)
        found = documents.search(db.session, api_user(), q=args.get("q"), tag=args.get("tag"), after=after,
                                 limit=args["limit"] + 1)
        result = page(found, args["limit"], documents.ORDER.position)
        return jsonify({"items": [_dump(d) for d in result["items"]], "next_cursor": result["next_cursor"]})

    @blp.route("", methods=["POST"])
    @blp.response(201, DocumentSchema)
    @blp.doc(summary="Upload a document", description=(
        "multipart/form-data with the file in `file` and optional `tags` and `description`. The upload "
        "streams to encrypted storage. Refusals: `empty_file` (422), `file_too_large` and "
        "`quota_exceeded` (413, as soon as known: from Content-Length, else while the body arrives), "
        "`invalid_name` (422), `storage_unavailable` (503). A refused or interrupted upload leaves "
        "nothing behind."), **UPLOAD_BODY)
    @blp.alt_response(413, schema=ErrorSchema, description="file_too_large, quota_exceeded")
    @blp.alt_response(503, schema=ErrorSchema, description="storage_unavailable")
    @document_errors(blp, 400, 401, 415, 422)
    def create():
        user, length = api_user(), request.content_length
        documents.admit(db.session, user, documents.declared_file_size(length))
        # The application-wide body limit (MAX_CONTENT_LENGTH) is for forms; here the vault's own applies.
        request.max_content_length = documents.max_file_size() + documents.MULTIPART_OVERHEAD
        document = documents.receive(db.session, user, request.stream, request.content_type, length)
        db.session.commit()
        return document, {"Location": url_for(".show", document_id=document.id)}

    @blp.route("/usage", methods=["GET"])
    @blp.response(200, UsageSchema)
    @blp.doc(summary="Space used in the vault")
    @document_errors(blp, 401)
    def usage():
        used, quota = documents.usage(db.session, api_user())
        return {"used": used, "quota": quota, "max_file": documents.max_file_size()}

    @blp.route("/<uuid:document_id>", methods=["GET"])
    @blp.response(200, DocumentSchema)
    @blp.doc(summary="Read a document's description")
    @document_errors(blp, 401, 404)
    def show(document_id):
        return _document(document_id)

    @blp.route("/<uuid:document_id>", methods=["PATCH"])
    @blp.response(200, DocumentSchema)
    @blp.doc(summary="Rename, describe or re-tag a document", requestBody={
        "required": True, "content": {"application/json": {"schema": DocumentUpdateSchema}}})
    @document_errors(blp, 400, 401, 404, 415, 422)
    def update(document_id):
        document = _document(document_id)
        body = json_object()
        unknown = set(body) - {"name", "description", "tags"}
        if unknown:
            problem = str(_l("Unknown field."))
            raise documents.ValidationFailed(str(_l("Some information is not valid.")),
                                             fields={name: problem for name in sorted(unknown)})
        if "tags" in body and body["tags"] is None:
            body["tags"] = []
        if "tags" in body and not isinstance(body["tags"], list):
            raise documents.ValidationFailed(str(_l("Some information is not valid.")),
                                             fields={"tags": str(_l("Must be a list of tags."))})
        if "name" in body and body["name"] is None:
            raise documents.InvalidName()
        documents.update(db.session, api_user(), document, name=body.get("name"),
                         description=body.get("description"), tags=body.get("tags"))
        db.session.commit()
        return document

    @blp.route("/<uuid:document_id>", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Delete a document", description="Its encrypted content is removed from storage.")
    @blp.alt_response(503, schema=ErrorSchema, description="storage_unavailable: nothing was deleted")
    @document_errors(blp, 401, 404)
    def delete(document_id):
        documents.delete(db.session, api_user(), _document(document_id))
        db.session.commit()
        return None

    @blp.route("/<uuid:document_id>/content", methods=["GET"])
    @talisman(content_security_policy=CONTENT_CSP, content_security_policy_nonce_in=[])
    @blp.doc(summary="Download a document", description=(
        "The decrypted content, streamed, always as an attachment. Supports `Range: bytes=...` (RFC 9110: "
        "206 for one range, or several that overlap or touch; 416 with `Content-Range: bytes */size` when "
        "none is satisfiable, `bytes=-0` included; the whole document for an invalid header or ranges that "
        "stay apart) and `If-Range` with the ETag. Errors before the first "
        "byte: `document_corrupted` (500; 410 when the stored content is missing), `storage_unavailable` "
        "(503). Damage found later in a long download cuts the connection short of Content-Length, so "
        "a client never takes a partial or altered file for the document."),
        responses={"200": {"description": "The whole document", "content": {OCTETS: BINARY}},
                   "206": {"description": "The requested range", "content": {OCTETS: BINARY}},
                   "416": {"description": "range_not_satisfiable: the range is outside the document "
                                          "(`Content-Range: bytes */size`)",
                           "content": {"application/json": {"schema": ErrorSchema}}}})
    @blp.alt_response(410, schema=ErrorSchema, description="document_corrupted: the content is missing")
    @blp.alt_response(500, schema=ErrorSchema, description="document_corrupted: the content is damaged")
    @blp.alt_response(503, schema=ErrorSchema, description="storage_unavailable")
    @document_errors(blp, 401, 404)
    def content(document_id):
        return content_response(api_user(), _document(document_id))

    @blp.route("/<uuid:document_id>/thumbnail", methods=["GET"])
    @talisman(content_security_policy=CONTENT_CSP, content_security_policy_nonce_in=[])
    @blp.doc(summary="A document's thumbnail (images only)", description=(
        "A small JPEG re-encoded from the image's pixels (no metadata); 404 `no_thumbnail` when the "
        "document has none."),
        responses={"200": {"description": "JPEG", "content": {"image/jpeg": BINARY}}})
    @blp.alt_response(500, schema=ErrorSchema, description="document_corrupted: the thumbnail is damaged")
    @blp.alt_response(503, schema=ErrorSchema, description="storage_unavailable")
    @document_errors(blp, 401, 404)
    def thumbnail(document_id):
        data = documents.thumbnail(api_user(), _document(document_id))
        if data is None:
            raise ServiceError(str(_l("This document has no thumbnail.")), code="no_thumbnail", status=404)
        return Response(data, mimetype="image/jpeg", headers={
            "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"})

    return blp


# --- evidence -------------------------------------------------------------------------------------------

EVIDENCE = (("experiences", Experience, "experience"), ("diplomas", Diploma, "diploma"),
            ("skills", Skill, "skill"))


def make_evidence_blueprint() -> Blueprint:
    blp = Blueprint("evidence", __name__, url_prefix="/api/v1",
                    description="Vault documents attached as evidence to experiences, diplomas, skills.")
    blp.before_request(require_token)
    page_of = page_schema(DocumentSchema, "EvidencePageSchema")

    for segment, model, label in EVIDENCE:
        def item_of(item_id, model=model):
            return policy.get_or_404(model, item_id, api_user(), policy.UPDATE)

        def listing(item_id, item_of=item_of):
            item = item_of(item_id)
            return jsonify({"items": [_dump(d) for d in documents.evidence(db.session, item)],
                            "next_cursor": None})

        def attach(item_id, document_id, item_of=item_of):
            item = item_of(item_id)
            documents.link(db.session, api_user(), _document(document_id), item)
            db.session.commit()
            return None

        def detach(item_id, document_id, item_of=item_of):
            item = item_of(item_id)
            documents.unlink(db.session, api_user(), _document(document_id), item)
            db.session.commit()
            return None

        base = f"/{segment}/<uuid:item_id>/evidence"
        blp.route(base, methods=["GET"], endpoint=f"{label}_evidence")(document_errors(blp, 401, 404)(
            blp.doc(summary=f"Documents attached to {'an' if label[0] == 'e' else 'a'} {label}")(
                blp.response(200, page_of)(listing))))
        blp.route(f"{base}/<uuid:document_id>", methods=["PUT"], endpoint=f"attach_to_{label}")(
            document_errors(blp, 401, 404)(blp.doc(
                summary=f"Attach a document to {'an' if label[0] == 'e' else 'a'} {label}",
                description="Attaching a document already attached changes nothing.")(
                blp.response(204)(attach))))
        blp.route(f"{base}/<uuid:document_id>", methods=["DELETE"], endpoint=f"detach_from_{label}")(
            document_errors(blp, 401, 404)(blp.doc(
                summary=f"Detach a document from {'an' if label[0] == 'e' else 'a'} {label}",
                description="The document itself stays in the vault.")(blp.response(204)(detach))))
    return blp
