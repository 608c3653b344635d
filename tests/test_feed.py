"""S'informer: publishing events, each person's feed with its reasons, the private Atom/iCal addresses,
the weekly digest, and the API. Real database (the migrations), real policy, the bundled frameworks."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree as ET

from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.feed import digest, ical
from app.models import Skill
from app.models.feed import Event, FeedSettings
from app.services import feed, frameworks, path, portfolio
from app.services.errors import NotFound, ValidationFailed
from tests.awarding_helpers import make_org
from tests.conftest import PASSWORD, login
from tests.helpers import csrf_token
from tests.test_api import api_for
from tests.test_auth import outbox

SAMPLE = "https://w3id.org/sillage/frameworks/sample"
CARE = f"{SAMPLE}/occupation/aide-soignant"
HYGIENE = f"{SAMPLE}/skill/soins-hygiene"
COOKING = f"{SAMPLE}/skill/preparations-culinaires"
ATOM = "{http://www.w3.org/2005/Atom}"


def soon(days: int = 10, hours: int = 0) -> datetime:
    return (utcnow() + timedelta(days=days, hours=hours)).replace(microsecond=0)


@pytest.fixture
def bundled(app):
    frameworks.load_bundled(db.session)
    db.session.commit()


@pytest.fixture
def admin(make_user):
    return make_user("root@example.org", is_admin=True)


@pytest.fixture
def org(make_user):
    return make_org(make_user("publisher@example.org"), name="Mission locale")


def publish(actor, **values) -> Event:
    data = {"title": "Forum des métiers du soin", "starts_at": soon().isoformat(), "place": "Nantes"} | values
    event = feed.create(db.session, actor, data)
    db.session.commit()
    return event


def with_skill(user, uri: str, name: str = "Soins d'hygiène") -> Skill:
    made = portfolio.create_item(db.session, user, Skill, {"name": name, "concept_uri": uri, "framework": "Sample", "level": 3})
    db.session.commit()
    return made


# --- schema ----------------------------------------------------------------------------------------

def test_the_migration_matches_the_models(app):
    context = MigrationContext.configure(db.session.connection())
    diff = [d for d in compare_metadata(context, db.metadata) if "feed_" in repr(d)]
    assert diff == []


# --- publishing ------------------------------------------------------------------------------------

def test_who_may_publish(app, bundled, admin, org, make_user):
    citizen = make_user("citizen@example.org")
    member = db.session.scalar(select(feed.User).where(feed.User.email == "publisher@example.org"))
    pending = make_org(make_user("pending@example.org"), name="Pas encore", approve=False)

    platform_event = publish(admin)
    assert platform_event.organisation_id is None and platform_event.status == "published"
    org_event = publish(member, organisation_id=str(org.id))
    assert org_event.organisation_id == org.id and org_event.publisher_name == "Mission locale"

    with pytest.raises(NotFound) as refused:
        publish(citizen)
    assert refused.value.code == "organisation_not_found"
    with pytest.raises(NotFound):
        publish(member)  # not an admin: not for the platform
    with pytest.raises(NotFound):
        publish(admin, organisation_id=str(org.id))  # an admin is no member of the organisation
    with pytest.raises(NotFound):
        feed.create(db.session, db.session.get(feed.User, pending.created_by_id),
                    {"title": "x", "starts_at": soon().isoformat(), "organisation_id": str(pending.id)})
    db.session.rollback()
    # Changing and withdrawing: the publisher only; anyone else is told it does not exist.
    with pytest.raises(NotFound):
        feed.update(db.session, citizen, org_event, {"title": "Changed"})
    with pytest.raises(NotFound):
        feed.withdraw(db.session, admin, org_event)
    feed.update(db.session, member, org_event, {"title": "Forum du soin"})
    assert org_event.sequence == 1
    feed.withdraw(db.session, member, org_event)
    db.session.commit()
    assert org_event.status == "withdrawn" and org_event.sequence == 2
    with pytest.raises(ValidationFailed) as after:
        feed.update(db.session, member, org_event, {"title": "Again"})
    assert after.value.code == "event_withdrawn"
    # A withdrawn event is hidden from everyone but its publisher.
    with pytest.raises(NotFound):
        feed.get(db.session, citizen, org_event.id)
    assert feed.get(db.session, member, org_event.id) is org_event
    assert feed.publishers(db.session, citizen) == [] and feed.publishers(db.session, admin) == [None]


@pytest.mark.parametrize("values, field", [
    ({"starts_at": None}, "starts_at"),  # an event needs a start
    ({"starts_at": "2027-13-01T10:00:00Z"}, "starts_at"),
    ({"starts_at": "2030-01-01T10:00:00"}, "starts_at"),  # no time zone (the API sends none)
    ({"starts_at": "2020-01-01T10:00:00Z"}, "starts_at"),  # already past
    ({"ends_at": "2000-01-02T10:00:00Z"}, "ends_at"),  # ends before it starts
    ({"starts_at": "3000-01-01T10:00:00Z"}, "starts_at"),
    ({"title": ""}, "title"),
    ({"title": "a\x00b"}, "title"),
    ({"link": "javascript:alert(1)"}, "link"),
    ({"kind": "party"}, "kind"),
    ({"skill_uris": ["https://example.org/unknown"]}, "skill_uris"),
    ({"occupation_uris": [HYGIENE]}, "occupation_uris"),  # a skill is no occupation
    ({"skill_uris": "not a list"}, "skill_uris"),
    ({"colour": "red"}, "colour"),
])
def test_bad_events_are_refused_field_by_field(app, bundled, admin, values, field):
    with pytest.raises(ValidationFailed) as refused:
        feed.create(db.session, admin, {"title": "Forum", "starts_at": soon().isoformat()} | values)
    assert field in refused.value.fields
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(Event)) == 0


def test_concepts_are_given_by_uri_or_id_and_stored_as_uris(app, bundled, admin):
    concept = frameworks.get(db.session, HYGIENE)
    event = publish(admin, skill_uris=[str(concept.id)], occupation_uris=[CARE])
    assert event.skill_uris == [HYGIENE] and event.occupation_uris == [CARE]


def test_an_offer_may_have_no_date_and_page_times_are_read_in_the_publishers_zone(app, bundled, admin):
    offer = publish(admin, kind="offer", starts_at=None, title="Contrat d'apprentissage")
    assert offer.starts_at is None and offer in feed.upcoming(db.session)
    moment = feed.parse_moment("2030-06-01T09:30", "Europe/Paris")
    assert moment == datetime(2030, 6, 1, 7, 30, tzinfo=timezone.utc)


# --- the feed ---------------------------------------------------------------------------------------

def test_the_feed_matches_skills_hypotheses_their_skills_and_keywords(app, bundled, admin, user):
    by_skill = publish(admin, title="Atelier hygiène", skill_uris=[HYGIENE], starts_at=soon(3).isoformat())
    by_occupation = publish(admin, title="Job dating", occupation_uris=[CARE], starts_at=soon(4).isoformat())
    by_needed = publish(admin, title="Cuisine", skill_uris=[COOKING], starts_at=soon(5).isoformat())
    by_keyword = publish(admin, title="Rencontre", description="Les **infirmières** de Rezé recrutent",
                         starts_at=soon(6).isoformat())
    unrelated = publish(admin, title="Salon du numérique", starts_at=soon(2).isoformat())
    assert feed.feed(db.session, user) == []  # no interest yet: nothing

    with_skill(user, HYGIENE, "Toilette des patients")
    reasons = {item.event.id: item.reasons for item in feed.feed(db.session, user)}
    assert set(reasons) == {by_skill.id}
    assert reasons[by_skill.id][0].kind == "skill" and "Toilette des patients" in reasons[by_skill.id][0].text()

    path.create_hypothesis(db.session, user, {"occupation": CARE})
    feed.set_preferences(db.session, user, keywords="Infirmière\n")
    db.session.commit()
    items = feed.feed(db.session, user)
    assert [item.event.id for item in items] == [by_skill.id, by_occupation.id, by_keyword.id]  # soonest first
    reasons = {item.event.id: item.reasons for item in items}
    assert reasons[by_occupation.id][0].kind == "occupation"
    assert reasons[by_occupation.id][0].label == "Aide-soignant / aide-soignante"
    assert reasons[by_keyword.id][0].as_dict()["kind"] == "keyword"  # accents and plural folded
    assert unrelated.id not in reasons and by_needed.id not in reasons

    # An event naming a skill the hypothesis' occupation needs: the reason names both.
    needed = frameworks.related(db.session, frameworks.get(db.session, CARE), "essential")[1][0]
    event = publish(admin, title="Formation courte", skill_uris=[needed.uri])
    why = {item.event.id: item.reasons for item in feed.feed(db.session, user)}[event.id][0]
    assert (why.kind, why.relation, why.via) == ("occupation_skill", "essential", "Aide-soignant / aide-soignante")
    assert "une compétence essentielle pour « Aide-soignant / aide-soignante »" in why.text()


def test_past_and_withdrawn_events_leave_the_feed(app, bundled, admin, user):
    with_skill(user, HYGIENE)
    ongoing = publish(admin, title="Semaine du soin", skill_uris=[HYGIENE],
                      starts_at=soon(1).isoformat(), ends_at=soon(8).isoformat())
    withdrawn = publish(admin, title="Annulé", skill_uris=[HYGIENE])
    feed.withdraw(db.session, admin, withdrawn)
    db.session.commit()
    assert [i.event.id for i in feed.feed(db.session, user)] == [ongoing.id]
    # Once started it stays until it ends; after its end it is gone.
    assert [i.event.id for i in feed.feed(db.session, user, now=soon(5))] == [ongoing.id]
    assert feed.feed(db.session, user, now=soon(9)) == []


def test_keywords_are_checked(app, user):
    with pytest.raises(ValidationFailed):
        feed.set_preferences(db.session, user, keywords=["le"])  # a stop word selects nothing
    with pytest.raises(ValidationFailed):
        feed.set_preferences(db.session, user, keywords=[f"mot{i}" for i in range(30)])
    with pytest.raises(ValidationFailed):
        feed.set_preferences(db.session, user, keywords={"not": "a list"})
    assert feed.set_preferences(db.session, user, keywords="soin, soin\nLyon").keywords == ["soin", "Lyon"]


def test_the_feed_page_explains_why(app, bundled, admin, user, logged_in):
    with_skill(user, HYGIENE, "Toilette")
    event = publish(admin, title="Atelier hygiène", skill_uris=[HYGIENE],
                    description="<script>alert(1)</script>**Gratuit**")
    page = logged_in.get("/feed").get_data(as_text=True)
    assert "Atelier hygiène" in page and "Pourquoi vous voyez ceci" in page
    assert "Il concerne votre compétence « Toilette »." in page
    detail = logged_in.get(f"/events/{event.id}").get_data(as_text=True)
    assert "<strong>Gratuit</strong>" in detail and "<script>alert(1)" not in detail
    assert logged_in.get(f"/events/{uuid.uuid4()}").status_code == 404
    assert logged_in.get("/events/not-an-id").status_code == 404


# --- private addresses: Atom and iCal ------------------------------------------------------------------

def test_the_atom_feed_opens_with_the_private_token_only(app, bundled, admin, user, client):
    with_skill(user, HYGIENE)
    event = publish(admin, title="Atelier <hygiène> & soins", skill_uris=[HYGIENE])
    raw = feed.new_token(db.session, user)
    db.session.commit()
    assert db.session.get(FeedSettings, user.id).token_hash != raw and raw not in repr(
        db.session.get(FeedSettings, user.id).__dict__)

    answer = client.get(f"/feed/private/{raw}/atom.xml")
    assert answer.status_code == 200 and answer.mimetype == "application/atom+xml"
    root = ET.fromstring(answer.data)
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == ["Atelier <hygiène> & soins"]
    assert entries[0].find(f"{ATOM}id").text == f"urn:uuid:{event.id}"
    assert root.find(f"{ATOM}link[@rel='self']").get("href").endswith(f"/feed/private/{raw}/atom.xml")
    calendar = client.get(f"/feed/private/{raw}/calendar.ics")
    assert calendar.status_code == 200 and b"BEGIN:VEVENT" in calendar.data

    fresh = feed.new_token(db.session, user)  # a new address revokes the old one
    db.session.commit()
    assert client.get(f"/feed/private/{raw}/atom.xml").status_code == 404
    assert client.get(f"/feed/private/{fresh}/atom.xml").status_code == 200
    feed.revoke_token(db.session, user)
    db.session.commit()
    assert client.get(f"/feed/private/{fresh}/atom.xml").status_code == 404
    assert client.get("/feed/private/sfd_guess/calendar.ics").status_code == 404
    assert client.get("/feed/private/x/atom.xml").status_code == 404


def test_tokens_are_created_and_revoked_from_the_page(app, user, logged_in):
    page = logged_in.get("/feed")
    shown = logged_in.post("/feed/token", data={"csrf_token": csrf_token(page)}).get_data(as_text=True)
    raw = re.search(r"/feed/private/(sfd_[\w-]+)/atom\.xml", shown).group(1)
    assert logged_in.get(f"/feed/private/{raw}/atom.xml").status_code == 200
    assert logged_in.post("/feed/token/revoke", data={}).status_code == 400  # CSRF
    logged_in.post("/feed/token/revoke", data={"csrf_token": csrf_token(page)})
    assert logged_in.get(f"/feed/private/{raw}/atom.xml").status_code == 404


def unfold(data: bytes) -> list[str]:
    return data.decode("utf-8").replace("\r\n ", "").split("\r\n")


def test_ical_escapes_folds_and_names_every_required_property(app, admin):
    long_title = "Journée portes ouvertes; cuisine, pâtisserie \\ et service — " + "é" * 60
    event = publish(admin, title=long_title, description="Ligne 1\nLigne 2, suite", place="Rezé; salle B",
                    starts_at=soon(2).isoformat(), ends_at=soon(2, 3).isoformat())
    data = ical.calendar([event], url_of=lambda e: f"https://x.example/events/{e.id}", domain="x.example",
                         name="Mon fil")
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    for line in data.split(b"\r\n"):
        assert len(line) <= 75  # octets
        line.decode("utf-8")  # never cut inside a character
    lines = unfold(data)
    assert lines[:3] == ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{ical.PRODID}"]
    assert f"UID:{event.id}@x.example" in lines
    assert f"DTSTAMP:{event.updated_at.strftime('%Y%m%dT%H%M%SZ')}" in lines  # last revised (no METHOD)
    assert f"DTSTART:{event.starts_at.strftime('%Y%m%dT%H%M%SZ')}" in lines
    assert f"DTEND:{event.ends_at.strftime('%Y%m%dT%H%M%SZ')}" in lines
    assert "SUMMARY:" + long_title.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,") in lines
    assert "DESCRIPTION:Ligne 1\\nLigne 2\\, suite" in lines and "LOCATION:Rezé\\; salle B" in lines
    assert "STATUS:CONFIRMED" in lines and "SEQUENCE:0" in lines
    feed.withdraw(db.session, admin, event)
    lines = unfold(ical.calendar([event], url_of=lambda e: "u", domain="x.example"))
    assert "STATUS:CANCELLED" in lines and "SEQUENCE:1" in lines


def test_ical_folding_is_exact():
    assert ical.fold("A" * 75) == "A" * 75
    assert ical.fold("A" * 76) == "A" * 75 + "\r\n A"
    folded = ical.fold("x" * 74 + "é" + "y" * 100)  # é (2 octets) would straddle octet 75
    assert folded.split("\r\n ")[0] == "x" * 74
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert ical.escape_text("a\\b;c,d\r\ne\nf") == "a\\\\b\\;c\\,d\\ne\\nf"


def test_one_events_calendar_and_the_signed_in_feeds(app, bundled, admin, user, logged_in, make_user):
    with_skill(user, HYGIENE)
    event = publish(admin, skill_uris=[HYGIENE])
    one = logged_in.get(f"/events/{event.id}/calendar.ics")
    assert one.status_code == 200 and one.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert f"UID:{event.id}@localhost" in unfold(one.data)
    mine = logged_in.get("/feed/calendar.ics")
    assert f"UID:{event.id}@localhost" in unfold(mine.data)
    feed.withdraw(db.session, admin, event)
    db.session.commit()
    assert logged_in.get(f"/events/{event.id}/calendar.ics").status_code == 404  # not its publisher


def test_a_subscribed_calendar_gets_a_withdrawn_event_as_cancelled_for_a_while(app, bundled, admin, user,
                                                                             client, make_user):
    """What ical.py promises: a calendar app that imported the event learns it is off (CANCELLED, a
    higher SEQUENCE) on its next refresh; the Atom feed drops it; after ``CANCELLED_KEPT`` it goes; a
    person whose interests it never met never sees it."""
    from datetime import timedelta

    with_skill(user, HYGIENE)
    stranger = make_user("stranger@example.org")
    with_skill(stranger, "http://data.europa.eu/esco/skill/unrelated")
    event = publish(admin, skill_uris=[HYGIENE])
    raw, other = feed.new_token(db.session, user), feed.new_token(db.session, stranger)
    db.session.commit()
    before = unfold(client.get(f"/feed/private/{raw}/calendar.ics").data)
    assert f"UID:{event.id}@localhost" in before and "STATUS:CONFIRMED" in before and "SEQUENCE:0" in before
    feed.withdraw(db.session, admin, event)
    db.session.commit()
    after = unfold(client.get(f"/feed/private/{raw}/calendar.ics").data)
    assert f"UID:{event.id}@localhost" in after and "STATUS:CANCELLED" in after and "SEQUENCE:1" in after
    assert str(event.id) not in client.get(f"/feed/private/{raw}/atom.xml").data.decode()
    assert f"UID:{event.id}@localhost" not in unfold(client.get(f"/feed/private/{other}/calendar.ics").data)
    event.withdrawn_at -= feed.CANCELLED_KEPT + timedelta(days=1)
    db.session.commit()
    assert f"UID:{event.id}@localhost" not in unfold(client.get(f"/feed/private/{raw}/calendar.ics").data)


# --- the weekly digest ------------------------------------------------------------------------------

def test_the_digest_goes_once_to_those_who_opted_in_in_their_language(app, bundled, admin, user, make_user,
                                                                        client):
    with_skill(user, HYGIENE)
    other = make_user("english@example.org", locale="en")
    other.timezone = "Asia/Tokyo"
    with_skill(other, HYGIENE)
    silent = make_user("silent@example.org")
    with_skill(silent, HYGIENE)
    feed.set_preferences(db.session, user, digest=True)
    feed.set_preferences(db.session, other, digest=True)
    feed.set_preferences(db.session, silent, digest=False)
    db.session.commit()
    event = publish(admin, title="Atelier hygiène", skill_uris=[HYGIENE])

    result = digest.run()
    assert result["done"] == 2
    mails = {m["To"]: m for m in outbox(app)}
    assert set(mails) == {user.email, other.email}
    french = mails[user.email].get_body(("plain",)).get_content()
    english = mails[other.email].get_body(("plain",)).get_content()
    assert "Atelier hygiène" in french and f"/events/{event.id}" in french
    assert "Il concerne votre compétence" in french and "It concerns your skill" in english
    tokyo = format_datetime(event.starts_at, "short", tzinfo=ZoneInfo("Asia/Tokyo"), locale="en")
    assert tokyo in english and tokyo not in french  # each in their own time zone
    assert mails[user.email]["Subject"] == "Votre fil Sillage : 1 nouvel événement"
    assert mails[other.email]["Subject"] == "Your Sillage feed: 1 new event"

    assert digest.run() is not None and len(outbox(app)) == 2  # the same week again: nothing new, no mail

    link = re.search(r"http://localhost(/feed/unsubscribe/\S+)", french).group(1)
    page = client.get(link)
    assert page.status_code == 200 and db.session.get(FeedSettings, user.id).digest is True  # a GET changes nothing
    client.post(link, data={"csrf_token": csrf_token(page)})
    db.session.expire_all()
    assert db.session.get(FeedSettings, user.id).digest is False
    assert client.get("/feed/unsubscribe/forged").status_code == 404


# --- the API ------------------------------------------------------------------------------------------

def test_the_events_and_feed_api(app, bundled, admin, user, client, org):
    member = db.session.scalar(select(feed.User).where(feed.User.email == "publisher@example.org"))
    publisher, reader = api_for(client, member), api_for(client, user)
    with_skill(user, HYGIENE)

    body = {"organisation_id": str(org.id), "title": "Forum", "starts_at": soon().isoformat(),
            "skill_uris": [HYGIENE], "description": "Entrée libre"}
    created = publisher.post("/events", json=body)
    assert created.status_code == 201, created.json
    event_id = created.json["id"]
    assert created.json["publisher"] == "Mission locale" and created.json["ical_url"].endswith("/calendar.ics")

    assert reader.post("/events", json=body).status_code == 404  # not a member
    bad = publisher.post("/events", json=body | {"starts_at": "2030-01-01T10:00:00"})
    assert bad.status_code == 422 and bad.json["error"] == "validation_error" and "starts_at" in bad.json["fields"]
    assert publisher.post("/events", data="x", content_type="text/plain").status_code == 415

    listed = reader.get("/events").json["items"]
    assert [item["id"] for item in listed] == [event_id]
    mine = reader.get("/feed").json["items"]
    assert mine[0]["event"]["id"] == event_id and mine[0]["reasons"][0]["kind"] == "skill"
    assert mine[0]["reasons"][0]["text"]

    assert reader.patch(f"/events/{event_id}", json={"title": "Mine"}).status_code == 404
    changed = publisher.patch(f"/events/{event_id}", json={"title": "Forum 2"})
    assert changed.status_code == 200 and changed.json["title"] == "Forum 2"
    assert reader.post(f"/events/{event_id}/withdraw").status_code == 404
    withdrawn = publisher.post(f"/events/{event_id}/withdraw")
    assert withdrawn.json["status"] == "withdrawn"
    assert reader.get(f"/events/{event_id}").status_code == 404
    assert reader.get("/feed").json["items"] == []
    assert [e["id"] for e in publisher.get("/events?scope=mine").json["items"]] == [event_id]
    assert reader.get("/events?limit=0").status_code == 422
    assert client.get("/api/v1/feed").status_code == 401


# --- the publishing pages ------------------------------------------------------------------------------

def test_publishing_pages(app, bundled, admin, user, client):
    login(client, user.email)
    assert client.get("/feed/publish").status_code == 404  # a citizen publishes nothing
    assert client.get("/feed/publish/new").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/feed"))})

    login(client, admin.email)
    form = client.get("/feed/publish/new")
    assert form.status_code == 200
    values = {"csrf_token": csrf_token(form), "organisation_id": "platform", "kind": "event",
              "title": "Forum du soin", "starts_at": "2030-05-04T14:00", "ends_at": "2030-05-04T12:00",
              "place": "Rezé", "occupation_uris": CARE, "skill_uris": ""}
    refused = client.post("/feed/publish/new", data=values)
    assert refused.status_code == 422 and db.session.scalar(select(db.func.count()).select_from(Event)) == 0
    done = client.post("/feed/publish/new", data=values | {"ends_at": "2030-05-04T18:00"})
    assert done.status_code == 302
    event = db.session.scalar(select(Event))
    assert event.starts_at == datetime(2030, 5, 4, 12, 0, tzinfo=timezone.utc)  # Paris summer time
    assert event.occupation_uris == [CARE]
    edit = client.get(f"/events/{event.id}/edit")
    assert 'value="2030-05-04T14:00"' in edit.get_data(as_text=True)
    client.post(f"/events/{event.id}/edit", data=values | {"csrf_token": csrf_token(edit), "title": "Forum 2",
                                                           "ends_at": ""})
    db.session.expire_all()
    assert event.title == "Forum 2" and event.sequence == 1
    client.post(f"/events/{event.id}/withdraw", data={"csrf_token": csrf_token(edit)})
    db.session.expire_all()
    assert event.status == "withdrawn"
    assert "Forum 2" in client.get("/feed/publish").get_data(as_text=True)


# --- demo ---------------------------------------------------------------------------------------------

def test_the_demo_publishes_events_that_match_ines_once(app):
    from app import demo

    demo.load(db.session)
    db.session.commit()
    ines = db.session.scalar(select(feed.User).where(feed.User.email == demo.DEMO_ACCOUNTS[0].email))
    items = feed.feed(db.session, ines)
    assert len(items) == 3
    kinds = {reason.kind for item in items for reason in item.reasons}
    assert {"skill", "keyword"} <= kinds
    assert all(item.event.publisher_name == demo.ISSUER["name"] for item in items)
    demo.load(db.session)
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(Event)) == 3


def test_the_api_is_described_under_human_tags(client):
    spec = client.get("/api/v1/openapi.json").json
    assert {"Events and offers", "Personal feed"} <= {tag["name"] for tag in spec["tags"]}
    assert {"/api/v1/events", "/api/v1/events/{event_id}", "/api/v1/events/{event_id}/withdraw",
            "/api/v1/feed"} <= set(spec["paths"])


def test_deleting_an_account_removes_its_feed_settings_and_keeps_its_events_anonymous(app, bundled, admin, user):
    from app.services import accounts

    feed.new_token(db.session, user)
    event = publish(admin)
    db.session.commit()
    accounts.delete_account(db.session, user, PASSWORD)
    accounts.delete_account(db.session, admin, PASSWORD)
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalar(select(db.func.count()).select_from(FeedSettings)) == 0
    kept = db.session.get(Event, event.id)
    assert kept is not None and kept.created_by_id is None  # the platform's event outlives its author


def test_preferences_and_private_addresses_through_the_api(app, bundled, admin, user, client):
    api = api_for(client, user)
    assert api.get("/feed/preferences").json == {"keywords": [], "digest": False, "private_addresses_since": None}
    changed = api.patch("/feed/preferences", json={"keywords": ["Vente", "Nantes"], "digest": True})
    assert changed.json["keywords"] == ["Vente", "Nantes"] and changed.json["digest"] is True
    assert api.patch("/feed/preferences", json={"keywords": "x" * 200}).status_code == 422
    assert api.patch("/feed/preferences", json={"digest": "yes"}).status_code == 422
    assert api.patch("/feed/preferences", json={"colour": "red"}).status_code == 422
    publish(admin, title="Salon de la vente à Nantes")
    addresses = api.post("/feed/private-addresses").json
    atom = client.get(addresses["atom_url"].removeprefix("http://localhost"))
    assert atom.status_code == 200 and b"Salon de la vente" in atom.data
    assert api.get("/feed/preferences").json["private_addresses_since"] is not None
    assert api.delete("/feed/private-addresses").status_code == 204
    assert client.get(addresses["ical_url"].removeprefix("http://localhost")).status_code == 404


def test_the_private_feed_address_ends_with_a_new_password_or_sign_out_everywhere(app, user):
    """Review 13, L5: the feed token goes wherever sessions end on a credential change."""
    from app.services import accounts  # noqa: PLC0415

    raw = feed.new_token(db.session, user)
    db.session.commit()
    assert feed.user_for_token(db.session, raw) == user
    accounts.change_password(db.session, user, PASSWORD, "another correct horse battery")
    db.session.commit()
    assert feed.user_for_token(db.session, raw) is None
    raw = feed.new_token(db.session, user)
    db.session.commit()
    accounts.end_all_sessions(db.session, user)
    db.session.commit()
    assert feed.user_for_token(db.session, raw) is None
