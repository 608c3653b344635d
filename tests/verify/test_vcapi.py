"""The W3C VC-API verifier routes: ``POST /credentials/verify`` and ``POST /presentations/verify``.

Shapes follow what the W3C suites send (w3c/vc-data-model-2.0-test-suite ``TestEndpoints.js``,
``data-generator.js``; digitalbazaar/data-integrity-test-suite-assertion ``assertions.js``): 200 only for
a valid document, 400 or 422 for everything else, JSON bodies in both cases.
"""
from __future__ import annotations

import copy
import json

import flask_babel
import pytest

from badges.loader import document_loader
from certs.keys import KeyPair
from certs.proofs import sign
from tests.helpers import csrf_token
from tests.verify.credentials import NOW, VC2, did_key_pair, ob3_credential, signed, vc2_credential

CREDENTIALS = "/credentials/verify"
PRESENTATIONS = "/presentations/verify"
CHALLENGE = "u6dTBF3Q8zZ0fWkR9y2nq4A"
DOMAIN = "github.com/w3c/vc-data-model-2.0-test-suite"


@pytest.fixture
def key():
    return did_key_pair()


@pytest.fixture
def credential(key):
    return signed(ob3_credential(key.controller), key)


def _codes(body: dict) -> list[str]:
    return [error["code"] for error in body["errors"]]


# -- /credentials/verify ----------------------------------------------------------------------------

def test_valid_credential_is_200_with_checks_and_no_errors(web, credential):
    response = web.post(CREDENTIALS, json={"verifiableCredential": credential, "options": {"checks": ["proof"]}})
    assert response.status_code == 200
    body = response.get_json()
    assert body["verified"] is True
    assert body["errors"] == [] and body["problemDetails"] == []
    assert {check["name"] for check in body["checks"]} >= {"proof", "issuer", "validity", "status"}
    assert all(check["ok"] for check in body["checks"])
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert "credential" not in body


def test_return_credential_option_echoes_it(web, credential):
    body = web.post(CREDENTIALS, json={"verifiableCredential": credential,
                                       "options": {"returnCredential": True}}).get_json()
    assert body["credential"] == credential


def test_tampered_credential_is_422_with_problem_details(web, credential):
    credential["credentialSubject"]["achievement"]["name"] = "Forged"
    response = web.post(CREDENTIALS, json={"verifiableCredential": credential})
    assert response.status_code == 422
    body = response.get_json()
    assert body["verified"] is False
    assert _codes(body) == ["bad_signature"]
    error = body["errors"][0]
    assert error["type"] == "https://www.w3.org/TR/vc-data-model#CRYPTOGRAPHIC_SECURITY_ERROR"
    assert error["title"] == "bad_signature" and error["detail"] == error["message"]
    assert body["problemDetails"][0] == error


@pytest.mark.parametrize("mutate, code", [
    (lambda vc: vc.update(proof=None), "no_proof"),
    (lambda vc: vc["proof"].pop("proofValue"), "malformed_proof_value"),
    (lambda vc: vc["proof"].update(proofValue=vc["proof"]["proofValue"][1:]), None),
    (lambda vc: vc["proof"].pop("type"), None),
    (lambda vc: vc["proof"].update(proofPurpose="authentication"), "wrong_proof_purpose"),
    (lambda vc: vc["proof"].update(cryptosuite="eddsa-2022"), "unsupported_cryptosuite"),
    (lambda vc: vc["credentialSubject"].update(undefinedTerm="IfDroppedWillVerify"), "undefined_term"),
    (lambda vc: vc["type"].append("UndefinedType"), "undefined_term"),
])
def test_data_integrity_suite_refusals_are_4xx(web, credential, mutate, code):
    """The mutations of data-integrity-test-suite-assertion ``suites/verify.js``."""
    mutate(credential)
    response = web.post(CREDENTIALS, json={"verifiableCredential": credential})
    assert response.status_code in (400, 422)
    body = response.get_json()
    assert body["verified"] is False and body["errors"]
    if code:
        assert code in _codes(body)


