"""Factories for the CV tests: a portfolio with experiences, a diploma, skills, a confirmed attestation
and an issued credential, all made through the real services (real signatures)."""

from __future__ import annotations

import io
import os
import zipfile
from datetime import date

import pytest
from docx import Document

from app.extensions import db
from app.models import Diploma, Experience, Skill
from app.services import attestations, awarding, portfolio as items
from cv_templates import pdf as pdf_renderer
from tests.awarding_helpers import make_achievement, make_org

OFFER = (
    "Nous recherchons un développeur Python pour notre équipe : Django, API REST, tests automatisés, "
    "PostgreSQL. Une expérience en premiers secours est un plus."
)


def needs_pdf():
    """PDF tests run wherever WeasyPrint's libraries are installed, and always in CI (where a missing
    library is a failure of .ci/run, not a reason to skip)."""
    reason = pdf_renderer.unavailable_reason()
    if reason and os.environ.get("CI") != "true":
        pytest.skip(f"WeasyPrint unavailable here: {reason}")


def build_portfolio(owner, issuer_admin):
    items.update_profile(
        db.session,
        owner,
        {
            "display_name": "Inès Morel",
            "headline": "Développeuse web",
            "contact_email": "ines@example.org",
            "location": "Lyon",
            "bio": "Curieuse et rigoureuse.",
        },
    )
    python = items.create_item(db.session, owner, Skill, {"name": "Python", "level": 4})
    service = items.create_item(db.session, owner, Skill, {"name": "Service en salle", "level": 2})
    dev = items.create_item(
        db.session,
        owner,
        Experience,
        {
            "kind": "internship",
            "title": "Stage développeuse Python",
            "organisation": "Acme",
            "place": "Lyon",
            "start_date": "2023-02-01",
            "end_date": "2023-07-31",
            "skill_ids": [str(python.id)],
            "description": "Une API REST avec Django.\n\n- tests automatisés\n- PostgreSQL",
        },
    )
    waiter = items.create_item(
        db.session,
        owner,
        Experience,
        {
            "kind": "job",
            "title": "Serveuse",
            "organisation": "Brasserie du Port",
            "start_date": "2021-06-01",
            "end_date": "2021-09-30",
            "description": "Service en salle, encaissement.",
            "skill_ids": [str(service.id)],
        },
    )
    diploma = items.create_item(
        db.session,
        owner,
        Diploma,
        {
            "title": "Licence informatique",
            "awarding_body": "Université Lyon 1",
            "awarded_on": "2022-06-30",
            "level": "Bac+3",
        },
    )
    request, raw = attestations.create(
        db.session,
        owner,
        "experience",
        dev.id,
        referee_name="Paul Durand",
        referee_email="paul@example.net",
        relationship="tuteur",
    )
    attestations.confirm(db.session, raw)
    org = make_org(issuer_admin, name="Croix-Rouge de Test")
    achievement = make_achievement(org, name="Premiers secours PSC1")
    awarded = awarding.award(db.session, issuer_admin, achievement, owner.email)
    db.session.commit()
    return {
        "dev": dev,
        "waiter": waiter,
        "python": python,
        "service": service,
        "diploma": diploma,
        "attestation": request,
        "credential": awarded.credential,
    }


def docx_text(data: bytes) -> list[str]:
    """Every paragraph's text of a DOCX, tables included, in document order."""
    document = Document(io.BytesIO(data))
    lines = []
    for block in document.element.body.iter():
        if block.tag.endswith("}p"):
            text = "".join(node.text or "" for node in block.iter() if node.tag.endswith("}t"))
            if text:
                lines.append(text)
    return lines


def docx_styles(data: bytes) -> set[str]:
    document = Document(io.BytesIO(data))
    styles = {p.style.name for p in document.paragraphs}
    for table in document.tables:
        for cell in table._cells:
            styles.update(p.style.name for p in cell.paragraphs)
    return styles


def is_docx(data: bytes) -> bool:
    return zipfile.is_zipfile(io.BytesIO(data)) and b"word/document.xml" in data


TODAY = date.today()
