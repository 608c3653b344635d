"""badges.verify on the credentials that wallets and issuers in use today produce besides Sillage's own
(eddsa-rdfc-2022 on VC 2.0): Open Badges 3.0 of the releases built on VC 1.1 (context-3.0.1 / 3.0.2,
``issuanceDate``, usually signed with Ed25519Signature2020), and ecdsa-rdfc-2019 (P-256) on a VC 2.0
Open Badge.

The signatures are real: ``legacy_signed`` builds each suite from certs' building blocks, and
tests/interop proves that its Ed25519Signature2020 proofs are byte-identical to those of Digital
Bazaar's @digitalbazaar/ed25519-signature-2020.
"""
from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from badges.verify import verify
from certs.keys import KeyPair
from tests.verify.credentials import (DI_V2, ED2020, NOW, OB3, OB3_V301, OB3_V302, VC1, VC2, Issuer, Web,
                                      check, declaring_schema, did_key_pair, failed_codes, legacy_signed,
                                      ob3_credential,
                                      ob3_vc1_credential, signed, stamp)

CHECKS = ["parse", "jsonld", "schema", "verification_method", "proof", "issuer", "validity", "status"]
RELEASE = "OB 3.0 (VC 1.1 release)"
UNVERSIONED_OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context.json"


@pytest.fixture
def key():
    return did_key_pair()


def ed2020(document: dict, key: KeyPair) -> dict:
    return legacy_signed(document, key, "Ed25519Signature2020")


def assert_refused(result: dict, code: str, name: str) -> None:
    assert result["verified"] is False
    assert check(result, name)["code"] == code, result["checks"]
    assert any(error["code"] == code and error["message"] for error in result["errors"])


def change_one_byte(credential: dict) -> str:
    text = json.dumps(credential)
    position = text.index("Premiers secours (PSC1)") + 1
    return text[:position] + ("R" if text[position] != "R" else "Q") + text[position + 1:]


# -- Open Badges 3.0, VC 1.1 releases ------------------------------------------------------------------

@pytest.mark.parametrize("ob_context", [OB3_V302, OB3_V301])
def test_ed25519_signature_2020_vc11_open_badge_verifies(key, ob_context):
    credential = ed2020(ob3_vc1_credential(key.controller, ob_context=ob_context), key)
    result = verify(credential, now=NOW)
    assert result["verified"] is True, result
    assert [c["name"] for c in result["checks"]] == CHECKS
    assert RELEASE in check(result, "schema")["detail"]
    assert "Ed25519Signature2020" in check(result, "proof")["detail"]
    assert result["errors"] == [] and result["warnings"] == []


def test_vc11_open_badge_with_data_integrity_proof_verifies(key):
    """The same release signed with eddsa-rdfc-2022 (Data Integrity context instead of the 2020 one)."""
    credential = signed(ob3_vc1_credential(key.controller, **{"@context": [VC1, OB3_V302, DI_V2]}), key)
    result = verify(credential, now=NOW)
    assert result["verified"] is True, result
    assert RELEASE in check(result, "schema")["detail"]


def test_vc11_open_badge_of_a_did_web_issuer_verifies():
    web = Web()
    issuer = Issuer(web)
    credential = ed2020(ob3_vc1_credential(issuer.did), issuer.key)
    result = verify(credential, fetch=web, now=NOW)
    assert result["verified"] is True, result
    assert check(result, "issuer")["detail"] == f"Issued by {issuer.did}."


def test_the_release_is_named_in_french_too(key):
    result = verify(ed2020(ob3_vc1_credential(key.controller), key), now=NOW, locale="fr")
    assert result["verified"] is True
    assert RELEASE in check(result, "schema")["detail"]
    assert check(result, "schema")["detail"].startswith("Contient")


def test_one_changed_byte_fails(key):
    credential = ed2020(ob3_vc1_credential(key.controller), key)
    changed = change_one_byte(credential)
    assert json.loads(changed) != credential
    assert_refused(verify(changed, now=NOW), "bad_signature", "proof")


def test_a_changed_date_fails(key):
    credential = ed2020(ob3_vc1_credential(key.controller), key)
    credential["issuanceDate"] = stamp(NOW - timedelta(days=364))
    assert_refused(verify(credential, now=NOW), "bad_signature", "proof")


