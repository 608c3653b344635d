"""The sharing pages end to end: the owner invites, the invitee accepts by the e-mailed link, reads
exactly the shared items (documents included), the owner sees it in the access log, changes and revokes.
And the refusals: wrong account, link reused, out-of-scope item and document, the owner's own pages,
another person's grant, HTML in titles."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import AccessEvent, Experience, Grant, Skill
from app.services import documents, grants, portfolio as items
from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_auth import link_in, outbox, post_form


@pytest.fixture
def shared_world(app, user):
    shown = items.create_item(db.session, user, Experience, {
        "kind": "internship", "title": "Stage <script>alert(1)</script> chez Atelier", "start_date": "2024-02-01"})
    hidden = items.create_item(db.session, user, Experience, {
        "kind": "job", "title": "Emploi confidentiel", "start_date": "2023-01-01"})
    skill = items.create_item(db.session, user, Skill, {"name": "Soudure", "level": 3})
    report = documents.store(db.session, user, "rapport.txt", [b"Rapport de stage\n"])
    db.session.commit()
    return {"shown": shown, "hidden": hidden, "skill": skill, "report": report}


def _invite(client, data: dict):
    page = client.get("/portfolio/sharing")
    assert page.status_code == 200
    return client.post("/portfolio/sharing", data={"csrf_token": csrf_token(page), **data}, buffered=True)


def test_invite_accept_read_log_revoke(app, logged_in, user, make_user, shared_world):
    w = shared_world
    sent = _invite(logged_in, {"email": "Camille@Example.org", "role": "contributor", "extent": "chosen",
                               "scope": [f"experience:{w['shown'].id}", "section:documents"],
                               "message": "Bonjour Camille"})
    assert sent.status_code == 302, sent.data[:2000]
    grant = db.session.scalar(select(Grant))
    assert (grant.email, grant.role, grant.status) == ("camille@example.org", "contributor", "pending")
    mail = [m for m in outbox(app) if m["To"] == "camille@example.org"][-1]
    assert "Bonjour Camille" in mail.get_body(("plain",)).get_content()
    link = link_in(mail, "/invitations/")

    # Not signed in: the page says whom the invitation is for and offers to sign in or sign up.
    anonymous = app.test_client()
    page = anonymous.get(link)
    assert page.status_code == 200 and b"camille@example.org" in page.data and b"/login?next=" in page.data

    # Another account cannot take it.
    make_user("intruder@example.org")
    intruder = app.test_client()
    login(intruder, "intruder@example.org")
    refused = intruder.post(link, data={"csrf_token": csrf_token(intruder.get(link))}, follow_redirects=True)
    assert "another address".encode() in refused.data or "autre adresse".encode() in refused.data
    db.session.expire_all()
    assert db.session.get(Grant, grant.id).status == "pending"

    camille = make_user("camille@example.org", display_name="Camille Conseil")
    reader = app.test_client()
    login(reader, camille.email)
    accepted = reader.post(link, data={"csrf_token": csrf_token(reader.get(link))})
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith(f"/shared/{grant.id}")
    assert reader.get(link).status_code == 404  # the link worked once

    view = reader.get(f"/shared/{grant.id}")
    assert view.status_code == 200
    assert b"Stage &lt;script&gt;alert(1)&lt;/script&gt; chez Atelier" in view.data and b"<script>alert" not in view.data
    assert b"Emploi confidentiel" not in view.data and b"Soudure" not in view.data
    assert b"rapport.txt" in view.data

    download = reader.get(f"/shared/{grant.id}/documents/{w['report'].id}")
    assert download.status_code == 200 and download.data == b"Rapport de stage\n"
    assert "attachment" in download.headers["Content-Disposition"]

    # Outside the scope, the owner's workspace, another person's grant: 404, as a missing page.
    assert reader.get(f"/portfolio/experiences/{w['shown'].id}").status_code == 404
    assert reader.get(f"/vault/{w['report'].id}/download").status_code == 404
    assert intruder.get(f"/shared/{grant.id}").status_code == 404
    assert intruder.get(f"/shared/{grant.id}/documents/{w['report'].id}").status_code == 404

    listed = reader.get("/shared")
    assert listed.status_code == 200 and b"Owner Person" in listed.data

    log_page = logged_in.get("/portfolio/access-log")
    assert log_page.status_code == 200 and b"Camille Conseil" in log_page.data and b"rapport.txt" in log_page.data
    events = db.session.scalars(select(AccessEvent).order_by(AccessEvent.created_at)).all()
    assert [(e.action, e.actor_id) for e in events] == [("view", camille.id), ("download", camille.id)]
    assert all(e.ip == "127.0.0.0/24" for e in events)

    # The owner widens the scope, then revokes.
    edit = f"/portfolio/sharing/{grant.id}"
    changed = post_form(logged_in, edit, {"role": "viewer", "extent": "chosen",
                                          "scope": [f"experience:{w['hidden'].id}"], "expires_on": ""})
    assert changed.status_code == 302, changed.data[:2000]
    view = reader.get(f"/shared/{grant.id}")
    assert b"Emploi confidentiel" in view.data and b"chez Atelier" not in view.data
    assert reader.get(f"/shared/{grant.id}/documents/{w['report'].id}").status_code == 404

    revoked = post_form(logged_in, f"/portfolio/sharing/{grant.id}/revoke", {}, page_url="/portfolio/sharing")
    assert revoked.status_code == 302
    assert reader.get(f"/shared/{grant.id}").status_code == 404
    assert b"Owner Person" not in reader.get("/shared").data


def test_the_invite_form_refuses_oneself_a_duplicate_and_an_item_of_another_portfolio(
        app, logged_in, user, make_user, shared_world):
    own = _invite(logged_in, {"email": user.email, "role": "viewer", "extent": "all"})
    assert own.status_code == 400 and ("yourself".encode() in own.data or "vous-même".encode() in own.data)
    other = make_user("other@example.org")
    foreign = items.create_item(db.session, other, Skill, {"name": "Autre", "level": 1})
    db.session.commit()
    stolen = _invite(logged_in, {"email": "x@example.org", "role": "viewer", "extent": "chosen",
                                 "scope": [f"skill:{foreign.id}"]})
    assert stolen.status_code == 400
    assert _invite(logged_in, {"email": "x@example.org", "role": "viewer", "extent": "all"}).status_code == 302
    again = _invite(logged_in, {"email": "X@example.org", "role": "guardian", "extent": "all"})
    assert again.status_code == 400
    assert db.session.scalar(select(Grant.email).where(Grant.revoked_at.is_(None))) == "x@example.org"
    assert len(db.session.scalars(select(Grant)).all()) == 1
    # Someone else cannot change or revoke the owner's grant.
    grant = db.session.scalar(select(Grant))
    stranger = app.test_client()
    login(stranger, "other@example.org")
    assert stranger.get(f"/portfolio/sharing/{grant.id}").status_code == 404
    page = stranger.get("/portfolio/sharing")
    assert stranger.post(f"/portfolio/sharing/{grant.id}/revoke",
                         data={"csrf_token": csrf_token(page)}).status_code == 404
    assert db.session.get(Grant, grant.id).revoked_at is None


def test_an_expired_invitation_link_and_an_expired_grant(app, user, make_user, shared_world):
    grant, raw = grants.invite(db.session, user, email="late@example.org", role="viewer",
                               expires_at=(utcnow() + timedelta(days=1)).isoformat())
    grant.updated_at = utcnow() - grants.INVITATION_TTL - timedelta(minutes=1)
    db.session.commit()
    late = make_user("late@example.org")
    client = app.test_client()
    login(client, late.email)
    assert client.get(f"/invitations/{raw}").status_code == 404
    raw = grants.resend(db.session, user, grant)
    db.session.commit()
    assert client.post(f"/invitations/{raw}", data={"csrf_token": csrf_token(client.get(f"/invitations/{raw}"))}
                       ).status_code == 302
    assert client.get(f"/shared/{grant.id}").status_code == 200
    grant.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(f"/shared/{grant.id}").status_code == 404
    assert client.get("/invitations/not-a-real-token-but-long-enough").status_code == 404


def test_recent_changes_of_followed_portfolios(app, user, make_user, shared_world):
    counsellor = make_user("counsellor@example.org")
    grant, raw = grants.invite(db.session, user, email=counsellor.email, role="viewer",
                               scope=[{"type": "section", "id": "experiences"}])
    grants.accept_by_link(db.session, counsellor, raw)
    grant.last_seen_at = utcnow() - timedelta(minutes=5)
    for item in shared_world.values():  # made before the counsellor's last visit
        db.session.execute(type(item).__table__.update().where(type(item).__table__.c.id == item.id)
                           .values(updated_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    items.update_item(db.session, user, shared_world["hidden"], {"title": "Emploi renommé"})
    items.update_item(db.session, user, shared_world["skill"], {"name": "Soudure TIG"})  # out of scope
    db.session.commit()
    followed = grants.recent_changes(db.session, counsellor)
    assert [entry["count"] for entry in followed] == [1]
    assert [item.title for _section, item in followed[0]["latest"]] == ["Emploi renommé"]
    client = app.test_client()
    login(client, counsellor.email)
    page = client.get("/shared")
    assert b"Emploi renomm" in page.data and b"Soudure TIG" not in page.data
    assert client.get(f"/shared/{grant.id}").status_code == 200  # looking resets the changes
    db.session.expire_all()
    assert grants.recent_changes(db.session, counsellor)[0]["count"] == 0


def test_the_demo_shares_ines_portfolio_with_her_counsellor(app):
    from app import demo
    from app.models import User

    demo.load(db.session)
    db.session.commit()
    demo.load(db.session)  # idempotent
    db.session.commit()
    claire = db.session.scalar(select(User).where(User.email == demo.DEMO_ACCOUNTS[1].email))
    ines = db.session.scalar(select(User).where(User.email == demo.DEMO_ACCOUNTS[0].email))
    assert sorted((g.role, g.status) for g in grants.list_for_owner(db.session, ines)) == [
        ("contributor", "active"), ("counsellor", "active"), ("guardian", "pending")]
    # contributor: collab's demo; counsellor: Claire's viewer grant, made a counsellor's by the path demo
    client = app.test_client()
    login(client, claire.email, demo.DEMO_ACCOUNTS[1].password)
    followed = client.get("/shared")
    assert "Inès Martin".encode() in followed.data
    events = db.session.scalars(select(AccessEvent).where(AccessEvent.portfolio_id == ines.portfolio.id,
                                                          AccessEvent.action == "view")).all()
    assert [(e.actor_id, e.ip) for e in events] == [(claire.id, "192.0.2.0/24")]
    # the demo tutor's comment and proposal (collab's demo, through the services) are in the log too, once
    acts = db.session.scalars(select(AccessEvent.action).where(AccessEvent.portfolio_id == ines.portfolio.id,
                                                               AccessEvent.action != "view")).all()
    assert sorted(acts) == ["comment", "propose"]


def test_guessing_invitation_links_is_rate_limited(app):
    import secrets

    guesser = app.test_client()
    statuses = [guesser.get(f"/invitations/{secrets.token_urlsafe(32)}").status_code for _ in range(31)]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429


def _mail_with(app, to: str, path: str):
    found = [m for m in outbox(app) if m["To"] == to and path in m.get_body(("plain",)).get_content()]
    assert len(found) == 1, [m["Subject"] for m in outbox(app)]
    return found[0]


def test_a_new_person_returns_to_the_invitation_after_signing_up_and_confirming(app, logged_in, shared_world):
    """The invitee has no account: "Create an account" on the invitation keeps ``next`` through the
    registration, the confirmation mail's link and the sign-in, and lands on the invitation, which they
    accept. A ``next`` pointing elsewhere is dropped at every step (safe_next)."""
    from tests.test_auth import NEW_PASSWORD, ServerClient, post_form

    assert _invite(logged_in, {"email": "newcomer@example.org", "role": "viewer", "extent": "all"}).status_code == 302
    grant = db.session.scalar(select(Grant).where(Grant.email == "newcomer@example.org"))
    invitation = link_in([m for m in outbox(app) if m["To"] == "newcomer@example.org"][-1], "/invitations/")

    newcomer = ServerClient(app, app.response_class, use_cookies=True)  # mails leave as on a server
    page = newcomer.get(invitation)
    signup = re.search(rb'href="(/register\?next=[^"]+)"', page.data).group(1).decode().replace("&amp;", "&")
    registered = post_form(newcomer, signup, {"email": "newcomer@example.org", "password": NEW_PASSWORD,
                                              "password_confirm": NEW_PASSWORD, "display_name": "Newcomer"})
    assert registered.status_code == 302
    confirm = link_in(_mail_with(app, "newcomer@example.org", "/verify-email/"), "/verify-email/")
    assert "next=" in confirm
    confirmed = post_form(newcomer, confirm, {})
    assert confirmed.status_code == 302
    signin = confirmed.headers["Location"]
    assert signin.startswith("/login?next=")
    signed_in = post_form(newcomer, signin, {"email": "newcomer@example.org", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == invitation
    accepted = newcomer.post(invitation, data={"csrf_token": csrf_token(newcomer.get(invitation))})
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith(f"/shared/{grant.id}")

    # A foreign target never survives: not in the mail's link, not after confirming.
    stranger = ServerClient(app, app.response_class, use_cookies=True)
    post_form(stranger, "/register?next=//evil.example/x", {
        "email": "other@example.org", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    confirm = link_in(_mail_with(app, "other@example.org", "/verify-email/"), "/verify-email/")
    assert "next=" not in confirm and "evil" not in confirm
    forged = post_form(stranger, confirm + "?next=https://evil.example/", {}, page_url=confirm)
    assert forged.status_code == 302 and forged.headers["Location"] == "/login"
