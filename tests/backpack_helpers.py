"""Badges earned elsewhere, made for real: OB 3.0 credentials signed by a did:web issuer (Data Integrity
and VC-JWT), a CLR 2.0 holding them, OB 2.0 hosted assertions, each bakeable into a PNG or SVG. The
issuer's documents are served by a ``tests.verify.credentials.Web`` (the verifier's ``fetch``)."""
from __future__ import annotations

import copy
import io
import uuid
from datetime import timedelta

from PIL import Image

from badges.identity import identity_hash
from tests.verify.credentials import NOW, OB3, VC2, Issuer, Web, ob3_credential, signed, stamp
from tests.verify.jwts import JwkIssuer

CLR = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
OB2 = "https://w3id.org/openbadges/v2"
OB2_HOST = "https://badges.example"
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
       b'<circle cx="32" cy="32" r="30" fill="#2a6"/></svg>')


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (40, 160, 90)).save(buffer, "PNG")
    return buffer.getvalue()


class Elsewhere:
    """Another platform: one Ed25519 did:web issuer, one JWK issuer, one OB 2.0 host, their web."""

    def __init__(self):
        self.web = Web()
        self.issuer = Issuer(self.web, host="elsewhere.example", name="croix")
        self.jwk = JwkIssuer(self.web)

    def credential(self, email: str, name: str = "Premiers secours (PSC1)", **overrides) -> dict:
        salt = "s" + uuid.uuid4().hex[:8]
        document = ob3_credential(self.issuer.did, id=f"urn:uuid:{uuid.uuid4()}")
        document.update(overrides)
        document["credentialSubject"] = {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
                            "identityHash": identity_hash(email, salt), "salt": salt}],
            "achievement": {**document["credentialSubject"]["achievement"], "id": f"urn:uuid:{uuid.uuid4()}",
                            "name": name}}
        return document

    def signed(self, email: str, **overrides) -> dict:
        return signed(self.credential(email, **overrides), self.issuer.key)

    def jwt(self, email: str, name: str = "Secourisme en équipe") -> str:
        document = self.credential(email, name=name, issuer={"id": self.jwk.did, "type": ["Profile"],
                                                             "name": "Croix JWT"},
                                   validUntil=stamp(NOW + timedelta(days=3650)))
        document["credentialSubject"]["id"] = "did:example:learner-1"
        return self.jwk.vc_jwt("ES256", credential=document)

    def clr(self, members: list, **overrides) -> dict:
        document = {
            "@context": [VC2, CLR, OB3],
            "id": f"urn:uuid:{uuid.uuid4()}",
            "type": ["VerifiableCredential", "ClrCredential"],
            "name": "Relevé de l'année",
            "issuer": {"id": self.issuer.did, "type": ["Profile"], "name": "Croix Test"},
            "validFrom": stamp(NOW - timedelta(days=30)),
            "credentialSubject": {"type": ["ClrSubject"], "verifiableCredential": members},
        }
        document.update(overrides)
        return signed(document, self.issuer.key)

    def ob2(self, email: str, slug: str = "7f3c", name: str = "Premiers secours") -> str:
        """Serve an OB 2.0 hosted assertion, its badge class and issuer; returns the assertion URL."""
        assertion, badge, issuer = (f"{OB2_HOST}/ob2/assertions/{slug}", f"{OB2_HOST}/ob2/badges/{slug}",
                                    f"{OB2_HOST}/ob2/issuers/croix")
        self.web.documents.update({
            assertion: {"@context": OB2, "type": "Assertion", "id": assertion,
                        "recipient": {"type": "email", "hashed": True, "salt": "s4lt",
                                      "identity": identity_hash(email, "s4lt")},
                        "badge": badge, "verification": {"type": "hosted"}, "issuedOn": "2024-05-01T10:00:00Z"},
            badge: {"@context": OB2, "type": "BadgeClass", "id": badge, "name": name, "description": "PSC1",
                    "image": f"{OB2_HOST}/ob2/badges/{slug}.png", "criteria": {"narrative": "7 heures"},
                    "issuer": issuer},
            issuer: {"@context": OB2, "type": "Issuer", "id": issuer, "name": "Croix OB2",
                     "url": OB2_HOST, "email": "contact@badges.example"},
        })
        return assertion

    def assertion(self, url: str) -> dict:
        return copy.deepcopy(self.web.documents[url])
