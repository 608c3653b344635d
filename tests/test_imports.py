"""Import (issue 11): formats, preview, no duplicates on a second import, and every refusal of "Bad input"
leaving nothing behind."""
from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.importers.safety import ImportRefused, Limits
from app.models import Diploma, Document, Experience, JournalEntry, Skill
from app.models.imports import ImportFingerprint
from app.services import documents, imports, portfolio

DATA = Path(__file__).parent / "data" / "import"


def counts(user) -> dict:
    pid = user.portfolio.id
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)
                                              .where(model.portfolio_id == pid))
            for model in (Experience, Diploma, Skill, JournalEntry, Document)}


def mahara_zip(tmp_path) -> Path:
    path = tmp_path / "mahara.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(DATA / "mahara" / "leap2a.xml", "leap2a.xml")
        archive.write(DATA / "mahara" / "fiche-technique.txt", "files/fiche-technique.txt")
    return path


def linkedin_zip(tmp_path) -> Path:
    path = tmp_path / "Basic_LinkedInDataExport.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("Positions.csv", "Education.csv", "Skills.csv", "Profile.csv"):
            archive.write(DATA / "linkedin" / name, name)
    return path


def test_json_resume_preview_then_apply_then_no_duplicates(app, user):
    path = str(DATA / "resume.json")
    plan = imports.preview(db.session, user, path)
    assert plan.format == "json_resume"
    c = plan.counts()
    assert c["experiences"] == {"new": 3, "existing": 0, "invalid": 1}  # the project without a date
    invalid = [i for i in plan.items if i.status == "invalid"]
    assert invalid[0].label.startswith("Atelier mémoire") and "start_date" in invalid[0].reason
    assert c["diplomas"]["new"] == 2 and c["skills"]["new"] == 3
    assert counts(user) == dict.fromkeys(counts(user), 0)  # a preview writes nothing

    imports.apply(db.session, user, path)
    db.session.commit()
    assert counts(user)["Experience"] == 3 and counts(user)["Diploma"] == 2 and counts(user)["Skill"] == 3
    job = db.session.scalars(select(Experience).where(Experience.title == "Aide-soignante")).one()
    assert job.organisation == "EHPAD Les Tilleuls" and str(job.start_date) == "2016-09-01"
    assert "- Tutrice de trois stagiaires" in job.description
    assert user.portfolio.headline == "Aide-soignante" and user.portfolio.location == "Lyon, FR"

    again = imports.preview(db.session, user, path)
    assert {s: v["new"] for s, v in again.counts().items()} == dict.fromkeys(again.counts(), 0)
    assert again.counts()["experiences"]["existing"] == 3
    imports.apply(db.session, user, path)
    db.session.commit()
    assert counts(user)["Experience"] == 3 and counts(user)["Skill"] == 3


def test_an_edited_imported_item_is_still_recognised_and_a_deleted_one_comes_back(app, user):
    path = str(DATA / "resume.json")
    imports.apply(db.session, user, path)
    db.session.commit()
    job = db.session.scalars(select(Experience).where(Experience.title == "Aide-soignante")).one()
    portfolio.update_item(db.session, user, job, {"title": "Aide-soignante diplômée"})
    other = db.session.scalars(select(Experience).where(Experience.title == "Bénévole secouriste")).one()
    portfolio.delete_item(db.session, user, other)
    db.session.commit()
    plan = imports.preview(db.session, user, path)
    by_label = {i.label.split(" · ")[0]: i.status for i in plan.items if i.section == "experiences"}
    assert by_label["Aide-soignante"] == "existing"  # through its fingerprint row
    assert by_label["Bénévole secouriste"] == "new"
    imports.apply(db.session, user, path)
    db.session.commit()
    assert counts(user)["Experience"] == 3
    # One row per imported item: the deleted experience's stale row gave way to its new item's.
    assert db.session.scalar(select(func.count()).select_from(ImportFingerprint)) == 3 + 2 + 3


def test_existing_content_typed_by_hand_is_not_duplicated(app, user):
    portfolio.create_item(db.session, user, Skill, {"name": "ÉCOUTE ACTIVE", "level": 3})
    db.session.commit()
    plan = imports.preview(db.session, user, str(DATA / "resume.json"))
    statuses = {i.label: i.status for i in plan.items if i.section == "skills"}
    assert statuses["Écoute active"] == "existing" and statuses["Anglais"] == "new"


