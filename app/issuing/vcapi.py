"""The W3C VC-API issuer route: ``POST /issuers/<id>/credentials/issue``, so that other systems (and the
W3C test suites) can ask an organisation to sign a Verifiable Credential 2.0.

Read to write this (not guessed): VCALM, the VC-API's new name (github w3c/vcalm ``oas.yaml``
``/credentials/issue``, ``components/IssueCredentialOptions.yml``): the body is ``{"credential": …,
"options": {…}}``, the answer **201** ``{"verifiableCredential": …}``, **400** when the request cannot be
processed, "the provided value of 'issuer' does not match the expected configuration" named first;
the options are ``credentialId`` and ``mandatoryPointers`` with ``additionalProperties: false``. And
w3c/vc-data-model-2.0-test-suite ``tests/mock.data.js`` (it fills ``issuer`` with the endpoint's id
unless the test sets it to null) and ``tests/input/credential-*-fail.json`` (what an issuer must refuse:
:mod:`badges.vcdm` lists the rules).

Statuses, in the style of the verifier routes (:mod:`app.verification.vcapi`): **401** no organisation
token (none, unknown, revoked, a personal ``sil_`` token, or the token of an organisation that is not
approved); **404** the organisation in the URL is unknown or not approved (it does not exist for the
public); **403** the token acts for another organisation; **400** the request is unusable (not JSON, no
``credential`` object, an unknown or malformed option, an issuer other than the organisation); **422**
the credential was read but is not valid VC 2.0, already signed, or cannot be signed faithfully (an
undefined term, an unknown context); 413 / 415 as the verifier. Errors are ``{"error", "message"}`` with
RFC 9457 members (``type``, ``title``, ``detail``, ``status``).

What is signed: the credential as sent, ``issuer`` set to the organisation's DID when absent (or the
``id`` of an issuer object without one), with a DataIntegrityProof ``eddsa-rdfc-2022`` by the
organisation's current key. ``credentialId`` is accepted (Sillage keeps no copy of these credentials,
so it names nothing here); ``mandatoryPointers`` is refused: eddsa-rdfc-2022 discloses everything.
``options.credentialStatus`` (w3c-ccg/vc-api's ``IssueCredentialOptions`` of the 2021–2023 drafts, still
sent by issuer coordinators; VCALM moved status to instance configuration): ``{"type":
"BitstringStatusListEntry"}`` adds a ``credentialStatus`` entry from the organisation's own Bitstring
Status List (:mod:`app.services.status_lists`: random index, lists of 131,072 entries, served at
``/status/<id>``), purpose ``revocation`` unless ``statusPurpose`` says ``suspension``. The index is
recorded (``StatusEntry`` without a stored credential, named by ``credentialId`` or the credential's
``id``), so it is never handed to another credential, and the entry verifies as "not revoked". Another
type, another purpose (``message`` needs a status size and messages Sillage does not keep), a
credential without a name (no ``credentialId``, no ``id``: its status could never be updated), or a
credential that already carries ``credentialStatus`` is a 400.

``POST /issuers/<id>/credentials/status`` sets or clears that bit (w3c-ccg/vc-api
``UpdateCredentialStatusRequest``: ``{"credentialId", "credentialStatus": {"type", "statusPurpose"},
"status": true|false}``), for every entry this organisation gave under that name and purpose, then
re-signs the list: 200 with what was done, 404 ``status_entry_not_found``, 409 ``revocation_final`` for
``status: false`` on a revoked one (Bitstring Status List: revocation cannot be reversed).

Rate limit: ``RATE_LIMIT_ISSUE`` (default ``300/minute``, ``off`` to disable) per organisation token —
keyed by the token's SHA-256, never the token itself — and per client address for requests without a
token, so that a leaked token cannot fill the status lists or hold the workers signing, and token
guessing is throttled too. A 429 is JSON like every other answer here, with ``Retry-After``.
"""
from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping

from flask import Blueprint, Flask, current_app, jsonify, request
from flask_limiter.util import get_remote_address
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from app import policy
from app.extensions import csrf, db, limiter
from app.models import Organisation
from app.database import utcnow
from app.models.credentials import PURPOSES, StatusEntry, StatusList
from app.services import orgs, status_lists
from app.verification.vcapi import PROBLEM_TYPES, Refusal, _http_error, _locale, read_body
from badges import messages, vcdm
from badges.errors import InvalidValue

