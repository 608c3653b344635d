"""Signing and verifying through cold and warm loaders give the same verdicts (the figures themselves are
measured by tests/benchmarks/bench_credentials.py: timed assertions do not belong in the suite, where the
machine's load decides them).
"""

from __future__ import annotations

import certs
from certs.loader import CONTEXTS_DIR

ISSUER = "did:web:sillage.example:issuers:acme"


def _credential(number: int) -> dict:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"urn:uuid:6c1b0d8e-1f2a-4b3c-8d4e-{number:012d}",
        "type": ["VerifiableCredential"],
        "issuer": {"id": ISSUER, "name": "ACME Training"},
        "validFrom": "2025-03-01T09:00:00Z",
        "credentialSubject": {"id": f"did:example:learner-{number}", "name": f"Learner {number}"},
        "credentialStatus": certs.status_entry("https://sillage.example/status/1", number),
    }


def test_cold_and_warm_loaders_sign_and_verify_alike():
    """A fresh loader (nothing processed yet) and the same loader once warm sign credentials that a second,
    cold, verifier accepts; a batch verifies whole, and a changed one is refused."""
    key = certs.KeyPair.generate(ISSUER)
    resolve = certs.static_resolver({ISSUER: certs.did_web_document(ISSUER, [key])})
    loader = certs.StaticLoader.from_manifest(CONTEXTS_DIR)  # fresh: nothing processed yet
    verifier = certs.StaticLoader.from_manifest(CONTEXTS_DIR)  # a second, cold, process

    first = certs.sign(_credential(0), key, loader)
    assert certs.verify(first, verifier, resolve).verified
    batch = [certs.sign(_credential(n), key, loader) for n in range(1, 21)]
    assert all(certs.verify(document, verifier, resolve).verified for document in batch)
    changed = {**batch[0], "credentialSubject": {**batch[0]["credentialSubject"], "name": "Someone else"}}
    assert not certs.verify(changed, verifier, resolve).verified
