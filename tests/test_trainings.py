"""The training catalogue (``app.services.trainings``): CSV import all or nothing with per-line errors,
re-import without duplicates, who may publish, the CLI, the API, the pages, and the trainings a gap
analysis proposes."""
from __future__ import annotations

import io

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.extensions import db
from app.models.path import Training, TrainingSkill
from app.services import path, tokens, trainings
from app.services.errors import NotFound
from tests.awarding_helpers import make_org
from tests.conftest import login
from tests.helpers import csrf_token
from tests.path_helpers import CARE_ASSISTANT, HANDOVER, HYGIENE, MOBILITY, load_frameworks, skill

HEADER = "title,provider,place,start_date,end_date,skills,link\n"
GOOD = (HEADER
        + f"DEAS,IFAS Rennes,Rennes,2027-01-04,2027-12-17,{HYGIENE}|{MOBILITY}|{HANDOVER},https://ifas.example/deas\n"
        + "Gestes et postures,Organisme B,Brest,15/02/2027,16/02/2027,Aider à la mobilité et aux déplacements,\n"
        + f"Transmissions ciblées,Organisme C,,,,{HANDOVER},\n")


def _count(model=Training) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture(autouse=True)
def english(app):
    """The messages are checked in English (the application's default language is French)."""
    with force_locale("en"):
        yield


@pytest.fixture
def admin(app, make_user):
    load_frameworks()
    person = make_user("admin@example.org", locale="en")
    person.is_admin = True
    db.session.commit()
    return person


def test_import_resolves_uris_and_labels_and_reimport_updates(admin):
    report = trainings.import_catalogue(db.session, admin, GOOD.encode(), filename="catalogue.csv")
    db.session.commit()
    assert (report.created, report.updated) == (3, 0)
    deas = db.session.scalar(select(Training).where(Training.title == "DEAS"))
    assert deas.skill_uris == [HYGIENE, MOBILITY, HANDOVER] and deas.organisation_id is None
    assert deas.start_date.isoformat() == "2027-01-04" and deas.source == "catalogue.csv"
    postures = db.session.scalar(select(Training).where(Training.title == "Gestes et postures"))
    assert postures.skill_uris == [MOBILITY]  # the French label resolved to its URI
    assert postures.start_date.isoformat() == "2027-02-15"  # DD/MM/YYYY
    # The same catalogue again, with a changed link and a French semicolon file: updated, not duplicated.
    again = GOOD.replace("https://ifas.example/deas", "https://ifas.example/deas-2027").replace(",", ";")
    again = again.replace(f"{HYGIENE}|{MOBILITY}|{HANDOVER}", f"{HYGIENE}|{HANDOVER}")
    report = trainings.import_catalogue(db.session, admin, ("\ufeff" + again).encode(), filename="v2.csv")
    db.session.commit()
    assert (report.created, report.updated) == (0, 3) and _count() == 3
    db.session.refresh(deas)
    assert deas.link == "https://ifas.example/deas-2027" and deas.skill_uris == [HYGIENE, HANDOVER]
    assert {row.concept_uri for row in db.session.scalars(select(TrainingSkill).where(
        TrainingSkill.training_id == deas.id))} == {HYGIENE, HANDOVER}


