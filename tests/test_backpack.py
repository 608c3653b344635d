"""The backpack's service (issue 11): badges earned elsewhere read from every accepted form — baked PNG
and SVG of OB 3.0 and OB 2.0, OB 3.0 JSON with a Data Integrity proof, OB 3.0 VC-JWT, an OB 2.0 hosted
assertion URL, a CLR 2.0 whose members each become an entry — each verified on import with real
signatures (result stored in the one verdict cache), never duplicated, and the refusals: not a badge, a
tampered credential (refused unless the owner confirms, then kept with its failing verdict), a private
address (the SSRF guard), another person's badge, too many badges."""
from __future__ import annotations

import copy
import json

import pytest
import sqlalchemy

from app.extensions import db
from app.models.backpack import ExternalCredential
from app.models.received import VerificationVerdict
from app.services import backpack, received
from app.services.errors import NotFound, ServiceError
from badges.bake import bake
from badges.fetch import json_fetcher
from tests.backpack_helpers import SVG, Elsewhere, png


@pytest.fixture
def owner(make_user):
    return make_user("ines@example.org", display_name="Inès Morel")


@pytest.fixture
def elsewhere():
    return Elsewhere()


def _add(owner, elsewhere, payload=None, **kwargs):
    rows = backpack.add(db.session, owner, payload, fetch=elsewhere.web, **kwargs)
    db.session.commit()
    return rows


def _verdict(row):
    return db.session.scalars(db.select(VerificationVerdict).where(
        VerificationVerdict.subject_kind == "external", VerificationVerdict.subject_id == row.id)).one()


def test_ob3_json_is_verified_and_kept_verbatim(owner, elsewhere):
    credential = elsewhere.signed(owner.email)
    text = json.dumps(credential, indent=2, ensure_ascii=False).encode()
    [row] = _add(owner, elsewhere, text, filename="psc1.json")
    assert row.format == "ob3-di" and row.original == text.strip()
    assert row.document == credential
    assert (row.issuer_name, row.achievement_name) == ("Croix Test", "Premiers secours (PSC1)")
    assert row.issued_at is not None and row.image is None and row.filename == "psc1.json"
    assert _verdict(row).status == "verified"
    assert backpack.download(row) == (row.original, "application/json", "json")


@pytest.mark.parametrize("image", [png(), SVG], ids=["png", "svg"])
def test_baked_ob3_image_keeps_the_image_and_shows_a_safe_one(owner, elsewhere, image):
    credential = elsewhere.signed(owner.email)
    baked = bake(image, credential)
    [row] = _add(owner, elsewhere, baked, filename="badge")
    assert row.image == baked and row.image_type in ("image/png", "image/svg+xml")
    assert json.loads(row.original) == credential
    assert row.achievement_image.startswith("data:image/")  # re-encoded by Sillage, never the raw upload
    assert _verdict(row).status == "verified"


def test_vc_jwt_is_kept_as_the_jws(owner, elsewhere):
    token = elsewhere.jwt(owner.email)
    [row] = _add(owner, elsewhere, token.encode())
    assert row.format == "ob3-jwt" and row.original == token.encode()
    assert row.achievement_name == "Secourisme en équipe" and row.issuer_name == "Croix JWT"
    assert _verdict(row).status == "verified"
    assert backpack.download(row)[1:] == ("application/vc+jwt", "jwt")


def test_ob2_hosted_assertion_by_url_and_baked(owner, elsewhere):
    url = elsewhere.ob2(owner.email)
    [row] = _add(owner, elsewhere, url=url)
    assert row.format == "ob2" and row.source_url == url
    assert (row.issuer_name, row.achievement_name) == ("Croix OB2", "Premiers secours")  # from the badge class
    assert _verdict(row).status == "verified"
    # The same assertion baked into a PNG (its JSON) is the same badge: not added twice.
    again = _add(owner, elsewhere, bake(png(), elsewhere.assertion(url)))
    assert [r.id for r in again] == [row.id]
    assert db.session.scalar(db.select(db.func.count()).select_from(ExternalCredential)) == 1


