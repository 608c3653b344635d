"""Signing and verifying Data Integrity proofs, including every hostile or lax input."""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

import certs
from certs import multibase

V2 = "https://www.w3.org/ns/credentials/v2"
ISSUER = "did:web:sillage.example:issuers:acme"
KEY = certs.KeyPair.generate(ISSUER)
CONTROLLER_DOC = certs.did_web_document(ISSUER, [KEY])
RESOLVE = certs.static_resolver({ISSUER: CONTROLLER_DOC})
LOADER = certs.bundled()


def credential(**changes):
    document = {
        "@context": [V2],
        "id": "urn:uuid:2f6f0b5e-8a55-4c3f-9d7e-1b2c3d4e5f60",
        "type": ["VerifiableCredential"],
        "issuer": {"id": ISSUER, "name": "ACME Training"},
        "validFrom": "2025-03-01T09:00:00Z",
        "credentialSubject": {"id": "did:example:alice", "name": "Alice Martin"},
    }
    document.update(changes)
    return document


def signed(document=None, **options):
    return certs.sign(document or credential(), KEY, LOADER, **options)


def check(document, resolve=RESOLVE, **options):
    result = certs.verify(document, LOADER, resolve, **options)
    if result.verified:
        assert not result.errors
    else:
        assert result.errors and result.document is None
    return result


