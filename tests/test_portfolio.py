"""The portfolio pages: experiences, diplomas, skills and journal (list / new / view / edit / delete),
the timeline and the overview, each private to its owner and driven through the real forms."""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import Diploma, Experience, JournalEntry, Skill
from app.models.portfolio import sort_key
from app.services import portfolio as service
from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_api import api_for, walk

SECTIONS = {
    # path, model, valid form data, a changed title field, name attribute
    "experiences": ("/experiences", Experience,
                    {"kind": "job", "title": "Barista", "organisation": "Café du Port", "place": "Brest",
                     "start_date": "2021-09-01", "end_date": "2022-06-30",
                     "description": "Coffee **every** day"}),
    "diplomas": ("/diplomas", Diploma,
                 {"title": "Baccalauréat professionnel", "awarding_body": "Académie de Rennes",
                  "awarded_on": "2020-07-05", "level": "EQF 4", "reference": "BAC-123"}),
    "skills": ("/skills", Skill,
               {"name": "Customer service", "level": "3", "framework": "ESCO",
                "concept_uri": "http://data.europa.eu/esco/skill/abc", "description": "Calm and kind"}),
    "journal": ("/journal", JournalEntry,
                {"title": "Why I want to be a nurse", "body": "Because *care* matters"}),
}
NAME = {Skill: "name"}
NOBODY = "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e"  # a well-formed id that belongs to nobody


