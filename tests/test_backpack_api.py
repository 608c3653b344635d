"""``/api/v1/backpack`` (issue 11): add a badge as a multipart file or by URL (dry run = the preview),
a badge that does not verify refused (422) unless ``accept_unverified``, duplicates never added, list,
read, verify again, link and unlink, delete; the Credentials section's API lists it (kind ``external``);
the refusals with their stable codes (no token, another person's badge, not a badge, private address,
wrong media type, unknown fields, too large); documented in OpenAPI under a human tag."""
from __future__ import annotations

import io
import json

import pytest

from app.extensions import db
from app.models import Experience
from app.models.backpack import ExternalCredential
from app.services import backpack, portfolio as items, tokens
from badges.bake import bake
from badges.fetch import json_fetcher
from tests.backpack_helpers import Elsewhere, png


@pytest.fixture
def elsewhere(monkeypatch):
    import app.api.received as received_api

    made = Elsewhere()
    monkeypatch.setattr(backpack, "default_fetch", lambda: made.web)
    monkeypatch.setattr(received_api, "json_fetcher", lambda **_options: made.web)
    return made


@pytest.fixture
def owner(make_user):
    return make_user("ines@example.org", display_name="Inès Morel")


def _headers(user) -> dict:
    raw = tokens.create_token(db.session, user, "test")[1]
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def headers(owner):
    return _headers(owner)


def _upload(client, headers, data: bytes, name="badge.png", **fields):
    return client.post("/api/v1/backpack", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name), **fields})


def test_add_list_show_verify_link_delete(app, client, owner, headers, elsewhere):
    baked = bake(png(), elsewhere.signed(owner.email))
    dry = _upload(client, headers, baked, dry_run="true")
    assert dry.status_code == 200 and dry.json["dry_run"] is True and dry.json["items"] == []
    assert dry.json["candidates"][0]["status"] == "verified" and dry.json["candidates"][0]["recipient"] == "you"
    assert db.session.scalar(db.select(db.func.count()).select_from(ExternalCredential)) == 0

    added = _upload(client, headers, baked)
    assert added.status_code == 201 and added.json["added"] == 1
    item = added.json["items"][0]
    assert item["format"] == "ob3-di" and item["title"] == "Premiers secours (PSC1)" and item["state"] == "active"
    assert item["verdict"]["status"] == "verified" and item["image_url"].endswith(f"/backpack/{item['id']}.png")
    assert client.get(item["image_url"]).data == baked

    again = _upload(client, headers, baked)
    assert again.status_code == 200 and again.json["added"] == 0 and again.json["items"][0]["id"] == item["id"]
    assert again.json["candidates"][0]["duplicate_of"] == item["id"]

    listed = client.get("/api/v1/backpack", headers=headers)
    assert [i["id"] for i in listed.json["items"]] == [item["id"]]
    assert client.get(f"/api/v1/backpack/{item['id']}", headers=headers).json["credential"]["type"] == \
        ["VerifiableCredential", "OpenBadgeCredential"]
    checked = client.post(f"/api/v1/backpack/{item['id']}/verify", headers=headers)
    assert checked.status_code == 200 and checked.json["verdict"]["status"] == "verified"

    experience = items.create_item(db.session, owner, Experience, {
        "kind": "internship", "title": "Stage", "organisation": "Croix", "start_date": "2025-01-01"})
    db.session.commit()
    linked = client.post(f"/api/v1/backpack/{item['id']}/links", headers=headers,
                         json={"item_kind": "experience", "item_id": str(experience.id)})
    assert linked.status_code == 201 and linked.json["links"][0]["item_id"] == str(experience.id)
    assert client.post(f"/api/v1/backpack/{item['id']}/links", headers=headers,
                       json={"item_kind": "experience", "item_id": str(experience.id), "x": 1}).status_code == 422
    assert client.delete(f"/api/v1/backpack/{item['id']}/links/experience/{experience.id}",
                         headers=headers).status_code == 204

    # The Credentials section's API lists it beside the others, hides and shows it.
    section = client.get("/api/v1/received-credentials", headers=headers).json["items"]
    assert [(e["kind"], e["id"]) for e in section] == [("external", item["id"])]
    hidden = client.post(f"/api/v1/received-credentials/external/{item['id']}/visibility", headers=headers,
                         json={"hidden": True})
    assert hidden.status_code == 200 and hidden.json["hidden"] is True
    assert client.post(f"/api/v1/received-credentials/external/{item['id']}/verify",
                       headers=headers).json["verdict"]["status"] == "verified"

    assert client.delete(f"/api/v1/backpack/{item['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/backpack/{item['id']}", headers=headers).status_code == 404


