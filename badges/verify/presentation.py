"""Verifiable Presentations, and what the W3C VC-API routes need around the credential verifier.

A presentation is verified in this order, each step recorded as a check like a credential's:

* ``parse``: a JSON object whose first ``@context`` is the VC 2.0 (or 1.1) one, whose ``type`` has
  ``VerifiablePresentation``, whose ``holder`` (if any) is a URL or an object with an ``id``, and whose
  ``verifiableCredential`` values are objects — never strings or URLs (VC Data Model 2.0 §4.13);
* ``jsonld``: the same strict JSON-LD check as a credential (every term defined by a known context);
* ``verification_method``, ``proof``: its own Data Integrity proof, made for ``authentication`` by a key
  its controller lists under ``authentication``, answering the challenge and domain the verifier asked
  for (Data Integrity §4.4 "Verify Proof": when the verifier gives a challenge or a domain, the proof must
  carry the same; a proof without one fails). With no challenge given nothing is compared — the proof
  still verifies, but a ``challenge_not_checked`` warning says that it may be a replay, since only the
  party that asked for the presentation knows which challenge it sent. (Digital Bazaar's ``vc`` library
  refuses to verify a signed presentation without a challenge; VCALM checks them "if provided".)
* ``holder``: VCALM "Verify Presentation" asks that the holder match the verification method of the
  presentation's proof, and VC Data Model 2.0 §4.13 says the holder's URL should lead to what verifies
  the presentation: when ``holder`` is given, every proof's key must be controlled by it. Whether the
  credentials' subjects are the holder is a business rule the caller decides (VCALM says so);
* ``credentials``: each credential with the credential verifier (embedded proofs, or an
  ``EnvelopedVerifiableCredential`` carrying a VC-JWT), its result under ``credentials`` in the answer.
  They are checked only when the presentation itself holds, so a forged envelope costs no fetch.

An unsigned presentation (VCALM's ``ProoflessVerifyPresentationRequest``) gets ``parse``, ``jsonld`` and
``credentials``, and a ``presentation_unsigned`` warning; a challenge or domain cannot be answered
without a proof, so asking for one fails it.

One presentation is one verification run: its credentials share the fetch budget and cache of the
presentation's session, and at most ``MAX_CREDENTIALS`` are accepted.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .. import messages
from ..fetch import json_fetcher
from ..formats import VC1_CONTEXT, VC2_CONTEXT, as_list
from . import _run
from .jsonld import _check_jsonld
from .jwt import enveloped_token
from .proofs import _PROOF_CODES, MAX_PROOFS, _check_proof_value, _check_proofs, _resolve_methods
from .reading import _id_of, check_value, document_kind
from .report import Failure, _Report
from .session import Fetch, _aware, _Session

log = logging.getLogger(__name__)

MAX_CREDENTIALS = 16
REQUIRED_SIGNED = ("parse", "jsonld", "verification_method", "proof", "holder", "credentials")
REQUIRED_UNSIGNED = ("parse", "jsonld", "credentials")

# The media types of an EnvelopedVerifiableCredential's data: URL that carry a VC-JWT (VC-JOSE-COSE §3.1;
# the W3C VC 2.0 test suite also sends plain application/jwt).
_PRESENTATION_CODES = {**_PROOF_CODES, "mismatched_proof_purpose": "not_authentication",
                       "invalid_challenge": "wrong_challenge", "invalid_domain": "wrong_domain",
                       "verification_method_not_authorized": "method_not_authenticating"}



def failed_result(check_name: str, failure: Failure, locale: str = "en") -> dict:
    """A result whose only check failed (an input refused before any verification)."""
    report = _Report(locale)
    report.failed(check_name, failure)
    return report.result(None)


# -- credentials as the VC-API sends them -------------------------------------------------------

def credential_input(credential: Mapping) -> tuple[Any, Failure | None]:
    """What to hand the credential verifier for a ``verifiableCredential`` value: the object itself, or
    the compact JWS inside an ``EnvelopedVerifiableCredential`` (VC Data Model 2.0 §4.13.1: VC 2.0 base
    context, that type, an ``id`` that is a ``data:`` URL). Anything but a verifiable credential (an
    OB 2.0 assertion, a bare document) is refused here: the VC-API verifies verifiable credentials."""
    types = as_list(credential.get("type"))
    if "EnvelopedVerifiableCredential" in types:
        try:
            return enveloped_payload(credential), None
        except Failure as failure:
            return None, failure
    kind = document_kind(credential)
    if kind not in ("ob3", "vc2", "vc1"):
        contexts = as_list(credential.get("@context"))
        if not contexts:
            return None, Failure("no_context")
        return None, Failure("not_a_credential", reason="the first @context is not the VC 2.0 or 1.1 one")
    return credential, None


def enveloped_payload(envelope: Mapping) -> str:
    """The JWS of an enveloped credential's ``data:`` URL; raises Failure ``invalid_envelope``."""
    contexts = as_list(envelope.get("@context"))
    if not contexts or contexts[0] != VC2_CONTEXT:
        raise Failure("invalid_envelope", reason="the first @context must be the VC 2.0 one")
    if envelope.get("type") != "EnvelopedVerifiableCredential" and as_list(envelope.get("type")) != [
            "EnvelopedVerifiableCredential"]:
        raise Failure("invalid_envelope", reason="type must be EnvelopedVerifiableCredential")
    try:
        token = enveloped_token(envelope)
    except Failure as failure:
        if failure.code == "unsupported_format":
            raise
        raise Failure("invalid_envelope", reason="id must be a data: URL holding a compact JWS") from None
    if token is None:
        raise Failure("invalid_envelope", reason="type must be EnvelopedVerifiableCredential")
    return token