def test_profile_fields_are_only_filled_when_empty(app, make_user):
    owner = make_user("filled@example.org", display_name="Mon vrai nom")
    imports.apply(db.session, owner, str(DATA / "resume.json"))
    db.session.commit()
    assert owner.portfolio.display_name == "Mon vrai nom"
    assert owner.portfolio.contact_email == "camille@example.org"


def test_mahara_leap2a_zip_with_file_and_evidence(app, user, tmp_path):
    plan = imports.apply(db.session, user, str(mahara_zip(tmp_path)))
    db.session.commit()
    assert plan.format == "leap2a"
    job = db.session.scalars(select(Experience)).one()
    assert (job.title, job.organisation, str(job.start_date), str(job.end_date)) == \
        ("Commis de cuisine", "Le Bistrot Nantais", "2022-09-01", "2024-03-01")
    diploma = db.session.scalars(select(Diploma)).one()
    assert (diploma.title, diploma.awarding_body) == ("CAP Cuisine", "CFA de Nantes")
    assert sorted(s.name for s in db.session.scalars(select(Skill))) == ["Découpe des légumes", "Hygiène HACCP"]
    entry = db.session.scalars(select(JournalEntry)).one()
    assert entry.body == "Beaucoup appris.\nFatigué mais content."
    document = db.session.scalars(select(Document)).one()
    assert document.name == "fiche-technique.txt" and document.description == "Fiche technique du plat du jour"
    assert b"".join(documents.read(user, document)) == (DATA / "mahara" / "fiche-technique.txt").read_bytes()
    assert documents.evidence(db.session, job) == [document]
    again = imports.preview(db.session, user, str(mahara_zip(tmp_path)))
    assert again.counts()["documents"] == {"new": 0, "existing": 1, "invalid": 0}


def test_europass_v3_and_v4(app, user):
    imports.apply(db.session, user, str(DATA / "europass-v3.xml"))
    db.session.commit()
    assert user.portfolio.display_name == "Owner Person"  # never overwritten
    assert (user.portfolio.contact_email, user.portfolio.location) == ("karim@example.org", "Marseille")
    titles = {e.title: e for e in db.session.scalars(select(Experience))}
    assert titles["Technicien support"].end_date is None  # <Current>true</Current>
    assert titles["Stagiaire réseaux"].organisation == "Mairie de Marseille"
    assert {s.name for s in db.session.scalars(select(Skill))} >= {"anglais", "Linux", "Windows Server"}
    plan = imports.apply(db.session, user, str(DATA / "europass-v4.xml"))
    db.session.commit()
    assert plan.format == "europass"
    hotel = db.session.scalars(select(Experience).where(Experience.title == "Réceptionniste")).one()
    assert (hotel.organisation, hotel.place, str(hotel.end_date)) == ("Hôtel du Port", "Brest", "2023-10-31")
    assert db.session.scalars(select(Diploma).where(Diploma.title == "BTS MHR")).one().awarding_body \
        == "Lycée hôtelier de Dinard"


def test_linkedin_export(app, user, tmp_path):
    plan = imports.apply(db.session, user, str(linkedin_zip(tmp_path)))
    db.session.commit()
    assert plan.format == "linkedin"
    acme = db.session.scalars(select(Experience).where(Experience.organisation == "Acme SAS")).one()
    assert (acme.title, str(acme.start_date), acme.end_date) == ("Chargée de projet", "2020-03-01", None)
    assert user.portfolio.website == "https://sarah.example.org"
    assert {s.name for s in db.session.scalars(select(Skill))} == {"Gestion de projet", "Excel"}


