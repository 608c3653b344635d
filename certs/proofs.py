"""Data Integrity proofs: sign with ``eddsa-rdfc-2022``; verify it and two older suites.

Follows W3C "Verifiable Credential Data Integrity 1.0" (Add Proof, Verify Proof,
proof sets) and "Data Integrity EdDSA Cryptosuites v1.0" section 3.2:

* transformation: RDFC-1.0 canonical N-Quads of the document without its proof;
* proof configuration: the proof options (without ``proofValue``) with the
  document's ``@context``, canonicalized the same way;
* hashing: SHA-256(canonical proof configuration) || SHA-256(canonical document);
* serialization: Ed25519 over those 64 bytes, ``proofValue`` = ``z`` + base58btc.

Verification also accepts ``Ed25519Signature2020`` (appendix A of the same spec:
same layout) and ``ecdsa-rdfc-2019`` with P-256/P-384 Multikeys (raw r||s
signatures; SHA-384 with P-384), because other issuers use them; Sillage signs only
``eddsa-rdfc-2022``.

Signing refuses bad input by raising (a ValueError subclass with a stable ``code``);
verification never raises: it returns a :class:`VerificationResult` whose errors and
warnings carry stable codes. Lax forms other verifiers accept (base64url
``proofValue``, dates without a time zone) verify but are reported as warnings.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import multibase
from .canon import Memo, canonize
from .errors import CertsError, KeyFormatError, SigningError
from .keys import KeyPair, PublicKey, VerificationMethod, decode_public_multikey, utc_timestamp
from .loader import StaticLoader

DATA_INTEGRITY_PROOF = "DataIntegrityProof"
EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
ECDSA_RDFC_2019 = "ecdsa-rdfc-2019"
ED25519_SIGNATURE_2020 = "Ed25519Signature2020"

# Our stable codes -> the Data Integrity / VC error type they correspond to.
_SPEC_TYPES = {
    "malformed_document": "PARSING_ERROR",
    "missing_proof": "MALFORMED_PROOF_ERROR",
    "malformed_proof": "MALFORMED_PROOF_ERROR",
    "invalid_proof_datetime": "MALFORMED_PROOF_ERROR",
    "mismatched_proof_purpose": "MISMATCHED_PROOF_PURPOSE_ERROR",
    "invalid_domain": "INVALID_DOMAIN_ERROR",
    "invalid_challenge": "INVALID_CHALLENGE_ERROR",
    "key_resolution_failed": "INVALID_VERIFICATION_METHOD",
    "invalid_verification_method": "INVALID_VERIFICATION_METHOD",
    "verification_method_revoked": "INVALID_VERIFICATION_METHOD",
    "verification_method_expired": "INVALID_VERIFICATION_METHOD",
    "verification_method_not_authorized": "INVALID_VERIFICATION_METHOD",
    "undefined_term": "PROOF_TRANSFORMATION_ERROR",
    "relative_iri": "PROOF_TRANSFORMATION_ERROR",
    "control_character": "PROOF_TRANSFORMATION_ERROR",
    "unknown_context": "PROOF_TRANSFORMATION_ERROR",
    "context_hash_mismatch": "PROOF_TRANSFORMATION_ERROR",
    "invalid_jsonld": "PROOF_TRANSFORMATION_ERROR",
    "dataset_poisoning": "PROOF_TRANSFORMATION_ERROR",
}

# XML Schema dateTime, with the time zone optional and, as other verifiers allow, "t" and "z" in
# either case (RFC 3339); Sillage itself only emits "...T...Z" (keys.utc_timestamp).
_XSD_DATETIME = re.compile(
    r"^(?P<date>-?\d{4,}-\d{2}-\d{2})[Tt](?P<time>\d{2}:\d{2}:\d{2})(?P<fraction>\.\d+)?"
    r"(?P<tz>[Zz]|[+-]\d{2}:\d{2})?$"
)
_DOCUMENT_DATES = ("validFrom", "validUntil", "issuanceDate", "expirationDate")

KeyResolver = Callable[[str], "VerificationMethod | PublicKey | str"]


@dataclass(frozen=True)
class Problem:
    """One error or warning: ``code`` is stable, ``message`` is for people."""

    code: str
    message: str

    @property
    def spec_type(self) -> str:
        return _SPEC_TYPES.get(self.code, "PROOF_VERIFICATION_ERROR")

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message,
                "type": f"https://w3id.org/security#{self.spec_type}"}


@dataclass
class ProofCheck:
    """What was learnt about one proof (shown to people as the verification detail)."""

    type: str | None
    cryptosuite: str | None
    verification_method: str | None
    proof_purpose: str | None
    created: str | None
    controller: str | None = None
    verified: bool = False

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class VerificationResult:
    verified: bool
    document: dict | None = None  # the unsecured document, only when verified
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    proofs: list[ProofCheck] = field(default_factory=list)

    @property
    def error_codes(self) -> list[str]:
        return [problem.code for problem in self.errors]

    @property
    def warning_codes(self) -> list[str]:
        return [problem.code for problem in self.warnings]

    def to_dict(self) -> dict:
        return {
            "verified": self.verified,
            "errors": [problem.to_dict() for problem in self.errors],
            "warnings": [problem.to_dict() for problem in self.warnings],
            "proofs": [proof.to_dict() for proof in self.proofs],
        }


class _Failure(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.problem = Problem(code, message)


# -- the cryptosuite steps (public so the spec's test vectors can be replayed) ------------

def proof_configuration(document: Mapping[str, Any], proof_options: Mapping[str, Any],
                        loader: StaticLoader, memo: Memo | None = None) -> str:
    """Canonical proof configuration: the options, minus proofValue, with the document's @context."""
    config = {key: value for key, value in proof_options.items()
              if key not in ("proofValue", "@context")}
    config["@context"] = document["@context"]
    return memo.canonize(config, loader) if memo is not None else canonize(config, loader)


