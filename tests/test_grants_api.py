"""``/api/v1/grants``, ``/api/v1/invitations``, ``/api/v1/shared-with-me``: the whole flow through tokens,
and the refusals (no token, bad role, bad scope, oneself, duplicate, another owner's grant, unverified
invitee, revoked and expired grants, unknown fields), with their stable error codes."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from app.database import utcnow
from app.extensions import db
from app.models import Experience, Grant, Skill
from app.services import documents, portfolio as items, tokens
from tests.test_auth import link_in, outbox


def _headers(person) -> dict:
    _, raw = tokens.create_token(db.session, person, "tests")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def owner(make_user):
    return make_user("ines@example.org", display_name="Inès Morel")


@pytest.fixture
def things(owner):
    shown = items.create_item(db.session, owner, Experience, {"kind": "job", "title": "Vendeuse",
                                                              "start_date": "2022-05-01"})
    hidden = items.create_item(db.session, owner, Skill, {"name": "Secret", "level": 2})
    document = documents.store(db.session, owner, "cv.txt", [b"CV"])
    db.session.commit()
    return {"shown": shown, "hidden": hidden, "document": document}


def test_invite_accept_and_read_exactly_the_scope(app, client, owner, things, make_user):
    headers = _headers(owner)
    created = client.post("/api/v1/grants", headers=headers, buffered=True, json={
        "email": "Paul@Example.net", "role": "certifier", "expires_at": "2099-06-30",
        "scope": [{"type": "experience", "id": str(things["shown"].id)}, {"type": "section", "id": "documents"}]})
    assert created.status_code == 201, created.data
    grant = created.get_json()
    assert (grant["email"], grant["status"], grant["expires_at"][:10]) == ("paul@example.net", "pending", "2099-06-30")
    assert "token" not in str(grant).lower()
    assert link_in(outbox(app)[-1], "/invitations/")
    assert [g["id"] for g in client.get("/api/v1/grants", headers=headers).get_json()["items"]] == [grant["id"]]

    paul = make_user("paul@example.net", display_name="Paul Durand")
    paul_headers = _headers(paul)
    invitations = client.get("/api/v1/invitations", headers=paul_headers).get_json()["items"]
    assert [(i["id"], i["owner"], i["role"]) for i in invitations] == [(grant["id"], "Inès Morel", "certifier")]
    accepted = client.post(f"/api/v1/invitations/{grant['id']}/accept", headers=paul_headers)
    assert accepted.status_code == 200 and accepted.get_json()["owner"] == "Inès Morel"
    again = client.post(f"/api/v1/invitations/{grant['id']}/accept", headers=paul_headers)
    assert again.status_code == 404 and again.get_json()["error"] == "not_found"

    listed = client.get("/api/v1/shared-with-me", headers=paul_headers).get_json()["items"]
    assert [s["id"] for s in listed] == [grant["id"]]
    shared = client.get(f"/api/v1/shared-with-me/{grant['id']}", headers=paul_headers)
    assert shared.status_code == 200
    body = shared.get_json()
    assert [e["title"] for e in body["experiences"]] == ["Vendeuse"]
    assert body["skills"] == [] and body["profile"] is None and body["journal"] == []
    assert [d["name"] for d in body["documents"]] == ["cv.txt"]
    assert body["documents"][0]["download_url"] == f"/shared/{grant['id']}/documents/{things['document'].id}"

    # The owner narrows the scope: the next read follows at once.
    patched = client.patch(f"/api/v1/grants/{grant['id']}", headers=headers,
                           json={"scope": [{"type": "skill", "id": str(things["hidden"].id)}], "expires_at": None})
    assert patched.status_code == 200 and patched.get_json()["expires_at"] is None
    body = client.get(f"/api/v1/shared-with-me/{grant['id']}", headers=paul_headers).get_json()
    assert [s["name"] for s in body["skills"]] == ["Secret"] and body["experiences"] == [] and body["documents"] == []

    revoked = client.delete(f"/api/v1/grants/{grant['id']}", headers=headers)
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    gone = client.get(f"/api/v1/shared-with-me/{grant['id']}", headers=paul_headers)
    assert gone.status_code == 404 and gone.get_json()["error"] == "not_found"
    assert client.get("/api/v1/shared-with-me", headers=paul_headers).get_json()["items"] == []


@pytest.mark.parametrize("body, status, code, field", [
    ({"email": "ines@example.org", "role": "viewer"}, 422, "self_invitation", None),
    ({"email": "x@example.org", "role": "owner"}, 422, "validation_error", "role"),
    ({"email": "not an address", "role": "viewer"}, 422, "validation_error", "email"),
    ({"email": "x@example.org", "role": "viewer", "scope": []}, 422, "validation_error", "scope"),
    ({"email": "x@example.org", "role": "viewer", "scope": [{"type": "section", "id": "secrets"}]},
     422, "validation_error", "scope"),
    ({"email": "x@example.org", "role": "viewer", "scope": [{"type": "skill", "id": "nope"}]},
     422, "validation_error", "scope"),
    ({"email": "x@example.org", "role": "viewer", "scope": "some"}, 422, "validation_error", "scope"),
    ({"email": "x@example.org", "role": "viewer", "expires_at": "2001-01-01"}, 422, "validation_error",
     "expires_at"),
    ({"email": "x@example.org", "role": "viewer", "expires_at": "tomorrow"}, 422, "validation_error",
     "expires_at"),
    ({"email": "x@example.org", "role": "viewer", "admin": True}, 422, "validation_error", "admin"),
])
def test_invitation_refusals(client, owner, body, status, code, field):
    answer = client.post("/api/v1/grants", headers=_headers(owner), json=body)
    assert answer.status_code == status, answer.data
    data = answer.get_json()
    assert data["error"] == code and data["message"]
    if field:
        assert field in data["fields"]


def test_another_owners_item_a_duplicate_and_another_owners_grant(client, owner, things, make_user):
    other = make_user("other@example.org")
    other_headers = _headers(other)
    stolen = client.post("/api/v1/grants", headers=other_headers, json={
        "email": "x@example.org", "role": "viewer", "scope": [{"type": "experience", "id": str(things["shown"].id)}]})
    assert stolen.status_code == 422 and "scope" in stolen.get_json()["fields"]

    headers = _headers(owner)
    grant = client.post("/api/v1/grants", headers=headers, json={"email": "x@example.org", "role": "viewer"}).get_json()
    duplicate = client.post("/api/v1/grants", headers=headers, json={"email": "X@example.org", "role": "guardian"})
    assert duplicate.status_code == 409 and duplicate.get_json()["error"] == "already_invited"
    for method in ("get", "patch", "delete"):
        answer = getattr(client, method)(f"/api/v1/grants/{grant['id']}", headers=other_headers,
                                         **({"json": {"role": "guardian"}} if method == "patch" else {}))
        assert answer.status_code == 404 and answer.get_json()["error"] == "not_found", method
    assert db.session.get(Grant, uuid.UUID(grant["id"])).role == "viewer"
    assert client.get("/api/v1/grants").status_code == 401


def test_an_unverified_address_sees_and_accepts_no_invitation(client, owner, make_user):
    headers = _headers(owner)
    grant = client.post("/api/v1/grants", headers=headers, json={"email": "new@example.org", "role": "viewer"}
                        ).get_json()
    squatter = make_user("new@example.org", verified=False)
    squatter_headers = _headers(squatter)
    assert client.get("/api/v1/invitations", headers=squatter_headers).get_json()["items"] == []
    assert client.post(f"/api/v1/invitations/{grant['id']}/accept", headers=squatter_headers).status_code == 404


def test_an_expired_grant_shows_nothing(client, owner, things, make_user):
    headers = _headers(owner)
    grant = client.post("/api/v1/grants", headers=headers, json={"email": "late@example.org", "role": "guardian"}
                        ).get_json()
    late = make_user("late@example.org")
    late_headers = _headers(late)
    assert client.post(f"/api/v1/invitations/{grant['id']}/accept", headers=late_headers).status_code == 200
    row = db.session.get(Grant, uuid.UUID(grant["id"]))
    assert row.scope == "all"  # a guardian reads the whole portfolio
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(f"/api/v1/shared-with-me/{grant['id']}", headers=late_headers).status_code == 404
    changed = client.patch(f"/api/v1/grants/{grant['id']}", headers=headers, json={"expires_at": "2099-01-01"})
    assert changed.status_code == 200
    assert client.get(f"/api/v1/shared-with-me/{grant['id']}", headers=late_headers).status_code == 200


def test_openapi_describes_the_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/grants", "/api/v1/grants/{grant_id}", "/api/v1/invitations",
                 "/api/v1/invitations/{grant_id}/accept", "/api/v1/shared-with-me",
                 "/api/v1/shared-with-me/{grant_id}"):
        assert path in paths, path


def test_the_owner_reads_the_access_log(client, owner, things, make_user):
    headers = _headers(owner)
    grant = client.post("/api/v1/grants", headers=headers, json={"email": "paul@example.net", "role": "viewer"}
                        ).get_json()
    paul_headers = _headers(make_user("paul@example.net", display_name="Paul Durand"))
    client.post(f"/api/v1/invitations/{grant['id']}/accept", headers=paul_headers)
    assert client.get(f"/api/v1/shared-with-me/{grant['id']}", headers=paul_headers).status_code == 200
    log = client.get("/api/v1/access-log", headers=headers)
    assert log.status_code == 200
    (event,) = log.get_json()["items"]
    assert (event["action"], event["who"], event["network"], event["object_type"]) == (
        "view", "Paul Durand <paul@example.net>", "127.0.0.0/24", "portfolio")
    # Paul's own (empty) log says nothing of Inès's; a bad cursor is a clear 422.
    assert client.get("/api/v1/access-log", headers=paul_headers).get_json()["items"] == []
    bad = client.get("/api/v1/access-log?before=yesterday", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]
    older = client.get("/api/v1/access-log", query_string={"before": event["at"]}, headers=headers)
    assert older.status_code == 200 and older.get_json()["items"] == []
