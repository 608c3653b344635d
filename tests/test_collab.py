"""Working together (``app.services.collab``, ``app.collab``, ``app/api/collab.py``): comments by contributors
and the owner's replies, the message thread of each grant, proposals accepted into the portfolio or
declined, e-mail digests (one per person, in their language), and every refusal: a viewer commenting,
an item outside the scope, another portfolio, a revoked or expired grant, HTML in texts (escaped)."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import storage
from app.database import utcnow
from app.extensions import db
from app.models import Document, Experience, Skill
from app.models.collab import Comment, Message, Proposal
from app.services import collab, documents, portfolio as items, tokens
from app.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_auth import outbox

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def owner(make_user):
    return make_user("ines@example.org", display_name="Inès Morel", locale="fr")


@pytest.fixture
def tutor(make_user):
    return make_user("tutor@example.net", display_name="Paul Tuteur", locale="en")


@pytest.fixture
def stranger(make_user):
    return make_user("stranger@example.net")


@pytest.fixture
def experience(owner):
    item = items.create_item(db.session, owner, Experience, {"kind": "internship", "title": "Stage au garage",
                                                             "start_date": "2025-01-06"})
    db.session.commit()
    return item


@pytest.fixture
def skill(owner):
    item = items.create_item(db.session, owner, Skill, {"name": "Soudure", "level": 2})
    db.session.commit()
    return item


def make_grant(owner, person, role="contributor", scope="all", *, expires_at=None, revoked=False):
    """An accepted grant, through the grants service (invite, then accept as the invitee)."""
    from tests.collab_helpers import accepted_grant
    return accepted_grant(owner, person, role, scope, expires_at=expires_at, revoked=revoked)


def headers(person) -> dict:
    _, raw = tokens.create_token(db.session, person, "tests")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


# --- comments --------------------------------------------------------------------------------------------

def test_contributor_comments_and_owner_replies(app, owner, tutor, experience):
    make_grant(owner, tutor, "contributor")
    first = collab.add_comment(db.session, tutor, "experience", experience.id, "Bravo pour ce stage !")
    reply = collab.add_comment(db.session, owner, "experience", experience.id, "Merci !", parent_id=first.id)
    db.session.commit()
    assert [c.body for c in collab.comments_on(db.session, tutor, "experience", experience.id)] == \
        ["Bravo pour ce stage !", "Merci !"]
    assert reply.parent_id == first.id and reply.portfolio_id == experience.portfolio_id


def test_comment_refusals(app, owner, tutor, stranger, make_user, experience, skill):
    viewer = make_user("viewer@example.net")
    make_grant(owner, viewer, "viewer")
    make_grant(owner, tutor, "contributor", scope=[{"type": "skill", "id": str(skill.id)}])
    collab.add_comment(db.session, owner, "experience", experience.id, "A note of the owner")
    for look in (lambda: collab.add_comment(db.session, viewer, "experience", experience.id, "Hello"),
                 lambda: collab.comments_on(db.session, viewer, "experience", experience.id)):
        with pytest.raises(NotFound):  # a viewer reads the item, not the conversation about it
            look()
    with pytest.raises(NotFound):  # outside the contributor's scope: as if it did not exist
        collab.add_comment(db.session, tutor, "experience", experience.id, "Hello")
    with pytest.raises(NotFound):
        collab.comments_on(db.session, tutor, "experience", experience.id)
    with pytest.raises(NotFound):  # no grant at all
        collab.add_comment(db.session, stranger, "skill", skill.id, "Hello")
    collab.add_comment(db.session, tutor, "skill", skill.id, "In scope")  # the one item shared
    for bad_type, bad_id in (("journal", skill.id), ("skill", "not-a-uuid"), (None, skill.id), ("skill", None)):
        with pytest.raises(NotFound):
            collab.add_comment(db.session, tutor, bad_type, bad_id, "x")
    for bad_body in ("", "   ", "x" * 5001, "bell\x07", 42):
        with pytest.raises(ValidationFailed):
            collab.add_comment(db.session, tutor, "skill", skill.id, bad_body)
    other = collab.add_comment(db.session, owner, "experience", experience.id, "On another item")
    with pytest.raises(ValidationFailed):  # a reply must answer a comment on the same item
        collab.add_comment(db.session, tutor, "skill", skill.id, "x", parent_id=other.id)


def test_revoked_and_expired_grants_stop_comments(app, owner, tutor, make_user, skill):
    make_grant(owner, tutor, "contributor", revoked=True)
    with pytest.raises(NotFound):
        collab.add_comment(db.session, tutor, "skill", skill.id, "Still here?")
    late = make_user("late@example.net")
    make_grant(owner, late, "contributor", expires_at=utcnow() - timedelta(minutes=1))
    with pytest.raises(NotFound):
        collab.comments_on(db.session, late, "skill", skill.id)


def test_comment_page_escapes_html(app, client, owner, tutor, skill):
    make_grant(owner, tutor, "contributor")
    assert login(client, tutor.email).status_code == 302
    url = f"/comments/skill/{skill.id}"
    page = client.get(url)
    assert page.status_code == 200
    posted = client.post(url, data={"body": SCRIPT, "csrf_token": csrf_token(page)})
    assert posted.status_code == 302
    shown = client.get(url).get_data(as_text=True)
    assert SCRIPT not in shown and "<script>alert" not in shown and "<img src=x" not in shown
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in shown
    assert db.session.scalar(select(Comment.body)) == SCRIPT  # stored as typed, escaped when shown
    refused = client.post(url, data={"body": "no token"})  # CSRF
    assert refused.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 1


# --- messages --------------------------------------------------------------------------------------------

def test_thread_between_owner_and_grantee(app, owner, tutor, stranger):
    grant = make_grant(owner, tutor, "viewer")
    collab.post_message(db.session, owner, collab.get_grant(db.session, owner, grant.id), "Bonjour Paul")
    collab.post_message(db.session, tutor, collab.get_grant(db.session, tutor, grant.id), "Hello Inès")
    db.session.commit()
    seen = collab.thread(db.session, tutor, grant)
    assert [m.body for m in seen] == ["Bonjour Paul", "Hello Inès"]
    assert seen[0].read_at is not None and seen[1].read_at is None  # only what was written to the reader
    with pytest.raises(NotFound):
        collab.get_grant(db.session, stranger, grant.id)
    with pytest.raises(NotFound):
        collab.get_grant(db.session, tutor, "nope")


def test_revoked_thread_is_read_only_for_owner_and_gone_for_grantee(app, owner, tutor):
    grant = make_grant(owner, tutor, "viewer")
    collab.post_message(db.session, tutor, grant, "Before")
    db.session.commit()
    from tests.collab_helpers import revoke
    revoke(owner, grant)
    with pytest.raises(NotFound):
        collab.get_grant(db.session, tutor, grant.id)
    kept = collab.get_grant(db.session, owner, grant.id)
    assert [m.body for m in collab.thread(db.session, owner, kept)] == ["Before"]
    with pytest.raises(Forbidden) as closed:
        collab.post_message(db.session, owner, kept, "After")
    assert closed.value.code == "thread_closed"


def test_message_page_escapes_html_and_needs_csrf(app, client, owner, tutor):
    grant = make_grant(owner, tutor, "viewer")
    login(client, owner.email)
    url = f"/messages/{grant.id}"
    page = client.get(url)
    assert page.status_code == 200
    assert client.post(url, data={"body": SCRIPT}).status_code == 400
    assert client.post(url, data={"body": SCRIPT, "csrf_token": csrf_token(page)}).status_code == 302
    shown = client.get(url).get_data(as_text=True)
    assert "<script>alert" not in shown and "&lt;script&gt;" in shown


# --- digests ---------------------------------------------------------------------------------------------

def test_digest_is_one_mail_per_person_in_their_language(app, owner, tutor, skill):
    from app.collab.emails import send_digests

    grant = make_grant(owner, tutor, "contributor")
    for text in ("un", "deux", "trois"):
        collab.post_message(db.session, owner, grant, f"Message {text}")
    collab.post_message(db.session, tutor, grant, "Reply one")
    collab.add_comment(db.session, tutor, "skill", skill.id, "Nice weld")
    collab.propose_item(db.session, tutor, grant.id, "skill", {"name": "Lecture de plans", "level": 2})
    db.session.commit()
    before = len(outbox(app))
    assert send_digests() == 2
    mails = outbox(app)[before:]
    by_person = {m["To"]: m.get_body(("plain",)).get_content() for m in mails}
    assert set(by_person) == {owner.email, tutor.email}
    to_tutor = by_person[tutor.email]  # English: the tutor's account language
    assert "Messages:" in to_tutor and all(f"Message {t}" in to_tutor for t in ("un", "deux", "trois"))
    to_owner = by_person[owner.email]  # French
    assert "Reply one" in to_owner and "Nice weld" in to_owner and "Here is" not in to_owner
    assert "Commentaires :" in to_owner and "propose une compétence : Lecture de plans" in to_owner
    assert send_digests() == 0  # nothing twice


def test_digest_skips_messages_already_read(app, owner, tutor):
    from app.collab.emails import send_digests

    grant = make_grant(owner, tutor, "viewer")
    collab.post_message(db.session, owner, grant, "Read on the site")
    db.session.commit()
    collab.thread(db.session, tutor, grant)
    db.session.commit()
    before = len(outbox(app))
    assert send_digests() == 0 and len(outbox(app)) == before
    assert db.session.scalar(select(Message.notified_at)) is not None


# --- proposals -------------------------------------------------------------------------------------------

def test_proposed_experience_is_created_on_acceptance(app, owner, tutor):
    grant = make_grant(owner, tutor, "contributor")
    data = {"kind": "internship", "title": "Stage de soudure", "organisation": "Garage Martin",
            "start_date": "2026-03-02", "end_date": "2026-03-27", "description": "Soudure **MIG**."}
    proposal = collab.propose_item(db.session, tutor, grant.id, "experience", data, note="Voici le stage")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Experience)) == 0  # waits in the inbox
    assert [p.id for p in collab.inbox(db.session, owner)] == [proposal.id]
    with pytest.raises(NotFound):  # only the owner decides
        collab.accept(db.session, tutor, proposal)
    created = collab.accept(db.session, owner, proposal)
    db.session.commit()
    assert created.portfolio_id == owner.portfolio.id and created.title == "Stage de soudure"
    assert created.organisation == "Garage Martin" and str(created.end_date) == "2026-03-27"
    assert proposal.status == "accepted" and proposal.created_item_id == created.id
    with pytest.raises(Conflict):
        collab.accept(db.session, owner, proposal)
    assert collab.inbox(db.session, owner) == []


def test_proposal_refusals(app, owner, tutor, make_user, stranger):
    viewer = make_user("viewer@example.net")
    viewer_grant = make_grant(owner, viewer, "viewer")
    grant = make_grant(owner, tutor, "contributor")
    with pytest.raises(Forbidden):  # a viewer reads, and proposes nothing
        collab.propose_item(db.session, viewer, viewer_grant.id, "skill", {"name": "X", "level": 1})
    with pytest.raises(NotFound):  # someone else's grant
        collab.propose_item(db.session, stranger, grant.id, "skill", {"name": "X", "level": 1})
    for kind, data in (("skill", {"name": "", "level": 1}), ("skill", {"name": "X", "level": 9}),
                       ("experience", {"title": "No dates", "kind": "job"}), ("journal", {"title": "x"}),
                       ("skill", {"name": "X", "level": 1, "experience_ids": []}), ("skill", ["not", "a dict"])):
        with pytest.raises(ValidationFailed):
            collab.propose_item(db.session, tutor, grant.id, kind, data)
    declined = collab.propose_item(db.session, tutor, grant.id, "skill", {"name": "Soudure", "level": 3})
    collab.decline(db.session, owner, declined, "Déjà dans mon portfolio")
    db.session.commit()
    assert declined.status == "declined" and declined.decline_reason == "Déjà dans mon portfolio"
    assert db.session.scalar(select(func.count()).select_from(Skill)) == 0
    for _ in range(collab.MAX_PENDING_PER_GRANT):
        collab.propose_item(db.session, tutor, grant.id, "skill", {"name": "S", "level": 1})
    with pytest.raises(Conflict) as full:
        collab.propose_item(db.session, tutor, grant.id, "skill", {"name": "S", "level": 1})
    assert full.value.code == "too_many_pending"


def test_proposed_document_waits_encrypted_then_enters_the_vault(app, client, owner, tutor):
    grant = make_grant(owner, tutor, "contributor")
    content = b"Convention de stage - " + b"confidentiel " * 2000
    login(client, tutor.email)
    url = f"/shared/{grant.id}/propose/document"
    page = client.get(url)
    assert page.status_code == 200
    sent = client.post(url, data={"csrf_token": csrf_token(page), "note": "La convention signée",
                                  "file": (io.BytesIO(content), "convention.txt")},
                       content_type="multipart/form-data")
    assert sent.status_code == 302, sent.get_data(as_text=True)[:2000]
    proposal = db.session.scalars(select(Proposal)).one()
    assert proposal.kind == "document" and proposal.size == len(content)
    stored = storage.get(proposal.blob_key)
    assert b"confidentiel" not in stored  # encrypted with the owner's data key while it waits
    assert proposal.blob_key.startswith(documents.owner_prefix(owner.portfolio.id) + "/")
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    with pytest.raises(NotFound):  # the author cannot read it back through the owner's key
        list(collab.proposal_content(db.session, tutor, proposal))
    assert client.get(f"/proposals/{proposal.id}/file").status_code == 404  # the author: not theirs to read
    looker = app.test_client()
    login(looker, owner.email)
    checked = looker.get(f"/proposals/{proposal.id}/file")
    assert checked.status_code == 200 and checked.data == content  # the owner checks it before accepting
    assert checked.headers["Content-Disposition"] == "attachment"
    assert checked.mimetype == "application/octet-stream"
    document = collab.accept(db.session, owner, proposal)
    db.session.commit()
    assert b"".join(documents.read(owner, document)) == content
    assert document.name == "convention.txt" and document.description == "La convention signée"
    assert not storage.exists(proposal.blob_key or "x/none") and proposal.blob_key is None


def test_proposed_document_over_the_owners_quota_is_refused(app, owner, tutor):
    grant = make_grant(owner, tutor, "contributor")
    app.config["VAULT_QUOTA_BYTES"] = 1000
    with pytest.raises(documents.QuotaExceeded) as full:
        collab.propose_document(db.session, tutor, grant.id, "big.bin", [b"x" * 600, b"x" * 600])
    assert full.value.code == "quota_exceeded" and "propriétaire" in full.value.message  # the owner's vault, not yours
    with pytest.raises(documents.EmptyFile):
        collab.propose_document(db.session, tutor, grant.id, "empty.txt", [b""])


def test_declining_a_document_deletes_its_blob(app, owner, tutor):
    grant = make_grant(owner, tutor, "contributor")
    proposal = collab.propose_document(db.session, tutor, grant.id, "cv.txt", [b"mon cv"])
    db.session.commit()
    key = proposal.blob_key
    assert storage.exists(key)
    collab.decline(db.session, owner, proposal)
    db.session.commit()
    assert not storage.exists(key)


# --- API -------------------------------------------------------------------------------------------------

def test_api_round_trip(app, client, owner, tutor, stranger, skill):
    grant = make_grant(owner, tutor, "contributor")
    as_tutor, as_owner, as_stranger = headers(tutor), headers(owner), headers(stranger)
    assert client.get(f"/api/v1/grants/{grant.id}/messages").status_code == 401
    posted = client.post(f"/api/v1/grants/{grant.id}/messages", json={"body": SCRIPT}, headers=as_tutor)
    assert posted.status_code == 201 and posted.get_json()["body"] == SCRIPT
    assert client.get(f"/api/v1/grants/{grant.id}/messages", headers=as_stranger).status_code == 404
    listed = client.get(f"/api/v1/grants/{grant.id}/messages", headers=as_owner).get_json()["items"]
    assert [m["body"] for m in listed] == [SCRIPT] and listed[0]["read_at"] is not None
    bad = client.post(f"/api/v1/grants/{grant.id}/messages", json={"body": "x", "extra": 1}, headers=as_tutor)
    assert bad.status_code == 422 and bad.get_json()["error"] == "validation_error"

    comment = client.post("/api/v1/comments", json={"item_type": "skill", "item_id": str(skill.id),
                                                    "body": "Good"}, headers=as_tutor)
    assert comment.status_code == 201
    reply = client.post("/api/v1/comments", json={"item_type": "skill", "item_id": str(skill.id), "body": "Thanks",
                                                  "parent_id": comment.get_json()["id"]}, headers=as_owner)
    assert reply.status_code == 201
    thread = client.get(f"/api/v1/comments?item_type=skill&item_id={skill.id}", headers=as_tutor).get_json()
    assert [c["body"] for c in thread["items"]] == ["Good", "Thanks"]
    assert client.get(f"/api/v1/comments?item_type=skill&item_id={skill.id}", headers=as_stranger).status_code == 404
    assert client.get("/api/v1/comments?item_type=skill", headers=as_tutor).status_code == 422

    proposed = client.post("/api/v1/proposals", json={"grant_id": str(grant.id), "kind": "skill",
                                                      "data": {"name": "Lecture de plans", "level": 2}},
                           headers=as_tutor)
    assert proposed.status_code == 201 and proposed.get_json()["status"] == "pending"
    pid = proposed.get_json()["id"]
    assert [p["id"] for p in client.get("/api/v1/proposals", headers=as_owner).get_json()["items"]] == [pid]
    assert [p["id"] for p in client.get("/api/v1/proposals?mine=true", headers=as_tutor).get_json()["items"]] == [pid]
    assert client.post(f"/api/v1/proposals/{pid}/accept", headers=as_tutor).status_code == 404
    accepted = client.post(f"/api/v1/proposals/{pid}/accept", headers=as_owner)
    assert accepted.status_code == 200 and accepted.get_json()["created_item_id"]
    again = client.post(f"/api/v1/proposals/{pid}/decline", json={"reason": "x"}, headers=as_owner)
    assert again.status_code == 409 and again.get_json()["error"] == "not_pending"
    doc = client.post("/api/v1/proposals", data={"grant_id": str(grant.id), "file": (io.BytesIO(b"%PDF-1.4 x"),
                                                                                     "a.pdf")},
                      headers=as_tutor, content_type="multipart/form-data")
    assert doc.status_code == 201 and doc.get_json()["kind"] == "document"
    wrong = client.post("/api/v1/proposals", json={"grant_id": str(grant.id), "kind": "document", "data": {}},
                        headers=as_tutor)
    assert wrong.status_code == 415
    spec = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/comments", "/api/v1/proposals", "/api/v1/grants/{grant_id}/messages"} <= set(spec)


def test_inbox_page_accepts_and_declines(app, client, owner, tutor):
    grant = make_grant(owner, tutor, "contributor")
    keep = collab.propose_item(db.session, tutor, grant.id, "skill", {"name": "Soudure " + SCRIPT, "level": 2})
    drop = collab.propose_item(db.session, tutor, grant.id, "skill", {"name": "Autre", "level": 1})
    db.session.commit()
    login(client, owner.email)
    page = client.get("/portfolio/inbox")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<script>alert" not in text and "Soudure &lt;script&gt;" in text
    assert f"/messages/{grant.id}" in text  # the conversation with the tutor
    token = csrf_token(page)
    assert client.post(f"/proposals/{keep.id}/accept", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/proposals/{drop.id}/decline", data={"csrf_token": token, "reason": "non"}).status_code == 302
    db.session.expire_all()
    assert db.session.scalars(select(Skill.name)).all() == ["Soudure " + SCRIPT]
    assert db.session.get(Proposal, drop.id).status == "declined"
    author = app.test_client()  # the author cannot decide
    login(author, tutor.email)
    page = author.get("/proposals/mine")
    assert page.status_code == 200 and "non" in page.get_data(as_text=True)
    assert author.post(f"/proposals/{drop.id}/accept", data={"csrf_token": csrf_token(page)}).status_code == 404


def test_a_proposal_outlives_its_authors_account(app, owner, tutor):
    """The contributor deletes their account (their grant goes with it): what they gave still waits for
    the owner, who can accept it."""
    from app.services import accounts
    from tests.conftest import PASSWORD

    grant = make_grant(owner, tutor, "contributor")
    proposal = collab.propose_document(db.session, tutor, grant.id, "bilan.txt", [b"bilan de stage"])
    db.session.commit()
    accounts.delete_account(db.session, tutor, PASSWORD)
    db.session.commit()
    db.session.expire_all()
    kept = collab.get_proposal(db.session, owner, proposal.id)
    assert kept.grant_id is None and kept.author_id is None and kept.status == "pending"
    document = collab.accept(db.session, owner, kept)
    db.session.commit()
    assert b"".join(documents.read(owner, document)) == b"bilan de stage"


def test_through_the_real_invitation_and_shared_view(app, client, owner, tutor, make_user, skill, experience):
    """The grants' own flow (invite, accept by link), then the shared view offers the thread, proposals
    and the comment links to a contributor, and only the thread to a viewer."""
    from app.services import grants

    grant, raw = grants.invite(db.session, owner, email=tutor.email, role="contributor",
                               scope=[{"type": "skill", "id": str(skill.id)}])
    grants.accept_by_link(db.session, tutor, raw)
    collab.add_comment(db.session, tutor, "skill", skill.id, "Très bien")
    db.session.commit()
    login(client, tutor.email)
    view = client.get(f"/shared/{grant.id}").get_data(as_text=True)
    assert f"/messages/{grant.id}" in view and f"/shared/{grant.id}/propose/document" in view
    assert f"/comments/skill/{skill.id}" in view and ">1 comment<" in view  # the tutor reads English
    assert f"/comments/experience/{experience.id}" not in view  # out of scope: not even listed
    assert client.get(f"/comments/experience/{experience.id}").status_code == 404

    viewer = make_user("viewer@example.net")
    seen, raw = grants.invite(db.session, owner, email=viewer.email, role="viewer")
    grants.accept_by_link(db.session, viewer, raw)
    db.session.commit()
    other = app.test_client()
    login(other, viewer.email)
    view = other.get(f"/shared/{seen.id}").get_data(as_text=True)
    assert f"/messages/{seen.id}" in view and "/propose/" not in view and "/comments/" not in view
    assert other.get(f"/comments/skill/{skill.id}").status_code == 404
    assert other.get(f"/shared/{seen.id}/propose/skill").status_code == 403
    assert other.get(f"/messages/{grant.id}").status_code == 404  # someone else's thread


def test_demo_tutor_contributes_once(app):
    from app import demo
    from app.models import User
    from app.models.sharing import Grant

    printed = demo.load(db.session)
    db.session.commit()
    assert any(demo.TUTOR.email in line for line in printed)
    demo.load(db.session)  # idempotent
    db.session.commit()
    tutor = db.session.scalar(select(User).where(User.email == demo.TUTOR.email))
    grant = db.session.scalars(select(Grant).where(Grant.grantee_id == tutor.id)).one()
    assert grant.role == "contributor" and grant.is_active()
    assert db.session.scalar(select(func.count()).select_from(Message)) == 2
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 2
    proposal = db.session.scalars(select(Proposal)).one()
    assert proposal.status == "pending" and proposal.kind == "document"
    ines = db.session.scalar(select(User).where(User.email == demo.DEMO_ACCOUNTS[0].email))
    assert b"".join(collab.proposal_content(db.session, ines, proposal)) == demo.DEMO_AGREEMENT


def test_the_digest_runs_as_a_periodic_job(app):
    from app import jobs
    from app.collab import emails

    from datetime import datetime

    registered = {task.name: task for task in jobs.huey._registry.periodic_tasks}
    task = registered["send_digests_job"]
    assert type(task) is emails.send_digests_job.task_class
    assert task.validate_datetime(datetime(2026, 12, 5, 18, 10))  # every 10 minutes, not every minute
    assert not task.validate_datetime(datetime(2026, 12, 5, 18, 11))