def test_expired_expiration_date_fails(key):
    document = ob3_vc1_credential(key.controller, expirationDate=stamp(NOW - timedelta(hours=1)))
    credential = ed2020(document, key)
    result = verify(credential, now=NOW)
    assert_refused(result, "expired", "validity")
    assert check(result, "proof")["ok"] is True  # a genuine signature: only the date refuses it
    assert failed_codes(result) == ["expired"]


def test_expiration_date_in_the_future_passes_and_validity_uses_vc11_dates(key):
    document = ob3_vc1_credential(key.controller, expirationDate=stamp(NOW + timedelta(days=1)))
    credential = ed2020(document, key)
    assert verify(credential, now=NOW)["verified"] is True
    assert_refused(verify(credential, now=NOW + timedelta(days=2)), "expired", "validity")


def test_issuance_date_in_the_future_is_not_yet_valid(key):
    credential = ed2020(ob3_vc1_credential(key.controller, issuanceDate=stamp(NOW + timedelta(days=1))), key)
    assert_refused(verify(credential, now=NOW), "not_yet_valid", "validity")


def test_valid_until_does_not_stand_in_for_expiration_date(key):
    """A VC 1.1 credential's end of validity is expirationDate: a validUntil next to it (the bundled
    VC 1.1 context defines both) neither rescues an expired one nor is what is judged."""
    credential = ed2020(ob3_vc1_credential(key.controller, expirationDate=stamp(NOW - timedelta(hours=1)),
                                           validUntil=stamp(NOW + timedelta(days=30))), key)
    assert_refused(verify(credential, now=NOW), "expired", "validity")


@pytest.mark.parametrize("change, reason", [
    (lambda d: d.pop("issuanceDate"), "issuanceDate"),
    (lambda d: d.update(issuanceDate="1 June 2024"), "issuanceDate"),
    (lambda d: d["credentialSubject"].pop("achievement"), "achievement"),
    (lambda d: d.update(credentialSubject=[]), "credentialSubject"),
    (lambda d: d.update(issuer={"type": ["Profile"], "name": "Anonyme"}), "issuer"),
    (lambda d: d.update(expirationDate="2030-02-30T00:00:00Z"), "expirationDate"),
])
def test_vc11_shape_is_checked(key, change, reason):
    document = ob3_vc1_credential(key.controller)
    change(document)
    result = verify(ed2020(document, key), now=NOW)
    assert result["verified"] is False
    schema = check(result, "schema")
    assert schema["code"] == "schema_invalid" and reason in schema["detail"], result["checks"]


def test_vc11_open_badge_needs_an_open_badges_context(key):
    """Types defined by another context do not make an Open Badge of the VC 1.1 releases: the shape check
    names the missing OB 3.0 context. (An inline ``@vocab``, which used to reach it, is now refused first:
    tests/verify/test_bounds.py.)"""
    from badges.verify import Failure
    from badges.verify.jsonld import _check_ob3_vc1_shape

    document = ob3_vc1_credential(key.controller)
    document["@context"] = [VC1, ED2020, {"@vocab": "https://example.org/vocab#"}]
    result = verify(ed2020(document, key), now=NOW)
    assert check(result, "jsonld")["code"] == "unsafe_context"
    assert result["verified"] is False
    with pytest.raises(Failure) as refused:
        _check_ob3_vc1_shape(document)
    assert refused.value.code == "schema_invalid" and "Open Badges 3.0 context" in refused.value.params["reason"]


def test_the_unversioned_ob3_context_is_refused_as_unknown(key):
    """Which bytes that URL served for a given release cannot be established (badges/contexts/manifest.json,
    ``not_bundled``): such a credential is refused, never verified against a guess."""
    document = ob3_vc1_credential(key.controller, **{"@context": [VC1, UNVERSIONED_OB3]})
    result = verify(document, now=NOW)
    assert_refused(result, "unknown_context", "jsonld")
    assert UNVERSIONED_OB3 in check(result, "jsonld")["detail"]


def test_an_unsigned_vc11_open_badge_is_not_verified(key):
    result = verify(ob3_vc1_credential(key.controller), now=NOW)
    assert result["verified"] is False
    assert check(result, "schema")["ok"] is True
    assert check(result, "proof")["code"] == "no_proof"


# -- VC 2.0 behaviour is unchanged ---------------------------------------------------------------------