def test_clr_members_each_become_an_entry_and_the_clr_is_verified(owner, elsewhere):
    first, second = elsewhere.signed(owner.email, name="Anglais B2"), elsewhere.signed(owner.email, name="Excel")
    clr = elsewhere.clr([first, second])
    rows = _add(owner, elsewhere, json.dumps(clr).encode())
    assert sorted(r.achievement_name for r in rows) == ["Anglais B2", "Excel"]
    assert {r.format for r in rows} == {"clr-member"}
    assert all(r.bundle["status"] == "verified" and r.bundle["name"] == "Relevé de l'année" for r in rows)
    assert all(_verdict(r).status == "verified" for r in rows)
    # The first one alone, later: already there.
    assert [r.id for r in _add(owner, elsewhere, json.dumps(first).encode())] == \
        [r.id for r in rows if r.achievement_name == "Anglais B2"]


def test_a_tampered_clr_member_does_not_verify(owner, elsewhere):
    member = elsewhere.signed(owner.email, name="Anglais B2")
    member["credentialSubject"]["achievement"]["name"] = "Anglais C2"
    clr = elsewhere.clr([member])
    found = backpack.preview(db.session, owner, json.dumps(clr).encode(), fetch=elsewhere.web)
    assert found[0].status == "not_verified" and found[0].reason == "forged"
    assert found[0].bundle["status"] == "verified"  # the CLR's own signature covers the changed member...
    with pytest.raises(backpack.NotVerified):  # ...but the member's issuer signed something else
        backpack.add(db.session, owner, candidates=found)


def test_importing_twice_never_duplicates(owner, elsewhere):
    credential = elsewhere.signed(owner.email)
    first = _add(owner, elsewhere, json.dumps(credential).encode())
    found = backpack.preview(db.session, owner, bake(png(), credential), fetch=elsewhere.web)
    assert found[0].existing is not None and found[0].existing.id == first[0].id
    second = _add(owner, elsewhere, bake(png(), credential))
    assert [r.id for r in second] == [first[0].id]
    assert db.session.scalar(db.select(db.func.count()).select_from(ExternalCredential)) == 1


def test_a_tampered_credential_is_refused_unless_the_owner_confirms(owner, elsewhere):
    credential = elsewhere.signed(owner.email)
    credential["credentialSubject"]["achievement"]["name"] = "Médecin urgentiste"
    with pytest.raises(backpack.NotVerified) as refused:
        backpack.add(db.session, owner, json.dumps(credential).encode(), fetch=elsewhere.web)
    assert refused.value.code == "credential_not_verified" and refused.value.status == 422
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(ExternalCredential)) == 0
    [row] = _add(owner, elsewhere, json.dumps(credential).encode(), accept_unverified=True)
    verdict = _verdict(row)
    assert verdict.status == "not_verified" and verdict.reason == "forged" and "bad_signature" in verdict.error_codes
    entry = received.get(db.session, owner, "external", row.id)
    assert entry.verdict.status == "not_verified"


def test_an_unreachable_issuer_is_unchecked_not_forged(owner, elsewhere):
    credential = elsewhere.signed(owner.email)
    elsewhere.web.documents.clear()  # the issuer's DID document is gone
    [found] = backpack.preview(db.session, owner, json.dumps(credential).encode(), fetch=elsewhere.web)
    assert (found.status, found.reason) == ("not_verified", "unchecked")


def test_recheck_sees_a_revocation_or_a_returning_issuer(owner, elsewhere):
    credential = elsewhere.signed(owner.email)
    [row] = _add(owner, elsewhere, json.dumps(credential).encode())
    saved = copy.deepcopy(elsewhere.web.documents)
    elsewhere.web.documents.clear()
    assert backpack.recheck(db.session, row, elsewhere.web).reason == "unchecked"
    elsewhere.web.documents.update(saved)
    assert backpack.recheck(db.session, row, elsewhere.web).status == "verified"
    assert db.session.scalar(db.select(db.func.count()).select_from(VerificationVerdict)) == 1