def test_linkedin_csv_without_its_columns_is_refused(app, user, tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Positions.csv", "Firm,Role\nAcme,Boss\n")
    with pytest.raises(ImportRefused) as refused:
        imports.preview(db.session, user, str(path))
    assert refused.value.code == "invalid_format" and "Company Name" in refused.value.message


# --- Bad input -----------------------------------------------------------------------------------------

def refused(user, path, **kwargs) -> ImportRefused:
    before = counts(user)
    with pytest.raises(ImportRefused) as caught:
        imports.apply(db.session, user, str(path), **kwargs)
    db.session.rollback()
    assert counts(user) == before
    return caught.value


def test_zip_bomb_is_refused_by_ratio_and_by_size(app, user, tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("leap2a.xml", b"<" + b" " * (50 * 1024 * 1024))
    assert refused(user, bomb).code == "zip_bomb"
    many = tmp_path / "big.zip"
    with zipfile.ZipFile(many, "w", zipfile.ZIP_STORED) as archive:
        for n in range(3):
            archive.writestr(f"files/{n}.bin", b"x" * 4096)
    small = Limits(unpacked=10_000)
    assert refused(user, many, limits=small).code == "archive_too_large"
    assert refused(user, many, limits=Limits(member=1000)).code == "archive_too_large"
    assert refused(user, many, limits=Limits(members=2)).code == "archive_too_large"


def test_zip_that_lies_about_its_sizes_is_refused(app, user, tmp_path):
    path = mahara_zip(tmp_path)
    data = bytearray(path.read_bytes())
    # Shrink the declared size of the first member in the central directory: inflating gives more.
    central = data.rfind(b"PK\x01\x02", 0, data.find(b"PK\x05\x06"))
    first = data.find(b"PK\x01\x02")
    size_at = first + 24
    data[size_at:size_at + 4] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert central >= first
    assert refused(user, path).code in ("corrupt_archive", "zip_bomb")


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "files/../../evil.txt", "C:/evil.txt",
                                  "files\\..\\evil.txt"])
def test_unsafe_paths_are_refused(app, user, tmp_path, name):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(DATA / "mahara" / "leap2a.xml", "leap2a.xml")
        archive.writestr(zipfile.ZipInfo(name), b"x")
    error = refused(user, path)
    assert error.code == "unsafe_archive" and name in error.message


def test_symlinks_are_refused(app, user, tmp_path):
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(DATA / "mahara" / "leap2a.xml", "leap2a.xml")
        link = zipfile.ZipInfo("files/fiche-technique.txt")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    error = refused(user, path)
    assert error.code == "unsafe_archive" and "files/fiche-technique.txt" in error.message


def test_truncated_zip_is_refused(app, user, tmp_path):
    path = mahara_zip(tmp_path)
    path.write_bytes(path.read_bytes()[:-40])
    assert refused(user, path).code == "corrupt_archive"


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&xxe;</title></feed>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<SkillsPassport xmlns="http://europass.cedefop.europa.eu/Europass">&lol3;</SkillsPassport>"""


@pytest.mark.parametrize("payload", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_xml_entities_are_refused(app, user, tmp_path, payload):
    path = tmp_path / "cv.xml"
    path.write_bytes(payload)
    assert refused(user, path).code == "unsafe_xml"
    archive = tmp_path / "mahara.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("leap2a.xml", payload)
    assert refused(user, archive).code == "unsafe_xml"


def test_wrong_json_and_unknown_formats_are_refused(app, user, tmp_path):
    cases = {"broken.json": (b'{"basics": ', "invalid_json"),
             "other.json": (b'{"hello": "world"}', "unknown_format"),
             "resume.json": (b'{"basics": {}, "work": "not a list"}', "invalid_format"),
             "deep.json": (b"[" * 100_000 + b"]" * 100_000, "invalid_json"),
             "latin1.json": ('{"basics": {"name": "Zoé"}}'.encode("latin-1"), "invalid_json"),
             "notes.txt": (b"just some text", "unknown_format"),
             "empty.json": (b"", "empty_file")}
    for name, (data, code) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert refused(user, path).code == code, name


def test_too_large_upload_is_refused_before_reading(app, user, tmp_path):
    path = tmp_path / "resume.json"
    path.write_bytes((DATA / "resume.json").read_bytes())
    error = refused(user, path, limits=Limits(upload=100))
    assert error.code == "file_too_large" and error.status == 413


def test_quota_exceeded_during_apply_leaves_nothing(app, user, tmp_path):
    app.config["VAULT_QUOTA_BYTES"] = 10  # the Mahara file is larger than that
    before = counts(user)
    with pytest.raises(documents.QuotaExceeded):
        imports.apply(db.session, user, str(mahara_zip(tmp_path)))
    db.session.rollback()
    assert counts(user) == before
    assert db.session.scalar(select(func.count()).select_from(ImportFingerprint)) == 0
    blobs = [p for p in Path(app.config["INSTANCE_PATH"]).rglob("*") if p.is_file() and "blobs" in p.parts]
    assert blobs == []
