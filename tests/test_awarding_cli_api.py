"""``sillage award / revoke / suspend / unsuspend`` and ``sillage verify`` on what they issue, and the
award and revocation API (personal and organisation tokens), with its refusals."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.credentials import Credential
from app.services import awarding, orgs, tokens
from tests.awarding_helpers import local_fetch, make_achievement, make_org


@pytest.fixture
def issuer(make_user):
    return make_user("issuer@univ.example")


@pytest.fixture
def org(issuer):
    return make_org(issuer)


@pytest.fixture
def achievement(org):
    return make_achievement(org, validity_months=6)


@pytest.fixture
def sillage_verify(app, monkeypatch):
    """``sillage verify FILE --json`` as a script would run it; only the transport of its fetches is this
    application's test client (did:web documents and status lists are this application's own routes)."""
    import badges.verify

    monkeypatch.setattr(badges.verify, "json_fetcher", lambda allow_loopback=False: local_fetch(app))

    def run(path, *extra):
        result = app.test_cli_runner().invoke(args=["verify", str(path), "--json", *extra])
        return result.exit_code, json.loads(result.output)

    return run


def test_award_prints_the_id_last_and_writes_the_credential(app, achievement, tmp_path, sillage_verify):
    out = tmp_path / "credential.json"
    result = app.test_cli_runner().invoke(args=["award", "--achievement", str(achievement.id), "--recipient",
                                                "Zoe@Example.org", "--narrative", "Stage réussi",
                                                "--out", str(out)])
    assert result.exit_code == 0, result.output
    credential_id = result.output.strip().splitlines()[-1]
    credential = awarding.get(db.session, credential_id)
    assert credential is not None and credential.recipient_email == "zoe@example.org"
    assert json.loads(out.read_text()) == credential.document
    code, verdict = sillage_verify(out)
    assert code == 0 and verdict["verified"] is True


def test_revoke_suspend_unsuspend_and_sillage_verify_says_so(app, achievement, tmp_path, sillage_verify):
    runner = app.test_cli_runner()
    out = tmp_path / "c.json"
    credential_id = runner.invoke(args=["award", "--achievement", str(achievement.id), "--recipient",
                                       "y@example.org", "--out", str(out)]).output.strip().splitlines()[-1]
    assert runner.invoke(args=["suspend", credential_id, "--reason", "Contrôle"]).exit_code == 0
    assert awarding.get(db.session, credential_id).suspended_at is not None
    assert runner.invoke(args=["suspend", credential_id]).exit_code != 0  # already suspended
    assert runner.invoke(args=["unsuspend", credential_id]).exit_code == 0
    missing_reason = runner.invoke(args=["revoke", credential_id])
    assert missing_reason.exit_code != 0
    revoked = runner.invoke(args=["revoke", credential_id, "--reason", "Fraude"])
    assert revoked.exit_code == 0, revoked.output
    code, verdict = sillage_verify(out)
    assert code == 1 and verdict["verdict"]["reason"] == "revoked"
    assert runner.invoke(args=["revoke", "not-an-id", "--reason", "x"]).exit_code != 0


def test_sillage_verify_says_expired(app, achievement, tmp_path, sillage_verify, monkeypatch):
    from datetime import timedelta

    from app.policy import OPERATOR

    awarded = awarding.award(db.session, OPERATOR, achievement, "w@example.org")
    db.session.commit()
    document = awarded.credential.document
    assert "validUntil" in document
    import badges.verify as verifier

    later = awarded.credential.valid_until + timedelta(days=2)
    real = verifier.verify
    monkeypatch.setattr("app.verification.cli.verify_document",
                        lambda data, **kwargs: real(data, now=later, **kwargs))
    path = tmp_path / "c.json"
    path.write_text(json.dumps(document))
    code, verdict = sillage_verify(path)
    assert code == 1 and verdict["verdict"]["reason"] == "expired"


def test_award_refuses_bad_input(app, achievement):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["award", "--achievement", str(achievement.id), "--recipient", "nope"]).exit_code != 0
    assert runner.invoke(args=["award", "--achievement", "x", "--recipient", "a@example.org"]).exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(Credential)) == 0


# --- API ------------------------------------------------------------------------------------------------

def _token(user) -> dict:
    _, raw = tokens.create_token(db.session, user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_api_award_list_revoke(app, client, issuer, org, achievement, make_user):
    headers = _token(issuer)
    url = f"/api/v1/organisations/{org.id}/achievements/{achievement.id}/awards"
    response = client.post(url, json={"recipient": "api@example.org", "narrative": "ok",
                                      "evidence": ["https://example.org/e"]}, headers=headers)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["state"] == "active" and body["credential"]["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    listed = client.get(url, headers=headers).json
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    public = client.get(f"/credentials/{body['id']}.json")
    assert public.status_code == 200 and public.json == body["credential"]
    revoked = client.post(f"/api/v1/credentials/{body['id']}/revoke", json={"reason": "Doublon"}, headers=headers)
    assert revoked.status_code == 200 and revoked.json["state"] == "revoked"
    again = client.post(f"/api/v1/credentials/{body['id']}/revoke", json={"reason": "Doublon"}, headers=headers)
    assert again.status_code == 409 and again.json["error"] == "already_revoked"


def test_api_with_an_organisation_token(app, client, issuer, org, achievement):
    from app.policy import OPERATOR

    _, raw = orgs.create_token(db.session, OPERATOR, org, "ci")
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    response = client.post(f"/api/v1/organisations/{org.id}/achievements/{achievement.id}/awards",
                           json={"recipient": "tok@example.org"}, headers=headers)
    assert response.status_code == 201, response.json
    suspended = client.post(f"/api/v1/credentials/{response.json['id']}/suspend", json={}, headers=headers)
    assert suspended.status_code == 200 and suspended.json["state"] == "suspended"
    lifted = client.post(f"/api/v1/credentials/{response.json['id']}/unsuspend", headers=headers)
    assert lifted.status_code == 200 and lifted.json["state"] == "active"


def test_api_refusals(app, client, issuer, org, achievement, make_user):
    credential = awarding.award(db.session, issuer, achievement, "r@example.org").credential
    db.session.commit()
    url = f"/api/v1/organisations/{org.id}/achievements/{achievement.id}/awards"
    assert client.post(url, json={"recipient": "a@example.org"}).status_code == 401
    assert client.post(url, json={"recipient": "a@example.org"},
                       headers={"Authorization": "Bearer silo_forged"}).status_code == 401
    outsider = make_user("outsider@example.org")
    other_org = make_org(outsider, name="Autre")
    headers = _token(outsider)
    assert client.post(url, json={"recipient": "a@example.org"}, headers=headers).status_code == 404
    assert client.get(url, headers=headers).status_code == 404
    other_url = f"/api/v1/organisations/{other_org.id}/achievements/{achievement.id}/awards"
    assert client.post(other_url, json={"recipient": "a@example.org"}, headers=headers).status_code == 404
    for action in ("revoke", "suspend", "unsuspend"):
        response = client.post(f"/api/v1/credentials/{credential.id}/{action}", json={"reason": "x"}, headers=headers)
        assert response.status_code == 404 and response.json["error"] == "not_found"
    # Another organisation's token acts for that organisation only.
    from app.policy import OPERATOR

    _, raw = orgs.create_token(db.session, OPERATOR, other_org, "theirs")
    db.session.commit()
    their = {"Authorization": f"Bearer {raw}"}
    assert client.post(url, json={"recipient": "a@example.org"}, headers=their).status_code == 404
    assert client.post(f"/api/v1/credentials/{credential.id}/revoke", json={"reason": "x"},
                       headers=their).status_code == 404
    mine = _token(issuer)
    bad = client.post(url, json={"recipient": "not-an-email"}, headers=mine)
    assert bad.status_code == 422 and "recipient" in bad.json["fields"]
    assert client.post(url, data="{", headers={**mine, "Content-Type": "application/json"}).status_code == 400
    assert client.post(url, json={"recipient": "a@example.org", "evidence": "ftp://x"},
                       headers=mine).status_code == 422
    db.session.expire_all()
    assert credential.revoked_at is None
    assert db.session.scalar(select(func.count()).select_from(Credential)) == 1


def test_api_owner_lists_own_credentials_only(app, client, issuer, achievement, make_user):
    owner = make_user("owner2@example.org")
    awarding.award(db.session, issuer, achievement, "owner2@example.org")
    awarding.award(db.session, issuer, achievement, "someone-else@example.org")
    db.session.commit()
    listed = client.get("/api/v1/credentials", headers=_token(owner))
    assert listed.status_code == 200 and len(listed.json["items"]) == 1
    assert client.get("/api/v1/credentials").status_code == 401


def test_demo_awards_ines_once(app):
    from app import demo

    demo.load(db.session)
    db.session.commit()
    demo.load(db.session)
    db.session.commit()
    credentials = db.session.scalars(select(Credential)).all()
    assert len(credentials) == 1
    assert credentials[0].organisation.name == demo.ISSUER["name"]
    ines = db.session.scalars(select(demo.User).where(demo.User.email == "ines.martin@example.org")).one()
    assert credentials[0].portfolio_id == ines.portfolio.id
    from badges.verify import verify

    assert verify(credentials[0].document, fetch=local_fetch(app))["verified"] is True