def test_credential_sent_as_a_json_string_is_refused(web, credential):
    response = web.post(CREDENTIALS, json={"verifiableCredential": json.dumps(credential)})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_credential"


def test_nonconforming_document_is_refused(web):
    """vc-data-model-2.0-test-suite ``1.03-conformance.js``: ``{type: ['NonconformingDocument']}``."""
    response = web.post(CREDENTIALS, json={"verifiableCredential": {"type": ["NonconformingDocument"]}})
    assert response.status_code == 422
    assert _codes(response.get_json()) == ["no_context"]


def test_ob2_assertion_is_not_a_verifiable_credential_here(web):
    assertion = {"@context": "https://w3id.org/openbadges/v2", "type": "Assertion",
                 "id": "https://issuer.example/assertions/1"}
    response = web.post(CREDENTIALS, json={"verifiableCredential": assertion})
    assert response.status_code == 422
    assert _codes(response.get_json()) == ["not_a_credential"]


@pytest.mark.parametrize("body, status, code", [
    (b"", 400, "invalid_json"),
    (b"{not json", 400, "invalid_json"),
    (b'{"verifiableCredential": {}, "verifiableCredential": {}}', 400, "duplicate_key"),
    (b"[]", 400, "invalid_request"),
    (b'"text"', 400, "invalid_request"),
    (b"{}", 400, "missing_credential"),
    (b'{"credential": {}}', 400, "missing_credential"),
    (b'{"verifiableCredential": null}', 400, "missing_credential"),
    (b'{"verifiableCredential": [1]}', 400, "invalid_credential"),
    (b'{"verifiableCredential": 3}', 400, "invalid_credential"),
    (b'{"verifiableCredential": {}, "options": []}', 400, "invalid_options"),
    (b'{"verifiableCredential": {}, "options": {"challenge": 5}}', 400, "invalid_options"),
    (b'{"verifiableCredential": {}, "options": {"domain": [1]}}', 400, "invalid_options"),
    (b'{"verifiableCredential": {}, "options": {"checks": "proof"}}', 400, "invalid_options"),
    (b'{"verifiableCredential": {}, "options": {"returnCredential": "yes"}}', 400, "invalid_options"),
    (b"[" * 100 + b"]" * 100, 400, "too_deep"),
])
def test_malformed_requests_are_400_with_a_stable_code(web, body, status, code):
    for route in (CREDENTIALS, PRESENTATIONS):
        expected = code
        if route == PRESENTATIONS:
            body = body.replace(b"verifiableCredential", b"verifiablePresentation")
            expected = {"missing_credential": "missing_presentation",
                        "invalid_credential": "invalid_request"}.get(code, code)
        response = web.post(route, data=body, content_type="application/json")
        assert response.status_code == status, (route, body)
        payload = response.get_json()
        assert payload["error"] == expected and payload["message"], (route, payload)
        assert payload["status"] == status and payload["type"].startswith(("https://", "about:"))


def test_wrong_media_type_and_size(web, credential):
    text = json.dumps({"verifiableCredential": credential})
    for route in (CREDENTIALS, PRESENTATIONS):
        assert web.post(route, data=text, content_type="text/plain").status_code == 415
        assert web.post(route, data={"verifiableCredential": text}).status_code == 415
        too_big = web.post(route, data=b'{"a": "' + b"x" * (1024 * 1024) + b'"}', content_type="application/json")
        assert too_big.status_code == 413
        assert too_big.get_json()["error"] == "too_large"
        assert web.get(route).status_code == 405


def test_unknown_options_are_warnings(web, credential):
    body = web.post(CREDENTIALS, json={"verifiableCredential": credential,
                                       "options": {"credentialFormat": "JSON_LD_CLASSIC"}}).get_json()
    assert body["verified"] is True
    warning = next(item for item in body["warnings"] if item["code"] == "unknown_option")
    assert warning["type"] == "https://www.w3.org/TR/vcalm#UNKNOWN_OPTION_PROVIDED"
    assert "credentialFormat" in warning["message"]


