"""The import's demo (issue 11): Martine Leclerc, Inès's internship tutor, brought her career from another
tool as a small JSON Resume file, imported through ``app.services.imports`` like an upload (the same
reader, preview rules and services). Idempotent twice over: nothing is done once her portfolio holds an
experience, and the import itself never adds what is already there (its content fingerprints)."""
from __future__ import annotations

import json
import os
import tempfile

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Experience, User
from app.services import imports

EMAIL = "martine.leclerc@example.org"
RESUME = {
    "$schema": "https://raw.githubusercontent.com/jsonresume/resume-schema/v1.0.0/schema.json",
    "basics": {"name": "Martine Leclerc", "label": "Responsable de magasin, tutrice de stagiaires",
               "summary": "Vingt ans dans le commerce de proximité ; j'accueille chaque année des élèves de "
                          "bac pro en PFMP.", "location": {"city": "Rezé", "countryCode": "FR"}},
    "work": [
        {"name": "Supérette du Port", "position": "Responsable de magasin", "location": "Rezé",
         "startDate": "2012-03", "summary": "Équipe de six personnes, commandes, tutorat des stagiaires."},
        {"name": "Maison de la presse Trentemoult", "position": "Vendeuse", "location": "Rezé",
         "startDate": "2005-09", "endDate": "2012-02"},
    ],
    "education": [{"institution": "Lycée Les Trois-Rivières", "area": "Bac pro Commerce",
                   "studyType": "Niveau 4", "endDate": "2005-06"}],
    "skills": [{"name": "Tutorat de stagiaires", "level": "Expert"},
               {"name": "Gestion des stocks", "level": "Advanced"}],
}


def load(session: Session) -> None:
    """Import the demo resume into Martine's portfolio, once."""
    martine = session.scalar(select(User).where(User.email == EMAIL))
    if martine is None or martine.portfolio is None:
        return
    if session.scalar(select(func.count()).select_from(Experience)
                      .where(Experience.portfolio_id == martine.portfolio.id)):
        return
    handle, path = tempfile.mkstemp(prefix="sillage-demo-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(RESUME, out, ensure_ascii=False)
        imports.apply(session, martine, path, filename="martine-leclerc-resume.json")
    finally:
        os.unlink(path)
