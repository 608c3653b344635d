"""The backpack's pages (issue 11): "Add a badge earned elsewhere" (check first, add, a badge that does
not verify kept only when the owner ticks "keep it anyway"), the badge in the Credentials section (verdict,
re-check, hide, downloads as issued, links to items, delete), the item page's link form, the badge's own
page (public by its random id, 404 once hidden; verify button), and the refusals (no CSRF, another
person's badge or item, a bad file, a private address)."""
from __future__ import annotations

import io
import json

import pytest

from app.extensions import db
from app.models import Skill
from app.models.backpack import ExternalCredential
from app.services import backpack, portfolio as items
from badges.bake import bake, unbake
from tests.backpack_helpers import SVG, Elsewhere, png
from tests.conftest import login
from tests.helpers import csrf_token


@pytest.fixture
def elsewhere(monkeypatch):
    """Another platform whose documents the app's verifier fetches (instead of the network)."""
    from app.credentials import mine

    made = Elsewhere()
    monkeypatch.setattr(backpack, "default_fetch", lambda: made.web)
    monkeypatch.setattr(mine, "json_fetcher", lambda **_options: made.web)  # the section's "check again"
    return made


@pytest.fixture
def owner(make_user):
    return make_user("ines@example.org", display_name="Inès Morel", locale="en")


@pytest.fixture
def signed_in(client, owner):
    login(client, owner.email)
    return client


def _post_file(client, data: bytes, name: str, **fields):
    token = csrf_token(client.get("/portfolio/backpack/add"))
    form = {"csrf_token": token, "file": (io.BytesIO(data), name), **fields}
    return client.post("/portfolio/backpack/add", data=form, content_type="multipart/form-data")


def _count() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(ExternalCredential))


def test_check_shows_the_preview_and_stores_nothing(signed_in, owner, elsewhere):
    page = _post_file(signed_in, bake(png(), elsewhere.signed(owner.email)), "psc1.png", action="check")
    assert page.status_code == 200
    text = page.data.decode()
    assert 'data-verdict="verified"' in text and "Premiers secours (PSC1)" in text and "Croix Test" in text
    assert _count() == 0


