"""Activation codes after review 14 (L1, L3, L4, L12, L13 and the remainders): long codes typed any way,
guessing limited per IPv6 /64, per account and for the whole platform; join codes only for the invited
account; codes kept out of URLs sent to the server; letters that leave e-mailed codes alone; e-mailed
codes that verify the address; returning pupils invited, not re-enrolled; roster previews limited and
naming only the institution's own people; notices not sent twice when a batch retries row by row."""
from __future__ import annotations

import io
import logging
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent
from app.models.institutions import ActivationCode, Enrolment, Group
from app.services import institutions, rosters
from app.services.errors import ServiceError
from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_api_orgs import personal
from tests.test_institutions import HEADER, run_import, school

PASSPHRASE = "a long enough passphrase 42"
CODE = re.compile(r"([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})")


@pytest.fixture()
def outbox(monkeypatch):
    """The messages sent, as (recipient, body), in order."""
    sent = []
    monkeypatch.setattr("app.mail.send_mail", lambda to, subject, body, html=None: sent.append((to, body)))
    return sent


def enrol(make_user, rows="Martin;Léo;12/03/2012;5e B;;;\n"):
    org, head = school(make_user)
    run_import(head, org, HEADER + rows)
    return org, head


def pupil(name="Léo") -> Enrolment:
    return db.session.scalars(select(Enrolment).where(Enrolment.given_name == name)).one()


def post_code(client, code, address, **extra):
    page = client.get("/activate", environ_base={"REMOTE_ADDR": address})
    return client.post("/activate", environ_base={"REMOTE_ADDR": address}, data={
        "csrf_token": csrf_token(page), "code": code, "email": "leo@example.org", "password": PASSPHRASE, **extra})


# --- L1: the code itself ------------------------------------------------------------------------------

def test_codes_have_twelve_characters_printed_in_groups_and_typed_any_way(app, make_user):
    enrol(make_user)
    code = institutions.new_code(db.session, pupil())
    db.session.commit()
    assert len(code) == 12 and set(code) <= set(institutions.ALPHABET)
    printed = institutions.format_code(code)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", printed)
    typed = " ".join(printed.lower().split("-"))  # lower case, spaces instead of dashes
    assert institutions.find_code(db.session, typed).enrolment_id == pupil().id
    # One character short or long is not a code.
    for raw in (code[:-1], code + "A"):
        with pytest.raises(ServiceError):
            institutions.find_code(db.session, raw)


def test_a_code_of_the_old_length_still_works_until_it_expires(app, make_user):
    enrol(make_user)
    old = "ABCDEFGHJK"
    institutions.new_code(db.session, pupil(), code=old)
    db.session.commit()
    assert institutions.format_code(old) == "ABCDE-FGHJK"
    assert institutions.find_code(db.session, "abcde-fghjk").enrolment_id == pupil().id


# --- L1: the budgets ------------------------------------------------------------------------------------

def test_addresses_of_one_ipv6_64_share_one_budget(client, make_user):
    enrol(make_user)
    # Ten addresses of the same /64, one guess each: the eleventh is refused, whatever its address.
    statuses = [post_code(client, "AAAA-BBBB-CCCC", f"2001:db8:1:2::{i:x}").status_code for i in range(1, 12)]
    assert statuses[:10] == [400] * 10 and statuses[10] == 429
    assert post_code(client, "AAAA-BBBB-CCCC", "2001:db8:1:2:ffff:ffff:ffff:ffff").status_code == 429
    # Another /64 has its own budget; so has an IPv4 address.
    assert post_code(client, "AAAA-BBBB-CCCC", "2001:db8:1:3::1").status_code == 400
    assert post_code(client, "AAAA-BBBB-CCCC", "192.0.2.7").status_code == 400


def test_the_platforms_budget_of_failed_codes_refuses_every_code_and_alerts_once(client, app, make_user,
                                                                                  caplog):
    enrol(make_user)
    code = institutions.new_code(db.session, pupil())
    db.session.commit()
    app.config["RATE_LIMIT_CODES_TOTAL"] = "3/hour"
    for i in range(3):  # three wrong codes from three different networks
        assert post_code(client, "AAAA-BBBB-CCCC", f"2001:db8:{i}::1").status_code == 400
    with caplog.at_level(logging.WARNING, logger="app.institutions.guard"):
        refused = post_code(client, "AAAA-BBBB-CCCC", "2001:db8:9::1")
        right = post_code(client, code, "198.51.100.1")  # even the right code waits for the window's end
    assert refused.status_code == 429 and "Trop de codes d’activation erronés".encode() in refused.data
    assert right.status_code == 429 and pupil().user_id is None
    assert len([r for r in caplog.records if "budget of failed codes" in r.getMessage()]) == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "activation.guessing")) == 1


