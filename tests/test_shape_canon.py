"""The bulk signer's fast path (certs.shapes): the same canonical N-Quads as pyld for every document,
and pyld itself wherever a value cannot be substituted exactly."""
from __future__ import annotations

import copy
import hashlib
import os
import random
from datetime import datetime, timedelta, timezone

import pytest

from badges.identity import new_salt
from badges.loader import document_loader
from badges.ob3 import build_credential
from badges.signing import sign_credential
from badges.verify import verify
from certs.canon import canonize
from certs.errors import CanonicalizationError
from certs.keys import KeyPair
from certs.shapes import ShapeCanonicalizer

NASTY = ["é à ü ß 漢字 🎓", 'quote " and \'single\'', "line\nbreak\r\nand\ttab", "back\\slash \\n \\\"",
         "<script>&amp;</script>", "  spaces  ", "", "sha256$" + "0" * 64, "urn:uuid:not-an-iri-here",
         "https://looks.like/an/iri", "_:b0", "@id", "\u2028\u2029 separators", "xsd:string"]
IRIS = ["https://example.org/evidence/1", "https://ex.org/a?b=c&d=%20#frag", "https://ex.org/é/ü?q=漢",
        "https://ex.org/a>b", "https://ex.org/\"q\"", "http://ex.org/{x}|^`", "urn:x-odd:a;b=c,d",
        "did:example:123%3A", "https://ex.org/with space", "https://ex.org/end\n", "mailto:a@b.org",
        "https:no-slashes", "relative/path", "_:blank", "ftp://[::1]/x"]


@pytest.fixture(scope="module")
def loader():
    return document_loader()


def _credential(rng: random.Random, index: int) -> dict:
    moment = datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(10 ** 9))
    salt = new_salt()
    evidence = []
    if rng.random() < 0.7:
        evidence.append({"narrative": rng.choice(NASTY) + f" #{index}"})
    if rng.random() < 0.5:
        evidence.append({"id": rng.choice(IRIS[:3] + IRIS[6:8] + IRIS[10:11])})
    document = build_credential(
        issuer={"id": "did:web:sillage.test:issuers:org", "name": "Lycée « Jean-Moulin »"},
        achievement={"id": "https://sillage.test/achievements/a1", "name": "Secourisme",
                     "description": "Gestes", "criteria_narrative": "-"},
        valid_from=moment, valid_until=moment + timedelta(days=rng.randrange(1, 900)) if index % 3 else None,
        credential_id=f"urn:uuid:{rng.getrandbits(128):032x}", email=f"p{index}@ex.org", salt=salt,
        credential_status={"id": f"https://sillage.test/status/l1#{index}", "type": "BitstringStatusListEntry",
                           "statusPurpose": "revocation", "statusListIndex": str(rng.randrange(131072)),
                           "statusListCredential": "https://sillage.test/status/l1"},
        evidence=evidence, awarded_date=moment)
    if rng.random() < 0.6:
        name = rng.choice(NASTY)
        document["credentialSubject"]["identifier"].append(
            {"type": "IdentityObject", "identityType": "name", "hashed": True, "salt": salt,
             "identityHash": "sha256$" + hashlib.sha256((name + salt).encode()).hexdigest()})
    document["name"] = rng.choice(NASTY) or "x"
    return document


def _odd_variants(rng: random.Random, base: dict) -> list[dict]:
    """Same shape as ``base``, with values pyld treats specially: odd IRIs in IRI positions, strings that
    look like IRIs, terms or blank nodes in literal positions, ids equal to each other (node merging)."""
    out = []
    for iri in IRIS:
        document = copy.deepcopy(base)
        document["id"] = iri if iri.startswith(("https:", "http:")) or ":" not in iri else iri
        out.append(document)
        document = copy.deepcopy(base)
        document["credentialStatus"]["id"] = iri
        out.append(document)
    for text in NASTY:
        document = copy.deepcopy(base)
        document["credentialSubject"]["achievement"]["name"] = text
        document["issuer"]["name"] = text
        out.append(document)
    merged = copy.deepcopy(base)  # two nodes with one id: pyld merges them
    merged["credentialStatus"]["id"] = merged["credentialSubject"]["achievement"]["id"]
    out.append(merged)
    twins = copy.deepcopy(base)  # two equal identifiers: the same triples twice
    twins["credentialSubject"]["identifier"].append(copy.deepcopy(twins["credentialSubject"]["identifier"][0]))
    twins2 = copy.deepcopy(twins)
    twins2["credentialSubject"]["identifier"][1]["salt"] = "different"
    out += [twins, twins2]
    return out


def _same(shapes: ShapeCanonicalizer, document: dict, loader) -> None:
    try:
        expected = canonize(document, loader)
    except CanonicalizationError as refused:
        with pytest.raises(CanonicalizationError) as caught:
            shapes.canonize(document)
        assert caught.value.code == refused.code
        return
    assert shapes.canonize(document) == expected


