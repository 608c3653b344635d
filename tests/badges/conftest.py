"""Fixtures of the badges tests: the 1EdTech OB 3.0 signed test vector.

``data/ob3_test_vector_signed.json`` is the "Signed credential" of the Open Badges 3.0
implementation guide's Linked Data Proof test vector (1EdTech/openbadges-specification,
ob_v3p0 implementation guide), with its key pair (public key below) and expected hashes.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).with_name("data")
VECTOR_PUBLIC_KEY_HEX = "4bdeafde2ea8beefadd8c699b5c7e0704cf51154d52e17b20b71337ca04cc5a5"
VECTOR_PUBLIC_KEY_MULTIBASE = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
VECTOR_DOCUMENT_HASH = "87f65a76d40146205e3b3e06cb0fbd153f97f9ce70372390f52566bb7f9e0773"
VECTOR_PROOF_HASH = "d34009cea0dbc1ca941e09dc01c8c9d3e3ce3c5b853f67ee44698dcea10f5d19"


@pytest.fixture
def signed_vector() -> dict:
    return json.loads((DATA / "ob3_test_vector_signed.json").read_text(encoding="utf-8"))
