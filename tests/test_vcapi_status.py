"""The VC-API issuer route's ``options.credentialStatus`` (a status entry of the organisation's own
Bitstring Status List) and its per-token rate limit."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models.credentials import StatusEntry, StatusList
from app.policy import OPERATOR
from app.services import orgs, status_lists
from tests.awarding_helpers import make_org
from tests.test_vcapi_issue import _credential, _post, issuer, org, token, verify_locally  # noqa: F401

STATUS = {"type": "BitstringStatusListEntry"}


def _issue(client, org, token, options=None, **extra):
    body = {"credential": _credential(**extra)}
    if options is not None:
        body["options"] = options
    return _post(client, org.id, body, token)


def test_a_status_entry_of_the_organisations_revocation_list_by_default(app, client, org, token, verify_locally):
    response = _issue(client, org, token, {"credentialStatus": STATUS, "credentialId": "urn:uuid:abc-1"})
    assert response.status_code == 201, response.json
    signed = response.json["verifiableCredential"]
    status = signed["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry" and status["statusPurpose"] == "revocation"
    entry = db.session.scalars(select(StatusEntry).where(StatusEntry.credential_ref == "urn:uuid:abc-1")).one()
    assert entry.credential_id is None and status["statusListIndex"] == str(entry.list_index)
    status_list = db.session.get(StatusList, entry.status_list_id)
    assert (status_list.organisation_id, status_list.purpose) == (org.id, "revocation")
    assert status["statusListCredential"] == status_lists.list_url(status_list)
    assert status["id"] == f"{status['statusListCredential']}#{entry.list_index}"
    # The served list is signed by the organisation and the credential verifies, status checked.
    assert client.get(f"/status/{status_list.id}").status_code == 200
    verdict = client.post("/credentials/verify", json={"verifiableCredential": signed})
    assert verdict.status_code == 200, verdict.json["errors"]
    assert any(check["name"] == "status" and check["ok"] for check in verdict.json["checks"]), verdict.json
    # The entry is signed: moving the credential to another index breaks the proof.
    signed["credentialStatus"]["statusListIndex"] = str((entry.list_index + 1) % status_list.length)
    assert client.post("/credentials/verify", json={"verifiableCredential": signed}).status_code == 422


def test_the_suspension_purpose_when_asked(client, org, token):
    response = _issue(client, org, token, {"credentialStatus": {**STATUS, "statusPurpose": "suspension"}},
                      id="urn:uuid:0b6f8c3e-2f7a-4d7e-9a55-3c3b1e1f0001")
    assert response.status_code == 201, response.json
    status = response.json["verifiableCredential"]["credentialStatus"]
    assert status["statusPurpose"] == "suspension"
    entry = db.session.scalars(select(StatusEntry)).one()
    assert entry.credential_ref == "urn:uuid:0b6f8c3e-2f7a-4d7e-9a55-3c3b1e1f0001"  # the credential's own id
    assert db.session.get(StatusList, entry.status_list_id).purpose == "suspension"


def test_an_index_given_out_is_never_given_again(client, org, token, monkeypatch):
    draws = iter([4242, 4242, 777])  # the second credential draws the first one's index, then another
    monkeypatch.setattr(status_lists.secrets, "randbelow", lambda _: next(draws))
    first = _issue(client, org, token, {"credentialStatus": STATUS, "credentialId": "urn:uuid:a"}) \
        .json["verifiableCredential"]
    second = _issue(client, org, token, {"credentialStatus": STATUS, "credentialId": "urn:uuid:b"}) \
        .json["verifiableCredential"]
    assert first["credentialStatus"]["statusListIndex"] == "4242"
    assert second["credentialStatus"]["statusListIndex"] == "777"
    assert first["credentialStatus"]["statusListCredential"] == second["credentialStatus"]["statusListCredential"]


def test_no_status_entry_without_the_option_nor_when_signing_is_refused(client, org, token):
    assert "credentialStatus" not in _issue(client, org, token).json["verifiableCredential"]
    refused = _issue(client, org, token, {"credentialStatus": STATUS, "credentialId": "urn:uuid:c"},
                     undefinedTerm="x")
    assert refused.status_code == 422 and refused.json["error"] == "not_signable"
    nameless = _issue(client, org, token, {"credentialStatus": STATUS})  # its status could never change
    assert nameless.status_code == 400 and nameless.json["error"] == "invalid_options"
    assert "credentialId" in nameless.json["message"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(StatusEntry)) == 0  # rolled back


def test_another_organisations_token_gets_nothing_from_this_list(client, org, make_user):
    other = make_org(make_user("admin@other.example"), name="Autre École")
    _, foreign = orgs.create_token(db.session, OPERATOR, other, "vcapi")
    db.session.commit()
    refused = _issue(client, org, foreign, {"credentialStatus": STATUS, "credentialId": "urn:uuid:d"})
    assert refused.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(StatusEntry)) == 0


def test_the_issuer_route_is_rate_limited_per_token(app, client, org, token, make_user):
    app.config["RATE_LIMIT_ISSUE"] = "2/minute"
    assert [_issue(client, org, token).status_code for _ in range(2)] == [201, 201]
    limited = _issue(client, org, token)
    assert limited.status_code == 429 and limited.json["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    # Another token (of another organisation) has its own budget, from the same address.
    other = make_org(make_user("admin@other.example"), name="Autre École")
    _, other_token = orgs.create_token(db.session, OPERATOR, other, "vcapi")
    db.session.commit()
    assert _issue(client, other, other_token).status_code == 201
    # Requests without a token are counted per address, apart from the tokens.
    assert [_issue(client, org, None).status_code for _ in range(3)] == [401, 401, 429]


def test_the_verifier_routes_are_in_the_openapi_description(client):
    spec = client.get("/api/v1/openapi.json").json
    for path, member in (("/credentials/verify", "verifiableCredential"),
                         ("/presentations/verify", "verifiablePresentation")):
        operation = spec["paths"][path]["post"]
        assert operation["security"] == [] and set(operation["responses"]) >= {"200", "400", "422", "429"}
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert member in body["properties"]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["allOf"][0] == {
            "$ref": "#/components/schemas/VerificationResult"}
    assert "VerificationResult" in spec["components"]["schemas"]  # the reference resolves
    issue = spec["paths"]["/issuers/{org_id}/credentials/issue"]["post"]
    status = issue["requestBody"]["content"]["application/json"]["schema"]["properties"]["options"]
    assert status["properties"]["credentialStatus"]["properties"]["statusPurpose"]["enum"] == [
        "revocation", "suspension"]
    assert "429" in issue["responses"]
    update = spec["paths"]["/issuers/{org_id}/credentials/status"]["post"]
    assert set(update["responses"]) >= {"200", "400", "401", "403", "404", "409"}


def _status(client, org, raw, reference, purpose="revocation", status=True, **extra):
    body = {"credentialId": reference, "credentialStatus": {"type": "BitstringStatusListEntry",
                                                            "statusPurpose": purpose}, "status": status, **extra}
    return client.post(f"/issuers/{org.id}/credentials/status", json=body,
                       headers={"Authorization": f"Bearer {raw}"} if raw else {})


def _verdict(client, signed) -> tuple[int, set]:
    answer = client.post("/credentials/verify", json={"verifiableCredential": signed})
    return answer.status_code, {error["code"] for error in answer.json["errors"]}


def test_revoking_a_vcapi_credential_sets_its_bit_for_every_verifier(client, org, token, verify_locally):
    signed = _issue(client, org, token, {"credentialStatus": STATUS, "credentialId": "urn:uuid:rev-1"}) \
        .json["verifiableCredential"]
    bystander = _issue(client, org, token, {"credentialStatus": STATUS, "credentialId": "urn:uuid:rev-2"}) \
        .json["verifiableCredential"]
    assert _verdict(client, signed)[0] == 200
    done = _status(client, org, token, "urn:uuid:rev-1")
    assert done.status_code == 200, done.json
    assert done.json == {"credentialId": "urn:uuid:rev-1", "statusPurpose": "revocation", "status": True}
    code, errors = _verdict(client, signed)
    assert code == 422 and "revoked" in errors, errors
    assert _verdict(client, bystander)[0] == 200  # the other bit of the same list is untouched
    assert _status(client, org, token, "urn:uuid:rev-1").status_code == 200  # idempotent
    refused = _status(client, org, token, "urn:uuid:rev-1", status=False)
    assert refused.status_code == 409 and refused.json["error"] == "revocation_final"
    assert "revoked" in _verdict(client, signed)[1]


def test_suspension_is_set_then_lifted(client, org, token, verify_locally):
    options = {"credentialStatus": {**STATUS, "statusPurpose": "suspension"}, "credentialId": "urn:uuid:sus-1"}
    signed = _issue(client, org, token, options).json["verifiableCredential"]
    # A revocation of a credential that has only a suspension entry finds nothing.
    missing = _status(client, org, token, "urn:uuid:sus-1")
    assert missing.status_code == 404 and missing.json["error"] == "status_entry_not_found"
    assert _status(client, org, token, "urn:uuid:sus-1", "suspension").status_code == 200
    code, errors = _verdict(client, signed)
    assert code == 422 and "suspended" in errors, errors
    assert _status(client, org, token, "urn:uuid:sus-1", "suspension", status=False).status_code == 200
    assert _verdict(client, signed)[0] == 200


def test_status_updates_are_refused_to_others_and_for_bad_requests(client, org, token, make_user):
    _issue(client, org, token, {"credentialStatus": STATUS, "credentialId": "urn:uuid:mine"})
    other = make_org(make_user("admin@other.example"), name="Autre École")
    _, foreign = orgs.create_token(db.session, OPERATOR, other, "vcapi")
    db.session.commit()
    assert _status(client, org, None, "urn:uuid:mine").status_code == 401
    assert _status(client, org, foreign, "urn:uuid:mine").status_code == 403
    # Through its own URL, the other organisation finds no entry of that name among its own.
    assert _status(client, other, foreign, "urn:uuid:mine").status_code == 404
    for body_change, code in (({"status": "yes"}, "invalid_options"), ({"credentialId": 7}, "invalid_options"),
                              ({"credentialStatus": {"type": "StatusList2021Entry"}}, "invalid_options"),
                              ({"frobnicate": 1}, "option_not_known")):
        body = {"credentialId": "urn:uuid:mine", "credentialStatus": STATUS, "status": True, **body_change}
        answer = client.post(f"/issuers/{org.id}/credentials/status", json=body,
                             headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 400 and answer.json["error"] == code, (body_change, answer.json)
    entry = db.session.scalars(select(StatusEntry)).one()
    db.session.refresh(entry)
    assert entry.set_at is None  # nothing of the above set the bit
