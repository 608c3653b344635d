"""Bulk award, what made it faster and what it added (issue 7): status indexes reserved a whole
transaction at a time (random, free, on lists of at least 131,072 entries, a new list past the fill
limit), the rows of a transaction prepared once, the proof configuration canonicalized once per second
(and nothing wrong signed for it), the CSV name in the credential as a salted hashed IdentityObject,
never-confirmed previews swept by age, and one mail job per transaction. Real crypto, real database;
the figures are in tests/benchmarks/bench_bulk_award.py (not asserted here)."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import uuid
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from app import storage
from app.extensions import db
from app.models import User
from app.models.credentials import Credential, StatusEntry, StatusList
from app.policy import OPERATOR
from app.services import awarding, batches, bulk_awards, orgs, status_lists
from app.services.bulk_awards import BulkError
from badges.loader import document_loader
from badges.schema import check
from badges.verify import verify
from certs.canon import Memo
from certs.proofs import sign, verify as verify_proof
from certs.status import MIN_LENGTH
from tests.awarding_helpers import local_fetch, make_achievement, make_org


@pytest.fixture
def issuer(make_user):
    return make_user("issuer@univ.example", display_name="Issuer")


@pytest.fixture
def achievement(issuer):
    return make_achievement(make_org(issuer))


def run(issuer, achievement, text: str):
    batch = bulk_awards.start(db.session, issuer, achievement, bulk_awards.parse(io.BytesIO(text.encode())))
    db.session.commit()
    batches.run_batch_job(str(batch.id))
    db.session.expire_all()
    return db.session.get(type(batch), batch.id)


def documents(achievement) -> dict[str, dict]:
    rows = db.session.execute(select(Credential.recipient_email, Credential.document)
                              .where(Credential.achievement_id == achievement.id))
    return dict(rows.all())


# --- status indexes ------------------------------------------------------------------------------------

def test_drawn_indexes_are_random_free_and_counted_once_claimed(app, achievement):
    org = achievement.organisation
    credential = awarding.award(db.session, OPERATOR, achievement, "first@example.org")  # draw + claim
    entry = db.session.scalars(select(StatusEntry)
                               .where(StatusEntry.credential_id == credential.credential.id)).one()
    slots = status_lists.draw(db.session, org, "revocation", 300)
    indexes = [index for _list, index in slots]
    assert len(set(indexes)) == 300 and entry.list_index not in indexes
    status_list = slots[0][0]
    assert {s[0].id for s in slots} == {status_list.id} and status_list.length >= MIN_LENGTH >= 131_072
    assert all(0 <= index < status_list.length for index in indexes)
    assert max(indexes) - min(indexes) > status_list.length // 4  # drawn over the list, not in a run
    assert indexes != sorted(indexes)
    db.session.refresh(status_list)
    assert status_list.used == 1  # a draw reads only
    held = {status_list.id: set(indexes)}
    again = status_lists.draw(db.session, org, "revocation", 300, held=held)
    assert not {index for _list, index in again} & set(indexes)  # what is held is not drawn twice
    assert status_lists.claim(db.session, slots, [(None, f"urn:ref:{n}") for n in range(300)]) == [True] * 300
    db.session.refresh(status_list)
    assert status_list.used == 1 + 300
    # a slot already written (a concurrent writer's) is not written again, and not counted
    assert status_lists.claim(db.session, again[:2] + slots[:1], [(None, "a"), (None, "b"), (None, "c")]) == \
        [True, True, False]
    db.session.refresh(status_list)
    assert status_list.used == 1 + 300 + 2


def test_a_draw_past_the_fill_limit_opens_a_new_list(app, achievement):
    org = achievement.organisation
    status_lists.allocate(db.session, org, None, "revocation", credential_ref="urn:ref:first")
    full = db.session.scalars(select(StatusList)).one()
    full.used = full.length // status_lists.FILL_LIMIT - 5  # five places left before it closes
    db.session.flush()
    held = {full.id: {1, 2}}  # two of them drawn for rows not written yet
    slots = status_lists.draw(db.session, org, "revocation", 10, held=held)
    lists = [status_list for status_list, _index in slots]
    assert sum(1 for s in lists if s.id == full.id) == 3 and len({s.id for s in lists}) == 2
    fresh = next(s for s in lists if s.id != full.id)
    assert fresh.length >= 131_072 and fresh.used == 0
    status_lists.claim(db.session, slots, [(None, f"urn:ref:{n}") for n in range(10)])
    db.session.refresh(full)
    db.session.refresh(fresh)
    assert full.used == full.length // status_lists.FILL_LIMIT - 2 and fresh.used == 7


def test_a_bulk_award_gives_each_credential_its_own_entry_on_the_signed_index(app, issuer, achievement):
    rows = "".join(f"p{n}@example.org\n" for n in range(bulk_awards.PER_TRANSACTION + 7))  # two transactions
    batch = run(issuer, achievement, "email\n" + rows)
    total = bulk_awards.PER_TRANSACTION + 7
    assert (batch.status, batch.done_count, batch.failed_count) == ("done", total, 0)
    signed = {d["credentialStatus"]["statusListIndex"] for d in documents(achievement).values()}
    stored = db.session.execute(select(StatusEntry.list_index, Credential.document)
                                .join(Credential, Credential.id == StatusEntry.credential_id)).all()
    assert len(signed) == len(stored) == bulk_awards.PER_TRANSACTION + 7
    assert all(str(index) == document["credentialStatus"]["statusListIndex"] for index, document in stored)
    assert db.session.scalar(select(StatusList.used)) == len(stored)


# --- the rows of one transaction share their preparation -------------------------------------------------

def test_prepare_runs_once_per_transaction_and_its_context_reaches_every_item(app, monkeypatch):
    calls = []

    def prepare(session, batch, items):
        calls.append([item.position for item in items])
        return {"prepared": len(calls)}

    def handle(session, batch, item, context):
        if item.position == 4:
            raise batches.ItemFailed("bad_row", "this row is wrong")
        return {"context": context["prepared"]}

    handle.prepare, handle.per_transaction = prepare, 3
    batch = batches.create_batch(db.session, "test-prepare", [{"n": n} for n in range(7)], "prepare-test")
    db.session.commit()
    finished = batches.run_batch(batch.id, handle)
    assert calls == [[0, 1, 2], [3, 4, 5], [6]]
    assert (finished.done_count, finished.failed_count) == (6, 1)
    report = batches.report(db.session, finished)
    assert [r["result"] and r["result"]["context"] for r in report] == [1, 1, 1, 2, None, 2, 3]
    assert report[4]["error"]["code"] == "bad_row"


def test_a_refusal_found_while_preparing_fails_every_row_with_its_code(app, issuer, achievement, make_user):
    stranger = make_user("stranger@example.org")
    parsed = bulk_awards.parse(io.BytesIO(b"email\na@example.org\nb@example.org\n"))
    batch = bulk_awards.start(db.session, issuer, achievement, parsed)
    batch.params = {**batch.params, "actor": bulk_awards.actor_reference(stranger)}  # lost the right
    db.session.commit()
    batches.run_batch_job(str(batch.id))
    db.session.expire_all()
    assert {r["error"]["code"] for r in batches.report(db.session, batch)} == {"not_issuer"}
    assert db.session.scalar(select(func.count()).select_from(Credential)) == 0
    assert db.session.scalar(select(func.count()).select_from(StatusEntry)) == 0


# --- signing with the proof configuration memo ----------------------------------------------------------

def test_the_proof_configuration_memo_never_signs_a_wrong_proof(app, achievement):
    key = orgs.signing_key(db.session, achievement.organisation)
    memo, loader = Memo(), document_loader()
    base = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
            "issuer": key.controller, "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:subject"}}
    created = [datetime(2026, 1, 1, 0, 0, s, tzinfo=timezone.utc) for s in (0, 0, 1)]
    signed = [sign({**base, "id": f"urn:uuid:{uuid.uuid4()}"}, key, loader, created=moment, memo=memo)
              for moment in created]
    assert len(memo._entries) == 2  # one proof configuration per second
    for document in signed:
        assert verify_proof(document, loader, lambda _vm: key.public_key).verified
    plain = sign({**base, "id": signed[0]["id"]}, key, loader, created=created[0])
    assert plain["proof"]["proofValue"] == signed[0]["proof"]["proofValue"]  # Ed25519 is deterministic
    tampered = json.loads(json.dumps(signed[1]))
    tampered["proof"]["created"] = "2026-01-01T00:00:05Z"
    assert not verify_proof(tampered, loader, lambda _vm: key.public_key).verified


# --- the name column ------------------------------------------------------------------------------------

def test_the_csv_name_is_a_salted_hashed_identity_object_and_the_credential_stays_valid(app, issuer,
                                                                                          achievement):
    run(issuer, achievement, "email;nom\nnamed@example.org;Élodie  Bérard\nanonymous@example.org;\n")
    issued = documents(achievement)
    named, anonymous = issued["named@example.org"], issued["anonymous@example.org"]
    identities = named["credentialSubject"]["identifier"]
    assert [i["identityType"] for i in identities] == ["emailAddress", "name"]
    name = identities[1]
    assert name["hashed"] is True and name["type"] == "IdentityObject"
    expected = hashlib.sha256(("Élodie Bérard" + name["salt"]).encode()).hexdigest()
    assert name["identityHash"] == "sha256$" + expected
    assert "Élodie" not in json.dumps(named, ensure_ascii=False) and "Bérard" not in json.dumps(named)
    assert [i["identityType"] for i in anonymous["credentialSubject"]["identifier"]] == ["emailAddress"]
    assert check(named).errors == []  # the official OB 3.0 schema
    result = verify(named, fetch=local_fetch(app))
    assert result["verified"] is True, result["errors"]


def test_a_name_with_control_characters_is_refused_by_the_single_award(app, achievement):
    from app.services.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        awarding.award(db.session, OPERATOR, achievement, "x@example.org", recipient_name="A\x07B")


# --- previews never confirmed ----------------------------------------------------------------------------

def test_previews_older_than_the_limit_are_refused_and_swept(app, achievement):
    app.config["BULK_AWARD_PREVIEW_DAYS"] = 2
    old = bulk_awards.stash(achievement, io.BytesIO(b"email\nold@example.org\n"), today=date(2026, 3, 1))
    kept = bulk_awards.stash(achievement, io.BytesIO(b"email\nkept@example.org\n"), today=date(2026, 3, 3))
    assert old.startswith("20260301-") and kept.startswith("20260303-")
    with bulk_awards.unstash(achievement, old, today=date(2026, 3, 3)) as still_there:  # 2 days: still valid
        assert b"old@example.org" in still_there.read()
    with pytest.raises(BulkError) as refused:
        bulk_awards.unstash(achievement, old, today=date(2026, 3, 4))  # 3 days: too old
    assert refused.value.code == "upload_expired" and refused.value.status == 404
    assert bulk_awards.sweep_previews(date(2026, 3, 4)) == 1
    assert not storage.exists(bulk_awards._stash_key(achievement, old))
    assert storage.exists(bulk_awards._stash_key(achievement, kept))
    # the next preview sweeps the day that has just expired, without waiting for the daily job
    bulk_awards.stash(achievement, io.BytesIO(b"email\nnew@example.org\n"), today=date(2026, 3, 6))
    assert not storage.exists(bulk_awards._stash_key(achievement, kept))


@pytest.mark.parametrize("upload_id", ["0" * 64, "20261301-" + "0" * 64, "2026-01-01-" + "0" * 64, None, 7])
def test_malformed_upload_ids_are_refused(app, achievement, upload_id):
    with pytest.raises(BulkError) as refused:
        bulk_awards.unstash(achievement, upload_id)
    assert refused.value.code == "upload_expired"


# --- mails ----------------------------------------------------------------------------------------------

def test_a_mail_that_fails_is_retried_alone_and_the_others_go(app, issuer, achievement, monkeypatch):
    from app.credentials import bulk as pages
    from tests.test_auth import outbox

    real, failed = pages.emails.notify, []

    def flaky(awarded, rendered=None):
        if awarded.credential.recipient_email == "b@example.org" and not failed:
            failed.append(awarded.credential.id)
            raise ConnectionError("SMTP down")
        return real(awarded, rendered)

    monkeypatch.setattr(pages.emails, "notify", flaky)
    run(issuer, achievement, "email\na@example.org\nb@example.org\nc@example.org\n")
    assert failed
    assert sorted(m["To"] for m in outbox(app)) == ["a@example.org", "b@example.org", "c@example.org"]


def test_each_mail_template_is_rendered_once_per_language_and_gives_the_mail_rendered_alone(
        app, issuer, achievement, make_user, monkeypatch):
    from app.credentials import emails
    from tests.test_auth import outbox

    for address, locale in (("fr1@example.org", "fr"), ("fr2@example.org", "fr"), ("en1@example.org", "en"),
                            ("en2@example.org", "en")):
        user = make_user(address)
        user.locale = locale
    db.session.commit()
    renders = []
    real_render = emails._render
    monkeypatch.setattr(emails, "_render", lambda *args: renders.append((args[0], args[2])) or real_render(*args))
    run(issuer, achievement, "email\nfr1@example.org\nfr2@example.org\nen1@example.org\nen2@example.org\n"
                             "new1@example.org\nnew2@example.org\nnew3@example.org\n")
    # received in fr, received in en, claim in the default language: once each, for 7 mails
    assert sorted(renders) == [("en", "received"), ("fr", "claim"), ("fr", "received")]
    sent = {m["To"]: m for m in outbox(app)}
    assert len(sent) == 7
    monkeypatch.setattr(emails, "_render", real_render)
    for address, credential in ((c.recipient_email, c) for c in db.session.scalars(select(Credential))):
        body = sent[address].get_body(("plain",)).get_content()
        recipient = db.session.scalars(select(User).where(User.email == address)).first()
        claim = None
        if recipient is None:  # the claim link is only in the mail: take it from there
            claim = next(line for line in body.splitlines() if "/claim/" in line).rsplit("/claim/", 1)[1]
        context = {"achievement": achievement.name, "organisation": achievement.organisation.name,
                   "page": f"{app.config['BASE_URL']}/credentials/{credential.id}"}
        if claim:
            context.update(claim=f"{app.config['BASE_URL']}/claim/{claim}", expires_days=awarding.CLAIM_TTL.days)
        else:
            context.update(portfolio=f"{app.config['BASE_URL']}/portfolio/credentials")
        locale = recipient.locale if recipient else app.config.get("BABEL_DEFAULT_LOCALE", "fr")
        alone = emails._render(locale, sent[address]["Subject"], "claim" if claim else "received", context)[1]
        assert body.strip() == alone.strip() and f"/credentials/{credential.id}" in body
        assert "[[sillage-" not in body


def test_a_drawn_index_taken_by_a_concurrent_award_is_drawn_again_and_the_row_signed_again(
        app, issuer, achievement):
    """A single award may take a drawn index between the draw (before signing, outside the write
    transaction) and the row's write: the claim refuses the row's entry, and the row gets a fresh index
    and a fresh signature in the same transaction."""
    batch = bulk_awards.start(db.session, issuer, achievement,
                              bulk_awards.parse(io.BytesIO(b"email\nrow@example.org\n")))
    db.session.commit()
    items = db.session.scalars(select(batches.BatchItem).where(batches.BatchItem.batch_id == batch.id)).all()
    pipeline = bulk_awards.AwardPipeline(db.session, batch)
    try:
        ahead = pipeline.ahead(db.session, batch, items)
        status_list, stolen = ahead.slots[items[0].position]
        status_lists.claim(db.session, [(status_list, stolen)], [(None, "urn:ref:concurrent")])  # the other writer
        db.session.commit()
        [outcome] = pipeline.write(db.session, batch, items, ahead)
    finally:
        pipeline.close()
    credential = db.session.get(Credential, uuid.UUID(outcome["credential"]))
    index = int(credential.document["credentialStatus"]["statusListIndex"])
    assert index != stolen
    entry = db.session.scalars(select(StatusEntry).where(StatusEntry.credential_id == credential.id)).one()
    assert entry.list_index == index
    db.session.commit()  # the verifier reads the status list through the application
    assert verify(credential.document, fetch=local_fetch(app))["verified"] is True


# --- the signing processes ------------------------------------------------------------------------------

def _job(achievement, count=3):
    from badges.awards import key_material

    issuing = awarding.prepare_issuing(db.session, OPERATOR, achievement)
    rows = [awarding.award_values(achievement, f"p{n}@example.org", now=datetime(2026, 3, 1, tzinfo=timezone.utc),
                                  status=status_lists.status_entry("https://example.org/status/1", n, "revocation"))
            for n in range(count)]
    return issuing, {"issuer": issuing.issuer, "achieved": issuing.achieved, "key": key_material(issuing.key),
                     "rows": rows}


def test_a_signing_process_gives_the_consumer_s_bytes_and_a_dead_one_is_noticed(app, achievement):
    from badges.awards import SignerLost, SignerPool, sign_chunk

    issuing, job = _job(achievement)
    here = sign_chunk(job)
    pool = SignerPool(1)
    try:
        assert pool.submit(job).result() == here  # Ed25519 is deterministic: the same bytes
        assert all(ok for ok, _document in here)
        assert [document for _ok, document in here] == [issuing.sign(values) for values in job["rows"]]
        _issuing, long_job = _job(achievement, 200)
        pending = pool.submit(long_job)  # killed while it signs
        worker = pool._processes[0]
        worker.kill()
        worker.wait(5)
        with pytest.raises(SignerLost):
            pending.result()
        assert pool.submit(job).result() == here  # started again
        pool._processes[0].kill()
        pool._processes[0].wait(5)
        assert pool.submit(job).result() == here  # a dead idle one: signed here, then started again
        stale = pool.submit(job)
        pool.abandon()  # a run that stopped early: its unread answer must not be read as the next one's
        with pytest.raises(SignerLost):
            stale.result()
        assert pool.submit(job).result() == here
        processes = list(pool._processes)
    finally:
        pool.close()
    for process in processes:
        assert process.wait(5) == 0  # a worker ends when its stdin closes


def test_a_row_that_cannot_be_signed_fails_alone(app, issuer, achievement):
    _issuing, job = _job(achievement, 2)
    job["rows"][1] = dataclasses.replace(job["rows"][1], narrative="bad\x07text")  # refused by certs' checks
    from badges.awards import sign_chunk

    (ok, _document), (refused, reason) = sign_chunk(job)
    assert ok and not refused and isinstance(reason, str) and reason


def test_a_pipelined_transaction_that_fails_is_redone_row_by_row(app, issuer, achievement, monkeypatch):
    from app.services.bulk_awards import AwardPipeline
    from tests.test_auth import outbox

    calls = []

    def broken(self, session, batch, items, ahead):
        calls.append(len(items))
        session.execute(StatusList.__table__.update().values(used=StatusList.used + 1000))  # undone with it
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(AwardPipeline, "write", broken)
    rows = "".join(f"r{n}@example.org\n" for n in range(bulk_awards.PER_TRANSACTION + 3))
    batch = run(issuer, achievement, "email\n" + rows)
    assert calls == [bulk_awards.PER_TRANSACTION, 3]
    assert (batch.status, batch.done_count, batch.failed_count) == ("done", bulk_awards.PER_TRANSACTION + 3, 0)
    issued = documents(achievement)
    assert len(issued) == bulk_awards.PER_TRANSACTION + 3
    assert db.session.scalar(select(StatusList.used)) == len(issued)
    assert len(outbox(app)) == len(issued)  # one mail each, none twice
    sample = next(iter(issued.values()))
    assert verify(sample, fetch=local_fetch(app))["verified"] is True