def test_join_failures_are_counted_per_account(client, app, make_user):
    enrol(make_user)
    guesser = make_user("guesser@example.org")
    headers = personal(guesser)
    app.config["RATE_LIMIT_CODES_ACCOUNT"] = "2/hour"
    statuses = [client.post("/api/v1/me/institutions/join", headers=headers, json={"code": "AAAA-BBBB-CCCC"},
                            environ_base={"REMOTE_ADDR": f"2001:db8:{i}::1"}).status_code for i in range(3)]
    assert statuses == [400, 400, 429]
    refused = client.post("/api/v1/me/institutions/join", headers=headers, json={"code": "AAAA-BBBB-CCCC"},
                          environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert refused.status_code == 429 and refused.json["error"] == "too_many_codes"
    # Another account is not held back by this one's failures.
    other = personal(make_user("other@example.org"))
    assert client.post("/api/v1/me/institutions/join", headers=other, json={"code": "AAAA-BBBB-CCCC"},
                       environ_base={"REMOTE_ADDR": "192.0.2.10"}).status_code == 400


# --- L3: join codes -------------------------------------------------------------------------------------

def test_a_join_code_is_for_the_invited_signed_in_account_only(app, make_user):
    invited = make_user("leo@example.org")
    enrol(make_user, "Martin;Léo;12/03/2012;5e B;leo@example.org;;\n")
    enrolment = pupil()
    assert enrolment.invited_user_id == invited.id
    code = institutions.new_code(db.session, enrolment, purpose=institutions.JOIN)
    db.session.commit()
    with pytest.raises(ServiceError) as caught:  # a new anonymous account from the invitation
        institutions.activate(db.session, code, email="someone@example.org", password=PASSPHRASE)
    assert caught.value.code == "join_code"
    db.session.rollback()
    with pytest.raises(ServiceError) as caught:  # another signed-in account
        institutions.join(db.session, make_user("intruder@example.org"), code)
    assert caught.value.code == "join_code_other_account" and caught.value.status == 403
    db.session.rollback()
    assert pupil().user_id is None and pupil().invited_user_id == invited.id
    institutions.join(db.session, invited, code)
    db.session.commit()
    assert pupil().user_id == invited.id


# --- L4: codes out of URLs ------------------------------------------------------------------------------

def test_links_carry_the_code_in_the_fragment(app, make_user, outbox, monkeypatch):
    enrol(make_user, "Petit;Zoé;01/02/2012;5e B;zoe@example.org;;\n")
    assert institutions.send_codes_by_mail(db.session, pupil("Zoé").organisation,
                                           base_url="https://sillage.example") == 1
    (_to, body), = outbox
    code = CODE.search(body).group(1).replace("-", "")
    assert f"https://sillage.example/activate#code={code}" in body and "?code=" not in body
    # The letter's QR code encodes the same kind of link.
    from cv_templates import pdf
    if not pdf.available():
        pytest.skip(f"WeasyPrint unavailable: {pdf.unavailable_reason()}")
    import segno
    encoded, make = [], segno.make
    monkeypatch.setattr(segno, "make", lambda content, **kw: encoded.append(content) or make(content, **kw))
    group = db.session.scalars(select(Group)).one()
    institutions.letters(db.session, group.organisation, group, base_url="https://sillage.example")
    assert len(encoded) == 1 and re.fullmatch(r"https://sillage\.example/activate#code=[A-Z2-9]{12}", encoded[0])


def test_an_old_letters_query_code_is_accepted_but_never_referred_or_logged(client, make_user):
    from app.cli import ACCESS_LOG_FORMAT

    enrol(make_user)
    code = institutions.new_code(db.session, pupil())
    db.session.commit()
    page = client.get(f"/activate?code={code}")
    assert page.status_code == 200 and code.encode() in page.data
    assert page.headers["Referrer-Policy"] == "no-referrer" and "no-store" in page.headers["Cache-Control"]
    assert b"activate.js" in page.data  # the script that reads the fragment
    # gunicorn's access log gets the path, never the request line or the query string, nor the referrer.
    assert "%(U)s" in ACCESS_LOG_FORMAT and not re.search(r"%\((r|q|f)\)s", ACCESS_LOG_FORMAT)


# --- remainders: letters and e-mails, verified addresses ---------------------------------------------

def test_printing_letters_keeps_the_emailed_code_and_either_spends_both(app, make_user, outbox):
    from cv_templates import pdf
    if not pdf.available():
        pytest.skip(f"WeasyPrint unavailable: {pdf.unavailable_reason()}")
    org, _head = enrol(make_user, "Petit;Zoé;01/02/2012;5e B;zoe@example.org;;\n")
    institutions.send_codes_by_mail(db.session, org, base_url="https://sillage.example")
    mailed = CODE.search(outbox[0][1]).group(1)
    group = db.session.scalars(select(Group)).one()
    institutions.letters(db.session, org, group, base_url="https://sillage.example")
    letter, = db.session.scalars(select(ActivationCode).where(ActivationCode.used_at.is_(None),
                                                              ActivationCode.mailed_to.is_(None))).all()
    assert institutions.find_code(db.session, mailed).mailed_to == "zoe@example.org"  # still valid
    institutions.letters(db.session, org, group, base_url="https://sillage.example")  # a reprint
    db.session.expire_all()
    assert db.session.get(ActivationCode, letter.id).used_at is not None  # voids the lost letter only
    assert institutions.find_code(db.session, mailed)
    user = institutions.activate(db.session, mailed, email="zoe@example.org", password=PASSPHRASE)
    db.session.commit()
    assert user.email_verified_at is not None  # the code came to this address
    assert not db.session.scalars(select(ActivationCode).where(ActivationCode.used_at.is_(None))).all()


@pytest.mark.parametrize("channel, address, verified", [
    ("mail", "zoe@example.org", True), ("mail", "Zoe.Other@example.org", False), ("letter", "zoe@example.org", False)])
def test_only_an_emailed_code_used_at_its_address_verifies_it(app, make_user, outbox, channel, address, verified):
    org, _head = enrol(make_user, "Petit;Zoé;01/02/2012;5e B;zoe@example.org;;\n")
    if channel == "mail":
        institutions.send_codes_by_mail(db.session, org, base_url="https://sillage.example")
        code = CODE.search(outbox[0][1]).group(1)
    else:
        code = institutions.new_code(db.session, pupil("Zoé"))
        db.session.commit()
    user = institutions.activate(db.session, code, email=address, password=PASSPHRASE)
    db.session.commit()
    assert (user.email_verified_at is not None) is verified


# --- L12 and L13: rosters -------------------------------------------------------------------------------

def test_a_returning_pupil_with_an_account_is_invited_not_reenrolled(app, make_user, outbox):
    org, head = enrol(make_user, "Petit;Zoé;01/02/2012;5e B;zoe@example.org;;\n")
    code = institutions.new_code(db.session, pupil("Zoé"))
    db.session.commit()
    zoe = institutions.activate(db.session, code, email="zoe@example.org", password=PASSPHRASE)
    db.session.commit()
    run_import(head, org, HEADER + "Martin;Léo;12/03/2012;5e B;;;\n")  # Zoé left
    assert pupil("Zoé").ended_at is not None and pupil("Zoé").user_id == zoe.id
    back = HEADER + "Martin;Léo;12/03/2012;5e B;;;\nPetit;Zoé;01/02/2012;5e B;zoe@example.org;;\n"
    preview = rosters.preview(db.session, head, org, back.encode())
    assert [r["action"] for r in preview["rows"]] == ["keep", "invite"]
    outbox.clear()
    batch = run_import(head, org, back)
    rosters.run_mails(db.session, batch)
    db.session.expire_all()
    enrolment = pupil("Zoé")
    assert enrolment.ended_at is None and enrolment.user_id is None and enrolment.invited_user_id == zoe.id
    assert enrolment.status == "invited"
    # The invitation (a join code) went to her account's address; she joins only by using it.
    (to, body), = [m for m in outbox if m[0] == "zoe@example.org"]
    join_code = CODE.search(body).group(1)
    assert institutions.find_code(db.session, join_code).purpose == institutions.JOIN
    institutions.join(db.session, zoe, join_code)
    db.session.commit()
    assert pupil("Zoé").user_id == zoe.id


def test_the_preview_names_accounts_only_of_the_institutions_people(app, make_user):
    org, head = enrol(make_user, "Petit;Zoé;01/02/2012;5e B;zoe@example.org;;\n")
    code = institutions.new_code(db.session, pupil("Zoé"))
    db.session.commit()
    institutions.activate(db.session, code, email="zoe@example.org", password=PASSPHRASE)
    db.session.commit()
    make_user("stranger@example.org")
    text = (HEADER + "Petit;Zoé;01/02/2012;5e B;zoe@example.org;;\n"
            "Autre;Sam;01/01/2012;5e B;stranger@example.org;;\nNeuf;Max;01/01/2012;5e B;max@example.org;;\n")
    preview = rosters.preview(db.session, head, org, text.encode())
    rows = {r["given_name"]: r for r in preview["rows"]}
    assert rows["Zoé"]["existing_account"] and rows["Zoé"]["action"] == "keep"
    # Sam's address has an account, Max's has not: the rows read the same; only the count tells.
    assert [rows[n]["action"] for n in ("Sam", "Max")] == ["add", "add"]
    assert not rows["Sam"]["existing_account"] and not rows["Max"]["existing_account"]
    assert preview["counts"]["invite"] == 1 and preview["counts"]["add"] == 1


def test_roster_previews_are_limited_per_head_on_the_page_and_the_api_together(client, app, make_user):
    org, head = school(make_user)
    app.config["RATE_LIMIT_ROSTER_PREVIEW"] = "2/hour"
    roster = (HEADER + "Martin;Léo;12/03/2012;5e B;;;\n").encode()
    login(client, head.email)
    page = client.get(f"/institutions/{org.id}")
    first = client.post(f"/institutions/{org.id}/roster", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "file": (io.BytesIO(roster), "r.csv")})
    assert first.status_code == 200
    api = client.post(f"/api/v1/orgs/{org.id}/roster", headers=personal(head), content_type="multipart/form-data",
                      data={"file": (io.BytesIO(roster), "r.csv"), "dry_run": "1"},
                      environ_base={"REMOTE_ADDR": "192.0.2.50"})
    assert api.status_code == 200
    again = client.post(f"/institutions/{org.id}/roster", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "file": (io.BytesIO(roster), "r.csv")})
    assert again.status_code == 429
    api = client.post(f"/api/v1/orgs/{org.id}/roster", headers=personal(head), content_type="multipart/form-data",
                      data={"file": (io.BytesIO(roster), "r.csv"), "dry_run": "1"})
    assert api.status_code == 429
    # Another head has their own budget.
    org_b, head_b = school(make_user, "Lycée B")
    assert client.post(f"/api/v1/orgs/{org_b.id}/roster", headers=personal(head_b),
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(roster), "r.csv"), "dry_run": "1"}).status_code == 200


