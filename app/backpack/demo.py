"""The demo's badge earned elsewhere: Inès's PSC1 from a (fictitious) volunteer first-aid association,
an OB 3.0 credential baked into a PNG, added to her backpack through ``app.services.backpack`` and linked
to her "Porter secours" skill.

The issuer is a did:key, so the demo verifies offline (nothing to fetch). Its key comes from a fixed,
public seed and the credential has fixed ids and dates, so that every ``sillage demo`` run builds the
same bytes and the backpack's fingerprint keeps the demo idempotent. A demo key, never a real one.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Skill, User
from app.services import backpack
from badges.artwork import default_badge, to_png
from badges.bake import bake
from badges.identity import identity_hash
from badges.loader import document_loader
from certs.keys import KeyPair
from certs.proofs import sign

SEED = hashlib.sha256(b"sillage demo backpack issuer (public, not a secret)").digest()
ISSUED = datetime(2025, 6, 14, 9, 0, tzinfo=timezone.utc)
NAME = "Prévention et secours civiques de niveau 1 (PSC1)"


def baked_badge(email: str) -> bytes:
    """The demo badge for ``email``, signed and baked (the same bytes on every run)."""
    key = KeyPair.from_private_bytes(SEED)
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": "urn:uuid:5b0f6c1e-2d7a-4c39-9f1e-8a4d2c6b7e10",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": NAME,
        "issuer": {"id": key.controller, "type": ["Profile"], "name": "Secouristes solidaires de Rezé (démo)"},
        "validFrom": ISSUED.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
                            "identityHash": identity_hash(email, "demo-psc1"), "salt": "demo-psc1"}],
            "achievement": {
                "id": "urn:uuid:0c5e9a7b-63f1-4d2e-b8a4-1f7d3e9c2a56", "type": ["Achievement"], "name": NAME,
                "description": "Sait protéger, alerter et porter les premiers secours : malaise, hémorragie, "
                               "étouffement, arrêt cardiaque et usage du défibrillateur.",
                "criteria": {"narrative": "Formation de sept heures et mises en situation réussies."},
                "achievementType": "Certificate"},
        },
    }
    signed = sign(document, key, document_loader(), created=ISSUED)
    return bake(to_png(default_badge(NAME, "Certificate", "demo-psc1"), 256), signed)


def load(session: Session, user: User) -> None:
    """Add the badge to ``user``'s backpack (once) and show it on the first-aid skill."""
    if user.portfolio is None:
        return

    def offline(url: str):
        raise backpack.ServiceError(f"the demo fetches nothing ({url})", code="fetch_refused")

    rows = backpack.add(session, user, baked_badge(user.email), filename="psc1.png", fetch=offline)
    skill = session.scalars(select(Skill).where(Skill.portfolio_id == user.portfolio.id,
                                                Skill.name == "Porter secours")).first()
    if skill is not None:
        backpack.link(session, user, rows[0], "skill", skill.id)