def test_sign_then_verify_with_did_web_issuer():
    secured = signed()
    proof = secured["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["verificationMethod"] == KEY.id and proof["proofPurpose"] == "assertionMethod"
    assert proof["proofValue"].startswith("z") and proof["created"].endswith("Z")
    result = check(secured)
    assert result.verified and not result.warnings
    assert result.document == credential()
    assert result.proofs[0].controller == ISSUER
    assert result.to_dict()["verified"] is True


def test_sign_does_not_modify_its_input_and_emits_only_z_dates():
    document = credential()
    before = copy.deepcopy(document)
    secured = signed(document, created=datetime(2025, 3, 1, 11, 0, tzinfo=timezone(timedelta(hours=2))))
    assert document == before
    assert secured["proof"]["created"] == "2025-03-01T09:00:00Z"


def test_sign_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        signed(created=datetime(2025, 1, 1))


@pytest.mark.parametrize("document, code", [
    (credential(credentialSubject={"id": "did:example:a", "nickname": "x"}), "undefined_term"),
    (credential(type=["VerifiableCredential", "Unknown"]), "undefined_term"),
    (credential(credentialSubject={"id": "did:example:a", "name": "bell\x07"}), "control_character"),
    (credential(id="credentials/1"), "relative_iri"),
    (credential(**{"@context": [V2, "https://example.org/ctx"]}), "unknown_context"),
])
def test_sign_refuses_what_would_not_be_signed_as_written(document, code):
    with pytest.raises(certs.CertsError) as caught:
        signed(document)
    assert caught.value.code == code and isinstance(caught.value, ValueError)


def test_sign_refuses_non_documents_and_non_ed25519_keys():
    with pytest.raises(certs.SigningError):
        certs.sign({"id": "urn:x"}, KEY, LOADER)
    ec_key = certs.KeyPair.from_private_key(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(certs.SigningError):
        certs.sign(credential(), ec_key, LOADER)


@pytest.mark.parametrize("path, value, code", [
    (("name",), "Extra", "invalid_signature"),                     # an added, defined term
    (("credentialSubject", "name"), "Alice Martinez", "invalid_signature"),
    (("validFrom",), "2025-03-01T09:00:01Z", "invalid_signature"),
    (("issuer", "name"), "ACME Trainers", "invalid_signature"),
    (("proof", "created"), "2025-03-01T09:00:01Z", "invalid_signature"),
    (("proof", "proofPurpose"), "authentication", "verification_method_not_authorized"),
    (("proof", "proofPurpose"), "capabilityInvocation", "verification_method_not_authorized"),
])
def test_any_change_to_credential_or_proof_fails(path, value, code):
    secured = signed()
    target = secured
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    result = check(secured, expected_proof_purpose=None)
    assert not result.verified and result.error_codes == [code]


def test_one_changed_byte_of_the_signature_fails():
    secured = signed()
    raw = bytearray(multibase.decode(secured["proof"]["proofValue"])[1])
    raw[10] ^= 1
    secured["proof"]["proofValue"] = multibase.encode(bytes(raw))
    assert check(secured).error_codes == ["invalid_signature"]


def test_undefined_term_added_after_signing_fails_verification():
    """Pitfall: a dropped term would otherwise ride along unsigned and still 'verify'."""
    secured = signed()
    secured["credentialSubject"]["grade"] = "A+"
    assert check(secured).error_codes == ["undefined_term"]
    secured = signed()
    secured["proof"]["note"] = "not covered"
    assert check(secured).error_codes == ["undefined_term"]


def test_control_character_or_relative_id_in_a_received_credential_fails():
    secured = signed()
    secured["credentialSubject"]["name"] = "Alice\x00"
    assert check(secured).error_codes == ["control_character"]
    secured = signed()
    secured["id"] = "relative"
    assert check(secured).error_codes == ["relative_iri"]


@pytest.mark.parametrize("proof_value, code", [
    (None, "malformed_proof"),
    (42, "malformed_proof"),
    ("", "malformed_proof"),
    ("z", "malformed_proof"),
    ("z0OIl", "malformed_proof"),              # not base58
    ("mAAAA", "malformed_proof"),              # unsupported multibase
    ("zabc", "invalid_signature_length"),      # truncated
    ("z" + "2" * 120, "invalid_signature_length"),
])
def test_garbage_proof_values_fail_cleanly(proof_value, code):
    secured = signed()
    secured["proof"]["proofValue"] = proof_value
    result = check(secured)
    assert not result.verified and result.error_codes == [code]


def test_truncated_signature_fails_with_length_error():
    secured = signed()
    raw = multibase.decode(secured["proof"]["proofValue"])[1]
    secured["proof"]["proofValue"] = multibase.encode(raw[:63])
    assert check(secured).error_codes == ["invalid_signature_length"]


def test_base64url_proof_value_verifies_with_a_warning():
    """Pitfall: others accept base64url; we accept it too but say so."""
    secured = signed()
    raw = multibase.decode(secured["proof"]["proofValue"])[1]
    secured["proof"]["proofValue"] = multibase.encode(raw, multibase.BASE64URL)
    result = check(secured)
    assert result.verified and result.warning_codes == ["proof_value_base64url"]


def _sign_with_proof(document, proof_options):
    """Hand-made proof (tests only): lets us sign forms Sillage never emits."""
    config = certs.proof_configuration(document, proof_options, LOADER)
    data = certs.hash_data(config, certs.canonize(document, LOADER))
    return dict(document, proof=dict(proof_options, proofValue=multibase.encode(KEY.sign(data))))


def test_dates_without_time_zone_verify_with_warnings():
    """Pitfall: others accept dates without a time zone; we report them."""
    document = credential(validFrom="2025-03-01T09:00:00")
    secured = _sign_with_proof(document, {
        "type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "created": "2025-03-01T09:00:00",
        "verificationMethod": KEY.id, "proofPurpose": "assertionMethod"})
    result = check(secured)
    assert result.verified
    assert result.warning_codes == ["date_without_timezone", "date_without_timezone"]


def test_unreadable_created_fails():
    secured = _sign_with_proof(credential(), {
        "type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "created": "yesterday",
        "verificationMethod": KEY.id, "proofPurpose": "assertionMethod"})
    assert check(secured).error_codes == ["invalid_proof_datetime"]


def test_expired_proof_fails():
    secured = signed(expires=datetime(2025, 3, 2, tzinfo=timezone.utc))
    assert check(secured, now=datetime(2025, 3, 1, 12, tzinfo=timezone.utc)).verified
    assert check(secured, now=datetime(2025, 3, 3, tzinfo=timezone.utc)).error_codes == ["proof_expired"]


@pytest.mark.parametrize("document, code", [
    (None, "malformed_document"),
    ("a string", "malformed_document"),
    ([credential()], "malformed_document"),
    (credential(), "missing_proof"),
    (credential(proof="z123"), "malformed_proof"),
    (credential(proof=[]), "malformed_proof"),
    (credential(proof={"type": "DataIntegrityProof"}), "malformed_proof"),
    (credential(proof={"type": 1, "verificationMethod": KEY.id, "proofPurpose": "assertionMethod"}),
     "malformed_proof"),
])
def test_bad_documents_fail_with_a_stable_code(document, code):
    result = check(document)
    assert not result.verified and result.error_codes == [code]


def test_unknown_cryptosuite_and_proof_type_fail():
    secured = signed()
    secured["proof"]["cryptosuite"] = "eddsa-jcs-2022"
    assert check(secured).error_codes == ["unsupported_cryptosuite"]
    secured = signed()
    secured["proof"]["type"] = "RsaSignature2018"
    assert check(secured).error_codes == ["unsupported_cryptosuite"]


def test_proof_purpose_domain_and_challenge_are_checked():
    secured = signed(proof_purpose="authentication", challenge="n-0S6_WzA2Mj", domain="verifier.example")
    authentication = certs.static_resolver({ISSUER: dict(CONTROLLER_DOC, authentication=[KEY.id])})
    assert check(secured).error_codes == ["mismatched_proof_purpose"]
    options = {"expected_proof_purpose": "authentication", "check_issuer": False}
    assert check(secured, authentication, challenge="n-0S6_WzA2Mj", domain="verifier.example",
                 **options).verified
    assert check(secured, authentication, challenge="other", **options).error_codes == ["invalid_challenge"]
    assert check(secured, authentication, domain="evil.example", **options).error_codes == ["invalid_domain"]
    # the key is not an authentication method of the issuer: the purpose must match a relationship
    assert check(secured, challenge="n-0S6_WzA2Mj", **options).error_codes == [
        "verification_method_not_authorized"]


def test_key_listed_under_no_relationship_may_sign_nothing():
    document = dict(CONTROLLER_DOC, assertionMethod=[])
    assert check(signed(), certs.static_resolver({ISSUER: document})).error_codes == [
        "verification_method_not_authorized"]


def test_key_resolution_failures_never_escape():
    def broken(vm_id):
        raise RuntimeError("network down")

    result = check(signed(), broken)
    assert result.error_codes == ["key_resolution_failed"] and "network down" in result.errors[0].message
    assert check(signed(), certs.static_resolver({})).error_codes == ["key_resolution_failed"]
    assert check(signed(), lambda vm_id: None).error_codes == ["key_resolution_failed"]
    assert check(signed(), lambda vm_id: "not a key").error_codes == ["key_resolution_failed"]


def test_resolver_may_return_a_bare_key_or_multibase():
    secured = signed()
    assert check(secured, lambda vm_id: KEY.public_key).verified
    assert check(secured, lambda vm_id: KEY.public_key_multibase).verified
    other = certs.KeyPair.generate()
    assert check(secured, lambda vm_id: other.public_key).error_codes == ["invalid_signature"]


def test_wrong_key_type_for_the_suite_fails():
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert check(signed(), lambda vm_id: p256).error_codes == ["invalid_verification_method"]


def test_key_of_another_controller_is_refused():
    """Anyone can sign 'issuer: ACME' with their own did:key; the controller must match."""
    impostor = certs.KeyPair.generate()
    forged = certs.sign(credential(), impostor, LOADER)
    result = check(forged, certs.resolve_did_key)
    assert result.error_codes == ["issuer_mismatch"]
    assert check(forged, certs.resolve_did_key, check_issuer=False).verified


def test_revoked_verification_method_fails():
    revoked = certs.VerificationMethod(KEY.id, ISSUER, KEY.public_key, revoked="2025-01-01T00:00:00Z")
    assert check(signed(), lambda vm_id: revoked).error_codes == ["verification_method_revoked"]
    document = dict(CONTROLLER_DOC, verificationMethod=[dict(CONTROLLER_DOC["verificationMethod"][0],
                                                             revoked="2025-01-01T00:00:00Z")])
    assert check(signed(), certs.static_resolver({ISSUER: document})).error_codes == [
        "verification_method_revoked"]


def test_proof_set_from_two_signers_verifies_and_fails_if_either_breaks():
    second_issuer = "did:web:sillage.example:issuers:partner"
    partner = certs.KeyPair.generate(second_issuer)
    resolve = certs.static_resolver({ISSUER: CONTROLLER_DOC,
                                     second_issuer: certs.did_web_document(second_issuer, [partner])})
    both = certs.sign(signed(), partner, LOADER)
    assert [proof["verificationMethod"] for proof in both["proof"]] == [KEY.id, partner.id]
    result = check(both, resolve, check_issuer=False)
    assert result.verified and len(result.proofs) == 2
    both["proof"][1]["proofValue"] = both["proof"][0]["proofValue"]
    assert not check(both, resolve, check_issuer=False).verified


def test_vc_1_1_credential_signs_and_verifies():
    document = {
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://w3id.org/security/data-integrity/v2"],
        "id": "urn:uuid:7a2c9a55-1c3f-4f55-8a39-5b1e2f3d4c5b",
        "type": ["VerifiableCredential"],
        "issuer": ISSUER,
        "issuanceDate": "2024-06-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:bob"},
    }
    assert check(signed(document)).verified


def test_ed25519signature2020_over_vc_1_1_verifies():
    document = {
        "@context": ["https://www.w3.org/2018/credentials/v1",
                     "https://w3id.org/security/suites/ed25519-2020/v1"],
        "type": ["VerifiableCredential"],
        "issuer": ISSUER,
        "issuanceDate": "2024-06-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:bob"},
    }
    secured = _sign_with_proof(document, {"type": "Ed25519Signature2020", "created": "2024-06-01T00:00:00Z",
                                          "verificationMethod": KEY.id, "proofPurpose": "assertionMethod"})
    assert check(secured).verified
    secured["issuanceDate"] = "2024-06-02T00:00:00Z"
    assert check(secured).error_codes == ["invalid_signature"]


