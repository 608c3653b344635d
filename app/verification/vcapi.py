"""The W3C VC-API verifier routes, so that the W3C test suites (and other systems) can judge Sillage:
``POST /credentials/verify`` and ``POST /presentations/verify``. Public (no token, no CSRF: a JSON API
that changes nothing), rate-limited with ``POST /api/v1/verify`` and the ``/verify`` page (one shared
per-IP limit, ``RATE_LIMIT_VERIFY``).

What the specification and the suites say, and what was read to write this:

* VCALM, the VC-API's new name (github w3c/vcalm ``oas.yaml`` and ``components/Verify*.yml``,
  ``ProblemDetails.yml``; ``index.html`` sections "Verifying" and "Error Handling"): requests are
  ``{"verifiableCredential": …, "options": {…}}`` and ``{"verifiablePresentation": …, "options":
  {"challenge", "domain"}}`` (or ``{"presentation": …}`` for an unsigned one, its
  ``ProoflessVerifyPresentationRequest``), bodies are ``application/json``, problems are RFC 9457
  ProblemDetails (``type`` URL, ``title``, ``detail``), ``UNKNOWN_OPTION_PROVIDED`` for an option the
  implementation does not know.
* w3c/vc-data-model-2.0-test-suite ``tests/TestEndpoints.js`` and ``mock.data.js``: credentials are
  sent with ``options: {"checks": ["proof"]}``; any status ≥ 400, or a 200 whose ``errors`` is not
  empty, counts as a refusal; ``data-generator.js`` signs presentations with a did:key, proof purpose
  ``authentication``, a challenge and a domain that it then sends in ``options``.
* digitalbazaar/data-integrity-test-suite-assertion ``assertions.js`` (used by
  w3c/vc-di-eddsa-test-suite ``tests/15-di-rdfc-verify.js``): ``verificationSuccess`` wants 200,
  ``verificationFail`` wants **400 or 422**; ``suites/verify.js`` sends a credential as a JSON *string*,
  ``proof: null``, missing ``proofValue`` and the like, all to be refused.

Statuses: **200** with ``{"verified": true, "checks", "errors": [], "warnings", "problemDetails"}`` only
when every check passed; **422** with the same object (``verified: false``, the errors listed) when the
request was understood and the credential or presentation is not valid; **400** with ``{"error",
"message"}`` (plus ProblemDetails members) when the request itself is unusable (not JSON, not an object,
no ``verifiableCredential``, a malformed option); 413 too large, 415 not JSON, 429 rate limited. The
newest VCALM text lets ``/presentations/verify`` answer 200 for an invalid presentation; Sillage keeps
one rule for both routes (200 means valid), which every suite above reads correctly.

Options: ``challenge`` and ``domain`` (compared with the proofs, Data Integrity §4.4), ``returnCredential``
/ ``returnPresentation`` (echo the document), ``returnResults`` (VCALM's per-property ``results``).
Enveloped *presentations* (VP-JWT) are refused as ``unsupported_format``; enveloped credentials (VC-JWT
in a ``data:`` URL) go to the VC-JWT verifier. ``options.checks`` is accepted and does not narrow
anything: Sillage always runs every check, since ``verified: true`` must mean that everything that applies
was checked. An unknown option is ignored with an ``unknown_option`` warning rather than refused, because
implementation manifests of the suites pass options of their own.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from app.errors import CODES, TITLES
from app.extensions import csrf
from app.verification import runner
from app.verification.routes import verify_limit
from badges import messages
from badges.errors import BadgeError
from badges.formats import as_list, parse_json

bp = Blueprint("vcapi", __name__)

# One request carries one credential, or a presentation and the few credentials it holds.
MAX_BODY_BYTES = runner.MAX_JSON_BYTES

_VCDM = "https://www.w3.org/TR/vc-data-model#"
_SECURITY = "https://w3id.org/security#"
_STATUS = "https://www.w3.org/ns/credentials/status-list#"
UNKNOWN_OPTION_TYPE = "https://www.w3.org/TR/vcalm#UNKNOWN_OPTION_PROVIDED"

# Sillage's stable codes -> the problem types of VC Data Model 2.0 §7.2, Data Integrity §4.7 and
# Bitstring Status List §3.5. A code with no matching type gets "about:blank" (RFC 9457 §4.2.1): its
# ``title`` (the code) and ``detail`` (the sentence) then say it all.
PROBLEM_TYPES = {
    **dict.fromkeys(("invalid_json", "too_large", "too_deep", "duplicate_key", "not_an_object",
                     "unsupported_document", "unreadable_input", "invalid_request", "missing_credential",
                     "missing_presentation", "invalid_options", "unsupported_media_type",
                     "invalid_credential"), _VCDM + "PARSING_ERROR"),
    **dict.fromkeys(("schema_invalid", "not_a_credential", "not_a_presentation", "invalid_date", "no_issuer",
                     "invalid_envelope", "unsupported_format", "subject_unidentified"),
                    _VCDM + "MALFORMED_VALUE_ERROR"),
    "bad_signature": _VCDM + "CRYPTOGRAPHIC_SECURITY_ERROR",
    **dict.fromkeys(("expired", "not_yet_valid"), _VCDM + "RANGE_ERROR"),
    **dict.fromkeys(("no_context", "unknown_context", "undefined_term", "invalid_jsonld", "unsafe_context",
                     "too_complex"), _SECURITY + "PROOF_TRANSFORMATION_ERROR"),
    "wrong_challenge": _SECURITY + "INVALID_CHALLENGE_ERROR",
    "wrong_domain": _SECURITY + "INVALID_DOMAIN_ERROR",
    **dict.fromkeys(("no_proof", "malformed_proof", "malformed_proof_value", "wrong_proof_purpose",
                     "not_authentication", "unsupported_cryptosuite", "proof_expired", "key_revoked",
                     "key_expired", "method_unresolvable", "method_not_authorized", "method_not_authenticating",
                     "controller_mismatch", "unsupported_method", "invalid_key", "issuer_mismatch",
                     "holder_mismatch", "credential_not_verified"), _SECURITY + "PROOF_VERIFICATION_ERROR"),
    "status_unavailable": _STATUS + "STATUS_RETRIEVAL_ERROR",
    "status_invalid": _STATUS + "STATUS_VERIFICATION_ERROR",
    "unknown_option": UNKNOWN_OPTION_TYPE,
}

# Options of VCALM's VerifyCredentialOptions / VerifyPresentationOptions, and the older ``checks``.
_FLAGS = ("returnResults", "returnProblemDetails", "returnCredential", "returnPresentation")
_KNOWN_OPTIONS = {"checks", "challenge", "domain", *_FLAGS}


class Refusal(Exception):
    """A request that cannot be verified at all: its status and stable code."""

    def __init__(self, status: int, code: str, /, **params):
        super().__init__(code)
        self.status = status
        self.code = code
        self.params = params


def _locale() -> str:
    return runner.reader_locale()


def problem(entry: Mapping) -> dict:
    """An error or warning ``{"code", "message"}`` with the RFC 9457 members the VC-API asks for."""
    return {**entry, "type": PROBLEM_TYPES.get(entry["code"], "about:blank"), "title": entry["code"],
            "detail": entry["message"]}


def _as_api_result(result: dict) -> dict:
    """The verifier's result with ProblemDetails members on every error and warning, and the
    ``problemDetails`` list of VCALM's VerificationResult (errors first)."""
    shaped = dict(result)
    # The verifier's summary of what a credential says is for people (the /verify page): VCALM's
    # ``credential`` member is the credential itself, returned only when ``returnCredential`` asks.
    shaped.pop("credential", None)
    shaped["errors"] = [problem(entry) for entry in result["errors"]]
    shaped["warnings"] = [problem(entry) for entry in result["warnings"]]
    shaped["problemDetails"] = shaped["errors"] + shaped["warnings"]
    if "credentials" in result:
        shaped["credentials"] = [_as_api_result(item) for item in result["credentials"]]
    return shaped


