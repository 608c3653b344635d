"""Keys, Multikey, did:key, did:web, controller documents and sealing."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import certs

ISSUER = "did:web:sillage.example:issuers:acme"


def test_generated_key_is_ed25519_multikey_and_json_hides_the_secret():
    key = certs.KeyPair.generate(ISSUER)
    assert key.public_key_multibase.startswith("z6Mk") and key.secret_key_multibase.startswith("z3u2")
    assert key.id == f"{ISSUER}#{key.public_key_multibase}"
    public = key.to_json()
    assert public == {"id": key.id, "type": "Multikey", "controller": ISSUER,
                      "publicKeyMultibase": key.public_key_multibase}
    full = key.to_json(include_secret=True)
    assert full["secretKeyMultibase"] == key.secret_key_multibase
    again = certs.KeyPair.from_json(full)
    assert again.id == key.id and again.public_key_multibase == key.public_key_multibase


def test_from_json_refuses_mismatched_or_public_only_keys():
    key, other = certs.KeyPair.generate(), certs.KeyPair.generate()
    data = dict(key.to_json(include_secret=True), publicKeyMultibase=other.public_key_multibase)
    with pytest.raises(certs.KeyFormatError):
        certs.KeyPair.from_json(data)
    with pytest.raises(certs.KeyFormatError):
        certs.KeyPair.from_json(key.to_json())


def _long_secret(key: certs.KeyPair, public_half: bytes | None = None) -> str:
    """The 64-byte Ed25519 secret (seed || public key) that @digitalbazaar/ed25519-multikey exports."""
    from certs import multibase

    public = certs.decode_public_multikey(key.public_key_multibase)
    raw_public = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return multibase.encode(b"\x80\x26" + key.private_bytes() + (public_half or raw_public))


def test_from_json_reads_the_64_byte_secret_that_node_exports():
    key = certs.KeyPair.generate()
    data = dict(key.to_json(include_secret=True), secretKeyMultibase=_long_secret(key))
    again = certs.KeyPair.from_json(data)
    assert again.public_key_multibase == key.public_key_multibase
    assert again.private_bytes() == key.private_bytes()
    # the secret Sillage writes back is the 32-byte seed form
    assert again.secret_key_multibase == key.secret_key_multibase
    # without publicKeyMultibase the public half inside the secret is still checked
    del data["publicKeyMultibase"]
    assert certs.KeyPair.from_json(data).id == key.id


def test_from_json_refuses_a_64_byte_secret_whose_public_half_is_another_key():
    key, other = certs.KeyPair.generate(), certs.KeyPair.generate()
    other_public = certs.decode_public_multikey(other.public_key_multibase).public_bytes(
        Encoding.Raw, PublicFormat.Raw)
    data = dict(key.to_json(include_secret=True), secretKeyMultibase=_long_secret(key, other_public))
    with pytest.raises(certs.KeyFormatError, match="public half"):
        certs.KeyPair.from_json(data)
    del data["publicKeyMultibase"]
    with pytest.raises(certs.KeyFormatError, match="public half"):
        certs.KeyPair.from_json(data)
    with pytest.raises(certs.KeyFormatError):  # neither 32 nor 64 bytes
        certs.decode_secret_multikey(_long_secret(key)[:-3])


def test_secret_multikey_is_refused_as_a_public_key():
    key = certs.KeyPair.generate()
    with pytest.raises(certs.KeyFormatError) as caught:
        certs.decode_public_multikey(key.secret_key_multibase)
    assert "SECRET" in str(caught.value)


@pytest.mark.parametrize("value", ["", "z", "f00", "uAAAA", "z0OIl", "z6Mk", 42, None,
                                   "z" + "1" * 60])
def test_bad_public_multikeys_are_key_format_errors(value):
    with pytest.raises(certs.KeyFormatError):
        certs.decode_public_multikey(value)


def test_ecdsa_public_multikeys_round_trip():
    for curve, prefix in ((ec.SECP256R1(), "zDn"), (ec.SECP384R1(), "z82")):
        public = ec.generate_private_key(curve).public_key()
        encoded = certs.encode_public_multikey(public)
        assert encoded.startswith(prefix)
        assert certs.encode_public_multikey(certs.decode_public_multikey(encoded)) == encoded


def test_did_key_document_resolves_offline():
    key = certs.KeyPair.generate()
    did = certs.did_key(key.public_key)
    assert key.controller == did and key.id == f"{did}#{key.public_key_multibase}"
    document = certs.did_key_document(key.id)
    assert document["@context"] == ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
    assert document["assertionMethod"] == [key.id]
    method = certs.resolve_did_key(key.id)
    assert method.controller == did and method.public_key_multibase == key.public_key_multibase
    with pytest.raises(certs.KeyFormatError):
        certs.resolve_did_key(f"{did}#other-key")


def test_did_web_names_and_urls():
    assert certs.did_web("sillage.example", "issuers", "acme") == ISSUER
    assert certs.did_web_url(ISSUER) == "https://sillage.example/issuers/acme/did.json"
    with_port = certs.did_web("localhost:5000", "issuers", "7c1e")
    assert with_port == "did:web:localhost%3A5000:issuers:7c1e"
    assert certs.did_web_url(with_port, scheme="http") == "http://localhost:5000/issuers/7c1e/did.json"
    assert certs.did_web_url("did:web:example.com") == "https://example.com/.well-known/did.json"
    assert certs.did_web_url(ISSUER + "#key-1") == "https://sillage.example/issuers/acme/did.json"


@pytest.mark.parametrize("bad", ["did:key:z6Mk", "did:web:", "did:web:evil.example/x", "did:web:a::b",
                                 "https://example.com"])
def test_malformed_did_web_is_refused(bad):
    with pytest.raises(certs.KeyFormatError):
        certs.did_web_url(bad)


def test_did_web_refuses_bad_host_or_segment():
    with pytest.raises(certs.KeyFormatError):
        certs.did_web("evil.example/path")
    with pytest.raises(certs.KeyFormatError):
        certs.did_web("example.org", "a/b")


def test_did_web_document_lists_every_key_for_rotation():
    """Pitfall: other verifiers need both contexts to read Multikey entries."""
    old, new = certs.KeyPair.generate(ISSUER), certs.KeyPair.generate(ISSUER)
    document = certs.did_web_document(ISSUER, [old, new])
    assert document["@context"] == ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
    assert document["id"] == ISSUER
    assert [m["id"] for m in document["verificationMethod"]] == [old.id, new.id]
    assert document["assertionMethod"] == [old.id, new.id]
    assert all("secretKeyMultibase" not in m for m in document["verificationMethod"])
    resolve = certs.static_resolver({ISSUER: document})
    assert resolve(old.id).public_key_multibase == old.public_key_multibase  # rotated key still verifies
    assert resolve(new.id).controller == ISSUER
    # the document is itself valid JSON-LD under the bundled contexts
    assert certs.canonize(document, certs.bundled())


def test_did_web_document_refuses_foreign_keys():
    with pytest.raises(certs.KeyFormatError):
        certs.did_web_document(ISSUER, [certs.KeyPair.generate("did:web:other.example")])
    with pytest.raises(certs.KeyFormatError):
        certs.did_web_document(ISSUER, [])


def test_method_reports_its_relationships_and_must_belong_to_the_controller():
    key = certs.KeyPair.generate(ISSUER)
    document = certs.did_web_document(ISSUER, [key])
    assert certs.method_from_document(document, key.id).relationships == {"assertionMethod"}
    document["assertionMethod"] = []
    assert certs.method_from_document(document, key.id).relationships == frozenset()
    with pytest.raises(certs.KeyFormatError):
        certs.method_from_document(document, ISSUER + "#missing")
    document = certs.did_web_document(ISSUER, [key])
    document["verificationMethod"][0]["controller"] = "did:web:evil.example"
    with pytest.raises(certs.KeyFormatError):
        certs.method_from_document(document, key.id)


def test_controller_resolver_checks_the_fetched_document_identity():
    key = certs.KeyPair.generate(ISSUER)
    fetched = []

    def fetch(url):
        fetched.append(url)
        evil = "did:web:evil.example"
        return certs.did_web_document(evil, [certs.KeyPair.generate(evil)])

    with pytest.raises(certs.KeyFormatError):
        certs.controller_resolver(fetch)(key.id)
    assert fetched == ["https://sillage.example/issuers/acme/did.json"]
    assert certs.controller_resolver(fetch)(certs.KeyPair.generate().id).controller.startswith("did:key:")
    with pytest.raises(certs.KeyFormatError):
        certs.controller_resolver(fetch)("urn:uuid:1234#key")


def test_seal_round_trip_and_every_mismatch_fails():
    master, secret = os.urandom(32), certs.KeyPair.generate().private_bytes()
    sealed = certs.seal(secret, master, aad=b"key-1")
    assert secret not in sealed and len(sealed) == 1 + 12 + len(secret) + 16
    assert certs.unseal(sealed, master, aad=b"key-1") == secret
    assert certs.seal(secret, master, aad=b"key-1") != sealed  # random nonce
    for attempt in (
        lambda: certs.unseal(sealed, os.urandom(32), aad=b"key-1"),
        lambda: certs.unseal(sealed, master, aad=b"key-2"),
        lambda: certs.unseal(sealed, master, aad=b"key-1", purpose="vault"),
        lambda: certs.unseal(sealed[:-1] + bytes([sealed[-1] ^ 1]), master, aad=b"key-1"),
        lambda: certs.unseal(b"\x02" + sealed[1:], master, aad=b"key-1"),
        lambda: certs.unseal(sealed[:20], master, aad=b"key-1"),
    ):
        with pytest.raises(certs.SealError):
            attempt()


def test_seal_needs_a_real_master_key():
    with pytest.raises(certs.SealError):
        certs.seal(b"secret", b"short", aad=b"")


def test_unsealed_seed_rebuilds_the_same_key():
    master = os.urandom(32)
    key = certs.KeyPair.generate(ISSUER)
    sealed = certs.seal(key.private_bytes(), master, aad=key.id.encode())
    seed = certs.unseal(sealed, master, aad=key.id.encode())
    again = certs.KeyPair.from_private_bytes(seed, ISSUER, key.id)
    assert again.to_json() == key.to_json()
