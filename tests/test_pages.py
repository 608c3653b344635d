"""Public pages and share links (issue 9): the owner's editor, ``/s/<token>`` and what it refuses."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from app.database import utcnow
from app.extensions import db
from app.models.pages import Page, ShareLink
from app.services import pages, portfolio, share_links
from app.services.errors import NotFound, ValidationFailed
from app.services.tokens import hash_token
from tests.conftest import login
from tests.helpers import csrf_token


@pytest.fixture
def items(user):
    made = {
        "job": portfolio.create_item(db.session, user, portfolio.Experience, {
            "kind": "job", "title": "Vendeuse", "organisation": "Boulangerie Roux", "start_date": "2025-07-01",
            "end_date": "2025-08-31", "description": "Caisse et **conseil**."}),
        "intern": portfolio.create_item(db.session, user, portfolio.Experience, {
            "kind": "internship", "title": "Stage en pharmacie", "start_date": "2026-01-05"}),
        "skill": portfolio.create_item(db.session, user, portfolio.Skill, {"name": "Accueil client", "level": 3}),
        "secret": portfolio.create_item(db.session, user, portfolio.Skill, {"name": "Compétence privée", "level": 2}),
    }
    db.session.commit()
    return made


def _page(user, items, **extra):
    data = {"title": "Pour un employeur", "headline": "Vendeuse motivée", "theme": "atelier",
            "items": [{"type": "skill", "id": str(items["skill"].id)},
                      {"type": "experience", "id": str(items["intern"].id)},
                      {"type": "experience", "id": str(items["job"].id)}], **extra}
    page = pages.create(db.session, user, data)
    db.session.commit()
    return page


def _link(user, page, **kwargs):
    link, raw = share_links.create(db.session, user, page=page, **kwargs)
    db.session.commit()
    return link, raw


def test_the_editor_composes_a_page_in_the_chosen_order(logged_in, user, items):
    form = logged_in.get("/pages/new")
    assert form.status_code == 200 and "Compétence privée" in form.get_data(as_text=True)  # offered, not chosen
    response = logged_in.post("/pages/new", data={
        "csrf_token": csrf_token(form), "title": "Candidature", "headline": "", "theme": "classique",
        "show_photo": "y",
        "item": [f"experience:{items['job'].id}", f"skill:{items['skill'].id}", f"experience:{items['intern'].id}"],
        f"order-experience:{items['job'].id}": "3", f"order-skill:{items['skill'].id}": "1",
        f"order-experience:{items['intern'].id}": "2"})
    assert response.status_code == 303
    page = db.session.scalars(db.select(Page)).one()
    assert page.theme == "classique" and page.public_profile is False
    assert page.items == [{"type": "skill", "id": str(items["skill"].id)},
                          {"type": "experience", "id": str(items["intern"].id)},
                          {"type": "experience", "id": str(items["job"].id)}]


def test_a_share_link_shows_exactly_the_chosen_items_with_person_json_ld_and_noindex(client, user, items):
    page = _page(user, items)
    link, raw = _link(user, page, label="Recruteur Carrefour")
    assert len(raw) >= 43 and link.token_hash == hash_token(raw) and raw not in link.token_hash  # 256 bits, hashed
    response = client.get(f"/s/{raw}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Vendeuse motivée" in html and "Accueil client" in html and "Boulangerie Roux" in html
    assert "Compétence privée" not in html  # not chosen: never shown
    assert html.index("Stage en pharmacie") < html.index("Vendeuse<")  # the owner's order
    assert 'name="robots" content="noindex, nofollow"' in html and response.headers["X-Robots-Tag"].startswith("noindex")
    assert 'property="og:title"' in html and f'content="http://localhost/s/{raw}"' in html
    person = json.loads(re.search(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert person["@type"] == "Person" and person["name"] == "Owner Person"
    assert person["knowsAbout"] == ["Accueil client"] and "email" not in person
    db.session.refresh(link)
    assert link.view_count == 1 and link.last_viewed_at is not None


def test_a_public_profile_may_be_indexed(client, user, items):
    _row, raw = _link(user, _page(user, items, public_profile=True))
    response = client.get(f"/s/{raw}")
    assert b"noindex" not in response.data and "X-Robots-Tag" not in response.headers


def test_expired_is_410_revoked_and_unknown_are_404(client, user, items):
    page = _page(user, items)
    expired, raw_expired = _link(user, page)
    expired.expires_at = utcnow() - timedelta(seconds=1)
    revoked, raw_revoked = _link(user, page)
    share_links.revoke(db.session, user, revoked)
    db.session.commit()
    gone = client.get(f"/s/{raw_expired}")
    assert gone.status_code == 410 and "Ce lien a expiré" in gone.get_data(as_text=True) and b"Vendeuse" not in gone.data
    for token in (raw_revoked, "x" * 43, "a" * 500):
        answer = client.get(f"/s/{token}")
        assert answer.status_code == 404 and b"Vendeuse" not in answer.data
    assert client.get(f"/s/{raw_revoked}/photo").status_code == 404


def test_deleting_the_page_ends_its_links(logged_in, user, items):
    page = _page(user, items)
    _row, raw = _link(user, page)
    editor = logged_in.get(f"/pages/{page.id}/edit")
    assert logged_in.post(f"/pages/{page.id}/delete", data={"csrf_token": csrf_token(editor)}).status_code == 303
    assert db.session.scalars(db.select(ShareLink)).all() == []
    assert logged_in.get(f"/s/{raw}").status_code == 404


def test_a_password_protected_link_asks_for_it_and_remembers_it(app, client, user, items):
    page = _page(user, items)
    _row, raw = _link(user, page, password="sesame-2026")
    form = client.get(f"/s/{raw}")
    assert form.status_code == 200 and b"Vendeuse" not in form.data and b'name="password"' in form.data
    wrong = client.post(f"/s/{raw}/unlock", data={"csrf_token": csrf_token(form), "password": "nope-nope"})
    assert wrong.status_code == 401 and b"Vendeuse" not in wrong.data
    right = client.post(f"/s/{raw}/unlock", data={"csrf_token": csrf_token(form), "password": "sesame-2026"})
    assert right.status_code == 303
    assert "Vendeuse motiv" in client.get(f"/s/{raw}").get_data(as_text=True)
    other = app.test_client()  # another visitor still needs the password
    assert "Vendeuse motiv" not in other.get(f"/s/{raw}").get_data(as_text=True)


def test_guessing_tokens_is_rate_limited_but_real_links_are_not(app_settings, user, items):
    from app import create_app
    from tests.conftest import FreshClient, release_database

    app = create_app({**app_settings, "RATE_LIMIT_SHARE": "3/minute"})
    app.test_client_class = FreshClient
    with app.app_context():
        try:
            owner = db.session.get(type(user), user.id)
            page = _page(owner, {k: v for k, v in items.items()})
            _row, raw = _link(owner, page)
            client = app.test_client()
            for _ in range(5):
                assert client.get(f"/s/{raw}").status_code == 200  # successes spend nothing
            answers = [client.get(f"/s/guess{n:040d}").status_code for n in range(4)]
            assert answers == [404, 404, 404, 429]
        finally:
            release_database()


def test_wrong_passwords_are_rate_limited(app_settings, user, items):
    from app import create_app
    from tests.conftest import FreshClient, release_database

    app = create_app({**app_settings, "RATE_LIMIT_SHARE": "2/minute"})
    app.test_client_class = FreshClient
    with app.app_context():
        try:
            owner = db.session.get(type(user), user.id)
            _row, raw = _link(owner, _page(owner, items), password="sesame-2026")
            client = app.test_client()
            token = csrf_token(client.get(f"/s/{raw}"))
            codes = [client.post(f"/s/{raw}/unlock", data={"csrf_token": token, "password": f"guess-{n}"}).status_code
                     for n in range(3)]
            assert codes == [401, 401, 429]
        finally:
            release_database()


def test_items_of_another_portfolio_are_refused(user, make_user, items):
    other = make_user("other@example.org")
    theirs = portfolio.create_item(db.session, other, portfolio.Skill, {"name": "Pas à moi", "level": 1})
    db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        pages.create(db.session, user, {"title": "T", "items": [{"type": "skill", "id": str(theirs.id)}]})
    assert "items" in refused.value.fields
    for bad in ([{"type": "journal", "id": str(theirs.id)}], [{"type": "skill", "id": "nope"}], "all",
                [{"type": "skill"}]):
        with pytest.raises(ValidationFailed):
            pages.create(db.session, user, {"title": "T", "items": bad})
    page = _page(user, items)
    with pytest.raises(NotFound):
        pages.get(db.session, other, page.id)
    with pytest.raises(ValidationFailed):
        share_links.create(db.session, other, page=page)


def test_another_person_cannot_edit_preview_or_revoke(client, user, items, make_user):
    page = _page(user, items)
    link, _raw = _link(user, page)
    make_user("intruder@example.org")
    login(client, "intruder@example.org")
    assert client.get(f"/pages/{page.id}/edit").status_code == 404
    assert client.get(f"/pages/{page.id}/preview").status_code == 404
    token = csrf_token(client.get("/pages/new"))
    assert client.post(f"/pages/{page.id}/links/{link.id}/revoke", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/pages/{page.id}/delete", data={"csrf_token": token}).status_code == 404
    db.session.refresh(link)
    assert link.revoked_at is None


def test_html_in_titles_is_escaped(client, user, items):
    page = _page(user, items, title="<script>alert(1)</script>", headline="<img src=x onerror=alert(1)>")
    _row, raw = _link(user, page)
    html = client.get(f"/s/{raw}").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_share_link_from_the_editor_is_shown_once_and_works(logged_in, user, items):
    page = _page(user, items)
    editor = logged_in.get(f"/pages/{page.id}/edit")
    created = logged_in.post(f"/pages/{page.id}/links", data={
        "csrf_token": csrf_token(editor), "label": "Mission locale",
        "expires_on": (date.today() + timedelta(days=30)).isoformat(), "password": ""})
    assert created.status_code == 201
    url = re.search(r'value="(http://localhost/s/[^"]+)"', created.get_data(as_text=True)).group(1)
    assert logged_in.get(url.replace("http://localhost", "")).status_code == 200
    again = logged_in.get(f"/pages/{page.id}/edit").get_data(as_text=True)
    assert url not in again and "Mission locale" in again  # only its hash is kept
    bad = logged_in.post(f"/pages/{page.id}/links", data={"csrf_token": csrf_token(editor), "password": "abc"})
    assert bad.status_code == 422


def test_a_link_to_an_unknown_cv_is_refused(user):
    import uuid

    with pytest.raises(NotFound):
        share_links.create(db.session, user, cv_id=uuid.uuid4())
    with pytest.raises(ValidationFailed) as refused:
        share_links.create(db.session, user, cv_id="not-an-id")
    assert "cv_id" in refused.value.fields


# --- credentials, documents, photo and the access log through a link ---------------------------------

@pytest.fixture
def credential(app, user, make_user):
    from app.services import awarding
    from tests.awarding_helpers import make_achievement, make_org

    issuer = make_user("issuer@univ.example")
    achievement = make_achievement(make_org(issuer))
    awarded = awarding.award(db.session, issuer, achievement, user.email).credential
    db.session.commit()
    assert awarded.portfolio_id == user.portfolio.id
    return awarded


def test_the_verify_button_shows_the_verdict_on_the_page(client, user, items, credential):
    page = _page(user, items)
    pages.update(db.session, user, page, {"items": [{"type": "credential", "id": str(credential.id)}]})
    db.session.commit()
    _row, raw = _link(user, page)
    shown = client.get(f"/s/{raw}")
    assert b"Premiers secours" in shown.data and b"Universit" in shown.data
    checked = client.post(f"/s/{raw}/verify/{credential.id}", data={"csrf_token": csrf_token(shown)})
    assert checked.status_code == 200 and b'data-verdict="verified"' in checked.data
    # A tampered copy is caught: the verifier runs on what is stored, and the page says so.
    document = dict(credential.document)
    document["name"] = "Diplôme d'ingénieur"
    credential.document = document
    db.session.commit()
    forged = client.post(f"/s/{raw}/verify/{credential.id}", data={"csrf_token": csrf_token(shown)})
    assert forged.status_code == 200 and b'data-verdict="verified"' not in forged.data
    assert b'data-verdict="not_verified"' in forged.data
    assert client.post(f"/s/{raw}/verify/{credential.id}").status_code == 400  # no CSRF token


def test_a_credential_not_on_the_page_cannot_be_reached_through_the_link(client, user, items, credential):
    _row, raw = _link(user, _page(user, items))
    page = client.get(f"/s/{raw}")
    assert b"Premiers secours" not in page.data
    token = csrf_token(client.get("/verify"))  # a valid CSRF token of this visitor's session
    assert client.post(f"/s/{raw}/verify/{credential.id}", data={"csrf_token": token}).status_code == 404


def test_documents_on_the_page_download_and_every_access_is_logged(client, user, items):
    from app.models import AccessEvent
    from app.services import documents

    shown_doc = documents.store(db.session, user, "attestation-stage.pdf", [b"%PDF-1.4 stage\n%%EOF\n"])
    private_doc = documents.store(db.session, user, "bulletin.pdf", [b"%PDF-1.4 notes\n%%EOF\n"])
    db.session.commit()
    page = _page(user, items)
    pages.update(db.session, user, page, {"items": [{"type": "document", "id": str(shown_doc.id)}]})
    db.session.commit()
    _row, raw = _link(user, page, label="Lycée Jean Moulin")
    client.get(f"/s/{raw}", environ_base={"REMOTE_ADDR": "203.0.113.77"})
    download = client.get(f"/s/{raw}/documents/{shown_doc.id}", environ_base={"REMOTE_ADDR": "203.0.113.77"})
    assert download.status_code == 200 and download.data == b"%PDF-1.4 stage\n%%EOF\n"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert client.get(f"/s/{raw}/documents/{private_doc.id}").status_code == 404
    logged = db.session.scalars(db.select(AccessEvent).order_by(AccessEvent.created_at)).all()
    assert [(e.action, e.object_type) for e in logged] == [("view", "page"), ("download", "document")]
    assert {e.share_link_label for e in logged} == {"Lycée Jean Moulin"}
    assert {e.ip for e in logged} == {"203.0.113.0/24"} and logged[0].actor_id is None


def test_the_photo_is_served_only_when_the_page_shows_it(client, user, items):
    import io

    from PIL import Image

    from app.services import photos

    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), "navy").save(buffer, "PNG")
    photos.set_photo(db.session, user, buffer.getvalue())
    db.session.commit()
    page = _page(user, items)
    _row, raw = _link(user, page)
    assert f"/s/{raw}/photo".encode() in client.get(f"/s/{raw}").data
    assert client.get(f"/s/{raw}/photo").headers["Content-Type"] == "image/jpeg"
    pages.update(db.session, user, page, {"show_photo": False})
    db.session.commit()
    assert f"/s/{raw}/photo".encode() not in client.get(f"/s/{raw}").data
    assert client.get(f"/s/{raw}/photo").status_code == 404


def test_the_demo_prints_a_working_link_to_ines_page(app, client):
    output = app.test_cli_runner().invoke(args=["demo"]).output
    url = re.search(r"Demo page of Inès \(share link\): (http://localhost/s/\S+)", output).group(1)
    assert app.test_cli_runner().invoke(args=["demo"]).output.count(url) == 1  # the same link every run
    assert db.session.scalar(db.select(db.func.count()).select_from(Page)) == 1
    shown = client.get(url.removeprefix("http://localhost"))
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "Inès Martin" in html and "Candidature : BTS MCO" in html
    credential_id = re.search(r'/verify/([0-9a-f-]{36})', html).group(1)
    checked = client.post(url.removeprefix("http://localhost") + f"/verify/{credential_id}",
                          data={"csrf_token": csrf_token(shown)})
    assert b'data-verdict="verified"' in checked.data


def test_the_owner_previews_the_page_without_counting_a_view(logged_in, user, items):
    page = _page(user, items, public_profile=True)
    link, _raw = _link(user, page)
    preview = logged_in.get(f"/pages/{page.id}/preview")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Vendeuse motivée" in html and "Compétence privée" not in html
    assert preview.headers["X-Robots-Tag"].startswith("noindex")  # a preview is never indexed
    assert f"/pages/{page.id}/edit" in html  # the way back to the editor
    db.session.refresh(link)
    assert link.view_count == 0
    listing = logged_in.get("/pages").get_data(as_text=True)
    assert "Pour un employeur" in listing and "1 lien de partage" in listing


def test_a_deleted_item_disappears_from_the_page(client, user, items):
    page = _page(user, items)
    _row, raw = _link(user, page)
    portfolio.delete_item(db.session, user, items["intern"])
    db.session.commit()
    html = client.get(f"/s/{raw}").get_data(as_text=True)
    assert "Stage en pharmacie" not in html and "Boulangerie Roux" in html
