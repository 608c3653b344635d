"""Review 14, M5: under 15, a grant to someone outside the pupil's institutions (viewer, contributor,
certifier) waits for a guardian's consent like a share link; inside the institution it does not."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.services import grants, guardians, institutions
from app.services.errors import Forbidden
from tests.test_guardians import bearer
from tests.test_institutions import enrol_one
from tests.test_minors import guardian_of, years_ago


def test_a_minor_waits_for_consent_before_granting_an_outsider(app, client, make_user):
    org, head, enrolment = enrol_one(make_user, f"Martin;Léo;{years_ago(13):%d/%m/%Y};5e B;;;\n")
    pupil = make_user("leo@example.org")
    institutions.join(db.session, pupil, institutions.new_code(db.session, enrolment))
    pupil.birth_date = years_ago(13)
    teacher = make_user("prof@lycee.example")
    institutions.add_staff(db.session, org, enrolment.group, email=teacher.email, role="teacher")
    db.session.commit()
    for role in ("viewer", "contributor", "certifier"):
        with pytest.raises(Forbidden) as refused:
            grants.invite(db.session, pupil, email="stranger@example.com", role=role)
        assert refused.value.code == "guardian_consent_required"
        db.session.rollback()
    answer = client.post("/api/v1/grants", headers=bearer(pupil),
                         json={"email": "stranger@example.com", "role": "viewer"})
    assert answer.status_code == 403 and answer.get_json()["error"] == "guardian_consent_required"
    grants.invite(db.session, pupil, email=teacher.email, role="certifier")  # inside the school: no consent
    db.session.commit()
    guardian = guardian_of(make_user, pupil)
    guardians.decide(db.session, guardian, pupil, "share_link", "granted")
    db.session.commit()
    grants.invite(db.session, pupil, email="stranger@example.com", role="viewer")
    with pytest.raises(Forbidden):  # a certifier outside also needs the consent to outside attestations
        grants.invite(db.session, pupil, email="coach@example.com", role="certifier")
    db.session.rollback()
    viewer = grants.invite(db.session, pupil, email="coach@example.com", role="viewer")[0]
    with pytest.raises(Forbidden):  # nor by changing a viewer's role
        grants.change(db.session, pupil, viewer, role="certifier")
