"""Proofs, verification methods and keys, and the binding of the keys to the issuer.

Data Integrity proofs are checked by :mod:`certs.proofs`; this module decides which proofs are usable,
resolves each proof's verification method (did:key offline; did:web and https documents through the
run's guarded fetch), and requires every key to be controlled by the credential's issuer.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .. import messages
from ..formats import as_list
from .reading import _id_of
from .report import Failure
from .session import _loader, _Session

MAX_PROOFS = 4

# certs.proofs codes -> the verifier's codes (documented in badges.messages).
_PROOF_CODES = {
    "missing_proof": "no_proof", "malformed_proof": "malformed_proof",
    "invalid_proof_datetime": "malformed_proof",
    "mismatched_proof_purpose": "wrong_proof_purpose", "unsupported_cryptosuite": "unsupported_cryptosuite",
    "invalid_signature": "bad_signature", "invalid_signature_length": "malformed_proof_value",
    "key_resolution_failed": "method_unresolvable", "invalid_verification_method": "invalid_key",
    "verification_method_revoked": "key_revoked", "verification_method_expired": "key_expired",
    "proof_expired": "proof_expired", "issuer_mismatch": "issuer_mismatch",
    "malformed_document": "not_an_object", "timeout": "verification_timeout",
}
_SUPPORTED_SUITES = {("DataIntegrityProof", "eddsa-rdfc-2022"), ("DataIntegrityProof", "ecdsa-rdfc-2019"),
                     ("Ed25519Signature2020", None)}


def _proofs(session: _Session, document: dict) -> list[Mapping] | None:
    """The proofs to check, or None after recording why there are none usable."""
    proofs = document.get("proof")
    try:
        if proofs is None or proofs == []:
            raise Failure("no_proof")
        proofs = as_list(proofs)
        if len(proofs) > MAX_PROOFS or not all(isinstance(proof, Mapping) for proof in proofs):
            raise Failure("malformed_proof", reason="proof must be an object or a short list of objects")
        for proof in proofs:
            is_data_integrity = proof.get("type") == "DataIntegrityProof"
            suite = (proof.get("type"), proof.get("cryptosuite") if is_data_integrity else None)
            if suite not in _SUPPORTED_SUITES:
                raise Failure("unsupported_cryptosuite", suite=" ".join(str(part) for part in suite if part))
            if proof.get("proofPurpose") != "assertionMethod":
                raise Failure("wrong_proof_purpose", purpose=proof.get("proofPurpose"))
            if not isinstance(proof.get("verificationMethod"), str):
                raise Failure("malformed_proof", reason="verificationMethod is missing")
            _check_proof_value(session, proof.get("proofValue"))
    except Failure as failure:
        session.report.failed("proof", failure)
        return None
    return proofs


def _check_proof_value(session: _Session, value: Any) -> None:
    from certs import multibase  # noqa: PLC0415
    from certs.errors import CertsError  # noqa: PLC0415

    if not isinstance(value, str) or not value:
        raise Failure("malformed_proof_value", reason="proofValue is missing")
    try:
        prefix, _data = multibase.decode(value)
    except CertsError as exc:
        raise Failure("malformed_proof_value", reason=str(exc)) from None
    if prefix != multibase.BASE58BTC:
        session.report.warn("lax_proof_value")


def _resolve_methods(session: _Session, proofs: list[Mapping], relationship: str = "assertionMethod"
                     ) -> dict | None:
    """Resolve every proof's verification method (recorded as the ``verification_method`` check), each
    listed under ``relationship`` by its controller (``authentication`` for a presentation's)."""
    methods: dict = {}

    def resolve_all():
        for proof in proofs:
            vm_id = proof["verificationMethod"]
            if vm_id not in methods:
                methods[vm_id] = resolve_method(session, vm_id, relationship=relationship)
        first = next(iter(methods.values()))
        short = first.id[len(first.controller):] if first.id.startswith(first.controller + "#") else first.id
        detail = None if relationship == "assertionMethod" else "presentation_method"
        return detail, {"method": short, "controller": first.controller}

    return methods if session.step("verification_method", resolve_all) else None


def resolve_method(session: _Session, vm_id: str, read_key=None, *, relationship: str = "assertionMethod"):
    """Find ``vm_id`` in its controller document and check it may make assertions.

    ``read_key(document, vm_id)`` reads the key once the method is found and authorised (default: certs'
    Multikey reader; a VC-JWT also takes ``JsonWebKey`` methods).

    did:key resolves offline; did:web and https documents are fetched through the session's fetch. The
    controller document's ``id`` must be the DID (or URL) it was fetched for, the method must be listed
    under ``assertionMethod`` (under ``relationship``: ``authentication`` for the key of a presentation, see
    :mod:`.presentation`), and the method's ``controller`` must be that document.
    """
    from certs import keys  # noqa: PLC0415
    from certs.errors import CertsError  # noqa: PLC0415

    base = vm_id.split("#", 1)[0]
    expected = base
    if base.startswith("did:key:"):
        try:
            document = keys.did_key_document(base)
        except CertsError as exc:
            raise Failure("invalid_key", reason=str(exc)) from None
    elif base.startswith("did:web:"):
        document = session.fetch(_did_web_url(session, base, vm_id), "method_unresolvable")
    elif base.startswith(("https://", "http://")):
        document, expected = _https_controller(session, vm_id, base)
    else:
        raise Failure("unsupported_method", method=vm_id[:80])
    if not isinstance(document, Mapping):
        raise Failure("method_unresolvable", method=vm_id, reason="not a JSON object")
    controller = document.get("id")
    if controller != expected:
        raise Failure("controller_mismatch", controller=controller)
    document = _absolute_ids(document)
    methods = [m for m in as_list(document.get("verificationMethod")) if isinstance(m, Mapping)]
    authorized = set()
    for entry in as_list(document.get(relationship)):
        if isinstance(entry, str):
            authorized.add(entry)
        elif isinstance(entry, Mapping):
            methods.append(entry)
            authorized.add(entry.get("id"))
    method = next((m for m in methods if m.get("id") == vm_id), None)
    if method is None:
        raise Failure("method_unresolvable", method=vm_id, reason="not in its controller document")
    if vm_id not in authorized:
        raise Failure("method_not_authorized" if relationship == "assertionMethod" else "method_not_authenticating",
                      method=vm_id)
    if method.get("controller") != controller:
        raise Failure("controller_mismatch", controller=method.get("controller"))
    try:
        return (read_key or keys.method_from_document)(document, vm_id)
    except CertsError as exc:
        raise Failure("invalid_key", reason=str(exc)) from None


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def _did_web_url(session: _Session, did: str, vm_id: str) -> str:
    """The did:web document URL: https, except plain http to a loopback host when the run allows
    loopback (tests and a local instance, whose ids are ``did:web:127.0.0.1%3A5000:...``)."""
    from certs import keys  # noqa: PLC0415
    from certs.errors import CertsError  # noqa: PLC0415

    try:
        url = keys.did_web_url(did)
        host = urlsplit(url).hostname or ""
        if session.allow_loopback and (host in _LOOPBACK_HOSTS or host == "::1"):
            url = keys.did_web_url(did, scheme="http")
        return url
    except CertsError as exc:
        raise Failure("method_unresolvable", method=vm_id, reason=str(exc)) from None


def _https_controller(session: _Session, vm_id: str, base: str) -> tuple[dict, str]:
    """An https key: a controller document holding the key, or a key document naming its controller.

    Returns the controller document (with the key added to its methods if it only references it) and
    the id that document must carry.
    """
    document = session.fetch(base, "method_unresolvable")
    if not isinstance(document, Mapping):
        raise Failure("method_unresolvable", method=vm_id, reason="not a JSON object")
    controller_id = document.get("controller")
    if document.get("id") != vm_id or not isinstance(controller_id, str) or controller_id == base:
        return dict(document), base
    controller_base = controller_id.split("#", 1)[0]
    if controller_base.startswith("did:web:"):
        url = _did_web_url(session, controller_base, vm_id)
    elif controller_base.startswith(("https://", "http://")):
        url = controller_base
    else:
        raise Failure("unsupported_method", method=controller_base[:80])
    controller = session.fetch(url, "method_unresolvable")
    if not isinstance(controller, Mapping):
        raise Failure("method_unresolvable", method=vm_id,
                      reason="the controller document is not a JSON object")
    listed = [m for m in as_list(controller.get("verificationMethod")) if isinstance(m, Mapping)]
    if not any(m.get("id") == vm_id for m in listed):
        listed.append({k: v for k, v in document.items() if k != "@context"})
    return {**controller, "verificationMethod": listed}, controller_base


def _absolute_ids(document: Mapping) -> dict:
    """DID documents may name methods ``#key-1``: make such references absolute."""
    base = document.get("id")
    if not isinstance(base, str):
        return dict(document)

    def fix(value):
        if isinstance(value, str) and value.startswith("#"):
            return base + value
        if isinstance(value, Mapping):
            fixed = dict(value)
            if isinstance(fixed.get("id"), str) and fixed["id"].startswith("#"):
                fixed["id"] = base + fixed["id"]
            return fixed
        return value

    result = dict(document)
    for name in ("verificationMethod", "assertionMethod", "authentication"):
        if name in result:
            result[name] = [fix(item) for item in as_list(result[name])]
    return result


def _check_proofs(session: _Session, document: dict, proofs: list[Mapping], methods: dict, *,
                 codes: Mapping[str, str] | None = None, **expected):
    """The Data Integrity check of every proof, with the keys already resolved (``methods``).

    ``expected`` goes to :func:`certs.proofs.verify` (a presentation's ``authentication`` purpose,
    challenge and domain); ``codes`` maps certs' codes to the verifier's (default: a credential's)."""
    from certs import proofs as data_integrity  # noqa: PLC0415

    outcome = data_integrity.verify(document, _loader(), lambda vm_id: methods[vm_id],
                                    check_issuer=False, now=session.now, memo=session.memo, **expected)
    for warning in outcome.warnings:
        if warning.code == "proof_value_base64url":
            session.report.warn("lax_proof_value")
        elif warning.code == "date_without_timezone":
            session.report.warn("date_without_timezone", field=warning.message.split(" ", 1)[0])
    if not outcome.verified:
        problem = outcome.errors[0] if outcome.errors else None
        code = (codes or _PROOF_CODES).get(problem.code, problem.code) if problem else "bad_signature"
        if code not in messages.MESSAGES:
            code = "bad_signature" if problem is None else "malformed_proof"
        raise Failure(code, reason=problem.message if problem else "", suite="", purpose="", method="")
    suites = sorted({str(proof.get("cryptosuite") or proof.get("type")) for proof in proofs})
    return None, {"suite": ", ".join(suites)}


def _check_issuer(document: dict, methods: dict):
    issuer = _id_of(document.get("issuer"))
    if issuer is None:
        raise Failure("no_issuer")
    for method in methods.values():
        if method.controller != issuer:
            raise Failure("issuer_mismatch", issuer=issuer, controller=method.controller)
    return None, {"issuer": issuer}


