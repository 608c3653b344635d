"""Sillage's own export read back (issue 11): lossless for what an account can hold (export, import into a
fresh account, export again: equal but for ids and timestamps), encrypted exports, and refusals of a
half-written or altered export. Also badges (to the backpack) through the import."""
from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from flask import current_app
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from app.importers.safety import ImportRefused
from app.models import Diploma, Document, Experience, JournalEntry, Skill
from app.models.backpack import ExternalCredential
from app.services import documents, imports, portfolio
from app.services import backpack, exports, photos
from certs import export_cipher

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LINK_LISTS = ("skill_ids", "experience_ids", "evidence")


def write_export(user, path: Path) -> dict:
    """The export, written by export's own code (``sillage export``'s ``export_to_file``); its
    portfolio.json."""
    # In a request: with a badge from the backpack, export's JSON Resume builds a URL with url_for, which
    # outside a request needs SERVER_NAME (``sillage export`` meets it too; reported to export/backpack).
    with current_app.test_request_context():
        exports.export_to_file(db.session, user, path)
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("portfolio.json"))


def rich_account(make_user, elsewhere=None):
    """Profile, skills, experiences linked to them, a diploma, journal entries, documents (tags, evidence)
    and, given another platform (``tests.backpack_helpers.Elsewhere``), a badge earned there, linked."""
    owner = make_user("ines@example.org", display_name="Inès Haddad")
    portfolio.update_profile(db.session, owner, {"headline": "Aide à domicile", "bio": "Je prends soin.",
                                                 "location": "Roubaix", "website": "https://ines.example.org"})
    care = portfolio.create_item(db.session, owner, Skill, {"name": "Soins d'hygiène", "level": 3,
                                                            "framework": "ESCO",
                                                            "concept_uri": "http://data.europa.eu/esco/skill/x"})
    listen = portfolio.create_item(db.session, owner, Skill, {"name": "Écoute active", "level": 4})
    job = portfolio.create_item(db.session, owner, Experience, {
        "kind": "job", "title": "Aide à domicile", "organisation": "ADMR", "place": "Roubaix",
        "start_date": "2019-02-01", "description": "Accompagnement de **six** personnes.",
        "skill_ids": [str(care.id), str(listen.id)]})
    portfolio.create_item(db.session, owner, Experience, {
        "kind": "volunteering", "title": "Maraude", "organisation": "Croix-Rouge", "start_date": "2017-10-01",
        "end_date": "2018-06-30", "skill_ids": [str(listen.id)]})
    diploma = portfolio.create_item(db.session, owner, Diploma, {"title": "DEAES", "awarding_body": "DREETS",
                                                                 "awarded_on": "2018-07-04", "level": "3"})
    portfolio.create_item(db.session, owner, JournalEntry, {"title": "Pourquoi le soin", "body": "Parce que."})
    portfolio.create_item(db.session, owner, JournalEntry, {"title": "Après le stage", "body": "Fatiguée."})
    scan = documents.store(db.session, owner, "Attestation employeur.pdf", [b"%PDF-1.4\n% fake pdf\n"],
                           tags=["emploi", "preuve"], description="Signée par la directrice")
    documents.link(db.session, owner, scan, job)
    documents.link(db.session, owner, scan, diploma)
    documents.store(db.session, owner, "notes.txt", [b"plain notes"])
    from app.services import cvs, pages  # noqa: PLC0415

    pages.create(db.session, owner, {"title": "Mon parcours", "headline": "Soin et écoute", "theme": "atelier",
                                     "items": [{"type": "experience", "id": str(job.id)},
                                               {"type": "document", "id": str(scan.id)},
                                               {"type": "skill", "id": str(care.id)}],
                                     "show_photo": True, "public_profile": False})
    cvs.create(db.session, owner, {"name": "Aide à domicile", "target_text": "aide à domicile",
                                   "selection": [{"type": "experience", "id": str(job.id)},
                                                 {"type": "diploma", "id": str(diploma.id)}]})
    picture = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 120, 40)).save(picture, "PNG")
    photos.set_photo(db.session, owner, picture.getvalue())
    if elsewhere is not None:
        badge = json.dumps(elsewhere.signed(owner.email)).encode()
        (row,) = backpack.add(db.session, owner, badge, filename="psc1.json", fetch=elsewhere.web)
        backpack.link(db.session, owner, row, "experience", job.id)
        pages.create(db.session, owner, {"title": "Mes badges", "headline": "", "theme": "horizon",
                                         "items": [{"type": "external", "id": str(row.id)}],
                                         "show_photo": False, "public_profile": False})
    db.session.commit()
    return owner


