"""Exports end to end (issue 11): the API and the page ask for one, the job (immediate in tests) builds it,
the owner downloads a ZIP whose manifest holds, whose documents are the vault's plaintext, whose credentials
are the signed documents as served and baked, with JSON Resume, LEAP2A and CLR; encrypted with a passphrase
it opens with it only; the refusals (another person, expired link, one at a time, bad input, unreadable
document) and the CLI."""
from __future__ import annotations

import hashlib
import io
import os
import uuid
import json
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy
from defusedxml import ElementTree as SafeET
from sqlalchemy import select

from app import demo, storage
from app.database import utcnow
from app.extensions import db
from app.models import Document, User
from app.models.backpack import ExternalCredential
from app.models.exports import Export
from app.services import exports
from badges.bake import unbake
from certs import export_cipher
from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_api import api_for

DEMO = demo.DEMO_ACCOUNTS[0]


@pytest.fixture
def ines(app):
    demo.load(db.session)
    db.session.commit()
    return db.session.scalar(select(User).where(User.email == DEMO.email))


@pytest.fixture
def api(client, ines):
    return api_for(client, ines)


def read_zip(data: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    return archive


def check_manifest(archive: zipfile.ZipFile) -> dict:
    """Every entry but the manifest is listed with its size and SHA-256, and nothing else is."""
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == "sillage-export" and manifest["version"] == 1
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(archive.namelist()) - {"manifest.json"}
    for path, entry in listed.items():
        data = archive.read(path)
        assert len(data) == entry["size"] and hashlib.sha256(data).hexdigest() == entry["sha256"], path
        assert not path.startswith("/") and ".." not in path.split("/")
    return manifest


def test_the_api_export_holds_everything_as_documented(api, client, ines):
    created = api.post("/exports", json={})
    assert created.status_code == 202, created.json
    body = created.json
    assert created.headers["Location"].endswith(f"/api/v1/exports/{body['id']}")
    # Immediate mode: the job has run by the time the answer is read again.
    shown = api.get(f"/exports/{body['id']}").json
    assert shown["status"] == "done" and shown["progress"] == 100 and shown["error"] is None
    assert shown["expires_at"] and shown["download_url"].endswith("/download")
    download = api.get(f"/exports/{body['id']}/download")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert "attachment" in download.headers["Content-Disposition"]
    data = download.get_data()
    assert len(data) == shown["size"] and hashlib.sha256(data).hexdigest() == shown["sha256"]
    archive = read_zip(data)
    manifest = check_manifest(archive)
    portfolio = json.loads(archive.read("portfolio.json"))
    assert manifest["counts"] == exports.counts(portfolio)
    assert manifest["counts"]["experiences"] == len(portfolio["experiences"]) > 0

    # The vault's documents, decrypted, under their names, byte for byte what was stored.
    for item in portfolio["documents"]:
        content = archive.read(item["file"])
        assert hashlib.sha256(content).hexdigest() == item["sha256"] and len(content) == item["size"]
    # Each credential: the JSON exactly as this site serves it, and a PNG with the same credential baked in.
    # A badge earned elsewhere: the bytes as they were imported, and its image.
    kinds = {entry["kind"] for entry in portfolio["credentials"]}
    assert {"credential", "external"} <= kinds
    for entry in portfolio["credentials"]:
        if entry["kind"] == "external":
            row = db.session.get(ExternalCredential, uuid.UUID(entry["id"]))
            assert archive.read(entry["files"]["json"]) == row.original
            continue
        served = client.get(f"/{entry['kind']}s/{entry['id']}.json")
        assert archive.read(entry["files"]["json"]) == served.get_data()
        assert unbake(archive.read(entry["files"]["png"]))["credential"] == entry["credential"]
    resume = json.loads(archive.read("resume.json"))
    assert resume["basics"]["name"] == "Inès Martin" and resume["work"]
    # LEAP2A: an Atom feed, parsed with defusedxml, one entry per item plus the person.
    feed = SafeET.fromstring(archive.read("leap2a.xml"))
    atom = "{http://www.w3.org/2005/Atom}"
    entries = feed.findall(f"{atom}entry")
    expected = 1 + sum(len(portfolio[k]) for k in ("experiences", "diplomas", "skills", "journal", "documents"))
    assert len(entries) == expected
    assert feed.find("{http://terms.leapspecs.org/}version").text == "http://www.leapspecs.org/2010-07/2A/"
    enclosures = [link.get("href") for link in feed.iter(f"{atom}link") if link.get("rel") == "enclosure"]
    assert sorted(enclosures) == sorted(d["file"] for d in portfolio["documents"])
    # CLR 2.0: the OB 3.0 achievement credentials, each verbatim.
    clr = json.loads(archive.read("clr.json"))
    assert clr["type"] == ["VerifiableCredential", "ClrCredential"]
    inside = clr["credentialSubject"]["verifiableCredential"]
    assert inside and all(c in [e["credential"] for e in portfolio["credentials"]] for c in inside)
    photo = portfolio["profile"]["photo"]
    assert photo is None or archive.read(photo)[:2] == b"\xff\xd8"


def test_an_encrypted_export_opens_with_its_passphrase_only(api, ines):
    body = api.post("/exports", json={"passphrase": "une phrase de passe"}).json
    assert body["encrypted"] is True
    row = db.session.get(Export, uuid.UUID(body["id"]))
    db.session.refresh(row)
    assert row.sealed_private_key is None and row.header is None  # the key went once used
    data = api.get(f"/exports/{body['id']}/download").get_data()
    assert export_cipher.is_encrypted(data) and not data.startswith(b"PK")
    plain = b"".join(export_cipher.decrypt([data], "une phrase de passe"))
    check_manifest(read_zip(plain))
    with pytest.raises(export_cipher.ExportCipherError):
        b"".join(export_cipher.decrypt([data], "pas la bonne phrase"))
    assert b"une phrase de passe" not in json.dumps(
        [str(v) for v in db.session.execute(select(Export.__table__)).all()]).encode()


def test_a_partial_export_holds_only_the_choice(api, ines):
    skills = api.get("/skills").json["items"]
    body = api.post("/exports", json={"selection": [{"type": "section", "id": "diplomas"},
                                                    {"type": "skill", "id": skills[0]["id"]}]}).json
    archive = read_zip(api.get(f"/exports/{body['id']}/download").get_data())
    manifest = check_manifest(archive)
    portfolio = json.loads(archive.read("portfolio.json"))
    assert [s["id"] for s in portfolio["skills"]] == [skills[0]["id"]]
    assert portfolio["experiences"] == portfolio["documents"] == portfolio["credentials"] == []
    assert not any(name.startswith(("documents/", "credentials/")) for name in archive.namelist())
    assert "clr.json" not in archive.namelist()
    assert manifest["selection"] == portfolio["selection"]
    resume = json.loads(archive.read("resume.json"))
    assert resume["work"] == [] and [s["name"] for s in resume["skills"]] == [skills[0]["name"]]


@pytest.mark.parametrize("body, field", [
    ({"selection": []}, "selection"), ({"selection": [{"type": "section", "id": "passwords"}]}, "selection"),
    ({"passphrase": "short"}, "passphrase"), ({"passphrase": 12345678}, "passphrase"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_requests_are_422_and_make_nothing(api, body, field):
    answer = api.post("/exports", json=body)
    assert answer.status_code == 422 and field in answer.json["fields"], answer.json
    assert db.session.scalar(select(Export.id)) is None


def test_not_json_and_no_token(api, client):
    assert api.post("/exports", data="x", content_type="text/plain").status_code == 415
    assert client.post("/api/v1/exports", json={}).status_code == 401
    assert client.get("/api/v1/exports").status_code == 401


def test_another_persons_export_is_404(api, client, make_user):
    body = api.post("/exports", json={}).json
    other = api_for(client, make_user("other@example.org"))
    for path in (f"/exports/{body['id']}", f"/exports/{body['id']}/download"):
        answer = other.get(path)
        assert answer.status_code == 404 and answer.json["error"] == "not_found"
    assert other.get("/exports").json["items"] == []
    assert other.get("/exports/not-a-uuid").status_code == 404


def test_an_expired_link_is_410_and_the_sweep_removes_the_file(api, ines):
    body = api.post("/exports", json={}).json
    row = db.session.get(Export, uuid.UUID(body["id"]))
    key = row.storage_key
    assert storage.exists(key)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    answer = api.get(f"/exports/{body['id']}/download")
    assert answer.status_code == 410 and answer.json["error"] == "export_expired"
    assert api.get(f"/exports/{body['id']}").json["status"] == "expired"
    assert exports.sweep(db.session) == (1, [])
    db.session.commit()
    assert not storage.exists(key)
    assert api.get(f"/exports/{body['id']}/download").status_code == 410


def test_one_export_at_a_time(api, ines):
    waiting = exports.request_export(db.session, ines)  # queued, not run
    db.session.commit()
    answer = api.post("/exports", json={})
    assert answer.status_code == 409 and answer.json["error"] == "export_in_progress"
    assert api.get(f"/exports/{waiting.id}/download").json["error"] == "export_not_ready"
    exports.build(db.session, waiting.id)
    assert db.session.get(Export, waiting.id).status == "done"
    exports.build(db.session, waiting.id)  # delivered twice: left alone
    assert api.post("/exports", json={}).status_code == 202


def test_an_unreadable_document_fails_the_export_cleanly(api, ines):
    document = db.session.scalars(select(Document).where(Document.portfolio_id == ines.portfolio.id)).first()
    storage.delete(document.blob_key)
    body = api.post("/exports", json={}).json
    shown = api.get(f"/exports/{body['id']}").json
    assert shown["status"] == "failed" and shown["error"] == "document_unreadable"
    assert db.session.get(Export, uuid.UUID(body["id"])).storage_key is None
    assert not storage.exists(f"exports/{body['id']}")
    assert api.get(f"/exports/{body['id']}/download").status_code == 409


def test_the_page_asks_follows_and_downloads(client, ines):
    assert login(client, DEMO.email, DEMO.password).status_code == 302
    page = client.get("/exports")
    assert page.status_code == 200 and "Exporter mes données" in page.get_data(as_text=True)
    refused = client.post("/exports", data={"csrf_token": csrf_token(page), "scope": "all",
                                            "passphrase": "one", "passphrase_confirm": "two"})
    assert refused.status_code == 422
    chosen_nothing = client.post("/exports", data={"csrf_token": csrf_token(page), "scope": "chosen"})
    assert chosen_nothing.status_code == 422
    assert client.post("/exports", data={"scope": "all"}).status_code == 400  # no CSRF token
    assert db.session.scalar(select(Export.id)) is None
    done = client.post("/exports", data={"csrf_token": csrf_token(page), "scope": "chosen", "section": "skills"},
                       follow_redirects=True)
    assert done.status_code == 200
    row = db.session.scalars(select(Export)).one()
    assert row.selection == [{"type": "section", "id": "skills"}] and row.status == "done"
    assert f"/exports/{row.id}/download" in done.get_data(as_text=True)
    archive = read_zip(client.get(f"/exports/{row.id}/download").get_data())
    assert json.loads(archive.read("portfolio.json"))["skills"]


def test_the_page_refuses_another_persons_download(app, client, ines, make_user):
    mine = exports.request_export(db.session, ines)
    db.session.commit()
    exports.build(db.session, mine.id)
    anonymous = app.test_client()
    assert anonymous.get(f"/exports/{mine.id}/download").status_code == 302  # to the sign-in page
    make_user("other@example.org")
    assert login(client, "other@example.org").status_code == 302
    assert client.get(f"/exports/{mine.id}/download").status_code == 404
    assert str(mine.id) not in client.get("/exports").get_data(as_text=True)


def test_the_cli_writes_the_file(app, ines, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "ines.zip"
    result = runner.invoke(args=["export", "--user", DEMO.email, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(out)
    check_manifest(read_zip(out.read_bytes()))
    again = runner.invoke(args=["export", "--user", DEMO.email, "--out", str(out)])
    assert again.exit_code != 0 and "exists" in again.output
    sealed = tmp_path / "ines.zip.enc"
    result = runner.invoke(args=["export", "--user", DEMO.email, "--out", str(sealed), "--passphrase-stdin",
                                 "--only", "skills"], input="une phrase de passe\n")
    assert result.exit_code == 0, result.output
    plain = b"".join(export_cipher.decrypt(export_cipher.read_file(sealed), "une phrase de passe"))
    assert list(json.loads(read_zip(plain).read("portfolio.json"))["skills"])
    weak = runner.invoke(args=["export", "--user", DEMO.email, "--out", str(tmp_path / "w.zip"),
                               "--passphrase-stdin"], input="short\n")
    assert weak.exit_code != 0 and not (tmp_path / "w.zip").exists()
    assert not list(tmp_path.glob(".*.part"))
    nobody = runner.invoke(args=["export", "--user", "nobody@example.org", "--out", str(tmp_path / "n.zip")])
    assert nobody.exit_code != 0 and "No account" in nobody.output


def test_the_routes_are_in_the_openapi_description(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/api/v1/exports", "/api/v1/exports/{export_id}", "/api/v1/exports/{export_id}/download"} <= set(paths)


def test_badges_from_elsewhere_and_a_signed_clr(api, client, ines):
    """Backpack badges (a baked SVG and a VC-JWT) travel as imported, listed with the owner's own in
    ``credentials``; the CLR gathers the OB 3.0 ones and is signed by the platform, and verifies."""
    from app.attestations.public import local_fetch
    from app.services import backpack
    from badges.bake import bake
    from badges.fetch import json_fetcher
    from badges.verify import verify
    from tests.backpack_helpers import SVG, Elsewhere

    elsewhere = Elsewhere()
    baked = bake(SVG, elsewhere.signed(ines.email))
    [svg_row] = backpack.add(db.session, ines, baked, filename="badge.svg", fetch=elsewhere.web)
    token = elsewhere.jwt(ines.email)
    [jwt_row] = backpack.add(db.session, ines, token.encode(), fetch=elsewhere.web)
    db.session.commit()
    body = api.post("/exports", json={}).json
    archive = read_zip(api.get(f"/exports/{body['id']}/download").get_data())
    check_manifest(archive)
    entries = {e["id"]: e for e in json.loads(archive.read("portfolio.json"))["credentials"]}
    svg_entry, jwt_entry = entries[str(svg_row.id)], entries[str(jwt_row.id)]
    assert svg_entry["kind"] == jwt_entry["kind"] == "external"
    assert archive.read(svg_entry["files"]["json"]) == svg_row.original
    assert svg_entry["files"]["png"] is None and archive.read(svg_entry["files"]["svg"]) == baked
    assert jwt_entry["files"]["json"].endswith(".jwt") and archive.read(jwt_entry["files"]["json"]) == token.encode()
    clr = json.loads(archive.read("clr.json"))
    inside = clr["credentialSubject"]["verifiableCredential"]
    assert svg_row.document in inside and all(isinstance(c, dict) for c in inside)
    # The VC-JWT goes in enveloped (its signature kept), never as its decoded payload without a proof.
    assert jwt_row.document not in inside
    assert {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "EnvelopedVerifiableCredential",
            "id": f"data:application/vc+jwt,{token}"} in inside
    assert all("proof" in c or c["type"] == "EnvelopedVerifiableCredential" for c in inside)
    assert clr["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert check_manifest(archive)["clr"] == {"file": "clr.json", "signed": True, "unsigned_reason": None,
                                              "left_out": []}
    fetch = local_fetch(db.session, json_fetcher(allow_loopback=True))
    assert verify(clr, fetch=fetch)["verified"] is True
    clr["name"] = "Altered"
    assert verify(clr, fetch=fetch)["verified"] is False


def test_a_file_gone_from_storage_is_410_not_500(api, ines):
    body = api.post("/exports", json={}).json
    storage.delete(f"exports/{body['id']}")
    answer = api.get(f"/exports/{body['id']}/download")
    assert answer.status_code == 410 and answer.json["error"] == "export_expired"


def test_the_sweep_fails_stalled_exports_and_requeues_lost_ones(api, ines):
    stalled = exports.request_export(db.session, ines)
    stalled.status, stalled.started_at = "running", utcnow() - timedelta(hours=3)
    db.session.commit()
    assert api.post("/exports", json={}).status_code == 409  # one at a time, until the sweep
    lost = Export(user_id=ines.id, status="queued", progress=0, encrypted=False,
                  created_at=utcnow() - timedelta(minutes=11))
    recent = Export(user_id=ines.id, status="queued", progress=0, encrypted=False, created_at=utcnow())
    db.session.add_all([lost, recent])
    db.session.commit()
    removed, waiting = exports.sweep(db.session)
    db.session.commit()
    assert removed == 0 and waiting == [lost.id]
    assert (stalled.status, stalled.error) == ("failed", "export_interrupted")
    exports.sweep_exports.call_local()
    db.session.expire_all()
    assert db.session.get(Export, lost.id).status == "done"
    assert db.session.get(Export, recent.id).status == "queued"


def test_a_large_document_streams_through_without_being_held_in_memory(app, make_user):
    """24 MiB in the vault: the export job's Python allocations stay far below the document's size (the
    ZIP goes through a temporary file and into storage in pieces), and the file inside is the document."""
    import tracemalloc

    from app.services import documents

    owner = make_user("large@example.org")
    piece = os.urandom(1 << 20)  # 1 MiB, repeated beyond deflate's 32 KiB window: incompressible
    stored = documents.store(db.session, owner, "film.bin", (piece for _ in range(24)))
    db.session.commit()
    export = exports.request_export(db.session, owner, selection=[{"type": "section", "id": "documents"}])
    db.session.commit()
    tracemalloc.start()
    try:
        exports.build(db.session, export.id)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    row = db.session.get(Export, export.id)
    assert row.status == "done" and row.size > 24 * 1024 * 1024
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
    data, _name = exports.download(owner, row)
    with exports.temporary_file() as handle:
        for chunk in data:
            handle.write(chunk)
        handle.seek(0)
        with zipfile.ZipFile(handle) as archive:
            digest = hashlib.sha256()
            with archive.open(f"documents/{stored.id}/film.bin") as entry:
                while chunk := entry.read(1 << 20):
                    digest.update(chunk)
    assert digest.hexdigest() == stored.sha256


def _stored(key: str) -> bytes:
    with storage.open(key) as handle:
        return handle.read()


def test_a_clear_export_is_sealed_at_rest_and_its_key_wiped_at_expiry(api, ines):
    """Review 13, M5: the stored file of an export without a passphrase is not the ZIP (it holds the
    vault's documents decrypted, outside the vault's prefix): sealed with its own key, which the expiry
    wipes, so that a copy left anywhere is unreadable. The download is the ZIP, with its SHA-256."""
    body = api.post("/exports", json={}).json
    row = db.session.get(Export, uuid.UUID(body["id"]))
    stored = _stored(row.storage_key)
    assert not stored.startswith(b"PK") and b"portfolio.json" not in stored
    assert exports.at_rest(row)
    download = api.get(f"/exports/{body['id']}/download").data
    check_manifest(read_zip(download))
    assert hashlib.sha256(download).hexdigest() == row.sha256 and len(download) == row.size
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    exports.sweep(db.session)
    db.session.commit()
    assert row.sealed_private_key is None and row.master_key_id is None


@pytest.mark.parametrize("meanwhile", ["deleted", "failed"])
def test_a_file_written_for_a_row_gone_or_failed_meanwhile_is_removed(app, ines, monkeypatch, meanwhile):
    """Review 13, M5: the account deleted during the upload (the row gone), or the sweep having failed a
    slow build: the file written then belongs to nobody, and the failed row is not turned back to done."""
    export = exports.request_export(db.session, ines)
    db.session.commit()
    export_id, real_put = export.id, storage.put_stream

    def put_then_change(key, chunks, content_type):
        size = real_put(key, chunks, content_type)
        if meanwhile == "deleted":
            db.session.execute(sqlalchemy.delete(Export).where(Export.id == export_id))
        else:
            db.session.execute(sqlalchemy.update(Export).where(Export.id == export_id)
                               .values(status="failed", error="export_interrupted"))
        db.session.commit()
        return size

    monkeypatch.setattr(storage, "put_stream", put_then_change)
    exports.build(db.session, export_id)
    db.session.expire_all()
    assert not storage.exists(f"exports/{export_id}")
    row = db.session.get(Export, export_id)
    assert row is None if meanwhile == "deleted" else (row.status, row.storage_key) == ("failed", None)


def test_the_sweep_removes_the_partial_file_of_a_stalled_export(app, ines):
    """Review 13, M5: a consumer killed during the upload leaves part of the file, never recorded."""
    stalled = exports.request_export(db.session, ines)
    stalled.status, stalled.started_at = "running", utcnow() - timedelta(hours=3)
    db.session.commit()
    storage.put_stream(f"exports/{stalled.id}", iter([b"partial"]), "application/octet-stream")
    exports.sweep(db.session)
    db.session.commit()
    assert stalled.status == "failed" and not storage.exists(f"exports/{stalled.id}")


def test_an_unsigned_clr_is_said_in_the_manifest_and_proofless_members_are_left_out():
    """``sign_clr`` returns the record unsigned with the signer's code when a member uses a context no
    bundled one defines (a VC 1.1 badge from elsewhere), and raises anything else; ``clr_credential``
    leaves out what cannot be verified on its own and says why."""
    from app.services import export_formats
    from certs.keys import KeyPair

    signed_member = {"@context": ["https://www.w3.org/2018/credentials/v1", "https://example.org/unknown.json"],
                     "type": ["VerifiableCredential", "OpenBadgeCredential"],
                     "proof": {"type": "Ed25519Signature2020"},
                     "credentialSubject": {"achievement": {"id": "urn:a", "type": ["Achievement"], "name": "A"}}}
    bare = {**signed_member, "proof": None}
    del bare["proof"]
    data = {"account": {"email": "a@example.org"}, "profile": None, "exported_at": "2026-12-05T00:00:00Z",
            "credentials": [{"id": "one", "credential": signed_member}, {"id": "two", "credential": bare}]}
    clr, left_out = export_formats.clr_credential(data, issuer={"id": "did:example:p", "type": ["Profile"]},
                                                  clr_id="urn:uuid:1")
    assert clr["credentialSubject"]["verifiableCredential"] == [signed_member]
    assert left_out == [{"id": "two", "reason": "no_proof"}]
    document, reason = export_formats.sign_clr(clr, KeyPair.generate("did:example:p"))
    assert document is clr and "proof" not in document and reason == "unknown_context"
    with pytest.raises(AttributeError):  # a bug (here: no key at all) is not disguised as an unsignable record
        export_formats.sign_clr(clr, object())


def test_leap2a_person_data_uses_leap2a_fields_and_reads_back():
    """The person's name, e-mail, phone, website and place go out as LEAP2A names them (persondata
    ``preferred_given_name``/``email``/``mobile``/``website``, ``leap2:spatial``/``addressline``) and come
    back through Sillage's LEAP2A importer unchanged; a Mahara file's ``preferred_given_name`` is read too."""
    from app.importers import leap2a as leap_reader
    from app.services import export_formats

    profile = {"display_name": "Inès Martin", "contact_email": "ines@example.org", "phone": "+33 6 12 34 56 78",
               "website": "https://ines.example.org", "location": "Lyon", "bio": "Aide-soignante."}
    data = {"account": {"email": "ines@example.org"}, "profile": profile, "exported_at": "2026-12-05T00:00:00Z",
            "experiences": [], "diplomas": [], "skills": [], "journal": [], "documents": []}
    xml = export_formats.leap2a(data)
    root = SafeET.fromstring(xml)
    leap = "{http://terms.leapspecs.org/}"
    fields = {e.get(f"{leap}field") for e in root.iter(f"{leap}persondata")}
    assert fields == {"preferred_given_name", "email", "mobile", "website"}
    assert [e.text for e in root.iter(f"{leap}addressline")] == ["Lyon"]
    back = leap_reader.read(xml).profile
    assert back == {k: v for k, v in profile.items()}
    mahara = xml.replace(b'field="preferred_given_name">In\xc3\xa8s Martin', b'field="preferred_given_name">Ines M')
    assert leap_reader.read(mahara).profile["display_name"] == "Ines M"


def test_writing_leap2a_and_atom_leaves_elementtree_namespaces_alone():
    """Both documents declare their namespaces themselves: after writing them, another module's plain,
    unqualified XML stays unqualified (``ET.register_namespace("")`` would have moved it into Atom), and
    both still parse with the right namespaces."""
    from datetime import datetime, timezone
    from types import SimpleNamespace
    from xml.etree import ElementTree as ET

    from app.feed import atom
    from app.services import export_formats

    data = {"account": {"email": "a@example.org"}, "profile": {"display_name": "A", "location": "Lyon"},
            "exported_at": "2026-12-05T00:00:00Z", "experiences": [], "diplomas": [], "skills": [],
            "journal": [], "documents": []}
    leap = export_formats.leap2a(data)
    moment = datetime(2026, 12, 5, tzinfo=timezone.utc)
    event = SimpleNamespace(id="e1", title="T", published_at=moment, updated_at=moment, publisher_name="",
                            description="")
    feed = atom.document([SimpleNamespace(event=event, reasons=[])], feed_id="urn:uuid:f", title="F",
                         self_url="https://x/self", site_url="https://x", url_of=lambda e: "https://x/e",
                         when_of=lambda e: "", author="S")
    plain = ET.Element("plain")
    ET.SubElement(plain, "{http://www.w3.org/2005/Atom}title")
    assert ET.tostring(plain).startswith(b"<plain ") and b"<plain xmlns=" not in ET.tostring(plain)
    atom_ns, leap_ns = "{http://www.w3.org/2005/Atom}", "{http://terms.leapspecs.org/}"
    root = SafeET.fromstring(leap)
    assert root.tag == f"{atom_ns}feed" and root.find(f"{leap_ns}version") is not None
    assert root.find(f"{atom_ns}entry/{leap_ns}spatial/{leap_ns}addressline").text == "Lyon"
    assert SafeET.fromstring(feed).find(f"{atom_ns}entry/{atom_ns}title").text == "T"