def bind_to_request(result: dict, document: Mapping, challenge: str | None, domain: Any, locale: str) -> None:
    """When the caller of ``/credentials/verify`` gives a challenge or a domain, every proof of the
    credential must carry the same (Data Integrity §4.4 "Verify Proof", steps 6 and 7; the signature,
    already checked, covers those proof members). Adds a ``request_binding`` check to ``result``."""
    if challenge is None and domain is None:
        return
    report = _Report(locale)
    report.checks, report.errors = result["checks"], result["errors"]
    try:
        proofs = [proof for proof in as_list(document.get("proof")) if isinstance(proof, Mapping)]
        if not proofs:
            raise Failure("no_proof")
        for proof in proofs:
            _answers_request(proof, challenge, domain)
    except Failure as failure:
        report.failed("request_binding", failure)
        result["verified"] = False
        return
    report.passed("request_binding")


def _answers_request(proof: Mapping, challenge: str | None, domain: Any) -> None:
    if challenge is not None and proof.get("challenge") != challenge:
        raise Failure("wrong_challenge", reason="" if "challenge" in proof else "the proof has none")
    if domain is not None:
        items = [domain] if isinstance(domain, str) else domain if isinstance(domain, list) else None
        if not items or not all(isinstance(item, str) for item in items):
            raise Failure("wrong_domain", reason="the expected domain is not a string or a list of strings")
        wanted = set(items)
        got = proof.get("domain")
        got = {got} if isinstance(got, str) else {item for item in as_list(got) if isinstance(item, str)}
        if wanted != got:
            raise Failure("wrong_domain", reason="" if got else "the proof has none")


# -- presentations -------------------------------------------------------------------------------

def verify_presentation(presentation: Any, *, challenge: str | None = None, domain: Any = None,
                        require_proof: bool = True, fetch: Fetch | None = None, now: datetime | None = None,
                        allow_loopback: bool = False, locale: str = "en") -> dict:
    """Verify a presentation; ``{"verified", "checks", "errors", "warnings", "credentials"}``, never raises.

    ``challenge`` and ``domain`` are what the verifier expects in the presentation's proof (None: not
    compared); ``require_proof=False`` accepts an unsigned presentation (its credentials still verified).
    The other arguments are :func:`badges.verify.verify`'s.
    """
    from certs.canon import deadline  # noqa: PLC0415

    report = _Report(locale)
    session = _Session(fetch or json_fetcher(allow_loopback=allow_loopback), _aware(now), report, allow_loopback)
    credentials: list[dict] = []
    required: tuple[str, ...] = REQUIRED_SIGNED
    try:
        with deadline(session.deadline):  # the same time budget as verify(), inside JSON-LD work too
            required = _verify(session, presentation, challenge, domain, require_proof, credentials)
    except Exception:  # noqa: BLE001 - a verifier bug must read as "not verified", never as a crash
        log.exception("presentation verifier failed")
        report.failed("internal", Failure("internal_error"))
    names = {check["name"] for check in report.checks}
    verified = (all(name in names for name in required) and not report.errors
                and all(check["ok"] is True for check in report.checks)
                and all(item["verified"] is True for item in credentials))
    return {"verified": verified, "checks": report.checks, "errors": report.errors,
            "warnings": report.warnings, "credentials": credentials}