bp = Blueprint("vcapi_issue", __name__)

_VCDM = "https://www.w3.org/TR/vc-data-model#"
_TYPES = {
    **PROBLEM_TYPES,
    **dict.fromkeys(("not_vc2", "already_signed", "not_signable", "wrong_issuer"), _VCDM + "MALFORMED_VALUE_ERROR"),
    **dict.fromkeys(("missing_credential_to_issue", "unsupported_option", "invalid_options"), _VCDM + "PARSING_ERROR"),
    "option_not_known": "https://www.w3.org/TR/vcalm#UNKNOWN_OPTION_PROVIDED",
}
_KNOWN_OPTIONS = {"credentialId", "mandatoryPointers", "credentialStatus"}


@bp.errorhandler(Refusal)
def _refused(refusal: Refusal):
    text = messages.message(refusal.code, _locale(), **refusal.params)
    response = jsonify({"error": refusal.code, "message": text, "type": _TYPES.get(refusal.code, "about:blank"),
                        "title": refusal.code, "detail": text, "status": refusal.status})
    response.status_code = refusal.status
    response.headers["Cache-Control"] = "no-store"
    if refusal.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="sillage"'
    return response


bp.register_error_handler(HTTPException, _http_error)


def _organisation(org_id) -> Organisation:
    """The organisation that the bearer's organisation token acts for, which must be the one in the URL."""
    auth = request.authorization
    raw = auth.token if auth is not None and auth.type == "bearer" else None
    acting = orgs.organisation_for_token(raw, db.session) if raw else None
    if acting is None:
        raise Refusal(401, "issue_token_required")
    key = policy.parse_id(org_id)
    target = db.session.get(Organisation, key) if key is not None else None
    if target is None or not target.is_approved:
        raise Refusal(404, "issuer_not_found")
    if target.id != acting.id:
        raise Refusal(403, "issue_not_allowed")
    db.session.commit()  # keeps the token's last use
    return target


def _options(body: Mapping) -> dict:
    options = body.get("options")
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise Refusal(400, "invalid_options", option="options", reason="not a JSON object")
    for name in sorted(options):
        if name not in _KNOWN_OPTIONS:
            raise Refusal(400, "option_not_known", option=str(name)[:100])
    if "credentialId" in options and not isinstance(options["credentialId"], str):
        raise Refusal(400, "invalid_options", option="credentialId", reason="not a string")
    if options.get("mandatoryPointers"):
        raise Refusal(400, "unsupported_option", option="mandatoryPointers",
                      reason="eddsa-rdfc-2022 does not disclose selectively")
    status = options.get("credentialStatus")
    if status is not None:
        if not isinstance(status, dict):
            raise Refusal(400, "invalid_options", option="credentialStatus", reason="not a JSON object")
        unknown = sorted(set(status) - {"type", "statusPurpose"})
        if unknown:
            raise Refusal(400, "option_not_known", option=f"credentialStatus.{str(unknown[0])[:100]}")
        if status.get("type") != "BitstringStatusListEntry":
            raise Refusal(400, "unsupported_option", option="credentialStatus.type",
                          reason="only BitstringStatusListEntry is offered")
        if status.get("statusPurpose", "revocation") not in PURPOSES:
            raise Refusal(400, "unsupported_option", option="credentialStatus.statusPurpose",
                          reason="the purposes offered are revocation and suspension")
    return options


def _with_status(credential: dict, options: Mapping, organisation: Organisation) -> dict:
    """The credential with a status entry of the organisation's list, when the options ask for one."""
    status = options.get("credentialStatus")
    if status is None:
        return credential
    if "credentialStatus" in credential:
        raise Refusal(400, "invalid_options", option="credentialStatus",
                      reason="the credential already has a credentialStatus")
    reference = options.get("credentialId") or credential.get("id")
    if not isinstance(reference, str) or not reference.strip() or len(reference) > 500:
        # Without a name, nobody could ever revoke it: a status entry that would always say "valid".
        raise Refusal(400, "invalid_options", option="credentialStatus",
                      reason="name the credential (options.credentialId or the credential's id, at most "
                             "500 characters) so that its status can be updated")
    entry = status_lists.allocate(db.session, organisation, None, status.get("statusPurpose", "revocation"),
                                  credential_ref=reference)
    return {**credential, "credentialStatus": entry}


