"""Canonicalization: equal to pyoxigraph's RDFC-1.0, strict on every known pitfall."""

from __future__ import annotations

import copy
import time

import pytest
from pyld import jsonld

import certs
from certs.canon import to_nquads
from certs_support import examples_loader, nquads_via_oxigraph, vector

V2 = "https://www.w3.org/ns/credentials/v2"


@pytest.fixture(scope="module")
def loader():
    return examples_loader()


def credential(**changes):
    document = {
        "@context": [V2],
        "id": "urn:uuid:0f1d5a1e-0000-4000-8000-000000000001",
        "type": ["VerifiableCredential"],
        "issuer": {"id": "did:web:sillage.example:issuers:acme", "name": "ACME"},
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:alice", "name": "Alice é 日本 \t tab\nline\r"},
    }
    document.update(changes)
    return document


RICH = [
    vector("alumni-unsigned.json"),
    credential(),
    # blank nodes that only differ deeper down, a list, language-tagged text
    {
        "@context": [V2, {"ex": "https://example.org/vocab#",
                          "items": {"@id": "ex:items", "@container": "@list"},
                          "note": {"@id": "ex:note", "@language": "fr"}, "score": "ex:score",
                          "flag": "ex:flag", "ratio": "ex:ratio", "child": "ex:child"}],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "credentialSubject": [
            {"child": {"child": {"note": "un"}}, "score": 1},
            {"child": {"child": {"note": "deux"}}, "score": 2},
        ],
        "items": ["b", "a", {"note": "c"}],
        "flag": True,
        "ratio": 0.5,
    },
    # a VC 1.1 credential
    {
        "@context": ["https://www.w3.org/2018/credentials/v1", {"ex": "https://example.org/vocab#",
                                                               "degree": "ex:degree"}],
        "id": "http://example.edu/credentials/3732",
        "type": ["VerifiableCredential"],
        "issuer": "https://example.edu/issuers/565049",
        "issuanceDate": "2010-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:ebfeb1f712ebc6f1c276e12ec21", "degree": "BSc"},
    },
    # a controller document
    certs.did_web_document("did:web:sillage.example:issuers:acme",
                           [certs.KeyPair.generate("did:web:sillage.example:issuers:acme")]),
]


@pytest.mark.parametrize("document", RICH, ids=["vector", "v2", "blank-nodes", "vc11", "did"])
def test_canonical_form_equals_pyoxigraph_rdfc_1_0(loader, document):
    assert certs.canonize(document, loader) == nquads_via_oxigraph(to_nquads(document, loader))


def test_signed_credential_with_proof_graph_equals_pyoxigraph(loader):
    """Proofs are named graphs: the cross-check covers graph names too."""
    signed = certs.sign(credential(issuer="did:key:" + "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"),
                        certs.KeyPair.generate(), loader)
    canonical = certs.canonize(signed, loader)
    assert " _:c14n" in canonical and canonical == nquads_via_oxigraph(to_nquads(signed, loader))


def test_algorithm_is_urdna2015_and_pyld_refuses_rdfc_name(loader):
    """Pitfall: pyld's default is URGNA2012 and it refuses "RDFC-1.0"; we pass URDNA2015."""
    assert certs.ALGORITHM == "URDNA2015"
    # the algorithms differ on blank nodes: several anonymous subjects
    document = credential(id=None, credentialSubject=[{"name": name} for name in "abcd"])
    del document["id"]
    with pytest.raises(jsonld.JsonLdError):
        jsonld.normalize(document, dict(loader.options(), algorithm="RDFC-1.0",
                                        format="application/n-quads"))
    legacy = jsonld.normalize(document, dict(loader.options(), format="application/n-quads"))
    urdna = jsonld.normalize(document, dict(loader.options(), algorithm="URDNA2015",
                                            format="application/n-quads"))
    assert certs.canonize(document, loader) == urdna != legacy


@pytest.mark.parametrize("change, name", [
    ({"credentialSubject": {"id": "did:example:alice", "nickname": "Al"}}, "'nickname'"),
    ({"colour": "blue"}, "'colour'"),
    ({"type": ["VerifiableCredential", "MadeUpCredential"]}, "'MadeUpCredential'"),
])
def test_undefined_terms_are_refused(loader, change, name):
    """Pitfall: pyld silently drops what no context defines (VC 2.0 has no @vocab)."""
    with pytest.raises(certs.CanonicalizationError) as caught:
        certs.canonize(credential(**change), loader)
    assert caught.value.code == "undefined_term" and name in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\x7f"])
def test_control_characters_are_refused(loader, char):
    """Pitfall: pyld writes them raw where RDFC-1.0 escapes them."""
    with pytest.raises(certs.CanonicalizationError) as caught:
        certs.canonize(credential(credentialSubject={"id": "did:example:a", "name": f"x{char}y"}), loader)
    assert caught.value.code == "control_character"


def test_control_character_in_a_key_is_refused(loader):
    with pytest.raises(certs.CanonicalizationError) as caught:
        certs.canonize(credential(**{"na\x01me": "x"}), loader)
    assert caught.value.code == "control_character"


def test_tab_newline_and_return_are_allowed_and_escaped(loader):
    canonical = certs.canonize(credential(), loader)
    assert '"Alice \u00e9 \u65e5\u672c \\t tab\\nline\\r"' in canonical


