"""Small builders shared by the badges tests (real images made with Pillow, real documents)."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

from PIL import Image as PILImage

from badges import ob2, ob3

NOW = datetime(2024, 5, 17, 9, 30, 12, 123456, tzinfo=timezone.utc)
SVG = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
       b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16" width="16" height="16">'
       b'<circle cx="8" cy="8" r="7" fill="#1d4ed8"/></svg>\n')
ISSUER = ob3.Profile(id="did:web:sillage.example:issuers:7f0c", name="Université de Lyon",
                     url="https://univ.example", email="badges@univ.example",
                     image="https://sillage.example/issuers/7f0c/logo.png")
ACHIEVEMENT = ob3.Achievement(
    id="https://sillage.example/achievements/1d2e", name="Travail en équipe",
    description="Reconnaît la capacité à collaborer.", criteria_narrative="Nommé par ses pairs.",
    image="https://sillage.example/achievements/1d2e/image.png", achievement_type="Badge",
    alignments=[ob3.Alignment(target_name="Travailler en équipe", target_url="https://esco.example/skill/42",
                              target_framework="ESCO", target_code="S1.2")],
    result_descriptions=[ob3.ResultDescription(id="https://sillage.example/achievements/1d2e/results/grade",
                                               name="Niveau", result_type="LetterGrade",
                                               allowed_values=("A", "B", "C"))],
)
STATUS = {
    "id": "https://sillage.example/status/3a#94567",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "revocation",
    "statusListIndex": "94567",
    "statusListCredential": "https://sillage.example/status/3a",
}


def png_bytes(size: int = 16, color=(29, 78, 216, 255)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGBA", (size, size), color).save(buffer, "PNG")
    return buffer.getvalue()


def credential(**overrides) -> dict:
    values = dict(issuer=ISSUER, achievement=ACHIEVEMENT, valid_from=NOW, email="Alice.Martin@Example.org",
                  valid_until=NOW + timedelta(days=365), credential_status=STATUS,
                  evidence=[ob3.Evidence(id="https://sillage.example/evidence/9", name="Projet",
                                         narrative="Projet mené à 4.", description="Un projet")],
                  results=[ob3.Result(result_description=ACHIEVEMENT.result_descriptions[0].id, value="A")])
    values.update(overrides)
    return ob3.build_credential(**values)


def assertion(**overrides) -> dict:
    values = dict(assertion_url="https://sillage.example/ob2/assertions/5b1c",
                  badge_url="https://sillage.example/ob2/badges/1d2e", email="alice@example.org",
                  issued_on=NOW, image="https://sillage.example/ob2/assertions/5b1c/image.png")
    values.update(overrides)
    return ob2.assertion_document(**values)
