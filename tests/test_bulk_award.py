"""Bulk awards from CSV (issue 7): the parser's refusals (encodings, columns, bad and duplicate rows, the
row cap), the pages (upload → preview with nothing issued → confirm → progress and report), the API, and
the access rules (another organisation's issuer, an unapproved organisation). Real crypto, real database;
jobs run immediately (the killed-consumer test is tests/test_bulk_award_worker.py)."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Batch
from app.models.credentials import Credential
from app.policy import OPERATOR
from app.services import bulk_awards, orgs, tokens
from app.services.bulk_awards import BulkError
from badges.verify import verify
from tests.awarding_helpers import local_fetch, make_achievement, make_org
from tests.conftest import login
from tests.helpers import csrf_token


@pytest.fixture
def issuer(make_user):
    return make_user("issuer@univ.example", display_name="Issuer")


@pytest.fixture
def org(issuer):
    return make_org(issuer)


@pytest.fixture
def achievement(org):
    return make_achievement(org)


def unapproved_achievement(admin):
    """An achievement of an organisation that is no longer approved (achievements need an approved one
    to be created, so the approval is withdrawn afterwards, as a platform admin would)."""
    pending = make_org(admin, name="Plus approuvée")
    achievement = make_achievement(pending)
    pending.status = "refused"
    db.session.commit()
    return pending, achievement


def parse(data: bytes):
    return bulk_awards.parse(io.BytesIO(data))


def credentials_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Credential))


# --- the parser -------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding,bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b"")])
def test_encodings_separators_and_french_headers_give_the_same_rows(app, encoding, bom):
    text = "Courriel;Nom;Récit;Preuve\r\nélodie@example.org;Élodie Bérard;Très bien;https://ex.org/é\r\n"
    parsed = parse(bom + text.encode(encoding))
    assert parsed.rows == [{"email": "élodie@example.org", "name": "Élodie Bérard", "narrative": "Très bien",
                            "evidence": "https://ex.org/é"}]
    assert parsed.delimiter == ";" and parsed.encoding == ("Windows-1252" if encoding == "cp1252" else "UTF-8")
    english = parse("email,name,narrative,evidence_url\nÉlodie@Example.org,Élodie Bérard,Très bien,"
                    "https://ex.org/é\n".encode())
    assert english.rows == parsed.rows and english.digest == parsed.digest  # same list, same batch key


def test_each_bad_row_is_reported_with_its_line_and_the_rest_kept(app):
    long_name = "x" * 201
    data = ("email;nom;preuve;autre\n"
            "ok@example.org;Ok;;ignored\n"
            "not-an-email;Bad;;\n"
            ";Nobody;;\n"
            "\n"
            "OK@example.org;Twice;;\n"
            f"long@example.org;{long_name};;\n"
            "ev@example.org;Ev;ftp://nope;\n"
            "ctl@example.org;A\x01B;;\n"
            "extra@example.org;E;;x;too many\n").encode()
    parsed = parse(data)
    assert [r["email"] for r in parsed.rows] == ["ok@example.org"]
    assert parsed.ignored_columns == ["autre"] and parsed.total == 8
    codes = {e.line: [x["code"] for x in e.errors] for e in parsed.errors}
    assert codes == {3: ["invalid_email"], 4: ["missing_value"], 6: ["duplicate_row"], 7: ["too_long"],
                     8: ["invalid_evidence"], 9: ["invalid_text"], 10: ["too_many_values"]}
    duplicate = next(e for e in parsed.errors if e.line == 6)
    assert "2" in duplicate.errors[0]["message"]  # names the first occurrence


@pytest.mark.parametrize("data,code", [
    (b"name;narrative\nA;B\n", "missing_column"),
    (b"", "empty_file"),
    (b"email\n\n\n", "empty_file"),
    (b"email;courriel\na@example.org;b@example.org\n", "duplicate_column"),
    ("email\nà@example.org\n".encode("utf-16"), "bad_encoding"),
    (b"email\n\x81\x8d@example.org\n", "bad_encoding"),  # bytes that Windows-1252 does not define
])
def test_unusable_files_are_refused_as_a_whole(app, data, code):
    with pytest.raises(BulkError) as refused:
        parse(data)
    assert refused.value.code == code and refused.value.message


def test_beyond_the_row_cap_the_whole_file_is_refused(app):
    app.config["BULK_AWARD_MAX_ROWS"] = 10_000
    rows = "".join(f"p{n}@example.org\n" for n in range(10_000))
    assert len(parse(("email\n" + rows).encode()).rows) == 10_000  # 10,000 rows: fine
    with pytest.raises(BulkError) as refused:
        parse(("email\n" + rows + "one.more@example.org\n").encode())
    assert refused.value.code == "too_many_rows" and re.search(r"10\D?000", refused.value.message)


def test_a_file_too_large_is_refused_while_it_streams(app):
    app.config["BULK_AWARD_MAX_BYTES"] = 1024
    with pytest.raises(BulkError) as refused:
        bulk_awards.spool(iter([b"x" * 1000, b"y" * 1000, b"never read"]))
    assert refused.value.code == "file_too_large" and refused.value.status == 413


# --- the service and its refusals --------------------------------------------------------------------

def test_start_refuses_another_organisations_issuer_and_an_unapproved_organisation(app, make_user, achievement):
    parsed = parse(b"email\na@example.org\n")
    outsider = make_user("outsider@other.example")
    make_org(outsider, name="Autre école")
    with pytest.raises(Exception) as refused:
        bulk_awards.start(db.session, outsider, achievement, parsed)
    assert refused.value.code == "not_issuer"
    pending_admin = make_user("pending@new.example")
    _pending, unapproved = unapproved_achievement(pending_admin)
    with pytest.raises(Exception) as refused:
        bulk_awards.start(db.session, pending_admin, unapproved, parsed)
    assert refused.value.code == "organisation_not_approved"
    assert db.session.scalar(select(func.count()).select_from(Batch)) == 0


def test_same_list_twice_is_one_batch_and_a_corrected_list_issues_only_new_rows(app, issuer, achievement):
    first = bulk_awards.start(db.session, issuer, achievement, parse(b"email\na@example.org\nb@example.org\n"))
    db.session.commit()
    bulk_awards.batches.run_batch_job(str(first.id))
    resaved = parse("email;nom\r\nA@example.org;\r\nb@example.org;\r\n".encode("cp1252"))
    assert bulk_awards.start(db.session, issuer, achievement, resaved).id == first.id
    corrected = bulk_awards.start(db.session, issuer, achievement,
                                  parse(b"email\na@example.org\nb@example.org\nc@example.org\n"))
    db.session.commit()
    bulk_awards.batches.run_batch_job(str(corrected.id))
    assert credentials_count() == 3
    report = bulk_awards.batches.report(db.session, corrected)
    assert [bool(r["result"].get("already_awarded")) for r in report] == [True, True, False]


# --- the pages ---------------------------------------------------------------------------------------

def _upload(client, org, achievement, data: bytes, name="classe.csv"):
    url = f"/organisations/{org.id}/achievements/{achievement.id}/bulk"
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, data={"csrf_token": csrf_token(page), "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_upload_preview_confirm_progress_and_report(app, client, issuer, org, achievement, make_user):
    make_user("known@example.org")  # has an account: lands in the portfolio
    login(client, issuer.email)
    data = ("courriel;nom;récit\nknown@example.org;Known;Bravo\nnew@example.org;New;\nbad;Bad;\n"
            "new@example.org;Again;\n").encode("cp1252")
    preview = _upload(client, org, achievement, data)
    assert preview.status_code == 200
    html = preview.data.decode()
    assert "Nothing has been issued yet." in html or "Rien n" in html
    assert 'data-code="invalid_email"' in html and 'data-code="duplicate_row"' in html
    assert credentials_count() == 0 and db.session.scalar(select(func.count()).select_from(Batch)) == 0

    upload_id = preview.data.decode().split('name="upload" type="hidden" value="')[1].split('"')[0]
    confirm_url = f"/organisations/{org.id}/achievements/{achievement.id}/bulk/confirm"
    done = client.post(confirm_url, data={"csrf_token": csrf_token(preview), "upload": upload_id})
    assert done.status_code == 303, done.data[:300]
    progress_url = done.headers["Location"]
    assert credentials_count() == 2
    page = client.get(progress_url)
    assert page.status_code == 200 and b"bulk_award.js" in page.data and b"<progress" in page.data
    figures = client.get(progress_url + "/progress.json").json
    assert figures["status"] == "done" and (figures["done"], figures["failed"], figures["total"]) == (2, 0, 2)
    report = client.get(progress_url + "/report.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(report.data.decode("utf-8-sig")), delimiter=";"))
    assert [r[1:3] for r in rows[1:]] == [["known@example.org", "done"], ["new@example.org", "done"]]
    credential = db.session.get(Credential, __import__("uuid").UUID(rows[1][3]))
    assert credential.portfolio_id is not None and credential.narrative == "Bravo"
    result = verify(credential.document, fetch=local_fetch(app))
    assert result["verified"] is True, result["errors"]

    # The stashed file is gone once confirmed: confirming again cannot issue twice.
    again = client.post(confirm_url, data={"csrf_token": csrf_token(preview), "upload": upload_id})
    assert again.status_code == 404 and credentials_count() == 2


def test_pages_refuse_bad_files_and_forged_uploads(app, client, issuer, org, achievement):
    login(client, issuer.email)
    refused = _upload(client, org, achievement, b"nom\nA\n")
    assert refused.status_code == 422 and credentials_count() == 0
    page = client.get(f"/organisations/{org.id}/achievements/{achievement.id}/bulk")
    forged = client.post(f"/organisations/{org.id}/achievements/{achievement.id}/bulk/confirm",
                         data={"csrf_token": csrf_token(page), "upload": "../../etc/passwd"})
    assert forged.status_code == 404
    no_csrf = client.post(f"/organisations/{org.id}/achievements/{achievement.id}/bulk/confirm",
                          data={"upload": "0" * 64})
    assert no_csrf.status_code == 400


def test_another_organisations_issuer_sees_nothing(app, client, issuer, org, achievement, make_user):
    batch = bulk_awards.start(db.session, issuer, achievement, parse(b"email\na@example.org\n"))
    db.session.commit()
    outsider = make_user("outsider@other.example")
    other = make_org(outsider, name="Autre école")
    login(client, outsider.email)
    assert client.get(f"/organisations/{org.id}/achievements/{achievement.id}/bulk").status_code == 404
    assert client.get(f"/organisations/{org.id}/batches/{batch.id}").status_code == 404
    # their own organisation's URL with our batch id: not theirs either
    assert client.get(f"/organisations/{other.id}/batches/{batch.id}/progress.json").status_code == 404
    assert client.get(f"/organisations/{other.id}/batches/{batch.id}/report.csv").status_code == 404


# --- the API -----------------------------------------------------------------------------------------

def _personal(user) -> dict:
    _, raw = tokens.create_token(db.session, user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_api_preview_then_issue_with_an_organisation_token(app, client, issuer, org, achievement):
    _, raw = orgs.create_token(db.session, issuer, org, "sis")
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    url = f"/api/v1/organisations/{org.id}/achievements/{achievement.id}/awards/bulk"
    body = b"email,name\na@example.org,A\nb@example.org,B\nnope,C\n"
    preview = client.post(url + "?preview=1", data=body, headers={**headers, "Content-Type": "text/csv"})
    assert preview.status_code == 200, preview.json
    assert preview.json["valid_rows"] == 2 and preview.json["errors"][0]["errors"][0]["code"] == "invalid_email"
    assert credentials_count() == 0
    issued = client.post(url, data={"file": (io.BytesIO(body), "x.csv")}, headers=headers,
                         content_type="multipart/form-data")
    assert issued.status_code == 202, issued.json
    assert issued.json["batch"]["done"] == 2 and issued.headers["Location"].endswith(issued.json["batch"]["id"])
    again = client.post(url, data=body, headers={**headers, "Content-Type": "text/csv"})
    assert again.json["batch"]["id"] == issued.json["batch"]["id"] and credentials_count() == 2
    followed = client.get(f"/api/v1/batches/{issued.json['batch']['id']}", headers=headers)
    assert followed.status_code == 200 and [r["key"] for r in followed.json["rows"]] == ["a@example.org",
                                                                                       "b@example.org"]


def test_api_refusals(app, client, issuer, org, achievement, make_user):
    url = f"/api/v1/organisations/{org.id}/achievements/{achievement.id}/awards/bulk"
    body = b"email\na@example.org\n"
    assert client.post(url, data=body, content_type="text/csv").status_code == 401
    mine = _personal(issuer)
    wrong_type = client.post(url, json={"email": "a@example.org"}, headers=mine)
    assert wrong_type.status_code == 415 and wrong_type.json["error"] == "unsupported_media_type"
    bad = client.post(url, data=b"nom\nx\n", headers={**mine, "Content-Type": "text/csv"})
    assert bad.status_code == 422 and bad.json["error"] == "missing_column"
    nothing = client.post(url, data=b"email\nnope\n", headers={**mine, "Content-Type": "text/csv"})
    assert nothing.status_code == 422 and nothing.json["error"] == "no_valid_rows"

    outsider = make_user("outsider@other.example")
    other = make_org(outsider, name="Autre école")
    theirs = _personal(outsider)
    assert client.post(url, data=body, headers={**theirs, "Content-Type": "text/csv"}).status_code == 404
    _, other_raw = orgs.create_token(db.session, outsider, other, "x")
    db.session.commit()
    other_token = {"Authorization": f"Bearer {other_raw}", "Content-Type": "text/csv"}
    assert client.post(url, data=body, headers=other_token).status_code == 404
    # the other organisation's token on its own URL but our achievement
    cross = f"/api/v1/organisations/{other.id}/achievements/{achievement.id}/awards/bulk"
    assert client.post(cross, data=body, headers=other_token).status_code == 404
    ours = client.post(url, data=body, headers={**mine, "Content-Type": "text/csv"})
    assert ours.status_code == 202
    assert client.get(f"/api/v1/batches/{ours.json['batch']['id']}", headers=theirs).status_code == 404
    assert client.get("/api/v1/batches/00000000-0000-4000-8000-000000000000", headers=mine).status_code == 404

    pending_admin = make_user("pending@new.example")
    pending, unapproved = unapproved_achievement(pending_admin)
    refused = client.post(f"/api/v1/organisations/{pending.id}/achievements/{unapproved.id}/awards/bulk",
                          data=body, headers={**_personal(pending_admin), "Content-Type": "text/csv"})
    assert refused.status_code == 403 and credentials_count() == 1, refused.json
    assert refused.json["error"] == "organisation_not_approved"


def test_a_batch_whose_organisation_lost_its_approval_issues_nothing(app, issuer, org, achievement):
    """The handler acts as the person who confirmed and re-checks their right for every transaction of
    rows (``prepare_chunk``): every row is refused with the code."""
    batch = bulk_awards.start(db.session, issuer, achievement, parse(b"email\na@example.org\nb@example.org\n"))
    org.status = "refused"
    db.session.commit()
    bulk_awards.batches.run_batch_job(str(batch.id))
    db.session.refresh(batch)
    report = bulk_awards.batches.report(db.session, batch)
    assert (batch.status, batch.failed_count, credentials_count()) == ("done", 2, 0)
    assert {r["error"]["code"] for r in report} == {"organisation_not_approved"}


def test_each_recipient_is_mailed_once_after_the_commit(app, issuer, achievement, make_user):
    """The account holder is told it is in their portfolio; the other gets a claim link that works."""
    from tests.test_auth import outbox

    make_user("known@example.org")
    batch = bulk_awards.start(db.session, issuer, achievement, parse(b"email\nknown@example.org\nnew@example.org\n"))
    db.session.commit()
    bulk_awards.batches.run_batch_job(str(batch.id))
    mails = {m["To"]: m for m in outbox(app)}
    assert set(mails) == {"known@example.org", "new@example.org"} and len(outbox(app)) == 2
    claim = mails["new@example.org"].get_body(("plain",)).get_content()
    assert "/claim/" in claim and "/claim/" not in mails["known@example.org"].get_body(("plain",)).get_content()


@pytest.mark.parametrize("signers", [0, 2])
def test_rows_signed_through_the_shape_fast_path_are_pyld_s_bytes_and_verify(app, issuer, org, achievement,
                                                                             signers):
    """The bulk signer canonicalizes by template (certs.shapes), in the consumer (0) or in two signing
    processes: each credential must be exactly the one pyld's path signs (Ed25519 is deterministic: same
    canonical bytes, same proofValue) and verify."""
    from datetime import datetime

    from badges import awards
    from badges.signing import sign_credential

    app.config["BULK_AWARD_SIGNERS"] = signers

    texts = ['guillemets " et \\ barre', "é 漢字 🎓", "ligne\nsuivante", "<b>gras</b>", "urn:pas:une:iri"]
    lines = ["email,name,narrative,evidence"]
    for index in range(15):
        text = texts[index % len(texts)].replace('"', '""')
        evidence = f"https://ex.org/preuve/{index}?a=1&b=%C3%A9#x" if index % 2 else ""
        lines.append(f'p{index}@example.org,"Nom {text}","{text} {index}",{evidence}')
    parsed = parse(("\n".join(lines) + "\n").encode("utf-8"))
    assert not parsed.errors, parsed.errors
    shapes = awards.canonizer()  # this process's: the one that signs when there are no signers
    fast = shapes.fast
    batch = bulk_awards.start(db.session, issuer, achievement, parsed)
    db.session.commit()
    bulk_awards.batches.run_batch_job(str(batch.id))
    assert credentials_count() == 15
    if not signers:
        assert shapes.fast - fast >= 10  # most rows took the fast path
    key = orgs.signing_key(db.session, org)
    for credential in db.session.scalars(select(Credential)):
        document = credential.document
        unsigned = {name: value for name, value in document.items() if name != "proof"}
        created = datetime.fromisoformat(document["proof"]["created"].replace("Z", "+00:00"))
        assert sign_credential(unsigned, key, created=created) == document
        result = verify(document, fetch=local_fetch(app))
        assert result["verified"] is True, result["errors"]