def _ran(result: dict, name: str) -> bool:
    """Whether the check ``name`` ran and passed (one that did not run verified nothing)."""
    return any(check["name"] == name and check["ok"] is True for check in result["checks"])


def _failed(result: dict, code: str) -> bool:
    return any(error["code"] == code for error in result["errors"])


def credential_results(document: Mapping, result: dict) -> dict:
    """VCALM's ``results`` of a credential (``returnResults``): each proof, date, status entry and schema
    with the outcome of the check that covers it."""
    def objects(name):
        return [item for item in as_list(document.get(name)) if isinstance(item, Mapping)]

    results: dict[str, Any] = {"proof": [{"verified": _ran(result, "proof"), "input": proof}
                                         for proof in objects("proof")]}
    # The validity check reads validFrom first: "expired" means that validFrom held.
    if "validFrom" in document:
        results["validFrom"] = {"verified": _ran(result, "validity") or _failed(result, "expired"),
                                "input": document["validFrom"]}
    if "validUntil" in document:
        results["validUntil"] = {"verified": _ran(result, "validity"), "input": document["validUntil"]}
    if objects("credentialStatus"):
        results["credentialStatus"] = [{"verified": _ran(result, "status"), "input": entry}
                                       for entry in objects("credentialStatus")]
    if objects("credentialSchema"):
        results["credentialSchema"] = [{"verified": _ran(result, "schema"), "input": schema}
                                       for schema in objects("credentialSchema")]
    return results


