"""The timeline gives the same HTML as before its macros were written out and its content cached.

``tests/data/timeline_reference.html`` is the timeline template as it was (calling the shared macros
``period``, ``skill_tags`` and ``kind_tag``), kept verbatim. Each test renders it, with the context the
view used to give it, beside the real page, for the same data, language and filter, and compares the
two byte for byte (only the CSRF token, new in each session, and the scripts' CSP nonce, new in each response, are set
aside). The shared macros are read
from their live files: if one of them changes, this test says that the timeline's copy must follow.
"""
from __future__ import annotations

import re
from itertools import groupby
from pathlib import Path

import pytest
from flask import render_template_string
from flask_login import login_user

from app.demo import DEMO_ACCOUNTS, load
from app.extensions import db
from app.models import EXPERIENCE_KINDS, Diploma, Experience, Skill, User
from app.portfolio.labels import DIPLOMA_LABEL, KIND_LABELS
from app.services import accounts, portfolio as service
from tests.conftest import login

REFERENCE = (Path(__file__).parent / "data" / "timeline_reference.html").read_text()
CSRF_VALUE = re.compile(r'(name="csrf_token" value=")[^"]+(")')
NONCE = re.compile(r'( nonce=")[^"]*(")')  # the CSP nonce of the page's scripts, new in each response
QUERIES = ["", "?kind=internship", "?kind=diploma", "?kind=project", "?kind=job"]


def reference_page(app, user_id, query: str) -> str:
    """The page as the view rendered it before: the same context, the reference template."""
    with app.app_context(), app.test_request_context(f"/timeline{query}"):
        from flask import request

        owner = db.session.get(User, user_id)
        login_user(owner)
        kind = request.args.get("kind", "")
        if kind not in service.TIMELINE_KINDS:
            kind = ""
        entries = service.timeline(db.session, owner, kind or None)
        years = [(year, list(group)) for year, group in
                 groupby(entries, key=lambda item: (service.entry_date(item) or None) and
                         service.entry_date(item).year)]
        kind_labels = {k: str(label) for k, label in KIND_LABELS.items()}
        diploma_label = str(DIPLOMA_LABEL)
        filters = [("", None)] + [(k, kind_labels[k]) for k in EXPERIENCE_KINDS] + [("diploma", diploma_label)]
        page = render_template_string(REFERENCE, years=years, kind=kind, filters=filters,
                                      kind_labels=kind_labels, diploma_label=diploma_label)
        db.session.rollback()
        return page


def same_page(page: str) -> str:
    return NONCE.sub(r"\1…\2", CSRF_VALUE.sub(r"\1…\2", page))


def check(app, client, user_id, query: str) -> str:
    expected = same_page(reference_page(app, user_id, query))
    for view in ("first", "again"):  # rendered, then read from the cache
        response = client.get(f"/timeline{query}")
        assert response.status_code == 200
        assert same_page(response.get_data(as_text=True)) == expected, (view, query)
    return expected


def set_locale(user_id, locale: str) -> None:
    owner = db.session.get(User, user_id)
    accounts.set_preferences(db.session, owner, locale=locale, timezone=owner.timezone)
    db.session.commit()


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_demo_timeline_is_byte_identical(app, client, locale):
    load(db.session)
    db.session.commit()
    ines = DEMO_ACCOUNTS[0]
    user = db.session.query(User).filter_by(email=ines.email).one()
    set_locale(user.id, locale)
    login(client, ines.email, ines.password)
    pages = {query: check(app, client, user.id, query) for query in QUERIES}
    assert pages[""].count('class="timeline-item card"') == 15
    assert pages["?kind=project"].count('class="timeline-item card"') == 0
    assert ("Depuis" in pages[""]) == (locale == "fr") and ("Since" in pages[""]) == (locale == "en")


def test_edge_cases_are_byte_identical(app, client, make_user):
    """Markup in every text, organisation or place alone, no skill, skills sorted by their key, an
    undated diploma, a diploma with only a level, an empty filter, an empty timeline."""
    owner = make_user("edge@example.org")
    login(client, owner.email)
    set_locale(owner.id, "en")
    check(app, client, owner.id, "")  # the empty timeline
    check(app, client, owner.id, "?kind=sport")
    skills = [service.create_item(db.session, owner, Skill, {"name": name, "level": 2})
              for name in ("zèle", "Écoute <active>", "anglais & co", "Budget")]
    ids = [str(skill.id) for skill in skills]
    for n, (org, place) in enumerate([("A & B <i>", ""), ("", "Quimper \"sud\""), ("", ""), ("Org", "Place")]):
        service.create_item(db.session, owner, Experience, {
            "kind": EXPERIENCE_KINDS[n * 2], "title": f"<script>alert({n})</script> & 'x'",
            "organisation": org, "place": place, "start_date": f"20{10 + n}-0{1 + n}-15",
            "end_date": None if n % 2 else f"20{12 + n}-11-30", "skill_ids": ids[:n]})
    for title, awarded_on, body, level in [("Undated <b>", None, "Body", ""), ("Level only", "2013-06-30", "", "4"),
                                           ("Both", "2011-07-01", "Académie", "EQF 4"), ("None", "2011-01-01", "", "")]:
        service.create_item(db.session, owner, Diploma, {"title": title, "awarded_on": awarded_on,
                                                         "awarding_body": body, "level": level})
    db.session.commit()
    for query in QUERIES + ["?kind=education", "?kind=volunteering"]:
        check(app, client, owner.id, query)
    set_locale(owner.id, "fr")
    for query in QUERIES:
        check(app, client, owner.id, query)
