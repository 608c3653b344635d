"""Indicators, audit 15 (issue 13): the platform counts an institution's people as its own page does, the kinds
of account the institutions bring, roster pupils still pending; heads' per-group figures; the period's
share-link views and per-day activity over 365 days; the job queue's health; the CSV through the API."""
from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from app.database import utcnow
from app.extensions import db
from app.models import Batch, BatchItem, DailyActivity, Grant
from app.models.institutions import Enrolment
from app.services import access_log, guardians, indicators, institutions, tokens
from app.services.errors import NotFound
from tests.conftest import login
from tests.test_institutions import school as make_school
from tests.membership_helpers import accepted


def _values(sections, key):
    return {k: v for s in sections if s.key == key for k, _l, v in s.rows}


def _enrol(org, group, family, user=None, ended=False):
    row = Enrolment(organisation_id=org.id, group_id=group.id if group else None, family_name=family,
                    given_name="X", user_id=user.id if user else None, guardian_emails=[],
                    ended_at=utcnow() if ended else None)
    db.session.add(row)
    return row


@pytest.fixture
def two_schools(app, make_user):
    """A school with a class of two activated pupils, two pending, one who left; a second, smaller school."""
    org, head = make_school(make_user, "Collège Grand")
    group = institutions.create_group(db.session, org, name="5e A")
    other_group = institutions.create_group(db.session, org, name="5e B")
    pupils = [make_user(f"p{i}@eleve.example") for i in range(3)]
    _enrol(org, group, "A", pupils[0])
    _enrol(org, group, "B", pupils[1])
    _enrol(org, group, "C")
    _enrol(org, other_group, "D")
    _enrol(org, group, "E", pupils[2], ended=True)
    small, small_head = make_school(make_user, "École Petite")
    _enrol(small, None, "F")
    guardian = make_user("parent@example.org")
    db.session.add(Grant(portfolio_id=pupils[0].portfolio.id, email=guardian.email, grantee_id=guardian.id,
                         role="guardian", scope="all", accepted_at=utcnow()))
    partner = make_user("club@example.org")
    accepted(guardians.add_partner(db.session, head, org, partner.email))  # once they accept, a partner
    teacher = make_user("prof@college.example")
    institutions.add_staff(db.session, org, group, email=teacher.email, role="teacher")
    db.session.commit()
    return {"org": org, "head": head, "group": group, "other_group": other_group, "pupils": pupils,
            "small": small, "small_head": small_head, "teacher": teacher}


def test_the_platform_counts_each_institutions_people_as_its_own_page_does(platform_admin, two_schools):
    org, small = two_schools["org"], two_schools["small"]
    sections = indicators.compute(db.session, platform_admin)
    # activated enrolments (not memberships: the head alone used to show as 1), pending beside them
    assert _values(sections, "accounts_by_institution") == {str(org.id): 2, str(small.id): 0}
    assert _values(sections, "pending_by_institution") == {str(org.id): 2, str(small.id): 1}
    # the exact figures of one school (a platform admin's view; its head sees 1 to 4 as "<5")
    own = indicators.compute(db.session, platform_admin, org=org)
    assert _values(own, "activation")["activated"] == _values(sections, "accounts_by_institution")[str(org.id)]
    head_view = indicators.compute(db.session, two_schools["head"], org=org)
    assert _values(head_view, "activation")["activated"] == indicators.SMALL_LABEL
    kinds = _values(sections, "accounts_by_kind")
    assert (kinds["pupils"], kinds["guardians"], kinds["partners"]) == (2, 1, 1)
    assert kinds["staff"] == 3  # two heads and a teacher
    assert _values(sections, "institutions_by_kind") == {"school": 2}
    # every account's e-mail is verified here: pending = the three roster pupils not yet activated
    assert _values(sections, "activation")["pending"] == 3
    # the school's own view: its pupils, their guardian, its staff and partner
    assert {k: v for k, v in _values(own, "accounts_by_kind").items()
            if k in ("pupils", "guardians", "staff", "partners")} == {
        "pupils": 2, "guardians": 1, "staff": 2, "partners": 1}


def test_every_institution_is_in_the_table_and_the_chart_draws_the_largest_and_others(platform_admin, make_user):
    from app.admin.charts import chart
    for i in range(indicators.CHART_TOP + 3):
        org, _head = make_school(make_user, f"École {i:02d}")
        for j in range(i):
            _enrol(org, None, f"N{j}")
    db.session.commit()
    section = next(s for s in indicators.compute(db.session, platform_admin) if s.key == "pending_by_institution")
    assert len(section.rows) == indicators.CHART_TOP + 3  # no longer cut at 20 (or any number)
    with force_locale("en"):
        svg = str(chart(section))
    assert "École 17" in svg and "École 00" not in svg and "Others (3)" in svg
    assert svg.count("<rect") == indicators.CHART_TOP + 1
    assert ">3</text>" in svg  # the "others": 0 + 1 + 2 pending


