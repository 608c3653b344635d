"""Signed attestations (and person endorsements) as page items: offered, checked as owned and signed,
shown with who attested and when, verified in one click, and refused when not confirmed or not the owner's."""
from __future__ import annotations

import json
import re

import pytest

from app.extensions import db
from app.services import attestations, pages, portfolio, share_links
from app.services.errors import ValidationFailed
from tests.helpers import csrf_token
from tests.test_api import api_for


@pytest.fixture
def experience(user):
    item = portfolio.create_item(db.session, user, portfolio.Experience, {
        "kind": "internship", "title": "Stage en boulangerie", "organisation": "Au Bon Pain",
        "start_date": "2026-03-01", "end_date": "2026-04-30"})
    db.session.commit()
    return item


def _ask(user, experience, email="paul@example.net"):
    request, raw = attestations.create(db.session, user, "experience", experience.id, referee_name="Paul Durand",
                                       referee_email=email, relationship="maître de stage")
    db.session.commit()
    return request, raw


@pytest.fixture
def confirmed(user, experience):
    request, raw = _ask(user, experience)
    attestations.confirm(db.session, raw, statement="Deux mois de pétrissage et de vente.")
    db.session.commit()
    assert request.status == "confirmed" and request.document
    return request


def _ref(request) -> dict:
    return {"type": "attestation", "id": str(request.id)}


def _shared(user, items):
    page = pages.create(db.session, user, {"title": "Pour un employeur", "items": items})
    _link, raw = share_links.create(db.session, user, page=page)
    db.session.commit()
    return page, raw


def test_an_attestation_on_a_page_shows_and_verifies(client, user, confirmed):
    _page, raw = _shared(user, [_ref(confirmed)])
    shown = client.get(f"/s/{raw}")
    assert shown.status_code == 200
    assert b"Stage en boulangerie" in shown.data and b"Paul Durand" in shown.data
    assert b"ma\xc3\xaetre de stage" in shown.data and b"Deux mois de p" in shown.data
    assert f'href="/attestations/{confirmed.id}"'.encode() in shown.data
    # schema.org lists it in hasCredential with its public page.
    ld = json.loads(re.search(rb'<script type="application/ld\+json"[^>]*>(.*?)</script>', shown.data, re.S)[1])
    assert any(c["url"].endswith(f"/attestations/{confirmed.id}") for c in ld["hasCredential"])
    checked = client.post(f"/s/{raw}/verify-attestation/{confirmed.id}", data={"csrf_token": csrf_token(shown)})
    assert checked.status_code == 200 and b'data-verdict="verified"' in checked.data
    # A tampered stored copy is caught: the verifier runs on what is stored.
    document = json.loads(json.dumps(confirmed.document))
    document["credentialSubject"]["achievement"]["description"] = "Directeur de la boulangerie."
    confirmed.document = document
    db.session.commit()
    forged = client.post(f"/s/{raw}/verify-attestation/{confirmed.id}", data={"csrf_token": csrf_token(shown)})
    assert forged.status_code == 200 and b'data-verdict="not_verified"' in forged.data
    assert client.post(f"/s/{raw}/verify-attestation/{confirmed.id}").status_code == 400  # no CSRF token


def test_the_editor_offers_only_confirmed_attestations(logged_in, user, experience, confirmed):
    pending, _raw = _ask(user, experience, email="other@example.net")
    offered = {obj.id for obj in pages.candidates(db.session, user)["attestation"]}
    assert offered == {confirmed.id}
    editor = logged_in.get("/pages/new")
    assert f"attestation:{confirmed.id}".encode() in editor.data
    assert f"attestation:{pending.id}".encode() not in editor.data