def test_credential_challenge_and_domain_options_are_compared_with_its_proof(web, key):
    bound = signed(ob3_credential(key.controller), key, challenge=CHALLENGE, domain="domain.example")
    ok = web.post(CREDENTIALS, json={"verifiableCredential": bound,
                                     "options": {"challenge": CHALLENGE, "domain": "domain.example"}})
    assert ok.status_code == 200
    assert any(check["name"] == "request_binding" and check["ok"] for check in ok.get_json()["checks"])
    wrong = web.post(CREDENTIALS, json={"verifiableCredential": bound, "options": {"challenge": "1235abcd6789"}})
    assert wrong.status_code == 422 and _codes(wrong.get_json()) == ["wrong_challenge"]
    assert wrong.get_json()["errors"][0]["type"] == "https://w3id.org/security#INVALID_CHALLENGE_ERROR"
    other = web.post(CREDENTIALS, json={"verifiableCredential": bound, "options": {"domain": "other.example"}})
    assert other.status_code == 422 and _codes(other.get_json()) == ["wrong_domain"]
    unbound = signed(ob3_credential(key.controller), key)
    missing = web.post(CREDENTIALS, json={"verifiableCredential": unbound, "options": {"challenge": CHALLENGE}})
    assert missing.status_code == 422 and _codes(missing.get_json()) == ["wrong_challenge"]


def test_enveloped_credential_shapes(web):
    def envelope(**changes):
        value = {"@context": VC2, "type": "EnvelopedVerifiableCredential",
                 "id": "data:application/vc+jwt,eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"}
        value.update(changes)
        return {key: item for key, item in value.items() if item is not None}

    for bad in (envelope(**{"@context": []}), envelope(**{"@context": "https://www.w3.org/ns/credentials/examples/v2"}),
                envelope(id="eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"), envelope(type="VerifiableCredential"),
                envelope(id="data:text/plain,hello")):
        response = web.post(CREDENTIALS, json={"verifiableCredential": bad})
        assert response.status_code == 422, bad
        assert response.get_json()["verified"] is False


def test_no_csrf_no_token_needed(wired, credential):
    wired.config["WTF_CSRF_ENABLED"] = True
    web = wired.test_client()
    response = web.post(CREDENTIALS, json={"verifiableCredential": credential},
                        headers={"Authorization": "Bearer sil_wrong"})
    assert response.status_code == 200
    # CSRF still guards the page
    assert web.post("/verify", data={"credential": json.dumps(credential)}).status_code == 400
    assert csrf_token(web.get("/verify"))