# --- remainders: notices once ----------------------------------------------------------------------------

def test_a_batch_retried_row_by_row_sends_each_notice_once(app, make_user, outbox, monkeypatch):
    org, head = enrol(make_user, "Petit;Zoé;01/02/2012;5e B;;;\nMartin;Léo;12/03/2012;5e B;;;\n")
    code = institutions.new_code(db.session, pupil("Zoé"))
    db.session.commit()
    institutions.activate(db.session, code, email="zoe@example.org", password=PASSPHRASE)
    db.session.commit()
    # The import's bulk write fails after its rows ran (Zoé's affiliation ended, her notice queued): the
    # batch redoes the rows one by one.
    written = rosters._Pipeline.write

    def failing(self, session, batch, items, ahead):
        written(self, session, batch, items, ahead)
        raise RuntimeError("the bulk write failed")
    monkeypatch.setattr(rosters._Pipeline, "write", failing)
    # ... and the e-mail batch's write fails after its messages left.
    monkeypatch.setattr(rosters._Mailer, "write", lambda *args: 1 / 0)
    text = HEADER + "Martin;Léo;12/03/2012;5e B;;;\nNeuf;Max;01/01/2012;5e B;max@example.org;;\n"
    batch = run_import(head, org, text)
    assert batch.status == "done" and batch.failed_count == 0
    assert [to for to, _body in outbox] == ["zoe@example.org"]  # her notice, once
    assert "Lycée Exemple" in outbox[0][1]
    rosters.run_mails(db.session, batch)
    assert [to for to, _body in outbox].count("max@example.org") == 1  # one message, not two
    mailed = CODE.search(outbox[-1][1]).group(1)
    assert institutions.find_code(db.session, mailed).enrolment.given_name == "Max"  # and its code works


def test_a_rolled_back_transaction_sends_no_notice(app, make_user, outbox):
    org, head = enrol(make_user)
    code = institutions.new_code(db.session, pupil())
    db.session.commit()
    institutions.activate(db.session, code, email="leo@example.org", password=PASSPHRASE)
    db.session.commit()
    institutions.end_enrolment(db.session, pupil(), "test")
    db.session.rollback()
    assert outbox == [] and pupil().ended_at is None
    institutions.end_enrolment(db.session, pupil(), "test")
    assert outbox == []  # not before the commit
    db.session.commit()
    assert [to for to, _body in outbox] == ["leo@example.org"]


@pytest.mark.parametrize("address, key", [
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"), ("192.0.2.7", "192.0.2.7"),
    ("::ffff:192.0.2.7", "192.0.2.7"), ("not an address", "not an address")])
def test_the_limiters_key_is_the_64_or_the_ipv4_address(app, address, key):
    from app.institutions.guard import address_key

    with app.test_request_context("/activate", environ_base={"REMOTE_ADDR": address}):
        assert address_key() == key
