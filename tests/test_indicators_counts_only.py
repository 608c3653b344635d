"""Counts only: seed distinctive strings in every kind of portfolio content, then scan every indicator
page, CSV export and API answer (platform and organisation, every period): none may appear."""
from __future__ import annotations

from app import policy
from app.extensions import db
from app.models import Experience, Skill
from app.models.institutions import Enrolment
from app.services import documents, grants, indicators, institutions, orgs, pages, share_links, tokens
from app.services import portfolio as items
from tests.conftest import login

SECRETS = ("ZQXSECRETTITLE", "ZQXSECRETSKILL", "ZQXSECRETDOC", "ZQXSECRETDESC", "ZQXSECRETPAGE",
           "ZQXSECRETTAG", "ZQXSECRETMSG", "ZQXSECRETPUPIL", "ZQXSECRETIN")


def test_no_indicator_output_shows_portfolio_content(client, make_user):
    admin = make_user("root@platform.example")
    admin.is_admin = True
    pupil = make_user("pupil@lycee.example")
    org = orgs.create_organisation(db.session, policy.OPERATOR, {"name": "Lycée", "kind": "school",
                                   "contact_email": "c@lycee.example"}, admin=pupil, approve=True)
    items.create_item(db.session, pupil, Experience, {"kind": "job", "title": SECRETS[0],
                                                      "start_date": "2020-01-01", "description": SECRETS[3]})
    skill = items.create_item(db.session, pupil, Skill, {"name": SECRETS[1], "level": 3})
    documents.store(db.session, pupil, f"{SECRETS[2]}.txt", [b"hello " + SECRETS[3].encode()],
                    tags=[SECRETS[5].lower()], description=SECRETS[3])
    page = pages.create(db.session, pupil, {"title": SECRETS[4], "items": [{"type": "skill", "id": str(skill.id)}]})
    share_links.create(db.session, pupil, page=page, label="x")
    grants.invite(db.session, pupil, email="teacher@example.org", role="viewer", message=SECRETS[6])
    # The institution side: the pupil is enrolled (activated) in a group, a classmate is pending (names and
    # INE are the roster's personal data: never shown either), and the pupil shares with the group.
    group = institutions.create_group(db.session, org, name="4e B")
    db.session.add_all([
        Enrolment(organisation_id=org.id, group_id=group.id, family_name=SECRETS[7], given_name=SECRETS[7],
                  user_id=pupil.id, guardian_emails=[SECRETS[7].lower() + "@example.org"]),
        Enrolment(organisation_id=org.id, group_id=group.id, family_name=SECRETS[7], given_name="Zoé",
                  ine=SECRETS[8], email=SECRETS[7].lower() + "@eleve.example", guardian_emails=[])])
    db.session.flush()
    institutions.share_with_group(db.session, pupil, group_id=group.id)
    _t, raw = tokens.create_token(db.session, admin, "api")
    db.session.commit()
    # the service itself
    for org_arg, group_arg in ((None, None), (org, None), (org, group)):
        for days in (7, 30, 365):
            sections = indicators.compute(db.session, admin, org=org_arg, group=group_arg, days=days)
            blob = repr([(s.key, s.title, s.rows) for s in sections])
            assert not any(secret.lower() in blob.lower() for secret in SECRETS)
    login(client, admin.email)
    headers = {"Authorization": f"Bearer {raw}"}
    urls = []
    for days in ("7", "30", "365"):
        urls += [f"/admin/indicators?days={days}", f"/admin/indicators?days={days}&format=csv",
                 f"/admin/indicators?days={days}&org={org.id}", f"/organisations/{org.id}/indicators?days={days}",
                 f"/organisations/{org.id}/indicators?days={days}&format=csv",
                 f"/organisations/{org.id}/indicators?days={days}&group={group.id}",
                 f"/organisations/{org.id}/indicators?days={days}&group={group.id}&format=csv",
                 f"/admin/indicators?days={days}&org={org.id}&group={group.id}"]
    outputs = [client.get(url) for url in urls]
    outputs += [client.get(f"/api/v1/admin/indicators?days={d}", headers=headers) for d in ("7", "30", "365")]
    outputs += [client.get(f"/api/v1/admin/indicators.csv?days={d}", headers=headers) for d in ("7", "30", "365")]
    outputs += [client.get(f"/api/v1/orgs/{org.id}/indicators.csv?group={group.id}", headers=headers),
                client.get(f"/api/v1/orgs/{org.id}/indicators?group={group.id}", headers=headers)]
    group_body = outputs[-1].get_json()["indicators"]
    assert group_body["activation"]["values"] == {"activated": 1, "pending": 1, "suspended": 0}
    assert group_body["storage"]["values"]["documents"] == 1  # the group's pupil's document, counted only
    outputs += [client.get(f"/api/v1/orgs/{org.id}/indicators", headers=headers)]
    for response in outputs:
        assert response.status_code == 200
        text = response.get_data(as_text=True).lower()
        assert not any(secret.lower() in text for secret in SECRETS), response.request.path
    # and the figures are there: the seeded content was counted
    body = outputs[-1].get_json()["indicators"]
    assert body["storage"]["values"]["documents"] == 1 and body["sharing"]["values"]["grants_new"] == 2
    # and the by-group breakdown is among what was scanned: counts keyed by the group's id
    assert body["group_activated"]["values"] == {str(group.id): 1}
    assert body["group_pending"]["values"] == {str(group.id): 1}
    assert body["group_shares"]["values"] == {str(group.id): 1}
    assert body["activation"]["values"]["pending"] == 1 and body["enrolments"]["values"]["activated"] == 1