def test_ecdsa_p256_credential_from_another_issuer_verifies():
    private = ec.generate_private_key(ec.SECP256R1())
    key = certs.KeyPair.from_private_key(private)
    document = credential(issuer=key.controller)
    options = {"type": "DataIntegrityProof", "cryptosuite": "ecdsa-rdfc-2019",
               "created": "2025-01-01T00:00:00Z",
               "verificationMethod": key.id, "proofPurpose": "assertionMethod"}
    config = certs.proof_configuration(document, options, LOADER)
    data = certs.hash_data(config, certs.canonize(document, LOADER), hashlib.sha256)
    secured = dict(document, proof=dict(options, proofValue=multibase.encode(key.sign(data))))
    assert check(secured, certs.resolve_did_key).verified
    secured["proof"]["proofValue"] = multibase.encode(key.sign(data)[:63])
    assert check(secured, certs.resolve_did_key).error_codes == ["invalid_signature_length"]


def test_proof_context_must_prefix_the_document_context():
    secured = signed()
    secured["proof"]["@context"] = ["https://www.w3.org/2018/credentials/v1"]
    assert check(secured).error_codes == ["malformed_proof"]


def test_verify_survives_hostile_shapes():
    hostile = [
        {"@context": V2, "proof": {"type": "DataIntegrityProof", "cryptosuite": ["x"],
                                    "verificationMethod": KEY.id, "proofPurpose": "assertionMethod"}},
        dict(signed(), **{"@context": 5}),
        dict(signed(), credentialSubject=[[[[]]]]),
        dict(signed(), proof=dict(signed()["proof"], previousProof="urn:missing")),
        dict(signed(), proof=dict(signed()["proof"], previousProof=7)),
        dict(signed(), proof=dict(signed()["proof"], expires="soon")),
    ]
    for document in hostile:
        result = check(document)
        assert not result.verified