def test_heads_see_one_groups_figures_and_no_other_schools_group(client, platform_admin, two_schools):
    org, head, group = two_schools["org"], two_schools["head"], two_schools["group"]
    pupil = two_schools["pupils"][0]
    link = SimpleNamespace(id=uuid.uuid4(), label="stage")  # the log keeps a link's id and label only
    access_log.record(db.session, pupil.portfolio.id, action="view", object_type="page", share_link=link)
    db.session.commit()
    mine = indicators.compute(db.session, platform_admin, org=org, group=group)  # exact figures
    assert _values(mine, "activation") == {"activated": 2, "pending": 1, "suspended": 0}
    small = indicators.SMALL_LABEL  # the head's view of the same group
    assert _values(indicators.compute(db.session, head, org=org, group=group), "activation") == {
        "activated": small, "pending": small, "suspended": 0}
    assert _values(mine, "enrolments") == {"activated": 2, "pending": 1, "ended": 1}
    assert _values(mine, "sharing")["share_link_views"] == 1
    other = indicators.compute(db.session, head, org=org, group=two_schools["other_group"])
    assert _values(other, "activation") == {"activated": 0, "pending": indicators.SMALL_LABEL, "suspended": 0}
    assert _values(other, "sharing")["share_link_views"] == 0
    # no per-day counter exists per group: the group view leaves the chart out rather than show the school's
    assert "active_per_day" not in {s.key for s in mine}
    with pytest.raises(NotFound):
        indicators.compute(db.session, two_schools["small_head"], org=two_schools["small"], group=group)

    login(client, head.email)
    page = client.get(f"/organisations/{org.id}/indicators?group={group.id}")
    assert page.status_code == 200 and "5e A" in page.get_data(as_text=True)
    csv_text = client.get(f"/organisations/{org.id}/indicators?group={group.id}&format=csv").get_data(as_text=True)
    assert re.search(r"^activation,pending,[^,]+,<5\r?$", csv_text, re.MULTILINE)
    assert client.get(f"/organisations/{org.id}/indicators?group=not-an-id").status_code == 404
    small_group = institutions.create_group(db.session, two_schools["small"], name="CP")
    db.session.commit()
    assert client.get(f"/organisations/{org.id}/indicators?group={small_group.id}").status_code == 404

    _t, raw = tokens.create_token(db.session, head, "api")
    _t, small_raw = tokens.create_token(db.session, two_schools["small_head"], "api")
    _t, teacher_raw = tokens.create_token(db.session, two_schools["teacher"], "api")
    db.session.commit()
    auth = lambda r: {"Authorization": f"Bearer {r}"}  # noqa: E731
    body = client.get(f"/api/v1/orgs/{org.id}/indicators?group={group.id}", headers=auth(raw)).get_json()
    assert body["group_id"] == str(group.id) and body["indicators"]["activation"]["values"]["pending"] == small
    csv_api = client.get(f"/api/v1/orgs/{org.id}/indicators.csv?group={group.id}&days=7", headers=auth(raw))
    assert csv_api.status_code == 200 and csv_api.mimetype == "text/csv"
    assert csv_api.get_data(as_text=True).splitlines()[0] == "section,key,label,value"
    assert re.search(r"^activation,pending,[^,]+,<5\r?$", csv_api.get_data(as_text=True), re.MULTILINE)
    for url in (f"/api/v1/orgs/{org.id}/indicators?group={small_group.id}",
                f"/api/v1/orgs/{org.id}/indicators.csv", f"/api/v1/orgs/{org.id}/indicators?group={group.id}"):
        refused = client.get(url, headers=auth(small_raw if "group=" + str(group.id) in url or url.endswith(".csv")
                                               else raw))
        assert refused.status_code == 404 and refused.get_json()["error"] == "not_found", url
    assert client.get(f"/api/v1/orgs/{org.id}/indicators.csv", headers=auth(teacher_raw)).status_code == 404
    assert client.get(f"/api/v1/orgs/{org.id}/indicators.csv?days=2", headers=auth(raw)).status_code == 400


def test_the_platform_csv_through_the_api_and_its_refusals(client, platform_admin, two_schools):
    _t, raw = tokens.create_token(db.session, platform_admin, "api")
    _t, head_raw = tokens.create_token(db.session, two_schools["head"], "api")
    db.session.commit()
    got = client.get("/api/v1/admin/indicators.csv?days=365", headers={"Authorization": f"Bearer {raw}"})
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert f"accounts_by_institution,{two_schools['org'].id},Collège Grand,2" in got.get_data(as_text=True)
    # a figure not known (no sweep in immediate mode) is an empty cell, not "None"
    assert re.search(r"^jobs,last_sweep_minutes,[^,]+,\r?$", got.get_data(as_text=True), re.MULTILINE)
    refused = client.get("/api/v1/admin/indicators.csv", headers={"Authorization": f"Bearer {head_raw}"})
    assert refused.status_code == 403
    assert client.get("/api/v1/admin/indicators.csv").status_code == 401


