"""Review of issue 9 (sharing) as an attacker and a demanding owner: each test here failed before its fix."""
from __future__ import annotations

import io

import pytest

from app.extensions import db
from app.models import Experience
from app.models.collab import Comment
from app.services import access_log, portfolio as items
from tests.collab_helpers import accepted_grant
from tests.conftest import login
from tests.test_collab import headers

ADDRESS = {"REMOTE_ADDR": "203.0.113.77"}


@pytest.fixture
def owner(make_user):
    return make_user("ines@example.org", display_name="Inès Morel")


@pytest.fixture
def tutor(make_user):
    return make_user("tutor@example.net", display_name="Paul Tuteur")


@pytest.fixture
def experience(owner):
    item = items.create_item(db.session, owner, Experience, {"kind": "internship", "title": "Stage au garage",
                                                             "start_date": "2025-01-06"})
    db.session.commit()
    return item


def _log(owner):
    return [(e.action, e.object_type, e.actor_label, e.ip) for e in
            reversed(access_log.events(db.session, owner.portfolio.id))]


def test_an_invitees_comments_and_proposals_are_in_the_owners_access_log(app, client, owner, tutor, experience):
    """Commenting on an item and proposing additions are acts of an invited person on the owner's
    portfolio: the access log (which has the actions ``comment`` and ``propose``) must show them, with the
    truncated address; the owner's own reply is not an access."""
    grant = accepted_grant(owner, tutor, "contributor")
    auth = headers(tutor)
    answer = client.post("/api/v1/comments", headers=auth, environ_base=ADDRESS,
                         json={"item_type": "experience", "item_id": str(experience.id), "body": "Bravo"})
    assert answer.status_code == 201, answer.get_json()
    answer = client.post("/api/v1/proposals", headers=auth, environ_base=ADDRESS,
                         json={"grant_id": str(grant.id), "kind": "skill", "data": {"name": "Soudure", "level": 2}})
    assert answer.status_code == 201, answer.get_json()
    answer = client.post("/api/v1/proposals", headers=auth, environ_base=ADDRESS,
                         data={"grant_id": str(grant.id), "file": (io.BytesIO(b"bilan de stage"), "bilan.txt")},
                         content_type="multipart/form-data")
    assert answer.status_code == 201, answer.get_json()
    reply = client.post("/api/v1/comments", headers=headers(owner), environ_base=ADDRESS,
                        json={"item_type": "experience", "item_id": str(experience.id), "body": "Merci",
                              "parent_id": db.session.scalar(db.select(Comment.id))})
    assert reply.status_code == 201, reply.get_json()
    who = "Paul Tuteur <tutor@example.net>"
    assert _log(owner) == [("comment", "experience", who, "203.0.113.0/24"),
                           ("propose", "portfolio", who, "203.0.113.0/24"),
                           ("propose", "portfolio", who, "203.0.113.0/24")]


def test_files_behind_a_share_link_are_not_indexed_unless_the_page_is_a_public_profile(client, user):
    """The page says ``noindex`` in its HTML, but a PDF or a photo cannot carry a meta tag: a document or
    photo URL that leaks (forwarded mail, a crawler following the page) must carry ``X-Robots-Tag``."""
    from PIL import Image

    from app.services import documents, pages, photos, share_links

    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), "navy").save(buffer, "PNG")
    photos.set_photo(db.session, user, buffer.getvalue())
    document = documents.store(db.session, user, "attestation-stage.pdf", [b"%PDF-1.4 stage\n%%EOF\n"])
    page = pages.create(db.session, user, {"title": "Pour un employeur", "show_photo": True,
                                           "items": [{"type": "document", "id": str(document.id)}]})
    _link, raw = share_links.create(db.session, user, page=page)
    db.session.commit()
    for path in (f"/s/{raw}/photo", f"/s/{raw}/documents/{document.id}"):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers.get("X-Robots-Tag") == "noindex, nofollow", path
    pages.update(db.session, user, page, {"public_profile": True})
    db.session.commit()
    assert "X-Robots-Tag" not in client.get(f"/s/{raw}/photo").headers  # the owner's opt-in, as for the page


def test_an_invitee_reading_an_items_comments_is_in_the_access_log(app, client, owner, tutor, experience):
    """The comments page shows the item and what was said about it: a read of shared content, logged
    (page and API) like the shared view; the owner reading their own item's comments is not."""
    accepted_grant(owner, tutor, "contributor")
    login(client, tutor.email)
    assert client.get(f"/comments/experience/{experience.id}", environ_base=ADDRESS).status_code == 200
    answer = client.get(f"/api/v1/comments?item_type=experience&item_id={experience.id}", headers=headers(tutor),
                        environ_base=ADDRESS)
    assert answer.status_code == 200
    client.get(f"/api/v1/comments?item_type=experience&item_id={experience.id}", headers=headers(owner))
    who = "Paul Tuteur <tutor@example.net>"
    assert _log(owner) == [("view", "experience", who, "203.0.113.0/24")] * 2


def test_invitations_through_the_api_are_rate_limited_like_the_sharing_page(client, owner):
    """``POST /api/v1/grants`` mails the owner's message to any address. Inviting and revoking in a loop
    stays under the open-grant cap, so only a rate limit (the Sharing page's 30/hour) stops a spam relay."""
    auth = headers(owner)
    statuses = []
    for n in range(31):
        answer = client.post("/api/v1/grants", headers=auth,
                             json={"email": f"target{n}@example.net", "role": "viewer", "message": "Buy now"})
        statuses.append(answer.status_code)
        if answer.status_code == 201:
            assert client.delete(f"/api/v1/grants/{answer.get_json()['id']}", headers=auth).status_code == 200
    assert statuses == [201] * 30 + [429]