@pytest.fixture(autouse=True)
def english(client):
    """Pages in the source language, so that messages can be compared with the code's strings."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def submit(client, url, data, form_url=None):
    """GET the form page for its CSRF token, then POST ``data`` to ``url``."""
    page = client.get(form_url or url)
    assert page.status_code == 200, page.data[:300]
    return client.post(url, data={**data, "csrf_token": csrf_token(page)})


def item_id(response) -> str:
    assert response.status_code == 302, response.data[-2000:]
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def text(response) -> str:
    return response.get_data(as_text=True)


# --- CRUD through the pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("section", SECTIONS)
def test_full_crud_through_the_pages(logged_in, section):
    path, model, data = SECTIONS[section]
    name = NAME.get(model, "title")
    client = logged_in

    assert client.get(path).status_code == 200
    new_id = item_id(submit(client, f"{path}/new", data))
    page = client.get(f"{path}/{new_id}")
    assert page.status_code == 200 and data[name] in text(page)
    assert data[name] in text(client.get(path))

    changed = {**data, name: "Changed title"}
    response = submit(client, f"{path}/{new_id}/edit", changed)
    assert item_id(response) == new_id
    db.session.expire_all()
    assert getattr(db.session.get(model, uuid.UUID(new_id)), name) == "Changed title"
    assert "Changed title" in text(client.get(f"{path}/{new_id}"))

    confirm = client.get(f"{path}/{new_id}/delete")
    assert confirm.status_code == 200
    assert "Changed title" in text(confirm) and 'method="post"' in text(confirm)
    response = client.post(f"{path}/{new_id}/delete", data={"csrf_token": csrf_token(confirm)})
    assert response.status_code == 302 and response.headers["Location"].endswith(path)
    assert count(model) == 0
    assert client.get(f"{path}/{new_id}").status_code == 404


def test_edit_form_is_filled_with_the_current_values(logged_in):
    new_id = item_id(submit(logged_in, "/experiences/new", SECTIONS["experiences"][2]))
    page = text(logged_in.get(f"/experiences/{new_id}/edit"))
    assert 'value="Barista"' in page and 'value="2021-09-01"' in page and 'type="date"' in page
    assert '<option selected value="job">' in page


@pytest.mark.parametrize("section", SECTIONS)
def test_post_without_csrf_token_is_refused_and_saves_nothing(logged_in, section):
    path, model, data = SECTIONS[section]
    response = logged_in.post(f"{path}/new", data=data)
    assert response.status_code == 400
    assert count(model) == 0


@pytest.mark.parametrize("url", ["/dashboard", "/timeline", "/experiences", "/experiences/new", "/diplomas",
                                 "/skills/new", "/journal", f"/experiences/{NOBODY}"])
def test_anonymous_visitor_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- Another person's items -----------------------------------------------------------------------------


@pytest.fixture
def stranger_items(app, make_user):
    """One item of each kind, owned by somebody else (signed in on their own client); {section: id}."""
    other = make_user("stranger@example.org")
    stranger = app.test_client()
    login(stranger, other.email)
    return {section: item_id(submit(stranger, f"{path}/new", data))
            for section, (path, _, data) in SECTIONS.items()}


@pytest.mark.parametrize("section", SECTIONS)
def test_another_persons_item_is_404_everywhere_and_unchanged(client, user, stranger_items, section):
    path, model, data = SECTIONS[section]
    name = NAME.get(model, "title")
    login(client, user.email)
    other_id = stranger_items[section]
    token = csrf_token(client.get(f"{path}/new"))
    for url in (f"{path}/{other_id}", f"{path}/{other_id}/edit", f"{path}/{other_id}/delete"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"{path}/{other_id}/edit",
                       data={**data, name: "Hijacked", "csrf_token": token}).status_code == 404
    assert client.post(f"{path}/{other_id}/delete", data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    item = db.session.get(model, uuid.UUID(other_id))
    assert item is not None and getattr(item, name) == data[name]
    assert data[name] not in text(client.get(path))


@pytest.mark.parametrize("bad_id", ["not-a-uuid", NOBODY, "1"])
def test_unknown_or_malformed_id_is_404(logged_in, bad_id):
    assert logged_in.get(f"/experiences/{bad_id}").status_code == 404


# --- Refusals, shown next to the field, nothing saved ---------------------------------------------------


def field_error(page: str, field: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert match, f"no error shown for {field}"
    return match.group(1)


def test_end_date_before_start_date_is_refused(logged_in):
    data = {**SECTIONS["experiences"][2], "start_date": "2022-01-01", "end_date": "2021-12-31"}
    response = submit(logged_in, "/experiences/new", data)
    page = text(response)
    assert response.status_code == 422
    assert field_error(page, "end_date") == "The end date must not be before the start date."
    assert 'aria-invalid="true" id="end_date"' in page
    assert 'aria-describedby="end_date-hint end_date-error"' in page
    assert 'value="Barista"' in page  # what was typed is kept
    assert count(Experience) == 0


def test_refused_edit_changes_nothing(logged_in):
    new_id = item_id(submit(logged_in, "/experiences/new", SECTIONS["experiences"][2]))
    data = {**SECTIONS["experiences"][2], "title": "Changed", "end_date": "1999-01-01"}
    response = submit(logged_in, f"/experiences/{new_id}/edit", data)
    assert response.status_code == 422
    db.session.expire_all()
    item = db.session.get(Experience, uuid.UUID(new_id))
    assert item.title == "Barista" and item.end_date == date(2022, 6, 30)


@pytest.mark.parametrize("section", SECTIONS)
def test_over_long_title_is_refused(logged_in, section):
    path, model, data = SECTIONS[section]
    name = NAME.get(model, "title")
    response = submit(logged_in, f"{path}/new", {**data, name: "x" * 201})
    assert response.status_code == 422
    assert field_error(text(response), name) == "At most 200 characters."
    assert count(model) == 0


@pytest.mark.parametrize("field, value, message", [
    ("start_date", "31/12/2020", "Not a valid date (expected YYYY-MM-DD)."),
    ("start_date", "2021-02-30", "Not a valid date (expected YYYY-MM-DD)."),
    ("start_date", "", "This field is required."),
    ("kind", "holiday", "Not one of the allowed values."),
    ("title", "  ", "This field is required."),
])
def test_bad_experience_values_are_refused_next_to_their_field(logged_in, field, value, message):
    response = submit(logged_in, "/experiences/new", {**SECTIONS["experiences"][2], field: value})
    assert response.status_code == 422
    assert field_error(text(response), field) == message
    assert count(Experience) == 0


def test_skill_level_outside_the_scale_is_refused(logged_in):
    response = submit(logged_in, "/skills/new", {**SECTIONS["skills"][2], "level": "5"})
    assert response.status_code == 422
    assert field_error(text(response), "level") == "Must be between 1 and 4."
    response = submit(logged_in, "/skills/new",
                      {**SECTIONS["skills"][2], "concept_uri": "javascript:alert(1)"})
    assert field_error(text(response), "concept_uri").startswith("Must be a web address")
    assert count(Skill) == 0


def test_another_owners_skill_cannot_be_linked(client, user, stranger_items):
    login(client, user.email)
    data = {**SECTIONS["experiences"][2], "skill_ids": [stranger_items["skills"]]}
    response = submit(client, "/experiences/new", data)
    assert response.status_code == 422
    assert field_error(text(response), "skill_ids") == "Unknown id."
    assert db.session.scalar(select(func.count()).select_from(Experience)
                             .where(Experience.title == "Barista")) == 1  # only the stranger's


# --- Links between skills and experiences ---------------------------------------------------------------


def test_skills_and_experiences_link_both_ways(logged_in):
    client = logged_in
    skill = item_id(submit(client, "/skills/new", SECTIONS["skills"][2]))
    other_skill = item_id(submit(client, "/skills/new", {**SECTIONS["skills"][2], "name": "Latte art"}))
    form = text(client.get("/experiences/new"))
    assert 'type="checkbox"' in form and "Customer service" in form and "Latte art" in form
    experience = item_id(submit(client, "/experiences/new",
                                {**SECTIONS["experiences"][2], "skill_ids": [skill]}))

    assert "Customer service" in text(client.get(f"/experiences/{experience}"))
    skill_page = text(client.get(f"/skills/{skill}"))
    assert "Barista" in skill_page and "3 · Mastered" not in skill_page and "Mastered" in skill_page

    # From the skill's side: link the second skill to the experience, then unlink everything.
    item_id(submit(client, f"/skills/{other_skill}/edit",
                   {**SECTIONS["skills"][2], "name": "Latte art", "experience_ids": [experience]}))
    db.session.expire_all()
    assert {s.name for s in db.session.get(Experience, uuid.UUID(experience)).skills} == {
        "Customer service", "Latte art"}
    edit = text(client.get(f"/experiences/{experience}/edit"))
    assert edit.count("checked") == 2
    item_id(submit(client, f"/experiences/{experience}/edit", SECTIONS["experiences"][2]))  # nothing ticked
    db.session.expire_all()
    assert db.session.get(Experience, uuid.UUID(experience)).skills == []
    assert count(Skill) == 2  # unlinking never deletes


def test_skill_levels_are_shown_as_words(logged_in):
    item_id(submit(logged_in, "/skills/new", {**SECTIONS["skills"][2], "level": "2"}))
    page = text(logged_in.get("/skills"))
    assert "Partially mastered" in page and "level-2" in page
    form = text(logged_in.get("/skills/new"))
    for words in ("Not mastered", "Partially mastered", "Mastered", "Well mastered"):
        assert words in form


# --- Markdown is rendered safely ------------------------------------------------------------------------


def test_scripts_and_javascript_links_in_descriptions_are_neutralised(logged_in):
    evil = ('Hello <script>alert("x")</script> [click](javascript:alert(1)) '
            '<img src=x onerror=alert(2)> <a href="javascript:alert(3)">raw</a> **bold**')
    experience = item_id(submit(logged_in, "/experiences/new",
                                {**SECTIONS["experiences"][2], "description": evil}))
    entry = item_id(submit(logged_in, "/journal/new", {"title": "<script>alert(4)</script>", "body": evil}))
    for url in (f"/experiences/{experience}", f"/journal/{entry}", "/journal", "/dashboard"):
        page = text(logged_in.get(url))
        assert "<script>alert" not in page, url
        assert "javascript:" not in page and "onerror" not in page, url
    page = text(logged_in.get(f"/experiences/{experience}"))
    assert "<strong>bold</strong>" in page
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in text(logged_in.get(f"/journal/{entry}"))


# --- Timeline --------------------------------------------------------------------------------------------


def add_experience(client, title, kind, start, end="", **extra):
    return item_id(submit(client, "/experiences/new", {"kind": kind, "title": title, "start_date": start,
                                                      "end_date": end, **extra}))


def test_timeline_is_reverse_chronological_grouped_by_year(logged_in):
    add_experience(logged_in, "First job", "job", "2018-03-01", "2019-02-28",
                   organisation="Boulangerie Martin")
    add_experience(logged_in, "Football club", "sport", "2020-09-01", place="Quimper")
    add_experience(logged_in, "Work placement", "internship", "2020-01-06", "2020-02-14")
    submit(logged_in, "/diplomas/new", {"title": "CAP Boulanger", "awarded_on": "2019-07-01"})
    submit(logged_in, "/diplomas/new", {"title": "First aid (PSC1)"})  # undated
    page = text(logged_in.get("/timeline"))
    order = [page.index(t) for t in ("Football club", "Work placement", "CAP Boulanger", "First job",
                                     "First aid (PSC1)")]
    assert order == sorted(order)
    years = [page.index(f">{y}</h2>") for y in ("2020", "2019", "2018")]
    assert years == sorted(years) and page.count(">2020</h2>") == 1
    assert "Since September 2020" in page  # ongoing
    assert "January 2020 – February 2020" in page
    assert "Boulangerie Martin" in page and "Quimper" in page


def test_timeline_filter_by_kind(logged_in):
    add_experience(logged_in, "Football club", "sport", "2020-09-01")
    add_experience(logged_in, "Work placement", "internship", "2020-01-06", "2020-02-14")
    submit(logged_in, "/diplomas/new", {"title": "CAP Boulanger", "awarded_on": "2019-07-01"})

    page = text(logged_in.get("/timeline?kind=sport"))
    assert "Football club" in page and "Work placement" not in page and "CAP Boulanger" not in page
    filters = re.search(r'<nav class="filters".*?</nav>', page, re.S).group(0)
    assert re.search(r'href="/timeline\?kind=sport" aria-current="page"', filters)
    assert filters.count("aria-current") == 1

    page = text(logged_in.get("/timeline?kind=diploma"))
    assert "CAP Boulanger" in page and "Football club" not in page

    response = logged_in.get("/timeline?kind=nonsense")  # an edited link: everything, and a notice
    page = text(response)
    assert response.status_code == 400
    assert "There is no filter “nonsense”: everything is shown below." in page
    assert "Football club" in page and "CAP Boulanger" in page
    assert re.search(r'href="/timeline" aria-current="page"', page)


def test_timeline_shows_linked_skills_and_only_the_owners_items(client, user, stranger_items):
    login(client, user.email)
    skill = item_id(submit(client, "/skills/new", {"name": "Bread making", "level": "4"}))
    add_experience(client, "Apprenticeship", "education", "2019-09-01", "2021-06-30", skill_ids=[skill])
    page = text(client.get("/timeline"))
    assert "Apprenticeship" in page and "Bread making" in page
    assert "Barista" not in page and "Baccalauréat professionnel" not in page


def test_timeline_runs_a_fixed_number_of_queries(app, logged_in, user):
    """No N+1: the same handful of queries for 3 items or 60, each with linked skills."""
    from app.services import portfolio as service

    def queries_for_timeline() -> int:
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert logged_in.get("/timeline").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    def add(n):
        skills = [service.create_item(db.session, user, Skill, {"name": f"S{i}", "level": 2})
                  for i in range(3)]
        for i in range(n):
            service.create_item(db.session, user, Experience, {
                "kind": "job", "title": f"Job {i}", "start_date": f"20{10 + i % 10}-01-01",
                "skill_ids": [str(s.id) for s in skills]})
            service.create_item(db.session, user, Diploma, {"title": f"D {i}", "awarded_on": "2015-01-01"})
        db.session.commit()

    add(3)
    small = queries_for_timeline()
    add(57)
    assert queries_for_timeline() == small
    assert small <= 8


# --- Overview --------------------------------------------------------------------------------------------


def test_dashboard_guides_a_new_account(logged_in):
    page = text(logged_in.get("/dashboard"))
    assert "Hello, Owner Person" in page
    assert "Welcome to your portfolio" in page
    for url in ("/experiences/new", "/skills/new", "/diplomas/new", "/journal/new", "/profile"):
        assert f'href="{url}"' in page


def test_dashboard_counts_latest_items_and_levels(logged_in):
    for i, year in enumerate((2015, 2016, 2017, 2018)):
        add_experience(logged_in, f"Experience {year}", "project", f"{year}-01-01")
    submit(logged_in, "/skills/new", {"name": "Welding", "level": "4"})
    submit(logged_in, "/skills/new", {"name": "Painting", "level": "4"})
    submit(logged_in, "/journal/new", {"title": "Older thoughts"})
    submit(logged_in, "/journal/new", {"title": "Latest thoughts"})
    page = text(logged_in.get("/dashboard"))
    assert "Welcome to your portfolio" not in page
    for words in ("4 experiences", "0 diplomas", "2 skills", "2 journal entries"):
        assert words in page
    assert "Experience 2018" in page and "Experience 2016" in page and "Experience 2015" not in page
    assert re.search(r"Well mastered.*?</span>: 2", page, re.S)
    assert "Latest thoughts" in page and "Older thoughts" not in page


# --- Skills in reading order ---------------------------------------------------------------------------

SKILL_NAMES = ["Zèle", "anglais", "budget", "Écoute active"]  # byte order; a reader expects EXPECTED
EXPECTED = ["anglais", "budget", "Écoute active", "Zèle"]


def in_page_order(page: str, names: list[str]) -> list[str]:
    """``names`` in the order they first appear in ``page`` as an element's whole text."""
    assert all(f">{name}<" in page for name in names), page[-3000:]
    return sorted(names, key=lambda name: page.index(f">{name}<"))