@pytest.mark.parametrize("payload, code", [
    (png(), "no_badge"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "unsupported_image"),
    (b"just some words", "invalid_credential"),
    (b'{"hello": "world"}', "unsupported_document"),
    (b"{not json", "invalid_credential"),
    (b"", "empty_file"),
])
def test_what_is_not_a_badge_is_refused_with_a_clear_code(owner, elsewhere, payload, code):
    with pytest.raises(ServiceError) as refused:
        backpack.add(db.session, owner, payload, fetch=elsewhere.web)
    assert refused.value.code == code and refused.value.status == 422 and refused.value.message


def test_a_verifiable_credential_that_is_not_a_badge_is_refused(owner, elsewhere):
    from tests.verify.credentials import signed, vc2_credential

    document = signed(vc2_credential(elsewhere.issuer.did), elsewhere.issuer.key)
    with pytest.raises(ServiceError) as refused:
        backpack.add(db.session, owner, json.dumps(document).encode(), fetch=elsewhere.web)
    assert refused.value.code == "not_a_badge"


def test_an_empty_clr_is_refused(owner, elsewhere):
    with pytest.raises(ServiceError) as refused:
        backpack.add(db.session, owner, json.dumps(elsewhere.clr([])).encode(), fetch=elsewhere.web)
    assert refused.value.code == "empty_clr"


@pytest.mark.parametrize("url", ["https://127.0.0.1/ob2/assertions/1", "https://10.0.0.8/a",
                                 "https://[::1]/a", "http://badges.example/a", "https://169.254.169.254/latest"])
def test_a_private_or_plain_http_address_is_refused_by_the_guard(owner, url):
    with pytest.raises(ServiceError) as refused:
        backpack.add(db.session, owner, url=url, fetch=json_fetcher(allow_loopback=False))
    assert refused.value.code == "fetch_refused"


def test_a_badge_issued_to_someone_else_is_flagged(owner, elsewhere):
    [found] = backpack.preview(db.session, owner, json.dumps(elsewhere.signed("other@example.org")).encode(),
                               fetch=elsewhere.web)
    assert found.recipient == "someone_else" and found.verified
    [mine] = backpack.preview(db.session, owner, json.dumps(elsewhere.signed(owner.email)).encode(),
                              fetch=elsewhere.web)
    assert mine.recipient == "you"


def test_another_persons_badge_is_not_found(owner, elsewhere, make_user):
    [row] = _add(owner, elsewhere, json.dumps(elsewhere.signed(owner.email)).encode())
    stranger = make_user("stranger@example.org")
    with pytest.raises(NotFound):
        backpack.get(db.session, stranger, row.id)
    with pytest.raises(NotFound):
        backpack.delete(db.session, stranger, row)
    with pytest.raises(NotFound):
        received.get(db.session, stranger, "external", row.id)
    with pytest.raises(NotFound):
        backpack.get(db.session, owner, "not-an-id")


def test_the_same_badge_in_two_portfolios_is_two_entries(owner, elsewhere, make_user):
    credential = json.dumps(elsewhere.signed(owner.email)).encode()
    other = make_user("other@example.org")
    [mine] = _add(owner, elsewhere, credential)
    [theirs] = _add(other, elsewhere, credential, accept_unverified=True)  # issued to the owner: confirmed
    assert mine.id != theirs.id and mine.fingerprint == theirs.fingerprint
    assert (mine.recipient, theirs.recipient) == ("you", "someone_else")


