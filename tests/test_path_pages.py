"""The path pages: hypotheses list and creation through the occupation search (no JavaScript), the
hypothesis page with its gap analysis and plan, the counsellor's view and workspace on "Shared with me",
and the refusals (another person's hypothesis, a viewer, forms without CSRF, a counsellor's edit)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Grant
from app.models.path import Hypothesis, PlanItem
from app.services import path
from tests.collab_helpers import accepted_grant
from tests.conftest import login
from tests.helpers import csrf_token
from tests.path_helpers import CARE_ASSISTANT, HYGIENE, MOBILITY, load_frameworks, skill


@pytest.fixture
def owner(app, make_user):
    load_frameworks()
    person = make_user("ines@example.org", display_name="Inès Martin", locale="en")
    skill(person, "Toilette et confort", HYGIENE)
    return person


def _logout(client):
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/settings"))})


def test_create_through_the_occupation_search_and_see_the_gap(client, owner):
    login(client, owner.email)
    page = client.get("/path?q=AIDE soignant")  # case and accents ignored
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and f'value="{CARE_ASSISTANT}"' in text
    response = client.post("/path?q=aide%20soignant", data={"csrf_token": csrf_token(page),
                                                            "occupation": CARE_ASSISTANT})
    assert response.status_code == 302
    hypothesis = db.session.scalar(select(Hypothesis))
    assert response.headers["Location"].endswith(f"/path/{hypothesis.id}")
    page = client.get(f"/path/{hypothesis.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    have = text[text.index("path-have"):text.index("path-missing")]
    assert f'data-concept="{HYGIENE}"' in have and "evidence-self_declared" in have
    missing = text[text.index("path-missing"):]
    assert f'data-concept="{MOBILITY}"' in missing
    assert client.get("/path").get_data(as_text=True).count("data-hypothesis=") == 1


def test_create_bad_input(client, owner):
    login(client, owner.email)
    page = client.get("/path")
    response = client.post("/path", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 400 and "Choose an occupation or describe the path" in response.get_data(as_text=True)
    response = client.post("/path", data={"csrf_token": csrf_token(page), "occupation": "https://example.org/x"})
    assert response.status_code == 400 and db.session.scalar(select(Hypothesis)) is None
    response = client.post("/path", data={"description": "no token"})
    assert response.status_code == 400 and db.session.scalar(select(Hypothesis)) is None
    response = client.post("/path", data={"csrf_token": csrf_token(page), "description": "Devenir libraire"})
    assert response.status_code == 302


def test_plan_on_the_page_owner_and_counsellor(client, owner, make_user):
    hypothesis = path.create_hypothesis(db.session, owner, {"occupation": CARE_ASSISTANT})
    db.session.commit()
    counsellor = make_user("conseil@example.org", display_name="Mme Conseil", locale="en")
    grant = accepted_grant(owner, counsellor, role="counsellor")

    login(client, counsellor.email)
    shared = client.get("/shared").get_data(as_text=True)
    assert "data-path-summary" in shared and f"/shared/{grant.id}/path" in shared
    listing = client.get(f"/shared/{grant.id}/path")
    assert listing.status_code == 200 and f'data-hypothesis="{hypothesis.id}"' in listing.get_data(as_text=True)
    page = client.get(f"/path/{hypothesis.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Change this hypothesis" not in text  # no owner form
    token = csrf_token(page)
    response = client.post(f"/path/{hypothesis.id}/items/goal", data={
        "csrf_token": token, "goal-title": "Stage d'observation", "goal-due_on": "2027-01-15"})
    assert response.status_code == 302
    response = client.post(f"/path/{hypothesis.id}/items/note", data={
        "csrf_token": token, "note-body": "Premier rendez-vous", "note-happened_on": "2026-12-01"})
    assert response.status_code == 302
    response = client.post(f"/path/{hypothesis.id}/items/note", data={"csrf_token": token, "note-body": ""})
    assert response.status_code == 400
    proposal = db.session.scalar(select(PlanItem).where(PlanItem.kind == "goal"))
    assert proposal.acceptance == "pending" and proposal.author_role == "counsellor"
    # The counsellor cannot decide nor edit the hypothesis.
    client.post(f"/path/items/{proposal.id}/accept", data={"csrf_token": token})
    db.session.refresh(proposal)
    assert proposal.acceptance == "pending"
    assert client.post(f"/path/{hypothesis.id}/edit", data={"csrf_token": token, "edit-title": "x",
                                                            "edit-status": "active"}).status_code == 404
    assert client.post(f"/path/{hypothesis.id}/delete", data={"csrf_token": token}).status_code == 404
    _logout(client)

    login(client, owner.email)
    page = client.get(f"/path/{hypothesis.id}")
    text = page.get_data(as_text=True)
    assert "Stage d&#39;observation" in text and "Premier rendez-vous" in text and "plan-proposal" in text
    token = csrf_token(page)
    assert client.post(f"/path/items/{proposal.id}/accept", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/path/items/{proposal.id}/status", data={"csrf_token": token,
                                                                   "status": "done"}).status_code == 302
    db.session.refresh(proposal)
    assert (proposal.acceptance, proposal.status) == ("accepted", "done")
    history = client.get(f"/path/{hypothesis.id}/history").get_data(as_text=True)
    assert history.count("data-event=") == 5 and "Mme Conseil" in history
    response = client.post(f"/path/{hypothesis.id}/edit", data={"csrf_token": token, "edit-title": "Aide-soignante",
                                                                "edit-status": "active", "edit-notes": "Motivée"})
    assert response.status_code == 302
    db.session.refresh(hypothesis)
    assert (hypothesis.title, hypothesis.status, hypothesis.notes) == ("Aide-soignante", "active", "Motivée")


def test_others_get_404(client, owner, make_user):
    hypothesis = path.create_hypothesis(db.session, owner, {"description": "Devenir libraire"})
    db.session.commit()
    viewer = make_user("viewer@example.org")
    grant = accepted_grant(owner, viewer, role="viewer")
    login(client, viewer.email)
    assert client.get(f"/path/{hypothesis.id}").status_code == 404
    assert client.get(f"/path/{hypothesis.id}/history").status_code == 404
    assert client.get(f"/shared/{grant.id}/path").status_code == 404
    assert "data-path-summary" not in client.get("/shared").get_data(as_text=True)
    page = client.get("/path")
    assert client.post(f"/path/{hypothesis.id}/items/note", data={"csrf_token": csrf_token(page),
                                                                  "note-body": "x"}).status_code == 404
    assert client.get("/path/not-an-id").status_code == 404


def test_page_escapes_what_people_wrote(client, owner, make_user):
    hypothesis = path.create_hypothesis(db.session, owner, {"description": "<script>alert(1)</script>"})
    path.add_item(db.session, owner, hypothesis, {"kind": "note", "body": "<img src=x onerror=alert(1)>"})
    db.session.commit()
    login(client, owner.email)
    text = client.get(f"/path/{hypothesis.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in text and "<img src=x" not in text
    assert re.search(r"&lt;img src=x onerror=alert\(1\)&gt;", text)


def test_demo_path_for_ines_and_claire(app, client):
    """``sillage demo``: Inès's hypothesis has a gap, trainings close part of it, and Claire (her
    counsellor) sees the plan with a proposal waiting for Inès; a second run adds nothing."""
    from tests.test_demo import run_demo

    run_demo(app)
    run_demo(app)
    hypothesis = db.session.scalars(select(Hypothesis)).one()
    owner = hypothesis.portfolio.owner
    gap = path.gap(db.session, hypothesis.portfolio, hypothesis)
    assert len(gap["have"]) >= 3 and len(gap["missing"]) >= 3
    assert {e["evidence"] for e in gap["have"]} <= {"self_declared", "document", "attested", "credential"}
    assert len(path.trainings_for(db.session, gap["missing"])) >= 2
    claire = db.session.scalar(select(Grant).where(Grant.portfolio_id == owner.portfolio.id,
                                                   Grant.role == "counsellor")).grantee
    assert db.session.scalar(select(PlanItem).where(PlanItem.acceptance == "pending")).author_id == claire.id
    login(client, claire.email, _demo_password(claire.email))
    page = client.get(f"/path/{hypothesis.id}")
    assert page.status_code == 200 and "Premier rendez-vous" in page.get_data(as_text=True)


def _demo_password(email: str) -> str:
    from app.demo import DEMO_ACCOUNTS

    return next(account.password for account in DEMO_ACCOUNTS if account.email == email)


def test_the_owners_notes_are_not_shown_to_the_counsellor(client, owner, make_user):
    """"Your notes" stay the owner's (review 13, L3)."""
    hypothesis = path.create_hypothesis(db.session, owner, {"occupation": CARE_ASSISTANT,
                                                            "notes": "Mes doutes privés"})
    db.session.commit()
    counsellor = make_user("conseil@example.org", display_name="Mme Conseil", locale="en")
    accepted_grant(owner, counsellor, role="counsellor")
    login(client, owner.email)
    assert "Mes doutes privés" in client.get(f"/path/{hypothesis.id}").get_data(as_text=True)
    _logout(client)
    login(client, counsellor.email)
    page = client.get(f"/path/{hypothesis.id}")
    assert page.status_code == 200 and "Mes doutes privés" not in page.get_data(as_text=True)
