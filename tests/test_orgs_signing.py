"""An organisation's key signs a credential that verifies against its served did.json, before and after
a key rotation, and fails once a key is gone from the document (the reason rotation keeps old keys)."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlsplit

from app import policy
from app.extensions import db
from app.services import achievements, orgs
from badges.ob3 import build_credential
from badges.signing import sign_credential
from badges.verify import verify

ORG = {"name": "Lycée Exemple", "kind": "school", "contact_email": "contact@lycee.example"}
BADGE = {"name": "Secourisme", "description": "First aid.", "criteria_narrative": "PSC1.",
         "kind": "Certificate", "tags": ["safety"],
         "alignments": [{"target_name": "First aid", "target_url": "https://esco.example/fa"}]}


def served_by(client):
    """The verifier's fetch, answered by this application (ids are http://localhost/...)."""
    def fetch(url: str):
        response = client.get(urlsplit(url).path)
        assert response.status_code == 200, url
        return response.json
    return fetch


def issue(org, badge):
    credential = build_credential(issuer=orgs.profile(org), achievement=achievements.ob3_achievement(badge),
                                  valid_from=datetime(2026, 9, 1, tzinfo=timezone.utc),
                                  email="ines.martin@example.org")
    assert credential["issuer"] == orgs.issuer_profile(org)
    assert credential["credentialSubject"]["achievement"] == achievements.achievement_document(badge)
    return sign_credential(credential, orgs.signing_key(db.session, org))


def test_signed_credential_verifies_before_and_after_rotation(app, client, make_user):
    admin = make_user()
    org = orgs.create_organisation(db.session, policy.OPERATOR, ORG, admin=admin, approve=True)
    badge = achievements.create(db.session, admin, org, BADGE)
    db.session.commit()
    fetch = served_by(client)
    old = issue(org, badge)
    assert old["proof"]["verificationMethod"].startswith(org.did + "#")
    result = verify(old, fetch=fetch, allow_loopback=True)
    assert result["verified"], result["errors"]

    orgs.rotate_key(db.session, admin, org)
    db.session.commit()
    new = issue(org, badge)
    assert new["proof"]["verificationMethod"] != old["proof"]["verificationMethod"]
    for credential in (old, new):
        result = verify(credential, fetch=fetch, allow_loopback=True)
        assert result["verified"], result["errors"]

    # Tampering is caught; a key missing from the document is not trusted.
    tampered = {**new, "name": "Something else"}
    assert not verify(tampered, fetch=fetch, allow_loopback=True)["verified"]

    def without_old_key(url):
        document = fetch(url)
        vm = old["proof"]["verificationMethod"]
        document["verificationMethod"] = [m for m in document["verificationMethod"] if m["id"] != vm]
        document["assertionMethod"] = [m for m in document["assertionMethod"] if m != vm]
        return document
    assert not verify(old, fetch=without_old_key, allow_loopback=True)["verified"]


def test_did_key_organisation_credential_verifies_offline(app, make_user):
    admin = make_user()
    org = orgs.create_organisation(db.session, policy.OPERATOR, ORG, admin=admin, approve=True, did_key=True)
    badge = achievements.create(db.session, admin, org, BADGE)
    db.session.commit()

    def no_network(url):
        raise AssertionError(f"fetched {url}")
    result = verify(issue(org, badge), fetch=no_network)
    assert result["verified"], result["errors"]
