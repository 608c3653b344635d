"""Issue 12 on the issuing issue's achievement form: alignments point to framework concepts. The form
offers a concept picker (script) and, without it, a concept's URI or id alone on a line is written out as
``label | URI | framework``; the achievement's OB 3.0 document then aligns with the concept."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Achievement
from app.services import achievements, frameworks
from tests.conftest import login
from tests.test_issuing_pages import client, post, two_orgs  # noqa: F401 - fixtures

SKILL = "https://w3id.org/sillage/frameworks/sample/skill/gestes-urgence"


def test_a_concept_alone_on_a_line_becomes_its_alignment(app, client, two_orgs):  # noqa: F811
    frameworks.load_bundled(db.session)
    db.session.commit()
    a = two_orgs["a"]
    login(client, a["admin"].email)
    url = f"/organisations/{a['org'].id}/achievements/new"
    form = client.get(url)
    assert b'data-mode="line"' in form.data and b'data-target="alignments"' in form.data
    domain = frameworks.get(db.session, "https://w3id.org/sillage/frameworks/socle-commun/D3")
    response = post(client, url, {
        "name": "PSC1", "description": "Premiers secours.", "criteria_narrative": "Formation suivie.",
        "kind": "Certificate",
        "alignments": f"  {SKILL}  \n{domain.id}\nEngagement | https://example.org/engagement | Autre"})
    assert response.status_code == 302, response.data[:2000]
    badge = db.session.scalars(select(Achievement).where(Achievement.name == "PSC1")).one()
    assert badge.alignments == [
        {"target_name": "Give first aid", "target_url": SKILL,
         "target_framework": "Échantillon de métiers et de compétences (démonstration)"},
        {"target_name": frameworks.label(domain, "en"), "target_url": domain.uri,
         "target_framework": "Socle commun de connaissances, de compétences et de culture"},
        {"target_name": "Engagement", "target_url": "https://example.org/engagement", "target_framework": "Autre"},
    ]
    document = achievements.achievement_document(badge)
    assert {"type": ["Alignment"], "targetName": "Give first aid", "targetUrl": SKILL,
            "targetFramework": "Échantillon de métiers et de compétences (démonstration)"} in document["alignment"]
    # A line that is neither a concept nor "name | address" is still refused by the achievement's rules.
    refused = post(client, url, {"name": "X", "description": "Y", "criteria_narrative": "Z",
                                 "kind": "Certificate", "alignments": "https://example.org/not-a-concept"})
    assert refused.status_code == 422 and db.session.scalar(
        select(db.func.count()).select_from(Achievement).where(Achievement.name == "X")) == 0
