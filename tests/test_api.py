"""JSON API v1: profile and portfolio items, errors, pagination, and the OpenAPI description."""
from __future__ import annotations

import base64
import io
import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from app.api.common import MAX_CURSOR
from app.extensions import db
from app.models import Diploma, Experience, JournalEntry, Skill
from app.services import tokens

EXPERIENCE = {"kind": "job", "title": "Baker", "organisation": "Boulangerie", "place": "Lyon",
              "start_date": "2019-09-01", "end_date": "2021-06-30", "description": "Bread *every* day"}
RESOURCES = {
    # path: (model, a valid creation body, a change, the fields of an answer)
    "experiences": (Experience, EXPERIENCE, {"title": "Head baker", "end_date": None},
                    {"id", "kind", "title", "organisation", "place", "start_date", "end_date", "description",
                     "skill_ids", "evidence", "created_at", "updated_at"}),
    "diplomas": (Diploma, {"title": "CAP Boulanger", "awarding_body": "Académie de Lyon",
                           "awarded_on": "2019-06-30", "level": "3", "reference": "CAP-123"},
                 {"reference": "", "awarded_on": "2018-07-01"},
                 {"id", "title", "awarding_body", "awarded_on", "level", "reference", "evidence"}),
    "skills": (Skill, {"name": "Kneading", "level": 3, "framework": "ESCO",
                       "concept_uri": "http://data.europa.eu/esco/skill/1", "description": "Dough"},
               {"level": 4},
               {"id", "name", "level", "framework", "concept_uri", "description", "experience_ids",
                "evidence"}),
    "journal": (JournalEntry, {"title": "Why baking", "body": "Because *bread*."},
                {"body": "Because pastry."}, {"id", "title", "body", "created_at", "updated_at"}),
}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class Api:
    """A test client that sends one person's token with every request."""

    def __init__(self, client, raw: str):
        self.client, self.headers = client, {"Authorization": f"Bearer {raw}"}

    def __getattr__(self, method):
        def call(path, **kwargs):
            response = getattr(self.client, method)(f"/api/v1{path}", headers=self.headers, **kwargs)
            assert "Set-Cookie" not in response.headers
            assert response.status_code < 500, response.get_data(as_text=True)
            return response
        return call


def api_for(client, person) -> Api:
    _, raw = tokens.create_token(db.session, person, "tests")
    db.session.commit()
    return Api(client, raw)


@pytest.fixture
def api(client, user):
    return api_for(client, user)


@pytest.fixture
def other_api(client, make_user):
    return api_for(client, make_user("other@example.org"))


def count(model) -> int:
    db.session.expire_all()
    return db.session.query(model).count()


# --- full CRUD for each resource -------------------------------------------------------------------

@pytest.mark.parametrize("path", RESOURCES)
def test_crud(api, path):
    model, body, change, names = RESOURCES[path]
    assert api.get(f"/{path}").get_json() == {"items": [], "next_cursor": None}

    created = api.post(f"/{path}", json=body)
    assert created.status_code == 201, created.get_json()
    item = created.get_json()
    assert set(item) == names
    assert {k: item[k] for k in body} == body
    assert created.headers["Location"].endswith(f"/api/v1/{path}/{item['id']}")
    assert uuid.UUID(item["id"]).version == 4
    for stamp in ("created_at", "updated_at"):
        if stamp in item:
            assert ISO_UTC.match(item[stamp]), item[stamp]

    assert api.get(f"/{path}/{item['id']}").get_json() == item
    assert api.get(f"/{path}").get_json() == {"items": [item], "next_cursor": None}

    patched = api.patch(f"/{path}/{item['id']}", json=change)
    assert patched.status_code == 200, patched.get_json()
    stamps = {k: patched.get_json()[k] for k in ("updated_at",) if k in item}
    assert patched.get_json() == {**item, **change, **stamps}
    assert api.get(f"/{path}/{item['id']}").get_json() == patched.get_json()

    deleted = api.delete(f"/{path}/{item['id']}")
    assert deleted.status_code == 204 and deleted.data == b""
    assert api.get(f"/{path}/{item['id']}").status_code == 404
    assert api.delete(f"/{path}/{item['id']}").status_code == 404
    assert count(model) == 0