def _rate_key() -> str:
    """The organisation token (hashed) when there is one, else the client address."""
    auth = request.authorization
    if auth is not None and auth.type == "bearer" and auth.token:
        return "issue-token:" + hashlib.sha256(auth.token.encode()).hexdigest()[:32]
    return "issue-ip:" + (get_remote_address() or "")


def _limit_value() -> str:
    value = str(current_app.config.get("RATE_LIMIT_ISSUE") or "300/minute").strip()
    return "1000000/second" if value.lower() == "off" else value


def _with_issuer(credential: dict, did: str) -> dict:
    """The organisation's DID as issuer when none is given; any other issuer URL is refused (400)."""
    credential = dict(credential)
    if "issuer" not in credential:
        credential["issuer"] = did
    elif isinstance(credential["issuer"], Mapping) and "id" not in credential["issuer"]:
        credential["issuer"] = {"id": did, **credential["issuer"]}
    issuer = credential["issuer"]
    named = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if vcdm.is_url(named) and named != did:
        raise Refusal(400, "wrong_issuer", issuer=named[:200], did=did)
    return credential


@bp.post("/issuers/<org_id>/credentials/issue")
@limiter.limit(_limit_value, key_func=_rate_key)
def issue(org_id):
    """VCALM "Issue Credential": sign one VC 2.0 credential as the organisation."""
    from certs.errors import CertsError  # noqa: PLC0415

    organisation = _organisation(org_id)
    body = read_body()
    credential = body.get("credential")
    if credential is None:
        raise Refusal(400, "missing_credential_to_issue")
    if not isinstance(credential, dict):
        raise Refusal(400, "invalid_request", reason="the credential is not a JSON object")
    options = _options(body)
    if "proof" in credential:
        raise Refusal(422, "already_signed")
    credential = _with_status(_with_issuer(credential, organisation.did), options, organisation)
    try:
        signed = vcdm.sign(credential, orgs.signing_key(db.session, organisation))
    except vcdm.VcdmError as error:
        raise Refusal(422, "not_vc2", field=error.field, reason=error.message) from None
    except InvalidValue as error:
        raise Refusal(422, "not_signable", reason=error.message) from None
    except CertsError as error:
        raise Refusal(422, "not_signable", reason=f"{error.code}: {error}"[:500]) from None
    db.session.commit()  # the status index, if one was drawn (a refusal above rolls it back)
    response = jsonify({"verifiableCredential": signed})
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/issuers/<org_id>/credentials/status")
@limiter.limit(_limit_value, key_func=_rate_key)
def update_status(org_id):
    """VC-API "Update Status" of a credential issued by ``issue`` with a status entry."""
    organisation = _organisation(org_id)
    body = read_body()
    for name in sorted(body):
        if name not in {"credentialId", "credentialStatus", "status"}:
            raise Refusal(400, "option_not_known", option=str(name)[:100])
    reference, status, wanted = body.get("credentialId"), body.get("credentialStatus"), body.get("status")
    if not isinstance(reference, str) or not reference.strip():
        raise Refusal(400, "invalid_options", option="credentialId", reason="not a string")
    if not isinstance(status, dict) or status.get("type") not in {"BitstringStatusListEntry", "BitstringStatusList"}:
        raise Refusal(400, "invalid_options", option="credentialStatus",
                      reason='not {"type": "BitstringStatusListEntry", "statusPurpose": …}')
    purpose = status.get("statusPurpose", "revocation")
    if purpose not in PURPOSES:
        raise Refusal(400, "unsupported_option", option="credentialStatus.statusPurpose",
                      reason="the purposes offered are revocation and suspension")
    if not isinstance(wanted, bool):
        raise Refusal(400, "invalid_options", option="status", reason="not a boolean")
    entries = db.session.execute(
        select(StatusEntry, StatusList).join(StatusList, StatusList.id == StatusEntry.status_list_id)
        .where(StatusList.organisation_id == organisation.id, StatusList.purpose == purpose,
               StatusEntry.credential_id.is_(None), StatusEntry.credential_ref == reference[:500])).all()
    if not entries:
        raise Refusal(404, "status_entry_not_found", purpose=purpose, credential=reference[:200])
    if purpose == "revocation" and not wanted and any(entry.set_at is not None for entry, _ in entries):
        raise Refusal(409, "revocation_final")
    now = utcnow()
    for entry, _ in entries:
        entry.set_at = (entry.set_at or now) if wanted else None
    db.session.flush()
    for status_list in {status_list.id: status_list for _, status_list in entries}.values():
        status_lists.publish(db.session, status_list, organisation)
    db.session.commit()
    response = jsonify({"credentialId": reference, "statusPurpose": purpose, "status": wanted})
    response.headers["Cache-Control"] = "no-store"
    return response


