"""``POST /api/v1/verify`` (JSON, public, no token) and the public page ``/verify`` (HTML form), with
``POST /verify/recipient``, the no-JavaScript fallback of the page's "check an e-mail address".

Both answer the verifier's result object as is. A request that carries nothing verifiable (no body,
another media type, more bytes than a credential or a badge image can take) is refused with a 4xx and a
stable ``error`` code; a document that can be read but does not verify is a 200 with
``verified: false``: the verification *worked*, and its answer is no.

Both share one per-IP rate limit (``RATE_LIMIT_VERIFY``, ``off`` to disable), since each verification
may make the server fetch documents from other hosts.
"""
from __future__ import annotations

from http import HTTPStatus

import marshmallow as ma
from flask import Blueprint, Flask, current_app, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint as ApiBlueprint

from app.errors import error_response
from app.extensions import limiter
from app.verification import display, runner
from app.verification.forms import RecipientCheckForm, VerifyForm
from badges.identity import hash_matches
from badges.verify.jwt import MEDIA_TYPES as jwt_media_types

UNLIMITED = "1000000/second"


def _limit_value() -> str:
    value = str(current_app.config.get("RATE_LIMIT_VERIFY") or "off").strip()
    return UNLIMITED if value.lower() == "off" else value


def _limit_off() -> bool:
    return str(current_app.config.get("RATE_LIMIT_VERIFY") or "off").strip().lower() == "off"


verify_limit = limiter.shared_limit(_limit_value, scope="verify", methods=["POST"], exempt_when=_limit_off)


# -- the public page --------------------------------------------------------------------------------

page_bp = Blueprint("verification", __name__, template_folder="templates")
display.register(page_bp)


@page_bp.route("/verify", methods=["GET", "POST"])
@verify_limit
def verify():
    """Anyone may paste a credential (or a badge URL) or upload a baked badge, and see the verdict, what
    the credential says and every check. Nothing is stored and the result has no address of its own:
    the answer is marked ``no-store`` so that no cache keeps what was pasted."""
    form = VerifyForm()
    result = None
    image = None
    status = 200
    if form.validate_on_submit():
        if form.file.data and form.file.data.filename:
            data = form.file.data.read(runner.MAX_FILE_BYTES + 1)
            if len(data) > runner.MAX_FILE_BYTES:
                form.file.errors.append(_l("This file is too large (at most 5 MB)."))
                data = None
        else:
            data = form.credential.data.strip()
            if len(data.encode("utf-8", "surrogatepass")) > runner.MAX_JSON_BYTES:
                form.credential.errors.append(_l("This text is too long (at most 1 MB)."))
                data = None
        if data is not None:
            with runner.slot():  # one slot for the verification and the badge image it shows
                result = display.with_verdict(runner.run(data), runner.reader_locale())
                image = display.badge_image(result, data if isinstance(data, bytes) else None)
    elif request.method == "POST":
        status = 400 if form.csrf_token.errors else 422
    response = make_response(render_template("verification/verify.html", form=form, result=result,
                                             badge_image=image), status)
    if request.method == "POST":
        response.headers["Cache-Control"] = "no-store"
    return response


@page_bp.route("/verify/recipient", methods=["POST"])
@verify_limit
def check_recipient():
    """Whether an e-mail address is the one a credential's salted hash designates, for readers without
    JavaScript (the page compares in the browser otherwise). The address is neither stored nor logged."""
    form = RecipientCheckForm()
    matches = None
    status = 200
    if form.validate_on_submit():
        matches = hash_matches(form.identity_hash.data, form.email.data, form.salt.data or None)
    else:
        status = 400 if form.csrf_token.errors else 422
    response = make_response(render_template("verification/recipient.html", matches=matches), status)
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the API route -------------------------------------------------------------------------------------

class CheckSchema(ma.Schema):
    name = ma.fields.String(required=True, metadata={
        "description": "parse, jsonld, schema, verification_method, proof, issuer, validity, status, hosted, "
                       "badge_class"})
    ok = ma.fields.Boolean(required=True)
    detail = ma.fields.String(allow_none=True,
                              metadata={"description": "What was found, in the reader's language."})
    code = ma.fields.String(allow_none=True, metadata={"description": "A stable failure code, null when ok."})


class MessageSchema(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)


class VerificationResultSchema(ma.Schema):
    verified = ma.fields.Boolean(required=True, metadata={"description": "True only if every check passed."})
    checks = ma.fields.List(ma.fields.Nested(CheckSchema), required=True)
    errors = ma.fields.List(ma.fields.Nested(MessageSchema), required=True)
    warnings = ma.fields.List(ma.fields.Nested(MessageSchema), required=True)
    verdict = ma.fields.Dict(required=True, metadata={
        "description": "For people: status verified, verified_with_remarks or not_verified; reason (when not "
                       "verified) forged, revoked, suspended, expired, not_yet_valid, invalid or unchecked "
                       "(could not be checked: not a forgery verdict); title and message in the reader's "
                       "language."})
    credential = ma.fields.Dict(metadata={
        "description": "What the document says (achievement, issuer, recipient, dates, image, evidence, "
                       "alignments, endorsements), in the reader's language; absent when nothing was read."})