@pytest.mark.parametrize("state", ["pending", "declined", "cancelled"])
def test_an_unsigned_request_is_refused_on_a_page(client, user, experience, state):
    request, raw = _ask(user, experience)
    if state == "declined":
        attestations.decline(db.session, raw, "Je ne le connais pas.")
    elif state == "cancelled":
        attestations.cancel(db.session, user, request)
    db.session.commit()
    assert request.status == state
    with pytest.raises(ValidationFailed):
        pages.create(db.session, user, {"title": "Page", "items": [_ref(request)]})
    db.session.rollback()
    answer = api_for(client, user).post("/pages", json={"title": "Page", "items": [_ref(request)]})
    assert answer.status_code == 422 and answer.json["error"] == "validation_error", answer.json


def test_another_persons_attestation_is_refused(client, make_user, user, confirmed):
    other = make_user("intrus@example.org")
    with pytest.raises(ValidationFailed):
        pages.create(db.session, other, {"title": "Volée", "items": [_ref(confirmed)]})
    db.session.rollback()
    assert api_for(client, other).post("/pages", json={"title": "Volée", "items": [_ref(confirmed)]}).status_code == 422
    # Even if a reference got into another person's page, it is resolved from that page's portfolio only.
    page = pages.create(db.session, other, {"title": "Volée"})
    page.items = [_ref(confirmed)]
    _link, raw = share_links.create(db.session, other, page=page)
    db.session.commit()
    shown = client.get(f"/s/{raw}")
    assert b"Paul Durand" not in shown.data
    token = csrf_token(client.get("/verify"))  # a valid CSRF token of this visitor's session
    assert client.post(f"/s/{raw}/verify-attestation/{confirmed.id}", data={"csrf_token": token}).status_code == 404


def test_a_visitor_cannot_verify_an_attestation_not_on_the_page(client, user, experience, confirmed):
    _page, raw = _shared(user, [{"type": "experience", "id": str(experience.id)}])
    shown = client.get(f"/s/{raw}")
    assert b"Paul Durand" not in shown.data
    token = csrf_token(client.get("/verify"))  # a valid CSRF token of this visitor's session
    assert client.post(f"/s/{raw}/verify-attestation/{confirmed.id}", data={"csrf_token": token}).status_code == 404
    # Nor a credential-route detour with the attestation's id.
    assert client.post(f"/s/{raw}/verify/{confirmed.id}", data={"csrf_token": token}).status_code == 404


def test_a_person_endorsement_on_a_page_links_to_its_page_and_verifies(client, user, make_user):
    from app.services import endorsements

    skill = portfolio.create_item(db.session, user, portfolio.Skill, {"name": "Accueil client", "level": 3})
    endorser = make_user("marie@example.net", display_name="Marie Lenoir")
    found, raw = endorsements.request_endorsement(db.session, user, "skill", skill.id, referee_name="Marie Lenoir",
                                                  referee_email=endorser.email, relationship="tutrice")
    endorsements.endorse_by_link(db.session, raw, endorser, "Un accueil chaleureux et précis.")
    db.session.commit()
    assert found.status == "confirmed" and found.purpose == "endorsement"
    _page, link = _shared(user, [_ref(found)])
    shown = client.get(f"/s/{link}")
    assert b"Marie Lenoir" in shown.data and b"Un accueil chaleureux" in shown.data
    assert f'href="/endorsements/{found.id}"'.encode() in shown.data
    checked = client.post(f"/s/{link}/verify-attestation/{found.id}", data={"csrf_token": csrf_token(shown)})
    assert checked.status_code == 200 and b'data-verdict="verified"' in checked.data


def test_the_owner_preview_shows_the_attestation_and_the_editor_saves_it(logged_in, user, confirmed):
    editor = logged_in.get("/pages/new")
    ref = f"attestation:{confirmed.id}"
    saved = logged_in.post("/pages/new", data={"csrf_token": csrf_token(editor), "title": "Mes preuves",
                                               "theme": "horizon", "item": ref, f"order-{ref}": "1"})
    assert saved.status_code in (302, 303), saved.data[:500]
    page = pages.list_for(db.session, user)[0]
    assert page.items == [_ref(confirmed)]
    preview = logged_in.get(f"/pages/{page.id}/preview")
    assert preview.status_code == 200 and b"Paul Durand" in preview.data
    assert f'href="/attestations/{confirmed.id}"'.encode() in preview.data