def presentation_results(document: Mapping, result: dict, options: Mapping) -> dict:
    """VCALM's ``results`` of a presentation: its own proof, challenge, domain and holder, then each
    credential's results."""
    ran_proof = _ran(result, "proof")
    own: dict[str, Any] = {"proof": [{"verified": ran_proof, "input": proof}
                                     for proof in as_list(document.get("proof")) if isinstance(proof, Mapping)]}
    for name, code in (("challenge", "wrong_challenge"), ("domain", "wrong_domain")):
        if options.get(name) is not None:
            own[name] = {"verified": ran_proof and not _failed(result, code), "input": options[name]}
    if "holder" in document:
        own["holder"] = {"verified": _ran(result, "holder"), "input": document["holder"]}
    carried = [item for item in as_list(document.get("verifiableCredential")) if isinstance(item, Mapping)]
    return {"presentation": own, "credentials": [credential_results(credential, outcome)
                                                 for credential, outcome in zip(carried, result["credentials"])]}


def _answer(result: dict, extra: dict | None = None):
    body = _as_api_result(result)
    body.update(extra or {})
    response = jsonify(body)
    response.status_code = 200 if result["verified"] is True else 422
    response.headers["Cache-Control"] = "no-store"
    return response


def _refusal_response(status: int, code: str, **params):
    text = messages.message(code, _locale(), **params)
    response = jsonify({"error": code, "message": text, "type": PROBLEM_TYPES.get(code, "about:blank"),
                        "title": code, "detail": text, "status": status})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(Refusal)
def _refused(refusal: Refusal):
    return _refusal_response(refusal.status, refusal.code, **refusal.params)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    """The site's error pages are HTML outside ``/api/``: these routes answer JSON, 429 included."""
    status = exc.code or 400
    code = CODES.get(status, "bad_request")
    text = str(TITLES.get(status, code))
    response = jsonify({"error": code, "message": text, "type": "about:blank", "title": code, "detail": text,
                        "status": status})
    response.status_code = status
    response.headers.update({k: v for k, v in exc.get_headers() if k.lower() == "retry-after"})
    return response


