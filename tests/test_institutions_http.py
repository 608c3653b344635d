"""Institutions through HTTP: the head's pages (preview → import → progress, letters), the activation page
(code reused, guessed, rate-limited), the API (roster dry run and job, another school's head refused,
teacher reading a portfolio not shared with their group), and ``sillage roster``."""
from __future__ import annotations

import io

from sqlalchemy import select

from app.extensions import db
from app.models import Grant
from app.models.institutions import Enrolment
from app.services import institutions
from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_api_orgs import personal
from tests.test_institutions import HEADER, run_import, school

ROSTER = (HEADER + "Martin;Léo;12/03/2012;5e B;;1234567890V;parent@example.org\n"
          "Petit;Zoé;2011-05-06;5e B;zoe@example.org;;\n").encode()


def test_head_pages_preview_import_progress(client, make_user):
    org, head = school(make_user)
    login(client, head.email)
    page = client.get(f"/institutions/{org.id}")
    assert page.status_code == 200
    response = client.post(f"/institutions/{org.id}/roster", data={
        "csrf_token": csrf_token(page), "file": (io.BytesIO(ROSTER), "roster.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 200 and b'data-count="add">2<' in response.data
    assert db.session.scalar(select(Enrolment.id)) is None
    digest = response.data.split(b"/roster/")[1].split(b"/import")[0].decode()
    done = client.post(f"/institutions/{org.id}/roster/{digest}/import",
                       data={"csrf_token": csrf_token(response)}, follow_redirects=True)
    assert done.status_code == 200 and b'data-status="done"' in done.data and b'data-action="add" data-count="2"' in done.data
    assert len(db.session.scalars(select(Enrolment)).all()) == 2


def test_other_schools_head_gets_404_on_pages_and_api(client, make_user):
    org_a, head_a = school(make_user, "Lycée A")
    org_b, head_b = school(make_user, "Lycée B")
    group_b = institutions.create_group(db.session, org_b, name="2nde 1")
    db.session.commit()
    login(client, head_a.email)
    assert client.get(f"/institutions/{org_b.id}").status_code == 404
    assert client.get(f"/institutions/{org_b.id}/groups/{group_b.id}").status_code == 404
    headers = personal(head_a)
    response = client.post(f"/api/v1/orgs/{org_b.id}/groups/{group_b.id}/staff", headers=headers,
                           json={"email": head_a.email, "role": "teacher"})
    assert response.status_code == 403 and response.json["error"] == "not_head"
    # Through their own school's id, the other's group does not exist.
    response = client.get(f"/api/v1/orgs/{org_a.id}/groups/{group_b.id}", headers=headers)
    assert response.status_code == 404 and response.json["error"] == "not_found"


def test_api_roster_dry_run_import_job_and_refusals(client, make_user):
    org, head = school(make_user)
    headers = personal(head)
    url = f"/api/v1/orgs/{org.id}/roster"
    dry = client.post(url, headers=headers, data={"file": (io.BytesIO(ROSTER), "r.csv"), "dry_run": "1"},
                      content_type="multipart/form-data")
    assert dry.status_code == 200 and dry.json["counts"]["add"] == 2
    bad = client.post(url, headers=headers, content_type="multipart/form-data", data={
        "file": (io.BytesIO(HEADER.encode() + "A;B;01/01/2010;5e;;XX;\n".encode()), "r.csv")})
    assert bad.status_code == 422 and bad.json["error"] == "roster_errors"
    missing = client.post(url, headers=headers, content_type="multipart/form-data", data={
        "file": (io.BytesIO(b"name;x\n1;2\n"), "r.csv")})
    assert missing.status_code == 422 and missing.json["error"] == "missing_columns"
    started = client.post(url, headers=headers, data={"file": (io.BytesIO(ROSTER), "r.csv")},
                          content_type="multipart/form-data")
    assert started.status_code == 202, started.json
    job = client.get(f"{url}/{started.json['job']}", headers=headers)
    assert job.json["status"] == "done" and job.json["actions"] == {"add": 2}
    # Zoé has an e-mail: her activation code was mailed (outbox); Léo's comes by letter.
    zoe = db.session.scalars(select(Enrolment).where(Enrolment.given_name == "Zoé")).one()
    assert client.get(f"/api/v1/orgs/{org.id}/groups", headers=headers).json["items"][0]["name"] == "5e B"
    assert zoe.status == "pending"


def test_activation_page_code_once_and_guessing_limited(client, make_user, app):
    org, head = school(make_user)
    run_import(head, org, ROSTER.decode())
    leo = db.session.scalars(select(Enrolment).where(Enrolment.given_name == "Léo")).one()
    code = institutions.new_code(db.session, leo)
    db.session.commit()
    page = client.get(f"/activate?code={code}")
    assert code.encode() in page.data
    data = {"csrf_token": csrf_token(page), "code": code, "email": "leo@example.org",
            "password": "a long enough passphrase 42"}
    assert client.post("/activate", data=data).status_code == 302
    again = client.post("/activate", data={**data, "email": "leo2@example.org"})
    assert again.status_code == 400 and "a déjà servi".encode() in again.data
    statuses = [client.post("/activate", data={**data, "code": f"AAAAA-{i:05d}"}).status_code for i in range(12)]
    assert 429 in statuses  # guessing is rate-limited


def test_teacher_reads_only_what_is_shared_with_their_group(client, make_user):
    org, head = school(make_user)
    run_import(head, org, ROSTER.decode())
    leo = db.session.scalars(select(Enrolment).where(Enrolment.given_name == "Léo")).one()
    pupil = make_user("leo@example.org")
    institutions.join(db.session, pupil, institutions.new_code(db.session, leo))
    teacher = make_user("prof@lycee.example")
    institutions.add_staff(db.session, org, leo.group, email=teacher.email, role="teacher")
    other = institutions.create_group(db.session, org, name="3e A")
    db.session.commit()
    login(client, pupil.email)
    page = client.get("/institutions")
    assert str(leo.group.id).encode() in page.data
    # The teacher has nothing until the pupil shares.
    teacher_headers = personal(teacher)
    response = client.post("/api/v1/me/group-shares", headers=personal(pupil),
                           json={"group_id": str(other.id)})  # not the pupil's group
    assert response.status_code == 404
    response = client.post("/institutions/share", data={"csrf_token": csrf_token(page),
                                                       "group_id": str(leo.group.id), "group_role": "counsellor"})
    assert response.status_code == 302
    assert institutions.shared_with_staff(db.session, teacher) == []  # shared with counsellors only
    counsellors_grant = db.session.scalars(select(Grant).where(Grant.group_id == leo.group.id)).one()
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/institutions"))})
    login(client, teacher.email)
    assert client.get(f"/shared/{counsellors_grant.id}").status_code == 404  # not shared with teachers
    assert client.get(f"/api/v1/orgs/{org.id}/groups", headers=teacher_headers).status_code == 403
    response = client.post("/api/v1/me/group-shares", headers=personal(pupil),
                           json={"group_id": str(leo.group.id), "group_role": "teacher"})
    assert response.status_code == 201 and response.json["reaches"] == ["prof@lycee.example"]
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/institutions"))})
    login(client, pupil.email)
    sharing = client.get("/portfolio/sharing")
    assert "Enseignant·es de 5e B".encode() in sharing.data and b"prof@lycee.example" in sharing.data
    client.post("/logout", data={"csrf_token": csrf_token(sharing)})
    login(client, teacher.email)
    shared = client.get(f"/shared/{response.json['id']}")
    assert shared.status_code == 200
    assert response.json["id"].encode() in client.get("/institutions").data


def test_cli_roster_import_and_letters(app, make_user, tmp_path):
    from cv_templates import pdf
    org, head = school(make_user)
    path = tmp_path / "roster.csv"
    path.write_bytes(ROSTER)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["roster", "import", "--org", str(org.id), str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.strip().splitlines()[-1] == "2"  # the last line: the number alone, for scripts
    done = runner.invoke(args=["roster", "import", "--org", str(org.id), str(path)])
    assert done.exit_code == 0, done.output
    assert done.output.strip().splitlines()[-1] == "2"
    again = runner.invoke(args=["roster", "import", "--org", str(org.id), str(path)])
    assert again.output.strip().splitlines()[-1] == "0"  # the same file: nothing twice
    # An updated file: the preview names who leaves; an address with an account elsewhere is invited, not
    # enrolled, and only counted (review 14, L13: the preview is no account oracle).
    make_user("tom@example.org")
    path.write_bytes((HEADER + "Martin;Léo;12/03/2012;5e B;;1234567890V;parent@example.org\n"
                      "Blanc;Tom;2011-01-02;5e B;tom@example.org;;\n").encode())
    update = runner.invoke(args=["roster", "import", "--org", str(org.id), str(path), "--dry-run"])
    assert update.exit_code == 0, update.output
    assert "leaves: Zoé Petit" in update.output and "invite: 1" in update.output
    assert "tom@example.org" not in update.output and "Tom Blanc" not in update.output
    assert update.output.strip().splitlines()[-1] == "0"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(HEADER.encode() + b"A;B;01/01/2999;5e;;;\n")
    refused = runner.invoke(args=["roster", "import", "--org", str(org.id), str(bad)])
    assert refused.exit_code != 0 and "futur" in refused.output
    if pdf.available():
        out = tmp_path / "letters.pdf"
        letters = runner.invoke(args=["roster", "letters", "--org", str(org.id), "--group", "5e B", "--out", str(out)])
        assert letters.exit_code == 0, letters.output
        assert out.read_bytes().startswith(b"%PDF") and letters.output.strip().endswith("letters: 2")


def test_roster_files_leave_the_disk(client, app, make_user):
    """Review 14, L5: a preview with errors is not kept, a confirmed or refused import deletes its file, and
    previews nobody confirmed within the hour are swept."""
    import hashlib
    import os
    from pathlib import Path
    org, head = school(make_user)
    login(client, head.email)
    page = client.get(f"/institutions/{org.id}")
    folder = Path(app.instance_path) / "rosters" / str(org.id)

    def preview(data: bytes):
        return client.post(f"/institutions/{org.id}/roster", data={
            "csrf_token": csrf_token(page), "file": (io.BytesIO(data), "roster.csv")},
            content_type="multipart/form-data")

    bad = ROSTER.replace(b"2011-05-06", b"2099-05-06")
    assert preview(bad).status_code == 200
    assert not (folder / f"{hashlib.sha256(bad).hexdigest()}.csv").exists()
    stale = folder / ("0" * 64 + ".csv")
    stale.write_bytes(bad)
    os.utime(stale, (0, 0))
    refused = folder / ("1" * 64 + ".csv")
    refused.write_bytes(bad)  # e.g. a file that became invalid: the import refuses it
    response = preview(ROSTER)
    good = folder / f"{hashlib.sha256(ROSTER).hexdigest()}.csv"
    assert good.exists() and not stale.exists() and refused.exists()
    client.post(f"/institutions/{org.id}/roster/{'1' * 64}/import", data={"csrf_token": csrf_token(response)})
    assert not refused.exists() and db.session.scalar(select(Enrolment.id)) is None
    client.post(f"/institutions/{org.id}/roster/{good.stem}/import", data={"csrf_token": csrf_token(response)})
    assert not good.exists() and len(db.session.scalars(select(Enrolment)).all()) == 2


def test_refused_head_forms_keep_what_was_typed_and_say_which_field(client, make_user):
    """A refused group, staff or partner form answers the page again with its status, the field's own message
    (not the bare "Some information is not valid.") and the typed value; a 20-digit year is a message, not
    the 500 the database's integer overflow gave; nothing is saved."""
    from app.models.institutions import Group
    org, head = school(make_user)
    login(client, head.email)
    token = csrf_token(client.get(f"/institutions/{org.id}"))
    page = client.post(f"/institutions/{org.id}/groups",
                       data={"csrf_token": token, "name": "5e C", "year": "99999999999999999999"})
    assert page.status_code == 422
    assert "L’année doit être comprise entre 1900 et 2200.".encode() in page.data
    assert b'value="5e C"' in page.data and b'value="99999999999999999999"' in page.data
    assert db.session.scalars(select(Group).where(Group.name == "5e C")).first() is None
    for path, field in (("staff", "staff-email"), ("partners", "partner-email")):
        page = client.post(f"/institutions/{org.id}/{path}", data={"csrf_token": token, "email": "prof-at-school",
                                                                   "role": "teacher"})
        assert page.status_code == 422, path
        assert "Adresse électronique non valide.".encode() in page.data
        assert f'id="{field}" name="email" type="email" required value="prof-at-school"'.encode() in page.data


def test_activation_asks_the_password_twice(client, make_user):
    org, head = school(make_user)
    run_import(head, org, ROSTER.decode())
    leo = db.session.scalars(select(Enrolment).where(Enrolment.given_name == "Léo")).one()
    code = institutions.new_code(db.session, leo)
    db.session.commit()
    data = {"csrf_token": csrf_token(client.get("/activate")), "code": code, "email": "leo@example.org",
            "password": "a long enough passphrase 42", "password_confirm": "a long enough passphrase 43"}
    page = client.post("/activate", data=data)
    assert page.status_code == 422 and b'value="leo@example.org"' in page.data
    assert "Les deux mots de passe sont différents.".encode() in page.data
    db.session.refresh(leo)
    assert leo.user_id is None  # the code is not spent
    assert client.post("/activate", data={**data, "password_confirm": data["password"]}).status_code == 302