def test_vc2_open_badge_still_gets_the_vc2_schema(key):
    result = verify(signed(declaring_schema(ob3_credential(key.controller)), key), now=NOW)
    assert result["verified"] is True
    assert check(result, "schema")["detail"] == "Follows the Open Badges 3.0 schema."
    result = verify(signed(ob3_credential(key.controller), key), now=NOW)
    assert result["verified"] is True and result["warnings"] == []
    assert check(result, "schema")["detail"].startswith("Identifies its subject; declares no JSON Schema")


def test_vc2_open_badge_with_vc11_dates_is_still_refused(key):
    document = ob3_credential(key.controller)
    document["issuanceDate"] = document.pop("validFrom")
    result = verify(document, now=NOW)
    assert_refused(result, "undefined_term", "jsonld")


def test_vc2_open_badge_without_valid_from_fails_the_vc2_schema(key):
    """The OB 3.0 JSON Schema (VC 2.0) still applies to a VC 2.0 credential: validFrom is required when
    the schema is declared, a remark otherwise (VC 2.0 makes validFrom optional)."""
    document = declaring_schema(ob3_credential(key.controller))
    del document["validFrom"]
    result = verify(signed(document, key), now=NOW)
    assert_refused(result, "schema_invalid", "schema")
    assert RELEASE not in check(result, "schema")["detail"]
    del document["credentialSchema"]
    result = verify(signed(document, key), now=NOW)
    assert result["verified"] is True
    assert [w["code"] for w in result["warnings"]] == ["schema_warning"]


def test_context_3_0_1_clashes_with_vc2(key):
    """3.0.1 redefines terms the VC 2.0 context protects: after it, the document has no meaning."""
    document = ob3_credential(key.controller, **{"@context": [VC2, OB3_V301]})
    assert_refused(verify(document, now=NOW), "invalid_jsonld", "jsonld")


def test_context_3_0_2_with_vc2_is_read_with_its_own_pinned_terms(key):
    credential = signed(declaring_schema(ob3_credential(key.controller, **{"@context": [VC2, OB3_V302]})), key)
    result = verify(credential, now=NOW)
    assert result["verified"] is True, result
    assert check(result, "schema")["detail"] == "Follows the Open Badges 3.0 schema."


# -- ecdsa-rdfc-2019 (P-256) on a VC 2.0 Open Badge ------------------------------------------------------

@pytest.fixture
def p256():
    return KeyPair.from_private_key(ec.generate_private_key(ec.SECP256R1()))


def test_ecdsa_p256_open_badge_verifies(p256):
    assert p256.controller.startswith("did:key:zDn")
    credential = legacy_signed(declaring_schema(ob3_credential(p256.controller, **{"@context": [VC2, OB3]})),
                               p256, "ecdsa-rdfc-2019")
    result = verify(credential, now=NOW)
    assert result["verified"] is True, result
    assert [c["name"] for c in result["checks"]] == CHECKS
    assert "ecdsa-rdfc-2019" in check(result, "proof")["detail"]
    assert check(result, "schema")["detail"] == "Follows the Open Badges 3.0 schema."


def test_ecdsa_p256_open_badge_changed_byte_fails(p256):
    credential = legacy_signed(ob3_credential(p256.controller), p256, "ecdsa-rdfc-2019")
    assert_refused(verify(change_one_byte(credential), now=NOW), "bad_signature", "proof")


def test_ecdsa_p256_open_badge_expired_fails(p256):
    credential = legacy_signed(ob3_credential(p256.controller, validUntil=stamp(NOW - timedelta(minutes=1))),
                               p256, "ecdsa-rdfc-2019")
    assert_refused(verify(credential, now=NOW), "expired", "validity")


def test_ecdsa_signature_from_another_key_fails(p256):
    other = KeyPair.from_private_key(ec.generate_private_key(ec.SECP256R1()))
    credential = legacy_signed(ob3_credential(p256.controller), p256, "ecdsa-rdfc-2019")
    forged = legacy_signed(ob3_credential(p256.controller), other, "ecdsa-rdfc-2019")
    forged["proof"]["verificationMethod"] = credential["proof"]["verificationMethod"]
    assert_refused(verify(copy.deepcopy(forged), now=NOW), "bad_signature", "proof")
