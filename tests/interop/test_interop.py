"""Interoperability, proved against Digital Bazaar's reference implementation (Node.js, from npm):
credentials Sillage signs verify there, credentials signed there verify in Sillage, and one changed
byte fails on both sides. VC-JWTs likewise against panva's jose (RS256, ES256, EdDSA).

These tests run wherever node is installed, and always in CI (CI=true): there a missing node is a
failure, not a skip.
"""
from __future__ import annotations

import copy
import json
import os
from datetime import timedelta

import pytest
from joserfc.jwk import OKPKey

from app.verification.signing import generate_did_key, sign
from badges.verify import verify
from certs.keys import KeyPair, did_key, did_web, did_web_document, did_web_url
from tests.interop.runner import NodeUnavailable, Witness, node_binary
from tests.verify.credentials import (ED2020, NOW, OB3_V302, VC1, Web, legacy_signed, ob3_credential,
                                      ob3_vc1_credential, signed, stamp, vc2_credential)
from tests.verify.jwts import JwkIssuer, b64, ob3_jwt_credential, public_jwk, unb64, vc_claims


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


# -- VC-JWT with panva's jose (npm), an independent JOSE implementation ---------------------------------

def _jwt_issuer(witness, alg: str):
    """A did:web issuer whose JsonWebKey method holds a key that jose generated (and signs with)."""
    web = Web()
    keys = witness.jwt_keygen(alg)
    did = did_web("jose-issuer.example", "issuers", alg.lower())
    kid = f"{did}#key-1"
    web.documents[did_web_url(did)] = {
        "@context": ["https://www.w3.org/ns/did/v1"], "id": did,
        "verificationMethod": [{"id": kid, "type": "JsonWebKey", "controller": did,
                                "publicKeyJwk": keys["publicJwk"]}],
        "assertionMethod": [kid]}
    return web, keys, did, kid


def _flip_signature(token: str) -> str:
    """The token with one character of its signature changed."""
    header, payload, signature = token.split(".")
    return ".".join([header, payload, signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:]])


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_jose_signed_vc_jwts_verify_in_sillage(witness, alg):
    web, keys, did, kid = _jwt_issuer(witness, alg)
    credential = ob3_jwt_credential(did)
    ob3 = witness.jwt_sign(vc_claims(credential), keys["privateJwk"], alg, kid=kid, typ="JWT")
    enveloped = witness.jwt_sign(credential, keys["privateJwk"], alg, kid=kid, typ="vc+jwt")
    for token in (ob3, enveloped):
        result = verify(token, fetch=web, now=NOW)
        assert result["verified"] is True, result
        assert f"JWT {alg}" in next(c for c in result["checks"] if c["name"] == "proof")["detail"]
        tampered = verify(_flip_signature(token), fetch=web, now=NOW)
        assert tampered["verified"] is False and "bad_signature" in [e["code"] for e in tampered["errors"]]
        header, payload, signature = token.split(".")
        changed = json.loads(unb64(payload))
        (changed.get("vc") or changed)["name"] = "Forged"
        forged = ".".join([header, b64(json.dumps(changed)), signature])
        assert verify(forged, fetch=web, now=NOW)["verified"] is False


def test_jose_header_jwk_of_a_did_key_issuer_verifies_in_sillage(witness):
    """jose signs with the jwk header; the issuer is that key's did:key, so the key is the issuer's."""
    keys = witness.jwt_keygen("EdDSA")
    public = OKPKey.import_key(keys["publicJwk"]).raw_value
    token = witness.jwt_sign(vc_claims(ob3_jwt_credential(did_key(public))), keys["privateJwk"], "EdDSA",
                             embed_jwk=True)
    assert verify(token, now=NOW)["verified"] is True


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_sillage_test_jwts_verify_in_jose(witness, alg):
    """Tokens made on the Python side (joserfc, as Sillage's tests make them) verify in jose, and Sillage
    accepts them too; a changed byte fails in both."""
    web = Web()
    issuer = JwkIssuer(web)
    token = issuer.ob3_jwt(alg)
    assert verify(token, fetch=web, now=NOW)["verified"] is True
    result = witness.jwt_verify(token, public_jwk(issuer.keys[alg]), alg)
    assert result["verified"] is True, result
    assert result["payload"]["jti"] == issuer.credential()["id"]
    assert witness.jwt_verify(_flip_signature(token), public_jwk(issuer.keys[alg]), alg)["verified"] is False
