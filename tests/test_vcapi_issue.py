"""The VC-API issuer route ``POST /issuers/<id>/credentials/issue``: a credential signed by the
organisation's key (verified by the app's own VC-API verifier), and every refusal: no token, a revoked
one, a personal one, another organisation's, an unapproved organisation, a wrong issuer, options, and
each invalid VC 2.0 input of the W3C vc-data-model-2.0-test-suite (tests/data/vc2_suite)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.extensions import db
from app.policy import OPERATOR
from app.services import orgs, tokens
from tests.awarding_helpers import local_fetch, make_org

SUITE = Path(__file__).parent / "data" / "vc2_suite"
VC2 = "https://www.w3.org/ns/credentials/v2"


@pytest.fixture
def issuer(make_user):
    return make_user("issuer@univ.example")


@pytest.fixture
def org(issuer):
    return make_org(issuer)


@pytest.fixture
def token(org):
    _, raw = orgs.create_token(db.session, OPERATOR, org, "vcapi")
    db.session.commit()
    return raw


@pytest.fixture
def verify_locally(app, monkeypatch):
    """The verifier resolves did:web documents through this application (no network)."""
    import badges.verify

    monkeypatch.setattr(badges.verify, "json_fetcher", lambda allow_loopback=False: local_fetch(app))


def _post(client, org_id, body, raw=None, **kwargs):
    headers = {"Authorization": f"Bearer {raw}"} if raw else {}
    return client.post(f"/issuers/{org_id}/credentials/issue", json=body, headers=headers, **kwargs)


def _credential(**extra):
    return {"@context": [VC2], "type": ["VerifiableCredential"],
            "credentialSubject": {"id": "did:example:subject"}, **extra}


def test_issues_a_credential_signed_by_the_organisation_that_verifies(client, org, token, verify_locally):
    response = _post(client, org.id, {"credential": _credential(validFrom="2026-01-01T00:00:00Z"),
                                      "options": {"credentialId": "urn:uuid:1234"}}, token)
    assert response.status_code == 201, response.json
    signed = response.json["verifiableCredential"]
    assert signed["issuer"] == org.did
    proof = signed["proof"]
    assert proof["cryptosuite"] == "eddsa-rdfc-2022" and proof["proofPurpose"] == "assertionMethod"
    assert proof["verificationMethod"] == orgs.signing_key(db.session, org).id
    verdict = client.post("/credentials/verify", json={"verifiableCredential": signed})
    assert verdict.status_code == 200, verdict.json["errors"]
    # One changed claim and the same verifier refuses it.
    signed["credentialSubject"]["id"] = "did:example:someone-else"
    assert client.post("/credentials/verify", json={"verifiableCredential": signed}).status_code == 422


def test_issuer_object_gets_the_did_and_keeps_its_name(client, org, token, verify_locally):
    response = _post(client, org.id, {"credential": _credential(issuer={"name": "Université"})}, token)
    assert response.status_code == 201, response.json
    assert response.json["verifiableCredential"]["issuer"] == {"id": org.did, "name": "Université"}


def test_the_key_after_rotation_signs_and_both_verify(client, org, token, issuer, verify_locally):
    first = _post(client, org.id, {"credential": _credential()}, token).json["verifiableCredential"]
    orgs.rotate_key(db.session, issuer, org)
    db.session.commit()
    second = _post(client, org.id, {"credential": _credential()}, token).json["verifiableCredential"]
    assert first["proof"]["verificationMethod"] != second["proof"]["verificationMethod"]
    for signed in (first, second):
        assert client.post("/credentials/verify", json={"verifiableCredential": signed}).status_code == 200


# --- who may ask ---------------------------------------------------------------------------------

def test_refuses_without_a_token_or_with_an_unknown_one(client, org):
    for raw in (None, "silo_not-a-real-token", "garbage"):
        response = _post(client, org.id, {"credential": _credential()}, raw)
        assert response.status_code == 401
        assert response.json["error"] == "issue_token_required"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_refuses_a_revoked_token(client, org, token):
    assert _post(client, org.id, {"credential": _credential()}, token).status_code == 201
    token_row = orgs.list_tokens(db.session, OPERATOR, org)[0]
    orgs.revoke_token(db.session, OPERATOR, org, token_row.id)
    db.session.commit()
    response = _post(client, org.id, {"credential": _credential()}, token)
    assert response.status_code == 401 and response.json["error"] == "issue_token_required"


def test_refuses_a_personal_token_even_of_the_organisation_admin(client, org, issuer):
    _, raw = tokens.create_token(db.session, issuer, "mine")
    db.session.commit()
    response = _post(client, org.id, {"credential": _credential()}, raw)
    assert response.status_code == 401 and response.json["error"] == "issue_token_required"


def test_refuses_another_organisations_token(client, org, make_user):
    other = make_org(make_user("admin@other.example"), name="Autre école")
    _, theirs = orgs.create_token(db.session, OPERATOR, other, "theirs")
    db.session.commit()
    response = _post(client, org.id, {"credential": _credential()}, theirs)
    assert response.status_code == 403 and response.json["error"] == "issue_not_allowed"
    # Naming the organisation as issuer does not help either.
    response = _post(client, org.id, {"credential": _credential(issuer=org.did)}, theirs)
    assert response.status_code == 403


def test_refuses_an_unapproved_organisation(client, make_user, token, org):
    # A pending organisation cannot even get a token; one whose approval is withdrawn keeps its tokens,
    # which then act for nobody.
    other = make_org(make_user("admin@withdrawn.example"), name="Retirée")
    _, raw = orgs.create_token(db.session, OPERATOR, other, "early")
    other.status = "refused"
    db.session.commit()
    response = _post(client, other.id, {"credential": _credential()}, raw)
    assert response.status_code == 401
    # For the public (and any other organisation's token) it does not exist; neither does a pending one.
    pending = make_org(make_user("admin@pending.example"), name="En attente", approve=False)
    for target in (other.id, pending.id, "not-an-id"):
        response = _post(client, target, {"credential": _credential()}, token)
        assert response.status_code == 404 and response.json["error"] == "issuer_not_found"


# --- what may be signed --------------------------------------------------------------------------

def test_refuses_another_issuer(client, org, token):
    for issuer in ("did:example:someone-else", {"id": "https://evil.example/issuer"}):
        response = _post(client, org.id, {"credential": _credential(issuer=issuer)}, token)
        assert response.status_code == 400 and response.json["error"] == "wrong_issuer"
        assert org.did in response.json["message"]


@pytest.mark.parametrize("body, status, code", [
    ({}, 400, "missing_credential_to_issue"),
    ({"credential": "a string"}, 400, "invalid_request"),
    ({"credential": _credential(), "options": []}, 400, "invalid_options"),
    ({"credential": _credential(), "options": {"frobnicate": True}}, 400, "option_not_known"),
    ({"credential": _credential(), "options": {"credentialId": 3}}, 400, "invalid_options"),
    ({"credential": _credential(), "options": {"mandatoryPointers": ["/issuer"]}}, 400, "unsupported_option"),
    ({"credential": _credential(), "options": {"credentialStatus": {"type": "StatusList2021Entry"}}},
     400, "unsupported_option"),
    ({"credential": _credential(), "options": {"credentialStatus": {"type": "BitstringStatusListEntry",
                                                                    "statusPurpose": "message"}}},
     400, "unsupported_option"),
    ({"credential": _credential(), "options": {"credentialStatus": "BitstringStatusListEntry"}},
     400, "invalid_options"),
    ({"credential": _credential(), "options": {"credentialStatus": {"type": "BitstringStatusListEntry",
                                                                    "statusListIndex": "7"}}},
     400, "option_not_known"),
    ({"credential": _credential(credentialStatus={"id": "https://x.example/s#1", "type": "BitstringStatusListEntry",
                                                  "statusPurpose": "revocation", "statusListIndex": "1",
                                                  "statusListCredential": "https://x.example/s"}),
      "options": {"credentialStatus": {"type": "BitstringStatusListEntry"}}}, 400, "invalid_options"),
    ({"credential": _credential(proof={"type": "DataIntegrityProof"})}, 422, "already_signed"),
    ({"credential": _credential(undefinedTerm="x")}, 422, "not_signable"),
    ({"credential": _credential(name="bad\u0001text")}, 422, "not_signable"),
])
def test_refuses_bad_requests(client, org, token, body, status, code):
    response = _post(client, org.id, body, token)
    assert response.status_code == status, response.json
    assert response.json["error"] == code and response.json["status"] == status
    assert response.json["message"] and response.json["type"]


def test_refuses_what_is_not_json(client, org, token):
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/issuers/{org.id}/credentials/issue"
    assert client.post(url, data="{", content_type="application/json", headers=headers).status_code == 400
    assert client.post(url, data="x=1", content_type="text/plain", headers=headers).status_code == 415


def test_messages_follow_the_readers_language(client, org, token):
    response = _post(client, org.id, {"credential": _credential(issuer="did:example:x")}, token,
                     environ_base={"HTTP_ACCEPT_LANGUAGE": "fr"})
    assert response.status_code == 400
    assert "émetteur" in response.json["message"]


def _suite_input(name: str) -> dict:
    document = json.loads((SUITE / name).read_text(encoding="utf-8"))
    if name.startswith("credential-validUntil-validFrom"):
        # The suite replaces these placeholders before sending (tests/helpers.js createTimeStamp).
        now = datetime.now(timezone.utc).replace(microsecond=0)
        future, past = now + timedelta(days=365), now - timedelta(days=365)
        stamp = lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
        text = json.dumps(document).replace("FUTURE DATE", stamp(future)).replace("PAST DATE", stamp(past))
        document = json.loads(text)
    return document


FAILING = sorted(path.name for path in SUITE.glob("*-fail*.json"))
PASSING = sorted(path.name for path in SUITE.glob("*-ok.json"))
# Valid inputs that name a context Sillage does not bundle (the W3C examples context, the old
# Ed25519Signature2020 one): contexts are never fetched, so these are refused as not signable.
UNBUNDLED = {name for name in PASSING
             if "credentials/examples/v2" in (SUITE / name).read_text(encoding="utf-8")}


def test_the_suite_inputs_are_all_there():
    assert len(FAILING) >= 40 and len(PASSING) >= 40


@pytest.mark.parametrize("name", FAILING)
def test_refuses_each_invalid_input_of_the_w3c_suite(client, org, token, name):
    credential = _suite_input(name)
    # As the suite's createRequestBody: an issuer is filled in unless the test set it to null.
    if isinstance(credential.get("issuer"), dict):
        if credential["issuer"].get("id", "") is not None:
            credential["issuer"]["id"] = credential["issuer"].get("id") or org.did
    elif credential.get("issuer", "") is not None:
        credential["issuer"] = credential.get("issuer") or org.did
    response = _post(client, org.id, {"credential": credential}, token)
    assert response.status_code in (400, 422), (name, response.status_code, response.json)
    assert "verifiableCredential" not in response.json


@pytest.mark.parametrize("name", PASSING)
def test_signs_each_valid_input_of_the_w3c_suite(client, org, token, name, verify_locally):
    credential = _suite_input(name)
    credential.setdefault("issuer", org.did)
    if isinstance(credential["issuer"], dict):
        credential["issuer"].setdefault("id", org.did)
    response = _post(client, org.id, {"credential": credential}, token)
    if name in UNBUNDLED:
        assert response.status_code == 422 and response.json["error"] == "not_signable", response.json
        assert "unknown_context" in response.json["message"]
        return
    if name == "credential-proof-ok.json":
        # Sillage signs unsigned credentials only (VCALM's issue request carries a "Credential").
        assert response.status_code == 422 and response.json["error"] == "already_signed"
        return
    assert response.status_code == 201, (name, response.json)
    verdict = client.post("/credentials/verify", json={"verifiableCredential": response.json["verifiableCredential"]})
    # Signed and intact; some are meant to be judged later (expired, not yet valid, an example status type).
    assert any(check["name"] == "proof" and check["ok"] is True for check in verdict.json["checks"]), name
    assert {error["code"] for error in verdict.json["errors"]} <= {"expired", "not_yet_valid", "unsupported_status"}


def test_the_route_is_in_the_openapi_description(client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/issuers/{org_id}/credentials/issue"]["post"]
    assert set(operation["responses"]) >= {"201", "400", "401", "403", "404", "422"}
    assert "/api/v1/organisations/{organisation_id}/endorsements" in spec["paths"]


def test_an_issued_credential_verifies_in_the_node_reference_verifier(client, org, token, tmp_path):
    import os

    from tests.interop.runner import NodeUnavailable, Witness, node_binary

    if node_binary() is None and not os.environ.get("CI"):
        pytest.skip("node is not installed (the interoperability tests always run in CI)")
    try:
        witness = Witness(tmp_path)
    except NodeUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    response = _post(client, org.id, {"credential": _credential(name="Interop")}, token)
    assert response.status_code == 201
    signed = response.json["verifiableCredential"]
    witness.extra = {org.did: orgs.did_document(org)}
    assert witness.verify(signed) == {"verified": True}
    assert witness.verify(dict(signed, name="Changed"))["verified"] is False
