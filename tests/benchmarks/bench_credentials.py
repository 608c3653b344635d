"""Credential throughput: Sillage (Python) beside Digital Bazaar's reference libraries (Node.js).

Signs and verifies one Open Badges 3.0 credential cold (the first call in a fresh process: contexts,
schemas and caches are built) and warm, then a batch of N (default 1,000), on both sides, in the same
run on the same machine, and prints credentials per second and the Sillage/Node ratio. The figures are
printed, not asserted: they depend on the machine.

What is measured is the same work on both sides: eddsa-rdfc-2022 signing (RDFC-1.0 canonicalization,
SHA-256, Ed25519) and verification of a did:key credential with no status list. Sillage's verify also
runs its JSON-LD strictness, OB 3.0 schema and validity checks (that is what ``sillage verify`` does);
the Node side runs @digitalbazaar/vc's verifyCredential.

    python tests/benchmarks/bench_credentials.py [--count 1000] [--no-node]
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _credential(issuer: str) -> dict:
    from tests.verify.credentials import ob3_credential

    return ob3_credential(issuer)


def _timed(function):
    start = time.perf_counter()
    value = function()
    return (time.perf_counter() - start) * 1000, value


def bench_sillage(count: int) -> dict:
    """The same steps as interop.js ``bench``, in this (fresh) process."""
    from badges.loader import document_loader
    from badges.verify import verify
    from certs.keys import KeyPair
    from certs.proofs import sign

    key = KeyPair.generate()
    unsigned = _credential(key.controller)
    sign_cold, signed = _timed(lambda: sign(unsigned, key, document_loader()))
    sign_warm, _ = _timed(lambda: sign(unsigned, key, document_loader()))
    verify_cold, first = _timed(lambda: verify(signed))
    verify_warm, _ = _timed(lambda: verify(signed))
    if not first["verified"]:
        raise SystemExit(f"the benchmark credential does not verify: {first['errors']}")
    batch = []
    for _ in range(count):  # distinct ids, so nothing can be served from a cache of identical documents
        item = copy.deepcopy(unsigned)
        item["id"] = f"urn:uuid:{uuid.uuid4()}"
        batch.append(item)
    sign_batch, signed_batch = _timed(lambda: [sign(item, key, document_loader()) for item in batch])
    verify_batch, results = _timed(lambda: [verify(item) for item in signed_batch])
    if not all(result["verified"] for result in results):
        raise SystemExit("a batch credential did not verify")
    return {"count": count, "sign_cold_ms": sign_cold, "sign_warm_ms": sign_warm,
            "verify_cold_ms": verify_cold, "verify_warm_ms": verify_warm,
            "sign_batch_ms": sign_batch, "verify_batch_ms": verify_batch}


def _inflated(issuer: str, alignments: int) -> dict:
    document = _credential(issuer)
    document["credentialSubject"]["achievement"]["alignment"] = [
        {"type": ["Alignment"], "targetName": f"S{i}", "targetUrl": f"https://s.example/{i}"}
        for i in range(alignments)]
    return document


def _within_bounds(issuer: str) -> dict:
    """About the most JSON-LD work the complexity bounds let through (badges.formats)."""
    document = _credential(issuer)
    document["credentialSubject"]["result"] = [
        {"type": ["Result"], "status": "Completed", "resultDescription": f"urn:uuid:{i}", "value": f"v{i}"}
        for i in range(100)]
    document["evidence"] = [{"type": ["Evidence"], "name": f"N{i}", "narrative": f"x{i}"} for i in range(100)]
    achievement = document["credentialSubject"]["achievement"]
    achievement["alignment"] = _inflated(issuer, 100)["credentialSubject"]["achievement"]["alignment"]
    achievement["tag"] = [f"t{i}" for i in range(100)]
    achievement["resultDescription"] = [
        {"id": f"urn:uuid:{i}", "type": ["ResultDescription"], "name": f"R{i}", "resultType": "Status",
         "allowedValue": [f"a{j}" for j in range(20)]} for i in range(100)]
    return document


def bench_inflated() -> str:
    """Issue 6 section 6: the credential with 10,000 alignments (840 KB) that cost ~38 s is answered
    ``too_complex`` before any JSON-LD work; the worst document inside the bounds still verifies."""
    import json

    from badges.formats import jsonld_work
    from badges.loader import document_loader
    from badges.verify import verify
    from certs.keys import KeyPair
    from certs.proofs import sign

    key = KeyPair.generate()
    verify(sign(_credential(key.controller), key, document_loader()))  # warm
    inflated = json.dumps(_inflated(key.controller, 10_000))
    attack_ms, result = _timed(lambda: verify(inflated))
    codes = [error["code"] for error in result["errors"]]
    bounded = sign(_within_bounds(key.controller), key, document_loader())
    bounded_ms, bounded_result = _timed(lambda: verify(bounded))
    return (f"inflated credential, 10,000 alignments ({len(inflated) // 1024} KB): {attack_ms:.0f} ms, {codes}\n"
            f"worst inside the bounds (work {jsonld_work(bounded)}, {len(json.dumps(bounded)) // 1024} KB): "
            f"{bounded_ms:.0f} ms, verified {bounded_result['verified']}")


def bench_node(count: int) -> dict | None:
    from tests.interop.runner import NodeUnavailable, Witness

    try:
        witness = Witness()
    except NodeUnavailable as exc:
        print(f"(Node.js side skipped: {exc})")
        return None
    return witness.bench(_credential("did:key:placeholder"), count)


def _rate(figures: dict | None, name: str) -> float | None:
    if not figures:
        return None
    return figures["count"] / (figures[f"{name}_batch_ms"] / 1000)


def report(sillage: dict, node: dict | None) -> str:
    rows = [("sign, cold (ms)", sillage["sign_cold_ms"], node and node["sign_cold_ms"], False),
            ("sign, warm (ms)", sillage["sign_warm_ms"], node and node["sign_warm_ms"], False),
            ("verify, cold (ms)", sillage["verify_cold_ms"], node and node["verify_cold_ms"], False),
            ("verify, warm (ms)", sillage["verify_warm_ms"], node and node["verify_warm_ms"], False),
            (f"sign {sillage['count']} (credentials/s)", _rate(sillage, "sign"), _rate(node, "sign"), True),
            (f"verify {sillage['count']} (credentials/s)", _rate(sillage, "verify"), _rate(node, "verify"),
             True)]
    lines = [f"{'':32} {'Sillage':>10} {'Node.js':>10} {'ratio':>8}"]
    for label, ours, theirs, higher_is_better in rows:
        if theirs:
            ratio = ours / theirs if higher_is_better else theirs / ours
            lines.append(f"{label:32} {ours:10.1f} {theirs:10.1f} {ratio:7.2f}x")
        else:
            lines.append(f"{label:32} {ours:10.1f} {'-':>10} {'-':>8}")
    lines.append("ratio: Sillage's speed as a multiple of Node's (above 1 = Sillage faster)")
    if node:
        ours, theirs = 1000 / _per_item(sillage, "verify"), 1000 / _per_item(node, "verify")
        verdict = "met" if ours >= 2 * theirs else "NOT met"
        lines.append(f"aim, warm verification in half Node's time: {verdict} "
                     f"({ours:.0f} vs {theirs:.0f} credentials/s over the batch, {ours / theirs:.2f}x)")
    return "\n".join(lines)


def _per_item(figures: dict, name: str) -> float:
    """Milliseconds per credential over the batch: the warm figure that a single call's noise cannot sway."""
    return figures[f"{name}_batch_ms"] / figures["count"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="credentials in the batch (default 1000)")
    parser.add_argument("--no-node", action="store_true", help="measure Sillage only")
    args = parser.parse_args(argv)
    print(f"== credentials: sign and verify, cold, warm and {args.count} in a batch")
    sillage = bench_sillage(args.count)  # first: its cold figures are this process's first calls
    node = None if args.no_node else bench_node(args.count)
    print(report(sillage, node))
    print("== bounded JSON-LD work")
    print(bench_inflated())
    return 0


if __name__ == "__main__":
    sys.exit(main())
