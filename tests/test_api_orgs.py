"""``/api/v1/organisations``: personal and organisation tokens, roles, two organisations on every route."""
from __future__ import annotations

from app import policy
from app.extensions import db
from app.services import orgs, tokens
from tests.test_issuing_pages import BADGE, ORG, PNG, two_orgs  # noqa: F401 (fixture)

API = "/api/v1/organisations"


def bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def personal(user) -> dict:
    _token, raw = tokens.create_token(db.session, user, "test")
    db.session.commit()
    return bearer(raw)


def org_token(org) -> dict:
    _token, raw = orgs.create_token(db.session, policy.OPERATOR, org, "robot")
    db.session.commit()
    return bearer(raw)


def test_no_token_or_a_bad_one_is_401(client, two_orgs):
    assert client.get(API).status_code == 401
    response = client.get(API, headers=bearer("silo_" + "x" * 43))
    assert response.status_code == 401 and response.json["error"] == "unauthorized"


def test_member_lists_reads_and_manages_its_organisation(client, two_orgs, make_user):
    a = two_orgs["a"]
    headers = personal(a["admin"])
    listed = client.get(API, headers=headers).json["items"]
    assert [o["id"] for o in listed] == [str(a["org"].id)] and listed[0]["role"] == "admin"
    org_url = f"{API}/{a['org'].id}"
    assert client.get(org_url, headers=headers).json["did"] == a["org"].did
    made = client.post(f"{org_url}/achievements", headers=headers, json={
        **BADGE, "tags": ["a", "b"], "alignments": [{"target_name": "X", "target_url": "https://x.example"}],
        "validity_months": 6})
    assert made.status_code == 201, made.json
    assert made.json["tags"] == ["a", "b"] and made.json["image_url"].endswith("/image")
    page = client.get(f"{org_url}/achievements?limit=1", headers=headers).json
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get(f"{org_url}/achievements?limit=5&cursor={page['next_cursor']}", headers=headers).json
    assert len(rest["items"]) == 1 and rest["items"][0]["id"] != page["items"][0]["id"]
    patched = client.patch(f"{org_url}/achievements/{made.json['id']}", headers=headers,
                           json={"name": "Renamed"})
    assert patched.status_code == 200 and patched.json["name"] == "Renamed"
    image = client.put(f"{org_url}/achievements/{made.json['id']}/image", headers={
        **headers, "Content-Type": "image/png"}, data=PNG)
    assert image.status_code == 200
    bad_image = client.put(f"{org_url}/achievements/{made.json['id']}/image", headers={
        **headers, "Content-Type": "image/png"}, data=b"nope")
    assert bad_image.status_code == 422 and bad_image.json["error"] == "invalid_image"
    make_user("new@example.org")
    added = client.post(f"{org_url}/members", headers=headers, json={"email": "new@example.org", "role": "issuer"})
    assert added.status_code == 201
    assert client.patch(f"{org_url}/members/{added.json['id']}", headers=headers,
                        json={"role": "admin"}).json["role"] == "admin"
    assert client.delete(f"{org_url}/members/{added.json['id']}", headers=headers).status_code == 204
    rotated = client.post(f"{org_url}/keys/rotate", headers=headers)
    assert rotated.status_code == 201 and rotated.json["id"].startswith(a["org"].did + "#")
    assert len(client.get(f"{org_url}/keys", headers=headers).json["items"]) == 2
    new = client.post(f"{org_url}/tokens", headers=headers, json={"name": "SIS"})
    assert new.status_code == 201 and new.json["token"].startswith("silo_")
    assert client.get(org_url, headers=bearer(new.json["token"])).status_code == 200
    assert client.delete(f"{org_url}/tokens/{new.json['id']}", headers=headers).status_code == 204
    assert client.get(org_url, headers=bearer(new.json["token"])).status_code == 401


def test_refusals_bad_input_and_last_admin(client, two_orgs):
    a = two_orgs["a"]
    headers = personal(a["admin"])
    org_url = f"{API}/{a['org'].id}"
    bad = client.post(f"{org_url}/achievements", headers=headers, json={**BADGE, "kind": "Unicorn", "x": 1})
    assert bad.status_code == 422 and set(bad.json["fields"]) >= {"kind", "x"}
    assert client.post(f"{org_url}/achievements", headers=headers, data="{",
                       content_type="application/json").json["error"] == "invalid_json"
    assert client.post(f"{org_url}/achievements", headers=headers, data="x").status_code == 415
    members = client.get(f"{org_url}/members", headers=headers).json["items"]
    own = next(m for m in members if m["email"] == a["admin"].email)
    last = client.delete(f"{org_url}/members/{own['id']}", headers=headers)
    assert last.status_code == 409 and last.json["error"] == "last_admin"
    ghost = client.post(f"{org_url}/members", headers=headers, json={"email": "ghost@example.org", "role": "issuer"})
    assert ghost.status_code == 201 and ghost.json["status"] == "pending"  # invited, account or not
    # an issuer reads but does not manage
    issuer = personal(a["issuer"])
    assert client.get(f"{org_url}/achievements", headers=issuer).status_code == 200
    for method, path in (("post", "/achievements"), ("post", "/members"), ("post", "/keys/rotate"),
                         ("post", "/tokens"), ("get", "/tokens"), ("get", "/keys")):
        response = getattr(client, method)(org_url + path, headers=issuer, json={"name": "x"})
        assert response.status_code == 403 and response.json["error"] == "forbidden", path