def test_add_by_url_and_jwt(client, owner, headers, elsewhere):
    url = elsewhere.ob2(owner.email)
    by_url = client.post("/api/v1/backpack", headers=headers, json={"url": url})
    assert by_url.status_code == 201 and by_url.json["items"][0]["format"] == "ob2"
    jwt = _upload(client, headers, elsewhere.jwt(owner.email).encode(), name="badge.jwt")
    assert jwt.status_code == 201 and jwt.json["items"][0]["format"] == "ob3-jwt"
    original = client.get(jwt.json["items"][0]["original_url"])
    assert original.mimetype == "application/vc+jwt" and original.data.count(b".") == 2


def test_unverified_is_refused_unless_accepted(client, owner, headers, elsewhere):
    credential = elsewhere.signed(owner.email)
    credential["validFrom"] = "2020-01-01T00:00:00Z"  # changed after signing
    data = json.dumps(credential).encode()
    refused = _upload(client, headers, data, name="b.json")
    assert refused.status_code == 422 and refused.json["error"] == "credential_not_verified"
    assert refused.json["fields"]["reason"] == "forged"
    assert db.session.scalar(db.select(db.func.count()).select_from(ExternalCredential)) == 0
    kept = _upload(client, headers, data, name="b.json", accept_unverified="true")
    assert kept.status_code == 201 and kept.json["items"][0]["verdict"]["status"] == "not_verified"


@pytest.mark.parametrize("send, status, code", [
    (lambda c, h: _upload(c, h, png()), 422, "no_badge"),
    (lambda c, h: _upload(c, h, b""), 400, "empty_file"),
    (lambda c, h: c.post("/api/v1/backpack", headers=h, content_type="multipart/form-data", data={}), 400, "no_input"),
    (lambda c, h: c.post("/api/v1/backpack", headers=h, json={"url": 12}), 422, "validation_error"),
    (lambda c, h: c.post("/api/v1/backpack", headers=h, json={"url": "https://a.example", "x": 1}), 422,
     "validation_error"),
    (lambda c, h: c.post("/api/v1/backpack", headers=h, data="hello", content_type="text/plain"), 415,
     "unsupported_media_type"),
    (lambda c, h: _upload(c, h, b"{}", accept_unverified="perhaps"), 422, "validation_error"),
    (lambda c, h: _upload(c, h, b"x" * (5 * 1024 * 1024 + 1)), 413, "too_large"),
])
def test_refusals_have_stable_codes(client, headers, elsewhere, send, status, code):
    answer = send(client, headers)
    assert answer.status_code == status and answer.json["error"] == code and answer.json["message"]


def test_private_address_refused_by_the_real_guard(client, headers, monkeypatch):
    monkeypatch.setattr(backpack, "default_fetch", lambda: json_fetcher(allow_loopback=False))
    for url in ("https://127.0.0.1/ob2/a", "https://10.1.2.3/a", "http://example.org/a"):
        answer = client.post("/api/v1/backpack", headers=headers, json={"url": url})
        assert answer.status_code == 422 and answer.json["error"] == "fetch_refused", url


def test_no_token_and_another_persons_badge(client, owner, headers, elsewhere, make_user):
    assert client.get("/api/v1/backpack").status_code == 401
    added = _upload(client, headers, json.dumps(elsewhere.signed(owner.email)).encode(), name="b.json")
    badge_id = added.json["items"][0]["id"]
    other = _headers(make_user("other@example.org"))
    assert client.get(f"/api/v1/backpack/{badge_id}", headers=other).status_code == 404
    assert client.delete(f"/api/v1/backpack/{badge_id}", headers=other).status_code == 404
    assert client.post(f"/api/v1/backpack/{badge_id}/verify", headers=other).status_code == 404
    assert client.get(f"/api/v1/received-credentials/external/{badge_id}", headers=other).status_code == 404
    assert client.get("/api/v1/backpack", headers=other).json["items"] == []


def test_documented_under_a_human_tag(client):
    spec = client.get("/api/v1/openapi.json").json
    assert {"/api/v1/backpack", "/api/v1/backpack/{badge_id}", "/api/v1/backpack/{badge_id}/verify"} <= set(spec["paths"])
    assert spec["paths"]["/api/v1/backpack"]["post"]["tags"] == ["Backpack"]
    assert "multipart/form-data" in spec["paths"]["/api/v1/backpack"]["post"]["requestBody"]["content"]