@pytest.mark.parametrize("change", [
    {"id": "credentials/1"},
    {"issuer": "issuers/acme"},
    {"credentialSubject": {"id": "../alice"}},
    {"id": ""},
])
def test_relative_ids_are_refused(loader, change):
    """Pitfall: pyld resolves them against a fake base that other verifiers reject."""
    with pytest.raises(certs.CanonicalizationError) as caught:
        certs.canonize(credential(**change), loader)
    assert caught.value.code == "relative_iri"


def test_unknown_context_is_refused_without_fetching(loader):
    with pytest.raises(certs.UnknownDocumentError) as caught:
        certs.canonize(credential(**{"@context": [V2, "https://example.org/never-fetched"]}), loader)
    assert caught.value.code == "unknown_context"


def test_invalid_jsonld_is_a_clean_error(loader):
    with pytest.raises(certs.CertsError) as caught:
        certs.canonize({"@context": [V2], "@id": 5}, loader)
    assert caught.value.code == "invalid_jsonld"
    with pytest.raises(certs.CanonicalizationError):
        certs.canonize(["not", "an", "object"], loader)


def test_dataset_poisoning_is_abandoned(loader):
    """A clique of indistinguishable blank nodes (RDFC-1.0 "dataset poisoning")."""
    size = 12
    nodes = [{"@id": f"_:n{i}", "https://example.org/p": [{"@id": f"_:n{j}"} for j in range(size) if j != i]}
             for i in range(size)]
    started = time.perf_counter()
    with pytest.raises(certs.CanonicalizationError) as caught:
        certs.canonize({"@context": {}, "@graph": nodes}, loader)
    assert caught.value.code == "dataset_poisoning"
    assert time.perf_counter() - started < 10


def test_identical_anonymous_objects_still_canonicalize(loader):
    document = credential(credentialSubject=[{"name": "same"}, {"name": "same"}, {"name": "same"}])
    assert certs.canonize(document, loader) == nquads_via_oxigraph(to_nquads(document, loader))


def test_input_document_is_not_modified(loader):
    document = credential()
    before = copy.deepcopy(document)
    certs.canonize(document, loader)
    assert document == before


def test_processed_contexts_are_cached_per_loader():
    """A new loader starts cold; the next documents reuse its processed contexts."""
    loader = certs.StaticLoader.from_manifest(certs.loader.CONTEXTS_DIR)
    started = time.perf_counter()
    certs.canonize(credential(), loader)
    cold = time.perf_counter() - started
    timings = []
    for number in range(20):
        started = time.perf_counter()
        certs.canonize(credential(id=f"urn:uuid:0f1d5a1e-0000-4000-8000-{number:012d}"), loader)
        timings.append(time.perf_counter() - started)
    warm = sorted(timings)[len(timings) // 2]
    print(f"\ncanonize: cold {cold * 1000:.1f} ms, warm median {warm * 1000:.2f} ms")
    assert warm < cold / 3


# -- the per-verification memo ----------------------------------------------------------------------

@pytest.fixture
def counted(monkeypatch):
    """How many real canonicalizations a Memo triggers."""
    from certs import canon

    calls = []
    real = canon.canonize

    def canonize(document, loader):
        calls.append(document)
        return real(document, loader)

    monkeypatch.setattr(canon, "canonize", canonize)
    return calls


def test_memo_canonicalizes_an_identical_document_once(loader, counted):
    memo = certs.canon.Memo()
    first = memo.canonize(credential(), loader)
    assert memo.canonize(credential(), loader) == first == certs.canon.canonize(credential(), loader)
    assert len(counted) == 2  # the memo once, the direct call once


def test_memo_never_serves_another_document(loader, counted):
    memo = certs.canon.Memo()
    document = credential()
    first = memo.canonize(document, loader)
    document["credentialSubject"]["name"] = "Bob"  # the same object, changed: its text differs
    second = memo.canonize(document, loader)
    assert first != second and "Bob" in second
    reordered = dict(reversed(list(credential().items())))  # same meaning, other text: computed again
    assert memo.canonize(reordered, loader) == first
    assert len(counted) == 3


def test_memo_is_per_loader(counted):
    memo = certs.canon.Memo()
    other = certs.StaticLoader.from_manifest(certs.loader.CONTEXTS_DIR)
    assert memo.canonize(credential(), certs.bundled()) == memo.canonize(credential(), other)
    assert len(counted) == 2


@pytest.mark.parametrize("document", [
    {**credential(), "credentialSubject": {"id": "did:example:alice", "name": ("Alice",)}},  # a tuple
    {**credential(), 1: "x"},  # a key JSON would turn into "1"
])
def test_memo_does_not_key_what_json_cannot_stand_for(loader, counted, document):
    memo = certs.canon.Memo()
    for _ in range(2):
        try:
            memo.canonize(document, loader)
        except (certs.CertsError, TypeError):  # pyld cannot sort mixed keys; a verifier reports it
            pass
    assert len(counted) == 2  # never served from the memo


def test_memo_keeps_errors_errors(loader):
    memo = certs.canon.Memo()
    bad = credential(shoeSize=44)
    for _ in range(2):
        with pytest.raises(certs.CanonicalizationError) as caught:
            memo.canonize(bad, loader)
        assert caught.value.code == "undefined_term"