def read_body() -> dict:
    """The JSON object of the request; raises Refusal (415, 413, 400)."""
    mimetype = request.mimetype or ""
    if not (mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))):
        raise Refusal(415, "unsupported_media_type")
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise Refusal(413, "too_large", limit="1 MB")
    raw = request.stream.read(MAX_BODY_BYTES + 1) if length is None else request.get_data()
    if len(raw) > MAX_BODY_BYTES:
        raise Refusal(413, "too_large", limit="1 MB")
    if not raw.strip():
        raise Refusal(400, "invalid_json", reason="empty body")
    try:
        body = parse_json(raw)
    except BadgeError as error:
        if error.code == "too_large":
            raise Refusal(413, "too_large", limit="1 MB") from None
        code = error.code if error.code in ("too_deep", "duplicate_key") else "invalid_json"
        raise Refusal(400, code, **error.params) from None
    if not isinstance(body, dict):
        raise Refusal(400, "invalid_request", reason="the body is not a JSON object")
    return body


def read_options(body: Mapping) -> tuple[dict, list[str]]:
    """``options`` checked member by member; returns them and the names of unknown ones."""
    options = body.get("options")
    if options is None:
        return {}, []
    if not isinstance(options, dict):
        raise Refusal(400, "invalid_options", option="options", reason="not a JSON object")
    if options.get("challenge") is not None and not isinstance(options["challenge"], str):
        raise Refusal(400, "invalid_options", option="challenge", reason="not a string")
    domain = options.get("domain")
    if domain is not None and not (isinstance(domain, str) or (
            isinstance(domain, list) and domain and all(isinstance(item, str) for item in domain))):
        raise Refusal(400, "invalid_options", option="domain", reason="neither a string nor a list of strings")
    checks = options.get("checks")
    if checks is not None and not (isinstance(checks, list) and all(isinstance(item, str) for item in checks)):
        raise Refusal(400, "invalid_options", option="checks", reason="not a list of strings")
    for flag in _FLAGS:
        if options.get(flag) is not None and not isinstance(options[flag], bool):
            raise Refusal(400, "invalid_options", option=flag, reason="not a boolean")
    unknown = sorted(str(name) for name in options if name not in _KNOWN_OPTIONS)
    return options, unknown


def _warn_unknown(result: dict, unknown: list[str]) -> None:
    locale = _locale()
    for name in unknown[:10]:
        result["warnings"].append({"code": "unknown_option",
                                   "message": messages.message("unknown_option", locale, option=name)})


def _allow_loopback() -> bool:
    return bool(current_app.config.get("VERIFY_ALLOW_LOOPBACK"))


@bp.route("/credentials/verify", methods=["POST"])
@verify_limit
def verify_credential():
    """VCALM "Verify Credential": one credential (embedded proof, or an EnvelopedVerifiableCredential
    whose ``data:`` URL carries a VC-JWT), judged by the same verifier as ``POST /api/v1/verify``."""
    from badges.verify.presentation import bind_to_request, credential_input, failed_result  # noqa: PLC0415

    body = read_body()
    credential = body.get("verifiableCredential")
    if credential is None:
        raise Refusal(400, "missing_credential")
    if not isinstance(credential, dict):
        raise Refusal(400, "invalid_credential")
    options, unknown = read_options(body)
    data, failure = credential_input(credential)
    if failure is not None:
        result = failed_result("parse", failure, _locale())
    else:
        result = runner.run(data)
        bind_to_request(result, credential, options.get("challenge"), options.get("domain"), _locale())
    _warn_unknown(result, unknown)
    extra: dict[str, Any] = {}
    if options.get("returnCredential"):
        extra["credential"] = credential
    if options.get("returnResults"):
        extra["results"] = credential_results(credential, result)
    return _answer(result, extra)


