"""Interoperability, proved against Digital Bazaar's reference implementation (Node.js, from npm):
credentials Sillage signs verify there, credentials signed there verify in Sillage, and one changed
byte fails on both sides.

These tests run wherever node is installed, and always in CI (CI=true): there a missing node is a
failure, not a skip.
"""
from __future__ import annotations

import copy
import json
import os
from datetime import timedelta

import pytest

from app.verification.signing import generate_did_key, sign
from badges.verify import verify
from certs.keys import KeyPair, did_web, did_web_document, did_web_url
from tests.interop.runner import NodeUnavailable, Witness, node_binary
from tests.verify.credentials import (ED2020, NOW, OB3_V302, VC1, legacy_signed, ob3_credential,
                                      ob3_vc1_credential, signed, stamp, vc2_credential)


@pytest.fixture(scope="module")
def witness(tmp_path_factory):
    if node_binary() is None and not os.environ.get("CI"):
        pytest.skip("node is not installed (the interoperability tests always run in CI)")
    try:
        return Witness(tmp_path_factory.mktemp("interop"))
    except NodeUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))


def _change_one_byte(credential: dict) -> str:
    """The JSON text with one character of the achievement's name changed."""
    text = json.dumps(credential)
    position = text.index("Premiers secours (PSC1)") + 1
    return text[:position] + ("R" if text[position] != "R" else "Q") + text[position + 1:]


def test_sillage_did_key_credential_verifies_in_node(witness):
    key = generate_did_key()
    credential = sign(ob3_credential(key["controller"]), key)
    assert verify(credential)["verified"] is True
    result = witness.verify(credential)
    assert result == {"verified": True}, result


def test_sillage_did_web_credential_verifies_in_node(witness):
    did = did_web("issuer.example", "issuers", "interop")
    key = KeyPair.generate(controller=did, key_id=f"{did}#key-1")
    witness.extra = {did: did_web_document(did, [key])}
    try:
        credential = signed(ob3_credential(did), key)
        assert witness.verify(credential)["verified"] is True
        assert verify(credential, fetch=lambda url: {did_web_url(did): did_web_document(did, [key])}[url])[
            "verified"] is True
    finally:
        witness.extra = {}


def test_node_credential_verifies_in_sillage(witness):
    key = witness.keygen()
    credential = witness.sign(ob3_credential(key["controller"]), key)
    assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    result = verify(credential)
    assert result["verified"] is True, result


def test_node_signs_with_a_sillage_key_and_sillage_with_a_node_key(witness):
    sillage_key = generate_did_key()
    node_key = witness.keygen()
    by_node = witness.sign(vc2_credential(sillage_key["controller"]), sillage_key)
    by_sillage = sign(vc2_credential(node_key["controller"]), node_key)
    assert verify(by_node)["verified"] is True
    assert witness.verify(by_sillage)["verified"] is True


def test_node_exported_key_reads_as_the_same_key_pair(witness):
    """Node exports the 64-byte secret (seed || public key); certs reads it as the same key."""
    node_key = witness.keygen()
    pair = KeyPair.from_json(node_key)
    assert pair.public_key_multibase == node_key["publicKeyMultibase"]
    assert pair.id == node_key["id"] and pair.controller == node_key["controller"]


def test_same_key_same_document_same_signature(witness):
    """Ed25519 is deterministic: identical canonical bytes give identical signatures on both sides."""
    key = generate_did_key()
    by_node = witness.sign(vc2_credential(key["controller"]), key)
    created = by_node["proof"]["created"]
    from datetime import datetime

    moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
    by_sillage = signed(vc2_credential(key["controller"]), KeyPair.from_json(key), created=moment)
    assert by_sillage["proof"] == by_node["proof"]


