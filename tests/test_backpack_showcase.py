"""Badges earned elsewhere on public pages and CVs (issue 11, "usable on pages and CVs"): a page shows
one with its verify button (run on the badge as imported; a tampered stored copy is caught), schema.org
lists it; a hidden one cannot be chosen and disappears from a page; a CV lists it in its credentials
section and proves a linked experience with it, with its status from the last verdict ("cannot be
checked" when it does not verify), and JSON Resume carries it."""
from __future__ import annotations

import json
import re

import pytest

from app.extensions import db
from app.models import Experience
from app.services import backpack, cvs, pages, portfolio as items, share_links
from app.services.errors import ValidationFailed
from tests.backpack_helpers import Elsewhere
from tests.helpers import csrf_token


@pytest.fixture
def elsewhere(monkeypatch):
    made = Elsewhere()
    monkeypatch.setattr(backpack, "default_fetch", lambda: made.web)
    return made


@pytest.fixture
def owner(make_user):
    return make_user("ines@example.org", display_name="Inès Morel")


@pytest.fixture
def badge(owner, elsewhere):
    [row] = backpack.add(db.session, owner, json.dumps(elsewhere.signed(owner.email)).encode(), fetch=elsewhere.web)
    db.session.commit()
    return row


def _shared(owner, items_):
    page = pages.create(db.session, owner, {"title": "Pour un employeur", "items": items_})
    _link, raw = share_links.create(db.session, owner, page=page)
    db.session.commit()
    return page, raw


def test_a_badge_on_a_page_shows_and_verifies(client, owner, badge):
    page, raw = _shared(owner, [{"type": "external", "id": str(badge.id)}])
    assert [s.type for s in pages.resolve(db.session, page)] == ["external"]
    shown = client.get(f"/s/{raw}")
    assert shown.status_code == 200 and b"Premiers secours (PSC1)" in shown.data and b"Croix Test" in shown.data
    assert b'data-verdict="verified"' in shown.data  # the verdict cached at import
    ld = json.loads(re.search(rb'<script type="application/ld\+json"[^>]*>(.*?)</script>', shown.data, re.S)[1])
    assert any(c["url"].endswith(f"/backpack/{badge.id}") for c in ld["hasCredential"])
    token = csrf_token(shown)
    checked = client.post(f"/s/{raw}/verify-badge/{badge.id}", data={"csrf_token": token})
    assert checked.status_code == 200 and b'class="verification-result' in checked.data
    assert b'data-verified="true"' in checked.data
    # The verifier runs on what is stored: a tampered stored copy is caught.
    original = json.loads(badge.original)
    original["credentialSubject"]["achievement"]["name"] = "Chirurgien"
    badge.original = json.dumps(original).encode()
    db.session.commit()
    forged = client.post(f"/s/{raw}/verify-badge/{badge.id}", data={"csrf_token": token})
    assert forged.status_code == 200 and b'data-verified="false"' in forged.data and b'data-reason="forged"' in forged.data
    assert client.post(f"/s/{raw}/verify-badge/{badge.id}").status_code == 400  # no CSRF token


def test_the_page_verify_route_only_for_badges_the_page_holds(client, owner, badge, elsewhere, make_user):
    [second] = backpack.add(db.session, owner, json.dumps(elsewhere.signed(owner.email, name="Autre")).encode(),
                            fetch=elsewhere.web)
    _page, raw = _shared(owner, [{"type": "external", "id": str(second.id)}])
    shown = client.get(f"/s/{raw}")
    assert client.post(f"/s/{raw}/verify-badge/{badge.id}", data={"csrf_token": csrf_token(shown)}).status_code == 404
    other = make_user("other@example.org")
    [theirs] = backpack.add(db.session, other, json.dumps(elsewhere.signed(other.email)).encode(), fetch=elsewhere.web)
    db.session.commit()
    with pytest.raises(ValidationFailed):  # someone else's badge cannot be put on one's page
        pages.create(db.session, owner, {"title": "x", "items": [{"type": "external", "id": str(theirs.id)}]})
    assert client.post(f"/s/unknown-token/verify-badge/{badge.id}", data={"csrf_token": csrf_token(shown)}).status_code == 404