def test_an_organisation_token_acts_for_its_organisation_only(client, two_orgs):
    a, b = two_orgs["a"], two_orgs["b"]
    headers = org_token(a["org"])
    assert [o["id"] for o in client.get(API, headers=headers).json["items"]] == [str(a["org"].id)]
    made = client.post(f"{API}/{a['org'].id}/achievements", headers=headers, json=BADGE)
    assert made.status_code == 201
    for method, path in (("post", "/members"), ("post", "/keys/rotate"), ("post", "/tokens")):
        assert getattr(client, method)(f"{API}/{a['org'].id}{path}", headers=headers,
                                       json={"email": "x@example.org", "role": "admin"}).status_code == 403
    assert client.post(API, headers=headers, json=ORG).json["error"] == "personal_token_required"
    # B, and B's achievement, whatever the path
    org_b = f"{API}/{b['org'].id}"
    for method, path in (("get", org_b), ("get", f"{org_b}/achievements"), ("post", f"{org_b}/achievements"),
                         ("get", f"{org_b}/achievements/{b['badge'].id}"),
                         ("patch", f"{org_b}/achievements/{b['badge'].id}"),
                         ("get", f"{API}/{a['org'].id}/achievements/{b['badge'].id}"),
                         ("patch", f"{API}/{a['org'].id}/achievements/{b['badge'].id}")):
        response = getattr(client, method)(path, headers=headers, json={"name": "stolen"})
        assert response.status_code == 404, (method, path)
    db.session.refresh(b["badge"])
    assert b["badge"].name == BADGE["name"]


def test_an_admin_of_one_organisation_gets_404_on_the_other(client, two_orgs):
    a, b = two_orgs["a"], two_orgs["b"]
    headers = personal(a["admin"])
    org_b = f"{API}/{b['org'].id}"
    member_b = client.get(f"{org_b}/members", headers=personal(b["admin"])).json["items"][0]["id"]
    for method, path in (("get", org_b), ("get", f"{org_b}/members"), ("post", f"{org_b}/members"),
                         ("patch", f"{org_b}/members/{member_b}"), ("delete", f"{org_b}/members/{member_b}"),
                         ("get", f"{org_b}/keys"), ("post", f"{org_b}/keys/rotate"), ("get", f"{org_b}/tokens"),
                         ("post", f"{org_b}/tokens"), ("get", f"{org_b}/achievements"),
                         ("post", f"{org_b}/achievements"), ("get", f"{org_b}/achievements/{b['badge'].id}"),
                         ("put", f"{org_b}/achievements/{b['badge'].id}/image"),
                         ("delete", f"{API}/{a['org'].id}/members/{member_b}"),
                         ("post", f"{org_b}/approve")):
        response = getattr(client, method)(path, headers=headers, json={"role": "admin"})
        assert response.status_code == 404, (method, path, response.status_code)


def test_request_and_platform_admin_decision(app, client, make_user):
    person, admin = make_user("p@example.org"), make_user("root@example.org", is_admin=True)
    mine, root = personal(person), personal(admin)
    made = client.post(API, headers=mine, json=ORG)
    assert made.status_code == 201 and made.json["status"] == "pending" and made.json["role"] == "admin"
    org_url = f"{API}/{made.json['id']}"
    assert client.post(f"{org_url}/achievements", headers=mine, json=BADGE).json["error"] == \
        "organisation_not_approved"
    assert client.post(f"{org_url}/approve", headers=mine).status_code == 403  # its own member: no
    assert client.get(f"{API}?status=pending", headers=mine).status_code == 403
    assert [o["id"] for o in client.get(f"{API}?status=pending", headers=root).json["items"]] == [made.json["id"]]
    assert client.post(f"{org_url}/refuse", headers=root, json={"reason": ""}).status_code == 422
    assert client.post(f"{org_url}/approve", headers=root).json["status"] == "approved"
    assert client.post(f"{org_url}/approve", headers=root).status_code == 403  # decided already
    assert client.get(f"{org_url}/achievements", headers=root).status_code == 404  # no member right
    assert client.post(f"{org_url}/achievements", headers=mine, json=BADGE).status_code == 201


def test_openapi_describes_the_organisation_routes(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/organisations", "/api/v1/organisations/{org_id}/achievements",
                 "/api/v1/organisations/{org_id}/tokens", "/api/v1/organisations/{org_id}/members"):
        assert path in spec["paths"], path


def test_patch_details(client, two_orgs):
    a, b = two_orgs["a"], two_orgs["b"]
    url = f"{API}/{a['org'].id}"
    assert client.patch(url, headers=personal(a["issuer"]), json={"name": "x"}).status_code == 403
    assert client.patch(url, headers=org_token(a["org"]), json={"name": "x"}).status_code == 403
    assert client.patch(f"{API}/{b['org'].id}", headers=personal(a["admin"]), json={"name": "x"}).status_code == 404
    admin = personal(a["admin"])
    bad = client.patch(url, headers=admin, json={"kind": "castle", "did": "did:web:evil"})
    assert bad.status_code == 422 and set(bad.json["fields"]) == {"kind", "did"}
    done = client.patch(url, headers=admin, json={"website": "https://a.example", "name": "A"})
    assert done.status_code == 200 and done.json["name"] == "A" and done.json["did"] == a["org"].did
