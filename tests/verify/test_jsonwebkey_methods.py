"""Data Integrity proofs whose key a did:web issuer publishes as a ``JsonWebKey`` (``publicKeyJwk``), as the
VC DI EdDSA and ECDSA cryptosuites allow beside Multikey: found in review to be refused as ``invalid_key``,
calling genuine credentials not verified."""
from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from badges.verify import verify
from certs.errors import KeyFormatError
from certs.keys import public_key_from_jwk
from tests.verify.credentials import NOW, Issuer, Web, check, ob3_credential, signed


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ed25519_jwk(key_pair) -> dict:
    raw = key_pair.verification_method().public_key.public_bytes(serialization.Encoding.Raw,
                                                                 serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}


@pytest.mark.parametrize("kind", ["JsonWebKey", "JsonWebKey2020"])
def test_a_credential_signed_with_a_jsonwebkey_method_verifies(kind):
    web = Web()
    issuer = Issuer(web)
    method = issuer.document["verificationMethod"][0]
    issuer.document["verificationMethod"] = [{"id": method["id"], "type": kind, "controller": issuer.did,
                                             "publicKeyJwk": ed25519_jwk(issuer.key)}]
    web.documents[issuer.url] = issuer.document
    credential = signed(ob3_credential(issuer.did), issuer.key)
    result = verify(credential, fetch=web, now=NOW)
    assert result["verified"] is True, result["errors"]
    credential["credentialSubject"]["achievement"]["name"] = "Autre"
    assert check(verify(credential, fetch=web, now=NOW), "proof")["code"] == "bad_signature"


def test_another_key_published_as_jwk_does_not_verify():
    web = Web()
    issuer, other = Issuer(web), Issuer(Web(), name="other")
    method = issuer.document["verificationMethod"][0]
    issuer.document["verificationMethod"] = [{"id": method["id"], "type": "JsonWebKey", "controller": issuer.did,
                                             "publicKeyJwk": ed25519_jwk(other.key)}]
    web.documents[issuer.url] = issuer.document
    result = verify(signed(ob3_credential(issuer.did), issuer.key), fetch=web, now=NOW)
    assert result["verified"] is False and check(result, "proof")["code"] == "bad_signature"


def test_public_key_from_jwk_reads_ec_keys_and_refuses_the_rest():
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    numbers = key.public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64(numbers.x.to_bytes(32, "big")),
           "y": b64(numbers.y.to_bytes(32, "big"))}
    assert public_key_from_jwk(jwk).public_numbers() == numbers
    for bad in ({**jwk, "d": "AAAA"}, {**jwk, "y": b64(b"\x01" * 32)}, {**jwk, "crv": "P-521"},
                {"kty": "OKP", "crv": "Ed25519", "x": b64(b"\x00" * 31)}, {"kty": "RSA", "n": "x", "e": "AQAB"},
                None, {"kty": "OKP", "crv": "Ed25519", "x": "not base64!"}):
        with pytest.raises(KeyFormatError):
            public_key_from_jwk(bad)
