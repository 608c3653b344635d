"""Cold vs warm costs of signing and verifying (run with -s to see the figures).

The assertions are loose on purpose (shared CI machines); warm figures are the best
of five runs, throughput is also given per CPU second because wall time depends on
what else the machine is doing.
"""

from __future__ import annotations

import time

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


def _ms(function) -> tuple[float, object]:
    started = time.perf_counter()
    value = function()
    return (time.perf_counter() - started) * 1000, value


def test_sign_and_verify_cold_then_warm_and_throughput():
    key = certs.KeyPair.generate(ISSUER)
    resolve = certs.static_resolver({ISSUER: certs.did_web_document(ISSUER, [key])})
    loader = certs.StaticLoader.from_manifest(CONTEXTS_DIR)  # fresh: nothing processed yet
    verifier = certs.StaticLoader.from_manifest(CONTEXTS_DIR)  # a second, cold, process

    sign_cold, first = _ms(lambda: certs.sign(_credential(0), key, loader))
    verify_cold, result = _ms(lambda: certs.verify(first, verifier, resolve))
    assert result.verified
    warm_signs = [_ms(lambda: certs.sign(_credential(1), key, loader)) for _ in range(5)]
    sign_warm, second = min(warm_signs, key=lambda pair: pair[0])
    warm_verifies = [_ms(lambda: certs.verify(second, verifier, resolve)) for _ in range(5)]
    verify_warm, result = min(warm_verifies, key=lambda pair: pair[0])
    assert result.verified

    batch = [certs.sign(_credential(n), key, loader) for n in range(2, 1002)]
    started, cpu = time.perf_counter(), time.process_time()
    assert all(certs.verify(document, verifier, resolve).verified for document in batch)
    per_second = len(batch) / (time.perf_counter() - started)
    per_cpu_second = len(batch) / (time.process_time() - cpu)

    print(f"\nsign   cold {sign_cold:6.1f} ms  warm {sign_warm:5.2f} ms"
          f"\nverify cold {verify_cold:6.1f} ms  warm {verify_warm:5.2f} ms"
          f"\nverify {len(batch)} credentials: {per_second:.0f}/s wall, {per_cpu_second:.0f}/s of CPU"
          " (one thread)")
    assert sign_warm < sign_cold / 3 and verify_warm < verify_cold / 3
    assert per_cpu_second > 100  # CPU time: wall time depends on what else the machine runs