def test_experience_and_skill_links(api, other_api):
    skill = api.post("/skills", json={"name": "Kneading", "level": 2}).get_json()
    experience = api.post("/experiences", json={**EXPERIENCE, "skill_ids": [skill["id"]]}).get_json()
    assert experience["skill_ids"] == [skill["id"]]
    assert api.get(f"/skills/{skill['id']}").get_json()["experience_ids"] == [experience["id"]]

    theirs = other_api.post("/skills", json={"name": "Theirs", "level": 1}).get_json()
    response = api.patch(f"/experiences/{experience['id']}", json={"skill_ids": [theirs["id"]]})
    assert response.status_code == 422 and "skill_ids" in response.get_json()["fields"]
    assert api.get(f"/experiences/{experience['id']}").get_json()["skill_ids"] == [skill["id"]]

    assert api.patch(f"/experiences/{experience['id']}", json={"skill_ids": []}).get_json()["skill_ids"] == []


def test_ongoing_experience_and_empty_optional_fields(api):
    item = api.post("/experiences",
                    json={"kind": "volunteering", "title": "Coach", "start_date": "2022-01-01"})
    assert item.status_code == 201
    body = item.get_json()
    assert body["end_date"] is None and body["organisation"] == "" and body["skill_ids"] == []
    cleared = api.patch(f"/experiences/{body['id']}", json={"place": None, "description": ""}).get_json()
    assert cleared["place"] == "" and cleared["description"] == ""