def test_add_a_baked_badge_then_manage_it_in_the_section(signed_in, owner, elsewhere):
    baked = bake(png(), elsewhere.signed(owner.email))
    added = _post_file(signed_in, baked, "psc1.png", action="add")
    assert added.status_code == 303
    row = db.session.scalars(db.select(ExternalCredential)).one()
    assert added.headers["Location"].endswith(f"/portfolio/credentials#external-{row.id}")
    section = signed_in.get("/portfolio/credentials").data.decode()
    card = section[section.index(f'id="external-{row.id}"'):]
    card = card[:card.index("</ul>\n{% else %}") if False else card.index('class="received-links"')]
    assert 'data-kind="external"' in section and 'data-verdict="verified"' in card
    assert f"/backpack/{row.id}/original?download=1" in card and f"/backpack/{row.id}.png?download=1" in card
    # The downloads are the badge as it came: the JSON bytes, and the baked image byte for byte.
    assert signed_in.get(f"/backpack/{row.id}/original?download=1").data == row.original
    image = signed_in.get(f"/backpack/{row.id}.png?download=1")
    assert image.data == baked and "attachment" in image.headers["Content-Disposition"]
    assert unbake(image.data)["credential"] == json.loads(row.original)
    # Check again, hide, show: the Credentials section's own buttons work for it.
    token = csrf_token(signed_in.get("/portfolio/credentials"))
    checked = signed_in.post(f"/portfolio/credentials/external/{row.id}/verify", data={"csrf_token": token},
                             follow_redirects=True)
    assert checked.status_code == 200 and 'data-verdict="verified"' in checked.data.decode()
    signed_in.post(f"/portfolio/credentials/external/{row.id}/hide", data={"hidden": "1", "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(ExternalCredential, row.id).hidden is True
    # Delete (after a request without the CSRF token did nothing).
    signed_in.post(f"/portfolio/backpack/{row.id}/delete")
    assert _count() == 1
    signed_in.post(f"/portfolio/backpack/{row.id}/delete", data={"csrf_token": token})
    assert _count() == 0


def test_a_tampered_badge_needs_the_owners_explicit_keep(signed_in, owner, elsewhere):
    credential = elsewhere.signed(owner.email)
    credential["credentialSubject"]["achievement"]["name"] = "Chirurgien"
    data = json.dumps(credential).encode()
    refused = _post_file(signed_in, data, "forged.json", action="add")
    assert refused.status_code == 422 and _count() == 0
    text = refused.data.decode()
    assert 'data-verdict="not_verified"' in text and "flash-error" in text
    kept = _post_file(signed_in, data, "forged.json", action="add", keep_unverified="y")
    assert kept.status_code == 303 and _count() == 1
    section = signed_in.get("/portfolio/credentials").data.decode()
    assert "verdict-failed" in section


def test_add_by_address(signed_in, owner, elsewhere):
    url = elsewhere.ob2(owner.email)
    token = csrf_token(signed_in.get("/portfolio/backpack/add"))
    added = signed_in.post("/portfolio/backpack/add", data={"csrf_token": token, "url": url, "action": "add"})
    assert added.status_code == 303
    assert db.session.scalars(db.select(ExternalCredential)).one().source_url == url


def test_importing_the_same_badge_twice_says_so(signed_in, owner, elsewhere):
    data = json.dumps(elsewhere.signed(owner.email)).encode()
    _post_file(signed_in, data, "a.json", action="add")
    again = _post_file(signed_in, data, "a.json", action="add")
    assert again.status_code == 303 and _count() == 1
    assert "Already in your backpack" in signed_in.get("/portfolio/credentials").data.decode()


@pytest.mark.parametrize("data, name, words", [
    (png(), "plain.png", "holds no badge"),
    (b"\x00\x01\x02garbage\xff", "x.bin", "neither a badge image"),
    (b"", "empty.json", "The file is empty"),
])
def test_bad_files_get_a_clear_message(signed_in, elsewhere, data, name, words):
    page = _post_file(signed_in, data, name, action="add")
    assert page.status_code in (400, 422) and words in page.data.decode() and _count() == 0


def test_form_refusals(signed_in, owner, elsewhere):
    token = csrf_token(signed_in.get("/portfolio/backpack/add"))
    neither = signed_in.post("/portfolio/backpack/add", data={"csrf_token": token, "action": "add"})
    assert neither.status_code == 422 and "one of the two" in neither.data.decode()
    private = signed_in.post("/portfolio/backpack/add", data={"csrf_token": token, "action": "add",
                                                              "url": "https://192.168.1.10/assertion"})
    assert private.status_code == 422 and _count() == 0
    no_csrf = signed_in.post("/portfolio/backpack/add", data={"url": elsewhere.ob2(owner.email), "action": "add"})
    assert no_csrf.status_code == 400 and _count() == 0


def test_private_address_with_the_real_guard(signed_in, monkeypatch):
    from badges.fetch import json_fetcher

    monkeypatch.setattr(backpack, "default_fetch", lambda: json_fetcher(allow_loopback=False))
    token = csrf_token(signed_in.get("/portfolio/backpack/add"))
    page = signed_in.post("/portfolio/backpack/add", data={"csrf_token": token, "action": "add",
                                                           "url": "https://127.0.0.1:5000/ob2/assertion"})
    assert page.status_code == 422 and "only public https addresses" in page.data.decode()


def test_signed_out_is_sent_to_login(client):
    assert client.get("/portfolio/backpack/add").status_code == 302


def test_the_badge_page_is_public_until_hidden(app, signed_in, owner, elsewhere):
    [row] = backpack.add(db.session, owner, bake(SVG, elsewhere.signed(owner.email)), fetch=elsewhere.web)
    db.session.commit()
    visitor = app.test_client()
    page = visitor.get(f"/backpack/{row.id}")
    assert page.status_code == 200 and "Premiers secours (PSC1)" in page.data.decode()
    assert page.headers["X-Robots-Tag"] == "noindex"
    svg = visitor.get(f"/backpack/{row.id}.svg")
    assert svg.data == row.image and "default-src 'none'" in svg.headers["Content-Security-Policy"]
    assert visitor.get(f"/backpack/{row.id}.png").status_code == 404  # it came as an SVG
    assert json.loads(visitor.get(f"/backpack/{row.id}.json").data) == row.document
    # A visitor's verify button runs the verifier and changes nothing stored.
    verified = visitor.post(f"/backpack/{row.id}/verify", data={"csrf_token": csrf_token(page)})
    assert verified.status_code == 200 and 'class="verification-result' in verified.data.decode()
    assert verified.headers["Cache-Control"] == "no-store"
    row.hidden = True
    db.session.commit()
    for path in ("", ".json", ".svg", "/original"):
        assert visitor.get(f"/backpack/{row.id}{path}").status_code == 404
    assert signed_in.get(f"/backpack/{row.id}").status_code == 200  # its owner still sees it
    assert visitor.get("/backpack/00000000-0000-4000-8000-000000000000").status_code == 404


def test_the_badge_pages_answer_410_once_the_owner_deleted_the_account(app, owner, elsewhere):
    """Like the person's other public pages (issue 11): a tombstone, not a 404 that reads as "never
    existed"; a badge nobody ever held, and a hidden one of a living account, stay 404."""
    from app.models.exports import ErasedToken
    from app.services import accounts
    from tests.conftest import PASSWORD

    [row] = backpack.add(db.session, owner, bake(SVG, elsewhere.signed(owner.email)), fetch=elsewhere.web)
    db.session.commit()
    badge_id, visitor = row.id, app.test_client()
    assert visitor.get(f"/backpack/{badge_id}").status_code == 200
    accounts.delete_account(db.session, owner, PASSWORD)
    db.session.commit()
    assert db.session.get(ExternalCredential, badge_id) is None
    for path in ("", ".json", ".svg", ".png", "/original"):
        assert visitor.get(f"/backpack/{badge_id}{path}").status_code == 410, path
    assert db.session.scalar(db.select(db.func.count()).select_from(ErasedToken)) >= 1
    assert visitor.get("/backpack/00000000-0000-4000-8000-000000000000").status_code == 404


def test_link_from_the_section_and_from_the_item_page(app, signed_in, owner, elsewhere, make_user):
    skill = items.create_item(db.session, owner, Skill, {"name": "Secourisme", "level": 3})
    [row] = backpack.add(db.session, owner, json.dumps(elsewhere.signed(owner.email)).encode(), fetch=elsewhere.web)
    db.session.commit()
    item_page = signed_in.get(f"/skills/{skill.id}")
    assert "Show a badge earned elsewhere here" in item_page.data.decode()
    token = csrf_token(item_page)
    linked = signed_in.post(f"/skill/{skill.id}/badges", data={"csrf_token": token, "badge": str(row.id)})
    assert linked.status_code == 303
    item_page = signed_in.get(f"/skills/{skill.id}").data.decode()
    assert f"/backpack/{row.id}" in item_page and "Premiers secours (PSC1)" in item_page
    unlinked = signed_in.post(f"/portfolio/backpack/{row.id}/links/skill/{skill.id}/delete",
                              data={"csrf_token": token, "back": f"skill:{skill.id}"})
    assert unlinked.headers["Location"].endswith(f"/skills/{skill.id}")
    signed_in.post(f"/portfolio/backpack/{row.id}/links", data={"csrf_token": token, "item": f"skill:{skill.id}"})
    assert [link.item_id for link in db.session.get(ExternalCredential, row.id).links] == [skill.id]
    # Another person's badge or item: 404.
    other = make_user("other@example.org")
    theirs = items.create_item(db.session, other, Skill, {"name": "Autre", "level": 1})
    db.session.commit()
    assert signed_in.post(f"/skill/{theirs.id}/badges", data={"csrf_token": token, "badge": str(row.id)}).status_code == 404
    stranger = app.test_client()
    login(stranger, other.email)
    token = csrf_token(stranger.get("/portfolio/credentials"))
    assert stranger.post(f"/portfolio/backpack/{row.id}/delete", data={"csrf_token": token}).status_code == 404
    assert stranger.post(f"/portfolio/credentials/external/{row.id}/hide",
                         data={"csrf_token": token, "hidden": "1"}).status_code == 404
    assert stranger.post(f"/portfolio/backpack/{row.id}/links",
                         data={"csrf_token": token, "item": f"skill:{theirs.id}"}).status_code == 404
    assert _count() == 1 and not db.session.get(ExternalCredential, row.id).hidden


def test_another_persons_badge_is_refused_then_shown_as_theirs(signed_in, client, owner, elsewhere):
    """Review 13, M1: Alice's public badge in Inès's backpack needs Inès's explicit keep, and its public
    page then says it was issued to another person; Inès's own badge says nothing of the kind."""
    data = json.dumps(elsewhere.signed("alice@example.org")).encode()
    refused = _post_file(signed_in, data, "alice.json", action="add")
    assert refused.status_code == 422 and _count() == 0
    assert "another e-mail address" in refused.data.decode()
    kept = _post_file(signed_in, data, "alice.json", action="add", keep_unverified="y")
    assert kept.status_code == 303 and _count() == 1
    row = db.session.scalars(db.select(ExternalCredential)).one()
    page = client.get(f"/backpack/{row.id}").data.decode()
    assert 'data-recipient="someone_else"' in page and "Issued to another person" in page
    mine = _post_file(signed_in, json.dumps(elsewhere.signed(owner.email)).encode(), "mine.json", action="add")
    assert mine.status_code == 303
    own = db.session.scalars(db.select(ExternalCredential).where(ExternalCredential.recipient == "you")).one()
    assert "data-recipient" not in client.get(f"/backpack/{own.id}").data.decode()
