"""Bounded work: a credential that asks for more JSON-LD work than any real one is refused before any
JSON-LD processing (``too_complex``), and every verification and signing has a time budget
(``verification_timeout``; ``timeout`` for signing). The codes are tested here; the times are measured
in tests/benchmarks/bench_credentials.py (no timed assertion in the normal suite).
"""
from __future__ import annotations

import copy
import json
import time

import pytest

from badges import formats
from badges.verify import verify
from tests.verify.credentials import (NOW, Issuer, Web, check, did_key_pair, ob3_credential, signed,
                                      status_entry, status_list, vc2_credential)


@pytest.fixture
def key():
    return did_key_pair()


def _alignments(count: int) -> list[dict]:
    return [{"type": ["Alignment"], "targetName": f"S{i}", "targetUrl": f"https://s.example/{i}"}
            for i in range(count)]


def test_the_reported_inflated_credential_is_refused_before_json_ld(key, monkeypatch):
    """10,000 alignments (about 840 KB, under the 1 MB cap) cost ~38 s in pyld's node map: now refused
    without any JSON-LD processing."""
    from certs import canon

    document = ob3_credential(key.controller)
    document["credentialSubject"]["achievement"]["alignment"] = _alignments(10_000)
    text = json.dumps(document)
    assert 800_000 < len(text) < formats.MAX_PAYLOAD_BYTES
    monkeypatch.setattr(canon, "to_dataset", lambda *a: pytest.fail("JSON-LD processing was reached"))
    result = verify(text, now=NOW)
    assert result["verified"] is False
    assert check(result, "jsonld")["code"] == "too_complex"
    assert "256 items" in check(result, "jsonld")["detail"]
    assert "plus de 256" in verify(text, now=NOW, locale="fr")["errors"][0]["message"]


@pytest.mark.parametrize("inflate, limit", [
    (lambda d: d["credentialSubject"]["achievement"].update(
        alignment=_alignments(formats.MAX_ARRAY_LENGTH + 1)),
     "items in an array"),
    # objects sharing an id are one node: their values pile up without any long array
    (lambda d: d.update(evidence=[{"id": "https://e.example/1", "name": f"N{i}"} for i in range(250)]
                        + [{"id": "https://e.example/1", "narrative": [f"x{j}" for j in range(200)]}]),
     "value comparisons"),
    (lambda d: d["credentialSubject"]["achievement"].update(
        alignment=[{"type": ["Alignment"], "targetName": "S", "targetUrl": "https://s.example/",
                    "targetDescription": [{"@value": str(j)} for j in range(8)]} for _ in range(250)]),
     "objects"),
    (lambda d: d["credentialSubject"]["achievement"].update(
        tag=[f"t{i}" for i in range(200)],
        alignment=[{"type": ["Alignment"], "targetName": [f"S{j}" for j in range(100)]} for _ in range(200)]),
     "values"),
])
def test_each_bound_is_enforced(key, inflate, limit):
    document = ob3_credential(key.controller)
    inflate(document)
    result = verify(document, now=NOW)
    assert check(result, "jsonld")["code"] == "too_complex", result["errors"]
    assert limit in check(result, "jsonld")["detail"]


def test_real_credentials_are_far_within_the_bounds(key):
    """The 1EdTech examples and Sillage's own credentials: a hundredth of the work allowed or less."""
    from tests.badges.conftest import DATA
    from tests.badges.factories import credential

    examples = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(DATA.glob("*.json"))]
    assert len(examples) >= 2
    for document in (*examples, credential(), signed(ob3_credential(key.controller), key)):
        formats.check_complexity(document)
        assert formats.jsonld_work(document) * 100 <= formats.MAX_JSONLD_WORK


def test_a_generous_real_world_credential_still_verifies(key):
    """A diploma aligned with 200 skills, with 100 evidence entries: inside the bounds."""
    document = ob3_credential(key.controller)
    document["credentialSubject"]["achievement"]["alignment"] = _alignments(200)
    document["evidence"] = [{"type": ["Evidence"], "name": f"Project {i}"} for i in range(100)]
    assert verify(signed(document, key), now=NOW)["verified"] is True


# -- the time budget ---------------------------------------------------------------------------------

def test_past_its_time_budget_a_verification_stops_with_a_stable_code(key):
    result = verify(signed(ob3_credential(key.controller), key), now=NOW, time_budget=0)
    assert result["verified"] is False
    assert [error["code"] for error in result["errors"]] == ["verification_timeout"]
    assert "not a forgery verdict" in result["errors"][0]["message"]


def test_json_ld_processing_stops_at_the_deadline():
    """certs checks the deadline at every node of expansion, node map and canonicalization."""
    from badges.loader import document_loader
    from certs import canon
    from certs.errors import CanonicalizationError

    document = ob3_credential("did:example:issuer")
    with canon.deadline(time.monotonic() - 1), pytest.raises(CanonicalizationError) as stopped:
        canon.canonize(document, document_loader())
    assert stopped.value.code == "timeout"
    assert canon.canonize(document, document_loader())  # outside the block: no deadline


class _Clock:
    def __init__(self):
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


