"""What keeps the busiest routes fast, checked by counting, never by timing.

- ``GET /timeline`` and ``GET /api/v1/experiences`` run a small, fixed number of SQL statements,
  whatever the number of items (no query per item); a timeline seen again reads no item at all;
- a page request that does not change the session reads its row once and writes nothing; an API
  request does not touch the session table at all;
- the session store's housekeeping (Flask-Session deletes expired rows on a random one page request in
  ``SESSION_CLEANUP_N_REQUESTS``) is pinned in these tests (``sweep``): off by default, so that a count
  never depends on a die roll; on where a test says so, and then it adds exactly one statement
  (``DELETE FROM http_sessions WHERE expiry <= ...``) to a page request and none to an API request;
- the shortcuts taken for speed give exactly what the stock code gives: the API's plain dumper and the
  marshmallow schemas, the template ``url_for`` and Flask's, the cached catalogue and Flask-Babel's
  (including a locale changed in the middle of a request).
"""
from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from datetime import date

import flask_session.base
import pytest
from flask import request, url_for
from flask_babel import force_locale, gettext, refresh
from sqlalchemy import event

from app.api.items import RESOURCES
from app.api.schemas import plain_dumper
from app.extensions import db
from app.models import Diploma, Experience, HttpSession, JournalEntry, Skill
from app.portfolio import fragments
from app.services import portfolio, tokens
from app.templating import fast_url_for, translations
from tests.conftest import login

TIMELINE_STATEMENTS = 6  # session row, user + portfolio, experiences, their skills, diplomas, the navigation's
# one query of the person's ties (memberships, enrolments, guardian grants: which menus to show)
TIMELINE_CACHED_STATEMENTS = 3  # seen again, unchanged: session row, user + portfolio (and its revision), navigation
API_LIST_STATEMENTS = 4  # token + owner + portfolio, experiences, their skills, their evidence ids
# The sweep's one statement, as SQLite (``?``) and PostgreSQL (``%(expiry_1)s::TIMESTAMP WITHOUT TIME ZONE``)
# receive it.
SWEEP = re.compile(r"^DELETE FROM http_sessions WHERE http_sessions\.expiry <= (\?|%\(\w+\)s(::[A-Z ]+)?)$")


class _Die:
    """Stands for the ``random`` module that Flask-Session rolls to decide on a sweep: always ``roll``."""

    def __init__(self, roll: int):
        self.roll = roll

    def randint(self, _low: int, _high: int) -> int:
        return self.roll


@pytest.fixture(autouse=True)
def sweep(monkeypatch):
    """Pin the store's occasional sweep of expired sessions: ``sweep(True)`` makes every page request
    sweep, ``sweep(False)`` (the default here) none. Flask-Session sweeps when ``random.randint(0, N)``
    gives 0; the die is replaced in its module only (the ``random`` module stays untouched)."""
    assert flask_session.base.random.randint  # the roll this pins is still where it was

    def pin(on: bool) -> None:
        monkeypatch.setattr(flask_session.base, "random", _Die(0 if on else 1))

    pin(False)
    return pin


