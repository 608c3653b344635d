"""``/api/v1/attestation-requests``: the owner's requests through a personal access token, and the
refusals (no token, another owner's item or request, unknown fields, cancelled, reminders too soon)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.database import utcnow
from app.extensions import db
from app.models import Experience, Skill
from app.models.attestations import AttestationRequest
from app.services import portfolio as items, tokens
from tests.test_auth import link_in, outbox


@pytest.fixture
def owner(make_user):
    return make_user("ines@example.org", display_name="Inès Morel")


def _headers(person) -> dict:
    _, raw = tokens.create_token(db.session, person, "tests")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def skill(owner):
    item = items.create_item(db.session, owner, Skill, {"name": "Écoute active", "level": 3,
                                                        "description": "Au service client."})
    db.session.commit()
    return item


def _body(item, kind="skill", **extra):
    return {"item_kind": kind, "item_id": str(item.id), "referee_name": "Paul Durand",
            "referee_email": "paul@example.net", "relationship": "collègue", **extra}


def test_create_list_show_cancel(app, client, owner, skill):
    headers = _headers(owner)
    created = client.post("/api/v1/attestation-requests", json=_body(skill, message="Merci"), headers=headers,
                          buffered=True)
    assert created.status_code == 201, created.data
    data = created.get_json()
    assert data["status"] == "pending" and data["item_id"] == str(skill.id) and data["credential"] is None
    assert "token" not in str(data).lower()  # the link goes to the referee's mailbox only
    assert link_in(outbox(app)[-1], "/attest/")
    listed = client.get("/api/v1/attestation-requests", headers=headers).get_json()["items"]
    assert [item["id"] for item in listed] == [data["id"]]
    assert client.get(f"/api/v1/attestation-requests/{data['id']}", headers=headers).status_code == 200
    cancelled = client.post(f"/api/v1/attestation-requests/{data['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = client.post(f"/api/v1/attestation-requests/{data['id']}/cancel", headers=headers)
    assert again.status_code == 409 and again.get_json()["error"] == "not_pending"


def test_refusals(app, client, owner, skill, make_user):
    assert client.get("/api/v1/attestation-requests").status_code == 401
    intruder = make_user("mallory@example.org")
    other = _headers(intruder)
    # Another owner's item: 404, as a missing one; nothing created.
    refused = client.post("/api/v1/attestation-requests", json=_body(skill), headers=other)
    assert refused.status_code == 404 and refused.get_json()["error"] == "not_found"
    mine = client.post("/api/v1/attestation-requests", json=_body(skill), headers=_headers(owner)).get_json()
    # Another owner's request: 404 on read, cancel and remind.
    for method, suffix in (("get", ""), ("post", "/cancel"), ("post", "/remind")):
        answer = getattr(client, method)(f"/api/v1/attestation-requests/{mine['id']}{suffix}", headers=other)
        assert answer.status_code == 404
    assert db.session.get(AttestationRequest, db.session.query(AttestationRequest.id).scalar()).status == "pending"
    # Bad input: unknown fields, wrong kind, bad e-mail, not JSON.
    headers = _headers(owner)
    for body, field in ((_body(skill, admin=True), "admin"), (_body(skill, kind="diploma"), None),
                        (_body(skill, referee_email="not-an-address"), "referee_email")):
        answer = client.post("/api/v1/attestation-requests", json=body, headers=headers)
        assert answer.status_code in (404, 422), answer.data
        assert "error" in answer.get_json()
        if field:
            assert field in answer.get_json()["fields"]
    assert client.post("/api/v1/attestation-requests", data="x", headers=headers).status_code == 415


def test_remind_is_limited(app, client, owner):
    experience = items.create_item(db.session, owner, Experience, {"kind": "job", "title": "Vendeuse",
                                                                   "start_date": "2025-01-01"})
    db.session.commit()
    headers = _headers(owner)
    made = client.post("/api/v1/attestation-requests", json=_body(experience, kind="experience"),
                       headers=headers).get_json()
    too_soon = client.post(f"/api/v1/attestation-requests/{made['id']}/remind", headers=headers)
    assert too_soon.status_code == 429 and too_soon.get_json()["error"] == "too_many_reminders"
    for day in range(3):
        db.session.execute(update(AttestationRequest).values(created_at=utcnow() - timedelta(days=9),
                                                             reminded_at=utcnow() - timedelta(days=2)))
        db.session.commit()
        answer = client.post(f"/api/v1/attestation-requests/{made['id']}/remind", headers=headers)
        assert answer.status_code == 200 and answer.get_json()["reminders"] == day + 1
    db.session.execute(update(AttestationRequest).values(reminded_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    assert client.post(f"/api/v1/attestation-requests/{made['id']}/remind", headers=headers).status_code == 429


def test_openapi_describes_the_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/attestation-requests"])
    assert "get" in paths["/api/v1/attestation-requests/{request_id}"]
    assert "post" in paths["/api/v1/attestation-requests/{request_id}/cancel"]
    assert "post" in paths["/api/v1/attestation-requests/{request_id}/remind"]