def hash_data(canonical_proof_config: str, canonical_document: str,
              algorithm: Callable[[bytes], Any] = hashlib.sha256) -> bytes:
    """hash(proof configuration) || hash(document), the bytes that are signed."""
    return (algorithm(canonical_proof_config.encode("utf-8")).digest()
            + algorithm(canonical_document.encode("utf-8")).digest())


# -- signing -----------------------------------------------------------------------------

def sign(document: Mapping[str, Any], key_pair: KeyPair, loader: StaticLoader, *,
         created: datetime | None = None, proof_purpose: str = "assertionMethod",
         challenge: str | None = None, domain: str | None = None,
         expires: datetime | None = None, memo: Memo | None = None,
         canonizer: Callable[[Mapping[str, Any]], str] | None = None) -> dict:
    """Return a copy of *document* with an ``eddsa-rdfc-2022`` DataIntegrityProof added.

    *canonizer* replaces ``canonize(document, loader)`` for the document itself: a bulk signer's
    :class:`certs.shapes.ShapeCanonicalizer` (same N-Quads, by template; pyld where it cannot be exact).

    *memo* (a :class:`certs.canon.Memo`) lets a signer of many documents canonicalize the proof
    configuration once: it is the same for every document with the same ``@context``, key and
    ``created`` second (a bulk award's rows), and the memo only answers for identical JSON.

    A document that already has proofs gets one more (a proof set, DI 4.3). Refuses
    (CanonicalizationError / SigningError, both ValueError) any document that would
    not mean the same thing to every verifier: undefined terms, relative ids,
    control characters, unknown contexts.
    """
    if not isinstance(document, Mapping) or "@context" not in document:
        raise SigningError("only a JSON-LD object with an @context can be signed")
    if not isinstance(key_pair.private_key, ed25519.Ed25519PrivateKey):
        raise SigningError("eddsa-rdfc-2022 needs an Ed25519 key", "unsupported_key")
    moment = created or datetime.now(timezone.utc).replace(microsecond=0)
    options: dict[str, Any] = {
        "type": DATA_INTEGRITY_PROOF,
        "cryptosuite": EDDSA_RDFC_2022,
        "created": utc_timestamp(moment),
        "verificationMethod": key_pair.id,
        "proofPurpose": proof_purpose,
    }
    if expires is not None:
        options["expires"] = utc_timestamp(expires)
    if challenge is not None:
        options["challenge"] = challenge
    if domain is not None:
        options["domain"] = domain

    unsecured = {key: copy.deepcopy(value) for key, value in document.items() if key != "proof"}
    canonical_config = proof_configuration(unsecured, options, loader, memo)
    canonical_document = canonizer(unsecured) if canonizer is not None else canonize(unsecured, loader)
    signature = key_pair.sign(hash_data(canonical_config, canonical_document))
    proof = dict(options, proofValue=multibase.encode(signature))

    secured = dict(unsecured)
    existing = document.get("proof")
    if existing is None:
        secured["proof"] = proof
    else:
        existing = existing if isinstance(existing, list) else [existing]
        secured["proof"] = copy.deepcopy(existing) + [proof]
    return secured