# --- validation ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, body, field", [
    ("experiences", {**EXPERIENCE, "start_date": "2021-01-01", "end_date": "2020-01-01"}, "end_date"),
    ("experiences", {**EXPERIENCE, "kind": "pirate"}, "kind"),
    ("experiences", {**EXPERIENCE, "title": 123}, "title"),
    ("experiences", {**EXPERIENCE, "title": "   "}, "title"),
    ("experiences", {**EXPERIENCE, "start_date": "01/02/2020"}, "start_date"),
    ("experiences", {**EXPERIENCE, "start_date": 20200101}, "start_date"),
    ("experiences", {k: v for k, v in EXPERIENCE.items() if k != "start_date"}, "start_date"),
    ("experiences", {**EXPERIENCE, "colour": "blue"}, "colour"),
    ("experiences", {**EXPERIENCE, "skill_ids": ["not-an-id"]}, "skill_ids"),
    ("experiences", {**EXPERIENCE, "skill_ids": [str(uuid.uuid4())]}, "skill_ids"),
    ("experiences", {**EXPERIENCE, "skill_ids": {"a": 1}}, "skill_ids"),
    ("experiences", {**EXPERIENCE, "title": "x" * 201}, "title"),
    ("experiences", {**EXPERIENCE, "title": "bad\u0000title"}, "title"),
    ("skills", {"name": "Kneading", "level": 5}, "level"),
    ("skills", {"name": "Kneading", "level": 0}, "level"),
    ("skills", {"name": "Kneading", "level": 2.5}, "level"),
    ("skills", {"name": "Kneading", "level": True}, "level"),
    ("skills", {"name": "Kneading", "level": 10 ** 30}, "level"),
    ("skills", {"name": "Kneading", "level": 2, "concept_uri": "javascript:alert(1)"}, "concept_uri"),
    ("diplomas", {"title": "CAP", "awarded_on": "2019-02-30"}, "awarded_on"),
    ("diplomas", {"title": "CAP", "awarded_on": "1066-10-14"}, "awarded_on"),
    ("journal", {"title": ["a list"]}, "title"),
    ("journal", {"body": "no title"}, "title"),
])
def test_validation_errors_are_422_with_field_messages(api, path, body, field):
    response = api.post(f"/{path}", json=body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()
    assert error["error"] == "validation_error" and error["message"]
    assert field in error["fields"] and error["fields"][field]
    assert count(RESOURCES[path][0]) == 0  # nothing half-saved


def test_patch_validation_leaves_the_item_unchanged(api):
    item = api.post("/experiences", json=EXPERIENCE).get_json()
    response = api.patch(f"/experiences/{item['id']}", json={"title": "New", "end_date": "2000-01-01"})
    assert response.status_code == 422 and "end_date" in response.get_json()["fields"]
    assert api.get(f"/experiences/{item['id']}").get_json() == item
    response = api.patch(f"/experiences/{item['id']}", json={"title": "New", "id": str(uuid.uuid4())})
    assert response.status_code == 422 and "id" in response.get_json()["fields"]
    assert api.patch(f"/experiences/{item['id']}", json={"title": None}).status_code == 422
    assert api.get(f"/experiences/{item['id']}").get_json() == item


@pytest.mark.parametrize("data, content_type, status, code", [
    ("{not json", "application/json", 400, "invalid_json"),
    ("", "application/json", 400, "invalid_json"),
    ("[1, 2]", "application/json", 400, "invalid_json"),
    ('"text"', "application/json", 400, "invalid_json"),
    ("null", "application/json", 400, "invalid_json"),
    ('{"title": NaN}', "application/json", 400, "invalid_json"),
    ('{"level": 1e400}', "application/json", 400, "invalid_json"),
    ('{"title": "\\ud800"}', "application/json", 400, "invalid_json"),
    ("[" * 100_000 + "]" * 100_000, "application/json", 400, "invalid_json"),
    (b'{"title": "\xff\xfe"}', "application/json", 400, "invalid_json"),
    ('{"title": "x"}', "text/plain", 415, "unsupported_media_type"),
    ("title=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
])
def test_malformed_bodies_are_clear_errors(api, data, content_type, status, code):
    response = api.post("/journal", data=data, content_type=content_type)
    assert response.status_code == status
    assert response.get_json()["error"] == code
    item = api.post("/journal", json={"title": "x"}).get_json()
    response = api.patch(f"/journal/{item['id']}", data=data, content_type=content_type)
    assert response.status_code == status


def test_a_large_body_is_refused(api):
    body = '{"title": "' + "x" * (1024 * 1024) + '"}'
    response = api.post("/journal", data=body, content_type="application/json")
    assert response.status_code == 413 and response.get_json()["error"] == "payload_too_large"


def test_json_with_a_charset_and_vendor_types_is_accepted(api):
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        assert api.post("/journal", data='{"title": "x"}', content_type=content_type).status_code == 201


# --- isolation between people ----------------------------------------------------------------------

@pytest.mark.parametrize("path", RESOURCES)
def test_another_persons_items_are_404(api, other_api, path):
    model, body, change, _ = RESOURCES[path]
    mine = api.post(f"/{path}", json=body).get_json()
    missing = other_api.get(f"/{path}/{uuid.uuid4()}")
    for response in (other_api.get(f"/{path}/{mine['id']}"),
                     other_api.patch(f"/{path}/{mine['id']}", json=change),
                     other_api.delete(f"/{path}/{mine['id']}")):
        assert response.status_code == 404
        assert response.get_json() == missing.get_json()
        assert response.get_json()["error"] == "not_found"
    assert other_api.get(f"/{path}").get_json()["items"] == []
    assert api.get(f"/{path}/{mine['id']}").get_json() == mine


@pytest.mark.parametrize("item_id", ["not-a-uuid", "1", "00000000-0000-0000-0000-00000000000g", "%00"])
def test_malformed_ids_are_404(api, item_id):
    for method in ("get", "patch", "delete"):
        response = getattr(api, method)(f"/experiences/{item_id}")
        assert response.status_code == 404
        assert response.get_json()["error"] == "not_found"


# --- pagination ------------------------------------------------------------------------------------

def walk(api, path: str, limit: int = 2, **query) -> tuple[list[str], int]:
    """Follow ``next_cursor`` from the first page to the last: (every id seen, in order; pages)."""
    seen, cursor, pages = [], None, 0
    while True:
        args = {"limit": limit, **query} | ({"cursor": cursor} if cursor else {})
        response = api.get(f"/{path}", query_string=args)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert len(body["items"]) <= limit
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages
        assert pages < 100, "the walk does not end"


def cursor_of(value) -> str:
    """A hand-made cursor (URL-safe base64 of JSON, unpadded), to forge or replay positions."""
    raw = json.dumps(value).encode() if not isinstance(value, bytes) else value
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _newest_first(items, key):
    """The API's order: by ``key`` descending, then id descending; a NULL key comes last."""
    def place(item):
        return key(item) is not None, key(item) or "", uuid.UUID(item["id"])

    return [item["id"] for item in sorted(items, key=place, reverse=True)]


def _set_journal_times(entries, moments):
    """Set creation times by hand: equal ones make ties that the keyset must break by id (and whole
    seconds, since the API shows seconds while the database keeps microseconds)."""
    for entry, moment in zip(entries, moments):
        db.session.get(JournalEntry, uuid.UUID(entry["id"])).created_at = moment
    db.session.commit()


def test_walking_with_limit_2_returns_every_item_exactly_once_despite_equal_keys(api):
    """Equal sort keys (same start date, same award date, same name, same creation time) and undated
    diplomas: each item is seen once, in the order of one big page, and that order is the documented one."""
    experiences = [api.post("/experiences", json={**EXPERIENCE, "start_date": day, "end_date": None})
                   .get_json() for day in ["2020-01-01"] * 4 + ["2021-05-01", "2019-01-01"]]
    diplomas = [api.post("/diplomas", json={"title": f"D{i}", "awarded_on": day}).get_json()
                for i, day in enumerate([None, "2018-06-30", None, "2018-06-30", "2018-06-30", "2022-01-01",
                                         None])]
    skills = [api.post("/skills", json={"name": name, "level": 2}).get_json()
              for name in ["baking", "baking", "alpha", "baking", "zymurgy"]]
    journal = [api.post("/journal", json={"title": f"J{i}"}).get_json() for i in range(5)]
    tie = datetime(2024, 3, 1, 12, tzinfo=timezone.utc)
    _set_journal_times(journal, [tie - timedelta(days=30), tie, tie, tie, tie + timedelta(seconds=1)])
    journal = [api.get(f"/journal/{entry['id']}").get_json() for entry in journal]

    expected = {
        "experiences": _newest_first(experiences, lambda item: item["start_date"]),
        "diplomas": _newest_first(diplomas, lambda item: item["awarded_on"]),
        "skills": [item["id"] for item in sorted(skills, key=lambda i: (i["name"], uuid.UUID(i["id"])))],
        "journal": _newest_first(journal, lambda item: item["created_at"]),
    }
    for path, order in expected.items():
        seen, pages = walk(api, path, limit=2)
        assert seen == order, path
        assert len(seen) == len(set(seen)) and pages == (len(order) + 1) // 2, path
        assert seen == [item["id"] for item in api.get(f"/{path}").get_json()["items"]], path
    undated = [item["id"] for item in diplomas if item["awarded_on"] is None]
    assert expected["diplomas"][-3:] == sorted(undated, key=uuid.UUID, reverse=True)  # NULLs last, once each


def test_pagination_walks_every_item_exactly_once(api):
    created = {api.post("/experiences", json={**EXPERIENCE, "title": f"Job {i}",
                                               "start_date": f"20{10 + i % 3}-01-01", "end_date": None}
                        ).get_json()["id"] for i in range(7)}
    seen, pages = walk(api, "experiences", limit=3)
    assert pages == 3 and len(seen) == 7 and set(seen) == created
    assert seen == [item["id"] for item in api.get("/experiences").get_json()["items"]]


def test_the_kind_filter_pages_too(api):
    for i in range(5):
        api.post("/experiences", json={**EXPERIENCE, "kind": "sport" if i % 2 else "job", "title": f"E{i}"})
    seen, _ = walk(api, "experiences", limit=1, kind="sport")
    titles = {api.get(f"/experiences/{item_id}").get_json()["title"] for item_id in seen}
    assert titles == {"E1", "E3"} and len(seen) == 2


@pytest.mark.parametrize("path, make", [
    ("journal", lambda i: {"title": f"J{i}"}),
    ("experiences", lambda i: {**EXPERIENCE, "start_date": "2020-01-01", "end_date": None}),
    ("diplomas", lambda i: {"title": f"D{i}", "awarded_on": None}),
    ("skills", lambda i: {"name": "Same", "level": 1}),
])
def test_deleting_the_cursors_item_between_pages_still_continues(api, path, make):
    """The cursor carries the position itself: the next page does not need its item to exist."""
    for i in range(6):
        api.post(f"/{path}", json=make(i))
    order = [item["id"] for item in api.get(f"/{path}").get_json()["items"]]
    first = api.get(f"/{path}", query_string={"limit": 2}).get_json()
    assert [item["id"] for item in first["items"]] == order[:2]
    assert api.delete(f"/{path}/{order[1]}").status_code == 204  # the item the cursor points at
    assert api.delete(f"/{path}/{order[2]}").status_code == 204  # and the one that came next
    second = api.get(f"/{path}", query_string={"limit": 2, "cursor": first["next_cursor"]}).get_json()
    assert [item["id"] for item in second["items"]] == order[3:5]
    third = api.get(f"/{path}", query_string={"limit": 2, "cursor": second["next_cursor"]}).get_json()
    assert [item["id"] for item in third["items"]] == order[5:] and third["next_cursor"] is None


def test_a_cursor_after_an_undated_diploma_goes_on_with_the_undated_ones(api):
    dated = api.post("/diplomas", json={"title": "Dated", "awarded_on": "2020-01-01"}).get_json()
    undated = [api.post("/diplomas", json={"title": f"U{i}"}).get_json()["id"] for i in range(3)]
    undated.sort(key=uuid.UUID, reverse=True)
    first = api.get("/diplomas", query_string={"limit": 2}).get_json()
    assert [item["id"] for item in first["items"]] == [dated["id"], undated[0]]
    rest = api.get("/diplomas", query_string={"limit": 5, "cursor": first["next_cursor"]}).get_json()
    assert [item["id"] for item in rest["items"]] == undated[1:] and rest["next_cursor"] is None


def test_a_long_skill_name_still_makes_a_usable_cursor(api):
    for _ in range(2):
        assert api.post("/skills", json={"name": "\U0001F35E" * 200, "level": 1}).status_code == 201
    first = api.get("/skills", query_string={"limit": 1}).get_json()
    assert first["next_cursor"] and len(first["next_cursor"]) <= MAX_CURSOR
    second = api.get("/skills", query_string={"limit": 1, "cursor": first["next_cursor"]}).get_json()
    assert len(second["items"]) == 1 and second["items"][0]["id"] != first["items"][0]["id"]


def test_a_full_last_page_has_no_next_cursor(api):
    for i in range(4):
        api.post("/journal", json={"title": f"Entry {i}"})
    first = api.get("/journal", query_string={"limit": 2}).get_json()
    second = api.get("/journal", query_string={"limit": 2, "cursor": first["next_cursor"]}).get_json()
    assert len(second["items"]) == 2 and second["next_cursor"] is None


def test_kind_filter(api):
    api.post("/experiences", json=EXPERIENCE)
    api.post("/experiences", json={**EXPERIENCE, "kind": "sport", "title": "Rugby"})
    body = api.get("/experiences", query_string={"kind": "sport"}).get_json()
    assert [item["title"] for item in body["items"]] == ["Rugby"]
    response = api.get("/experiences", query_string={"kind": "pirate"})
    assert response.status_code == 422 and "kind" in response.get_json()["fields"]


NIL = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize("path, cursor", [
    ("skills", "%%%"), ("skills", "abc"), ("skills", "AAAA"), ("skills", "é"), ("skills", "A" * 200),
    ("skills", "AAAAAAAAAAAAAAAAAAAAAA=="),  # the old id-only form
    ("skills", cursor_of(b"[1, 2")), ("skills", cursor_of({"key": "a"})), ("skills", cursor_of(["a"])),
    ("skills", cursor_of(["a", NIL, 3])), ("skills", cursor_of(["a", "not-an-id"])),
    ("skills", cursor_of(["a", 7])), ("skills", cursor_of([None, NIL])), ("skills", cursor_of([5, NIL])),
    ("skills", cursor_of(["a\u0000", NIL])),
    ("skills", cursor_of(b'["\\ud800", "' + NIL.encode() + b'"]')), ("skills", cursor_of([1.5, NIL])),
    ("skills", cursor_of(b'[NaN, "' + NIL.encode() + b'"]')), ("skills", cursor_of(b"\xff\xfe")),
    ("skills", cursor_of(b"[" * 1500)),
    ("experiences", cursor_of(["2020-13-01", NIL])), ("experiences", cursor_of(["20200101", NIL])),
    ("experiences", cursor_of([None, NIL])), ("experiences", cursor_of(["2020-01-01T00:00:00Z", NIL])),
    ("diplomas", cursor_of(["soon", NIL])), ("diplomas", cursor_of([True, NIL])),
    ("journal", cursor_of(["2024-01-01T00:00:00", NIL])),  # no time zone
    ("journal", cursor_of(["0001-01-01T00:00:00+05:00", NIL])),  # before year 1 in UTC
    ("journal", cursor_of(["yesterday", NIL])), ("journal", cursor_of([None, NIL])),
    ("tokens", cursor_of(["2024-01-01", NIL])), ("tokens", "AAAAAAAAAAAAAAAAAAAAAA=="),
])
def test_invalid_cursor(api, path, cursor):
    response = api.get(f"/{path}", query_string={"cursor": cursor})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"] == "invalid_cursor"


@pytest.mark.parametrize("path, cursor", [
    ("skills", cursor_of(["zzz", NIL])),
    ("skills", base64.urlsafe_b64encode(json.dumps(["zzz", NIL]).encode()).decode()),  # padded
    ("experiences", cursor_of(["1901-01-01", NIL])), ("diplomas", cursor_of([None, NIL])),
    ("journal", cursor_of(["1999-01-01T00:00:00+00:00", NIL])),
    ("journal", cursor_of(["1999-01-01T01:00:00+01:00", NIL])),
    ("tokens", cursor_of(["1999-01-01T00:00:00+00:00", NIL])),
])
def test_a_well_formed_cursor_past_the_end_is_an_empty_last_page(api, path, cursor):
    response = api.get(f"/{path}", query_string={"cursor": cursor})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc", "1.5"])
def test_invalid_limit(api, limit):
    response = api.get("/diplomas", query_string={"limit": limit})
    assert response.status_code == 422
    assert response.get_json()["error"] == "validation_error" and "limit" in response.get_json()["fields"]


def test_limit_bounds_are_accepted(api):
    assert api.get("/diplomas", query_string={"limit": 1}).status_code == 200
    assert api.get("/diplomas", query_string={"limit": 200}).status_code == 200


# --- profile ---------------------------------------------------------------------------------------

def test_profile_read_and_update(api, user):
    profile = api.get("/profile").get_json()
    assert profile == {"display_name": "Owner Person", "headline": "", "bio": "", "contact_email": "",
                       "phone": "", "location": "", "website": "", "photo_url": None}
    response = api.patch("/profile", json={"headline": "Baker", "website": "https://example.org/me",
                                           "contact_email": "Me@Example.org"})
    assert response.status_code == 200
    assert response.get_json()["headline"] == "Baker"
    assert api.get("/profile").get_json()["website"] == "https://example.org/me"


@pytest.mark.parametrize("body, field", [
    ({"website": "ftp://example.org"}, "website"),
    ({"contact_email": "not an address"}, "contact_email"),
    ({"display_name": "x" * 121}, "display_name"),
    ({"photo_url": "https://example.org/me.png"}, "photo_url"),
    ({"headline": 5}, "headline"),
])
def test_profile_validation(api, body, field):
    response = api.patch("/profile", json=body)
    assert response.status_code == 422 and field in response.get_json()["fields"]
    assert api.get("/profile").get_json()["display_name"] == "Owner Person"


def png(width=40, height=30) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(buffer, "PNG")
    return buffer.getvalue()


def test_profile_photo(api, user):
    assert api.get("/profile").get_json()["photo_url"] is None
    response = api.put("/profile/photo", data=png(), content_type="image/png")
    assert response.status_code == 200, response.get_json()
    url = response.get_json()["photo_url"]
    assert url.endswith("/api/v1/profile/photo")
    photo = api.get("/profile/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert photo.data.startswith(b"\xff\xd8")
    assert api.client.get("/api/v1/profile/photo").status_code == 401

    assert api.delete("/profile/photo").status_code == 204
    assert api.get("/profile").get_json()["photo_url"] is None
    assert api.get("/profile/photo").status_code == 404


def test_profile_photo_refusals(api):
    response = api.put("/profile/photo", data=b"not an image at all", content_type="image/png")
    assert response.status_code == 422 and "photo" in response.get_json()["fields"]
    response = api.put("/profile/photo", data=png(), content_type="application/octet-stream")
    assert response.status_code == 415
    assert api.get("/profile").get_json()["photo_url"] is None


def test_no_photo_is_404(api):
    assert api.get("/profile/photo").status_code == 404


# --- errors: JSON under /api/, friendly pages elsewhere --------------------------------------------

def test_html_pages_keep_their_error_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"<html" in response.data.lower()


def test_api_errors_are_json(api, client):
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.mimetype == "application/json"
    assert missing.get_json()["error"] == "not_found" and missing.get_json()["message"]

    invalid = api.post("/skills", json={"name": "x", "level": 9})
    assert invalid.status_code == 422 and invalid.mimetype == "application/json"
    assert set(invalid.get_json()) == {"error", "message", "fields"}


def test_api_405_is_json(api):
    not_allowed = api.put("/experiences", json={})
    assert not_allowed.status_code == 405
    assert not_allowed.mimetype == "application/json"
    assert not_allowed.get_json()["error"] == "method_not_allowed"
    assert "POST" in not_allowed.headers["Allow"]


def test_no_csrf_token_is_needed_with_a_bearer_token(api):
    """CSRF is on in the tests (the forms need their token); bearer-token calls are exempt."""
    assert api.client.application.config.get("WTF_CSRF_ENABLED", True)
    assert api.post("/journal", json={"title": "no csrf"}).status_code == 201


def test_api_answers_are_not_cached(api):
    assert api.get("/profile").headers["Cache-Control"] == "no-store"


def test_every_api_blueprint_is_registered_through_the_one_helper(app):
    """Each feature's API (cvs, grants, collab, received, pages, awards...) goes through
    ``app.api.register``: no-store answers, the API's 422 shape for query errors, no CSRF check. A module
    that registered its blueprint by hand and forgot one of these would show here."""
    from werkzeug.exceptions import UnprocessableEntity

    from app.api import _args_error, _set_no_store
    from app.extensions import csrf

    names = {rule.endpoint.split(".")[0] for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/api/v1/") and "." in rule.endpoint}
    smorest = {name for name in names if name in app.blueprints
               and type(app.blueprints[name]).__module__.startswith("flask_smorest")}
    assert {"cvs_api", "grants_api", "collab_api", "received_credentials", "endorsement_requests",
            "pages_api", "share_links_api", "attestation_requests", "awards", "bulk_api"} <= smorest, smorest
    for name in smorest:
        assert _set_no_store in app.after_request_funcs.get(name, []), name
        assert _args_error in app.error_handler_spec[name][422].values(), name
        assert app.blueprints[name] in csrf._exempt_blueprints, name


# --- OpenAPI ---------------------------------------------------------------------------------------

def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_description(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = response.get_json()
    assert spec["openapi"] == "3.0.3" and spec["info"]["version"] == "v1"
    expected = {
        "/api/v1/tokens": {"get", "post"}, "/api/v1/tokens/{token_id}": {"delete"},
        "/api/v1/profile": {"get", "patch"}, "/api/v1/profile/photo": {"get", "put", "delete"},
        "/api/v1/account": {"get", "patch", "delete"}, "/api/v1/account/password": {"post"},
        "/api/v1/account/email": {"post"}, "/api/v1/account/sessions": {"delete"},
    }
    for path in RESOURCES:
        expected[f"/api/v1/{path}"] = {"get", "post"}
        expected[f"/api/v1/{path}/{{item_id}}"] = {"get", "patch", "delete"}
    for path, methods in expected.items():
        assert methods <= set(spec["paths"][path]), path
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "A personal access token (sil_...)."}
    assert spec["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/api/v1/tokens"]["post"]["security"] == []
    # Request bodies are documented, unknown fields refused, and every reference resolves.
    request_body = spec["paths"]["/api/v1/experiences"]["post"]["requestBody"]
    create = request_body["content"]["application/json"]["schema"]
    body_schema = spec["components"]["schemas"][create["$ref"].rsplit("/", 1)[1]]
    assert body_schema["additionalProperties"] is False
    assert set(body_schema["required"]) == {"kind", "title", "start_date"}
    for ref in set(_refs(spec)):
        section, name = ref.split("/")[2:]
        assert name in spec["components"][section], ref
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {"error", "message", "fields"}
    # Every route that checks the password documents its refusal; deletion takes the password in its body.
    for path, method in (("/api/v1/account/password", "post"), ("/api/v1/account/email", "post"),
                         ("/api/v1/account", "delete")):
        operation = spec["paths"][path][method]
        assert "invalid_credentials" in operation["responses"]["403"]["description"], path
        assert operation["requestBody"]["required"] is True and "429" in operation["responses"], path
