"""The writing aid (issue 12): skills of the bundled frameworks suggested for an experience, explained by
the owner's words, confirmed (a skill created or linked, with a level) or dismissed (remembered per
experience), through the service, the API and the pages; and the refusals."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Experience, Skill
from app.models.skill_suggestions import SkillSuggestionDismissal
from app.services import frameworks, skill_suggestions as service, tokens
from app.services import portfolio as items
from app.services.errors import NotFound, ServiceError, ValidationFailed
from tests.conftest import login
from tests.helpers import csrf_token

SAMPLE = "https://w3id.org/sillage/frameworks/sample/skill/"


@pytest.fixture
def bundled(app):
    frameworks.load_bundled(db.session)
    db.session.commit()


@pytest.fixture
def owner(make_user, bundled):
    return make_user("ines@example.org", display_name="Inès Morel")


def _experience(owner, title="Serveuse", description="Service en salle, prise de commande, mise en place de la salle."):
    item = items.create_item(db.session, owner, Experience, {
        "kind": "job", "title": title, "description": description, "start_date": "2022-01-01"})
    db.session.commit()
    return item


def _uris(suggestions):
    return [s.concept.uri for s in suggestions]


def test_suggestions_match_labels_in_both_languages_and_explain_the_words(owner):
    waiter = _experience(owner)
    found = service.suggest(db.session, owner, waiter)
    assert SAMPLE + "service-table" in _uris(found) and SAMPLE + "mise-en-place" in _uris(found)
    table = next(s for s in found if s.concept.uri == SAMPLE + "service-table")
    assert set(table.matched) == {"Service", "salle"} and table.label == "Assurer le service en salle"
    assert SAMPLE + "mise-service" not in _uris(found)  # "mise … service" far apart is not "mise en service"
    assert found == sorted(found, key=lambda s: -s.score)

    english = _experience(owner, "Web developer internship",
                          "Built web pages with HTML and CSS and programmed in JavaScript.")
    uris = _uris(service.suggest(db.session, owner, english))
    assert uris[:2] == [SAMPLE + "html-css", SAMPLE + "javascript"]
    # Accents and inflections: "géré", "équipes" meet "Gérer", "équipe" (and the alternative label "Git").
    git = _experience(owner, "Projet", "J'ai GÉRÉ les versions du code avec git. Nous avons TRAVAILLÉ en équipes.")
    uris = _uris(service.suggest(db.session, owner, git))
    assert SAMPLE + "versionnage" in uris and SAMPLE + "travail-equipe" in uris


def test_only_live_skills_of_live_frameworks_are_suggested(owner):
    waiter = _experience(owner)
    sample = frameworks.get_framework(db.session, "sillage-sample")
    frameworks.retire_framework(db.session, sample)
    db.session.commit()
    assert service.suggest(db.session, owner, waiter) == []
    frameworks.retire_framework(db.session, sample, retired=False)
    db.session.commit()
    assert service.suggest(db.session, owner, waiter)
    nothing = _experience(owner, "Vacances", "Rien de particulier.")
    assert service.suggest(db.session, owner, nothing) == []


def test_confirm_creates_a_linked_skill_with_its_level_then_it_is_no_longer_suggested(owner):
    waiter = _experience(owner)
    skill = service.confirm(db.session, owner, waiter, SAMPLE + "service-table", 3)
    db.session.commit()
    assert (skill.name, skill.level, skill.concept_uri) == ("Assurer le service en salle", 3, SAMPLE + "service-table")
    assert skill.framework and waiter in skill.experiences
    assert SAMPLE + "service-table" not in _uris(service.suggest(db.session, owner, waiter))

    # Another experience: the same concept links the existing skill (no duplicate) at the new level.
    second = _experience(owner, "Extra en brasserie", "Service en salle le week-end.")
    suggestion = next(s for s in service.suggest(db.session, owner, second) if s.concept.uri == SAMPLE + "service-table")
    assert suggestion.skill.id == skill.id
    again = service.confirm(db.session, owner, second, str(suggestion.concept.id), "4")
    db.session.commit()
    assert again.id == skill.id and again.level == 4 and {waiter.id, second.id} == {e.id for e in again.experiences}
    assert db.session.scalar(select(db.func.count()).select_from(Skill).where(Skill.concept_uri == skill.concept_uri)) == 1


def test_dismissals_are_remembered_per_experience(owner):
    waiter, other = _experience(owner), _experience(owner, "Saison d'été")
    service.dismiss(db.session, owner, waiter, SAMPLE + "service-table")
    service.dismiss(db.session, owner, waiter, SAMPLE + "service-table")  # twice: still one row
    db.session.commit()
    assert SAMPLE + "service-table" not in _uris(service.suggest(db.session, owner, waiter))
    assert db.session.scalar(select(db.func.count()).select_from(SkillSuggestionDismissal)) == 1
    other.description = "Service en salle."
    db.session.commit()
    assert SAMPLE + "service-table" in _uris(service.suggest(db.session, owner, other))
    # Confirming later withdraws the dismissal; deleting the experience deletes its dismissals.
    service.confirm(db.session, owner, waiter, SAMPLE + "service-table", 2)
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(SkillSuggestionDismissal)) == 0
    service.dismiss(db.session, owner, waiter, SAMPLE + "mise-en-place")
    items.delete_item(db.session, owner, waiter)
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(SkillSuggestionDismissal)) == 0


def test_refusals(owner, make_user):
    waiter = _experience(owner)
    stranger = make_user("other@example.org")
    for call in (lambda: service.suggest(db.session, stranger, waiter),
                 lambda: service.confirm(db.session, stranger, waiter, SAMPLE + "service-table", 2),
                 lambda: service.dismiss(db.session, stranger, waiter, SAMPLE + "service-table")):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(ServiceError) as caught:
        service.confirm(db.session, owner, waiter, "https://example.org/nothing", 2)
    assert (caught.value.code, caught.value.status) == ("unknown_concept", 422)
    with pytest.raises(ServiceError) as caught:  # an occupation is not a skill of the owner
        service.confirm(db.session, owner, waiter, "https://w3id.org/sillage/frameworks/sample/occupation/serveur", 2)
    assert caught.value.code == "not_a_skill"
    for level in (0, 5, "x", None, True, 2.5):
        with pytest.raises(ValidationFailed) as caught:
            service.confirm(db.session, owner, waiter, SAMPLE + "service-table", level)
        assert "level" in caught.value.fields
    with pytest.raises(ValidationFailed):
        service.dismiss(db.session, owner, waiter, "")
    assert db.session.scalar(select(db.func.count()).select_from(Skill)) == 0


def _headers(person) -> dict:
    _, raw = tokens.create_token(db.session, person, "tests")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_api_lists_confirms_and_dismisses(client, owner, make_user):
    waiter = _experience(owner)
    url = f"/api/v1/experiences/{waiter.id}/skill-suggestions"
    headers = _headers(owner)
    listed = client.get(url, headers=headers)
    assert listed.status_code == 200
    first = listed.get_json()["items"][0]
    assert first["concept_uri"].startswith(SAMPLE) and first["matched"] and first["skill_id"] is None
    confirmed = client.post(url, json={"action": "confirm", "concept": first["concept_id"], "level": 3}, headers=headers)
    assert confirmed.status_code == 200 and confirmed.get_json()["concept_uri"] == first["concept_uri"]
    assert db.session.get(Skill, uuid.UUID(confirmed.get_json()["skill_id"])).level == 3
    second = client.get(url, headers=headers).get_json()["items"][0]
    dismissed = client.post(url, json={"action": "dismiss", "concept": second["concept_uri"]}, headers=headers)
    assert dismissed.status_code == 200
    left = {s["concept_uri"] for s in client.get(url, headers=headers).get_json()["items"]}
    assert first["concept_uri"] not in left and second["concept_uri"] not in left

    assert client.get(url).status_code == 401
    assert client.get(url, headers=_headers(make_user("eve@example.org"))).status_code == 404
    bad = client.post(url, json={"action": "explode", "concept": "x", "extra": 1}, headers=headers)
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"action", "extra"}
    level = client.post(url, json={"action": "confirm", "concept": first["concept_uri"], "level": 9}, headers=headers)
    assert level.status_code == 422 and level.get_json()["error"] == "validation_error"
    unknown = client.post(url, json={"action": "dismiss", "concept": "urn:nothing"}, headers=headers)
    assert unknown.status_code == 422 and unknown.get_json()["error"] == "unknown_concept"
    assert client.post(url, data="x", headers=headers).status_code == 415
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/experiences/{item_id}/skill-suggestions" in spec["paths"]


def test_pages_show_confirm_and_dismiss(client, owner, make_user):
    waiter = _experience(owner)
    login(client, owner.email)
    page = client.get(f"/experiences/{waiter.id}")
    assert b"Suggested skills" in page.data or "Compétences suggérées".encode() in page.data
    assert "Assurer le service en salle".encode() in page.data
    token = csrf_token(page)
    concept = frameworks.get(db.session, SAMPLE + "service-table")
    done = client.post(f"/experiences/{waiter.id}/skill-suggestions/confirm",
                       data={"csrf_token": token, "concept": str(concept.id), "level": "4"})
    assert done.status_code == 302 and done.location.endswith(f"/experiences/{waiter.id}#suggestions")
    skill = db.session.scalar(select(Skill).where(Skill.concept_uri == concept.uri))
    assert skill.level == 4
    client.post(f"/experiences/{waiter.id}/skill-suggestions/dismiss",
                data={"csrf_token": token, "concept": SAMPLE + "mise-en-place"})
    page = client.get(f"/experiences/{waiter.id}")
    assert "Réaliser la mise en place".encode() not in page.data
    # Without the CSRF token, and on someone else's experience: refused.
    assert client.post(f"/experiences/{waiter.id}/skill-suggestions/dismiss",
                       data={"concept": SAMPLE + "service-table"}).status_code == 400
    other = make_user("eve@example.org")
    theirs = _experience(other)
    assert client.post(f"/experiences/{theirs.id}/skill-suggestions/confirm",
                       data={"csrf_token": token, "concept": str(concept.id), "level": "2"}).status_code == 404
    bad = client.post(f"/experiences/{waiter.id}/skill-suggestions/confirm",
                      data={"csrf_token": token, "concept": str(concept.id), "level": "7"}, follow_redirects=True)
    assert bad.status_code == 200 and (b"Choose a level from 1 to 4." in bad.data or "Choisissez un niveau".encode() in bad.data)
    assert db.session.get(Skill, skill.id).level == 4  # unchanged


def test_the_form_suggests_while_typing_and_confirms_ticked_ones_on_save(client, owner):
    login(client, owner.email)
    form = client.get("/experiences/new")
    token = csrf_token(form)
    assert b'data-draft-url="/skill-suggestions/draft"' in form.data
    draft = client.post("/skill-suggestions/draft", data={
        "csrf_token": token, "title": "Web developer", "description": "Built web pages with HTML and CSS."})
    assert draft.status_code == 200 and b'value="' in draft.data
    concept = frameworks.get(db.session, SAMPLE + "html-css")
    assert str(concept.id).encode() in draft.data
    assert client.post("/skill-suggestions/draft", data={"title": "x"}).status_code == 400  # no CSRF token
    assert client.post("/skill-suggestions/draft", data={
        "csrf_token": token, "title": "x" * 30_000}).status_code == 413
    saved = client.post("/experiences/new", data={
        "csrf_token": token, "kind": "job", "title": "Web developer", "start_date": "2023-01-01",
        "description": "Built web pages with HTML and CSS.", "suggested": str(concept.id),
        f"level-{concept.id}": "3"})
    assert saved.status_code == 302, saved.data[:400]
    experience = db.session.scalar(select(Experience).where(Experience.title == "Web developer"))
    assert [(s.concept_uri, s.level) for s in experience.skills] == [(concept.uri, 3)]
    # The edit page shows the saved text's suggestions, without the one already linked.
    edit = client.get(f"/experiences/{experience.id}/edit")
    assert f'data-experience="{experience.id}"'.encode() in edit.data
    assert f'value="{concept.id}"'.encode() not in edit.data


def test_the_index_cache_keeps_a_few_databases_and_rebuilds_a_changed_one(monkeypatch):
    """One index per database URL, bounded: the suite opens a new database per test, and an unbounded
    cache kept all of them for the whole run."""
    built = []
    current = {"url": "", "version": 0}

    def fake_build(session, key):
        built.append(key)
        return service._Index(key)

    monkeypatch.setattr(service, "_cache", {})
    monkeypatch.setattr(service, "_key", lambda session: (current["url"], current["version"]))
    monkeypatch.setattr(service, "_build", fake_build)
    for number in range(3 * service.MAX_INDEXES):
        current["url"] = f"sqlite:///db{number}.db"
        assert service._index(None).key == (current["url"], 0)
        assert len(service._cache) <= service.MAX_INDEXES
    assert list(service._cache) == [f"sqlite:///db{n}.db" for n in range(2 * service.MAX_INDEXES, 3 * service.MAX_INDEXES)]
    service._index(None)  # the same database unchanged: served from the cache
    assert len(built) == 3 * service.MAX_INDEXES
    current["version"] = 1  # its concepts changed: rebuilt, still one entry for it
    assert service._index(None).key == (current["url"], 1)
    assert len(built) == 3 * service.MAX_INDEXES + 1
    assert list(service._cache).count(current["url"]) == 1
    current["url"], current["version"] = f"sqlite:///db{2 * service.MAX_INDEXES + 1}.db", 0  # an older one kept,
    # used again: served from the cache, now the most recent
    service._index(None)
    assert len(built) == 3 * service.MAX_INDEXES + 1
    assert list(service._cache)[-1] == current["url"]