def test_a_hidden_badge_leaves_the_page_and_cannot_be_chosen(client, owner, badge):
    page, raw = _shared(owner, [{"type": "external", "id": str(badge.id)}])
    badge.hidden = True
    db.session.commit()
    assert pages.resolve(db.session, page) == []
    assert b"Premiers secours (PSC1)" not in client.get(f"/s/{raw}").data
    assert badge.id not in {o.id for o in pages.candidates(db.session, owner)["external"]}
    with pytest.raises(ValidationFailed):
        pages.update(db.session, owner, page, {"items": [{"type": "external", "id": str(badge.id)}]})


def test_the_page_editor_offers_badges(logged_in_owner, badge):
    editor = logged_in_owner.get("/pages/new")
    assert f"external:{badge.id}".encode() in editor.data


@pytest.fixture
def logged_in_owner(client, owner):
    from tests.conftest import login

    login(client, owner.email)
    return client


@pytest.fixture
def request_context(app):
    with app.test_request_context():
        yield


def test_a_cv_lists_the_badge_and_proves_a_linked_experience(request_context, owner, badge, elsewhere):
    experience = items.create_item(db.session, owner, Experience, {
        "kind": "volunteering", "title": "Secouriste bénévole", "organisation": "Croix Test",
        "start_date": "2024-01-01", "description": "Postes de secours."})
    backpack.link(db.session, owner, badge, "experience", experience.id)
    db.session.commit()
    cv = cvs.create(db.session, owner, {"name": "Secours", "target_text": "secouriste premiers secours"})
    db.session.commit()
    assert {"type": "external", "id": str(badge.id)} in cv.selection
    ranked = {r.kind: r for r in cvs.ranking(db.session, cv)}
    assert ranked["external"].title == "Premiers secours (PSC1)" and ranked["external"].score > 0
    html = cvs.render_html(cv)
    assert html.count(f"/backpack/{badge.id}") >= 2  # its own line and the experience it proves
    assert "Délivré par Croix Test" in html and 'class="status status-valid"' in html
    resume = cvs.json_resume(db.session, cv)
    assert any(c["name"] == "Premiers secours (PSC1)" and c["url"].endswith(f"/backpack/{badge.id}")
               for c in resume["certificates"])
    # A badge that no longer verifies shows "cannot be checked", never "valid".
    elsewhere.web.documents.clear()
    backpack.recheck(db.session, badge, elsewhere.web)
    db.session.commit()
    html = cvs.render_html(cv)
    assert 'class="status status-valid"' not in html and 'class="status status-unknown"' in html


def test_a_hidden_badge_is_not_on_cvs(request_context, owner, badge):
    badge.hidden = True
    db.session.commit()
    cv = cvs.create(db.session, owner, {"name": "Tout", "target_text": ""})
    db.session.commit()
    assert all(ref["type"] != "external" for ref in cv.selection)
    with pytest.raises(ValidationFailed):
        cvs.update(db.session, owner, cv, {"selection": [{"type": "external", "id": str(badge.id)}]})


def test_another_persons_badge_is_never_valid_on_a_cv_nor_verified_on_a_page(request_context, client, owner,
                                                                              elsewhere):
    """Review 13, M1: kept after confirmation, a badge naming another person shows "cannot be checked" on
    CVs and "issued to another person" on a shared page, though its signature verifies."""
    [row] = backpack.add(db.session, owner, json.dumps(elsewhere.signed("alice@example.org")).encode(),
                         fetch=elsewhere.web, accept_unverified=True)
    db.session.commit()
    cv = cvs.create(db.session, owner, {"name": "Secours", "target_text": "secouriste premiers secours"})
    db.session.commit()
    html = cvs.render_html(cv)
    assert f"/backpack/{row.id}" in html
    assert 'class="status status-valid"' not in html and 'class="status status-unknown"' in html
    _page, raw = _shared(owner, [{"type": "external", "id": str(row.id)}])
    shown = client.get(f"/s/{raw}").get_data(as_text=True)
    assert 'data-recipient="someone_else"' in shown