def test_sort_key_ignores_case_accents_and_compatibility_forms():
    assert sorted(SKILL_NAMES) != EXPECTED and sorted(SKILL_NAMES, key=sort_key) == EXPECTED
    assert sort_key("Écoute Active") == "ecoute active"
    assert sort_key("Straße") == "strasse" and sort_key("ﬁnance") == "finance"
    assert sort_key("İstanbul") == "istanbul" and sort_key("ÅNGSTRÖM") == "angstrom"
    assert sort_key("한국어") == "한국어"  # Hangul syllables recomposed, one character each
    assert len(sort_key("\ufdfa" * 20)) == 200  # 18 characters each once decomposed: cut to fit


def test_skills_are_listed_by_name_ignoring_case_and_accents(logged_in):
    ids = {name: item_id(submit(logged_in, "/skills/new", {"name": name, "level": "2"}))
           for name in SKILL_NAMES}
    assert in_page_order(text(logged_in.get("/skills")), SKILL_NAMES) == EXPECTED
    assert in_page_order(text(logged_in.get("/experiences/new")), SKILL_NAMES) == EXPECTED  # the checkboxes
    experience = item_id(submit(logged_in, "/experiences/new",
                                {**SECTIONS["experiences"][2], "skill_ids": list(ids.values())}))
    assert in_page_order(text(logged_in.get(f"/experiences/{experience}")), SKILL_NAMES) == EXPECTED

    # A renamed skill moves to its new place (the key follows the name on every change).
    item_id(submit(logged_in, f"/skills/{ids['Zèle']}/edit", {"name": "Adaptabilité", "level": "2"}))
    assert in_page_order(text(logged_in.get("/skills")), ["Adaptabilité", *EXPECTED[:3]]) == [
        "Adaptabilité", *EXPECTED[:3]]