def test_links_hide_and_delete(owner, elsewhere):
    from app.models import Skill
    from app.services import portfolio as items

    skill = items.create_item(db.session, owner, Skill, {"name": "Secourisme", "level": 3})
    [row] = _add(owner, elsewhere, json.dumps(elsewhere.signed(owner.email)).encode())
    backpack.link(db.session, owner, row, "skill", skill.id)
    backpack.link(db.session, owner, row, "skill", skill.id)  # idempotent
    db.session.commit()
    assert [e.id for e in received.for_item(db.session, "skill", skill)] == [row.id]
    entry = received.get(db.session, owner, "external", row.id)
    assert [(k, i.id) for k, i in entry.links] == [("skill", skill.id)]
    with pytest.raises(ServiceError):
        backpack.link(db.session, owner, row, "journal", skill.id)
    received.set_hidden(db.session, owner, entry, True)
    assert row.hidden and backpack.linked_to(db.session, row.portfolio_id) == {}
    assert [e.id for e in received.entries(db.session, owner, include_hidden=False)] == []
    backpack.unlink(db.session, owner, row, "skill", skill.id)
    with pytest.raises(NotFound):
        backpack.unlink(db.session, owner, row, "skill", skill.id)
    backpack.delete(db.session, owner, row)
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).select_from(VerificationVerdict)) == 0
    assert received.entries(db.session, owner) == []


def test_entries_of_the_section_include_external_badges_with_their_state(owner, elsewhere):
    from datetime import timedelta

    from tests.verify.credentials import NOW, stamp

    expired = elsewhere.signed(owner.email, name="Ancien", validUntil=stamp(NOW - timedelta(days=1)))
    [row] = _add(owner, elsewhere, json.dumps(expired).encode(), accept_unverified=True)
    owner_id, row_id = owner.id, row.id
    db.session.expunge_all()
    owner = db.session.get(type(owner), owner_id)
    [entry] = received.entries(db.session, owner)
    assert (entry.kind, entry.id, entry.state, entry.title) == ("external", row_id, "expired", "Ancien")
    assert entry.public_path == f"/backpack/{row_id}"
    # The list loads no badge bytes (they may be megabytes each); a download loads them when asked.
    loaded = sqlalchemy.inspect(entry.row).dict
    assert "image" not in loaded and "original" not in loaded
    assert json.loads(backpack.download(entry.row)[0]) == expired


def test_a_full_backpack_refuses_more(owner, elsewhere, monkeypatch):
    monkeypatch.setattr(backpack, "MAX_ENTRIES", 1)
    _add(owner, elsewhere, json.dumps(elsewhere.signed(owner.email)).encode())
    with pytest.raises(ServiceError) as refused:
        backpack.add(db.session, owner, json.dumps(elsewhere.signed(owner.email, name="B")).encode(),
                     fetch=elsewhere.web)
    assert refused.value.code == "backpack_full"


def test_erase_leaves_nothing_of_the_portfolios_badges(owner, elsewhere, make_user):
    other = make_user("other@example.org")
    [mine] = _add(owner, elsewhere, json.dumps(elsewhere.signed(owner.email)).encode())
    [theirs] = _add(other, elsewhere, json.dumps(elsewhere.signed(other.email)).encode())
    mine_id, theirs_id = mine.id, theirs.id
    assert backpack.erase(db.session, owner.portfolio.id) == 1
    db.session.commit()
    assert db.session.scalars(db.select(ExternalCredential.id)).all() == [theirs_id]
    assert db.session.scalars(db.select(VerificationVerdict.subject_id)).all() == [theirs_id] != [mine_id]


def test_the_demo_badge_verifies_offline_and_the_demo_stays_idempotent(app):
    from app import demo

    demo.load(db.session)
    db.session.commit()
    demo.load(db.session)
    db.session.commit()
    [row] = db.session.scalars(db.select(ExternalCredential)).all()
    assert row.achievement_name.startswith("Prévention et secours civiques") and row.image_type == "image/png"
    assert _verdict(row).status == "verified" and [link.item_kind for link in row.links] == ["skill"]