_ERROR = {"description": "`{\"error\", \"message\"}` with RFC 9457 members (type, title, detail, status).",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
OPENAPI = {"post": {
    "tags": ["W3C VC-API"], "operationId": "vcapiIssueCredential",
    "summary": "Sign a Verifiable Credential 2.0 as this organisation (VC-API issueCredential)",
    "description": "Authenticated by an organisation API token (`Authorization: Bearer silo_...`). The "
                   "credential's issuer must be the organisation's DID (set when absent).",
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["credential"],
        "properties": {"credential": {"type": "object"}, "options": {"type": "object", "properties": {
            "credentialId": {"type": "string"},
            "credentialStatus": {"type": "object", "required": ["type"], "properties": {
                "type": {"type": "string", "enum": ["BitstringStatusListEntry"]},
                "statusPurpose": {"type": "string", "enum": list(PURPOSES), "default": "revocation"}}}}}}}}}},
    "responses": {"201": {"description": "The signed credential.", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"verifiableCredential": {"type": "object"}}}}}},
        **{str(code): dict(_ERROR, description=text) for code, text in (
            (400, "Unusable request, unknown option, or another issuer."),
            (401, "No valid organisation token."), (403, "The token acts for another organisation."),
            (404, "No approved organisation has this id."), (413, "Too large."), (415, "Not JSON."),
            (422, "Not a valid VC 2.0 credential, or not signable."),
            (429, "Too many requests for this token (RATE_LIMIT_ISSUE)."))}},
}}


STATUS_OPENAPI = {"post": {
    "tags": ["W3C VC-API"], "operationId": "vcapiUpdateCredentialStatus",
    "summary": "Revoke, suspend or unsuspend a credential signed here with a status entry (VC-API updateStatus)",
    "description": "Authenticated like the issue route. Acts on every entry this organisation gave under "
                   "`credentialId` (the option, or the credential's `id`) for that purpose, then re-signs "
                   "the status list.",
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["credentialId", "credentialStatus", "status"],
        "properties": {"credentialId": {"type": "string"},
                       "credentialStatus": {"type": "object", "required": ["type"], "properties": {
                           "type": {"type": "string", "enum": ["BitstringStatusListEntry"]},
                           "statusPurpose": {"type": "string", "enum": list(PURPOSES), "default": "revocation"}}},
                       "status": {"type": "boolean", "description": "true sets the bit, false clears it."}}}}}},
    "responses": {"200": {"description": "Done; the status list is re-signed.", "content": {"application/json": {
        "schema": {"type": "object"}}}},
        **{str(code): dict(_ERROR, description=text) for code, text in (
            (400, "Unusable request."), (401, "No valid organisation token."),
            (403, "The token acts for another organisation."), (404, "No such organisation or status entry."),
            (409, "A revocation cannot be undone."), (415, "Not JSON."), (429, "Too many requests."))}},
}}


def register(app: Flask) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("vcapi_issue.issue", "vcapi_issue.update_status"):
            operations = OPENAPI if rule.endpoint == "vcapi_issue.issue" else STATUS_OPENAPI
            api.spec.path(rule=rule, operations=copy.deepcopy(operations))