def test_changed_byte_fails_on_both_sides(witness):
    sillage_key = generate_did_key()
    ours = sign(ob3_credential(sillage_key["controller"]), sillage_key)
    node_key = witness.keygen()
    theirs = witness.sign(ob3_credential(node_key["controller"]), node_key)
    for credential in (ours, theirs):
        changed = _change_one_byte(credential)
        assert json.loads(changed) != credential
        assert witness.verify(changed)["verified"] is False
        result = verify(changed)
        assert result["verified"] is False
        assert "bad_signature" in [error["code"] for error in result["errors"]]


def test_changed_signature_byte_fails_on_both_sides(witness):
    key = generate_did_key()
    credential = sign(ob3_credential(key["controller"]), key)
    value = credential["proof"]["proofValue"]
    middle = len(value) // 2
    broken = copy.deepcopy(credential)
    broken["proof"]["proofValue"] = value[:middle] + ("2" if value[middle] != "2" else "3") + value[middle + 1:]
    assert witness.verify(broken)["verified"] is False
    assert verify(broken)["verified"] is False


def test_undefined_term_is_refused_on_both_sides(witness):
    """Neither side signs a term no context defines (it would travel unsigned)."""
    key = witness.keygen()
    credential = vc2_credential(key["controller"])
    credential["credentialSubject"]["shoeSize"] = 44
    with pytest.raises(RuntimeError):
        witness.sign(credential, key)
    from app.verification.signing import SigningRefused

    with pytest.raises(SigningRefused):
        sign(credential, key)


# -- Ed25519Signature2020 on Open Badges 3.0 of the VC 1.1 releases ------------------------------------

def _ed2020_open_badge(witness, **overrides):
    key = witness.keygen()
    credential = witness.sign(ob3_vc1_credential(key["controller"], **overrides), key,
                              suite="Ed25519Signature2020")
    assert credential["proof"]["type"] == "Ed25519Signature2020"
    assert credential["@context"] == [VC1, OB3_V302, ED2020]
    return key, credential


def test_node_ed25519_signature_2020_vc11_open_badge_verifies_in_sillage(witness):
    """What @digitalbazaar/ed25519-signature-2020 signs (the suite of the DCC issuer and many wallets)
    on a VC 1.1 Open Badge (context-3.0.2) verifies in Sillage, every check passing."""
    _key, credential = _ed2020_open_badge(witness)
    assert witness.verify(credential) == {"verified": True}
    result = verify(credential, now=NOW)
    assert result["verified"] is True, result
    schema = next(c for c in result["checks"] if c["name"] == "schema")
    assert "OB 3.0 (VC 1.1 release)" in schema["detail"]


def test_the_test_signer_makes_the_proof_node_makes(witness):
    """tests/verify's Ed25519Signature2020 signer (certs' building blocks) gives byte-identical proofs
    to Digital Bazaar's suite: the unit tests built on it test the real suite."""
    key = witness.keygen()
    document = ob3_vc1_credential(key["controller"])
    ours = legacy_signed(document, KeyPair.from_json(key), "Ed25519Signature2020")
    theirs = witness.sign(document, key, suite="Ed25519Signature2020", created=ours["proof"]["created"])
    assert theirs["proof"] == ours["proof"]
    assert witness.verify(ours) == {"verified": True}


def test_ed25519_signature_2020_changed_byte_fails_on_both_sides(witness):
    _key, credential = _ed2020_open_badge(witness)
    changed = _change_one_byte(credential)
    assert json.loads(changed) != credential
    assert witness.verify(changed)["verified"] is False
    result = verify(changed, now=NOW)
    assert result["verified"] is False
    assert "bad_signature" in [error["code"] for error in result["errors"]]


def test_ed25519_signature_2020_expired_fails_on_both_sides(witness):
    """An expirationDate already past (the witness judges at the real time, Sillage at NOW)."""
    _key, credential = _ed2020_open_badge(witness, expirationDate=stamp(NOW - timedelta(hours=1)))
    theirs = witness.verify(credential)
    assert theirs["verified"] is False and "expired" in theirs["error"]
    result = verify(credential, now=NOW)
    assert result["verified"] is False
    assert [error["code"] for error in result["errors"]] == ["expired"]
