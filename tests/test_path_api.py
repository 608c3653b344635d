"""``/api/v1/hypotheses`` and ``/api/v1/plans`` (personal access tokens): the gap analysis in the answer,
the counsellor's proposals and the owner's acceptance, and the refusals (another person, a viewer, a
counsellor editing the owner's words, bad input)."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.services import frameworks, tokens
from tests.collab_helpers import accepted_grant, revoke
from tests.path_helpers import CARE_ASSISTANT, HYGIENE, load_frameworks, needed, skill


def _headers(person) -> dict:
    _, raw = tokens.create_token(db.session, person, "tests")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def people(app, make_user):
    load_frameworks()
    owner = make_user("ines@example.org", display_name="Inès")
    counsellor = make_user("conseil@example.org", display_name="Conseillère")
    skill(owner, "Toilette", HYGIENE)
    return owner, counsellor


def test_create_a_hypothesis_answers_its_gap(client, people):
    owner, _ = people
    headers = _headers(owner)
    response = client.post("/api/v1/hypotheses", json={"occupation": CARE_ASSISTANT}, headers=headers)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["occupation_uri"] == CARE_ASSISTANT and body["status"] == "exploring"
    assert [(s["concept_uri"], s["evidence"]) for s in body["gap"]["have"]] == [(HYGIENE, "self_declared")]
    assert {s["concept_uri"]: s["relation"] for s in body["gap"]["have"] + body["gap"]["missing"]} == needed()
    assert all(set(s) == {"concept_uri", "label", "relation"} for s in body["gap"]["missing"])
    assert body["trainings"] == []
    # By id too, and read back.
    concept_id = str(frameworks.get(db.session, CARE_ASSISTANT).id)
    again = client.post("/api/v1/hypotheses", json={"occupation": concept_id, "title": "Plan B"}, headers=headers)
    assert again.status_code == 201 and again.json["title"] == "Plan B"
    one = client.get(f"/api/v1/hypotheses/{body['id']}", headers=headers)
    assert one.status_code == 200 and one.json["gap"] == body["gap"]
    listed = client.get("/api/v1/hypotheses", headers=headers).json["items"]
    assert [h["title"] for h in listed] == ["Plan B", body["title"]]
    free = client.post("/api/v1/hypotheses", json={"description": "Ouvrir une librairie"}, headers=headers)
    assert free.status_code == 201 and free.json["gap"] == {"have": [], "missing": []}


@pytest.mark.parametrize("body, status, code", [
    ({}, 422, "validation_error"),
    ({"occupation": "https://example.org/none"}, 422, "unknown_occupation"),
    ({"occupation": HYGIENE}, 422, "unknown_occupation"),
    ({"description": "x", "status": "sure"}, 422, "validation_error"),
    ({"description": 42}, 422, "validation_error"),
    ({"description": "x", "extra": True}, 422, "validation_error"),
])
def test_bad_hypotheses(client, people, body, status, code):
    response = client.post("/api/v1/hypotheses", json=body, headers=_headers(people[0]))
    assert (response.status_code, response.json["error"]) == (status, code)


def test_bad_requests(client, people):
    headers = _headers(people[0])
    assert client.post("/api/v1/hypotheses", data="x", headers=headers).status_code == 415
    assert client.post("/api/v1/hypotheses", json={"description": "x"}).status_code == 401
    assert client.get("/api/v1/hypotheses/not-an-id", headers=headers).status_code == 404
    assert client.get("/api/v1/plans", headers=headers).status_code == 422  # hypothesis required
    assert client.get("/api/v1/hypotheses?portfolio=nonsense", headers=headers).status_code == 422


def test_counsellor_proposes_owner_accepts(client, people, make_user):
    owner, counsellor = people
    mine, theirs = _headers(owner), _headers(counsellor)
    hypothesis = client.post("/api/v1/hypotheses", json={"occupation": CARE_ASSISTANT}, headers=mine).json
    url = f"/api/v1/hypotheses/{hypothesis['id']}"
    assert client.get(url, headers=theirs).status_code == 404  # not invited yet
    grant = accepted_grant(owner, counsellor, role="counsellor", scope=[{"type": "section", "id": "experiences"}])
    seen = client.get(url, headers=theirs)
    assert seen.status_code == 200
    assert seen.json["gap"]["have"] == []  # the skills section is not shared with the counsellor
    listed = client.get(f"/api/v1/hypotheses?portfolio={owner.portfolio.id}", headers=theirs)
    assert [h["id"] for h in listed.json["items"]] == [hypothesis["id"]]

    goal = client.post("/api/v1/plans", json={"hypothesis_id": hypothesis["id"], "kind": "goal",
                                              "title": "Stage en EHPAD", "due_on": "2027-02-01"}, headers=theirs)
    assert goal.status_code == 201 and goal.json["acceptance"] == "pending"
    assert goal.json["author_role"] == "counsellor"
    note = client.post("/api/v1/plans", json={"hypothesis_id": hypothesis["id"], "kind": "note",
                                              "body": "Rendez-vous du 1er décembre"}, headers=theirs)
    assert note.status_code == 201
    own = client.post("/api/v1/plans", json={"hypothesis_id": hypothesis["id"], "kind": "step",
                                             "title": "Appeler l'IFAS"}, headers=mine).json

    # Refusals: a counsellor decides nothing, edits not the owner's words; the owner not theirs.
    assert client.post(f"/api/v1/plans/{goal.json['id']}/accept", headers=theirs).json["error"] == "owner_only"
    edit = client.patch(f"/api/v1/plans/{own['id']}", json={"title": "Autre"}, headers=theirs)
    assert (edit.status_code, edit.json["error"]) == (403, "not_your_words")
    edit = client.patch(f"/api/v1/plans/{note.json['id']}", json={"body": "Réécrit"}, headers=mine)
    assert (edit.status_code, edit.json["error"]) == (403, "not_your_words")
    assert client.patch(f"/api/v1/plans/{own['id']}", json={"status": "done"}, headers=theirs).status_code == 403
    assert client.patch(f"/api/v1/plans/{own['id']}", json={"colour": "red"}, headers=mine).status_code == 422
    assert client.patch(url, json={"title": "Mine"}, headers=theirs).status_code == 403
    assert client.delete(url, headers=theirs).status_code == 403

    accepted = client.post(f"/api/v1/plans/{goal.json['id']}/accept", headers=mine)
    assert accepted.status_code == 200 and accepted.json["acceptance"] == "accepted"
    again = client.post(f"/api/v1/plans/{goal.json['id']}/decline", headers=mine)
    assert (again.status_code, again.json["error"]) == (409, "already_decided")
    done = client.patch(f"/api/v1/plans/{own['id']}", json={"status": "done"}, headers=mine)
    assert done.status_code == 200 and done.json["status"] == "done"

    items = client.get(f"/api/v1/plans?hypothesis={hypothesis['id']}", headers=theirs).json["items"]
    assert [(i["kind"], i["acceptance"]) for i in items] == [("goal", "accepted"), ("note", "accepted"),
                                                             ("step", "accepted")]
    history = client.get(f"/api/v1/plans/history?hypothesis={hypothesis['id']}", headers=mine).json["items"]
    assert [e["action"] for e in history][:3] == ["status_changed", "accepted", "added"]

    revoke(owner, grant)
    assert client.get(url, headers=theirs).status_code == 404
    assert client.post("/api/v1/plans", json={"hypothesis_id": hypothesis["id"], "kind": "note", "body": "x"},
                       headers=theirs).status_code == 404


def test_viewer_and_stranger_see_no_plan(client, people, make_user):
    owner, _ = people
    hypothesis = client.post("/api/v1/hypotheses", json={"description": "x"}, headers=_headers(owner)).json
    viewer = make_user("viewer@example.org")
    accepted_grant(owner, viewer, role="viewer")
    for person in (viewer, make_user("stranger@example.org")):
        headers = _headers(person)
        assert client.get(f"/api/v1/hypotheses/{hypothesis['id']}", headers=headers).status_code == 404
        assert client.get(f"/api/v1/plans?hypothesis={hypothesis['id']}", headers=headers).status_code == 404
        assert client.get(f"/api/v1/hypotheses?portfolio={owner.portfolio.id}", headers=headers).status_code == 404


def test_owner_changes_and_deletes(client, people):
    headers = _headers(people[0])
    created = client.post("/api/v1/hypotheses", json={"occupation": CARE_ASSISTANT}, headers=headers).json
    url = f"/api/v1/hypotheses/{created['id']}"
    changed = client.patch(url, json={"status": "active", "occupation": ""}, headers=headers)
    assert changed.status_code == 422  # neither an occupation nor a description would be left
    changed = client.patch(url, json={"status": "active", "occupation": "", "description": "Autre voie"},
                           headers=headers)
    assert changed.status_code == 200 and changed.json["occupation_uri"] == ""
    assert changed.json["gap"] == {"have": [], "missing": []}
    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404


def test_openapi_documents_the_routes(client):
    spec = client.get("/api/v1/openapi.json").json
    for route in ("/api/v1/hypotheses", "/api/v1/hypotheses/{hypothesis_id}", "/api/v1/plans",
                  "/api/v1/plans/{plan_item_id}", "/api/v1/trainings"):
        assert route in spec["paths"], route
    assert "Career paths" in spec["paths"]["/api/v1/hypotheses"]["post"]["tags"]


def test_the_owners_notes_are_not_in_a_counsellors_answer(client, people):
    """"Your notes" stay the owner's (review 13, L3): the counsellor's answers leave them out."""
    owner, counsellor = people
    mine, theirs = _headers(owner), _headers(counsellor)
    made = client.post("/api/v1/hypotheses", json={"occupation": CARE_ASSISTANT, "notes": "Mes doutes privés"},
                       headers=mine).json
    url = f"/api/v1/hypotheses/{made['id']}"
    assert client.get(url, headers=mine).json["notes"] == "Mes doutes privés"
    accepted_grant(owner, counsellor, role="counsellor")
    seen = client.get(url, headers=theirs)
    assert seen.status_code == 200 and "notes" not in seen.json
    listed = client.get(f"/api/v1/hypotheses?portfolio={owner.portfolio.id}", headers=theirs)
    assert "Mes doutes privés" not in listed.get_data(as_text=True)
