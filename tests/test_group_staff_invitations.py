"""A head gives a group place by e-mail (issue 13; review 14, M4 follow-up): the answer never tells whether
the address has an account. Someone not yet staff of the institution is invited (or their pending invitation
is used) and the place waits with the invitation: it reaches nothing until they accept, goes if they decline
or the invitation is withdrawn, and is not taken in a group archived meanwhile. Accepted staff get the place
at once, as the operator's acts (demo, command line) do."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.models import Grant, Membership
from app.models.institutions import GroupStaff
from app.services import guardians, institutions, invitations
from app.services.errors import Conflict, ValidationFailed
from tests.conftest import login
from tests.helpers import csrf_token
from tests.membership_helpers import accepted
from tests.test_api_orgs import personal
from tests.test_institution_heads import classroom  # noqa: F401 (fixture)
from tests.test_institutions import school


def _places(group) -> list[GroupStaff]:
    db.session.expire_all()
    return list(db.session.scalars(select(GroupStaff).where(GroupStaff.group_id == group.id)))


def _invitation(org, email) -> Membership:
    return db.session.scalars(select(Membership).where(Membership.organisation_id == org.id,
                                                      Membership.email == email)).one()


def test_the_heads_answer_is_the_same_with_or_without_an_account_or_an_invitation(client, classroom, make_user):
    org, head, group, _pupil, teacher = classroom
    make_user("has.account@college.example")
    make_user("already.invited@college.example")
    institutions.add_staff_member(db.session, head, org, email="already.invited@college.example", role="teacher")
    db.session.commit()
    url = f"/api/v1/orgs/{org.id}/groups/{group.id}/staff"
    answers = {}
    for email in ("has.account@college.example", "nobody@college.example", "already.invited@college.example"):
        response = client.post(url, headers=personal(head), json={"email": email.upper(), "role": "counsellor"})
        answers[email] = (response.status_code, sorted(response.json), response.json["status"],
                          response.json["email"], response.json["role"])
    assert {(status, tuple(keys), state, role) for status, keys, state, _email, role in answers.values()} == {
        (201, ("email", "id", "role", "status"), "pending", "counsellor")}
    assert all(email == typed for typed, (*_rest, email, _role) in answers.items())
    # Each is an invitation to the institution's staff (the one already sent is used, not doubled).
    for email in answers:
        assert _invitation(org, email).accepted_at is None
    # Accepted staff get their place at once (the head sees the staff list anyway).
    response = client.post(url, headers=personal(head), json={"email": teacher.email, "role": "teacher"})
    assert response.status_code == 201 and response.json["status"] == "accepted"
    # The group's detail lists the waiting places by the address typed.
    detail = client.get(f"/api/v1/orgs/{org.id}/groups/{group.id}", headers=personal(head)).json["staff"]
    assert sorted((s["email"], s["status"]) for s in detail) == [
        ("already.invited@college.example", "pending"), ("has.account@college.example", "pending"),
        ("nobody@college.example", "pending"), (teacher.email, "accepted")]


def test_the_page_answers_the_same_lists_and_removes_a_waiting_place(client, classroom, make_user):
    org, head, group, _pupil, _teacher = classroom
    make_user("has.account@college.example")
    login(client, head.email)
    url = f"/institutions/{org.id}/groups/{group.id}"
    flashes = []
    for email in ("has.account@college.example", "nobody@college.example"):
        response = client.post(f"{url}/staff", data={"csrf_token": csrf_token(client.get(url)), "email": email,
                                                     "role": "teacher"})
        assert response.status_code == 302
        page = client.get(url).get_data(as_text=True)
        flashes.append(page.split('class="flash flash-')[1].split("</")[0])
        row = page.split(email)[1].split("</li>")[0]
        assert "data-pending" in row
    assert flashes[0] == flashes[1]
    place = next(p for p in _places(group) if p.pending and p.address == "nobody@college.example")
    assert client.post(f"{url}/staff/{place.id}/remove",
                       data={"csrf_token": csrf_token(client.get(url))}).status_code == 302
    assert "nobody@college.example" not in [p.address for p in _places(group)]
    assert _invitation(org, "nobody@college.example").accepted_at is None  # the invitation itself stays
    # A bad address says what is wrong.
    client.post(f"{url}/staff", data={"csrf_token": csrf_token(client.get(url)), "email": "not an address",
                                      "role": "teacher"})
    flash = client.get(url).get_data(as_text=True).split('class="flash flash-error"')[1].split("</div>")[0]
    assert "Saisissez une adresse électronique valide." in flash
    # Without the form's token, nothing happens.
    assert client.post(f"{url}/staff", data={"email": "x@college.example", "role": "teacher"}).status_code == 400


def test_the_api_removes_a_waiting_place(client, classroom):
    org, head, group, _pupil, _teacher = classroom
    url = f"/api/v1/orgs/{org.id}/groups/{group.id}/staff"
    created = client.post(url, headers=personal(head), json={"email": "later@college.example", "role": "teacher"})
    assert client.delete(f"{url}/{created.json['id']}", headers=personal(head)).status_code == 204
    assert [p.address for p in _places(group)] == ["prof@college.example"]


def test_the_place_counts_once_the_person_accepts_and_reaches_nothing_before(app, classroom, make_user):
    org, head, group, pupil, teacher = classroom
    invited = make_user("cpe@college.example")  # an account invited: the place still waits
    institutions.add_staff(db.session, org, group, email=invited.email, role="counsellor", actor=head)
    institutions.add_staff(db.session, org, group, email="future@college.example", role="teacher", actor=head)
    grant = institutions.share_with_group(db.session, pupil, group_id=group.id)
    db.session.commit()
    assert [u for u, _r in institutions.reached(db.session, grant)] == [teacher]
    assert institutions.shared_with_staff(db.session, invited) == []
    assert institutions.staff_groups(db.session, invited) == []
    assert db.session.scalars(select(Grant).where(policy.reaches_clause(invited))).all() == []
    # The address without an account: the person signs up later, confirms the address, accepts.
    future = make_user("future@college.example")
    assert [m.id for m in invitations.mine(db.session, future)] == [_invitation(org, future.email).id]
    accepted(_invitation(org, future.email))
    accepted(_invitation(org, invited.email))
    db.session.commit()
    assert sorted(u.email for u, _r in institutions.reached(db.session, grant)) == sorted(
        [teacher.email, invited.email, future.email])
    assert institutions.staff_groups(db.session, future) == [(group, "teacher")]
    assert not any(p.pending for p in _places(group))


def test_no_place_after_a_decline_a_withdrawal_or_in_a_group_archived_meanwhile(app, classroom, make_user):
    org, head, group, _pupil, _teacher = classroom
    other = institutions.create_group(db.session, org, name="3e A")
    for email in ("declines@college.example", "withdrawn@college.example", "archived@college.example"):
        institutions.add_staff(db.session, org, group if email != "archived@college.example" else other,
                               email=email, role="teacher", actor=head)
    db.session.commit()
    declines = make_user("declines@college.example")
    invitations.decline(db.session, declines, _invitation(org, declines.email).id)
    institutions.remove_staff_member(db.session, head, org, _invitation(org, "withdrawn@college.example").id)
    institutions.archive_group(db.session, org, other, actor=head)
    late = make_user("archived@college.example")
    accepted(_invitation(org, late.email))
    db.session.commit()
    assert [p.address for p in _places(group)] == ["prof@college.example"]
    assert _places(other) == [] and institutions.staff_groups(db.session, late) == []
    # Withdrawing one invitation left the other waiting places alone.
    institutions.add_staff(db.session, org, group, email="waits@college.example", role="teacher", actor=head)
    institutions.add_staff(db.session, org, group, email="gone@college.example", role="teacher", actor=head)
    institutions.remove_staff_member(db.session, head, org, _invitation(org, "gone@college.example").id)
    db.session.commit()
    assert sorted(p.address for p in _places(group)) == ["prof@college.example", "waits@college.example"]


def test_refusals_another_schools_head_a_partner_a_bad_address_and_the_operator(client, classroom, make_user):
    org, head, group, _pupil, _teacher = classroom
    other_org, other_head = school(make_user, "Lycée Voisin")
    login(client, other_head.email)
    url = f"/institutions/{org.id}/groups/{group.id}"
    token = csrf_token(client.get("/institutions"))
    assert client.post(f"{url}/staff", data={"csrf_token": token, "email": "x@college.example",
                                             "role": "teacher"}).status_code == 404
    response = client.post(f"/api/v1/orgs/{org.id}/groups/{group.id}/staff", headers=personal(other_head),
                           json={"email": "x@college.example", "role": "teacher"})
    assert response.status_code == 403 and response.json["error"] == "not_head"
    response = client.post(f"/api/v1/orgs/{other_org.id}/groups/{group.id}/staff", headers=personal(other_head),
                           json={"email": "x@college.example", "role": "teacher"})
    assert response.status_code == 404
    assert db.session.scalar(select(Membership.id).where(Membership.email == "x@college.example")) is None
    # A partner the head sees in their list stays a partner.
    partner = make_user("club@sport.example")
    accepted(guardians.add_partner(db.session, head, org, partner.email))
    with pytest.raises(Conflict) as refused:
        institutions.add_staff(db.session, org, group, email=partner.email, role="teacher", actor=head)
    assert refused.value.code == "not_staff"
    response = client.post(f"/api/v1/orgs/{org.id}/groups/{group.id}/staff", headers=personal(head),
                           json={"email": "not an address", "role": "teacher"})
    assert response.status_code == 422 and "email" in response.json["fields"]
    # The operator (demo, command line) invites nobody: the account must exist, and is staff at once.
    with pytest.raises(ValidationFailed) as refused:
        institutions.add_staff(db.session, org, group, email="nobody@college.example", role="teacher")
    assert refused.value.code == "no_such_account"
    db.session.rollback()
    direct = make_user("direct@college.example")
    place = institutions.add_staff(db.session, org, group, email=direct.email, role="teacher")
    assert place.user_id == direct.id and not place.pending


def test_migrating_down_and_up_keeps_the_waiting_places_of_accounts(app, classroom, make_user):
    org, head, group, _pupil, _teacher = classroom
    invited = make_user("cpe@college.example")
    institutions.add_staff(db.session, org, group, email=invited.email, role="counsellor", actor=head)
    institutions.add_staff(db.session, org, group, email="nobody@college.example", role="teacher", actor=head)
    db.session.commit()
    membership_id, group_id = _invitation(org, invited.email).id, group.id
    db.session.remove()
    downgrade(revision="d2e3f4a5b702")  # before waiting places: the account holds it, the bare address's goes
    try:
        rows = db.session.execute(db.text("SELECT user_id FROM group_staff")).scalars().all()
        assert len(rows) == 2 and all(rows)
    finally:
        db.session.remove()
        upgrade()
    waiting = db.session.scalars(select(GroupStaff).where(GroupStaff.group_id == group_id,
                                                          GroupStaff.membership_id.is_not(None))).all()
    assert [(p.membership_id, p.user_id) for p in waiting] == [(membership_id, None)]


def test_the_migration_matches_the_model(app):
    context = MigrationContext.configure(db.session.connection())
    assert [d for d in compare_metadata(context, db.metadata) if "group_staff" in repr(d)] == []


def test_group_places_spend_the_mail_budget_only_when_an_invitation_leaves(client, classroom):
    """Placing accepted staff mails nobody: a head placing a teacher in 31 classes is not refused; the 30
    invitations an hour (the sender's one budget) still stop new addresses at the 31st."""
    org, head, _group, _pupil, teacher = classroom
    groups = [institutions.create_group(db.session, org, name=f"Classe {n}") for n in range(31)]
    db.session.commit()
    auth = personal(head)
    placed = [client.post(f"/api/v1/orgs/{org.id}/groups/{g.id}/staff", headers=auth,
                          json={"email": teacher.email, "role": "teacher"}).status_code for g in groups]
    assert placed == [201] * 31
    invited = [client.post(f"/api/v1/orgs/{org.id}/groups/{g.id}/staff", headers=auth,
                           json={"email": f"new{n}@college.example", "role": "teacher"}).status_code
               for n, g in enumerate(groups)]
    assert invited == [201] * 30 + [429]


def test_refusals_a_teacher_a_wrong_role_and_another_groups_place(client, classroom, make_user):
    """A teacher of the same school may not give places; a role outside teacher/counsellor/head is refused
    with its field; a place id of another group (or of another school's group) is not found, and stays."""
    org, head, group, _pupil, teacher = classroom
    url = f"/api/v1/orgs/{org.id}/groups/{group.id}/staff"
    response = client.post(url, headers=personal(teacher), json={"email": "y@college.example", "role": "teacher"})
    assert response.status_code == 403 and response.json["error"] == "not_head"
    response = client.post(url, headers=personal(head), json={"email": "y@college.example", "role": "admin"})
    assert response.status_code == 422 and "role" in response.json["fields"]
    assert db.session.scalar(select(Membership.id).where(Membership.email == "y@college.example")) is None
    other_group = institutions.create_group(db.session, org, name="3e A")
    other_org, other_head = school(make_user, "Lycée Voisin")
    far_group = institutions.create_group(db.session, other_org, name="2de 1")
    db.session.commit()
    near = client.post(f"/api/v1/orgs/{org.id}/groups/{other_group.id}/staff", headers=personal(head),
                       json={"email": teacher.email, "role": "teacher"}).json["id"]
    far = client.post(f"/api/v1/orgs/{other_org.id}/groups/{far_group.id}/staff", headers=personal(other_head),
                      json={"email": "z@lycee.example", "role": "teacher"}).json["id"]
    for place in (near, far):
        assert client.delete(f"{url}/{place}", headers=personal(head)).status_code == 404
    assert {str(p.id) for p in _places(other_group)} == {near} and {str(p.id) for p in _places(far_group)} == {far}
