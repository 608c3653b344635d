"""The W3C test vectors, reproduced byte for byte (Ed25519 is deterministic)."""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime, timezone

import base58
import pytest

import certs
from certs_support import examples_loader, vector, vector_key

EDDSA = vector("eddsa-rdfc-2022.json")
ED2020 = vector("ed25519signature2020.json")
ECDSA = vector("ecdsa-rdfc-2019.json")


@pytest.fixture(scope="module")
def loader():
    return examples_loader()


def test_multikey_vector_round_trips():
    key = vector_key()
    assert key.public_key_multibase == EDDSA["keyPair"]["publicKeyMultibase"]
    assert key.secret_key_multibase == EDDSA["keyPair"]["secretKeyMultibase"]
    assert key.public_key_multibase.startswith("z6Mk")
    assert key.secret_key_multibase.startswith("z3u2")
    raw = base58.b58decode(key.public_key_multibase[1:])
    assert raw[:2] == b"\xed\x01" and len(raw) == 34
    assert base58.b58decode(key.secret_key_multibase[1:])[:2] == b"\x80\x26"
    assert key.id == EDDSA["proofOptions"]["verificationMethod"]  # did:key:z6Mk…#z6Mk…


def test_ecdsa_multikey_vectors_decode_to_their_public_keys():
    for curve in ("p256", "p384"):
        pair = ECDSA[curve]["keyPair"]
        secret = certs.decode_secret_multikey(pair["secretKeyMultibase"])
        assert certs.encode_public_multikey(secret.public_key()) == pair["publicKeyMultibase"]
        assert certs.encode_secret_multikey(secret) == pair["secretKeyMultibase"]


def test_eddsa_canonical_document_is_byte_exact(loader):
    canonical = certs.canonize(vector("alumni-unsigned.json"), loader)
    assert canonical == vector("alumni-canonical.nq")
    assert hashlib.sha256(canonical.encode()).hexdigest() == EDDSA["documentHash"]


def test_eddsa_canonical_proof_config_and_hashes_are_byte_exact(loader):
    config = certs.proof_configuration(vector("alumni-unsigned.json"), EDDSA["proofOptions"], loader)
    assert config == "\n".join(EDDSA["canonicalProofConfig"]) + "\n"
    assert hashlib.sha256(config.encode()).hexdigest() == EDDSA["proofConfigHash"]
    data = certs.hash_data(config, vector("alumni-canonical.nq"))
    assert data.hex() == EDDSA["hashData"]
    assert vector_key().sign(data).hex() == EDDSA["signatureHex"]


def test_eddsa_sign_reproduces_the_published_proof(loader):
    created = datetime(2023, 2, 24, 23, 36, 38, tzinfo=timezone.utc)
    signed = certs.sign(vector("alumni-unsigned.json"), vector_key(), loader, created=created)
    assert signed["proof"] == dict(EDDSA["proofOptions"], proofValue=EDDSA["proofValue"])
    assert list(signed["proof"]) == [*EDDSA["proofOptions"], "proofValue"]
    result = certs.verify(signed, loader, certs.resolve_did_key, check_issuer=False)
    assert result.verified, result.to_dict()
    assert result.document == vector("alumni-unsigned.json")


def test_ed25519signature2020_vector_verifies(loader):
    signed = ED2020["signed"]
    result = certs.verify(signed, loader, certs.resolve_did_key, check_issuer=False)
    assert result.verified, result.to_dict()
    config = certs.proof_configuration(signed, signed["proof"], loader)
    assert hashlib.sha256(config.encode()).hexdigest() == ED2020["proofConfigHash"]
    unsecured = {k: v for k, v in signed.items() if k != "proof"}
    data = certs.hash_data(config, certs.canonize(unsecured, loader))
    assert vector_key().sign(data).hex() == ED2020["signatureHex"]


@pytest.mark.parametrize("curve", ["p256", "p384"])
def test_ecdsa_rdfc_2019_vectors_verify(loader, curve):
    signed = dict(vector("alumni-unsigned.json"), proof=ECDSA[curve]["proof"])
    result = certs.verify(signed, loader, certs.resolve_did_key, check_issuer=False)
    assert result.verified, result.to_dict()
    assert result.proofs[0].cryptosuite == "ecdsa-rdfc-2019"


def test_ecdsa_p256_proof_config_hash_and_raw_signature(loader):
    proof = ECDSA["p256"]["proof"]
    config = certs.proof_configuration(vector("alumni-unsigned.json"), proof, loader)
    assert hashlib.sha256(config.encode()).hexdigest() == ECDSA["p256"]["proofConfigHash"]
    assert base58.b58decode(proof["proofValue"][1:]).hex() == ECDSA["p256"]["signatureHex"]


def test_ecdsa_vector_fails_when_tampered(loader):
    signed = dict(vector("alumni-unsigned.json"), proof=copy.deepcopy(ECDSA["p256"]["proof"]))
    signed["name"] = "Alumni Credentials"
    result = certs.verify(signed, loader, certs.resolve_did_key, check_issuer=False)
    assert not result.verified and result.error_codes == ["invalid_signature"]