def _verify(session: _Session, presentation: Any, challenge, domain, require_proof: bool,
            credentials: list[dict]) -> tuple[str, ...]:
    """The checks, in order; returns the names the verdict requires."""
    state: dict[str, Any] = {}
    if not session.step("parse", lambda: _read(session, presentation, state)):
        return REQUIRED_SIGNED
    document = state["document"]
    has_proof = document.get("proof") is not None
    if not has_proof and not require_proof and challenge is None and domain is None:
        session.report.warn("presentation_unsigned")
        required = REQUIRED_UNSIGNED
    else:
        required = REQUIRED_SIGNED
    if not session.step("jsonld", lambda: _check_jsonld(session, document)):
        return required
    if required is REQUIRED_SIGNED:
        if not _check_signature(session, document, challenge, domain):
            return required
    if session.report.has_failed():
        return required
    session.step("credentials", lambda: _check_credentials(session, state["credentials"], credentials))
    return required


def _read(session: _Session, presentation: Any, state: dict):
    if not isinstance(presentation, Mapping):
        raise Failure("not_an_object")
    check_value(presentation)
    document = dict(presentation)
    contexts = as_list(document.get("@context"))
    if not contexts:
        raise Failure("no_context")
    if contexts[0] not in (VC2_CONTEXT, VC1_CONTEXT):
        raise Failure("not_a_presentation", reason="the first @context is not the VC 2.0 or 1.1 one")
    if "EnvelopedVerifiablePresentation" in as_list(document.get("type")):
        raise Failure("unsupported_format", format="EnvelopedVerifiablePresentation")
    if "VerifiablePresentation" not in as_list(document.get("type")):
        raise Failure("not_a_presentation", reason="type has no VerifiablePresentation")
    if "holder" in document and _id_of(document["holder"]) is None:
        raise Failure("not_a_presentation", reason="holder is neither a URL nor an object with an id")
    carried = as_list(document.get("verifiableCredential"))
    if not all(isinstance(item, Mapping) for item in carried):
        raise Failure("not_a_presentation", reason="each verifiableCredential must be an object")
    if len(carried) > MAX_CREDENTIALS:
        raise Failure("not_a_presentation", reason=f"more than {MAX_CREDENTIALS} credentials")
    state["document"] = document
    state["credentials"] = carried
    kind = "vp2" if contexts[0] == VC2_CONTEXT else "vp1"
    return None, {"kind": messages.kind_label(kind, session.report.locale)}


def _check_signature(session: _Session, document: dict, challenge, domain) -> bool:
    """``verification_method``, ``proof`` and ``holder``; whether they all passed."""
    proofs: list[Mapping] = []

    def check_proof_members():
        value = document.get("proof")
        if value is None or value == []:
            raise Failure("no_proof")
        items = as_list(value)
        if len(items) > MAX_PROOFS or not all(isinstance(proof, Mapping) for proof in items):
            raise Failure("malformed_proof", reason="proof must be an object or a short list of objects")
        for proof in items:
            if proof.get("proofPurpose") != "authentication":
                raise Failure("not_authentication", purpose=proof.get("proofPurpose"))
            if not isinstance(proof.get("verificationMethod"), str):
                raise Failure("malformed_proof", reason="verificationMethod is missing")
            _check_proof_value(session, proof.get("proofValue"))
            _answers_request(proof, challenge, domain)
        proofs.extend(items)

    try:
        check_proof_members()
    except Failure as failure:
        session.report.failed("proof", failure)
        return False
    if challenge is None:
        session.report.warn("challenge_not_checked")
    methods = _resolve_methods(session, proofs, relationship="authentication")
    if methods is None:
        return False
    if not session.step("proof", lambda: _check_proofs(
            session, document, proofs, methods, codes=_PRESENTATION_CODES,
            expected_proof_purpose="authentication", challenge=challenge, domain=domain)):
        return False
    return session.step("holder", lambda: _check_holder(document, methods))


def _check_holder(document: dict, methods: dict):
    controllers = sorted({str(method.controller) for method in methods.values()})
    holder = _id_of(document.get("holder"))
    if holder is None:
        return "holder_none", {"controller": ", ".join(controllers)}
    for controller in controllers:
        if controller != holder:
            raise Failure("holder_mismatch", holder=holder, controller=controller)
    return None, {"holder": holder}


def _check_credentials(session: _Session, carried: list[Mapping], results: list[dict]):
    """Each credential in a child run of the presentation's session (shared cache and budget)."""
    for credential in carried:
        child = session.child()
        data, failure = credential_input(credential)
        if failure is not None:
            child.report.failed("parse", failure)
            kind = None
        else:
            kind = _run(child, data)
        results.append(child.report.result(kind))
    for index, result in enumerate(results, start=1):
        if not result["verified"]:
            reason = result["errors"][0]["message"] if result["errors"] else ""
            raise Failure("credential_not_verified", index=index, reason=reason)
    if not results:
        return "credentials_none", {}
    return None, {"count": len(results)}