def test_the_owners_own_credential_issued_here_is_not_added_again(app, owner, make_user, monkeypatch):
    """A re-imported export carries the credentials awarded here: they are in the section already."""
    from app.attestations.public import local_fetch
    from app.services import awarding
    from tests.awarding_helpers import make_achievement, make_org

    issuer = make_user("issuer@univ.example")
    awarded = awarding.award(db.session, issuer, make_achievement(make_org(issuer)), owner.email).credential
    db.session.commit()
    fetch = local_fetch(db.session, json_fetcher())
    [found] = backpack.preview(db.session, owner, json.dumps(awarded.document).encode(), fetch=fetch)
    assert found.verified and found.issued_here.id == awarded.id and not found.is_new
    assert backpack.add(db.session, owner, candidates=[found]) == []
    # Someone else keeps it only by confirming (it names the owner), and it is marked as another's.
    other = make_user("other@example.org")
    with pytest.raises(backpack.NotTheRecipient):
        backpack.add(db.session, other, json.dumps(awarded.document).encode(), fetch=fetch)
    [kept] = backpack.add(db.session, other, json.dumps(awarded.document).encode(), fetch=fetch,
                          accept_unverified=True)
    assert kept.format == "ob3-di" and backpack.verdict(db.session, kept).status != "not_verified"
    assert kept.recipient == "someone_else"


def test_account_deletion_removes_the_badges_verdicts(owner, elsewhere, make_user):
    """``backpack.erase`` runs at account deletion (review 13, L7): no verdict row outlives its badge."""
    from app.services import accounts  # noqa: PLC0415
    from tests.conftest import PASSWORD  # noqa: PLC0415

    other = make_user("other@example.org")
    _add(owner, elsewhere, json.dumps(elsewhere.signed(owner.email)).encode())
    [theirs] = _add(other, elsewhere, json.dumps(elsewhere.signed(other.email)).encode())
    theirs_id = theirs.id
    accounts.delete_account(db.session, owner, PASSWORD)
    db.session.commit()
    assert db.session.scalars(db.select(VerificationVerdict.subject_id).where(
        VerificationVerdict.subject_kind == "external")).all() == [theirs_id]


@pytest.mark.parametrize("form", ["ob3", "ob2-url", "baked"])
def test_another_persons_badge_is_refused_unless_the_owner_confirms(owner, elsewhere, form):
    """Review 13, M1: a valid signature says who issued a badge, not who holds it. Alice's public badge
    (her OB 3.0 JSON, her hosted OB 2.0 assertion, her baked image) is refused in Mallory's backpack with
    ``recipient_not_you``; confirmed, it is kept and marked as issued to another person."""
    if form == "ob3":
        kwargs = {"payload": json.dumps(elsewhere.signed("alice@example.org")).encode()}
    elif form == "ob2-url":
        kwargs = {"url": elsewhere.ob2("alice@example.org")}
    else:
        kwargs = {"payload": bake(png(), elsewhere.signed("alice@example.org"))}
    with pytest.raises(backpack.NotVerified) as refused:
        _add(owner, elsewhere, **kwargs)
    assert refused.value.code == "recipient_not_you" and refused.value.status == 422
    db.session.rollback()
    assert db.session.scalars(db.select(ExternalCredential)).all() == []
    [row] = _add(owner, elsewhere, accept_unverified=True, **kwargs)
    assert row.recipient == "someone_else"


def test_the_owners_genuine_badges_are_accepted_as_theirs(owner, elsewhere):
    """Hashed (OB 3.0 and OB 2.0, salted, any case of the address) or naming no e-mail at all."""
    rows = _add(owner, elsewhere, json.dumps(elsewhere.signed(owner.email.upper())).encode())
    rows += _add(owner, elsewhere, url=elsewhere.ob2(owner.email))
    assert [r.recipient for r in rows] == ["you", "you"]
    [jwt] = _add(owner, elsewhere, elsewhere.jwt(owner.email))
    assert jwt.recipient == "you"
