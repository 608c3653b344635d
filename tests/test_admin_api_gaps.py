"""Audit 15, #7 and #21: what the pages do that the API did not — find an account to suspend, list the suspended
ones, list one's institutions and groups (with the ``group_id`` that ``POST /me/group-shares`` needs), a group's
ended members — and the two prefixes of one organisation, documented in OpenAPI."""
from __future__ import annotations

from app.database import utcnow
from app.extensions import db
from app.models.institutions import Enrolment
from app.services import institutions, tokens
from tests.test_institutions import school as make_school


def _auth(person) -> dict:
    _t, raw = tokens.create_token(db.session, person, "api")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_suspension_can_be_driven_by_the_api_alone(client, make_user):
    admin = make_user("root@platform.example")
    admin.is_admin = True
    target = make_user("Someone@Example.org")
    db.session.commit()
    headers = _auth(admin)
    found = client.get("/api/v1/admin/accounts?email=  SOMEONE@example.org ", headers=headers)
    assert found.status_code == 200
    [account] = found.get_json()
    assert account["id"] == str(target.id) and account["suspended_at"] is None and "password_hash" not in account
    put = client.put(f"/api/v1/admin/accounts/{account['id']}/suspension", json={"reason": "spam"}, headers=headers)
    assert put.status_code == 200
    listed = client.get("/api/v1/admin/accounts?suspended=true", headers=headers).get_json()
    assert [(a["id"], a["suspension_reason"]) for a in listed] == [(str(target.id), "spam")]
    assert client.get("/api/v1/admin/accounts?email=nobody@example.org", headers=headers).get_json() == []
    bad = client.get("/api/v1/admin/accounts?email=not-an-address", headers=headers)
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_email"
    bare = client.get("/api/v1/admin/accounts", headers=headers)
    assert bare.status_code == 400 and bare.get_json()["error"] == "missing_filter"
    refused = client.get(f"/api/v1/admin/accounts?email={target.email}", headers=_auth(make_user("n@example.org")))
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    assert client.get("/api/v1/admin/accounts?suspended=true").status_code == 401


def test_a_pupil_and_a_teacher_list_their_institutions_and_groups(client, make_user):
    org, head = make_school(make_user, "Collège API")
    group = institutions.create_group(db.session, org, name="4e C")
    pupil, teacher, stranger = make_user("eleve@example.org"), make_user("prof@example.org"), make_user("s@x.org")
    db.session.add(Enrolment(organisation_id=org.id, group_id=group.id, family_name="E", given_name="L",
                             user_id=pupil.id, guardian_emails=[]))
    institutions.add_staff(db.session, org, group, email=teacher.email, role="teacher")
    db.session.commit()
    mine = client.get("/api/v1/me/institutions", headers=_auth(pupil)).get_json()
    assert [g["id"] for g in mine["shareable_groups"]] == [str(group.id)]
    assert mine["shareable_groups"][0]["organisation_name"] == "Collège API"
    assert mine["staff_of"] == [] and mine["staff_groups"] == []
    # the id found there is the one sharing takes
    pupil_headers = _auth(pupil)
    shared = client.post("/api/v1/me/group-shares", json={"group_id": mine["shareable_groups"][0]["id"]},
                         headers=pupil_headers)
    assert shared.status_code == 201
    theirs = client.get("/api/v1/me/institutions", headers=_auth(teacher)).get_json()
    assert theirs["staff_of"] == [{"organisation": {"id": str(org.id), "name": "Collège API", "kind": "school"},
                                   "role": "teacher"}]
    assert [(g["id"], g["role"]) for g in theirs["staff_groups"]] == [(str(group.id), "teacher")]
    assert [s["group_id"] for s in theirs["shared_with_my_groups"]] == [str(group.id)]
    assert theirs["shareable_groups"] == []
    nobody = client.get("/api/v1/me/institutions", headers=_auth(stranger)).get_json()
    assert nobody == {"staff_of": [], "staff_groups": [], "shared_with_my_groups": [], "shareable_groups": []}
    assert client.get("/api/v1/me/institutions").status_code == 401


def test_a_groups_detail_lists_its_ended_members_as_the_page_does(client, make_user):
    org, head = make_school(make_user, "Collège Départs")
    group = institutions.create_group(db.session, org, name="3e A")
    db.session.add_all([
        Enrolment(organisation_id=org.id, group_id=group.id, family_name="Reste", given_name="A", guardian_emails=[]),
        Enrolment(organisation_id=org.id, group_id=group.id, family_name="Parti", given_name="B", guardian_emails=[],
                  ended_at=utcnow(), end_reason="moved")])
    db.session.commit()
    body = client.get(f"/api/v1/orgs/{org.id}/groups/{group.id}", headers=_auth(head)).get_json()
    ended = {m["family_name"]: m["ended_at"] is not None for m in body["members"]}
    assert ended == {"Reste": False, "Parti": True}
    other_org, other_head = make_school(make_user, "Collège Voisin")
    assert client.get(f"/api/v1/orgs/{org.id}/groups/{group.id}", headers=_auth(other_head)).status_code in (403, 404)


def test_openapi_documents_the_new_routes_and_the_two_prefixes(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/admin/accounts", "/api/v1/me/institutions", "/api/v1/admin/indicators.csv",
                 "/api/v1/orgs/{org_id}/indicators.csv"):
        assert path in spec["paths"], path
    csv_doc = spec["paths"]["/api/v1/admin/indicators.csv"]["get"]["responses"]["200"]
    assert "text/csv" in csv_doc["content"]
    assert "/api/v1/organisations/<id>/" in spec["info"]["description"]
    assert "/api/v1/orgs/<id>/" in spec["info"]["description"]