def test_shares_the_verify_rate_limit(wired, web, credential):
    wired.config["RATE_LIMIT_VERIFY"] = "2/minute"
    assert web.post(CREDENTIALS, json={"verifiableCredential": credential}).status_code == 200
    assert web.post("/api/v1/verify", json=credential).status_code == 200
    limited = web.post(PRESENTATIONS, json={"verifiablePresentation": {}})
    assert limited.status_code == 429
    assert limited.get_json()["error"] == "rate_limited"
    assert web.post(CREDENTIALS, json={"verifiableCredential": credential}).status_code == 429
    other = web.post(CREDENTIALS, json={"verifiableCredential": credential}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_api_v1_verify_still_answers_200_for_a_tampered_credential(web, credential):
    credential["name"] = "Falsifié"
    response = web.post("/api/v1/verify", json=credential)
    assert response.status_code == 200
    assert response.get_json()["verified"] is False


def test_messages_follow_accept_language(web, credential):
    credential["name"] = "x"
    french = web.post(CREDENTIALS, json={"verifiableCredential": credential},
                      headers={"Accept-Language": "fr"}).get_json()
    flask_babel.refresh()
    assert "signature ne correspond pas" in french["errors"][0]["message"]
    refusal = web.post(CREDENTIALS, json={}, headers={"Accept-Language": "fr"}).get_json()
    flask_babel.refresh()
    assert "verifiableCredential" in refusal["message"] and "La requête" in refusal["message"]


# -- /presentations/verify --------------------------------------------------------------------------

def presentation(*credentials, holder=None, **extra) -> dict:
    document = {"@context": [VC2], "type": ["VerifiablePresentation"]}
    if credentials:
        document["verifiableCredential"] = list(credentials)
    if holder is not None:
        document["holder"] = holder
    document.update(extra)
    return document


def signed_vp(document: dict, holder_key: KeyPair, *, purpose="authentication", challenge=CHALLENGE,
              domain=DOMAIN) -> dict:
    return sign(document, holder_key, document_loader(), created=NOW, proof_purpose=purpose,
                challenge=challenge, domain=domain)


@pytest.fixture
def holder():
    return did_key_pair()


@pytest.fixture
def vp(holder, credential):
    return signed_vp(presentation(credential, holder=holder.controller), holder)


def _post_vp(web, vp, **options):
    options = {"challenge": CHALLENGE, "domain": DOMAIN, **options}
    return web.post(PRESENTATIONS, json={"verifiablePresentation": vp,
                                         "options": {key: value for key, value in options.items()
                                                     if value is not None}})


def test_signed_presentation_is_200(web, vp):
    response = _post_vp(web, vp, checks=["proof"])
    body = response.get_json()
    assert response.status_code == 200, body["errors"]
    assert body["verified"] is True and body["errors"] == []
    names = [check["name"] for check in body["checks"]]
    assert names == ["parse", "jsonld", "verification_method", "proof", "holder", "credentials"]
    assert len(body["credentials"]) == 1 and body["credentials"][0]["verified"] is True
    assert "challenge_not_checked" not in [warning["code"] for warning in body["warnings"]]


def test_presentation_holder_may_be_an_object_or_absent(web, holder, credential):
    for document in (presentation(credential, holder={"id": holder.controller}), presentation(credential),
                     presentation(), presentation(id="urn:uuid:9c9a36f8-518f-4976-a934-6649502d0008")):
        response = _post_vp(web, signed_vp(document, holder))
        assert response.status_code == 200, response.get_json()["errors"]


@pytest.mark.parametrize("options, code", [
    ({"challenge": "another-challenge"}, "wrong_challenge"),
    ({"domain": "evil.example"}, "wrong_domain"),
    ({"domain": [DOMAIN, "evil.example"]}, "wrong_domain"),
])
def test_wrong_challenge_or_domain_is_refused(web, vp, options, code):
    response = _post_vp(web, vp, **options)
    assert response.status_code == 422
    body = response.get_json()
    assert _codes(body) == [code]
    assert body["credentials"] == []  # nothing else is checked for a presentation made for someone else


def test_challenge_asked_but_proof_has_none(web, holder, credential):
    document = signed_vp(presentation(credential), holder, challenge=None, domain=None)
    response = _post_vp(web, document, domain=None)
    assert response.status_code == 422 and _codes(response.get_json()) == ["wrong_challenge"]
    response = _post_vp(web, document, challenge=None)
    assert response.status_code == 422 and _codes(response.get_json()) == ["wrong_domain"]


def test_no_challenge_asked_verifies_with_a_replay_warning(web, vp):
    response = _post_vp(web, vp, challenge=None, domain=None)
    body = response.get_json()
    assert response.status_code == 200
    assert "challenge_not_checked" in [warning["code"] for warning in body["warnings"]]


def test_assertion_purpose_is_not_authentication(web, holder, credential):
    document = signed_vp(presentation(credential), holder, purpose="assertionMethod")
    response = _post_vp(web, document)
    assert response.status_code == 422
    assert _codes(response.get_json()) == ["not_authentication"]


def test_tampered_presentation_is_refused(web, vp, holder):
    vp["holder"] = "did:example:someone-else"
    response = _post_vp(web, vp)
    assert response.status_code == 422 and _codes(response.get_json()) == ["bad_signature"]
    other = signed_vp(presentation(), holder)
    other["proof"]["proofValue"] = "z5nmMBw2u9TGKd9NxxHJtyZKgjN2Eh"  # 7-algorithms.js
    assert _post_vp(web, other).status_code in (400, 422)


def test_presentation_signed_by_someone_else_than_its_holder(web, holder, credential):
    stranger = did_key_pair()
    document = signed_vp(presentation(credential, holder=holder.controller), stranger)
    response = _post_vp(web, document)
    assert response.status_code == 422
    body = response.get_json()
    assert _codes(body) == ["holder_mismatch"]
    assert holder.controller in body["errors"][0]["message"]


def test_presentation_carrying_a_tampered_credential(web, holder, credential):
    forged = copy.deepcopy(credential)
    forged["credentialSubject"]["achievement"]["name"] = "Forged"
    document = signed_vp(presentation(credential, forged, holder=holder.controller), holder)
    response = _post_vp(web, document)
    assert response.status_code == 422
    body = response.get_json()
    assert _codes(body) == ["credential_not_verified"]
    assert "2" in body["errors"][0]["message"]
    assert [item["verified"] for item in body["credentials"]] == [True, False]
    assert body["credentials"][1]["errors"][0]["code"] == "bad_signature"
    assert body["credentials"][1]["errors"][0]["type"].endswith("#CRYPTOGRAPHIC_SECURITY_ERROR")


def test_presentation_without_proof(web, credential):
    unsigned = presentation(credential)
    response = _post_vp(web, unsigned)
    assert response.status_code == 422 and _codes(response.get_json()) == ["no_proof"]
    response = web.post(PRESENTATIONS, json={"verifiablePresentation": unsigned})
    assert response.status_code == 422 and _codes(response.get_json()) == ["no_proof"]
    # VCALM's ProoflessVerifyPresentationRequest: the credentials are verified, with a warning
    response = web.post(PRESENTATIONS, json={"presentation": unsigned})
    body = response.get_json()
    assert response.status_code == 200, body["errors"]
    assert "presentation_unsigned" in [warning["code"] for warning in body["warnings"]]
    assert body["credentials"][0]["verified"] is True
    credential["name"] = "Forged"
    assert web.post(PRESENTATIONS, json={"presentation": unsigned}).status_code == 422
    # a challenge cannot be answered without a proof
    response = web.post(PRESENTATIONS, json={"presentation": presentation(), "options": {"challenge": CHALLENGE}})
    assert response.status_code == 422 and _codes(response.get_json()) == ["no_proof"]


@pytest.mark.parametrize("change, code", [
    (lambda vp: vp.pop("@context"), "no_context"),
    (lambda vp: vp.update({"@context": ["https://www.w3.org/ns/credentials/examples/v2"]}), "not_a_presentation"),
    (lambda vp: vp.update(type=["CredentialManagerPresentation"]), "not_a_presentation"),
    (lambda vp: vp.pop("type"), "not_a_presentation"),
    (lambda vp: vp.update(holder=5), "not_a_presentation"),
    (lambda vp: vp.update(verifiableCredential=["https://example.com/credential"]), "not_a_presentation"),
    (lambda vp: vp.update(type=["NonconformingDocument"]), "not_a_presentation"),
])
def test_malformed_presentations_are_refused(web, vp, change, code):
    change(vp)
    response = _post_vp(web, vp)
    assert response.status_code == 422
    assert _codes(response.get_json()) == [code]


def test_presentation_with_inline_context_term(web, holder):
    """vc-data-model-2.0-test-suite ``presentation-optional-type-ok.json``."""
    document = presentation(**{"@context": [VC2, {"CredentialManagerPresentation":
                                                  "https://example.org/examples#CredentialManagerPresentation"}],
                               "type": ["VerifiablePresentation", "CredentialManagerPresentation"]})
    response = _post_vp(web, signed_vp(document, holder))
    assert response.status_code == 200, response.get_json()["errors"]
    assert "inline_context" in [warning["code"] for warning in response.get_json()["warnings"]]
    # the credential verifier's inline-context rules apply to presentations too: no @vocab
    vocab = presentation(**{"@context": [VC2, {"@vocab": "https://example.org/#"}],
                            "type": ["VerifiablePresentation", "Anything"]})
    response = _post_vp(web, signed_vp(vocab, holder))
    assert response.status_code == 422 and _codes(response.get_json()) == ["unsafe_context"]


def test_presentation_of_a_plain_vc2_credential_issued_by_the_holder(web, holder):
    """What the W3C suite's ``createLocalVp`` makes: the holder's did:key issues and presents."""
    credential = signed(vc2_credential(holder.controller), holder)
    response = _post_vp(web, signed_vp(presentation(credential, holder=holder.controller), holder))
    assert response.status_code == 200, response.get_json()["errors"]


def test_return_presentation_option(web, vp):
    body = _post_vp(web, vp, returnPresentation=True).get_json()
    assert body["verifiablePresentation"] == vp


# -- badges.verify.presentation with did:web holders (fetched through the verifier's fetch) ----------

def _did_web_holder(web_documents, relationships=("authentication",)):
    from certs.keys import did_web, did_web_url

    did = did_web("wallet.example", "holders", "h1")
    key = KeyPair.generate(controller=did, key_id=f"{did}#key-1")
    method = key.verification_method().to_json()
    document = {"@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
                "id": did, "verificationMethod": [method],
                **{relationship: ["#key-1"] for relationship in relationships}}
    web_documents.documents[did_web_url(did)] = document
    return key


def test_did_web_holder_key_listed_for_authentication(credential):
    from badges.verify.presentation import verify_presentation
    from tests.verify.credentials import Web

    web = Web()
    holder_key = _did_web_holder(web)
    vp = signed_vp(presentation(credential, holder=holder_key.controller), holder_key)
    result = verify_presentation(vp, challenge=CHALLENGE, domain=DOMAIN, fetch=web, now=NOW)
    assert result["verified"] is True, result["errors"]
    assert web.requests == [web.requests[0]] and web.requests[0].endswith("/holders/h1/did.json")


def test_did_web_holder_key_only_for_assertions_cannot_authenticate(credential):
    from badges.verify.presentation import verify_presentation
    from tests.verify.credentials import Web

    web = Web()
    holder_key = _did_web_holder(web, relationships=("assertionMethod",))
    vp = signed_vp(presentation(credential, holder=holder_key.controller), holder_key)
    result = verify_presentation(vp, challenge=CHALLENGE, domain=DOMAIN, fetch=web, now=NOW)
    assert result["verified"] is False
    assert [error["code"] for error in result["errors"]] == ["method_not_authenticating"]


def test_presentation_never_raises_and_is_never_verified_by_accident():
    from badges.verify.presentation import verify_presentation

    for value in (None, "text", [], {"@context": []}, {"@context": [VC2], "type": "VerifiablePresentation",
                                                       "proof": "x"}, {"@context": [VC2, 5]}):
        result = verify_presentation(value, challenge=CHALLENGE)
        assert result["verified"] is False and result["errors"], value
        assert "internal_error" not in [error["code"] for error in result["errors"]], value


# -- whatever arrives, never a 5xx, never verified by accident ---------------------------------------

def test_fuzzed_bodies_never_crash_nor_verify(web, vp):
    from hypothesis import HealthCheck, assume, given, settings
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)
    keys = st.sampled_from(["@context", "type", "proof", "holder", "verifiableCredential", "id", "issuer"])

    @given(route=st.sampled_from([CREDENTIALS, PRESENTATIONS]), document=values, options=values,
           mutations=st.lists(st.tuples(keys, values), min_size=1, max_size=3), use_vp=st.booleans())
    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(route, document, options, mutations, use_vp):
        if use_vp:
            document = copy.deepcopy(vp)
            for key, value in mutations:
                document[key] = value
            assume(document != vp)  # a signed presentation changed anywhere
        name = "verifiableCredential" if route == CREDENTIALS else "verifiablePresentation"
        response = web.post(route, json={name: document, "options": options})
        assert response.status_code in (400, 422), (route, document, options, response.get_data()[:300])
        body = response.get_json()
        assert body.get("verified") is not True
        assert isinstance(body.get("error"), str) or body["errors"]
        assert "internal_error" not in [error["code"] for error in body.get("errors", [])], body

    check()