@pytest.mark.parametrize("content, expected", [
    (HEADER + "A,,,2027-02-30,,,\n", "Line 3"),  # no such day (line 2 is good)
    (HEADER + "A,,,2027-03-01,2027-02-01,,\n", "before the start"),
    (HEADER + "A,,,next week,,,\n", "is not a date"),
    (HEADER + ",,,2027-03-01,,,\n", "no title"),
    (HEADER + "A,,,,,Piloter un avion,\n", "unknown skill"),
    (HEADER + "A,,,,,https://example.org/unknown-skill,\n", "unknown skill"),
    (HEADER + "A,,,,,,javascript:alert(1)\n", "not a web address"),
    (HEADER + "A,,,,,,,extra\n", "more cells"),
    ("name,provider\nA,B\n", "header"),
    (HEADER, "no training"),
])
def test_a_bad_row_refuses_the_whole_file(admin, content, expected):
    good_first = content if content == HEADER else content.replace(
        HEADER, HEADER + "Bonne formation,Org,Lyon,2027-01-01,2027-01-31,,\n", 1)
    with pytest.raises(trainings.CatalogueRefused) as refused:
        trainings.import_catalogue(db.session, admin, good_first.encode())
    db.session.rollback()
    assert expected in " ".join(refused.value.errors), refused.value.errors
    assert refused.value.code == "invalid_catalogue"
    assert _count() == 0  # nothing half-imported, not even the good first line


def test_wrong_encoding_and_several_errors_listed(admin):
    latin1 = (HEADER + "Formation à Évreux,,,,,,\n").encode("latin-1")
    with pytest.raises(trainings.CatalogueRefused) as refused:
        trainings.import_catalogue(db.session, admin, latin1)
    assert "UTF-8" in refused.value.errors[0]
    many = HEADER + "".join(f"T{n},,,2027-13-{n:02d},,,\n" for n in range(1, 40))
    with pytest.raises(trainings.CatalogueRefused) as refused:
        trainings.import_catalogue(db.session, admin, many.encode())
    assert len(refused.value.errors) == trainings.MAX_ERRORS and refused.value.errors[0].startswith("Line 2")


def test_who_may_publish(admin, make_user):
    citizen = make_user("citizen@example.org")
    org_admin = make_user("orgadmin@example.org")
    org = make_org(org_admin)
    pending_admin = make_user("pending@example.org")
    pending = make_org(pending_admin, name="Pas encore", approve=False)
    with pytest.raises(NotFound):
        trainings.import_catalogue(db.session, citizen, GOOD.encode())
    with pytest.raises(NotFound):
        trainings.import_catalogue(db.session, org_admin, GOOD.encode())  # the platform's catalogue
    with pytest.raises(NotFound):
        trainings.import_catalogue(db.session, citizen, GOOD.encode(), organisation=org)
    with pytest.raises(NotFound):
        trainings.import_catalogue(db.session, pending_admin, GOOD.encode(), organisation=pending)
    report = trainings.import_catalogue(db.session, org_admin, GOOD.encode(), organisation=org)
    db.session.commit()
    assert report.created == 3
    # The same rows by the platform are another publisher's: no clash with the organisation's.
    assert trainings.import_catalogue(db.session, admin, GOOD.encode()).created == 3
    db.session.commit()
    training = db.session.scalar(select(Training).where(Training.organisation_id == org.id).limit(1))
    with pytest.raises(NotFound):
        trainings.delete_training(db.session, citizen, training)
    trainings.delete_training(db.session, org_admin, training)
    db.session.commit()
    assert _count() == 5


def test_gap_proposes_the_trainings_closing_the_most_missing_skills(admin, make_user):
    owner = make_user("ines@example.org")
    skill(owner, "Transmissions", HANDOVER)
    trainings.import_catalogue(db.session, admin, (GOOD + "Passée,X,,2020-01-01,2020-02-01,"
                                                   f"{HYGIENE},\n").encode())
    db.session.commit()
    hypothesis = path.create_hypothesis(db.session, owner, {"occupation": CARE_ASSISTANT})
    gap = path.gap(db.session, owner.portfolio, hypothesis)
    found = path.trainings_for(db.session, gap["missing"])
    assert [(entry["training"].title, [e["concept_uri"] for e in entry["closes"]]) for entry in found] == [
        ("DEAS", [HYGIENE, MOBILITY]), ("Gestes et postures", [MOBILITY])]  # the past one and the one
    # covering only a skill Inès has are left out


