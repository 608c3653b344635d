"""Rosters (round 14): names matched folded in the import as in the preview, the INE-BEA check letter, the
bulk transaction giving what the rows one by one give, and activation e-mails that survive a crash
between the import and the messages (sent again with a new code, never lost, never a stored code that no
message carries)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models.institutions import ActivationCode, Enrolment
from app.models.jobs import Batch
from app.services import batches, institutions, rosters
from app.services.errors import ServiceError
from tests.test_institutions import HEADER, run_import, school


@pytest.fixture()
def outbox(monkeypatch):
    """The messages sent, as (recipient, body), in order."""
    sent = []
    monkeypatch.setattr("app.mail.send_mail", lambda to, subject, body, html=None: sent.append((to, body)))
    return sent


def codes_in(outbox, to):
    return [re.search(r"([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})", body).group(1) for recipient, body in outbox if recipient == to]


def test_accent_and_case_only_differences_find_the_same_pupil(app, make_user):
    org, head = school(make_user)
    run_import(head, org, HEADER + "Lefèvre;Élodie;03/05/2011;5e B;;;\nMartin;Léo;12/03/2012;5e B;;;\n")
    again = HEADER + "LEFEVRE;elodie;03/05/2011;4e A;;;\nMartin;Léo;13/03/2012;5e B;;;\n"
    preview = rosters.preview(db.session, head, org, again.encode())
    # Élodie is the same pupil (moved); Léo with another birth date is another pupil (added), and the first
    # Léo, no longer listed, ends.
    assert [r["action"] for r in preview["rows"]] == ["move", "add"] and preview["counts"]["end"] == 1
    batch = run_import(head, org, again)
    assert rosters.summary(db.session, batch)["actions"] == {"move": 1, "add": 1, "end": 1}
    elodie = db.session.scalars(select(Enrolment).where(Enrolment.birth_date == rosters._date("03/05/2011"))).all()
    assert len(elodie) == 1 and elodie[0].group.name == "4e A" and elodie[0].family_name == "LEFEVRE"
    assert db.session.scalar(select(db.func.count()).select_from(Enrolment)) == 3


def test_ine_bea_check_letter_is_verified():
    assert rosters.bea_letter("0000000000") == "A" and rosters.bea_letter("0000000022") == "Z"
    assert rosters.bea_letter("0000000008") == "J"  # I is skipped (as O and Q are)
    assert rosters.valid_ine("1234567890V") and not rosters.valid_ine("1234567890A")
    assert not rosters.valid_ine("1234567890I") and not rosters.valid_ine("123456789V")
    # INE-RNIE and apprentice INE: structure only (no published check algorithm found).
    assert rosters.valid_ine("123456789AB") and rosters.valid_ine("1234A12345B")
    assert not rosters.valid_ine("12345678ABC")


def test_wrong_ine_check_letter_refuses_the_import(app, make_user):
    org, head = school(make_user)
    text = HEADER + "Martin;Léo;12/03/2012;5e B;;1234567890A;\nPetit;Zoé;01/02/2012;5e B;;0123456789M;\n"
    preview = rosters.preview(db.session, head, org, text.encode())
    assert [bool(r["errors"]) for r in preview["rows"]] == [True, False]
    with pytest.raises(ServiceError) as refused:
        rosters.start_import(db.session, head, org, text.encode())
    assert refused.value.code == "roster_errors"
    assert db.session.scalar(select(db.func.count()).select_from(Enrolment)) == 0


def test_bulk_transaction_gives_what_the_rows_one_by_one_give(app, make_user, monkeypatch):
    """Rows in one transaction see each other (a group created by the first is reused; a pupil listed
    twice under weaker keys is matched once), and the fallback (rows one by one) gives the same."""
    text = (HEADER + "".join(f"Nom{i};Prénom{i};01/01/2010;{'5e B' if i % 2 else '5e C'};;;\n" for i in range(7))
            + "Petit;Zoé;01/02/2012;5e B;zoe@example.org;;\n")
    outcomes = []
    for bulk in (True, False):
        org, head = school(make_user, name=f"Lycée {bulk}")
        if not bulk:
            def broken(self, session, batch, items, ahead):
                raise RuntimeError("bulk write failed")
            monkeypatch.setattr(rosters._Pipeline, "write", broken)
        first = run_import(head, org, text)
        second = run_import(head, org, text.replace("5e C", "4e A").replace("Prénom3", "PRENOM3"))
        outcomes.append((rosters.summary(db.session, first)["actions"], rosters.summary(db.session, second)["actions"],
                         sorted((e.family_name, e.given_name, e.group.name) for e in db.session.scalars(
                             select(Enrolment).where(Enrolment.organisation_id == org.id)))))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == {"add": 8} and outcomes[0][1] == {"move": 4, "keep": 4}


def test_activation_mails_survive_a_crash_between_the_import_and_the_messages(app, make_user, outbox):
    org, head = school(make_user)
    known = make_user("ines@example.org")
    text = (HEADER + "Petit;Zoé;01/02/2012;5e B;zoe@example.org;;\nMartin;Léo;12/03/2012;5e B;;;\n"
            "Durand;Inès;05/06/2009;5e B;ines@example.org;;\n")
    roster = run_import(head, org, text)  # the import alone: the process "dies" before any message
    mails = rosters.mail_batch(db.session, roster)
    assert mails is not None and mails.status == "pending" and mails.total == 2  # queued with the import
    assert outbox == []

    # A consumer sends the first transaction's messages, then dies before storing their codes.
    assert batches.run_batch(mails.id, should_stop=lambda: True) is None
    assert len(outbox) == 2 and not db.session.scalars(select(ActivationCode)).all()

    # The sweep resumes the unfinished batch: new messages whose codes are stored; the first ones' codes
    # never existed.
    assert batches.resume_unfinished(db.session) >= 1
    db.session.expire_all()
    assert db.session.get(Batch, mails.id).status == "done"
    first, second = codes_in(outbox, "zoe@example.org")
    with pytest.raises(ServiceError):
        institutions.find_code(db.session, first)
    assert institutions.find_code(db.session, second).purpose == institutions.ACTIVATE
    joined = codes_in(outbox, known.email)
    assert len(joined) == 2 and institutions.find_code(db.session, joined[1]).purpose == institutions.JOIN
    assert codes_in(outbox, "nobody") == [] and len(outbox) == 4  # Léo has no address: his code is a letter

    # Nothing is sent twice afterwards: running the job, or importing the same file, sends nothing.
    assert rosters.run_mails(db.session, roster) == 0
    rosters.run_roster_job(str(roster.id))
    assert len(outbox) == 4


def test_roster_job_sends_each_message_once(app, make_user, outbox):
    org, head = school(make_user)
    batch = rosters.start_import(db.session, head, org, (HEADER + "Petit;Zoé;01/02/2012;5e B;zoe@example.org;;\n")
                                 .encode())
    db.session.commit()
    rosters.run_roster_job(str(batch.id))
    rosters.run_roster_job(str(batch.id))
    assert [to for to, _ in outbox] == ["zoe@example.org"]
    assert rosters.summary(db.session, db.session.get(Batch, batch.id))["mails"] == 1
    # A pupil who already has a usable code (a letter, say) is not written to by a later import.
    code = codes_in(outbox, "zoe@example.org")[0]
    assert institutions.find_code(db.session, code).enrolment.given_name == "Zoé"


def test_letters_carry_the_code_its_qr_and_the_expiry(app, make_user):
    from cv_templates import pdf
    if not pdf.available():
        pytest.skip(f"WeasyPrint unavailable: {pdf.unavailable_reason()}")
    org, head = school(make_user)
    run_import(head, org, HEADER + "Petit;Zoé;01/02/2012;5e B;;;\nMartin;Léo;12/03/2012;5e B;;;\n")
    group = db.session.scalars(select(institutions.Group)).one()
    data, count = institutions.letters(db.session, org, group, base_url="https://sillage.example")
    text = pdf.text_of(data)
    codes = re.findall(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", text)
    expiry = (utcnow().date() + timedelta(days=institutions.CODE_DAYS)).strftime("%d/%m/%Y")
    assert count == 2 and len(codes) == 2 and text.count(expiry) == 2
    for code in codes:
        assert institutions.find_code(db.session, code).enrolment.group_id == group.id
    # The QR codes, as images enlarged without smoothing (one pixel per module would blur otherwise).
    assert data.count(b"/Subtype /Image") >= 2 and data.count(b"/Interpolate false") >= 2
    # Printing again issues new codes: the earlier letters stop working.
    institutions.letters(db.session, org, group, base_url="https://sillage.example")
    with pytest.raises(ServiceError):
        institutions.find_code(db.session, codes[0])


def test_an_import_stopped_between_transactions_resumes_without_redoing_any_row(app, make_user):
    org, head = school(make_user)
    text = HEADER + "".join(f"Nom{i};Prénom{i};01/01/2010;Classe {i // 35};;;\n" for i in range(250))
    batch = rosters.start_import(db.session, head, org, text.encode())
    db.session.commit()
    calls = iter([False, True])  # the first transaction (200 rows) commits, then the consumer stops
    assert batches.run_batch(batch.id, should_stop=lambda: next(calls, True)) is None
    assert db.session.scalar(select(db.func.count()).select_from(Enrolment)) == 200
    finished = batches.run_batch(batch.id)
    assert finished.status == "done" and finished.done_count == finished.total == 251 and finished.failed_count == 0
    assert rosters.summary(db.session, finished)["actions"] == {"add": 250}
    assert db.session.scalar(select(db.func.count()).select_from(Enrolment)) == 250
    assert db.session.scalar(select(db.func.count()).select_from(institutions.Group)) == 8