# -- verification ------------------------------------------------------------------------

def verify(document: Any, loader: StaticLoader, resolve_key: KeyResolver, *,
           expected_proof_purpose: str | None = "assertionMethod",
           domain: str | list[str] | None = None, challenge: str | None = None,
           check_issuer: bool = True, now: datetime | None = None,
           memo: Memo | None = None) -> VerificationResult:
    """Verify every proof on *document*; never raises, never returns valid by accident.

    *resolve_key(verification_method_id)* returns a :class:`VerificationMethod` (so
    revocation and the controller can be checked), a public key, or a
    ``publicKeyMultibase`` string; the caller decides how (did:key offline, did:web
    through its own fetcher...). Any exception it raises becomes
    ``key_resolution_failed``. With *check_issuer*, a proof whose key's controller is
    known must belong to the document's ``issuer``. *memo* (a :class:`certs.canon.Memo`)
    lets a caller that already canonicalized the unsecured document with the same memo
    (the badges verifier's JSON-LD check does) skip doing it again.
    """
    result = VerificationResult(verified=False)
    now = now or datetime.now(timezone.utc)
    try:
        _verify(document, loader, resolve_key, result, expected_proof_purpose,
                domain, challenge, check_issuer, now, memo or Memo())
    except _Failure as failure:
        result.errors.append(failure.problem)
    except Exception as error:  # noqa: BLE001 - a verifier must not crash on hostile input
        result.errors.append(Problem("verification_error", f"unexpected verification failure: {error!r}"))
    result.verified = not result.errors and bool(result.proofs) and all(p.verified for p in result.proofs)
    if result.verified:
        result.document = {key: value for key, value in document.items() if key != "proof"}
    return result


def _verify(document, loader, resolve_key, result, purpose, domain, challenge,
            check_issuer, now, memo) -> None:
    if not isinstance(document, Mapping):
        raise _Failure("malformed_document", "a credential must be a JSON object")
    if "proof" not in document:
        raise _Failure("missing_proof", "the document has no proof")
    proofs = document["proof"]
    proofs = proofs if isinstance(proofs, list) else [proofs]
    if not proofs or not all(isinstance(proof, Mapping) for proof in proofs):
        raise _Failure("malformed_proof", "proof must be an object or a list of objects")
    if "@context" not in document:
        raise _Failure("malformed_document", "the document has no @context")
    _date_warnings(document, result)
    unsecured_base = {key: value for key, value in document.items() if key != "proof"}
    for proof in proofs:
        check = ProofCheck(
            type=_str(proof.get("type")), cryptosuite=_str(proof.get("cryptosuite")),
            verification_method=_str(proof.get("verificationMethod")),
            proof_purpose=_str(proof.get("proofPurpose")), created=_str(proof.get("created")),
        )
        result.proofs.append(check)
        try:
            unsecured = dict(unsecured_base)
            matching = _previous_proofs(proof, proofs)
            if matching:
                unsecured["proof"] = matching
            _verify_one(unsecured, proof, check, loader, resolve_key, result, purpose,
                        domain, challenge, check_issuer, now, memo)
        except _Failure as failure:
            result.errors.append(failure.problem)


