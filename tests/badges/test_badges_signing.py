"""Bundled contexts, canonicalization and signatures: the OB layer on top of certs.

The 1EdTech OB 3.0 test vector (tests/badges/conftest.py) pins the whole chain: with the bundled
contexts, its canonical document and proof configuration hash to the published values, and its
published proofValue verifies with the published key.
"""
from __future__ import annotations

import copy
import hashlib
import io
import json
import shutil

import certs
import pytest

from badges import InvalidValue, bake, read_badge, sign_credential, unbake, validate_ob3
from badges.loader import CONTEXTS_DIR, context_urls, document_loader
from tests.badges.conftest import (VECTOR_DOCUMENT_HASH, VECTOR_PROOF_HASH, VECTOR_PUBLIC_KEY_HEX,
                                   VECTOR_PUBLIC_KEY_MULTIBASE)
from tests.badges.factories import SVG, credential, png_bytes

OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def _vector_key(vm_id):
    return VECTOR_PUBLIC_KEY_MULTIBASE


@pytest.fixture(scope="module")
def key_pair():
    return certs.KeyPair.generate()  # its own did:key


def _issued(key_pair, **overrides):
    doc = credential(issuer={"id": key_pair.controller, "name": "Université de Lyon",
                             "url": "https://univ.example"}, **overrides)
    return sign_credential(doc, key_pair)


# -- bundled contexts -------------------------------------------------------------------

def test_manifest_pins_every_bundled_context():
    manifest = json.loads((CONTEXTS_DIR / "manifest.json").read_text())
    for entry in manifest["contexts"]:
        raw = (CONTEXTS_DIR / entry["file"]).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == entry["sha256"]
        assert entry["package"] and entry["path"] and entry["url"].startswith("https://")
    assert OB3_CONTEXT in context_urls()


def test_loader_serves_ob_and_vc_contexts_and_is_built_once():
    loader = document_loader()
    assert loader is document_loader()
    assert {OB3_CONTEXT, "https://www.w3.org/ns/credentials/v2"} <= loader.urls
    terms = loader.document(OB3_CONTEXT)["@context"]
    assert terms["OpenBadgeCredential"]["@id"].endswith("#OpenBadgeCredential")
    with pytest.raises(certs.UnknownDocumentError):
        loader("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.9.json")


def test_a_tampered_context_file_is_refused(tmp_path):
    copy_dir = tmp_path / "contexts"
    shutil.copytree(CONTEXTS_DIR, copy_dir)
    path = copy_dir / "ob-v3p0-context-3.0.3.json"
    path.write_bytes(path.read_bytes().replace(b"schema.org/name", b"schema.org/nane"))
    with pytest.raises(certs.ContextIntegrityError):
        certs.bundled().extend_from_manifest(copy_dir)


# -- the 1EdTech test vector ------------------------------------------------------------

def test_vector_canonicalizes_to_the_published_hashes(signed_vector):
    loader = document_loader()
    proof = signed_vector.pop("proof")
    canonical = certs.canonize(signed_vector, loader)
    assert hashlib.sha256(canonical.encode()).hexdigest() == VECTOR_DOCUMENT_HASH
    config = certs.proof_configuration(signed_vector, proof, loader)
    assert hashlib.sha256(config.encode()).hexdigest() == VECTOR_PROOF_HASH


def test_examples_verify_with_the_published_key(signed_example):
    public = certs.decode_public_multikey(VECTOR_PUBLIC_KEY_MULTIBASE)
    from cryptography.hazmat.primitives import serialization
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert raw.hex() == VECTOR_PUBLIC_KEY_HEX
    unsigned = {key: value for key, value in signed_example.items() if key != "proof"}
    certs.canonize(unsigned, document_loader())  # no undefined term, no unknown context
    result = certs.verify(signed_example, document_loader(), _vector_key)
    assert result.verified, result.to_dict()


def test_examples_survive_baking_and_reading(signed_example):
    for image in (png_bytes(), SVG):
        read = read_badge(bake(image, signed_example))
        assert read.version == "3.0" and read.document == signed_example
        assert certs.verify(read.document, document_loader(), _vector_key).verified


def test_examples_with_one_changed_byte_fail(signed_example):
    text = json.dumps(signed_example)
    tampered = json.loads(text.replace("Example ", "Exbmple ", 1))
    result = certs.verify(tampered, document_loader(), _vector_key)
    assert not result.verified and "invalid_signature" in result.error_codes


# -- our credentials --------------------------------------------------------------------

def test_built_credential_has_no_undefined_term_and_matches_oxigraph():
    doc = credential()
    loader = document_loader()
    canonical = certs.canonize(doc, loader)
    assert "AchievementSubject" in canonical and "identityHash" in canonical
    ox = pytest.importorskip("pyoxigraph")
    dataset = ox.Dataset(ox.parse(io.BytesIO(certs.canon.to_nquads(doc, loader).encode()),
                                  format=ox.RdfFormat.N_QUADS))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    assert sorted(f"{quad} ." for quad in dataset) == sorted(canonical.splitlines())


def test_an_undefined_term_is_refused_with_the_ob_loader():
    doc = credential()
    doc["credentialSubject"]["achievement"]["colour"] = "blue"
    with pytest.raises(certs.CanonicalizationError) as caught:
        certs.canonize(doc, document_loader())
    assert caught.value.code == "undefined_term"


def test_sign_and_verify_with_a_did_key(key_pair):
    status = certs.status_entry("https://sillage.example/status/3a", 94567)
    signed = _issued(key_pair, credential_status=status)
    proof = signed["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["proofValue"].startswith("z") and proof["verificationMethod"].startswith(key_pair.controller)
    assert validate_ob3(signed) == []
    result = certs.verify(signed, document_loader(), certs.resolve_did_key)
    assert result.verified, result.to_dict()


def test_changing_a_byte_breaks_the_signature(key_pair):
    signed = _issued(key_pair)
    for path, value in ((("name",), "Travail en équipf"),
                        (("credentialSubject", "identifier", 0, "salt"), "0" * 32),
                        (("validFrom",), "2024-05-17T09:30:13Z")):
        tampered = copy.deepcopy(signed)
        target = tampered
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        result = certs.verify(tampered, document_loader(), certs.resolve_did_key)
        assert not result.verified, path


def test_signed_credential_survives_baking(key_pair):
    signed = _issued(key_pair)
    for image in (png_bytes(), SVG):
        baked = bake(image, signed)
        assert unbake(baked)["credential"] == signed
        read = read_badge(baked)
        assert certs.verify(read.document, document_loader(), certs.resolve_did_key).verified


def test_sign_credential_refuses_schema_invalid_documents(key_pair):
    doc = credential(issuer={"id": key_pair.controller, "name": "X"})
    del doc["validFrom"]
    with pytest.raises(InvalidValue) as caught:
        sign_credential(doc, key_pair)
    assert caught.value.field == "credential" and "validFrom" in caught.value.message
    doc = credential(issuer={"id": key_pair.controller, "name": "X"})
    doc["credentialSubject"]["nickname"] = "Al"
    with pytest.raises(certs.CanonicalizationError):
        sign_credential(doc, key_pair)
