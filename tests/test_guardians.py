"""Guardians and partners over HTTP: the API and the page; every refusal (the pupil's own address as a
guardian's, a guardian writing, a stranger deciding, a partner proposing without a grant, a non-head adding
partners, consent missing)."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Experience, Membership
from app.models.institutions import Enrolment
from app.services import collab, grants, guardians, portfolio as items, tokens
from app.services.errors import ServiceError
from tests.membership_helpers import accept_all
from tests.conftest import login
from tests.test_institutions import school
from tests.test_minors import name_guardian, years_ago


def bearer(user) -> dict:
    _token, raw = tokens.create_token(db.session, user, "tests")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture()
def family(app, make_user):
    pupil = make_user("leo@eleve.example")
    pupil.birth_date = years_ago(12)
    parent = make_user("parent@example.org")
    db.session.commit()
    name_guardian(make_user, pupil, parent.email)
    return pupil, parent


def test_api_invitation_consent_and_refusals(app, client, family, make_user):
    pupil, parent = family
    pupil_h = bearer(pupil)
    same = client.post("/api/v1/guardians/invitations", json={"email": "leo@eleve.example"}, headers=pupil_h)
    assert same.status_code == 422 and same.get_json()["error"] == "guardian_is_pupil"
    made = client.post("/api/v1/guardians/invitations", json={"email": parent.email}, headers=pupil_h)
    assert made.status_code == 201, made.get_json()
    grant = db.session.get(grants.Grant, __import__("uuid").UUID(made.get_json()["grant_id"]))
    assert grant.role == "guardian" and grant.scope == "all"
    grants._accept(db.session, parent, grant)
    db.session.commit()
    # Consent missing: the pupil's share link is refused with the code and a clear message.
    page = client.post("/api/v1/pages", json={"title": "Ma page"}, headers=pupil_h)
    assert page.status_code == 201, page.get_json()
    link = client.post("/api/v1/share-links", json={"page_id": page.get_json()["id"]}, headers=pupil_h)
    assert link.status_code == 403 and link.get_json()["error"] == "guardian_consent_required"
    parent_h = bearer(parent)
    stranger_h = bearer(make_user("stranger@example.org"))
    body = {"minor_id": str(pupil.id), "scope": "share_link", "decision": "granted"}
    refused = client.post("/api/v1/guardians/consents", json=body, headers=stranger_h)
    assert refused.status_code == 403 and refused.get_json()["error"] == "not_guardian"
    decided = client.post("/api/v1/guardians/consents", json=body, headers=parent_h)
    assert decided.status_code == 201 and decided.get_json()["guardian_email"] == parent.email
    link = client.post("/api/v1/share-links", json={"page_id": page.get_json()["id"]}, headers=pupil_h)
    assert link.status_code == 201, link.get_json()
    overview = client.get("/api/v1/guardians", headers=parent_h).get_json()
    assert overview["minors"][0]["id"] == str(pupil.id) and overview["minors"][0]["consents"][0]["scope"] == "share_link"
    # A guardian writes nothing.
    item = items.create_item(db.session, pupil, Experience, {"kind": "internship", "title": "Stage",
                                                             "start_date": "2026-03-01"})
    db.session.commit()
    changed = client.patch(f"/api/v1/experiences/{item.id}", json={"title": "Changé"}, headers=parent_h)
    assert changed.status_code in (403, 404)
    assert db.session.get(Experience, item.id).title == "Stage"
    with pytest.raises(ServiceError):
        collab.propose_item(db.session, parent, grant.id, "experience", {"kind": "job", "title": "x"})


def test_the_page_for_the_pupil_and_the_guardian(app, client, family):
    pupil, parent = family
    grant, raw = guardians.invite(db.session, pupil, parent.email)
    grants.accept_by_link(db.session, parent, raw)
    db.session.commit()
    login(client, pupil.email)
    page = client.get("/guardians")
    assert page.status_code == 200 and parent.email in page.get_data(as_text=True)
    other = app.test_client()
    login(other, parent.email)
    page = other.get("/guardians").get_data(as_text=True)
    assert f'data-minor="{pupil.id}"' in page


def test_partners_are_added_by_heads_only_and_contribute_only_through_a_grant(app, client, family, make_user):
    pupil, _parent = family
    org, head = school(make_user)
    other_org, other_head = school(make_user, name="Autre lycée")
    partner = make_user("club@sport.example")
    # The pupil is enrolled in ``org``: its partners are inside their institution (no consent needed, M5).
    db.session.add(Enrolment(organisation_id=org.id, family_name="Martin", given_name="Léo",
                             birth_date=pupil.birth_date, user_id=pupil.id, guardian_emails=[]))
    db.session.commit()
    refused = client.post(f"/api/v1/orgs/{org.id}/partners", json={"email": partner.email}, headers=bearer(other_head))
    assert refused.status_code == 403
    added = client.post(f"/api/v1/orgs/{org.id}/partners", json={"email": partner.email}, headers=bearer(head))
    assert added.status_code == 201 and added.get_json()["role"] == "partner"
    listed = client.get(f"/api/v1/orgs/{org.id}/partners", headers=bearer(head)).get_json()["items"]
    assert [p["email"] for p in listed] == [partner.email]
    assert db.session.query(Membership).filter_by(user_id=partner.id).one().role == "partner"
    accept_all(partner.email)  # the partner accepts the head's invitation
    # Without a contributor grant the partner proposes nothing.
    viewer_grant, raw = grants.invite(db.session, pupil, email=partner.email, role="viewer")
    grants.accept_by_link(db.session, partner, raw)
    db.session.commit()
    with pytest.raises(ServiceError):
        collab.propose_item(db.session, partner, viewer_grant.id, "experience", {"kind": "volunteering", "title": "Tournoi"})
    # With the contributor grant the pupil accepted: a proposal, which the pupil decides on.
    grants.change(db.session, pupil, viewer_grant, role="contributor")
    db.session.commit()
    proposal = collab.propose_item(db.session, partner, viewer_grant.id, "experience",
                                   {"kind": "volunteering", "title": "Tournoi", "start_date": "2026-03-01"})
    assert proposal.status == "pending"


def test_activation_letters_carry_the_guardians_section_on_one_page_each(app, make_user):
    from cv_templates import pdf
    from sqlalchemy import select

    from app.models.institutions import Group
    from app.services import institutions
    from tests.test_institutions import HEADER, run_import
    if not pdf.available():
        pytest.skip(f"WeasyPrint unavailable: {pdf.unavailable_reason()}")
    org, head = school(make_user)
    run_import(head, org, HEADER + "".join(f"Nom{i};Prénom{i};01/01/2014;5e B;;;parent{i}@example.org\n"
                                          for i in range(2)))
    group = db.session.scalars(select(Group)).one()
    data, count = institutions.letters(db.session, org, group, base_url="https://sillage.example")
    assert count == 2 and "Pour les responsables légaux" in " ".join(pdf.text_of(data).split())
    import pypdfium2
    assert len(pypdfium2.PdfDocument(data)) == 2  # the guardians' section still fits on each pupil's page


def test_demo_has_a_partner(app):
    from app import demo
    lines = demo.load(db.session)
    db.session.commit()
    assert any(line.startswith("Demo partner:") for line in lines)
    assert db.session.query(Membership).filter_by(role="partner").count() == 1
    demo.load(db.session)  # idempotent
    assert db.session.query(Membership).filter_by(role="partner").count() == 1


def test_a_pupil_cannot_make_themself_a_guardian(app, client, family, make_user):
    """Review 14, H1: a pupil's second address made "guardian" (by the guardians page, the API, the sharing
    page or a changed share) never decides, and the guardian the school named cannot be revoked by the pupil."""
    pupil, parent = family
    alt = make_user("leo.alt@gmail.example")
    pupil_h = bearer(pupil)
    api = client.post("/api/v1/guardians/invitations", json={"email": alt.email}, headers=pupil_h)
    assert api.status_code == 403 and api.get_json()["error"] == "guardian_not_named"
    api = client.post("/api/v1/grants", json={"email": alt.email, "role": "guardian"}, headers=pupil_h)
    assert api.status_code == 403 and api.get_json()["error"] == "guardian_not_named"
    login(client, pupil.email)
    client.post("/guardians/invite", data={"email": alt.email})
    form = client.get("/portfolio/sharing/new").get_data(as_text=True)
    assert 'value="guardian"' not in form
    client.post("/portfolio/sharing/new", data={"email": alt.email, "role": "guardian", "extent": "all"})
    assert db.session.query(grants.Grant).filter_by(email=alt.email, role="guardian").count() == 0
    # A friend's viewer share turned into a guardian's: refused (the page and the service).
    # (a viewer share made earlier: under 15 a new one to an outsider would wait for consent, M5)
    viewer = grants.Grant(portfolio_id=pupil.portfolio.id, email=alt.email, role="viewer", scope="all",
                          grantee_id=alt.id, accepted_at=grants.utcnow(), invited_by_id=pupil.id, locale="fr")
    db.session.add(viewer)
    db.session.commit()
    with pytest.raises(ServiceError):
        grants.change(db.session, pupil, viewer, role="guardian")
    db.session.rollback()
    changed = client.patch(f"/api/v1/grants/{viewer.id}", json={"role": "guardian"}, headers=pupil_h)
    assert changed.status_code == 422 and db.session.get(grants.Grant, viewer.id).role == "viewer"
    # A guardian grant the pupil made before (or whose e-mail the school removed) reads but decides nothing.
    old = grants.Grant(portfolio_id=pupil.portfolio.id, email=alt.email + ".old", role="guardian", scope="all",
                       grantee_id=alt.id, accepted_at=grants.utcnow(), invited_by_id=pupil.id, locale="fr")
    viewer.revoked_at = grants.utcnow()
    db.session.add(old)
    db.session.commit()
    body = {"minor_id": str(pupil.id), "scope": "share_link", "decision": "granted"}
    decided = client.post("/api/v1/guardians/consents", json=body, headers=bearer(alt))
    assert decided.status_code == 403 and decided.get_json()["error"] == "guardian_not_named"
    assert not guardians.minors.has_consent(db.session, pupil, "share_link")
    # The guardian the school named: invited, accepted; the pupil cannot revoke them (page or API).
    grant, raw = guardians.invite(db.session, pupil, parent.email)
    grants.accept_by_link(db.session, parent, raw)
    db.session.commit()
    client.post(f"/portfolio/sharing/{grant.id}/revoke")
    gone = client.delete(f"/api/v1/grants/{grant.id}", headers=pupil_h)
    assert gone.status_code == 403 and gone.get_json()["error"] == "guardian_named_by_school"
    assert db.session.get(grants.Grant, grant.id).revoked_at is None
    assert client.post("/api/v1/guardians/consents", json=body, headers=bearer(parent)).status_code == 201
