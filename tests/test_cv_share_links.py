"""Share links for CVs (issue 9 × issue 10): ``/s/<token>`` serves the CV's HTML with live proofs, with the
same refusals, password, view count and access log as page links; the CV page's "Share" section; the
API; deleting a CV ends its links (the foreign key too). And the verified-claim CV: received credentials
linked to an experience, diploma or skill prove that line."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from app.database import utcnow
from app.extensions import db
from app.models import AccessEvent, User
from app.models.pages import ShareLink
from app.services import awarding, cvs, received, share_links, tokens
from app.services.errors import NotFound
from tests.conftest import login
from tests.cv_helpers import build_portfolio, docx_text
from tests.helpers import csrf_token


@pytest.fixture
def made(user, make_user):
    return build_portfolio(user, make_user("admin@croix.example"))


def _cv(user, made, **extra):
    selection = [{"type": "experience", "id": str(made["dev"].id)}, {"type": "skill", "id": str(made["python"].id)}]
    cv = cvs.create(db.session, user, {"name": "Candidature Acme", "template": "classic", "language": "fr",
                                       "selection": selection, **extra})
    db.session.commit()
    return cv


def _link(user, cv, **kwargs):
    link, raw = share_links.create(db.session, user, cv_id=cv.id, **kwargs)
    db.session.commit()
    return link, raw


def _headers(person) -> dict:
    _, raw = tokens.create_token(db.session, person, "tests")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


# --- /s/<token> for a CV ---------------------------------------------------------------------------

def test_a_cv_link_serves_the_cv_with_live_proofs_counted_and_logged(client, user, made):
    cv = _cv(user, made)
    link, raw = _link(user, cv, label="Recruteur Acme")
    response = client.get(f"/s/{raw}", environ_base={"REMOTE_ADDR": "198.51.100.23"})
    assert response.status_code == 200, response.data[:300]
    html = response.get_data(as_text=True)
    assert "Inès Morel" in html and "Stage développeuse Python" in html and "Python" in html
    assert "Serveuse" not in html and "Licence informatique" not in html  # not selected: never shown
    assert "Paul Durand" in html and "status-valid" in html  # the attestation, with its live status
    assert response.headers["X-Robots-Tag"].startswith("noindex") and response.headers["Content-Language"] == "fr"
    assert response.headers["Cache-Control"] == "no-store"
    db.session.refresh(link)
    assert link.view_count == 1 and link.last_viewed_at is not None
    event = db.session.scalars(db.select(AccessEvent)).one()
    assert (event.action, event.object_type, event.object_id) == ("view", "cv", cv.id)
    assert event.share_link_label == "Recruteur Acme" and event.ip == "198.51.100.0/24" and event.actor_id is None
    # The CV is read from the portfolio as it is now: a change shows on the next view.
    made["dev"].title = "Stage développeuse Python et Django"
    db.session.commit()
    assert "Python et Django" in client.get(f"/s/{raw}").get_data(as_text=True)


def test_cv_links_expired_410_revoked_and_unknown_404_and_no_page_sub_routes(client, user, made):
    cv = _cv(user, made)
    expired, raw_expired = _link(user, cv)
    expired.expires_at = utcnow() - timedelta(seconds=1)
    revoked, raw_revoked = _link(user, cv)
    share_links.revoke(db.session, user, revoked)
    _active, raw = _link(user, cv)
    db.session.commit()
    gone = client.get(f"/s/{raw_expired}")
    assert gone.status_code == 410 and b"Stage d" not in gone.data
    answer = client.get(f"/s/{raw_revoked}")
    assert answer.status_code == 404 and b"Stage d" not in answer.data
    # A CV is one document: the page sub-routes reach nothing through a CV link.
    assert client.get(f"/s/{raw}/photo").status_code == 404
    assert client.get(f"/s/{raw}/documents/{made['dev'].id}").status_code == 404
    assert db.session.scalars(db.select(AccessEvent)).all() == []  # refusals are not views
    assert db.session.get(ShareLink, expired.id).view_count == 0


def test_a_password_protected_cv_link_asks_for_it(app, client, user, made):
    cv = _cv(user, made)
    link, raw = _link(user, cv, password="sesame-2026")
    form = client.get(f"/s/{raw}")
    assert form.status_code == 200 and b"Stage d" not in form.data and b'name="password"' in form.data
    wrong = client.post(f"/s/{raw}/unlock", data={"csrf_token": csrf_token(form), "password": "nope-nope"})
    assert wrong.status_code == 401 and b"Stage d" not in wrong.data
    assert db.session.get(ShareLink, link.id).view_count == 0
    right = client.post(f"/s/{raw}/unlock", data={"csrf_token": csrf_token(form), "password": "sesame-2026"})
    assert right.status_code == 303
    assert "Stage développeuse Python" in client.get(f"/s/{raw}").get_data(as_text=True)
    assert b"Stage d" not in app.test_client().get(f"/s/{raw}").data  # another visitor still needs it


# --- the service and the API: the owner's CV only --------------------------------------------------

def test_a_link_to_another_persons_cv_is_refused_as_not_found(user, made, make_user):
    other = make_user("other@example.org")
    cv = _cv(user, made)
    with pytest.raises(NotFound):
        share_links.create(db.session, other, cv_id=cv.id)
    assert db.session.scalars(db.select(ShareLink)).all() == []


def test_the_api_creates_lists_and_revokes_cv_links_and_refuses_anothers_cv(client, user, made, make_user):
    cv = _cv(user, made)
    headers = _headers(user)
    created = client.post("/api/v1/share-links", json={"cv_id": str(cv.id), "label": "Acme"}, headers=headers)
    assert created.status_code == 201, created.data
    data = created.get_json()
    assert data["cv_id"] == str(cv.id) and data["page_id"] is None and data["state"] == "active"
    url = data["url"]
    assert client.get(url.replace("http://localhost", "")).status_code == 200
    listed = client.get("/api/v1/share-links", headers=headers).get_json()["items"]
    assert [(item["id"], item["view_count"]) for item in listed] == [(data["id"], 1)] and "url" not in listed[0]
    # Another person: my CV's id answers exactly as an unknown one (404), and nothing is created.
    intruder = _headers(make_user("intruder@example.org"))
    for cv_id in (str(cv.id), "00000000-0000-4000-8000-000000000000"):
        refused = client.post("/api/v1/share-links", json={"cv_id": cv_id}, headers=intruder)
        assert refused.status_code == 404 and refused.get_json()["error"] == "not_found"
    assert client.delete(f"/api/v1/share-links/{data['id']}", headers=intruder).status_code == 404
    both = client.post("/api/v1/share-links", json={"cv_id": str(cv.id), "page_id": str(cv.id)}, headers=headers)
    assert both.status_code == 422
    assert len(db.session.scalars(db.select(ShareLink)).all()) == 1
    assert client.delete(f"/api/v1/share-links/{data['id']}", headers=headers).status_code == 204
    assert client.get(url.replace("http://localhost", "")).status_code == 404


def test_deleting_a_cv_deletes_its_links(logged_in, user, made):
    cv = _cv(user, made)
    _row, raw = _link(user, cv)
    kept_cv = _cv(user, made)
    _kept, kept_raw = _link(user, kept_cv)
    page = logged_in.get(f"/cvs/{cv.id}")
    assert logged_in.post(f"/cvs/{cv.id}/delete", data={"csrf_token": csrf_token(page)}).status_code == 302
    assert [link.cv_id for link in db.session.scalars(db.select(ShareLink))] == [kept_cv.id]
    assert logged_in.get(f"/s/{raw}").status_code == 404
    assert logged_in.get(f"/s/{kept_raw}").status_code == 200


def test_the_foreign_key_deletes_links_with_their_cv_in_the_database(user, made):
    """Even a CV deleted outside the ORM takes its links along (``ON DELETE CASCADE``)."""
    cv = _cv(user, made)
    _link(user, cv)
    db.session.execute(text("DELETE FROM cv_variants WHERE id = :id"), {"id": cv.id.hex
                       if db.engine.dialect.name == "sqlite" else cv.id})
    db.session.commit()
    db.session.expunge_all()
    assert db.session.scalars(db.select(ShareLink)).all() == []


# --- the CV page's Share section ------------------------------------------------------------------

def test_the_cv_page_creates_lists_and_revokes_its_links(logged_in, user, made):
    cv = _cv(user, made)
    other_cv = _cv(user, made)
    _other, _raw = _link(user, other_cv, label="Autre CV")
    page = logged_in.get(f"/cvs/{cv.id}")
    assert page.status_code == 200 and b'id="share"' in page.data
    assert b"Autre CV" not in page.data  # only this CV's links
    refused = logged_in.post(f"/cvs/{cv.id}/links", data={"label": "Sans jeton"})  # no CSRF token
    assert refused.status_code == 400 and db.session.scalars(db.select(ShareLink).where(
        ShareLink.cv_id == cv.id)).all() == []
    created = logged_in.post(f"/cvs/{cv.id}/links", data={"csrf_token": csrf_token(page), "label": "Mission locale",
                                                           "password": ""})
    assert created.status_code == 201
    html = created.get_data(as_text=True)
    url = html.split('id="new-share-link"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert url.startswith("http://localhost/s/") and "Mission locale" in html
    assert logged_in.get(url.replace("http://localhost", "")).status_code == 200
    again = logged_in.get(f"/cvs/{cv.id}").get_data(as_text=True)
    assert url not in again and "Mission locale" in again  # shown once: only its hash is kept
    link = db.session.scalars(db.select(ShareLink).where(ShareLink.cv_id == cv.id)).one()
    assert link.label == "Mission locale" and link.view_count == 1
    bad = logged_in.post(f"/cvs/{cv.id}/links", data={"csrf_token": csrf_token(page), "password": "abc"})
    assert bad.status_code == 422
    # Revoking another CV's link through this CV's address is refused.
    assert logged_in.post(f"/cvs/{cv.id}/links/{_other.id}/revoke",
                          data={"csrf_token": csrf_token(page)}).status_code == 404
    revoked = logged_in.post(f"/cvs/{cv.id}/links/{link.id}/revoke", data={"csrf_token": csrf_token(page)})
    assert revoked.status_code == 302
    db.session.refresh(link)
    assert link.state == "revoked" and logged_in.get(url.replace("http://localhost", "")).status_code == 404


def test_another_person_cannot_share_or_revoke_my_cv(app, user, made, make_user):
    cv = _cv(user, made)
    link, _raw = _link(user, cv)
    make_user("other@example.org")
    client = app.test_client()
    assert login(client, "other@example.org").status_code == 302
    token = csrf_token(client.get("/cvs"))
    assert client.post(f"/cvs/{cv.id}/links", data={"csrf_token": token, "label": "x"}).status_code == 404
    assert client.post(f"/cvs/{cv.id}/links/{link.id}/revoke", data={"csrf_token": token}).status_code == 404
    assert db.session.scalars(db.select(ShareLink)).all() == [link] and link.revoked_at is None


# --- the verified-claim CV: linked received credentials prove lines -------------------------------

def test_a_linked_credential_proves_its_experience_and_skill_with_live_status(app, user, made):
    credential = made["credential"]
    received.link(db.session, user, credential.id, "experience", made["dev"].id)
    received.link(db.session, user, credential.id, "skill", made["python"].id)
    db.session.commit()
    cv = _cv(user, made)  # the experience and the skill, not the credential itself
    document = cvs.document(db.session, cv, live_status=True)
    entries = {entry.title: entry for section in document.sections for entry in section.entries}
    url = awarding.credential_url(credential.id)
    for title in ("Stage développeuse Python", "Python"):
        proof = next(p for p in entries[title].proofs if p.url == url)
        assert proof.line.startswith("Délivré par Croix-Rouge de Test le ") and proof.status == "valid"
    assert [p.url for p in entries["Stage développeuse Python"].proofs][-1] != url  # the attestation too
    lines = docx_text(cvs.render_docx(db.session, cv))  # the credential is not selected: these are proofs
    assert sum("Délivré par Croix-Rouge de Test" in line for line in lines) == 2
    with app.test_request_context():
        html = cvs.render_html(cv)
    assert url in html and "<svg" in html  # the link and its QR code
    # Revoked: the next rendering says so (live status, read at rendering time).
    admin = db.session.scalars(db.select(User).where(User.email == "admin@croix.example")).one()
    awarding.revoke(db.session, admin, credential, "Erreur de saisie")
    db.session.commit()
    entries = {e.title: e for s in cvs.document(db.session, cv).sections for e in s.entries}
    assert next(p for p in entries["Python"].proofs if p.url == url).status == "revoked"


def test_unlinked_hidden_or_unselected_credentials_prove_nothing(user, made):
    credential = made["credential"]
    cv = _cv(user, made)
    url = awarding.credential_url(credential.id)

    def proof_urls():
        return {p.url for s in cvs.document(db.session, cv).sections for e in s.entries for p in e.proofs}

    assert url not in proof_urls()  # not linked
    received.link(db.session, user, credential.id, "diploma", made["diploma"].id)  # linked, but not selected
    db.session.commit()
    assert url not in proof_urls()
    received.link(db.session, user, credential.id, "experience", made["dev"].id)
    db.session.commit()
    assert url in proof_urls()
    awarding.set_visibility(db.session, user, credential, hidden=True)  # the owner hides it
    db.session.commit()
    assert url not in proof_urls()


def test_received_credentials_can_be_selected_as_cv_items(client, user, made, make_user):
    credential = made["credential"]
    cv = _cv(user, made)
    headers = _headers(user)
    selection = [{"type": "credential", "id": str(credential.id)}, {"type": "experience", "id": str(made["dev"].id)}]
    changed = client.patch(f"/api/v1/cvs/{cv.id}", json={"selection": selection}, headers=headers)
    assert changed.status_code == 200, changed.data
    db.session.refresh(cv)
    titles = [e.title for s in cvs.document(db.session, cv).sections for e in s.entries]
    assert "Premiers secours PSC1" in titles
    # Another person's credential is not a choice.
    stranger = make_user("stranger@example.org")
    admin = db.session.scalars(db.select(User).where(User.email == "admin@croix.example")).one()
    theirs = awarding.award(db.session, admin, credential.achievement, stranger.email).credential
    db.session.commit()
    refused = client.patch(f"/api/v1/cvs/{cv.id}", json={"selection": [{"type": "credential", "id": str(theirs.id)}]},
                           headers=headers)
    assert refused.status_code == 422


def test_deleting_the_account_deletes_its_cvs_and_their_links(client, user, made):
    from app.models.cvs import CvVariant
    from app.services import accounts
    from tests.conftest import PASSWORD

    cv = _cv(user, made)
    _row, raw = _link(user, cv)
    accounts.delete_account(db.session, user, PASSWORD)
    db.session.commit()
    assert db.session.scalars(db.select(ShareLink)).all() == []
    assert db.session.scalars(db.select(CvVariant)).all() == []
    assert client.get(f"/s/{raw}").status_code == 410  # gone with the account (issue 11: a tombstone)