def test_enveloped_vc_jwt_verifies_alone_and_in_a_presentation():
    """VC-JOSE-COSE credentials in an EnvelopedVerifiableCredential (VC Data Model 2.0 §4.13.1), read by the
    VC-JWT verifier (badges.verify.jwt, branch v-jwt: this test runs once both are merged)."""
    pytest.importorskip("badges.verify.jwt")
    pytest.importorskip("joserfc")
    from datetime import timedelta

    from badges.verify import verify
    from badges.verify.presentation import credential_input, verify_presentation
    from tests.verify.credentials import Web
    from tests.verify.jwts import JwkIssuer, numeric

    web = Web()
    issuer = JwkIssuer(web)
    token = issuer.vc_jwt("ES256", claims={"iss": issuer.did, "iat": numeric(NOW - timedelta(days=1))})
    envelope = {"@context": VC2, "type": "EnvelopedVerifiableCredential", "id": f"data:application/vc+jwt,{token}"}
    data, failure = credential_input(envelope)
    assert failure is None and data == token
    assert verify(data, fetch=web, now=NOW)["verified"] is True
    holder = did_key_pair()
    vp = signed_vp(presentation(envelope, holder=holder.controller), holder)
    result = verify_presentation(vp, challenge=CHALLENGE, domain=DOMAIN, fetch=web, now=NOW)
    assert result["verified"] is True, result["errors"]
    forged = dict(envelope, id=envelope["id"][:-3] + ("AAA" if not envelope["id"].endswith("AAA") else "BBB"))
    data, failure = credential_input(forged)
    assert verify(data, fetch=web, now=NOW)["verified"] is False