def test_share_link_views_are_the_periods_not_all_time(platform_admin, user):
    link = SimpleNamespace(id=uuid.uuid4(), label="cv")  # its all-time view_count is not read any more
    old = access_log.record(db.session, user.portfolio.id, action="view", share_link=link)
    old.created_at = utcnow() - timedelta(days=20)
    access_log.record(db.session, user.portfolio.id, action="view", share_link=link)
    access_log.record(db.session, user.portfolio.id, action="download", share_link=link)
    db.session.commit()
    week = _values(indicators.compute(db.session, platform_admin, days=7), "sharing")
    month = _values(indicators.compute(db.session, platform_admin, days=30), "sharing")
    assert (week["share_link_views"], month["share_link_views"]) == (1, 2)


def test_active_per_day_covers_the_whole_period_weekly_over_a_year(platform_admin):
    today = date(2026, 6, 30)
    db.session.add_all([DailyActivity(day=today, scope="", active_people=7),
                        DailyActivity(day=today - timedelta(days=300), scope="", active_people=14),
                        DailyActivity(day=today - timedelta(days=301), scope="", active_people=0)])
    db.session.commit()
    month = next(s for s in indicators.compute(db.session, platform_admin, days=30, today=today)
                 if s.key == "active_per_day")
    assert len(month.rows) == 30 and month.rows[-1][2] == 7 and month.rows[0][0] == "2026-06-01"
    year = next(s for s in indicators.compute(db.session, platform_admin, days=365, today=today)
                if s.key == "active_per_day")
    assert len(year.rows) == 53  # 52 full weeks and one day
    assert year.rows[0][0] == (today - timedelta(days=364)).isoformat()
    # the day 300 days back falls in week 9 (days 63–69 of the period): 14 over 7 days is a mean of 2
    assert [v for _k, _l, v in year.rows].count(2) == 1 and year.rows[-1][2] == 7


def test_seven_thirty_and_365_day_activity_read_each_accounts_last_sign_in(platform_admin, make_user):
    """Decision (audit 15, #13): distinct people over a span need one date per account (overwritten, not a
    log); the per-day counters would count a person once per day. README says the same."""
    for email, ago in (("a@example.org", 2), ("b@example.org", 20), ("c@example.org", 200)):
        make_user(email).last_login_at = utcnow() - timedelta(days=ago)
    db.session.add(DailyActivity(day=utcnow().date(), scope="", active_people=50))  # not read by these
    db.session.commit()
    active = _values(indicators.compute(db.session, platform_admin), "active")
    assert active == {"active_7": 1, "active_30": 2, "active_365": 3}


def test_job_queue_health_reports_waiting_oldest_failures_and_sweep(app, platform_admin, user, monkeypatch):
    from app import jobs
    from app.services import batches
    long_ago = utcnow() - timedelta(hours=3)
    stuck = Batch(kind="demo", key="k1", digest="d", status="running", total=2, created_at=long_ago)
    finished = Batch(kind="demo", key="k2", digest="d", status="done", total=1, created_at=utcnow() - timedelta(days=9))
    db.session.add_all([stuck, finished])
    db.session.flush()
    db.session.add_all([
        BatchItem(batch_id=stuck.id, position=0, key="a", payload={}, status="failed", finished_at=utcnow()),
        BatchItem(batch_id=finished.id, position=0, key="b", payload={}, status="failed",
                  finished_at=utcnow() - timedelta(days=9))])
    db.session.commit()
    week = _values(indicators.compute(db.session, platform_admin, days=7), "jobs")
    assert week["unfinished_batches"] == 1 and 179 <= week["oldest_unfinished_minutes"] <= 181
    assert week["failed_items"] == 1  # the one of the period; the older failure is not a figure that only grows
    assert _values(indicators.compute(db.session, platform_admin, days=30), "jobs")["failed_items"] == 2
    assert "done" not in week and "pending" not in week
    # immediate mode (tests): no consumer, so no beat and no sweep to report
    assert week["waiting"] == 0 and week["last_sweep_minutes"] is None
    # with a consumer: the sweep writes its time beside the heartbeat, the page reads it back
    monkeypatch.setattr(jobs.huey, "_immediate", False)
    batches.sweep_batches.call_local()
    assert _values(indicators.compute(db.session, platform_admin, days=7), "jobs")["last_sweep_minutes"] == 0
    stuck.status = "done"
    db.session.commit()
    healthy = _values(indicators.compute(db.session, platform_admin, days=7), "jobs")
    assert healthy["unfinished_batches"] == 0 and healthy["oldest_unfinished_minutes"] is None


def test_the_platform_page_explains_a_filter_it_cannot_apply(client, platform_admin, two_schools):
    """An unknown period or a group of another institution (the form kept the group of the institution
    chosen before) shows the page with a message, not a bare 404 or a silent change."""
    login(client, platform_admin.email)
    period = client.get("/admin/indicators?days=999")
    assert period.status_code == 200 and 'class="flash flash-error"' in period.get_data(as_text=True)
    small, group = two_schools["small"], two_schools["group"]
    moved = client.get(f"/admin/indicators?org={small.id}&group={group.id}")
    text = moved.get_data(as_text=True)
    assert moved.status_code == 200 and 'class="flash flash-error"' in text and small.name in text
    assert "5e A" not in text  # the other school's group is neither shown nor counted