def _verify_one(unsecured, proof, check, loader, resolve_key, result, purpose, domain,
                challenge, check_issuer, now, memo) -> None:
    # Data Integrity 4.4 steps 3-6: required members, purpose, domain, challenge.
    for member in ("type", "verificationMethod", "proofPurpose"):
        if not isinstance(proof.get(member), str):
            raise _Failure("malformed_proof", f"proof.{member} is missing or not a string")
    if purpose is not None and proof["proofPurpose"] != purpose:
        raise _Failure("mismatched_proof_purpose",
                       f"proof purpose is {proof['proofPurpose']!r}, expected {purpose!r}")
    if domain is not None:
        wanted = {domain} if isinstance(domain, str) else set(domain)
        got = proof.get("domain")
        got = {got} if isinstance(got, str) else set(got or [])
        if wanted != got:
            raise _Failure("invalid_domain", "the proof was made for another domain")
    if challenge is not None and proof.get("challenge") != challenge:
        raise _Failure("invalid_challenge", "the proof does not answer the expected challenge")

    suite = _suite(proof)
    signature = _proof_bytes(proof, result)
    _check_dates(proof, result, now)
    if "@context" in proof and not _starts_with(unsecured["@context"], proof["@context"]):
        raise _Failure("malformed_proof", "proof @context is not a prefix of the document @context")

    try:
        canonical_config = proof_configuration(unsecured, proof, loader, memo)
        canonical_document = memo.canonize(unsecured, loader)
    except CertsError as error:
        raise _Failure(error.code, str(error)) from None

    method = _resolve(resolve_key, proof["verificationMethod"])
    check.controller = method.controller
    if method.relationships is not None and proof["proofPurpose"] not in method.relationships:
        raise _Failure("verification_method_not_authorized",
                       f"{method.id} is not listed under {proof['proofPurpose']} by its controller")
    _check_method(method, now)
    key = method.public_key
    if suite in (EDDSA_RDFC_2022, ED25519_SIGNATURE_2020):
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise _Failure("invalid_verification_method", f"{suite} needs an Ed25519 key")
        if len(signature) != 64:
            raise _Failure("invalid_signature_length",
                           f"an Ed25519 signature has 64 bytes, not {len(signature)}")
        verifier = lambda data: key.verify(signature, data)  # noqa: E731
        digest = hashlib.sha256
    else:
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in ("secp256r1", "secp384r1"):
            raise _Failure("invalid_verification_method", f"{suite} needs a P-256 or P-384 key")
        size = 32 if key.curve.name == "secp256r1" else 48
        if len(signature) != 2 * size:
            raise _Failure("invalid_signature_length",
                           f"this ECDSA signature should have {2 * size} bytes, not {len(signature)}")
        ecdsa_hash = hashes.SHA256() if size == 32 else hashes.SHA384()
        der = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                   int.from_bytes(signature[size:], "big"))
        verifier = lambda data: key.verify(der, data, ec.ECDSA(ecdsa_hash))  # noqa: E731
        digest = hashlib.sha256 if size == 32 else hashlib.sha384
    try:
        verifier(hash_data(canonical_config, canonical_document, digest))
    except InvalidSignature:
        raise _Failure("invalid_signature", "the signature does not match the document") from None

    if check_issuer and method.controller is not None:
        issuer = _issuer_id(unsecured)
        if issuer is not None and issuer != method.controller:
            raise _Failure("issuer_mismatch",
                           f"signed by a key of {method.controller}, but the issuer is {issuer}")
    check.verified = True


def _suite(proof: Mapping[str, Any]) -> str:
    if proof["type"] == DATA_INTEGRITY_PROOF:
        if proof.get("cryptosuite") in (EDDSA_RDFC_2022, ECDSA_RDFC_2019):
            return proof["cryptosuite"]
        raise _Failure("unsupported_cryptosuite",
                       f"unsupported cryptosuite {str(proof.get('cryptosuite'))[:40]!r}")
    if proof["type"] == ED25519_SIGNATURE_2020:
        return ED25519_SIGNATURE_2020
    raise _Failure("unsupported_cryptosuite", f"unsupported proof type {proof['type'][:40]!r}")


def _proof_bytes(proof: Mapping[str, Any], result: VerificationResult) -> bytes:
    value = proof.get("proofValue")
    if not isinstance(value, str):
        raise _Failure("malformed_proof", "proof.proofValue is missing or not a string")
    try:
        prefix, data = multibase.decode(value)
    except CertsError as error:
        raise _Failure("malformed_proof", f"proofValue: {error}") from None
    if prefix == multibase.BASE64URL:
        result.warnings.append(Problem(
            "proof_value_base64url", "proofValue is base64url; the cryptosuite requires base58btc"))
    return data


def _check_dates(proof: Mapping[str, Any], result: VerificationResult, now: datetime) -> None:
    # created only has to be well formed: the signature covers its value.
    _parse_datetime(proof.get("created"), "proof.created", result, required=False)
    expires = _parse_datetime(proof.get("expires"), "proof.expires", result, required=False)
    if expires is not None and expires <= now:
        raise _Failure("proof_expired", f"the proof expired at {proof['expires']}")


