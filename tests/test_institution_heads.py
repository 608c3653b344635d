"""Issue 13, the institution side: the owner's sharing page names a group grant and lists whom it reaches
(revocable, reading only); heads rename and archive groups (an archived group's grants reach nobody),
manage the staff and the partners from the institution page and the API; every head action lands in
the audit log with the head as its actor. Each refusal too: another school's head, a teacher, oneself."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.models import Membership
from app.models.institutions import Enrolment, GroupStaff
from app.services import audit, institutions, orgs
from app.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.membership_helpers import accept_all
from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_api_orgs import personal
from tests.test_institutions import HEADER, school


@pytest.fixture()
def classroom(app, make_user):
    """A school, its head, class 4e B with a teacher and a pupil enrolled (account linked)."""
    org, head = school(make_user, "Collège des Sources")
    group = institutions.create_group(db.session, org, name="4e B")
    pupil = make_user("yanis@eleve.example")
    db.session.add(Enrolment(organisation_id=org.id, group_id=group.id, family_name="Martin", given_name="Yanis",
                             user_id=pupil.id, guardian_emails=[]))
    teacher = make_user("prof@college.example")
    institutions.add_staff(db.session, org, group, email=teacher.email, role="teacher")
    db.session.commit()
    return org, head, group, pupil, teacher


def logout(client):
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/portfolio/sharing"))})


def test_the_owners_sharing_page_names_the_group_lists_whom_it_reaches_and_revokes(client, classroom, make_user):
    org, head, group, pupil, teacher = classroom
    grant = institutions.share_with_group(db.session, pupil, group_id=group.id, group_role="teacher")
    db.session.commit()
    login(client, pupil.email)
    page = client.get("/portfolio/sharing")
    text = page.get_data(as_text=True)
    assert "Enseignant·es de 4e B (Collège des Sources)" in text and "prof@college.example" in text
    listed = client.get("/api/v1/grants", headers=personal(pupil)).json["items"]
    assert listed[0]["label"] == "Enseignant·es de 4e B (Collège des Sources)"
    assert listed[0]["reaches"] == ["prof@college.example"] and listed[0]["email"] == ""
    # Reading only: the owner cannot make the group's staff contributors.
    response = client.patch(f"/api/v1/grants/{grant.id}", headers=personal(pupil), json={"role": "contributor"})
    assert response.status_code == 422
    edit = client.get(f"/portfolio/sharing/{grant.id}")
    assert edit.status_code == 200 and 'value="contributor"' not in edit.get_data(as_text=True)
    assert "Enseignant·es de 4e B" in edit.get_data(as_text=True)
    # Somebody else cannot revoke it (not found), the owner can, from the page.
    logout(client)
    login(client, make_user("someone@example.org").email)
    other = client.post(f"/portfolio/sharing/{grant.id}/revoke",
                        data={"csrf_token": csrf_token(client.get("/portfolio/sharing"))})
    assert other.status_code == 404
    logout(client)
    login(client, pupil.email)
    page = client.get("/portfolio/sharing")
    done = client.post(f"/portfolio/sharing/{grant.id}/revoke", data={"csrf_token": csrf_token(page)},
                       follow_redirects=True)
    assert "Enseignant·es de 4e B" in done.get_data(as_text=True)  # the flash names the group, not ""
    db.session.expire_all()
    assert grant.revoked_at is not None and institutions.shared_with_staff(db.session, teacher) == []


def test_rename_and_archive_a_group_archived_grants_reach_nobody(client, classroom, make_user):
    org, head, group, pupil, teacher = classroom
    grant = institutions.share_with_group(db.session, pupil, group_id=group.id)
    other = institutions.create_group(db.session, org, name="3e A")
    db.session.commit()
    assert [u for u, _r in institutions.reached(db.session, grant)] == [teacher]
    headers = personal(head)
    url = f"/api/v1/orgs/{org.id}/groups/{group.id}"
    assert client.patch(url, headers=headers, json={"name": "3e A"}).json["error"] == "group_exists"
    assert client.patch(url, headers=headers, json={"name": "  "}).status_code == 422
    assert client.patch(url, headers=headers, json={"name": "4e Bleue"}).json["name"] == "4e Bleue"
    # A teacher, or the head of another school, may do neither.
    assert client.patch(url, headers=personal(teacher), json={"name": "x"}).status_code == 403
    _org_b, head_b = school(make_user, "Collège B")
    assert client.post(f"{url}/archive", headers=personal(head_b)).status_code == 403

    login(client, head.email)
    page = client.get(f"/institutions/{org.id}/groups/{group.id}")
    assert page.status_code == 200 and "4e Bleue" in page.get_data(as_text=True)
    response = client.post(f"/institutions/{org.id}/groups/{group.id}/archive",
                           data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert response.status_code == 200 and b"data-archived" in response.data
    db.session.expire_all()
    assert group.archived_at is not None
    assert institutions.reached(db.session, grant) == [] and institutions.shared_with_staff(db.session, teacher) == []
    assert group not in institutions.shareable_groups(db.session, pupil)
    again = client.post(f"{url}/archive", headers=headers)
    assert again.status_code == 409 and again.json["error"] == "group_archived"
    assert client.get(f"/api/v1/orgs/{org.id}/groups/{other.id}", headers=headers).json["archived_at"] is None
    actions = [e.action for e in audit.events(db.session, organisation_id=org.id)]
    assert {"group.rename", "group.archive"} <= set(actions)
    assert all(e.actor_id == head.id for e in audit.events(db.session, organisation_id=org.id, action="group.archive"))


def test_heads_manage_the_staff_from_the_institution_page_and_the_api(client, classroom, make_user):
    org, head, group, pupil, teacher = classroom
    newcomer = make_user("cpe@college.example")
    login(client, head.email)
    page = client.get(f"/institutions/{org.id}")
    assert page.status_code == 200 and "prof@college.example" in page.get_data(as_text=True)
    client.post(f"/institutions/{org.id}/staff", data={"csrf_token": csrf_token(page), "email": newcomer.email,
                                                        "role": "counsellor"})
    membership = db.session.scalars(select(Membership).where(Membership.user_id == newcomer.id)).one()
    assert membership.role == "counsellor" and membership.accepted_at is None
    accept_all(newcomer.email)
    # A role outside the staff's (admin, issuer) is refused; an address without an account is invited like
    # any other (the answer does not tell whether it has one).
    headers = personal(head)
    url = f"/api/v1/orgs/{org.id}/staff"
    assert client.post(url, headers=headers, json={"email": make_user().email, "role": "admin"}).status_code == 422
    invited = client.post(url, headers=headers, json={"email": "nobody@example.org", "role": "teacher"})
    assert invited.status_code == 201 and invited.json["status"] == "pending" and invited.json["user_id"] is None
    assert client.post(url, headers=personal(teacher), json={"email": newcomer.email, "role": "head"}).status_code == 403
    client.post(f"/institutions/{org.id}/staff/{membership.id}",
                data={"csrf_token": csrf_token(page), "action": "role", "role": "head"})
    db.session.expire_all()
    assert membership.role == "head"
    # Nobody demotes or removes themself (the institution keeps the acting head).
    own = db.session.scalars(select(Membership).where(Membership.user_id == head.id)).one()
    response = client.patch(f"{url}/{own.id}", headers=headers, json={"role": "teacher"})
    assert response.status_code == 409 and response.json["error"] == "own_membership"
    # Removing the teacher: they leave the groups too, and a group grant stops reaching them.
    grant = institutions.share_with_group(db.session, pupil, group_id=group.id)
    db.session.commit()
    teacher_membership = db.session.scalars(select(Membership).where(Membership.user_id == teacher.id)).one()
    assert client.delete(f"{url}/{teacher_membership.id}", headers=headers).status_code == 204
    assert db.session.scalars(select(GroupStaff).where(GroupStaff.user_id == teacher.id)).first() is None
    assert institutions.reached(db.session, grant) == []
    assert client.delete(f"{url}/{teacher_membership.id}", headers=headers).status_code == 404
    listed = client.get(url, headers=headers).json["items"]
    assert sorted(m["email"] for m in listed) == sorted([head.email, newcomer.email, "nobody@example.org"])
    # Another school's head: its staff ids are not found through their own school, refused on this one.
    org_b, head_b = school(make_user, "Collège B")
    assert client.get(url, headers=personal(head_b)).status_code == 403
    with pytest.raises(NotFound):
        institutions.remove_staff_member(db.session, head_b, org_b, membership.id)
    actions = {(e.action, e.actor_id) for e in audit.events(db.session, organisation_id=org.id)}
    assert {("member.invite", head.id), ("member.change_role", head.id), ("member.remove", head.id)} <= actions


def test_an_issuing_member_is_not_the_heads_to_change(app, classroom, make_user):
    org, head, *_rest = classroom
    issuer = make_user("issuer@college.example")
    membership = orgs.add_member(db.session, policy.OPERATOR, org, issuer.email, "issuer")
    with pytest.raises(NotFound):
        institutions.change_staff_role(db.session, head, org, membership.id, "teacher")
    with pytest.raises(ValidationFailed):
        institutions.add_staff_member(db.session, head, org, email=make_user().email, role="partner")
    with pytest.raises(Forbidden):
        institutions.add_staff_member(db.session, issuer, org, email=make_user().email, role="teacher")
    with pytest.raises(Conflict):
        institutions.add_staff_member(db.session, head, org, email=issuer.email, role="teacher")


def test_partners_page_lists_and_adds_partners_for_heads_only(client, classroom, make_user):
    org, head, group, pupil, teacher = classroom
    club = make_user("club@sport.example")
    login(client, head.email)
    page = client.get(f"/institutions/{org.id}")
    assert "Aucun partenaire pour l’instant." in page.get_data(as_text=True) and b"data-partner" not in page.data
    response = client.post(f"/institutions/{org.id}/partners", data={"csrf_token": csrf_token(page),
                                                                     "email": club.email}, follow_redirects=True)
    assert response.status_code == 200 and b"club@sport.example" in response.data and b"data-partner" not in response.data
    assert b"data-invitation" in response.data  # invited: a partner once they accept
    accept_all(club.email)
    assert b"data-partner" in client.get(f"/institutions/{org.id}").data
    twice = client.post(f"/institutions/{org.id}/partners", data={"csrf_token": csrf_token(page),
                                                                  "email": club.email}, follow_redirects=True)
    assert "déjà membre".encode() in twice.data
    missing_csrf = client.post(f"/institutions/{org.id}/partners", data={"email": make_user().email})
    assert missing_csrf.status_code == 400
    event = audit.events(db.session, organisation_id=org.id, action="member.invite")[0]
    assert event.actor_id == head.id and event.details["role"] == "partner"
    assert client.get(f"/api/v1/orgs/{org.id}/partners", headers=personal(head)).json["items"][0]["email"] == club.email
    logout(client)
    login(client, teacher.email)
    assert client.get(f"/institutions/{org.id}").status_code == 404
    assert client.post(f"/institutions/{org.id}/partners", data={
        "csrf_token": csrf_token(client.get("/institutions")), "email": make_user().email}).status_code == 404


def test_every_head_action_is_audited_with_the_head(client, classroom, make_user):
    org, head, group, pupil, teacher = classroom
    headers = personal(head)
    created = client.post(f"/api/v1/orgs/{org.id}/groups", headers=headers, json={"name": "6e C"})
    assert created.status_code == 201
    new_group = created.json["id"]
    staffed = client.post(f"/api/v1/orgs/{org.id}/groups/{new_group}/staff", headers=headers,
                          json={"email": teacher.email, "role": "teacher"})
    client.delete(f"/api/v1/orgs/{org.id}/groups/{new_group}/staff/{staffed.json['id']}", headers=headers)
    enrolment = db.session.scalars(select(Enrolment)).one()
    client.post(f"/api/v1/orgs/{org.id}/enrolments/{enrolment.id}/end", headers=headers, json={"reason": "moved"})
    roster = (HEADER + "Petit;Zoé;2011-05-06;6e C;;;\n").encode()
    started = client.post(f"/api/v1/orgs/{org.id}/roster", headers=headers, content_type="multipart/form-data",
                          data={"file": (io.BytesIO(roster), "r.csv")})
    assert started.status_code == 202
    events = audit.events(db.session, organisation_id=org.id)
    by_action = {e.action: e for e in events}
    for action in ("group.create", "staff.add", "staff.remove", "enrolment.end", "roster.import"):
        assert by_action[action].actor_id == head.id, action
    assert by_action["enrolment.end"].details == {"reason": "moved"}
    assert by_action["roster.import"].details == {"rows": 1}
    # The roster's own steps (the group it may create, affiliations it ends) add no line of their own.
    assert [e.action for e in events].count("enrolment.end") == 1
    # Refused acts leave no line.
    before = len(events)
    assert client.post(f"/api/v1/orgs/{org.id}/groups", headers=personal(teacher), json={"name": "x"}).status_code == 403
    assert len(audit.events(db.session, organisation_id=org.id)) == before
    from cv_templates import pdf
    if pdf.available():
        letters = client.get(f"/api/v1/orgs/{org.id}/letters.pdf?group={new_group}", headers=headers)
        assert letters.status_code == 200
        assert audit.events(db.session, action="letters.print")[0].details == {"pages": 1}


def test_the_group_page_says_each_pupils_state_in_words(client, classroom):
    """The pupils' table reads "activated", "awaiting activation"… in the reader's language, not the keys."""
    org, head, group, _pupil, _teacher = classroom
    db.session.add(Enrolment(organisation_id=org.id, group_id=group.id, family_name="Lopes", given_name="Sarah",
                             guardian_emails=[]))
    db.session.commit()
    login(client, head.email)
    html = client.get(f"/institutions/{org.id}/groups/{group.id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True)
    assert '<td data-status="active">activated' in html
    assert '<td data-status="pending">awaiting activation' in html
    french = client.get(f"/institutions/{org.id}/groups/{group.id}", headers={"Accept-Language": "fr"})
    assert "en attente d’activation" in french.get_data(as_text=True)
