"""Fixtures of the badges tests: the 1EdTech OB 3.0 signed examples.

Both come from the Linked Data Proof test vectors of the Open Badges 3.0 implementation guide
(1EdTech/openbadges-specification, ob_v3p0 implementation guide), signed with the key below:

* ``data/ob3_test_vector_signed.json``: the OB 3.0 "Signed credential" (with the published
  canonical document and proof-configuration hashes);
* ``data/ob3_clr_vector_nested_credential.json``: the signed AchievementCredential nested in the
  CLR 2.0 vector (compact ``type`` strings, the ``extensions.json`` context, ``credentialSchema``).
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


@pytest.fixture(params=["ob3_test_vector_signed.json", "ob3_clr_vector_nested_credential.json"])
def signed_example(request) -> dict:
    return json.loads((DATA / request.param).read_text(encoding="utf-8"))
