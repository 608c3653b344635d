"""Institutions: roster preview/import (bad inputs refused, re-import adds/moves/ends), activation codes
(reused, expired, guessed), group sharing through the policy, heads confined to their own school."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.models import Grant, Membership, Organisation
from app.models.institutions import ActivationCode, Enrolment, Group
from app.services import batches, grants, institutions, orgs, rosters
from app.services.errors import ServiceError

HEADER = "nom;prénom;date_naissance;classe;email;ine;email_responsable\n"


def school(make_user, name="Lycée Exemple", head_email=None):
    head = make_user(head_email or f"head-{uuid.uuid4().hex[:6]}@lycee.example")
    org = orgs.create_organisation(db.session, policy.OPERATOR,
                                   {"name": name, "kind": "school", "website": "",
                                    "contact_email": head.email}, admin=head, approve=True)
    db.session.flush()
    membership = db.session.scalars(select(Membership).where(Membership.organisation_id == org.id)).one()
    membership.role = "head"
    db.session.commit()
    return org, head


def run_import(head, org, text, encoding="utf-8"):
    batch = rosters.start_import(db.session, head, org, text.encode(encoding))
    db.session.commit()
    return batches.run_batch(batch.id)


def test_preview_and_import_then_reimport_adds_moves_ends(app, make_user):
    org, head = school(make_user)
    existing = make_user("ines@example.org")
    text = (HEADER + "Martin;Léo;12/03/2012;5e B;;1234567890V;parent@example.org\n"
            "Durand;Inès;01/02/2008;5e B;ines@example.org;;\n"
            "Petit;Zoé;2011-05-06;5e A;;;\n")
    preview = rosters.preview(db.session, head, org, text.encode("cp1252"))
    assert preview["valid"] and preview["counts"]["add"] == 2 and preview["counts"]["invite"] == 1
    # Inès has an account but no tie to this school yet: counted, not named (review 14, L13).
    ines_row = [r for r in preview["rows"] if r["email"] == "ines@example.org"][0]
    assert not ines_row["existing_account"] and ines_row["action"] == "add"
    assert db.session.scalar(select(Enrolment.id)) is None  # the preview changed nothing
    batch = run_import(head, org, text, "cp1252")
    assert batch.status == "done" and batch.failed_count == 0
    rows = {e.given_name: e for e in db.session.scalars(select(Enrolment))}
    assert set(rows) == {"Léo", "Inès", "Zoé"}
    assert rows["Inès"].invited_user_id == existing.id and rows["Inès"].user_id is None  # never silently
    assert rows["Léo"].guardian_emails == ["parent@example.org"]
    # Same file again: same batch, nothing duplicated.
    again = rosters.start_import(db.session, head, org, text.encode("cp1252"))
    assert again.id == batch.id
    # Updated roster: Léo moves, Zoé left, a newcomer.
    updated = (HEADER + "Martin;Léo;12/03/2012;4e A;;1234567890V;\n"
               "Durand;Inès;01/02/2008;5e B;ines@example.org;;\n"
               "Nouveau;Sam;01/01/2012;4e A;;;\n")
    preview = rosters.preview(db.session, head, org, updated.encode())
    assert preview["counts"] == {"add": 1, "invite": 0, "move": 1, "keep": 1, "return": 0, "error": 0, "end": 1}
    run_import(head, org, updated)
    enrolments = list(db.session.scalars(select(Enrolment)))
    assert len(enrolments) == 4
    by_name = {e.given_name: e for e in enrolments}
    assert by_name["Léo"].group.name == "4e A" and by_name["Zoé"].ended_at is not None


@pytest.mark.parametrize("text, code", [
    (b"\xff\xfe\x00n\x00o\x00m", "bad_encoding"),
    ("nom;prénom;classe\nA;B;C\n".encode(), "missing_columns"),
    (b"", "empty_file"),
])
def test_file_level_faults_are_refused(app, make_user, text, code):
    org, head = school(make_user)
    with pytest.raises(ServiceError) as caught:
        rosters.preview(db.session, head, org, text)
    assert caught.value.code == code


def test_row_faults_refuse_the_whole_import(app, make_user):
    org, head = school(make_user)
    future = (date.today() + timedelta(days=30)).strftime("%d/%m/%Y")
    text = (HEADER + "A;Un;01/01/2010;5e;;12345;\n"                   # invalid INE
            f"B;Deux;{future};5e;;;\n"                                # future birth date
            "C;Trois;01/01/2010;5e;c@example.org;;c@example.org\n"   # guardian = pupil
            "D;Quatre;01/01/2010;5e;;;\n"
            "D;Quatre;01/01/2010;5e;;;\n"                             # same pupil twice
            "E;Cinq;pas une date;5e;;;\n")
    preview = rosters.preview(db.session, head, org, text.encode())
    errors = {r["line"]: " ".join(r["errors"]) for r in preview["rows"] if r["errors"]}
    assert set(errors) == {2, 3, 4, 6, 7}
    # The messages follow the default locale (French here): the checks hold in English too.
    assert "INE" in errors[2] and "futur" in errors[3] and ("responsable" in errors[4] or "guardian" in errors[4])
    assert "5" in errors[6] and "date" in errors[7]
    with pytest.raises(ServiceError) as caught:
        rosters.start_import(db.session, head, org, text.encode())
    assert caught.value.code == "roster_errors"
    assert db.session.scalar(select(Enrolment.id)) is None


def test_rows_that_would_merge_or_lose_data_are_refused(app, make_user):
    """The same pupil once with an e-mail and once without (the import would merge them silently), a
    guardian e-mail split by the file's own separator (the second one would be dropped), a birth date more
    than 120 years ago (a typing slip)."""
    org, head = school(make_user)
    text = (HEADER + "Durand;Ana;12/03/2010;5e;ana@example.org;;\n"
            "DURAND;Âna;12/03/2010;5e B;;;\n"                          # the same, no e-mail
            "Roux;Léa;01/01/2010;5e;;;a@example.org;b@example.org\n"  # two guardians split by ";"
            "Vieux;Jean;01/01/1890;5e;;;\n"
            "Twin;Sam;01/01/2010;5e;;1234567890V;\n"
            f"Twin;Sam;01/01/2010;5e;;{'1234567891'}{rosters.bea_letter('1234567891')};\n"  # two INEs: two people
            "Trail;Max;01/01/2010;5e;;;;;\n")                           # empty trailing cells are fine
    preview = rosters.preview(db.session, head, org, text.encode())
    errors = {r["line"]: " ".join(r["errors"]) for r in preview["rows"] if r["errors"]}
    assert set(errors) == {3, 4, 5}
    assert "2" in errors[3] and ";" in errors[4] and "120" in errors[5]


def test_english_headers_commas_and_several_guardians(app, make_user):
    org, head = school(make_user)
    text = ("family_name,given_name,birth_date,group,email,guardian_email\n"
            'Martin,Léo,2012-03-12,Year 8,,"mum@example.org, dad@example.org"\n'
            "Petit,Zoé,2011-05-06,Year 8,zoe@example.org,\n")
    preview = rosters.preview(db.session, head, org, text.encode())
    assert preview["valid"] and preview["counts"]["add"] == 2
    run_import(head, org, text)
    leo = db.session.scalars(select(Enrolment).where(Enrolment.given_name == "Léo")).one()
    assert leo.guardian_emails == ["mum@example.org", "dad@example.org"] and leo.group.name == "Year 8"


def test_a_roster_of_5000_in_one_batch_and_the_size_limits(app, make_user, monkeypatch):
    org, head = school(make_user)
    lines = [HEADER] + [f"Nom{i};Prénom{i};01/01/2010;{i % 150}e;;;\n" for i in range(5000)]
    batch = run_import(head, org, "".join(lines))
    assert batch.status == "done" and batch.failed_count == 0
    assert db.session.query(Enrolment).count() == 5000
    monkeypatch.setattr(rosters, "MAX_ROWS", 10)
    with pytest.raises(ServiceError) as caught:
        rosters.preview(db.session, head, org, "".join(lines[:12]).encode())
    assert caught.value.code == "too_many_rows"
    with pytest.raises(ServiceError) as caught:
        rosters.preview(db.session, head, org, HEADER.encode() + b" " * (rosters.MAX_BYTES + 1))
    assert caught.value.code == "file_too_large"
    assert db.session.query(Enrolment).count() == 5000  # nothing changed by the refusals


def test_head_of_one_school_cannot_act_on_another(app, make_user):
    org_a, head_a = school(make_user, "Lycée A")
    org_b, head_b = school(make_user, "Lycée B")
    group_b = institutions.create_group(db.session, org_b, name="2nde 1")
    db.session.commit()
    with pytest.raises(ServiceError) as caught:
        rosters.preview(db.session, head_a, org_b, (HEADER + "A;B;01/01/2010;5e;;;\n").encode())
    assert caught.value.code == "not_head"
    with pytest.raises(ServiceError):
        institutions.headed(db.session, head_a, org_b.id)
    with pytest.raises(ServiceError) as caught:  # through their own school, the other's group is not found
        institutions.group_of(db.session, org_a, group_b.id)
    assert caught.value.code == "not_found"


def enrol_one(make_user, text_row="Martin;Léo;12/03/2012;5e B;;;\n"):
    org, head = school(make_user)
    run_import(head, org, HEADER + text_row)
    enrolment = db.session.scalars(select(Enrolment)).one()
    return org, head, enrolment


def test_activation_code_works_once_and_sets_birth_date(app, make_user):
    org, head, enrolment = enrol_one(make_user)
    code = institutions.new_code(db.session, enrolment)
    db.session.commit()
    user = institutions.activate(db.session, institutions.format_code(code), email="leo@example.org",
                                 password="a long enough passphrase 42")
    db.session.commit()
    assert user.birth_date == date(2012, 3, 12) and enrolment.user_id == user.id and enrolment.status == "active"
    with pytest.raises(ServiceError) as caught:
        institutions.activate(db.session, code, email="other@example.org", password="a long enough passphrase 42")
    assert caught.value.code == "invalid_code"


def test_expired_superseded_and_guessed_codes_are_refused(app, make_user):
    org, head, enrolment = enrol_one(make_user)
    first = institutions.new_code(db.session, enrolment)
    second = institutions.new_code(db.session, enrolment)  # a reprinted letter supersedes the first
    db.session.commit()
    for raw in (first, "ABCDE-FGHJK", "short", ""):
        with pytest.raises(ServiceError) as caught:
            institutions.find_code(db.session, raw)
        assert caught.value.code == "invalid_code"
    row = db.session.scalars(select(ActivationCode).where(ActivationCode.used_at.is_(None))).one()
    row.expires_at = row.created_at - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(ServiceError):
        institutions.find_code(db.session, second)


def test_existing_account_joins_only_by_confirming(app, make_user):
    existing = make_user("leo@example.org")
    org, head, enrolment = enrol_one(make_user, "Martin;Léo;12/03/2012;5e B;leo@example.org;;\n")
    assert enrolment.invited_user_id == existing.id and enrolment.user_id is None
    code = institutions.new_code(db.session, enrolment, purpose="join")
    institutions.join(db.session, existing, code)
    db.session.commit()
    assert enrolment.user_id == existing.id and existing.birth_date == date(2012, 3, 12)


def test_group_grant_reaches_its_staff_only_and_ends_with_the_affiliation(app, make_user):
    org, head, enrolment = enrol_one(make_user)
    pupil = make_user("leo@example.org")
    institutions.join(db.session, pupil, institutions.new_code(db.session, enrolment))
    teacher, counsellor, outsider = (make_user("prof@lycee.example"), make_user("cpe@lycee.example"),
                                     make_user("prof2@lycee.example"))
    group = enrolment.group
    other_group = institutions.create_group(db.session, org, name="4e C")
    institutions.add_staff(db.session, org, group, email=teacher.email, role="teacher")
    institutions.add_staff(db.session, org, group, email=counsellor.email, role="counsellor")
    institutions.add_staff(db.session, org, other_group, email=outsider.email, role="teacher")
    db.session.commit()
    portfolio = pupil.portfolio
    assert not policy.can(teacher, "read", portfolio)  # nothing by default
    grant = institutions.share_with_group(db.session, pupil, group_id=group.id, group_role="teacher")
    db.session.commit()
    assert policy.can(teacher, "read", portfolio)
    assert not policy.can(counsellor, "read", portfolio)  # the grant names teachers only
    assert not policy.can(outsider, "read", portfolio)    # a teacher of another group
    assert [u.email for u, _ in institutions.reached(db.session, grant)] == [teacher.email]
    assert grants.shared_with(db.session, teacher) == [grant]
    with pytest.raises(ServiceError):  # a group the pupil is not in
        institutions.share_with_group(db.session, pupil, group_id=other_group.id)
    institutions.end_enrolment(db.session, enrolment, "moved away", notify=False)
    db.session.commit()
    assert not policy.can(teacher, "read", portfolio)
    assert db.session.get(Grant, grant.id).revoked_at is not None
    assert pupil.portfolio is not None and enrolment.ended_at is not None  # the account stays


def test_leaving_names_the_staff_still_shared_with_directly(app, make_user):
    """A grant the pupil gave a teacher by name is the pupil's choice of a person: it stays, and the
    leaving notice names it (the group grant ends)."""
    from tests.test_auth import outbox
    org, head, enrolment = enrol_one(make_user)
    pupil = make_user("leo@example.org")
    institutions.join(db.session, pupil, institutions.new_code(db.session, enrolment))
    teacher = make_user("prof@lycee.example")
    institutions.add_staff(db.session, org, enrolment.group, email=teacher.email, role="teacher")
    db.session.commit()
    group_grant = institutions.share_with_group(db.session, pupil, group_id=enrolment.group.id,
                                                group_role="teacher")
    direct, _ = grants.invite(db.session, pupil, email=teacher.email, role="viewer")
    db.session.commit()
    before = len(outbox(app))
    institutions.end_enrolment(db.session, enrolment, "moved away")
    db.session.commit()
    assert db.session.get(Grant, group_grant.id).revoked_at is not None
    assert db.session.get(Grant, direct.id).revoked_at is None
    notices = [m.get_body(("plain",)).get_content() for m in outbox(app)[before:] if m["To"] == pupil.email]
    assert len(notices) == 1 and "prof@lycee.example" in notices[0]


def test_letters_one_page_per_pending_pupil(app, make_user):
    from cv_templates import pdf
    if not pdf.available():
        pytest.skip(f"WeasyPrint unavailable: {pdf.unavailable_reason()}")
    org, head = school(make_user)
    run_import(head, org, HEADER + "".join(f"Nom{i};Prénom{i};01/01/2010;5e B;;;\n" for i in range(3)))
    group = db.session.scalars(select(Group)).one()
    data, count = institutions.letters(db.session, org, group, base_url="https://sillage.example")
    assert count == 3 and data.startswith(b"%PDF")
    text = pdf.text_of(data)
    assert "https://sillage.example/activate" in text and "Prénom1 Nom1" in text
    assert db.session.scalar(select(ActivationCode.id).where(ActivationCode.used_at.is_(None))) is not None


def test_namesakes_with_different_ine_are_two_pupils(app, make_user):
    org, head = school(make_user)
    text = (HEADER + "Martin;Léo;12/03/2012;5e B;;1234567890V;\n"
            "Martin;Léo;12/03/2012;5e C;;0123456789M;\n")
    assert rosters.preview(db.session, head, org, text.encode())["counts"]["add"] == 2
    run_import(head, org, text)
    assert sorted(e.group.name for e in db.session.scalars(select(Enrolment))) == ["5e B", "5e C"]


def test_a_code_spent_by_a_racing_request_is_refused(app, make_user):
    """Review 14, L2: two requests read the same unused code; the second to spend it is refused."""
    from sqlalchemy import update
    from app.models.institutions import ActivationCode
    org, head, enrolment = enrol_one(make_user)
    code = institutions.new_code(db.session, enrolment)
    db.session.commit()
    row = institutions.find_code(db.session, code)  # both requests got this far
    db.session.execute(update(ActivationCode).where(ActivationCode.id == row.id)
                       .values(used_at=institutions.utcnow()).execution_options(synchronize_session=False))
    assert row.used_at is None  # this request has not seen the other one's write
    with pytest.raises(ServiceError) as refused:
        institutions.activate(db.session, code, email="leo@example.org", password="a long enough passphrase 42")
    assert refused.value.code == "invalid_code"


def test_a_pupil_moved_to_another_group_stops_sharing_with_the_old_one(app, make_user):
    """Review 14, L7: the old group's teachers lose access when a roster moves the pupil, as on leaving."""
    org, head, enrolment = enrol_one(make_user)
    pupil = make_user("leo@example.org")
    institutions.join(db.session, pupil, institutions.new_code(db.session, enrolment))
    teacher = make_user("prof@lycee.example")
    institutions.add_staff(db.session, org, enrolment.group, email=teacher.email, role="teacher")
    grant = institutions.share_with_group(db.session, pupil, group_id=enrolment.group.id)
    db.session.commit()
    assert policy.can(teacher, "read", pupil.portfolio)
    run_import(head, org, HEADER + "Martin;Léo;12/03/2012;4e C;;;\n")
    db.session.expire_all()
    assert db.session.get(Enrolment, enrolment.id).group.name == "4e C"
    assert db.session.get(Grant, grant.id).revoked_at is not None
    assert not policy.can(teacher, "read", db.session.get(type(pupil), pupil.id).portfolio)


def test_a_closed_institutions_staff_reach_nothing(app, make_user):
    """Review 14, L8: the group grant stops reaching the staff of a closed (or no longer approved) school."""
    org, head, enrolment = enrol_one(make_user)
    pupil = make_user("leo@example.org")
    institutions.join(db.session, pupil, institutions.new_code(db.session, enrolment))
    teacher = make_user("prof@lycee.example")
    institutions.add_staff(db.session, org, enrolment.group, email=teacher.email, role="teacher")
    institutions.share_with_group(db.session, pupil, group_id=enrolment.group.id)
    db.session.commit()
    assert policy.can(teacher, "read", pupil.portfolio)
    org.closed_at = institutions.utcnow()
    db.session.commit()
    assert not policy.can(teacher, "read", pupil.portfolio) and grants.shared_with(db.session, teacher) == []
    org.closed_at, org.status = None, "refused"
    db.session.commit()
    assert not policy.can(teacher, "read", pupil.portfolio)
