"""The static loader: byte-exact pinned contexts, never the network."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

import certs
from certs.loader import CONTEXTS_DIR

MANIFEST = json.loads((CONTEXTS_DIR / "manifest.json").read_text())
EXPECTED_URLS = {
    "https://www.w3.org/ns/credentials/v2",
    "https://www.w3.org/2018/credentials/v1",
    "https://w3id.org/security/data-integrity/v2",
    "https://w3id.org/security/multikey/v1",
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/suites/ed25519-2020/v1",
}


def test_manifest_pins_every_bundled_file_with_its_npm_source():
    files = {entry["file"] for entry in MANIFEST["contexts"]}
    assert files == {path.name for path in CONTEXTS_DIR.glob("*.jsonld")}
    for entry in MANIFEST["contexts"]:
        raw = (CONTEXTS_DIR / entry["file"]).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == entry["sha256"]
        assert "@" in entry["package"] and entry["path"].endswith(".jsonld")


def test_bundled_serves_the_required_contexts():
    loader = certs.bundled()
    assert EXPECTED_URLS <= loader.urls
    remote = loader("https://www.w3.org/ns/credentials/v2", {})
    assert remote["documentUrl"] == "https://www.w3.org/ns/credentials/v2"
    assert remote["contentType"] == "application/ld+json" and remote["contextUrl"] is None
    assert "@context" in remote["document"]
    assert "BitstringStatusListCredential" in remote["document"]["@context"]


def test_loader_hands_out_copies():
    loader = certs.bundled()
    loader("https://www.w3.org/ns/did/v1")["document"]["@context"]["id"] = "tampered"
    assert loader.document("https://www.w3.org/ns/did/v1")["@context"]["id"] == "@id"


def test_unknown_url_is_a_clear_error_not_a_fetch():
    with pytest.raises(certs.UnknownDocumentError) as caught:
        certs.bundled()("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json", {})
    assert caught.value.code == "unknown_context"
    assert "never fetches" in str(caught.value)


def test_modified_context_file_is_refused(tmp_path):
    """Pitfall: the same URL's content changed over time, so each file is pinned."""
    copy = tmp_path / "contexts"
    shutil.copytree(CONTEXTS_DIR, copy)
    target = copy / "credentials-v2.jsonld"
    target.write_bytes(target.read_bytes().replace(b"https://schema.org/name", b"https://evil.example/name"))
    with pytest.raises(certs.ContextIntegrityError) as caught:
        certs.StaticLoader.from_manifest(copy)
    assert caught.value.code == "context_hash_mismatch"
    with pytest.raises(certs.ContextIntegrityError):
        certs.bundled().extend_from_manifest(copy)


def test_one_changed_byte_anywhere_is_refused(tmp_path):
    copy = tmp_path / "contexts"
    shutil.copytree(CONTEXTS_DIR, copy)
    target = copy / "multikey-v1.jsonld"
    target.write_bytes(target.read_bytes() + b" ")  # even insignificant whitespace
    with pytest.raises(certs.ContextIntegrityError):
        certs.StaticLoader.from_manifest(copy)


def test_extension_with_its_own_pinned_manifest(tmp_path):
    """How badges/ adds the Open Badges context: its own manifest with sha256."""
    context = b'{"@context": {"ob": "https://example.org/ob#", "Achievement": "ob:Achievement"}}\n'
    (tmp_path / "ob.json").write_bytes(context)
    (tmp_path / "manifest.json").write_text(json.dumps({"contexts": [{
        "url": "https://example.org/ob/context.json", "file": "ob.json",
        "package": "example@1.0.0", "path": "ob.json",
        "sha256": hashlib.sha256(context).hexdigest(),
    }]}))
    base = certs.bundled()
    extended = base.extend_from_manifest(tmp_path)
    assert "https://example.org/ob/context.json" in extended.urls
    assert "https://example.org/ob/context.json" not in base.urls  # the shared loader is untouched
    document = {"@context": ["https://www.w3.org/ns/credentials/v2", "https://example.org/ob/context.json"],
                "type": ["VerifiableCredential", "Achievement"], "issuer": "did:example:1",
                "credentialSubject": {"id": "did:example:2"}}
    assert "https://example.org/ob#Achievement" in certs.canonize(document, extended)
    with pytest.raises(certs.UnknownDocumentError):
        certs.canonize(document, base)


def test_extend_refuses_to_redefine_a_known_url():
    with pytest.raises(certs.ContextIntegrityError):
        certs.bundled().extend({"https://www.w3.org/ns/credentials/v2": {"@context": {"@vocab": "x:"}}})
    same = certs.bundled().document("https://www.w3.org/ns/credentials/v2")
    assert certs.bundled().extend({"https://www.w3.org/ns/credentials/v2": same}).urls == certs.bundled().urls


def test_extend_refuses_non_objects():
    with pytest.raises(certs.ContextIntegrityError):
        certs.bundled().extend({"https://example.org/c": ["not", "an", "object"]})