@bp.route("/presentations/verify", methods=["POST"])
@verify_limit
def verify_presentation():
    """VCALM "Verify Presentation": the presentation's own proof (``authentication``, the challenge and
    domain of ``options`` when given), its holder, then each credential it carries.

    ``verifiablePresentation`` must be signed. An unsigned presentation is verified only when sent as
    ``presentation`` (VCALM's ProoflessVerifyPresentationRequest): its credentials are checked, and a
    warning says that nothing binds them to whoever sent them."""
    from badges.verify.presentation import verify_presentation as verify_vp  # noqa: PLC0415

    body = read_body()
    signed = "verifiablePresentation" in body
    presentation = body.get("verifiablePresentation") if signed else body.get("presentation")
    if presentation is None:
        raise Refusal(400, "missing_presentation")
    if not isinstance(presentation, dict):
        raise Refusal(400, "invalid_request", reason="the presentation is not a JSON object")
    options, unknown = read_options(body)
    with runner.slot():  # runner.run holds one for a credential; a presentation holds one here
        result = verify_vp(presentation, challenge=options.get("challenge"), domain=options.get("domain"),
                           require_proof=signed, allow_loopback=_allow_loopback(), locale=_locale())
    _warn_unknown(result, unknown)
    extra: dict[str, Any] = {}
    if options.get("returnPresentation"):
        extra["verifiablePresentation"] = presentation
    if options.get("returnResults"):
        extra["results"] = presentation_results(presentation, result, options)
    return _answer(result, extra)


_RESULT = {"allOf": [{"$ref": "#/components/schemas/VerificationResult"}, {"type": "object", "properties": {
    "problemDetails": {"type": "array", "items": {"type": "object"},
                       "description": "The errors then the warnings, as RFC 9457 problem details."},
    "results": {"type": "object", "description": "Per-property results (options.returnResults)."}}}]}
_PROBLEM = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_OPTIONS = {"type": "object", "description": "Unknown options are ignored with an `unknown_option` warning.",
            "properties": {
                "challenge": {"type": "string"},
                "domain": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                "checks": {"type": "array", "items": {"type": "string"},
                           "description": "Accepted; every check runs whatever it lists."},
                **{flag: {"type": "boolean"} for flag in _FLAGS}}}


def _operation(operation_id: str, summary: str, description: str, body: dict) -> dict:
    return {"post": {
        "tags": ["W3C VC-API"], "operationId": operation_id, "summary": summary, "description": description,
        "security": [],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": {"description": "Valid: every check passed.",
                    "content": {"application/json": {"schema": _RESULT}}},
            "422": {"description": "Read, and not valid (`verified: false`, the errors listed).",
                    "content": {"application/json": {"schema": _RESULT}}},
            **{str(code): dict(_PROBLEM, description=text) for code, text in (
                (400, "Unusable request: not JSON, no document, a malformed option."),
                (413, "More than 1 MB."), (415, "Not application/json."),
                (429, "Too many verifications from this address (RATE_LIMIT_VERIFY)."))}}}}


# The two routes in /api/v1/openapi.json beside the issuer's (app.issuing.vcapi), for other systems.
OPENAPI = {
    "verify_credential": _operation(
        "vcapiVerifyCredential", "Verify a Verifiable Credential (VC-API verifyCredential)",
        "Public, no token. 200 only when valid; the result object of `POST /api/v1/verify` with RFC 9457 "
        "members. An EnvelopedVerifiableCredential (VC-JWT in a `data:` URL) is accepted.",
        {"type": "object", "required": ["verifiableCredential"],
         "properties": {"verifiableCredential": {"type": "object"}, "options": _OPTIONS}}),
    "verify_presentation": _operation(
        "vcapiVerifyPresentation", "Verify a Verifiable Presentation (VC-API verifyPresentation)",
        "Public, no token. `verifiablePresentation` must be signed (proof purpose authentication, with "
        "`options.challenge` / `domain` when given); an unsigned one is sent as `presentation`. Each "
        "credential it carries is verified too.",
        {"type": "object", "properties": {"verifiablePresentation": {"type": "object"},
                                          "presentation": {"type": "object"}, "options": _OPTIONS}}),
}


def register(app: Flask) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
    api = app.extensions.get("flask-smorest", {}).get("apis", {}).get("", {}).get("ext_obj")
    if api is None:
        return
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("vcapi.") and rule.endpoint[len("vcapi."):] in OPENAPI:
            api.spec.path(rule=rule, operations=copy.deepcopy(OPENAPI[rule.endpoint[len("vcapi."):]]))
