"""Shared set-up of the path tests: the bundled frameworks loaded, and the sample's care assistant.

The sample framework (app/data/frameworks/sample, labelled as a sample) gives the care assistant
("aide-soignant") essential and optional skills; the tests build skills pointing at those concepts
through the real portfolio service, as the skill form does.
"""
from __future__ import annotations

from app.extensions import db
from app.models import Skill
from app.services import frameworks, portfolio as items

SAMPLE = "https://w3id.org/sillage/frameworks/sample"
CARE_ASSISTANT = f"{SAMPLE}/occupation/aide-soignant"
HYGIENE = f"{SAMPLE}/skill/soins-hygiene"
MOBILITY = f"{SAMPLE}/skill/aide-mobilite"
MONITORING = f"{SAMPLE}/skill/surveillance-etat"
HANDOVER = f"{SAMPLE}/skill/transmissions"


def load_frameworks() -> None:
    frameworks.load_bundled(db.session)
    db.session.commit()


def skill(person, name: str, uri: str, level: int = 2) -> Skill:
    made = items.create_item(db.session, person, Skill, {"name": name, "level": level, "concept_uri": uri,
                                                         "framework": "Sample"})
    db.session.commit()
    return made


def needed(uri: str = CARE_ASSISTANT) -> dict[str, str]:
    """The occupation's skills as the framework says: ``{concept URI: relation}`` (independent of
    ``app.services.path``)."""
    occupation = frameworks.get(db.session, uri)
    return {concept.uri: relation for concept, relation in frameworks.related(db.session, occupation)
            if relation in ("essential", "optional")}