def comparable(data: dict) -> dict:
    """The export without what differs by nature between two accounts: ids (replaced by the place of the
    item they name), timestamps, the account's e-mail."""
    names: dict[str, str] = {}
    for section in ("experiences", "diplomas", "skills", "journal", "documents", "credentials"):
        for n, item in enumerate(data[section]):
            names[item["id"]] = f"{section}[{n}]"

    def walk(value, key=None):
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()
                    if k not in ("id", "exported_at", "account") and not k.endswith("_at")}
        if isinstance(value, list):
            out = [walk(v) for v in value]
            return sorted(out) if key in LINK_LISTS else out
        if isinstance(value, str):
            return UUID.sub(lambda m: names.get(m.group(0), "<other id>"), value)
        return value

    return walk(data)


def test_export_import_export_is_lossless(app, make_user, tmp_path):
    from tests.backpack_helpers import Elsewhere

    elsewhere = Elsewhere()
    owner = rich_account(make_user, elsewhere)
    first = write_export(owner, tmp_path / "first.zip")
    # Another person importing Inès's export does not get her badge (review 13, M1): it names her.
    mallory = make_user("mallory@example.org")
    plan = imports.preview(db.session, mallory, str(tmp_path / "first.zip"), fetch=elsewhere.web)
    assert plan.counts()["credentials"]["new"] == 0 and plan.counts()["credentials"]["invalid"] == 1
    imports.apply(db.session, mallory, str(tmp_path / "first.zip"), fetch=elsewhere.web)
    assert db.session.scalar(select(func.count()).select_from(ExternalCredential).where(
        ExternalCredential.portfolio_id == mallory.portfolio.id)) == 0
    db.session.rollback()
    # Inès herself, moving to a new account with her address (a new instance, say), gets everything.
    owner.email = "ines-before@example.org"
    db.session.commit()
    fresh = make_user("ines@example.org")
    plan = imports.preview(db.session, fresh, str(tmp_path / "first.zip"), fetch=elsewhere.web)
    assert plan.format == "sillage"
    assert plan.counts()["experiences"]["new"] == 2 and plan.counts()["documents"]["new"] == 2
    assert plan.counts()["credentials"]["new"] == 1
    imports.apply(db.session, fresh, str(tmp_path / "first.zip"), fetch=elsewhere.web)
    db.session.commit()
    second = write_export(fresh, tmp_path / "second.zip")
    assert comparable(second) == comparable(first)
    # The comparison compared something: items, tags, evidence, the badge and its link.
    assert first["experiences"][0]["evidence"] or first["experiences"][1]["evidence"]
    assert first["documents"][0]["tags"] and first["credentials"][0]["links"]
    assert first["profile"]["photo"] and photos.read_photo(fresh) is not None
    assert first["pages"][0]["items"] and first["cvs"][0]["selection"]
    assert any(item["type"] == "external" for page in first["pages"] for item in page["items"])
    # And importing the same export again adds nothing.
    again = imports.preview(db.session, fresh, str(tmp_path / "first.zip"), fetch=elsewhere.web)
    assert all(c["new"] == 0 for c in again.counts().values())


def test_encrypted_export_needs_its_passphrase(app, make_user, tmp_path):
    owner = rich_account(make_user)
    write_export(owner, tmp_path / "clear.zip")
    params = export_cipher.KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
    sealed = tmp_path / "export.zip.enc"
    sealed.write_bytes(b"".join(export_cipher.encrypt(export_cipher.read_file(tmp_path / "clear.zip"),
                                                      "correct horse battery", params)))
    fresh = make_user("fresh@example.org")
    with pytest.raises(ImportRefused) as missing:
        imports.preview(db.session, fresh, str(sealed))
    assert missing.value.code == "passphrase_required"
    with pytest.raises(ImportRefused) as wrong:
        imports.apply(db.session, fresh, str(sealed), passphrase="wrong passphrase here")
    assert wrong.value.code == "wrong_passphrase"
    damaged = tmp_path / "damaged.zip.enc"
    damaged.write_bytes(sealed.read_bytes()[:-30])
    with pytest.raises(ImportRefused) as cut:
        imports.apply(db.session, fresh, str(damaged), passphrase="correct horse battery")
    assert cut.value.code == "wrong_passphrase"
    db.session.rollback()
    imports.apply(db.session, fresh, str(sealed), passphrase="correct horse battery")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Experience)
                             .where(Experience.portfolio_id == fresh.portfolio.id)) == 2


