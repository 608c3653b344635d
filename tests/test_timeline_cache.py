"""The timeline's cached content is never stale and never another person's; the revision that keys it
counts every change; an unknown filter says so.

A cache hit is recognised by the SQL it saves: the page then reads the session and the signed-in user
(with the portfolio's revision) and no item table at all.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Diploma, Experience, JournalEntry, Portfolio, Skill, User
from app.portfolio import fragments
from app.portfolio.fragments import FragmentCache
from app.services import accounts, portfolio as service
from tests.conftest import FreshClient, login
from tests.helpers import csrf_token
from tests.test_api import api_for
from tests.test_perf_queries import recorded_sql

ITEM_TABLES = ("experiences", "diplomas", "skills", "experience_skills")


@pytest.fixture(autouse=True)
def english(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def timeline(client, query: str = "") -> tuple[str, bool]:
    """The page (its scripts' CSP nonce, new in each response, set aside), and whether it came from the
    cache (no item table was read)."""
    with recorded_sql() as statements:
        response = client.get(f"/timeline{query}")
    assert response.status_code == 200, response.status_code
    read_items = any(re.search(rf"\bFROM {table}\b", s) for s in statements for table in ITEM_TABLES)
    page = re.sub(r'( nonce=")[^"]*(")', r"\1…\2", response.get_data(as_text=True))
    return page, not read_items


def revision(user) -> int:
    return db.session.scalar(select(Portfolio.revision).where(Portfolio.owner_id == user.id))


def post_form(client, url, data, form_url=None):
    page = client.get(form_url or url)
    response = client.post(url, data={**data, "csrf_token": csrf_token(page)})
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    return response


def test_a_page_seen_again_comes_from_the_cache(client, user):
    service.create_item(db.session, user, Experience, {"kind": "job", "title": "Baker", "start_date": "2020-01-01"})
    db.session.commit()
    login(client, user.email)
    first, cached = timeline(client)
    assert "Baker" in first and not cached
    again, cached = timeline(client)
    assert again == first and cached


def test_every_change_through_the_pages_is_seen_at_once(client, user):
    login(client, user.email)
    page, _ = timeline(client)
    timeline(client)
    # create
    post_form(client, "/experiences/new", {"kind": "job", "title": "Baker", "start_date": "2020-01-01"})
    experience = db.session.scalars(select(Experience)).one()
    page, cached = timeline(client)
    assert "Baker" in page and not cached
    # update
    post_form(client, f"/experiences/{experience.id}/edit",
              {"kind": "sport", "title": "Rugby", "start_date": "2019-01-01"})
    page, cached = timeline(client)
    assert "Rugby" in page and "Baker" not in page and not cached
    # a skill linked, renamed, deleted: the experience's tags follow
    post_form(client, "/skills/new", {"name": "Tackling", "level": "2", "experience_ids": [str(experience.id)]})
    skill = db.session.scalars(select(Skill)).one()
    page, cached = timeline(client)
    assert ">Tackling</a>" in page and not cached
    post_form(client, f"/skills/{skill.id}/edit", {"name": "Scrum", "level": "2",
                                                   "experience_ids": [str(experience.id)]})
    page, _ = timeline(client)
    assert ">Scrum</a>" in page and "Tackling" not in page
    post_form(client, f"/skills/{skill.id}/delete", {}, form_url=f"/skills/{skill.id}/delete")
    page, _ = timeline(client)
    assert "Scrum" not in page
    # diplomas: create, update, delete
    post_form(client, "/diplomas/new", {"title": "CAP Boulanger", "awarded_on": "2018-07-01"})
    diploma = db.session.scalars(select(Diploma)).one()
    page, _ = timeline(client)
    assert "CAP Boulanger" in page
    post_form(client, f"/diplomas/{diploma.id}/edit", {"title": "CAP Pâtissier", "awarded_on": "2018-07-01"})
    page, _ = timeline(client)
    assert "CAP Pâtissier" in page and "CAP Boulanger" not in page
    post_form(client, f"/diplomas/{diploma.id}/delete", {}, form_url=f"/diplomas/{diploma.id}/delete")
    page, _ = timeline(client)
    assert "CAP Pâtissier" not in page
    # delete the experience
    post_form(client, f"/experiences/{experience.id}/delete", {}, form_url=f"/experiences/{experience.id}/delete")
    page, cached = timeline(client)
    assert "Rugby" not in page and "Your timeline is empty" in page and not cached


def test_every_change_through_the_api_is_seen_at_once(client, user):
    api = api_for(client, user)
    login(client, user.email)
    made = api.post("/experiences", json={"kind": "job", "title": "Baker", "start_date": "2020-01-01"})
    assert made.status_code == 201
    experience_id = made.get_json()["id"]
    assert "Baker" in timeline(client)[0] and timeline(client)[1]
    assert api.patch(f"/experiences/{experience_id}", json={"title": "Pastry cook"}).status_code == 200
    page, cached = timeline(client)
    assert "Pastry cook" in page and "Baker" not in page and not cached
    made = api.post("/diplomas", json={"title": "CAP", "awarded_on": "2019-07-01"})
    assert "CAP" in timeline(client)[0]
    assert api.delete(f"/diplomas/{made.get_json()['id']}").status_code == 204
    assert api.delete(f"/experiences/{experience_id}").status_code == 204
    page, _ = timeline(client)
    assert "Pastry cook" not in page and ">CAP<" not in page


def test_each_filter_is_cached_apart_and_follows_changes(client, user):
    service.create_item(db.session, user, Experience, {"kind": "sport", "title": "Judo", "start_date": "2020-01-01"})
    db.session.commit()
    login(client, user.email)
    for _ in range(2):
        assert "Judo" in timeline(client, "?kind=sport")[0]
        assert "Judo" not in timeline(client, "?kind=job")[0]
        assert "Judo" in timeline(client)[0]
    service.create_item(db.session, user, Experience, {"kind": "job", "title": "Cook", "start_date": "2021-01-01"})
    db.session.commit()
    assert "Cook" in timeline(client, "?kind=job")[0]
    assert "Cook" not in timeline(client, "?kind=sport")[0]
    assert "Cook" in timeline(client)[0]


def test_never_another_persons_timeline(client, app, make_user):
    """Two people with items of the same shape: each sees only their own, whoever came first."""
    alice, bob = make_user("alice@example.org"), make_user("bob@example.org")
    for person in (alice, bob):
        service.create_item(db.session, person, Experience, {
            "kind": "job", "title": f"Job of {person.email}", "start_date": "2020-01-01"})
    db.session.commit()
    assert revision(alice) == revision(bob)
    for person, other in ((alice, bob), (bob, alice), (alice, bob)):
        viewer = app.test_client()
        viewer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        login(viewer, person.email)
        page, _ = timeline(viewer)
        assert f"Job of {person.email}" in page and f"Job of {other.email}" not in page


def test_language_and_time_zone_are_part_of_the_key(client, user):
    service.create_item(db.session, user, Experience, {"kind": "job", "title": "Baker", "start_date": "2020-03-01"})
    db.session.commit()
    login(client, user.email)

    def prefer(locale, zone):
        owner = db.session.get(User, user.id)
        accounts.set_preferences(db.session, owner, locale=locale, timezone=zone)
        db.session.commit()

    prefer("fr", None)
    page, _ = timeline(client)
    assert "Depuis mars 2020" in page and "Mon parcours" in page
    prefer("en", None)
    page, cached = timeline(client)
    assert "Since March 2020" in page and "Depuis" not in page and not cached
    with client.application.app_context():
        before = len(fragments.cache())
    prefer("en", "America/New_York")
    page, cached = timeline(client)
    assert "Since March 2020" in page and not cached  # another zone, another entry
    with client.application.app_context():
        assert len(fragments.cache()) == before + 1
    prefer("fr", None)
    page, cached = timeline(client)
    assert "Depuis mars 2020" in page and cached  # the French page, still current, from the cache


def test_revision_counts_every_change_and_nothing_else(client, user):
    start = revision(user)
    skill = service.create_item(db.session, user, Skill, {"name": "Baking", "level": 2})
    db.session.commit()
    assert revision(user) == start + 1
    experience = service.create_item(db.session, user, Experience, {
        "kind": "job", "title": "Baker", "start_date": "2020-01-01", "skill_ids": [str(skill.id)]})
    db.session.commit()
    assert revision(user) == start + 2
    service.update_item(db.session, user, skill, {"experience_ids": []})  # a link removed
    db.session.commit()
    assert revision(user) == start + 3
    entry = service.create_item(db.session, user, JournalEntry, {"title": "Why"})
    service.update_profile(db.session, user, {"headline": "Baker"})
    db.session.commit()
    assert revision(user) == start + 5  # two flushes (each service call flushes)
    service.delete_item(db.session, user, entry)
    db.session.commit()
    assert revision(user) == start + 6
    # Reading (the pages, the API) changes nothing.
    login(client, user.email)
    timeline(client)
    client.get("/experiences")
    client.get(f"/experiences/{experience.id}")
    assert revision(user) == start + 6
    # A refused change and a rolled back one count nothing.
    with pytest.raises(Exception):
        service.update_item(db.session, user, experience, {"end_date": "1990-01-01"})
    db.session.rollback()
    service.update_item(db.session, user, experience, {"title": "Never saved"})
    db.session.rollback()
    assert revision(user) == start + 6
    # The in-memory value follows the database's after a change.
    portfolio = db.session.get(Portfolio, user.portfolio.id)
    service.update_item(db.session, user, experience, {"title": "Pastry cook"})
    assert portfolio.revision == start + 7


def test_concurrent_changes_each_count(app, user):
    """Two sessions that read the same revision both add one: no change is lost (no read-modify-write)."""
    portfolio_id = user.portfolio.id
    start = revision(user)
    first, other = db.session, Session(db.engine)
    try:
        owner_there = other.get(User, user.id)
        assert other.get(Portfolio, portfolio_id).revision == start
        service.create_item(first, user, Diploma, {"title": "One"})
        first.commit()
        service.create_item(other, owner_there, Diploma, {"title": "Two"})
        other.commit()
    finally:
        other.close()
    assert revision(user) == start + 2


def test_a_core_write_elsewhere_is_seen_through_the_revision(client, user):
    """Another process (a CLI command, another worker) changes an item and its revision: this worker's
    cache holds the old page, but the key changed, so the new content is shown."""
    experience = service.create_item(db.session, user, Experience, {
        "kind": "job", "title": "Baker", "start_date": "2020-01-01"})
    db.session.commit()
    login(client, user.email)
    timeline(client)
    assert timeline(client)[1]
    with db.engine.begin() as connection:  # as a separate process would: no ORM event here
        table = Experience.__table__
        connection.execute(update(table).where(table.c.id == experience.id).values(title="Cook"))
    page, cached = timeline(client)
    assert cached and "Baker" in page  # a write that skips the revision is not seen: why it is required
    service.update_item(db.session, user, db.session.get(Experience, experience.id), {"place": "Brest"})
    db.session.commit()
    page, cached = timeline(client)
    assert "Cook" in page and "Brest" in page and not cached


def test_unknown_filter_says_so_with_400(client, user):
    service.create_item(db.session, user, Experience, {"kind": "job", "title": "Baker", "start_date": "2020-01-01"})
    service.create_item(db.session, user, Diploma, {"title": "CAP", "awarded_on": "2019-07-01"})
    db.session.commit()
    login(client, user.email)
    for _ in range(2):  # the notice is not part of what is cached
        response = client.get("/timeline?kind=<b>nonsense</b>")
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "There is no filter “&lt;b&gt;nonsense&lt;/b&gt;”: everything is shown below." in page
        assert 'role="alert"' in page and "Baker" in page and ">CAP<" in page
    long = client.get("/timeline?kind=" + "x" * 500).get_data(as_text=True)
    assert "x" * 60 + "”" in long and "x" * 61 not in long
    for query in ("", "?kind=", "?kind=job", "?kind=diploma"):
        response = client.get(f"/timeline{query}")
        assert response.status_code == 200 and "There is no filter" not in response.get_data(as_text=True)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    page = client.get("/timeline?kind=stage").get_data(as_text=True)
    assert "Le filtre « stage » n’existe pas : tout est affiché ci-dessous." in page


def test_fragment_cache_is_bounded_and_least_recently_used():
    from markupsafe import Markup

    cache = FragmentCache(max_bytes=3 * (len("x" * 1000) + 100))
    parts = {key: Markup(key * 1000) for key in "abcd"}
    for key in "abc":
        cache.put(key, parts[key])
    assert cache.get("a") == parts["a"]  # "a" is now the most recently used
    cache.put("d", parts["d"])
    assert cache.get("b") is None and cache.get("a") and cache.get("c") and cache.get("d")
    assert cache.size <= cache.max_bytes and len(cache) == 3
    cache.put("huge", Markup("h" * 10_000))  # larger than the whole budget: not kept, nothing dropped
    assert cache.get("huge") is None and len(cache) == 3
    cache.put("a", parts["b"])  # replaced, not counted twice
    assert cache.get("a") == parts["b"] and len(cache) == 3 and cache.size <= cache.max_bytes
    off = FragmentCache(max_bytes=0)
    off.put("a", parts["a"])
    assert off.get("a") is None
    cache.clear()
    assert len(cache) == 0 and cache.size == 0


def test_cache_can_be_turned_off(app_settings, user):
    from app import create_app

    app = create_app({**app_settings, "FRAGMENT_CACHE_BYTES": 0})
    app.test_client_class = FreshClient
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with app.app_context():
        login(client, "owner@example.org")
        for _ in range(2):
            assert client.get("/timeline").status_code == 200
        assert len(fragments.cache()) == 0
