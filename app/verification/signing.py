"""Signing with a key file, for ``sillage sign`` and ``sillage keys generate`` (no database, no app state).

An issuer may keep a did:key offline and sign credentials on their own machine; the verifier accepts
did:key. Open Badges 3.0 credentials are checked before signing (a signed credential cannot be fixed
afterwards): real errors are refused, remarks (format annotations, a declared schema that is not bundled)
are returned as warnings and the credential is signed (see :mod:`badges.signing`). Any credential is
refused when its issuer is not the key's controller, since it could never verify.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from badges.verify import document_kind


class SigningRefused(Exception):
    """The credential or the key cannot be used; the message says why."""

    def __init__(self, message: str, code: str = "signing_refused"):
        super().__init__(message)
        self.code = code


def generate_did_key() -> dict:
    """A new Ed25519 key pair: ``{type: Multikey, controller, id, publicKeyMultibase, secretKeyMultibase}``.

    The controller is the key's own did:key."""
    from certs.keys import KeyPair

    return KeyPair.generate().to_json(include_secret=True)


def sign(credential: Any, key: Any) -> dict:
    """``credential`` with an ``eddsa-rdfc-2022`` DataIntegrityProof by ``key`` (a key pair JSON)."""
    return sign_with_warnings(credential, key)[0]


def sign_with_warnings(credential: Any, key: Any) -> tuple[dict, list[str]]:
    """``(signed credential, remarks)``; raises ``SigningRefused`` on a real error."""
    from badges.errors import InvalidValue
    from badges.loader import document_loader
    from badges.signing import check_bounds, check_contexts, sign_credential, time_budget
    from certs.errors import CertsError
    from certs.keys import KeyPair
    from certs.proofs import sign as sign_document

    if not isinstance(credential, Mapping) or not isinstance(key, Mapping):
        raise SigningRefused("the credential and the key must be JSON objects")
    try:
        pair = KeyPair.from_json(key)  # also reads the 64-byte form Node exports
    except CertsError as exc:
        raise SigningRefused(f"the key is not usable: {exc}") from exc
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if issuer_id != pair.controller:
        raise SigningRefused(f"the credential's issuer ({issuer_id}) is not the key's controller "
                             f"({pair.controller}); set \"issuer\" to {pair.controller}")
    kind = document_kind(credential)
    if kind is None:
        raise SigningRefused("this is not a verifiable credential (@context must start with the VC context)")
    warnings: list[str] = []
    try:
        if kind == "ob3":
            return sign_credential(credential, pair, warnings=warnings), warnings
        check_bounds(credential)
        warnings.extend(check_contexts(credential))
        with time_budget():
            return sign_document(credential, pair, document_loader()), warnings
    except (InvalidValue, CertsError) as exc:
        code = getattr(exc, "code", None)
        if code == "timeout":
            raise SigningRefused("refused to sign: canonicalizing it took longer than its time budget",
                                 "timeout") from exc
        raise SigningRefused(f"refused to sign: {exc}", code or "signing_refused") from exc