def test_return_results_option(web, key, holder):
    from datetime import timedelta

    from tests.verify.credentials import stamp

    expired = signed(ob3_credential(key.controller, validUntil=stamp(NOW - timedelta(days=1))), key)
    body = web.post(CREDENTIALS, json={"verifiableCredential": expired,
                                       "options": {"returnResults": True}}).get_json()
    assert body["results"]["proof"] == [{"verified": True, "input": expired["proof"]}]
    assert body["results"]["validFrom"]["verified"] is True
    assert body["results"]["validUntil"] == {"verified": False, "input": expired["validUntil"]}
    good = signed(ob3_credential(key.controller), key)
    vp = signed_vp(presentation(good, holder=holder.controller), holder)
    response = _post_vp(web, vp, returnResults=True)
    results = response.get_json()["results"]
    assert results["presentation"]["challenge"] == {"verified": True, "input": CHALLENGE}
    assert results["presentation"]["holder"] == {"verified": True, "input": holder.controller}
    assert results["presentation"]["proof"][0]["verified"] is True
    assert results["credentials"][0]["proof"][0]["verified"] is True
    wrong = _post_vp(web, vp, returnResults=True, challenge="other").get_json()["results"]
    assert wrong["presentation"]["challenge"] == {"verified": False, "input": "other"}
    assert wrong["presentation"]["domain"]["verified"] is False  # its proof did not verify


def test_presentations_hold_a_verification_slot(web, vp, monkeypatch):
    """Slow verifications must not starve other requests: a presentation is verified inside the runner's
    slot (``runner.slot``, which refuses with 503 when every slot is taken), as credentials are in
    ``runner.run``."""
    import contextlib

    from app.verification import runner
    from badges.verify import presentation as presentations

    state = {"inside": False, "verified_inside": []}

    @contextlib.contextmanager
    def recording_slot():
        state["inside"] = True
        try:
            yield 0
        finally:
            state["inside"] = False

    original = presentations.verify_presentation

    def recording_verify(*args, **kwargs):
        state["verified_inside"].append(state["inside"])
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, "slot", recording_slot, raising=False)
    monkeypatch.setattr(presentations, "verify_presentation", recording_verify)
    assert _post_vp(web, vp).status_code == 200
    assert state["verified_inside"] == [True] and state["inside"] is False