def test_api_pages_through_skills_in_the_same_order(client, user):
    """One skill per page: each cursor carries the sort key, so the next page is sought from it."""
    api = api_for(client, user)
    for name in SKILL_NAMES:
        assert api.post("/skills", json={"name": name, "level": 2}).status_code == 201
    seen, pages = walk(api, "skills", limit=1)
    assert [api.get(f"/skills/{skill_id}").get_json()["name"] for skill_id in seen] == EXPECTED
    assert pages == 4
    assert [item["name"] for item in api.get("/skills").get_json()["items"]] == EXPECTED

    renamed = api.patch(f"/skills/{seen[-1]}", json={"name": "Adaptabilité"})  # was "Zèle"
    assert renamed.status_code == 200
    seen, _ = walk(api, "skills", limit=3)
    assert [api.get(f"/skills/{skill_id}").get_json()["name"] for skill_id in seen] == [
        "Adaptabilité", *EXPECTED[:3]]


def test_core_inserts_get_the_sort_key_from_the_column_default(user):
    """Bulk inserts (as app/demo.py writes synthetic accounts) bypass the ORM validator."""
    db.session.execute(Skill.__table__.insert(), [
        {"id": uuid.uuid4(), "portfolio_id": user.portfolio.id, "name": name, "level": 2}
        for name in SKILL_NAMES])
    db.session.commit()
    skills = service.list_items(db.session, user, Skill)
    assert [skill.name for skill in skills] == EXPECTED
    assert [skill.sort_name for skill in skills] == ["anglais", "budget", "ecoute active", "zele"]


def test_the_migration_fills_the_sort_key_of_existing_skills(app, user):
    """Skills written before the column existed get their key from the migration itself."""
    portfolio_id = user.portfolio.id
    db.session.remove()
    downgrade(revision="f99cf7be7f99")
    try:
        skills = sa.table("skills", *(sa.column(name) for name in (
            "name", "level", "framework", "concept_uri", "description", "created_at", "updated_at")),
            sa.column("id", sa.Uuid()), sa.column("portfolio_id", sa.Uuid()))
        now = datetime.now(timezone.utc)
        with db.engine.begin() as connection:
            assert "sort_name" not in {c["name"] for c in sa.inspect(connection).get_columns("skills")}
            connection.execute(skills.insert(), [
                {"id": uuid.uuid4(), "portfolio_id": portfolio_id, "name": name, "level": 2, "framework": "",
                 "concept_uri": "", "description": "", "created_at": now, "updated_at": now}
                for name in SKILL_NAMES])
    finally:
        upgrade()
    owner = db.session.get(type(user), user.id)
    assert [skill.name for skill in service.list_items(db.session, owner, Skill)] == EXPECTED
    assert db.session.scalar(select(func.count()).where(Skill.sort_name == "")) == 0