def _rewrite(source: Path, target: Path, change) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        entries = {name: old.read(name) for name in old.namelist()}
        for name, content in change(entries).items():
            new.writestr(name, content)


@pytest.mark.parametrize("case,code", [
    ("altered document", "integrity_error"), ("missing document", "integrity_error"),
    ("extra file", "integrity_error"), ("no manifest version", "unsupported_version"),
    ("future version", "unsupported_version"), ("wrong schema", "invalid_format"),
    ("invalid item", "invalid_format"), ("truncated", "corrupt_archive")])
def test_half_written_or_altered_exports_are_refused(app, make_user, tmp_path, case, code):
    owner = rich_account(make_user)
    write_export(owner, tmp_path / "good.zip")
    bad = tmp_path / "bad.zip"

    def manifest_fixed(entries: dict) -> dict:
        manifest = json.loads(entries["manifest.json"])
        for file in manifest["files"]:
            content = entries[file["path"]]
            file["size"], file["sha256"] = len(content), hashlib.sha256(content).hexdigest()
        entries["manifest.json"] = json.dumps(manifest).encode()
        return entries

    def change(entries: dict) -> dict:
        document = next(name for name in entries if name.startswith("documents/"))
        data = json.loads(entries["portfolio.json"])
        manifest = json.loads(entries["manifest.json"])
        if case == "altered document":
            entries[document] = entries[document] + b"!"
        elif case == "missing document":
            del entries[document]
        elif case == "extra file":
            entries["documents/extra.txt"] = b"x"
        elif case == "no manifest version":
            del manifest["version"]
            entries["manifest.json"] = json.dumps(manifest).encode()
        elif case == "future version":
            manifest["version"] = 2
            entries["manifest.json"] = json.dumps(manifest).encode()
        elif case == "wrong schema":
            data["experiences"][0]["start_date"] = {"not": "a date"}
            entries["portfolio.json"] = json.dumps(data).encode()
            entries = manifest_fixed(entries)
        elif case == "invalid item":
            data["experiences"][0]["kind"] = "spaceflight"
            entries["portfolio.json"] = json.dumps(data).encode()
            entries = manifest_fixed(entries)
        return entries

    if case == "truncated":
        bad.write_bytes((tmp_path / "good.zip").read_bytes()[:-100])
    else:
        _rewrite(tmp_path / "good.zip", bad, change)
    fresh = make_user("fresh@example.org")
    with pytest.raises(ImportRefused) as refused:
        imports.apply(db.session, fresh, str(bad))
    db.session.rollback()
    assert refused.value.code == code, refused.value.message
    for model in (Experience, Skill, Document):
        assert db.session.scalar(select(func.count()).select_from(model)
                                 .where(model.portfolio_id == fresh.portfolio.id)) == 0


def test_badges_go_to_the_backpack_verified_once(app, user, tmp_path):
    from tests.backpack_helpers import Elsewhere

    elsewhere = Elsewhere()
    path = tmp_path / "psc1.json"
    path.write_text(json.dumps(elsewhere.signed(user.email)))
    plan = imports.preview(db.session, user, str(path), fetch=elsewhere.web)
    assert plan.format == "badge" and plan.credentials[0]["status"] == "new"
    assert plan.credentials[0]["label"] == "Premiers secours (PSC1)"
    imports.apply(db.session, user, str(path), fetch=elsewhere.web)
    db.session.commit()
    again = imports.preview(db.session, user, str(path), fetch=elsewhere.web)
    assert again.credentials[0]["status"] == "existing"
    imports.apply(db.session, user, str(path), fetch=elsewhere.web)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ExternalCredential)) == 1


def test_a_tampered_badge_is_not_imported(app, user, tmp_path):
    from tests.backpack_helpers import Elsewhere

    elsewhere = Elsewhere()
    document = elsewhere.signed(user.email)
    document["credentialSubject"]["achievement"]["name"] = "Chirurgien en chef"
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(document))
    plan = imports.apply(db.session, user, str(path), fetch=elsewhere.web)
    db.session.commit()
    assert plan.credentials[0]["status"] == "invalid" and plan.credentials[0]["reason"]
    assert db.session.scalar(select(func.count()).select_from(ExternalCredential)) == 0


