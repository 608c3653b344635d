"""OB 2.0 hosted documents carry the properties the 2.0 specification requires."""
from __future__ import annotations

from datetime import timedelta

import pytest

from badges import InvalidValue, ob2, ob3
from badges.identity import hash_matches
from tests.badges.factories import NOW, assertion

ISSUER_URL = "https://sillage.example/ob2/issuers/7f0c"
BADGE_URL = "https://sillage.example/ob2/badges/1d2e"


def test_issuer_profile_has_the_issuer_required_properties():
    doc = ob2.issuer_document(issuer_url=ISSUER_URL, name="Université de Lyon", url="https://univ.example",
                              email="badges@univ.example", description="Une université",
                              image="https://sillage.example/issuers/7f0c/logo.png")
    # "When used as a badge issuer, the following properties are required: id, type, name, url, and email."
    for key in ("@context", "id", "type", "name", "url", "email"):
        assert doc[key]
    assert doc["@context"] == "https://w3id.org/openbadges/v2"
    assert doc["type"] == "Issuer" and doc["id"] == ISSUER_URL


def test_badge_class_has_the_required_properties():
    doc = ob2.badge_class_document(
        badge_url=BADGE_URL, issuer_url=ISSUER_URL, name="Travail en équipe", description="Collaborer.",
        image="https://sillage.example/ob2/badges/1d2e/image.png", criteria_narrative="Nommé par ses pairs.",
        alignments=[ob3.Alignment(target_name="Équipe", target_url="https://esco.example/s/1",
                                  target_framework="ESCO", target_code="S1")],
        tags=["équipe"])
    for key in ("@context", "id", "type", "name", "description", "image", "criteria", "issuer"):
        assert doc[key]
    assert doc["type"] == "BadgeClass" and doc["issuer"] == ISSUER_URL
    assert doc["criteria"] == {"narrative": "Nommé par ses pairs."}
    assert doc["alignment"] == [{"targetName": "Équipe", "targetUrl": "https://esco.example/s/1",
                                 "targetFramework": "ESCO", "targetCode": "S1"}]
    assert doc["tags"] == ["équipe"]


def test_assertion_has_the_required_properties_and_a_hashed_recipient():
    doc = assertion(evidence=[{"id": "https://sillage.example/evidence/1", "narrative": "Projet"}],
                    expires=NOW + timedelta(days=30), narrative="Bravo")
    for key in ("@context", "id", "type", "recipient", "badge", "verification", "issuedOn"):
        assert doc[key]
    assert doc["type"] == "Assertion"
    assert doc["badge"] == BADGE_URL
    assert doc["verification"] == {"type": "hosted"}
    assert doc["issuedOn"] == "2024-05-17T09:30:12Z"
    assert doc["expires"] == "2024-06-16T09:30:12Z"
    recipient = doc["recipient"]
    assert recipient["type"] == "email" and recipient["hashed"] is True and recipient["salt"]
    assert recipient["identity"].startswith("sha256$")
    assert hash_matches(recipient["identity"], "Alice@example.org", recipient["salt"])
    assert "alice" not in str(doc)
    assert doc["evidence"] == [{"id": "https://sillage.example/evidence/1", "type": "Evidence",
                                "narrative": "Projet"}]
    assert assertion()["recipient"]["salt"] != recipient["salt"]


def test_revoked_assertion():
    doc = ob2.revoked_assertion_document(assertion_url="https://sillage.example/ob2/assertions/5b1c",
                                         reason="Délivré par erreur")
    assert doc == {"@context": "https://w3id.org/openbadges/v2", "type": "Assertion",
                   "id": "https://sillage.example/ob2/assertions/5b1c", "revoked": True,
                   "revocationReason": "Délivré par erreur"}


@pytest.mark.parametrize("field,kwargs", [
    ("assertion_url", {"assertion_url": "/ob2/assertions/1"}),
    ("assertion_url", {"assertion_url": "urn:uuid:1234"}),  # hosted: must be a URL
    ("badge_url", {"badge_url": "badges/1"}),
    ("email", {"email": "nobody"}),
    ("issued_on", {"issued_on": NOW.replace(tzinfo=None)}),
    ("expires", {"expires": NOW}),
    ("evidence[0].narrative", {"evidence": [{"narrative": "bad\x07bell"}]}),
])
def test_assertion_refusals(field, kwargs):
    with pytest.raises(InvalidValue) as caught:
        assertion(**kwargs)
    assert caught.value.field == field


def test_badge_class_and_issuer_refusals():
    with pytest.raises(InvalidValue) as caught:
        ob2.badge_class_document(badge_url=BADGE_URL, issuer_url=ISSUER_URL, name="n", description="d",
                                 image="https://x.example/i.png")
    assert caught.value.field == "criteria_narrative"
    with pytest.raises(InvalidValue) as caught:
        ob2.issuer_document(issuer_url=ISSUER_URL, name="n", url="https://x.example", email="")
    assert caught.value.field == "email"
