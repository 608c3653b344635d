"""Sillage cryptography: keys, DIDs, Data Integrity proofs, status lists, sealing.

Independent of Flask and of Open Badges (the dependency arrow is app -> badges ->
certs), so it can be tested and reused alone. Everything here follows a W3C
specification; each module says which, and why it refuses what it refuses.

Typical use::

    loader = certs.bundled()                     # pinned contexts, never the network
    key = certs.KeyPair.generate(controller=did) # Ed25519
    signed = certs.sign(credential, key, loader) # eddsa-rdfc-2022
    result = certs.verify(signed, loader, certs.resolve_did_key)
    result.verified, result.errors, result.warnings
"""

from .canon import ALGORITHM, Memo, canonize, check_text
from .errors import (
    CanonicalizationError,
    CertsError,
    ContextIntegrityError,
    KeyFormatError,
    SealError,
    SigningError,
    UnknownDocumentError,
)
from .keys import (
    KeyPair,
    VerificationMethod,
    controller_resolver,
    decode_public_multikey,
    decode_secret_multikey,
    did_key,
    did_key_document,
    did_web,
    did_web_document,
    did_web_url,
    encode_public_multikey,
    encode_secret_multikey,
    method_from_document,
    resolve_did_key,
    seal,
    static_resolver,
    unseal,
)
from .loader import StaticLoader, bundled, read_manifest
from .proofs import (Problem, ProofCheck, VerificationResult, hash_data, parse_datetime,
                     proof_configuration, sign, verify)
from .status import (
    StatusList,
    StatusListError,
    check_status,
    status_entry,
    status_list_credential,
)

__all__ = [
    "ALGORITHM", "CanonicalizationError", "CertsError", "ContextIntegrityError", "KeyFormatError",
    "KeyPair", "Memo", "Problem", "ProofCheck", "SealError", "SigningError", "StaticLoader", "StatusList",
    "StatusListError", "UnknownDocumentError", "VerificationMethod", "VerificationResult",
    "bundled", "canonize", "check_status", "check_text", "controller_resolver",
    "decode_public_multikey", "decode_secret_multikey", "did_key", "did_key_document", "did_web",
    "did_web_document", "did_web_url", "encode_public_multikey", "encode_secret_multikey",
    "hash_data", "method_from_document", "parse_datetime", "proof_configuration", "read_manifest",
    "resolve_did_key", "seal", "sign", "static_resolver", "status_entry",
    "status_list_credential", "unseal", "verify",
]