@pytest.mark.parametrize("member,fmt", [("leap2a.xml", "leap2a"), ("resume.json", "json_resume")])
def test_the_open_formats_inside_an_export_read_back(app, make_user, tmp_path, member, fmt):
    """Interoperability both ways: the LEAP2A and JSON Resume files Sillage writes are read by its own
    importers, with the experiences, diplomas and skills they carry."""
    owner = rich_account(make_user)
    write_export(owner, tmp_path / "export.zip")
    with zipfile.ZipFile(tmp_path / "export.zip") as archive:
        (tmp_path / member).write_bytes(archive.read(member))
    fresh = make_user("fresh@example.org")
    plan = imports.apply(db.session, fresh, str(tmp_path / member))
    db.session.commit()
    assert plan.format == fmt
    titles = {e.title for e in db.session.scalars(select(Experience).where(
        Experience.portfolio_id == fresh.portfolio.id))}
    assert {"Aide à domicile", "Maraude"} <= titles
    names = {s.name for s in db.session.scalars(select(Skill).where(Skill.portfolio_id == fresh.portfolio.id))}
    assert {"Soins d'hygiène", "Écoute active"} <= names


@pytest.mark.parametrize("kind", ["png", "svg", "jwt", "clr"])
def test_every_badge_form_is_detected_and_goes_to_the_backpack(app, user, tmp_path, kind):
    from badges.bake import bake
    from tests.backpack_helpers import SVG, Elsewhere, png

    elsewhere = Elsewhere()
    payload = {"png": lambda: bake(png(), elsewhere.signed(user.email)),
               "svg": lambda: bake(SVG, elsewhere.signed(user.email)),
               "jwt": lambda: elsewhere.jwt(user.email).encode(),
               "clr": lambda: json.dumps(elsewhere.clr([elsewhere.signed(user.email)])).encode()}[kind]()
    path = tmp_path / f"badge.{kind}"
    path.write_bytes(payload)
    plan = imports.apply(db.session, user, str(path), fetch=elsewhere.web)
    db.session.commit()
    assert plan.format == "badge" and plan.credentials and plan.credentials[0]["status"] == "new", plan.credentials
    assert db.session.scalar(select(func.count()).select_from(ExternalCredential)) >= 1