def parse_datetime(value: Any) -> tuple[datetime, bool]:
    """An XML Schema dateTime as an aware datetime, and whether it named its time zone.

    Without a time zone it is read as UTC, as other verifiers do (callers report it as a warning);
    digits past the microsecond are dropped rather than refused. Raises CertsError
    ``invalid_datetime`` for anything else, including dates that do not exist.
    """
    match = _XSD_DATETIME.match(value) if isinstance(value, str) else None
    if not match:
        raise CertsError(f"{str(value)[:40]!r} is not an XML Schema dateTime", "invalid_datetime")
    zone = match.group("tz")
    offset = "+00:00" if zone is None or zone in "Zz" else zone
    fraction = (match.group("fraction") or "")[:7]
    try:
        parsed = datetime.fromisoformat(f"{match.group('date')}T{match.group('time')}{fraction}{offset}")
    except ValueError:
        raise CertsError(f"{value[:40]!r} is not a valid date", "invalid_datetime") from None
    return parsed, zone is not None


def _parse_datetime(value: Any, name: str, result: VerificationResult,
                    required: bool) -> datetime | None:
    if value is None and not required:
        return None
    try:
        parsed, has_zone = parse_datetime(value)
    except CertsError:
        raise _Failure("invalid_proof_datetime", f"{name} is not a valid XML Schema dateTime") from None
    if not has_zone:
        result.warnings.append(Problem("date_without_timezone",
                                       f"{name} has no time zone; read as UTC"))
    return parsed


def _date_warnings(document: Mapping[str, Any], result: VerificationResult) -> None:
    for name in _DOCUMENT_DATES:
        value = document.get(name)
        match = _XSD_DATETIME.match(value) if isinstance(value, str) else None
        if match and match.group("tz") is None:
            result.warnings.append(Problem("date_without_timezone", f"{name} has no time zone"))


def _resolve(resolve_key: KeyResolver, vm_id: str) -> VerificationMethod:
    try:
        resolved = resolve_key(vm_id)
        if resolved is None:
            raise KeyFormatError("no key found")
        if isinstance(resolved, VerificationMethod):
            method = resolved
        else:
            key = decode_public_multikey(resolved) if isinstance(resolved, str) else resolved
            method = VerificationMethod(id=vm_id, controller=None, public_key=key)
    except Exception as error:  # noqa: BLE001 - resolvers may fail in many ways
        raise _Failure("key_resolution_failed", f"cannot resolve {vm_id[:120]}: {error}") from None
    if method.id != vm_id:
        raise _Failure("key_resolution_failed", f"resolver returned {method.id} for {vm_id}")
    if not isinstance(method.public_key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise _Failure("invalid_verification_method", "resolver returned no usable public key")
    return method


def _check_method(method: VerificationMethod, now: datetime) -> None:
    for name, code in (("revoked", "verification_method_revoked"),
                       ("expires", "verification_method_expired")):
        value = getattr(method, name)
        if value is None:
            continue
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise _Failure(code, f"verification method {name} date is unreadable") from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        if moment <= now:
            raise _Failure(code, f"the key {method.id} is {name} since {value}")


def _previous_proofs(proof: Mapping[str, Any], proofs: list) -> list:
    """Proofs named by ``previousProof`` (proof chains, DI 4.5); all must exist."""
    wanted = proof.get("previousProof")
    if wanted is None:
        return []
    wanted = [wanted] if isinstance(wanted, str) else wanted
    if not isinstance(wanted, list):
        raise _Failure("malformed_proof", "previousProof must be a string or a list")
    matching = [other for other in proofs if other.get("id") in wanted]
    if len({other.get("id") for other in matching}) != len(set(wanted)):
        raise _Failure("malformed_proof", "previousProof names a proof that is not present")
    return copy.deepcopy(matching)


def _issuer_id(document: Mapping[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _starts_with(document_context: Any, proof_context: Any) -> bool:
    document_context = document_context if isinstance(document_context, list) else [document_context]
    proof_context = proof_context if isinstance(proof_context, list) else [proof_context]
    return document_context[:len(proof_context)] == proof_context


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
