"""Shared helpers for the certs tests (a module, not a conftest: tests/ holds several packages)."""

from __future__ import annotations

import json
from pathlib import Path

import certs

VECTORS = Path(__file__).with_name("vectors")
EXAMPLES_CONTEXT = "https://www.w3.org/ns/credentials/examples/v2"


def vector(name: str):
    path = VECTORS / name
    return json.loads(path.read_text()) if path.suffix in (".json", ".jsonld") else path.read_text()


def examples_loader() -> certs.StaticLoader:
    """The bundled loader plus the W3C examples context the spec vectors use."""
    return certs.bundled().extend({EXAMPLES_CONTEXT: vector("examples-v2-context.jsonld")})


def vector_key() -> certs.KeyPair:
    return certs.KeyPair.from_json({"type": "Multikey", **vector("eddsa-rdfc-2022.json")["keyPair"]})


def nquads_via_oxigraph(nquads: str) -> str:
    """RDFC-1.0 canonical form of *nquads* computed by pyoxigraph (Rust, independent of pyld)."""
    import pyoxigraph as ox

    dataset = ox.Dataset(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return "".join(sorted(f"{quad} .\n" for quad in dataset))