@contextmanager
def recorded_sql():
    """The SQL statements sent to the database inside the block."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def fill(owner, experiences: int, diplomas: int, skills: int) -> None:
    """Give ``owner`` items; every experience is linked to every skill."""
    made = [portfolio.create_item(db.session, owner, Skill, {"name": f"Skill {n}", "level": 1 + n % 4})
            for n in range(skills)]
    for n in range(experiences):
        portfolio.create_item(db.session, owner, Experience, {
            "kind": ("job", "sport", "volunteering")[n % 3], "title": f"Experience {n}",
            "start_date": date(2000 + n % 20, 1 + n % 12, 1).isoformat(),
            "end_date": None if n % 2 else date(2021, 1, 1).isoformat(),
            "skill_ids": [str(skill.id) for skill in made]})
    for n in range(diplomas):
        portfolio.create_item(db.session, owner, Diploma, {
            "title": f"Diploma {n}", "awarded_on": None if n % 3 == 0 else date(2010 + n, 6, 30).isoformat()})
    db.session.commit()


def count_statements(client, path: str, headers: dict | None = None) -> tuple[int, list[str]]:
    client.get(path, headers=headers)  # first call: anything done once (e.g. last_used_at) is done
    with recorded_sql() as statements:
        response = client.get(path, headers=headers)
    assert response.status_code == 200, response.data[:300]
    return len(statements), statements


@pytest.mark.parametrize("swept", [False, True], ids=["no-sweep", "sweep"])
@pytest.mark.parametrize("size", [(1, 1, 1), (12, 6, 4), (40, 15, 10)])
def test_timeline_runs_a_fixed_number_of_statements(client, make_user, sweep, size, swept):
    """Without the sweep, exactly what the page needs; with it, that and one DELETE of expired rows."""
    owner = make_user()
    fill(owner, *size)
    login(client, owner.email)
    sweep(swept)
    count, statements = count_statements(client, "/timeline")  # seen again: from the cache
    assert count <= TIMELINE_CACHED_STATEMENTS + swept, statements
    for path, most in (("/timeline", TIMELINE_STATEMENTS), ("/timeline?kind=sport", TIMELINE_STATEMENTS),
                       ("/timeline?kind=diploma", TIMELINE_STATEMENTS - 1)):  # no experiences, no skills
        fragments.cache().clear()  # rendered afresh, as after a change
        with recorded_sql() as statements:
            assert client.get(path).status_code == 200
        sweeps = [s for s in statements if SWEEP.match(s)]
        assert len(sweeps) == swept, statements
        assert len(statements) - len(sweeps) <= most, statements
        sessions = [s for s in statements if "http_sessions" in s and s not in sweeps]
        assert len(sessions) == 1 and sessions[0].startswith("SELECT"), sessions  # read once, written never


def test_timeline_shows_every_item_with_its_skills(client, make_user):
    """The skills are loaded apart from the experiences (not by the ORM's loader): all are shown."""
    owner = make_user()
    fill(owner, 3, 2, 2)
    login(client, owner.email)
    page = client.get("/timeline", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert page.count('class="timeline-item card"') == 5
    assert page.count(">Skill 0</a>") == 3 and page.count(">Skill 1</a>") == 3
    for skill in db.session.query(Skill).filter_by(portfolio_id=owner.portfolio.id):
        assert f'href="/skills/{skill.id}"' in page


@pytest.mark.parametrize("size", [(1, 0, 1), (30, 0, 6)])
def test_api_list_runs_a_fixed_number_of_statements_and_no_session(client, make_user, sweep, size):
    """Even on a roll that makes every page request sweep, an API request leaves the session table alone."""
    owner = make_user()
    fill(owner, *size)
    _, raw = tokens.create_token(db.session, owner, "perf")
    db.session.commit()
    sweep(True)
    count, statements = count_statements(client, "/api/v1/experiences", {"Authorization": f"Bearer {raw}"})
    assert count <= API_LIST_STATEMENTS, statements
    assert not [s for s in statements if "http_sessions" in s]
    count, statements = count_statements(client, "/api/v1/skills", {"Authorization": f"Bearer {raw}"})
    assert count <= API_LIST_STATEMENTS, statements


def test_the_sweep_deletes_expired_sessions_only(app, client, make_user, sweep):
    """What the pinned sweep does when it runs: the expired row goes, the live ones stay."""
    from datetime import datetime, timedelta

    owner = make_user()
    login(client, owner.email)
    db.session.execute(HttpSession.__table__.insert().values(
        session_id="expired", data=b"", expiry=datetime.utcnow() - timedelta(minutes=1)))
    db.session.commit()
    sweep(True)
    assert client.get("/timeline").status_code == 200
    db.session.expire_all()
    assert db.session.query(HttpSession).filter_by(session_id="expired").count() == 0
    assert db.session.query(HttpSession).count() == 1  # the signed-in session itself


def test_a_changed_session_is_written_with_one_statement(client, user):
    """Signing in creates the stored session (one INSERT), reading nothing first: before sign-in the
    session was a signed cookie, so there is no anonymous row to drop."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    with recorded_sql() as statements:
        client.post("/login", data={"email": user.email, "password": "correct horse battery staple",
                                    "csrf_token": token})
    writes = [s for s in statements if "http_sessions" in s and not s.startswith("SELECT")]
    assert [s.split()[0] for s in writes] == ["INSERT"], writes


def test_a_loaded_session_that_changes_is_updated_in_one_statement(client, user):
    login(client, user.email)
    page = client.get("/experiences/new")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    client.post("/experiences/new", data={"kind": "job", "title": "Barista", "start_date": "2021-09-01",
                                          "csrf_token": token})  # leaves a flash message in the session
    with recorded_sql() as statements:
        assert client.get("/timeline").status_code == 200  # shows the message, so changes the session
    sessions = [s.split()[0] for s in statements if "http_sessions" in s]
    assert sessions == ["SELECT", "UPDATE"], statements


def test_a_session_deleted_during_a_request_is_not_brought_back(app, client, user):
    """Signed out in another tab while a request ran: that request's changes do not revive the row."""
    login(client, user.email)
    sid = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    interface = app.session_interface
    cookie = f"{app.config['SESSION_COOKIE_NAME']}={sid}"
    with app.test_request_context("/timeline", headers={"Cookie": cookie}):
        session = interface.open_session(app, request)
        assert session.sid == sid and session
        db.session.execute(HttpSession.__table__.delete())
        db.session.commit()
        session["_flashes"] = [("info", "late")]
        interface.save_session(app, session, app.response_class())
    assert db.session.query(HttpSession).count() == 0


def test_plain_dumper_gives_what_the_schema_gives(app, make_user):
    owner = make_user()
    fill(owner, 3, 3, 2)
    portfolio.create_item(db.session, owner, JournalEntry, {"title": "Day one", "body": "**Bold** start"})
    portfolio.create_item(db.session, owner, Experience, {"kind": "other", "title": "No skills, ongoing",
                                                          "start_date": "2024-02-29"})
    portfolio.create_item(db.session, owner, Skill, {"name": "Unused", "level": 2})
    db.session.commit()
    db.session.expire_all()
    for resource in RESOURCES:
        items = portfolio.list_items(db.session, owner, resource.model)
        assert items
        dump = plain_dumper(resource.schema)
        expected = resource.schema(many=True).dump(items)
        assert [dump(item) for item in items] == expected, resource.name
        links = portfolio.LINKS.get(resource.model)
        if links:  # the API's list gives the links from their ids alone, in the same order
            ids = portfolio.linked_ids(db.session, resource.model, items)
            assert [dump(item, {links: ids[item.id]}) for item in items] == expected, resource.name
            assert any(ids.values()) and not all(ids.values())  # some items have links, some have none


def test_template_url_for_gives_what_flask_gives(app):
    some_id = uuid.uuid4()
    calls = [("portfolio.experience", {"item_id": some_id}), ("portfolio.skill", {"item_id": uuid.uuid4()}),
             ("portfolio.timeline", {}), ("portfolio.timeline", {"kind": "sport"}),
             ("static", {"filename": "sillage.css"}), ("portfolio.timeline", {"item_id": some_id}),
             ("portfolio.experience", {"item_id": some_id, "_anchor": "skills"}),
             ("portfolio.experience", {"item_id": some_id, "_external": True}),
             ("portfolio.timeline", {"kind": 1}), ("portfolio.timeline", {"kind": True}),
             ("portfolio.timeline", {"kind": ["job", "sport"]})]
    with app.test_request_context("/timeline", base_url="http://example.org/prefix"):
        for _ in range(2):  # the second round comes from the memo
            for endpoint, values in calls:
                assert fast_url_for(endpoint, **values) == url_for(endpoint, **values), (endpoint, values)
    with app.test_request_context("/timeline"):  # another request, another root: nothing carried over
        assert fast_url_for("portfolio.experience", item_id=some_id) == f"/experiences/{some_id}"


def test_template_url_for_follows_url_defaults(app):
    """A ``url_defaults`` callback may make a URL depend on more than its arguments: no memo then."""
    with app.test_request_context("/timeline"):
        assert fast_url_for("portfolio.timeline") == "/timeline"
    calls = iter(range(10))

    @app.url_defaults
    def number_each_timeline_link(endpoint, values):
        if endpoint == "portfolio.timeline":
            values.setdefault("n", next(calls))

    with app.test_request_context("/timeline"):
        assert fast_url_for("portfolio.timeline") == "/timeline?n=0"
        assert fast_url_for("portfolio.timeline") == "/timeline?n=1"


def test_cached_translations_follow_the_locale(app):
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        french = gettext("Timeline")
        assert translations().ugettext("Timeline") == french != "Timeline"
        with force_locale("en"):
            assert translations().ugettext("Timeline") == gettext("Timeline") == "Timeline"
        assert translations().ugettext("Timeline") == french
        refresh()
        assert gettext("Timeline") == french


def test_templates_translate_with_the_request_locale(client, user):
    login(client, user.email)
    english = client.get("/timeline", headers={"Accept-Language": "en"}).get_data(as_text=True)
    french = client.get("/timeline", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "<h1>My path</h1>" in english and "<h1>My path</h1>" not in french


def test_the_verification_banner_shows_for_unverified_accounts_only(app, client, make_user):
    """base.html includes it at the top of <main>, for signed-in accounts whose address is unverified."""
    banner = "/verify-email/resend"
    assert banner not in client.get("/").get_data(as_text=True)
    verified = make_user()
    login(client, verified.email)
    assert banner not in client.get("/timeline").get_data(as_text=True)
    other = app.test_client()
    login(other, make_user(verified=False).email)
    page = other.get("/timeline").get_data(as_text=True)
    assert banner in page and page.index('<main id="main"') < page.index(banner) < page.index("<h1>")
