"""Guardians, round 15 (audit 15 of issue 13): the minor's access log for guardian grants only; renewal from
30 days before 18, with the nightly notices sent once; guardians invited on a join and on a re-import that
adds them; a refusal told to an institution without a head and marked on the group page; a guardian's
one-action share with a group's staff; the decision form's scopes in words; the demo minor and guardian."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.models import Grant, Membership, User
from app.models.guardians import GuardianConsent
from app.models.institutions import Enrolment
from app.services import audit, grants, guardians, institutions, minors, orgs
from app.services.errors import ServiceError
from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_auth import outbox
from tests.test_guardians import bearer
from tests.test_institutions import HEADER, run_import, school
from tests.test_minors import guardian_of, years_ago


def enrolled_minor(make_user, org=None, email="leo@eleve.example", years=13):
    """A minor enrolled in a group of ``org`` (a new school when None), with the group."""
    if org is None:
        org, _head = school(make_user)
    group = institutions.create_group(db.session, org, name=f"4e {uuid.uuid4().hex[:4]}")
    pupil = make_user(email)
    pupil.birth_date = years_ago(years)
    db.session.add(Enrolment(organisation_id=org.id, group_id=group.id, family_name="Martin", given_name="Léo",
                             birth_date=pupil.birth_date, user_id=pupil.id, guardian_emails=[]))
    db.session.commit()
    return org, group, pupil


def guardian_grant_of(guardian, minor) -> Grant:
    return guardians.guardian_grant(db.session, guardian, minor)


# --- 1. the access log -----------------------------------------------------------------------------------

def test_a_guardian_reads_the_minors_access_log_and_nobody_else_does(app, client, make_user):
    org, group, pupil = enrolled_minor(make_user)
    guardian = guardian_of(make_user, pupil)
    teacher = make_user("prof@lycee.example")
    institutions.add_staff(db.session, org, group, email=teacher.email, role="teacher")
    staff_grant = institutions.share_with_group(db.session, pupil, group_id=group.id)
    db.session.commit()
    grants.shared_items(db.session, teacher, staff_grant, ip="203.0.113.9")  # the teacher reads: logged
    db.session.commit()
    own = guardian_grant_of(guardian, pupil)

    _grant, events = guardians.access_log(db.session, guardian, own.id)
    assert [e.actor_label for e in events] == [teacher.email]
    for who, grant_id in ((teacher, staff_grant.id), (teacher, own.id), (make_user("x@example.org"), own.id),
                          (guardian, staff_grant.id), (guardian, "not-an-id")):
        with pytest.raises(ServiceError) as refused:
            guardians.access_log(db.session, who, grant_id)
        assert refused.value.status == 404

    # The API: the guardian gets the page, the teacher (a group grant, role viewer) a 404, as a missing one.
    answer = client.get(f"/api/v1/shared-with-me/{own.id}/access-log", headers=bearer(guardian))
    assert answer.status_code == 200, answer.get_json()
    assert [item["who"] for item in answer.get_json()["items"]] == [teacher.email]
    assert answer.get_json()["items"][0]["network"] == "203.0.113.0/24"
    for headers, grant_id in ((bearer(teacher), staff_grant.id), (bearer(teacher), own.id)):
        refused = client.get(f"/api/v1/shared-with-me/{grant_id}/access-log", headers=headers)
        assert refused.status_code == 404 and refused.get_json()["error"] == "not_found"
    bad = client.get(f"/api/v1/shared-with-me/{own.id}/access-log?before=yesterday", headers=bearer(guardian))
    assert bad.status_code == 422

    # The pages: linked from the guardian's view of the child; the teacher gets 404.
    with app.app_context():  # a visitor of their own (Flask-Login caches the signed-in user on ``g``)
        other = app.test_client()
        login(other, teacher.email)
        assert other.get(f"/guardians/{own.id}/access-log").status_code == 404
        assert "data-guardian-log" not in other.get(f"/shared/{staff_grant.id}").get_data(as_text=True)
    login(client, guardian.email)
    view = client.get(f"/shared/{own.id}").get_data(as_text=True)
    assert f"/guardians/{own.id}/access-log" in view and "sauf le journal de bord" in view
    assert f"/guardians/{own.id}/access-log" in client.get("/guardians").get_data(as_text=True)
    page = client.get(f"/guardians/{own.id}/access-log")
    assert page.status_code == 200 and teacher.email in page.get_data(as_text=True)
    assert client.get(f"/guardians/{staff_grant.id}/access-log").status_code == 404


def test_the_access_log_stays_readable_while_a_guardian_refused_the_account(app, make_user, monkeypatch):
    monkeypatch.setattr(guardians, "_notify_heads", lambda heads, minor: None)
    _org, _group, pupil = enrolled_minor(make_user)
    guardian = guardian_of(make_user, pupil)
    guardians.decide(db.session, guardian, pupil, "account", "refused")
    db.session.commit()
    own = guardian_grant_of(guardian, pupil)
    assert guardians.access_log(db.session, guardian, own.id)[0] == own
    own.revoked_at = grants.utcnow()
    db.session.commit()
    with pytest.raises(ServiceError):
        guardians.access_log(db.session, guardian, own.id)


# --- 2. renewal at 18 ------------------------------------------------------------------------------------

def nearly_adult(make_user, days_to_birthday: int):
    person = make_user("ado@example.org")
    birthday = minors.today() + timedelta(days=days_to_birthday)
    if (birthday.month, birthday.day) == (2, 29):
        birthday += timedelta(days=1)
    person.birth_date = birthday.replace(year=birthday.year - 18)
    db.session.commit()
    return person


def mails_to(app, address: str) -> list:
    return [m for m in outbox(app) if m["To"] == address]


def test_renewal_from_30_days_before_18_keeps_the_guardian_and_the_nightly_job_tells_once(app, client,
                                                                                         make_user):
    person = nearly_adult(make_user, 10)
    birthday = guardians.majority_day(person.birth_date)
    first = guardian_of(make_user, person, "mere@example.org")
    second = guardian_of(make_user, person, "pere@example.org")
    second.locale = "en"  # each notice in its reader's language
    db.session.commit()
    before = len(outbox(app))

    # Too early: 31 days before, nothing to renew and nobody is told yet.
    with pytest.raises(ServiceError) as refused:
        guardians.renew(db.session, person, first, on=birthday - timedelta(days=31))
    assert refused.value.code == "not_adult"
    assert guardians.notify_majority(db.session, on=birthday - timedelta(days=31)) == 0

    # The real nightly task, twice: each guardian and the person are told once.
    guardians.end_guardianships_at_majority.call_local()
    guardians.end_guardianships_at_majority.call_local()
    db.session.expire_all()
    assert len(mails_to(app, first.email)) == 1 and len(mails_to(app, second.email)) == 1
    assert len(mails_to(app, person.email)) == 2  # one per guardian
    assert birthday.isoformat() in mails_to(app, first.email)[0].get_content()
    assert len(outbox(app)) == before + 4
    assert all(g.revoked_at is None for g in db.session.scalars(select(Grant).where(Grant.role == "guardian")))

    # The person renews the first guardian's access with the real API call, 10 days before 18; a stranger
    # cannot be "renewed".
    login(client, person.email)
    assert "guardians/renew" in client.get("/guardians").get_data(as_text=True)
    person_h = bearer(person)
    kept = client.post("/api/v1/guardians/renewals", json={"guardian_id": str(first.id)}, headers=person_h)
    assert kept.status_code == 201, kept.get_json()
    stranger = make_user("stranger@example.org")
    refused = client.post("/api/v1/guardians/renewals", json={"guardian_id": str(stranger.id)}, headers=person_h)
    assert refused.status_code == 403 and refused.get_json()["error"] == "not_guardian"

    # The birthday's run: the first guardian stays, the second's access ends, and both sides are told.
    assert guardians.end_at_majority(db.session, on=birthday - timedelta(days=1)) == 0
    assert guardians.end_at_majority(db.session, on=birthday) == 1
    db.session.commit()
    still = {g.grantee_id: g.revoked_at is None for g in db.session.scalars(select(Grant).where(Grant.role == "guardian"))}
    assert still == {first.id: True, second.id: False}
    assert guardians.minors_of(db.session, first) == [person] and guardians.minors_of(db.session, second) == []
    assert len(mails_to(app, second.email)) == 2 and "has ended" in mails_to(app, second.email)[-1]["Subject"]
    assert len(mails_to(app, first.email)) == 1
    assert guardians.end_at_majority(db.session, on=birthday + timedelta(days=1)) == 0  # nothing twice


def test_an_invitation_still_pending_at_18_ends_too(app, make_user):
    person = nearly_adult(make_user, 5)
    from tests.test_minors import name_guardian
    name_guardian(make_user, person, "tante@example.org")
    grant, _raw = guardians.invite(db.session, person, "tante@example.org")
    db.session.commit()
    assert guardians.notify_majority(db.session) == 0  # nobody accepted it: nobody to warn
    assert guardians.end_at_majority(db.session, on=guardians.majority_day(person.birth_date)) == 1
    assert db.session.get(Grant, grant.id).revoked_at is not None
    assert mails_to(app, person.email) == []


def test_no_renewal_button_and_no_notice_far_from_18(app, client, make_user):
    person = nearly_adult(make_user, 60)
    guardian = guardian_of(make_user, person, "mere@example.org")
    assert guardians.notify_majority(db.session) == 0
    db.session.commit()
    login(client, person.email)
    page = client.get("/guardians").get_data(as_text=True)
    assert "guardians/renew" not in page
    with pytest.raises(ServiceError):
        guardians.renew(db.session, person, guardian)
    assert db.session.scalar(select(GuardianConsent.id).where(GuardianConsent.minor_id == person.id)) is None


# --- 3. invitations on join and on re-import -----------------------------------------------------------

def test_a_minor_joining_with_a_code_invites_the_rosters_guardians(app, make_user):
    org, head = school(make_user)
    run_import(head, org, HEADER + f"Martin;Léo;{years_ago(12).strftime('%d/%m/%Y')};5e B;;;mere@example.org\n")
    enrolment = db.session.scalars(select(Enrolment)).one()
    pupil = make_user("leo@example.org")
    institutions.join(db.session, pupil, institutions.new_code(db.session, enrolment))
    db.session.commit()
    invited = db.session.scalars(select(Grant).where(Grant.portfolio_id == pupil.portfolio.id)).all()
    assert [(g.email, g.role) for g in invited] == [("mere@example.org", "guardian")]
    assert len(mails_to(app, "mere@example.org")) == 1


def test_an_adult_joining_invites_nobody(app, make_user):
    org, head = school(make_user)
    run_import(head, org, HEADER + "Martin;Léo;12/03/2000;BTS 1;;;mere@example.org\n")
    enrolment = db.session.scalars(select(Enrolment)).one()
    adult = make_user("leo@example.org")
    institutions.join(db.session, adult, institutions.new_code(db.session, enrolment))
    db.session.commit()
    assert db.session.scalars(select(Grant).where(Grant.portfolio_id == adult.portfolio.id)).all() == []


def test_a_reimport_invites_only_the_added_guardian_and_never_twice(app, make_user):
    org, head = school(make_user)
    born = years_ago(12).strftime("%d/%m/%Y")
    run_import(head, org, HEADER + f"Martin;Léo;{born};5e B;;;mere@example.org\n")
    enrolment = db.session.scalars(select(Enrolment)).one()
    pupil = institutions.activate(db.session, institutions.new_code(db.session, enrolment),
                                  email="leo@example.org", password="a long enough passphrase 42")
    db.session.commit()

    def invited():
        return sorted(g.email for g in db.session.scalars(select(Grant).where(
            Grant.portfolio_id == pupil.portfolio.id, Grant.role == "guardian")))

    assert invited() == ["mere@example.org"]
    run_import(head, org, HEADER + f"Martin;Léo;{born};5e B;;;mere@example.org,pere@example.org\n")
    db.session.expire_all()
    assert invited() == ["mere@example.org", "pere@example.org"]
    run_import(head, org, HEADER + f"Martin;Léo;{born};5e B;;;mere@example.org,pere@example.org\n")
    db.session.expire_all()
    assert invited() == ["mere@example.org", "pere@example.org"]
    assert len(mails_to(app, "pere@example.org")) == 1 and len(mails_to(app, "mere@example.org")) == 1
    # A pupil not yet activated: nothing to invite (activation does it).
    run_import(head, org, HEADER + f"Martin;Léo;{born};5e B;;;mere@example.org,pere@example.org\n"
               f"Durand;Ana;{born};5e B;;;tante@example.org\n")
    assert mails_to(app, "tante@example.org") == []


# --- 4. the refusal reaches the school -------------------------------------------------------------------

def test_a_refusal_reaches_an_institution_run_by_its_admin_and_marks_the_group_page(app, client, make_user,
                                                                                   monkeypatch):
    told = []
    monkeypatch.setattr(guardians, "_notify_heads", lambda heads, minor: told.extend(h.email for h in heads))
    admin_user = make_user("admin@college.example")
    org = orgs.create_organisation(db.session, policy.OPERATOR,
                                   {"name": "Collège sans chef", "kind": "school", "website": "",
                                    "contact_email": admin_user.email}, admin=admin_user, approve=True)
    db.session.commit()
    assert {m.role for m in db.session.scalars(select(Membership).where(Membership.organisation_id == org.id))} \
        == {"admin"}
    _org, group, pupil = enrolled_minor(make_user, org)
    other = make_user("sarah@eleve.example")
    db.session.add(Enrolment(organisation_id=org.id, group_id=group.id, family_name="Lopes", given_name="Sarah",
                             user_id=other.id, guardian_emails=[]))
    db.session.commit()
    guardian = guardian_of(make_user, pupil)
    login(client, admin_user.email)
    assert "data-refused" not in client.get(f"/institutions/{org.id}/groups/{group.id}").get_data(as_text=True)

    guardians.decide(db.session, guardian, pupil, "account", "refused")
    db.session.commit()
    assert told == [admin_user.email]
    page = client.get(f"/institutions/{org.id}/groups/{group.id}").get_data(as_text=True)
    assert page.count("data-refused") == 1
    row = page[page.index(f'data-enrolment="{db.session.scalars(select(Enrolment.id).where(Enrolment.user_id == pupil.id)).one()}"'):]
    assert row.index("data-refused") < row.index("</tr>")
    assert guardians.refused_accounts(db.session, [pupil.id, other.id, None]) == {pupil.id}
    members = client.get(f"/api/v1/orgs/{org.id}/groups/{group.id}", headers=bearer(admin_user)).get_json()["members"]
    assert {m["given_name"]: m["guardian_refused"] for m in members} == {"Léo": True, "Sarah": False}
    # Another guardian's consent does not lift the refusal (only the refusing guardian does): still marked.
    other_guardian = guardian_of(make_user, pupil, "mere@example.org")
    guardians.decide(db.session, other_guardian, pupil, "account", "granted")
    db.session.commit()
    assert pupil.suspended_at is not None
    assert guardians.refused_accounts(db.session, [pupil.id]) == {pupil.id}
    guardians.decide(db.session, guardian, pupil, "account", "granted")  # consent again: no longer marked
    db.session.commit()
    assert "data-refused" not in client.get(f"/institutions/{org.id}/groups/{group.id}").get_data(as_text=True)


# --- 5. a guardian shares with a group's staff -------------------------------------------------------------

def test_a_named_guardian_shares_the_minor_with_the_groups_staff_in_one_action(app, client, make_user):
    org, group, pupil = enrolled_minor(make_user)
    other_org, other_group, _other = enrolled_minor(make_user, email="autre@eleve.example")
    teacher = make_user("prof@lycee.example")
    institutions.add_staff(db.session, org, group, email=teacher.email, role="teacher")
    db.session.commit()
    guardian = guardian_of(make_user, pupil)
    assert not policy.can(teacher, "read", pupil.portfolio)

    body = {"minor_id": str(pupil.id), "group_id": str(group.id), "group_role": "teacher"}
    stranger = make_user("stranger@example.org")
    for headers, data, status, code in (
            (bearer(stranger), body, 403, "not_guardian"),
            (bearer(teacher), body, 403, "not_guardian"),
            (bearer(guardian), {**body, "group_id": str(other_group.id)}, 404, "not_found"),
            (bearer(guardian), {**body, "group_role": "janitor"}, 422, "validation_error"),
            (bearer(pupil), body, 403, "not_guardian")):
        refused = client.post("/api/v1/guardians/group-shares", json=data, headers=headers)
        assert (refused.status_code, refused.get_json()["error"]) == (status, code), refused.get_json()
    assert not policy.can(teacher, "read", pupil.portfolio)

    made = client.post("/api/v1/guardians/group-shares", json=body, headers=bearer(guardian))
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["reaches"] == [teacher.email] and made.get_json()["made_by"] == guardian.email
    grant = db.session.get(Grant, uuid.UUID(made.get_json()["id"]))
    assert grant.portfolio.owner_id == pupil.id and grant.invited_by_id == guardian.id
    assert policy.can(teacher, "read", pupil.portfolio)
    event = audit.events(db.session, action="guardian.group_share")[0]
    assert event.actor_id == guardian.id and event.target_id == str(grant.id)
    # The grant is the pupil's: the pupil revokes it like any other; the guardian still writes nothing.
    grants.revoke(db.session, pupil, grant)
    db.session.commit()
    assert not policy.can(teacher, "read", pupil.portfolio)
    assert not policy.can(guardian, "update", pupil.portfolio)

    # The page: a form per child with the child's groups; the share goes through it too.
    login(client, guardian.email)
    home = client.get("/guardians")
    text = home.get_data(as_text=True)
    assert "data-guardian-share" in text and str(group.id) in text and str(other_group.id) not in text
    done = client.post("/guardians/group-share", data={"minor_id": str(pupil.id), "group_id": str(group.id),
                                                       "group_role": "", "csrf_token": csrf_token(home)})
    assert done.status_code == 302
    assert policy.can(teacher, "read", pupil.portfolio)


def test_a_guardian_the_pupil_invited_alone_cannot_share_for_an_adult(app, make_user):
    _org, group, adult = enrolled_minor(make_user, email="adulte@eleve.example", years=19)
    coach = guardian_of(make_user, adult, "coach@example.org")
    with pytest.raises(ServiceError) as refused:
        guardians.share_with_group(db.session, coach, adult, group_id=group.id)
    assert refused.value.code == "not_minor"


# --- 6 and 7. the guardian page in words -------------------------------------------------------------------

def test_the_decision_form_names_scopes_in_words_and_says_the_journal_stays_private(app, client, make_user):
    _org, _group, pupil = enrolled_minor(make_user)
    guardian = guardian_of(make_user, pupil)
    guardians.decide(db.session, guardian, pupil, "public_page", "granted")
    db.session.commit()
    login(client, guardian.email)
    english = client.get("/guardians", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert ">Public pages</option>" in english and ">public_page<" not in english
    assert "Public pages: consented" in english and "but the journal" in english
    guardian.locale = "fr"
    db.session.commit()
    french = client.get("/guardians", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert ">Pages publiques</option>" in french and "sauf le journal de bord" in french


# --- 8. the demo ----------------------------------------------------------------------------------------------

def test_the_demo_has_an_activated_minor_and_a_guardian_whose_logins_work(app):
    from tests.test_demo import run_demo
    output = run_demo(app)
    assert run_demo(app) == output  # idempotent
    yanis = db.session.scalars(select(User).where(User.email == "yanis.martin@example.org")).one()
    parents = db.session.scalars(select(User).where(User.email == "parents.martin@example.org")).one()
    assert minors.is_minor(yanis) and yanis.is_verified
    assert guardians.minors_of(db.session, parents) == [yanis]
    assert minors.named_guardian(db.session, yanis, parents.email)
    assert db.session.scalar(select(Grant.id).where(Grant.portfolio_id == yanis.portfolio.id)
                             .where(Grant.role == "guardian")) is not None
    for email, password in (("yanis.martin@example.org", "yanis-demo-portfolio"),
                            ("parents.martin@example.org", "parents-demo-martin")):
        assert f"{email}  password: {password}" in output
        with app.app_context():
            visitor = app.test_client()
            assert login(visitor, email, password).status_code == 302
            assert visitor.get("/guardians").status_code == 200
