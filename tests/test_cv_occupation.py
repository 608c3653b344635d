"""Issue 10 with issue 12's frameworks: a CV aimed at an occupation. Its labels and its skills' labels join
the target's words, the items standing for its skills (a skill's concept URI, an experience's linked
skills) come first with the reason ("essential skill: …"), through the service, the API and the pages;
an unknown concept or a concept that is not an occupation is refused (422 ``unknown_occupation``)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Experience, Portfolio, Skill
from app.models.cvs import CvVariant
from app.services import cvs, frameworks, tokens
from app.services import portfolio as items
from app.services.errors import ValidationFailed
from tests.conftest import login
from tests.helpers import csrf_token

SAMPLE = "https://w3id.org/sillage/frameworks/sample/"
WEB = SAMPLE + "occupation/developpeur-web"
WAITER = SAMPLE + "occupation/serveur"


@pytest.fixture
def owner(app, make_user):
    frameworks.load_bundled(db.session)
    db.session.commit()
    return make_user("ines@example.org", display_name="Inès Morel")


@pytest.fixture
def made(owner):
    """A git skill pointing at the framework (named nothing like it), a plain skill, two experiences."""
    git = items.create_item(db.session, owner, Skill, {"name": "Outils du quotidien", "level": 3})
    git.concept_uri = SAMPLE + "skill/versionnage"
    tables = items.create_item(db.session, owner, Skill, {"name": "Plateaux", "level": 2})
    tables.concept_uri = SAMPLE + "skill/service-table"
    cooking = items.create_item(db.session, owner, Skill, {"name": "Pâtisserie", "level": 4})
    project = items.create_item(db.session, owner, Experience, {
        "kind": "project", "title": "Projet associatif", "start_date": "2022-01-01",
        "description": "Un petit site.", "skill_ids": [str(git.id)]})
    bakery = items.create_item(db.session, owner, Experience, {
        "kind": "job", "title": "Vendeuse en boulangerie", "start_date": "2021-01-01",
        "description": "Vente, pâtisserie.", "skill_ids": [str(cooking.id)]})
    db.session.commit()
    return {"git": git, "tables": tables, "cooking": cooking, "project": project, "bakery": bakery}


def test_occupation_ranks_its_skills_first_with_the_reason(owner, made):
    cv = cvs.create(db.session, owner, {"name": "Dev", "target_occupation": WEB, "language": "fr"})
    db.session.commit()
    assert cv.target_occupation == WEB
    ranked = cvs.ranking(db.session, cv)
    first_two = {(r.kind, r.id) for r in ranked[:2]}
    assert first_two == {("skill", str(made["git"].id)), ("experience", str(made["project"].id))}
    git = next(r for r in ranked if r.id == str(made["git"].id))
    assert git.skills == [("essential", "Gérer les versions du code")]
    assert next(r for r in ranked if r.id == str(made["tables"].id)).skills == []  # a waiter's skill
    selected = {(ref["type"], ref["id"]) for ref in cv.selection}
    assert ("skill", str(made["git"].id)) in selected and ("skill", str(made["cooking"].id)) not in selected

    # The same portfolio aimed at a waiter's job: the other skill comes first instead.
    cvs.update(db.session, owner, cv, {"target_occupation": WAITER})
    ranked = cvs.ranking(db.session, cv)
    assert (ranked[0].kind, ranked[0].id, ranked[0].skills) == (
        "skill", str(made["tables"].id), [("essential", "Assurer le service en salle")])
    # English labels in an English CV; by concept id as well as by URI.
    waiter = frameworks.get(db.session, WAITER)
    cvs.update(db.session, owner, cv, {"language": "en", "target_occupation": str(waiter.id)})
    assert cv.target_occupation == WAITER
    assert cvs.ranking(db.session, cv)[0].skills == [("essential", "Serve at table")]
    cvs.update(db.session, owner, cv, {"target_occupation": ""})
    assert cv.target_occupation is None and all(not r.skills for r in cvs.ranking(db.session, cv))


def test_occupation_words_join_the_offer(owner):
    """Without framework links, the occupation's labels and its skills' labels rank by words (BM25)."""
    tagged = items.create_item(db.session, owner, Experience, {
        "kind": "job", "title": "Stage", "start_date": "2023-01-01",
        "description": "Programmer en JavaScript et intégrer des pages web en HTML et CSS."})
    items.create_item(db.session, owner, Experience, {
        "kind": "job", "title": "Caissière", "start_date": "2022-01-01", "description": "Caisse."})
    db.session.commit()
    cv = cvs.create(db.session, owner, {"name": "Dev", "target_occupation": WEB})
    ranked = cvs.ranking(db.session, cv)
    assert ranked[0].id == str(tagged.id) and {"JavaScript", "HTML"} <= set(ranked[0].matched)


def test_unknown_or_not_an_occupation_is_refused(owner):
    for reference in ("https://example.org/nothing", SAMPLE + "skill/python", "not a uri", "x" * 300):
        with pytest.raises(ValidationFailed) as caught:
            cvs.create(db.session, owner, {"name": "X", "target_occupation": reference})
        assert (caught.value.code, caught.value.status) == ("unknown_occupation", 422), reference
    assert db.session.scalar(select(db.func.count()).select_from(CvVariant)) == 0


def test_a_retired_occupation_keeps_the_cv_working(owner, made):
    cv = cvs.create(db.session, owner, {"name": "Dev", "target_occupation": WEB})
    db.session.commit()
    concept = frameworks.get(db.session, WEB)
    db.session.delete(concept)  # even gone for good (never done by an import): ranks on the text alone
    db.session.commit()
    assert cvs.ranking(db.session, cv) and cvs.occupation_target(db.session, cv) is None


def _headers(person) -> dict:
    _, raw = tokens.create_token(db.session, person, "tests")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_api(client, owner, made):
    headers = _headers(owner)
    created = client.post("/api/v1/cvs", json={"name": "Dev", "target_occupation": WEB}, headers=headers)
    assert created.status_code == 201, created.data
    body = created.get_json()
    assert body["target_occupation"] == WEB and body["target_occupation_label"].startswith("Développeur web")
    first = body["ranking"][0]
    assert first["occupation_skills"] == [{"relation": "essential", "label": "Gérer les versions du code"}]
    unknown = client.post("/api/v1/cvs", json={"name": "X", "target_occupation": "urn:x"}, headers=headers)
    assert unknown.status_code == 422 and unknown.get_json()["error"] == "unknown_occupation"
    patched = client.patch(f"/api/v1/cvs/{body['id']}", json={"target_occupation": WAITER}, headers=headers)
    assert patched.status_code == 200 and patched.get_json()["ranking"][0]["id"] == str(made["tables"].id)
    listed = client.get("/api/v1/cvs", headers=headers).get_json()["items"]
    assert listed[0]["target_occupation_label"].startswith("Serveur")


def test_pages_resolve_the_typed_name_and_show_the_reasons(client, owner, made):
    login(client, owner.email)
    page = client.get("/cvs")
    assert b'data-concept-picker' in page.data and b'name="occupation"' in page.data
    token = csrf_token(page)
    # Without the picker's script: the name typed, accents and case aside.
    created = client.post("/cvs", data={"csrf_token": token, "name": "Dev", "template": "classic",
                                        "language": "fr", "occupation": "developpeur WEB"})
    assert created.status_code == 302, created.data[:500]
    cv = db.session.scalar(select(CvVariant))
    assert cv.target_occupation == WEB
    edit = client.get(created.location)
    text = edit.get_data(as_text=True)
    assert "essentielle : Gérer les versions du code" in text or "essential skill: Gérer les versions du code" in text
    assert 'value="Développeur web / développeuse web"' in text
    # Several matches: named, nothing created; none: "unknown occupation".
    several = client.post("/cvs", data={"csrf_token": token, "name": "Admin", "template": "classic",
                                        "language": "fr", "occupation": "administr"})
    assert several.status_code == 400 and db.session.scalar(select(db.func.count()).select_from(CvVariant)) == 1
    assert "Administrateur / administratrice systèmes" in several.get_data(as_text=True)
    none = client.post("/cvs", data={"csrf_token": token, "name": "Astronaute", "template": "classic",
                                     "language": "fr", "occupation": "astronaute"})
    assert none.status_code == 400 and db.session.scalar(select(db.func.count()).select_from(CvVariant)) == 1
    assert "No such occupation" in none.get_data(as_text=True) or "Ce métier n’est pas dans les référentiels" in none.get_data(as_text=True)
    # The picker's choice (hidden URI) wins while the name shown is its label.
    picked = client.post("/cvs", data={"csrf_token": token, "name": "Salle", "template": "classic",
                                       "language": "fr", "occupation": "Serveur / serveuse en restauration",
                                       "target_occupation": WAITER})
    assert picked.status_code == 302


def test_the_demo_has_a_cv_aimed_at_an_occupation(app):
    """``sillage demo``: Inès's CV aimed at the sample's sales occupation, her skills pointing at its
    concepts first with their reason; loading again adds nothing."""
    from app import demo  # noqa: PLC0415
    from tests.test_demo import run_demo  # noqa: PLC0415

    run_demo(app)
    run_demo(app)
    aimed = db.session.scalars(select(CvVariant).where(CvVariant.target_occupation.is_not(None))).all()
    assert len(aimed) == 1 and aimed[0].target_occupation.endswith("/occupation/vendeur-conseil")
    ranked = cvs.ranking(db.session, aimed[0])
    assert ranked[0].skills and ranked[0].skills[0][0] == "essential"
    owner = db.session.scalar(select(Portfolio).where(Portfolio.id == aimed[0].portfolio_id)).owner
    assert owner.email == demo.DEMO_ACCOUNTS[0].email