def test_cli_import(admin, app, tmp_path):
    path_ = tmp_path / "catalogue.csv"
    path_.write_text(GOOD, encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["trainings", "import", str(path_)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == str(db.session.scalar(select(Training.import_id).limit(1)))
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "A,,,2027-02-30,,,\n", encoding="utf-8")
    result = runner.invoke(args=["trainings", "import", str(bad)])
    assert result.exit_code == 1 and "Line 2" in result.output
    result = runner.invoke(args=["trainings", "import", str(path_), "--org", "nonsense"])
    assert result.exit_code != 0 and "No organisation" in result.output


def _headers(person) -> dict:
    _, raw = tokens.create_token(db.session, person, "tests")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_api(admin, client, make_user):
    citizen_headers = _headers(make_user("citizen@example.org"))
    headers = _headers(admin)
    upload = {"file": (io.BytesIO(GOOD.encode()), "catalogue.csv")}
    response = client.post("/api/v1/trainings", data=upload, headers=citizen_headers,
                           content_type="multipart/form-data")
    assert response.status_code == 404 and response.json["error"] == "not_found"
    response = client.post("/api/v1/trainings", data={"file": (io.BytesIO(GOOD.encode()), "c.csv")},
                           headers=headers, content_type="multipart/form-data")
    assert response.status_code == 201 and response.json["created"] == 3
    bad = {"file": (io.BytesIO((HEADER + "A,,,2027-02-30,,,\n").encode()), "c.csv")}
    response = client.post("/api/v1/trainings", data=bad, headers=headers, content_type="multipart/form-data")
    assert response.status_code == 422 and response.json["error"] == "invalid_catalogue"
    assert "Line 2" in response.json["message"]
    response = client.post("/api/v1/trainings", json={"file": "x"}, headers=headers)
    assert response.status_code == 422
    listed = client.get(f"/api/v1/trainings?skill={MOBILITY}", headers=citizen_headers).json["items"]
    assert [t["title"] for t in listed] == ["DEAS", "Gestes et postures"]
    assert client.get("/api/v1/trainings?q=brest", headers=citizen_headers).json["items"][0]["place"] == "Brest"
    one = client.get(f"/api/v1/trainings/{listed[0]['id']}", headers=citizen_headers)
    assert one.status_code == 200 and one.json["link"] == "https://ifas.example/deas"
    assert client.get("/api/v1/trainings/nonsense", headers=citizen_headers).status_code == 404
    assert client.get("/api/v1/trainings?limit=0", headers=citizen_headers).status_code == 422
    assert client.delete(f"/api/v1/trainings/{listed[0]['id']}", headers=citizen_headers).status_code == 404
    assert client.delete(f"/api/v1/trainings/{listed[0]['id']}", headers=headers).status_code == 204


def test_pages(admin, client, make_user):
    make_user("citizen@example.org")
    login(client, "citizen@example.org")
    assert client.get("/trainings/import").status_code == 404
    assert client.get("/trainings").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/trainings"))})
    login(client, admin.email)
    page = client.get("/trainings/import")
    assert page.status_code == 200
    response = client.post("/trainings/import", data={
        "csrf_token": csrf_token(page), "publisher": "platform",
        "file": (io.BytesIO((GOOD + "B,,,2027-02-30,,,\n").encode()), "c.csv")}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Line 5" in response.get_data(as_text=True) and _count() == 0
    response = client.post("/trainings/import", data={
        "csrf_token": csrf_token(page), "publisher": "platform",
        "file": (io.BytesIO(GOOD.encode()), "c.csv")}, content_type="multipart/form-data")
    assert response.status_code == 302 and _count() == 3
    listing = client.get("/trainings?q=IFAS").get_data(as_text=True)
    assert "DEAS" in listing and "Gestes et postures" not in listing
    response = client.post("/trainings/import", data={"publisher": "platform",
                                                      "file": (io.BytesIO(GOOD.encode()), "c.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400  # no CSRF token
