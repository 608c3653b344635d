"""Certifiers: the owner picks, as referee of an attestation request, a person who holds an active
certifier grant covering the item (policy ``attest_request``); viewers, revoked or out-of-scope
certifiers, and other people's ids are refused."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Experience, Skill
from app.models.attestations import AttestationRequest
from app.services import attestations, grants, portfolio as items
from app.services.errors import ValidationFailed
from tests.conftest import login
from tests.helpers import csrf_token


@pytest.fixture
def world(make_user):
    owner = make_user("ines@example.org", display_name="Inès Morel")
    stage = items.create_item(db.session, owner, Experience, {"kind": "internship", "title": "Stage en boulangerie",
                                                              "start_date": "2026-03-01"})
    skill = items.create_item(db.session, owner, Skill, {"name": "Pétrissage", "level": 3})
    people = {}
    for email, role, scope in (("tutor@example.org", "certifier", [{"type": "experience", "id": str(stage.id)}]),
                               ("viewer@example.org", "viewer", "all"),
                               ("gone@example.org", "certifier", "all")):
        person = make_user(email, display_name=email.split("@")[0].title())
        grant, raw = grants.invite(db.session, owner, email=email, role=role, scope=scope)
        grants.accept_by_link(db.session, person, raw)
        people[email] = (person, grant)
    grants.revoke(db.session, owner, people["gone@example.org"][1])
    db.session.commit()
    return {"owner": owner, "stage": stage, "skill": skill, "people": people}


def test_only_active_certifiers_in_scope_are_offered(app, world):
    tutor = world["people"]["tutor@example.org"][0]
    assert attestations.certifiers(db.session, world["owner"], world["stage"]) == [tutor]
    assert attestations.certifiers(db.session, world["owner"], world["skill"]) == []  # out of the grant's scope


def test_the_owner_asks_a_certifier_from_the_form(app, client, world):
    tutor, viewer = world["people"]["tutor@example.org"][0], world["people"]["viewer@example.org"][0]
    login(client, "ines@example.org")
    path = f"/experiences/{world['stage'].id}/attest"
    page = client.get(path)
    assert page.status_code == 200 and b"tutor@example.org" in page.data
    assert b"viewer@example.org" not in page.data and b"gone@example.org" not in page.data

    refused = client.post(path, data={"csrf_token": csrf_token(page), "certifier": str(viewer.id),
                                      "relationship": "tuteur"})
    assert refused.status_code == 400 and db.session.query(AttestationRequest).count() == 0

    sent = client.post(path, data={"csrf_token": csrf_token(client.get(path)), "certifier": str(tutor.id),
                                   "relationship": "tuteur"})
    assert sent.status_code == 302
    request = db.session.query(AttestationRequest).one()
    assert (request.referee_email, request.referee_name) == ("tutor@example.org", "Tutor")


def test_the_service_refuses_anyone_but_an_active_certifier_in_scope(app, world, make_user):
    owner = world["owner"]
    gone = world["people"]["gone@example.org"][0]
    stranger = make_user("stranger@example.org")
    tutor = world["people"]["tutor@example.org"][0]
    for kind, item, person in (("experience", world["stage"], gone), ("experience", world["stage"], stranger),
                               ("skill", world["skill"], tutor), ("experience", world["stage"], owner)):
        with pytest.raises(ValidationFailed) as refused:
            attestations.create(db.session, owner, kind, item.id, referee_name="", referee_email="",
                                relationship="tuteur", certifier_id=str(person.id))
        assert "certifier" in refused.value.fields
    made, _raw = attestations.create(db.session, owner, "experience", world["stage"].id, referee_name="M. Tuteur",
                                     referee_email="", relationship="tuteur", certifier_id=tutor.id)
    assert (made.referee_email, made.referee_name) == ("tutor@example.org", "M. Tuteur")


def test_the_api_takes_a_certifier_id(app, client, world):
    from app.services import tokens

    _token, raw = tokens.create_token(db.session, world["owner"], "tests")
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    tutor, viewer = world["people"]["tutor@example.org"][0], world["people"]["viewer@example.org"][0]
    body = {"item_kind": "experience", "item_id": str(world["stage"].id), "relationship": "tuteur"}
    refused = client.post("/api/v1/attestation-requests", json={**body, "certifier_id": str(viewer.id)},
                          headers=headers)
    assert refused.status_code == 422 and "certifier" in refused.get_json()["fields"]
    made = client.post("/api/v1/attestation-requests", json={**body, "certifier_id": str(tutor.id)}, headers=headers)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["referee_email"] == "tutor@example.org"