def test_created_with_nanoseconds_or_offset_is_a_valid_datetime():
    for created in ("2025-03-01T09:00:00.123456789Z", "2025-03-01T11:00:00+02:00"):
        secured = _sign_with_proof(credential(), {
            "type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "created": created,
            "verificationMethod": KEY.id, "proofPurpose": "assertionMethod"})
        result = check(secured)
        assert result.verified and not result.warnings


@pytest.mark.parametrize("value, expected, zoned", [
    ("2025-03-01T09:00:00Z", datetime(2025, 3, 1, 9, tzinfo=timezone.utc), True),
    ("2025-03-01t09:00:00z", datetime(2025, 3, 1, 9, tzinfo=timezone.utc), True),
    ("2025-03-01T11:00:00+02:00", datetime(2025, 3, 1, 9, tzinfo=timezone.utc), True),
    ("2025-03-01T09:00:00.123456789Z", datetime(2025, 3, 1, 9, 0, 0, 123456, tzinfo=timezone.utc), True),
    ("2025-03-01T09:00:00", datetime(2025, 3, 1, 9, tzinfo=timezone.utc), False),
])
def test_parse_datetime_reads_xml_schema_datetimes(value, expected, zoned):
    assert certs.proofs.parse_datetime(value) == (expected, zoned)


@pytest.mark.parametrize("value", ["2025-02-30T09:00:00Z", "2025-03-01 09:00:00Z", "2025-03-01", "tomorrow",
                                   "2025-03-01T25:00:00Z", "", None, 20250301, "2025-03-01T09:00:00+2"])
def test_parse_datetime_refuses_the_rest(value):
    with pytest.raises(certs.CertsError) as caught:
        certs.proofs.parse_datetime(value)
    assert caught.value.code == "invalid_datetime"


def test_one_canonicalization_per_document_even_with_a_proof_set(monkeypatch):
    """Two proofs over the same document: it is canonicalized once, each configuration once."""
    from certs import canon

    second_key = certs.KeyPair.generate(ISSUER, key_id=f"{ISSUER}#key-2")
    resolve = certs.static_resolver({ISSUER: certs.did_web_document(ISSUER, [KEY, second_key])})
    secured = certs.sign(signed(), second_key, LOADER)
    calls = []
    real = canon.canonize
    monkeypatch.setattr(canon, "canonize", lambda document, loader: calls.append(1) or real(document, loader))
    assert check(secured, resolve).verified
    assert len(calls) == 3
