"""``/api/v1/pages`` and ``/api/v1/share-links`` (issue 9): the owner's round trip, and the refusals."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.services import portfolio
from tests.test_api import api_for


@pytest.fixture
def api(client, user):
    return api_for(client, user)


@pytest.fixture
def other_api(client, make_user):
    return api_for(client, make_user("other@example.org"))


@pytest.fixture
def skill(user):
    made = portfolio.create_item(db.session, user, portfolio.Skill, {"name": "Travail en équipe", "level": 4})
    db.session.commit()
    return made


def test_pages_and_share_links_round_trip(api, client, skill):
    created = api.post("/pages", json={"title": "Stage de 3e", "theme": "horizon",
                                       "items": [{"type": "skill", "id": str(skill.id)}]})
    assert created.status_code == 201, created.json
    page = created.json
    assert page["items"] == [{"type": "skill", "id": str(skill.id)}] and page["public_profile"] is False
    assert created.headers["Location"].endswith(f"/api/v1/pages/{page['id']}")
    assert [p["id"] for p in api.get("/pages").json["items"]] == [page["id"]]
    changed = api.patch(f"/pages/{page['id']}", json={"title": "Stage de seconde", "public_profile": True})
    assert changed.status_code == 200 and changed.json["title"] == "Stage de seconde"
    assert changed.json["items"] == page["items"]  # untouched by a PATCH that does not name them

    link = api.post("/share-links", json={"page_id": page["id"], "label": "Tuteur", "password": "sesame-2026",
                                          "expires_at": "2099-01-31T18:00:00Z"})
    assert link.status_code == 201, link.json
    assert link.json["url"].startswith("http://localhost/s/") and link.json["has_password"] is True
    listed = api.get("/share-links").json["items"]
    assert listed[0]["id"] == link.json["id"] and "url" not in listed[0] and listed[0]["state"] == "active"
    path = link.json["url"].removeprefix("http://localhost")
    assert b'name="password"' in client.get(path).data

    assert api.delete(f"/share-links/{link.json['id']}").status_code == 204
    assert api.get("/share-links").json["items"][0]["state"] == "revoked"
    assert client.get(path).status_code == 404
    assert api.delete(f"/pages/{page['id']}").status_code == 204
    assert api.get(f"/pages/{page['id']}").status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"title": ""}, "title"),
    ({"title": "T", "theme": "neon"}, "theme"),
    ({"title": "T", "items": [{"type": "journal", "id": "00000000-0000-4000-8000-000000000000"}]}, "items"),
    ({"title": "T", "items": [{"type": "skill", "id": "00000000-0000-4000-8000-000000000000"}]}, "items"),
    ({"title": "T", "public_profile": "yes"}, "public_profile"),
    ({"title": "T", "colour": "red"}, "colour"),
    ({"title": "T\u0000"}, "title"),
])
def test_bad_pages_are_422_with_the_field(api, body, field):
    answer = api.post("/pages", json=body)
    assert answer.status_code == 422 and answer.json["error"] == "validation_error"
    assert field in answer.json["fields"]


@pytest.mark.parametrize("body, field", [
    ({}, "page_id"),
    ({"cv_id": "not-a-cv-id"}, "cv_id"),  # an unknown CV's id is 404: tests/test_cv_share_links.py
    ({"page_id": "PAGE", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ({"page_id": "PAGE", "expires_at": "2099-01-01T00:00:00"}, "expires_at"),
    ({"page_id": "PAGE", "expires_at": "tomorrow"}, "expires_at"),
    ({"page_id": "PAGE", "password": "abc"}, "password"),
    ({"page_id": "PAGE", "label": "x" * 121}, "label"),
    ({"page_id": "PAGE", "token": "mine"}, "token"),
])
def test_bad_share_links_are_422_with_the_field(api, body, field):
    page = api.post("/pages", json={"title": "T"}).json
    body = {k: (page["id"] if v == "PAGE" else v) for k, v in body.items()}
    answer = api.post("/share-links", json=body)
    assert answer.status_code == 422 and field in answer.json["fields"], answer.json


def test_another_persons_pages_and_links_are_404(api, other_api):
    page = api.post("/pages", json={"title": "À moi"}).json
    link = api.post("/share-links", json={"page_id": page["id"]}).json
    assert other_api.get(f"/pages/{page['id']}").status_code == 404
    assert other_api.patch(f"/pages/{page['id']}", json={"title": "volé"}).status_code == 404
    assert other_api.delete(f"/pages/{page['id']}").status_code == 404
    assert other_api.delete(f"/share-links/{link['id']}").status_code == 404
    refused = other_api.post("/share-links", json={"page_id": page["id"]})
    assert refused.status_code == 422 and "page_id" in refused.json["fields"]
    assert other_api.get("/pages").json["items"] == [] and other_api.get("/share-links").json["items"] == []
    assert api.get(f"/pages/{page['id']}").json["title"] == "À moi"


def test_without_a_token_the_routes_are_401(client):
    assert client.get("/api/v1/pages").status_code == 401
    assert client.post("/api/v1/share-links", json={}).status_code == 401


def test_the_routes_are_in_the_openapi_description(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/api/v1/pages", "/api/v1/pages/{page_id}", "/api/v1/share-links",
            "/api/v1/share-links/{link_id}"} <= set(paths)