def test_deleting_accounts_erases_what_was_shared_both_ways(app, owner, tutor, experience):
    """The owner's deletion takes their grants, pages, links, comments, threads and proposals; the
    invitee's takes the grants they received and their threads. Nothing of issue 9 stays behind."""
    from sqlalchemy import func, select

    from app.models.collab import Message, Proposal
    from app.models.pages import Page, ShareLink
    from app.models.sharing import Grant
    from app.services import accounts, collab, pages, share_links
    from tests.conftest import PASSWORD

    def count(model):
        return db.session.scalar(select(func.count()).select_from(model))

    other = accepted_grant(owner, tutor, "contributor")
    collab.post_message(db.session, tutor, other, "Bonjour")
    collab.add_comment(db.session, tutor, "experience", experience.id, "Bravo")
    collab.propose_item(db.session, tutor, other.id, "skill", {"name": "Soudure", "level": 2})
    page = pages.create(db.session, owner, {"title": "Moi", "items": [{"type": "experience",
                                                                     "id": str(experience.id)}]})
    share_links.create(db.session, owner, page=page, label="ACME")
    # the tutor also shares their own portfolio with the owner
    back = accepted_grant(tutor, owner, "viewer")
    collab.post_message(db.session, owner, back, "Merci")
    db.session.commit()

    accounts.delete_account(db.session, owner, PASSWORD)
    db.session.commit()
    db.session.expire_all()
    assert (count(Page), count(ShareLink), count(Comment), count(Proposal)) == (0, 0, 0, 0)
    assert [g.id for g in db.session.scalars(select(Grant))] == []  # given and received
    assert count(Message) == 0


def test_a_leaked_links_password_cannot_be_guessed_from_many_addresses(app_settings, user):
    """The per-address budget stops one machine; a leaked link tried from many addresses is stopped by
    a budget of wrong passwords per link (keyed by the token's hash, never the token itself)."""
    from app import create_app
    from app.services import pages, share_links
    from tests.conftest import FreshClient, release_database
    from tests.helpers import csrf_token

    app = create_app({**app_settings, "RATE_LIMIT_SHARE": "100/minute", "RATE_LIMIT_SHARE_PASSWORD": "3/hour"})
    app.test_client_class = FreshClient
    with app.app_context():
        try:
            owner = db.session.get(type(user), user.id)
            page = pages.create(db.session, owner, {"title": "Pour un employeur"})
            _row, raw = share_links.create(db.session, owner, page=page, password="sesame-2026")
            db.session.commit()
            client = app.test_client()
            token = csrf_token(client.get(f"/s/{raw}"))
            codes = [client.post(f"/s/{raw}/unlock", data={"csrf_token": token, "password": f"guess-{n}"},
                                 environ_base={"REMOTE_ADDR": f"198.51.100.{n + 1}"}).status_code for n in range(4)]
            assert codes == [401, 401, 401, 429]
            if not app.config["RATELIMIT_STORAGE_URI"].startswith("redis"):
                keys = db.session.execute(db.text("SELECT key FROM rate_limits")).scalars().all()
                assert keys and not any(raw in key for key in keys)
            # another link keeps its own budget
            other_row, other = share_links.create(db.session, owner, page=page, password="autre-2026")
            db.session.commit()
            token = csrf_token(client.get(f"/s/{other}"))
            assert client.post(f"/s/{other}/unlock", data={"csrf_token": token, "password": "autre-2026"},
                               environ_base={"REMOTE_ADDR": "198.51.100.99"}).status_code == 303
        finally:
            release_database()


def test_an_api_client_downloads_shared_documents_with_its_token(app, client, owner, tutor, make_user):
    """``GET /api/v1/shared-with-me/<grant>`` lists documents, but their ``download_url`` is the browser's
    route (a signed-in session): a client with only its token could not fetch them. ``content_url`` can,
    exactly in scope, logged, and not for another grant, a stranger, or once revoked."""
    from app.services import documents

    shown = documents.store(db.session, owner, "bilan.txt", [b"bilan de stage"])
    private = documents.store(db.session, owner, "notes.txt", [b"notes privees"])
    db.session.commit()
    grant = accepted_grant(owner, tutor, "viewer", [{"type": "document", "id": str(shown.id)}])
    auth = headers(tutor)
    listed = client.get(f"/api/v1/shared-with-me/{grant.id}", headers=auth).get_json()["documents"]
    assert [d["name"] for d in listed] == ["bilan.txt"]
    answer = client.get(listed[0]["content_url"], headers=auth, environ_base=ADDRESS)
    assert answer.status_code == 200 and answer.data == b"bilan de stage"
    assert answer.headers["Content-Disposition"].startswith("attachment")
    assert ("download", "document", "Paul Tuteur <tutor@example.net>", "203.0.113.0/24") in _log(owner)
    assert client.get(f"/api/v1/shared-with-me/{grant.id}/documents/{private.id}", headers=auth).status_code == 404
    stranger = make_user("stranger@example.net")
    assert client.get(listed[0]["content_url"], headers=headers(stranger)).status_code == 404
    assert client.get(listed[0]["content_url"]).status_code == 401
    from tests.collab_helpers import revoke
    revoke(owner, grant)
    assert client.get(listed[0]["content_url"], headers=auth).status_code == 404
