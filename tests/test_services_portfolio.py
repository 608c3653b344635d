"""The portfolio services, validation rules, photo normalisation and blob storage, without the pages."""
from __future__ import annotations

import io
import os
import stat
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from app import create_app, storage
from app.extensions import db
from app.models import Diploma, Experience, JournalEntry, Skill
from app.services import photos
from app.services import portfolio as service
from app.services.errors import NotFound, ValidationFailed
from app.services.validation import MAX_IDS, Field, clean
from tests.test_profile import bomb_png, image_bytes


@pytest.fixture(autouse=True)
def english_request(app):
    """Messages in the source language (the locale comes from the request, as in the pages and the API)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.fixture
def owner(make_user):
    return make_user("owner@example.org")


@pytest.fixture
def stranger(make_user):
    return make_user("stranger@example.org")


def job(actor, title="Job", start="2020-01-01", end=None, **extra):
    data = {"kind": "job", "title": title, "start_date": start, "end_date": end, **extra}
    return service.create_item(db.session, actor, Experience, data)


def refused(call, *args, **kwargs) -> dict:
    with pytest.raises(ValidationFailed) as info:
        call(*args, **kwargs)
    return info.value.fields


# --- clean() ---------------------------------------------------------------------------------------------


def test_clean_reports_every_bad_field_at_once_and_refuses_unknown_fields():
    rules = service.RULES[Experience]
    fields = refused(clean, rules, {"kind": "war", "title": "", "start_date": "soon", "colour": "red"})
    assert set(fields) == {"kind", "title", "start_date", "colour"}
    assert fields["colour"] == "Unknown field."


@pytest.mark.parametrize("value", ["20200131", "2020-W05-3", "2020-1-5", "2020-02-30", "1800-01-01",
                                   datetime(2020, 1, 1, tzinfo=timezone.utc), 20200101])
def test_dates_are_strict_calendar_dates(value):
    assert "start_date" in refused(clean, {"start_date": Field("date")}, {"start_date": value})


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", "\ud83d\ude00", "bad\x00", "del\x7f"])
def test_text_refuses_lone_surrogates_and_control_characters(value):
    """A lone surrogate is no text (UTF-8 cannot encode it, no database stores it): refused like a
    control character, with the same message, instead of failing later in the database."""
    rules = {"title": Field(), "email": Field("email"), "website": Field("url"),
             "kind": Field("choice", choices=("a",))}
    fields = refused(clean, rules, {name: value for name in rules})
    assert fields == dict.fromkeys(rules, "Contains characters that are not allowed.")


def test_text_keeps_real_characters_outside_the_basic_plane():
    assert clean({"title": Field()}, {"title": " Pain \U0001F35E é\tfin "}) == {
        "title": "Pain \U0001F35E é\tfin"}


def test_dates_accept_iso_strings_and_date_objects():
    rules = {"a": Field("date"), "b": Field("date"), "c": Field("date")}
    assert clean(rules, {"a": " 2020-01-31 ", "b": date(2021, 5, 1), "c": ""}) == {
        "a": date(2020, 1, 31), "b": date(2021, 5, 1), "c": None}


def test_ids_ignore_blanks_and_duplicates_and_are_bounded():
    rule = {"ids": Field("ids")}
    one = str(uuid.uuid4())
    assert clean(rule, {"ids": ["", one, one, " "]}) == {"ids": [one]}
    assert clean(rule, {"ids": ""}) == {"ids": []}
    assert "ids" in refused(clean, rule, {"ids": [str(uuid.uuid4()) for _ in range(MAX_IDS + 1)]})
    assert "ids" in refused(clean, rule, {"ids": [1, 2]})


# --- Items -----------------------------------------------------------------------------------------------


def test_create_links_and_lists_items(owner):
    python = service.create_item(db.session, owner, Skill, {"name": "Python", "level": 3})
    old = job(owner, "Old", "2015-01-01", "2016-01-01", skill_ids=[str(python.id)])
    new = job(owner, "New", "2021-01-01", kind="volunteering")
    db.session.commit()
    assert [e.title for e in service.list_items(db.session, owner, Experience)] == ["New", "Old"]
    volunteering = service.list_items(db.session, owner, Experience, kind="volunteering")
    assert [e.title for e in volunteering] == ["New"]
    after_new = service.ORDERS[Experience].position(new)
    assert service.list_items(db.session, owner, Experience, after=after_new) == [old]
    assert python.experiences == [old]


def test_list_items_seeks_pages_in_sql_from_any_position(owner, stranger):
    """Keyset pagination: (sort key, id) positions, ties broken by id, undated diplomas last, and a
    position whose item is gone (or never existed) still places the next page."""
    order = service.ORDERS[Diploma]
    titles = ["A", "B", "C", "D", "E"]
    days = ["2020-01-01", None, "2020-01-01", "2021-01-01", None]
    made = [service.create_item(db.session, owner, Diploma, {"title": t, "awarded_on": d})
            for t, d in zip(titles, days)]
    service.create_item(db.session, stranger, Diploma, {"title": "Theirs"})
    db.session.commit()
    everything = service.list_items(db.session, owner, Diploma)
    assert [d.awarded_on for d in everything][-2:] == [None, None]
    assert sorted(everything, key=lambda d: d.id) == sorted(made, key=lambda d: d.id)
    pages, after = [], None
    while True:
        found = service.list_items(db.session, owner, Diploma, after=after, limit=2)
        if not found:
            break
        pages.append(found)
        after = order.position(found[-1])
    assert [d for page in pages for d in page] == everything and [len(p) for p in pages] == [2, 2, 1]

    gone = everything[1]
    position = order.position(gone)
    service.delete_item(db.session, owner, gone)
    db.session.commit()
    assert service.list_items(db.session, owner, Diploma, after=position) == everything[2:]
    assert service.list_items(db.session, owner, Diploma, after=(None, uuid.UUID(int=0))) == []
    assert service.list_items(db.session, owner, Diploma, after=(date(1900, 1, 1), uuid.UUID(int=0))) == [
        d for d in everything if d.awarded_on is None]


def test_orders_describe_their_keys():
    assert service.ORDERS[Experience].key_type is date and not service.ORDERS[Experience].nullable
    assert service.ORDERS[Diploma].key_type is date and service.ORDERS[Diploma].nullable
    assert service.ORDERS[Skill].key_type is str
    assert service.ORDERS[JournalEntry].key_type is datetime


def test_refused_update_leaves_the_object_untouched(owner):
    item = job(owner, "Kept", "2020-01-01", "2021-01-01")
    db.session.commit()
    fields = refused(service.update_item, db.session, owner, item,
                     {"title": "Changed", "end_date": "2019-12-31"})
    assert fields == {"end_date": "The end date must not be before the start date."}
    assert item.title == "Kept" and item.end_date == date(2021, 1, 1)
    assert not db.session.is_modified(item)


def test_partial_update_checks_dates_against_the_stored_ones(owner):
    item = job(owner, start="2020-06-01")
    assert "end_date" in refused(service.update_item, db.session, owner, item, {"end_date": "2020-05-31"})
    service.update_item(db.session, owner, item, {"end_date": "2020-06-01"})
    assert item.end_date == date(2020, 6, 1)


def test_full_update_requires_required_fields(owner):
    item = job(owner)
    assert set(refused(service.update_item, db.session, owner, item, {"title": "X"}, partial=False)) == {
        "kind", "start_date"}


def test_another_owners_items_cannot_be_linked_changed_or_deleted(owner, stranger):
    theirs = job(stranger, "Theirs")
    their_skill = service.create_item(db.session, stranger, Skill, {"name": "Theirs", "level": 1})
    db.session.commit()
    assert refused(job, owner, skill_ids=[str(their_skill.id)]) == {"skill_ids": "Unknown id."}
    assert refused(service.create_item, db.session, owner, Skill,
                   {"name": "Mine", "level": 2, "experience_ids": [str(theirs.id)]}) == {
        "experience_ids": "Unknown id."}
    assert refused(job, owner, skill_ids=["not-a-uuid"]) == {"skill_ids": "Unknown id."}
    with pytest.raises(NotFound):
        service.update_item(db.session, owner, theirs, {"title": "Mine now"})
    with pytest.raises(NotFound):
        service.delete_item(db.session, owner, theirs)
    db.session.rollback()
    assert db.session.get(Experience, theirs.id).title == "Theirs"
    assert service.list_items(db.session, owner, Experience) == []


def test_same_id_in_two_spellings_counts_once(owner):
    skill = service.create_item(db.session, owner, Skill, {"name": "Python", "level": 3})
    item = job(owner, skill_ids=[str(skill.id), str(skill.id).upper()])
    assert item.skills == [skill]


def test_deleting_a_skill_unlinks_it_only(owner):
    skill = service.create_item(db.session, owner, Skill, {"name": "Python", "level": 3})
    item = job(owner, skill_ids=[str(skill.id)])
    db.session.commit()
    service.delete_item(db.session, owner, skill)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Experience, item.id).skills == []


# --- Timeline and summary ---------------------------------------------------------------------------------


def test_timeline_merges_experiences_and_diplomas_newest_first(owner):
    job(owner, "2019 job", "2019-03-01")
    job(owner, "2021 job", "2021-03-01")
    service.create_item(db.session, owner, Diploma, {"title": "2020 diploma", "awarded_on": "2020-07-01"})
    service.create_item(db.session, owner, Diploma, {"title": "Undated"})
    titles = [item.title for item in service.timeline(db.session, owner)]
    assert titles == ["2021 job", "2020 diploma", "2019 job", "Undated"]
    assert [i.title for i in service.timeline(db.session, owner, "diploma")] == ["2020 diploma", "Undated"]
    assert service.timeline(db.session, owner, "sport") == []
    assert refused(service.timeline, db.session, owner, "holidays") == {
        "kind": "Not one of the allowed values."}


def test_summary(owner, stranger):
    assert service.summary(db.session, owner).is_empty
    for year in (2016, 2017, 2018, 2019):
        job(owner, str(year), f"{year}-01-01")
    service.create_item(db.session, owner, Skill, {"name": "A", "level": 4})
    service.create_item(db.session, owner, Skill, {"name": "B", "level": 2})
    service.create_item(db.session, owner, JournalEntry, {"title": "Thoughts"})
    job(stranger, "Not mine", "2030-01-01")
    summary = service.summary(db.session, owner)
    assert summary.counts == {"experiences": 4, "diplomas": 0, "skills": 2, "journal": 1}
    assert [e.title for e in summary.latest_experiences] == ["2019", "2018", "2017"]
    assert summary.skill_levels == {1: 0, 2: 1, 3: 0, 4: 1}
    assert summary.latest_journal_entry.title == "Thoughts" and not summary.is_empty


# --- Photo normalisation ---------------------------------------------------------------------------------


def test_normalise_output_is_a_clean_bounded_jpeg():
    out = photos.normalise(image_bytes("PNG", (1024, 2048)), max_bytes=10**7)
    image = Image.open(io.BytesIO(out))
    assert image.format == "JPEG" and image.size == (256, 512) and image.mode == "RGB"
    assert not image.info.get("exif") and not image.info.get("icc_profile")


def test_normalise_refuses_images_above_the_pixel_guard_even_below_pillows_hard_limit():
    """Between MAX_IMAGE_PIXELS and twice that, Pillow only warns: the warning must become a refusal."""
    side = int((photos.MAX_PIXELS * 1.2) ** 0.5)
    assert photos.MAX_PIXELS < side * side < 2 * Image.MAX_IMAGE_PIXELS
    assert "too many pixels" in refused(photos.normalise, bomb_png(side), max_bytes=10**7)["photo"]


def test_normalise_size_cap_message_and_embedded_colour_profile():
    cap = 3 * 2**20
    assert refused(photos.normalise, b"x" * (cap + 1), max_bytes=cap) == {
        "photo": "This image is too large: at most 3 MB."}
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = Image.open(io.BytesIO(photos.normalise(image_bytes("JPEG", (64, 64), icc_profile=icc), 10**7)))
    assert "icc_profile" not in out.info and out.getpixel((32, 32))[0] > 200


def test_normalise_converts_cmyk_and_greyscale():
    for mode, color in (("CMYK", (0, 255, 255, 0)), ("L", 128), ("1", 1)):
        fmt = "JPEG" if mode != "1" else "PNG"
        data = image_bytes(fmt, (40, 40), mode=mode, color=color)
        image = Image.open(io.BytesIO(photos.normalise(data, 10**7)))
        assert image.mode == "RGB"


def test_photo_blobs_follow_the_transaction(app, owner):
    first = photos.set_photo(db.session, owner, image_bytes()).photo_key
    db.session.commit()
    assert storage.exists(first)

    second = photos.set_photo(db.session, owner, image_bytes(color="blue")).photo_key
    assert storage.exists(second) and storage.exists(first)
    db.session.rollback()  # the new photo is not kept; the old one stays
    assert not storage.exists(second) and storage.exists(first)
    assert photos.read_photo(owner) == storage.get(first)

    third = photos.set_photo(db.session, owner, image_bytes(color="green")).photo_key
    db.session.commit()  # now the old one goes
    assert storage.exists(third) and not storage.exists(first)

    photos.remove_photo(db.session, owner)
    db.session.rollback()
    assert storage.exists(third)
    photos.remove_photo(db.session, owner)
    db.session.commit()
    assert not storage.exists(third) and photos.read_photo(owner) is None


def test_a_savepoint_commit_does_not_release_blob_deletions(app, owner):
    key = photos.set_photo(db.session, owner, image_bytes()).photo_key
    db.session.commit()
    photos.remove_photo(db.session, owner)
    with db.session.begin_nested():
        pass
    assert storage.exists(key)
    db.session.rollback()
    assert storage.exists(key)


def test_missing_blob_reads_as_no_photo(owner):
    key = photos.set_photo(db.session, owner, image_bytes()).photo_key
    db.session.commit()
    storage.delete(key)
    assert photos.read_photo(owner) is None


# --- Storage ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["../secret", "/etc/passwd", "a/../b", "a//b", "", ".hidden", "a/.b", "a\\b",
                                 "a/b/", "é", "a b", "x" * 129, None])
def test_storage_refuses_unsafe_keys(app, key):
    for call in (lambda: storage.put(key, b"x"), lambda: storage.get(key), lambda: storage.delete(key),
                 lambda: storage.exists(key), lambda: storage.open(key)):
        with pytest.raises(ValueError):
            call()


def test_storage_round_trip(app):
    key = "photos/abc/one.jpg"
    assert not storage.exists(key)
    storage.put(key, b"first", "image/jpeg")
    storage.put(key, b"second", "image/jpeg")  # replaced atomically
    assert storage.get(key) == b"second" and storage.exists(key)
    with storage.open(key) as fh:
        assert fh.read(3) == b"sec"
    path = Path(app.instance_path) / "blobs" / key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["one.jpg"]  # no temporary file left behind
    storage.delete(key)
    storage.delete(key)  # missing is fine
    assert not storage.exists(key)
    with pytest.raises(storage.BlobNotFound):
        storage.get(key)


def test_storage_url_selects_the_folder(tmp_path):
    store = storage.from_url(f"file://{tmp_path}/my%20blobs")
    store.put("k", b"v", "text/plain")
    assert (tmp_path / "my blobs" / "blobs" / "k").read_bytes() == b"v"


def test_unusable_storage_url_stops_the_application_at_start_up(app_settings):
    # Every other refusal (s3:// settings included) is in tests/test_storage.py.
    with pytest.raises(storage.StorageConfigError, match="Unsupported SILLAGE_STORAGE_URL scheme"):
        create_app({**app_settings, "STORAGE_URL": "ftp://host/x"})