def test_fast_path_gives_pyld_bytes_for_many_varied_credentials(loader):
    rng = random.Random(int(os.environ.get("SILLAGE_SHAPE_SEED", "7")))
    shapes = ShapeCanonicalizer(loader)
    documents = [_credential(rng, index) for index in range(160)]
    for document in documents:
        _same(shapes, document, loader)
    assert shapes.fast >= 100, (shapes.fast, shapes.slow)  # most rows share a few shapes
    before = shapes.slow
    for document in _odd_variants(rng, documents[1]):
        _same(shapes, document, loader)
    assert shapes.slow > before  # values that cannot be substituted went to pyld


def test_control_characters_are_refused_like_the_reference(loader):
    shapes = ShapeCanonicalizer(loader)
    document = _credential(random.Random(1), 1)
    shapes.canonize(document)
    document["name"] = "bell \x07"
    with pytest.raises(CanonicalizationError) as caught:
        shapes.canonize(document)
    assert caught.value.code == "control_character"


def test_a_term_in_a_variable_position_falls_back(loader):
    """``type`` values are terms: they are fixed by the template, so another type is pyld's."""
    shapes = ShapeCanonicalizer(loader)
    document = _credential(random.Random(2), 2)
    shapes.canonize(document)
    other = copy.deepcopy(document)
    other["credentialSubject"]["type"] = ["Profile"]
    slow = shapes.slow
    _same(shapes, other, loader)  # pyld refuses it (its scoped context is gone): so does the fast path
    assert shapes.slow == slow + 1
    other["credentialSubject"]["type"] = ["AchievementSubject"]
    _same(shapes, other, loader)
    assert shapes.slow == slow + 1


def test_undefined_term_is_still_refused(loader):
    shapes = ShapeCanonicalizer(loader)
    document = _credential(random.Random(3), 3)
    document["notATerm"] = "x"
    with pytest.raises(CanonicalizationError) as caught:
        shapes.canonize(document)
    assert caught.value.code == "undefined_term"


@pytest.fixture(scope="module")
def witness(tmp_path_factory):
    """The Node.js verifier of tests/interop (Digital Bazaar's libraries); always in CI."""
    from tests.interop.runner import NodeUnavailable, Witness, node_binary

    if node_binary() is None and not os.environ.get("CI"):
        return None
    try:
        return Witness(tmp_path_factory.mktemp("interop"))
    except NodeUnavailable:
        if os.environ.get("CI"):
            raise
        return None


def test_credentials_signed_through_the_fast_path_verify(loader, witness):
    key = KeyPair.generate()
    shapes = ShapeCanonicalizer(loader)
    rng = random.Random(11)
    for index in range(12):
        credential = _credential(rng, index)
        credential["issuer"]["id"] = key.controller
        # Verifiable today, offline: a past validity, no status list to fetch.
        credential["validFrom"] = credential["credentialSubject"]["awardedDate"] = (
            f"20{10 + index}-0{1 + index % 9}-1{index % 10}T0{index % 10}:3{index % 10}:00Z")
        credential.pop("validUntil", None)
        credential.pop("credentialStatus")
        signed = sign_credential(credential, key, canonizer=shapes.canonize)
        plain = sign_credential(credential, key, created=datetime.fromisoformat(
            signed["proof"]["created"].replace("Z", "+00:00")))
        assert signed == plain  # Ed25519 is deterministic: same bytes signed
        assert verify(signed)["verified"] is True, verify(signed)["errors"]
        if witness is not None and index < 3:
            assert witness.verify(signed) == {"verified": True}
        tampered = copy.deepcopy(signed)
        tampered["name"] += "!"
        assert verify(tampered)["verified"] is False
    assert shapes.fast >= 6


def test_a_template_cut_by_the_time_budget_is_not_remembered(loader):
    """The caller's budget, not the shape, failed: the next document of that shape still takes the fast
    path (and gives pyld's bytes)."""
    import time

    from certs.canon import deadline

    shapes = ShapeCanonicalizer(loader)
    document = _credential(random.Random(5), 5)
    with deadline(time.monotonic() - 1), pytest.raises(CanonicalizationError) as caught:
        shapes.canonize(document)
    assert caught.value.code == "timeout"
    _same(shapes, document, loader)
    assert shapes.fast == 1


def test_a_template_that_disagrees_with_pyld_on_its_first_document_is_never_used(loader, monkeypatch):
    """Defence in depth: a substitution bug (simulated) is caught on the shape's first document."""
    shapes = ShapeCanonicalizer(loader)
    real = shapes._substitute

    def corrupt(template, leaves):
        dataset = real(template, leaves)
        for triples in dataset.values():
            for triple in triples:
                if triple["object"]["type"] == "literal":
                    triple["object"]["value"] += "!"
                    return dataset
        return dataset

    monkeypatch.setattr(shapes, "_substitute", corrupt)
    rng = random.Random(9)
    first = _credential(rng, 1)
    second = copy.deepcopy(first)  # the same shape: its template was dropped
    second["id"] = "urn:uuid:00000000-0000-4000-8000-000000000002"
    assert shapes.canonize(first) == canonize(first, loader)
    assert shapes.canonize(second) == canonize(second, loader)
    assert shapes.fast == 0 and shapes.slow == 2