def test_the_budget_covers_fetches_and_the_status_list(monkeypatch):
    """A slow status list (its fetch "takes" 60 s of a fake clock) ends the run cleanly."""
    from badges.verify import session

    clock = _Clock()
    monkeypatch.setattr(session.time, "monotonic", clock)
    web = Web()
    issuer = Issuer(web)
    url = "https://issuer.example/status/1"
    web.documents[url] = status_list(issuer, url)

    def slow(address):
        if address == url:
            clock.now += 60
        return web(address)

    credential = signed(vc2_credential(issuer.did, credentialStatus=status_entry(url, 3)), issuer.key)
    result = verify(credential, fetch=slow, now=NOW)
    assert result["verified"] is False
    assert check(result, "status")["code"] == "verification_timeout"
    assert [error["code"] for error in result["errors"]] == ["verification_timeout"]


# -- signing -------------------------------------------------------------------------------------------

def test_signing_has_the_same_bounds(monkeypatch):
    from app.verification.signing import SigningRefused, generate_did_key, sign
    from badges import signing

    key = generate_did_key()
    document = ob3_credential(key["controller"])
    document["credentialSubject"]["achievement"]["alignment"] = _alignments(10_000)
    with pytest.raises(SigningRefused) as refused:
        sign(document, key)
    assert refused.value.code == "too_complex"
    plain = vc2_credential(key["controller"])
    plain["credentialSubject"]["items"] = list(range(300))
    with pytest.raises(SigningRefused) as refused:
        sign(plain, key)
    assert refused.value.code == "too_complex"

    monkeypatch.setattr(signing, "SIGN_TIME_BUDGET_SECONDS", -1)
    for unsigned in (ob3_credential(key["controller"]), vc2_credential(key["controller"])):
        with pytest.raises(SigningRefused) as refused:
            sign(copy.deepcopy(unsigned), key)
        assert refused.value.code == "timeout"


# -- inline contexts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("context, change, reason", [
    ({"@vocab": "https://evil.example/"}, None, "@vocab"),
    # a keyword alias: the value is no RDF statement (not signed) while a JSON reader shows it
    ({"note": "@index"}, ("credentialSubject", "note", "Hired as chief executive"), "@index"),
    ({"name": {"@id": "https://schema.org/name"}}, None, "“name”"),
    ({"Extra": {"@id": "https://x.example/Extra", "@context": {"@vocab": "https://x.example/"}}}, None,
     "@vocab"),
    # terms whose values never reach the signed dataset (found in review): blank-node predicates,
    # index-map keys, terms mapped to null
    ({"note": "_:b0"}, ("credentialSubject", "note", "forged"), "blank node"),
    ({"note": {"@id": "_:b1"}}, ("credentialSubject", "note", "forged"), "blank node"),
    ({"note": {"@reverse": "_:b2"}}, ("credentialSubject", "note", "forged"), "blank node"),
    ({"notes": {"@id": "https://x.example/notes", "@container": "@index"}},
     ("credentialSubject", "notes", {"forged key": "https://x.example/v"}), "index map"),
])
def test_an_inline_context_appended_after_signing_that_could_hide_content_is_refused(key, context, change,
                                                                                      reason):
    """All of these verified before: the appended context changes no signed statement."""
    credential = signed(ob3_credential(key.controller), key)
    credential["@context"] = [*credential["@context"], context]
    if change:
        credential[change[0]][change[1]] = change[2]
    result = verify(credential, now=NOW)
    assert result["verified"] is False
    assert check(result, "jsonld")["code"] == "unsafe_context"
    assert reason in check(result, "jsonld")["detail"]


def test_a_term_mapped_to_null_after_signing_is_refused(key):
    credential = signed(ob3_credential(key.controller), key)
    credential["@context"] = [*credential["@context"], {"note": None}]
    credential["credentialSubject"]["note"] = "forged"
    result = verify(credential, now=NOW)
    assert result["verified"] is False and check(result, "jsonld")["code"] in ("undefined_term", "unsafe_context")


def test_an_embedded_context_in_a_nested_object_is_found_too(key):
    credential = signed(ob3_credential(key.controller), key)
    credential["credentialSubject"]["@context"] = {"@vocab": "https://evil.example/"}
    assert check(verify(credential, now=NOW), "jsonld")["code"] == "unsafe_context"


def test_any_other_inline_context_is_at_least_a_warning(key):
    credential = signed(ob3_credential(key.controller), key)
    credential["@context"] = [*credential["@context"], {"Extra": "https://x.example/Extra", "id": "@id"}]
    result = verify(credential, now=NOW)
    assert [warning["code"] for warning in result["warnings"]] == ["inline_context"]
    assert result["verified"] is True  # the signed statements are unchanged: a remark, not a forgery
    clean = verify(signed(ob3_credential(key.controller), key), now=NOW)
    assert clean["warnings"] == []


def test_signing_refuses_unsafe_inline_contexts_and_reports_the_others():
    from app.verification.signing import SigningRefused, generate_did_key, sign_with_warnings

    key = generate_did_key()
    for signer_input in (ob3_credential(key["controller"]), vc2_credential(key["controller"])):
        unsafe = copy.deepcopy(signer_input)
        unsafe["@context"] = [*unsafe["@context"], {"@vocab": "https://evil.example/"}]
        with pytest.raises(SigningRefused, match="@vocab"):
            sign_with_warnings(unsafe, key)
        other = copy.deepcopy(signer_input)
        other["@context"] = [*other["@context"], {"Extra": "https://x.example/Extra"}]
        _signed, warnings = sign_with_warnings(other, key)
        assert any("inline @context" in warning for warning in warnings)