def test_an_svg_badge_with_a_doctype_is_still_a_badge(app, user, tmp_path):
    from badges.bake import bake
    from tests.backpack_helpers import SVG, Elsewhere

    elsewhere = Elsewhere()
    doctype = (b'<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
               b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n')
    path = tmp_path / "badge.svg"
    path.write_bytes(doctype + bake(SVG, elsewhere.signed(user.email)))
    plan = imports.preview(db.session, user, str(path), fetch=elsewhere.web)
    assert plan.format == "badge"  # handed to the backpack, whose reader decides (never a LEAP2A/Europass parse)


def test_an_uploaded_header_cannot_demand_a_costly_key_derivation(app, user, tmp_path, monkeypatch):
    """Review 13, M3: 1 GiB, t=10, p=16 in an unauthenticated header is refused before any derivation."""
    def no_derivation(*args, **kwargs):
        raise AssertionError("the key was derived")

    monkeypatch.setattr(export_cipher, "_key", no_derivation)
    for params in (export_cipher.KdfParams(time_cost=10, memory_kib=1024 * 1024, parallelism=16),
                   export_cipher.KdfParams(time_cost=3, memory_kib=512 * 1024, parallelism=4),
                   export_cipher.KdfParams(time_cost=5, memory_kib=64 * 1024, parallelism=4)):
        costly = tmp_path / "costly.zip.enc"
        costly.write_bytes(export_cipher._header(params, b"\0" * export_cipher.SALT_SIZE) + b"\0" * 64)
        with pytest.raises(ImportRefused) as refused:
            imports.preview(db.session, user, str(costly), passphrase="correct horse battery")
        assert refused.value.code == "unsupported_encryption"
    # What Sillage writes is within the bounds.
    assert export_cipher.DEFAULT_PARAMS.memory_kib <= export_cipher.IMPORT_BOUNDS.memory_kib


def test_a_file_listing_too_many_badges_is_refused_before_any_is_verified(app, user, monkeypatch):
    """Review 13, M4: each badge costs outbound fetches; more than the backpack holds is refused at once."""
    import contextlib  # noqa: PLC0415

    from app.importers import Bundle, CredentialEntry  # noqa: PLC0415

    many = Bundle("sillage", credentials=[CredentialEntry(f"c{n}", f"c{n}.json", b"{}")
                                          for n in range(backpack.MAX_ENTRIES + 1)])
    monkeypatch.setattr(imports, "_read", lambda *a, **k: contextlib.nullcontext(many))

    def no_verification(*args, **kwargs):
        raise AssertionError("a badge was verified")

    monkeypatch.setattr(backpack, "preview", no_verification)
    with pytest.raises(ImportRefused) as refused:
        imports.preview(db.session, user, "unused")
    assert refused.value.code == "archive_too_large"


def test_what_a_sillage_import_leaves_out_on_purpose(app, make_user, tmp_path):
    """Grants given and received, share links, attestation requests and the access log name other people
    or are bearer secrets: not restored, but counted with their reason in the preview, the summary and the
    page; everything else still comes back equal (the sections listed in ``sillage_zip.NOT_IMPORTED``
    aside), and importing creates no grant, link, request or log line in the new account."""
    from app.importers.sillage_zip import NOT_IMPORTED
    from app.models import AccessEvent, Grant
    from app.models.attestations import AttestationRequest
    from app.models.pages import ShareLink
    from app.services import attestations, grants, pages, share_links
    from tests.conftest import login
    from tests.test_import_pages import upload

    owner = rich_account(make_user)
    job = db.session.scalar(select(Experience).where(Experience.portfolio_id == owner.portfolio.id,
                                                     Experience.title == "Aide à domicile"))
    reader = make_user("camille@example.org")
    grant, raw = grants.invite(db.session, owner, email=reader.email, role="viewer")
    grants.accept_by_link(db.session, reader, raw)
    grants.invite(db.session, owner, email="paul@example.net", role="counsellor")
    theirs, raw = grants.invite(db.session, reader, email=owner.email, role="viewer")
    grants.accept_by_link(db.session, owner, raw)
    share_links.create(db.session, owner, page=pages.list_for(db.session, owner)[0])
    attestations.create(db.session, owner, "experience", job.id, referee_name="Mme Roux",
                        referee_email="roux@admr.example", relationship="Directrice")
    grants.shared_items(db.session, reader, grant, ip="192.0.2.7")  # one access-log line
    db.session.commit()
    first = write_export(owner, tmp_path / "first.zip")
    assert (len(first["grants"]), len(first["grants_received"]), len(first["share_links"]),
            len(first["attestation_requests"]), len(first["access_log"])) == (2, 1, 1, 1, 1)

    fresh = make_user("fresh@example.org")
    plan = imports.preview(db.session, fresh, str(tmp_path / "first.zip"))
    left = {row["section"]: row for row in plan.as_dict()["left_out"]}
    assert {k: v["count"] for k, v in left.items()} == {"grants": 2, "grants_received": 1, "share_links": 1,
                                                        "attestation_requests": 1, "access_log": 1}
    assert all(row["reason"] and row["label"] for row in left.values())
    done = imports.apply(db.session, fresh, str(tmp_path / "first.zip"))
    assert done.left_out == plan.left_out  # the summary tells it too
    db.session.commit()
    portfolio_id = fresh.portfolio.id
    for model, column in ((Grant, Grant.portfolio_id), (ShareLink, ShareLink.portfolio_id),
                          (AttestationRequest, AttestationRequest.portfolio_id),
                          (AccessEvent, AccessEvent.portfolio_id)):
        assert db.session.scalar(select(func.count()).select_from(model).where(column == portfolio_id)) == 0
    assert db.session.scalar(select(func.count()).select_from(Grant).where(Grant.grantee_id == fresh.id)) == 0
    second = write_export(fresh, tmp_path / "second.zip")
    assert all(second[section] == [] for section in NOT_IMPORTED)
    kept = {k: v for k, v in comparable(first).items() if k not in NOT_IMPORTED}
    assert {k: v for k, v in comparable(second).items() if k not in NOT_IMPORTED} == kept

    # The page shows them; an export without these sections shows no such list.
    client = app.test_client()
    login(client, fresh.email)
    shown = upload(client, (tmp_path / "first.zip").read_bytes(), "first.zip").get_data(as_text=True)
    assert 'data-left-out="grants"' in shown and 'data-left-out="access_log"' in shown
    lonely = make_user("lonely@example.org")
    write_export(lonely, tmp_path / "lonely.zip")
    assert imports.preview(db.session, fresh, str(tmp_path / "lonely.zip")).as_dict()["left_out"] == []