def _refuse(status: int, code: str, message):
    return error_response(status, code, message)


# A VC-JWT as the body: text/plain (OB 3.0 serves a VC-JWT so), and the media types JOSE credentials use.
JWT_MEDIA_TYPES = ("text/plain", "application/jwt", *jwt_media_types)


def _api_input():
    """The document to verify from a JSON body (a credential, or a VC-JWT as a JSON string), a compact
    JWS as text, or a multipart ``file``; or a refusal response."""
    mimetype = request.mimetype or ""
    length = request.content_length
    if mimetype == "application/json" or mimetype.endswith("+json") or mimetype in JWT_MEDIA_TYPES:
        if length is not None and length > runner.MAX_JSON_BYTES:
            return None, _refuse(413, "too_large", _l("A credential is at most 1 MB."))
        raw = request.stream.read(runner.MAX_JSON_BYTES + 1) if length is None else request.get_data()
        if len(raw) > runner.MAX_JSON_BYTES:
            return None, _refuse(413, "too_large", _l("A credential is at most 1 MB."))
        if not raw.strip():
            return None, _refuse(400, "no_input", _l("Send a credential as the JSON body, or a VC-JWT as text."))
        return raw, None
    if mimetype == "multipart/form-data":
        if length is not None and length > runner.MAX_FILE_BYTES + 64 * 1024:
            return None, _refuse(413, "too_large", _l("A file is at most 5 MB."))
        upload = request.files.get("file")
        if upload is None:
            return None, _refuse(400, "no_input",
                                 _l("Send the badge or credential as the multipart field “file”."))
        data = upload.read(runner.MAX_FILE_BYTES + 1)
        if len(data) > runner.MAX_FILE_BYTES:
            return None, _refuse(413, "too_large", _l("A file is at most 5 MB."))
        if not data:
            return None, _refuse(400, "no_input", _l("The file is empty."))
        return data, None
    return None, _refuse(415, "unsupported_media_type",
                         _l("Send a credential as application/json, a VC-JWT as text/plain, or a file as "
                            "multipart/form-data."))


def make_api_blueprint() -> ApiBlueprint:
    """Built afresh for each application (Flask refuses changes to a registered blueprint)."""
    blp = ApiBlueprint("verify", __name__, url_prefix="/api/v1/verify",
                       description="Verify a credential or a baked badge (public, no token).")

    @blp.route("", methods=["POST"])
    @verify_limit
    @blp.doc(summary="Verify a credential, a VC-JWT, an Open Badges 2.0 assertion or a baked badge image",
             security=[],
             requestBody={"required": True, "content": {
                 "application/json": {"schema": {"oneOf": [
                     {"type": "object", "description": "The credential, as issued."},
                     {"type": "string", "description": "A VC-JWT (compact JWS) as a JSON string."}]}},
                 "text/plain": {"schema": {"type": "string", "description": (
                     "A VC-JWT: a compact JWS (OB 3.0 section 8.2, or VC-JOSE-COSE). Also accepted as "
                     "application/jwt and application/vc+jwt.")}},
                 "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                     "file": {"type": "string", "format": "binary",
                              "description": "A baked PNG or SVG badge, a JSON credential file, or a "
                                             "VC-JWT (.jwt) file."}}}}}})
    @blp.alt_response(200, schema=VerificationResultSchema,
                      description="The verification ran: `verified` says whether every check passed.")
    @blp.alt_response(400, response=HTTPStatus(400).name,
                      description="Nothing to verify (error no_input or invalid_json).")
    @blp.alt_response(413, response=HTTPStatus(413).name,
                      description="More than 1 MB of JSON or 5 MB of file (error too_large).")
    @blp.alt_response(415, response=HTTPStatus(415).name, description="Neither JSON, a JWT nor multipart.")
    @blp.alt_response(429, response=HTTPStatus(429).name,
                      description="Too many verifications from this address.")
    def verify_api():
        """Answers the same result object as ``sillage verify --json``."""
        data, refusal = _api_input()
        if refusal is not None:
            return refusal
        result = runner.run(data)
        failed_parse = runner.parse_failure(result)
        message = result["errors"][0]["message"] if result["errors"] else ""
        if failed_parse == "invalid_json" and request.mimetype != "multipart/form-data":
            # A JSON body that is not JSON is a broken request; a broken *file* is a document that fails.
            return _refuse(400, "invalid_json", message)
        if failed_parse == "too_large":
            return _refuse(413, "too_large", message)
        response = jsonify(result)
        response.headers["Cache-Control"] = "no-store"
        return response

    return blp


def register(app: Flask) -> None:
    app.register_blueprint(page_bp)
    from app import api  # noqa: PLC0415 - the API package is set up before this feature

    api.register(app, make_api_blueprint())  # documented in /api/v1/openapi.json
