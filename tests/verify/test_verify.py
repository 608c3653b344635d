"""badges.verify: what verifies, and every way a credential is refused (a failed check, never an
exception, never ``verified: true``)."""
from __future__ import annotations

import base64
import copy
import io
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image

from badges.bake import bake
from badges.verify import verify
from certs import multibase
from certs.keys import KeyPair
from tests.verify.credentials import (ED2020, NOW, OB3, VC1, VC2, Issuer, Web, check, declaring_schema,
                                      did_key_pair, failed_codes,
                                      legacy_signed, ob3_credential, signed, stamp, status_entry, status_list,
                                      vc1_credential, vc2_credential)

CHECKS = ["parse", "jsonld", "schema", "verification_method", "proof", "issuer", "validity", "status"]


@pytest.fixture
def key():
    return did_key_pair()


@pytest.fixture
def web():
    return Web()


@pytest.fixture
def issuer(web):
    return Issuer(web)


def assert_refused(result: dict, code: str, name: str | None = None) -> None:
    """Not verified, and the expected check failed with the expected code (and a message)."""
    assert result["verified"] is False
    assert code in failed_codes(result), result["checks"]
    if name:
        assert check(result, name)["code"] == code
    assert any(error["code"] == code and error["message"] for error in result["errors"])


def assert_shape(result: dict) -> None:
    assert set(result) == {"verified", "checks", "errors", "warnings"}
    assert isinstance(result["verified"], bool)
    for item in result["checks"]:
        assert set(item) == {"name", "ok", "detail", "code"} and isinstance(item["ok"], bool)
    for item in result["errors"] + result["warnings"]:
        assert set(item) == {"code", "message"}
    json.dumps(result)


# -- what verifies ---------------------------------------------------------------------------------

def test_did_key_credential_verifies_with_every_check(key):
    result = verify(signed(ob3_credential(key.controller), key), now=NOW)
    assert_shape(result)
    assert result["verified"] is True, result
    assert [c["name"] for c in result["checks"]] == CHECKS
    assert all(c["ok"] and c["code"] is None and c["detail"] for c in result["checks"])
    assert result["errors"] == [] and result["warnings"] == []


def test_did_web_credential_verifies_through_fetch(web, issuer):
    result = verify(signed(ob3_credential(issuer.did), issuer.key), fetch=web, now=NOW)
    assert result["verified"] is True, result
    assert web.requests == ["https://issuer.example/issuers/org-1/did.json"]


def test_input_forms_dict_text_bytes(key):
    credential = signed(ob3_credential(key.controller), key)
    text = json.dumps(credential)
    for form in (credential, text, text.encode(), "\ufeff" + text, b"\xef\xbb\xbf" + text.encode()):
        assert verify(form, now=NOW)["verified"] is True


def test_plain_vc2_vc11_and_older_suites_verify(key):
    assert verify(signed(vc2_credential(key.controller), key), now=NOW)["verified"] is True
    assert verify(signed(vc1_credential(key.controller), key), now=NOW)["verified"] is True
    ed2020 = legacy_signed(vc1_credential(key.controller, **{"@context": [VC1, ED2020]}), key,
                           "Ed25519Signature2020")
    assert verify(ed2020, now=NOW)["verified"] is True
    p256 = KeyPair.from_private_key(ec.generate_private_key(ec.SECP256R1()))
    ecdsa = legacy_signed(vc2_credential(p256.controller), p256, "ecdsa-rdfc-2019")
    result = verify(ecdsa, now=NOW)
    assert result["verified"] is True, result
    assert "ecdsa-rdfc-2019" in check(result, "proof")["detail"]


def test_each_document_is_canonicalized_once(key, monkeypatch):
    """The JSON-LD check and the signature check share their canonical forms: one for the credential,
    one for its proof configuration; the status list, when there is one, costs the same again."""
    from certs import canon

    calls = []
    real = canon.canonize
    monkeypatch.setattr(canon, "canonize", lambda document, loader: calls.append(1) or real(document, loader))
    assert verify(signed(ob3_credential(key.controller), key), now=NOW)["verified"] is True
    assert len(calls) == 2


def test_messages_follow_the_reader_language(key):
    credential = signed(ob3_credential(key.controller), key)
    credential["name"] = "Falsifié"
    french = verify(credential, now=NOW, locale="fr")
    english = verify(credential, now=NOW, locale="en")
    assert french["errors"][0]["code"] == english["errors"][0]["code"] == "bad_signature"
    assert "signature ne correspond pas" in french["errors"][0]["message"]
    assert "signature does not match" in english["errors"][0]["message"]
    assert check(french, "parse")["detail"].startswith("Document lu")


# -- signatures and keys ---------------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    lambda c: c.update(name="Brevet de pilote"),
    lambda c: c["credentialSubject"].update(id="did:example:someone-else"),
    lambda c: c["credentialSubject"]["achievement"].update(name="Chirurgie"),
    lambda c: c.update(validFrom="2020-01-01T00:00:00Z"),
    lambda c: c["proof"].update(created="2020-01-01T00:00:00Z"),
])
def test_tampered_credential_is_refused(key, change):
    credential = signed(ob3_credential(key.controller), key)
    change(credential)
    assert_refused(verify(credential, now=NOW), "bad_signature", "proof")


def test_one_changed_byte_of_the_signature_is_refused(key):
    credential = signed(ob3_credential(key.controller), key)
    _, raw = multibase.decode(credential["proof"]["proofValue"])
    credential["proof"]["proofValue"] = multibase.encode(raw[:-1] + bytes([raw[-1] ^ 1]))
    assert_refused(verify(credential, now=NOW), "bad_signature", "proof")


def test_signed_with_another_key_is_refused(key):
    other = did_key_pair()
    forged = signed(ob3_credential(key.controller), other)
    forged["proof"]["verificationMethod"] = key.id  # claims the issuer's key
    assert_refused(verify(forged, now=NOW), "bad_signature", "proof")


def test_issuer_must_control_the_signing_key(key):
    other = did_key_pair()
    credential = ob3_credential(key.controller)
    # certs refuses to sign for another issuer, so build the proof with a key of `other` on a copy
    # that names `other`, then put the victim's name back: the signature then covers another issuer.
    forged = signed(ob3_credential(other.controller), other)
    forged["issuer"] = credential["issuer"]
    result = verify(forged, now=NOW)
    assert result["verified"] is False


def test_issuer_mismatch_is_its_own_check(key, web, issuer):
    """A key of the issuer's did:web document signing a credential that names another issuer."""
    credential = ob3_credential("did:example:someone-else")
    from badges.loader import document_loader
    from certs.proofs import sign

    forged = sign(credential, issuer.key, document_loader(), created=NOW - timedelta(days=1))
    result = verify(forged, fetch=web, now=NOW)
    assert_refused(result, "issuer_mismatch", "issuer")
    assert check(result, "proof")["ok"] is True


@pytest.mark.parametrize("length", [63, 65, 32, 0])
def test_wrong_signature_length_is_refused(key, length):
    credential = signed(ob3_credential(key.controller), key)
    credential["proof"]["proofValue"] = multibase.encode(b"\x01" * length) if length else "z"
    result = verify(credential, now=NOW)
    assert result["verified"] is False
    assert check(result, "proof")["code"] == "malformed_proof_value"


@pytest.mark.parametrize("value", ["not-multibase", "z0OIl", "m" + "A" * 86, 42, None])
def test_malformed_proof_value_is_refused(key, value):
    credential = signed(ob3_credential(key.controller), key)
    credential["proof"]["proofValue"] = value
    assert_refused(verify(credential, now=NOW), "malformed_proof_value", "proof")


def test_base64url_proof_value_verifies_with_a_warning(key):
    credential = signed(ob3_credential(key.controller), key)
    _, raw = multibase.decode(credential["proof"]["proofValue"])
    credential["proof"]["proofValue"] = "u" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    result = verify(credential, now=NOW)
    assert result["verified"] is True, result
    assert [w["code"] for w in result["warnings"]] == ["lax_proof_value"]


def test_no_proof_is_refused(key):
    credential = ob3_credential(key.controller)
    assert_refused(verify(credential, now=NOW), "no_proof", "proof")
    credential["proof"] = []
    assert_refused(verify(credential, now=NOW), "no_proof", "proof")


@pytest.mark.parametrize("proof_type, suite, code", [
    ("DataIntegrityProof", "bbs-2023", "unsupported_cryptosuite"),
    ("DataIntegrityProof", None, "unsupported_cryptosuite"),
    # A proof type no context defines leaves its terms undefined: refused before the proof is read.
    ("RsaSignature2018", None, "undefined_term"),
])
def test_unsupported_suite_is_refused(key, proof_type, suite, code):
    credential = signed(ob3_credential(key.controller), key)
    credential["proof"]["type"] = proof_type
    if suite:
        credential["proof"]["cryptosuite"] = suite
    else:
        credential["proof"].pop("cryptosuite")
    assert_refused(verify(credential, now=NOW), code)


def test_proof_for_another_purpose_is_refused(key):
    credential = signed(ob3_credential(key.controller), key, proof_purpose="authentication")
    assert_refused(verify(credential, now=NOW), "wrong_proof_purpose", "proof")


def test_key_not_listed_for_assertions_is_refused(web, issuer):
    credential = signed(ob3_credential(issuer.did), issuer.key)
    issuer.document["authentication"] = issuer.document.pop("assertionMethod")
    web.documents[issuer.url] = issuer.document
    assert_refused(verify(credential, fetch=web, now=NOW), "method_not_authorized", "verification_method")


def test_controller_document_must_be_the_issuers(web, issuer):
    credential = signed(ob3_credential(issuer.did), issuer.key)
    web.documents[issuer.url] = dict(issuer.document, id="did:web:evil.example")
    assert_refused(verify(credential, fetch=web, now=NOW), "controller_mismatch", "verification_method")


def test_key_missing_from_the_controller_document_is_refused(web, issuer):
    credential = signed(ob3_credential(issuer.did), issuer.key)
    other = Issuer(Web(), name="org-1")  # same DID, different key
    web.documents[issuer.url] = other.document
    result = verify(credential, fetch=web, now=NOW)
    assert result["verified"] is False
    assert check(result, "verification_method")["ok"] is False or check(result, "proof")["ok"] is False


def test_unresolvable_did_web_is_refused(issuer):
    credential = signed(ob3_credential(issuer.did), issuer.key)
    assert_refused(verify(credential, fetch=Web(), now=NOW), "method_unresolvable", "verification_method")


def test_unsupported_did_method_is_refused(key):
    credential = signed(ob3_credential(key.controller), key)
    credential["proof"]["verificationMethod"] = "did:ion:abc#key-1"
    assert_refused(verify(credential, now=NOW), "unsupported_method", "verification_method")


@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "10.0.0.1", "localhost", "[::1]"])
def test_did_web_pointing_inside_the_network_is_refused(host):
    """The default fetch (the SSRF guard) refuses before connecting."""
    key = KeyPair.generate(controller=f"did:web:{host.replace(':', '%3A')}:issuers:x")
    credential = signed(ob3_credential(key.controller), key)
    result = verify(credential, now=NOW)
    assert result["verified"] is False
    assert check(result, "verification_method")["code"] in ("fetch_refused", "method_unresolvable")
    if host != "[::1]":
        assert check(result, "verification_method")["code"] == "fetch_refused"


def test_https_verification_method_inside_the_network_is_refused(key):
    credential = signed(ob3_credential(key.controller), key)
    credential["proof"]["verificationMethod"] = "https://169.254.169.254/latest/meta-data/key#1"
    assert_refused(verify(credential, now=NOW), "fetch_refused", "verification_method")


def test_https_key_document_naming_its_controller(web):
    """A key published at its own https URL, listed under assertionMethod of its controller."""
    controller = "https://keys.example/issuer"
    key = KeyPair.generate(controller=controller, key_id="https://keys.example/keys/1")
    multikey = "https://w3id.org/security/multikey/v1"
    web.documents["https://keys.example/keys/1"] = dict(key.to_json(), **{"@context": multikey})
    web.documents[controller] = {"@context": ["https://www.w3.org/ns/did/v1", multikey],
                                 "id": controller, "assertionMethod": [key.id]}
    credential = signed(vc2_credential(controller), key)
    assert verify(credential, fetch=web, now=NOW)["verified"] is True
    web.documents[controller]["assertionMethod"] = []
    assert_refused(verify(credential, fetch=web, now=NOW), "method_not_authorized", "verification_method")


# -- JSON-LD ---------------------------------------------------------------------------------------

def test_unknown_context_is_refused_and_never_fetched(key, web):
    credential = ob3_credential(key.controller)
    credential["@context"] = [VC2, "https://evil.example/context.json"]
    result = verify(credential, fetch=web, now=NOW)
    assert_refused(result, "unknown_context", "jsonld")
    assert "evil.example" in check(result, "jsonld")["detail"]
    assert web.requests == []


def test_undefined_term_is_refused(key):
    credential = signed(vc2_credential(key.controller), key)
    credential["credentialSubject"]["shoeSize"] = 44  # no context defines it: pyld would drop it unsigned
    result = verify(credential, now=NOW)
    assert_refused(result, "undefined_term", "jsonld")
    assert "shoeSize" in check(result, "jsonld")["detail"]


def test_undefined_term_even_when_signed_by_a_lax_signer(key):
    """A signer that ignored the undefined term still produced a signature over less than is shown."""
    credential = signed(vc2_credential(key.controller), key)
    credential["unsignedClaim"] = "admin"
    assert_refused(verify(credential, now=NOW), "undefined_term", "jsonld")


def test_missing_context_is_refused(key):
    credential = signed(vc2_credential(key.controller), key)
    credential.pop("@context")
    result = verify(credential, now=NOW)
    assert result["verified"] is False


def test_relative_id_is_refused(key):
    credential = vc2_credential(key.controller)
    credential["id"] = "credentials/1"
    credential["proof"] = signed(vc2_credential(key.controller), key)["proof"]
    result = verify(credential, now=NOW)
    assert result["verified"] is False
    assert check(result, "jsonld")["ok"] is False


def test_schema_violation_is_refused_when_the_schema_is_declared(key):
    """OB 3.0 section 9.1: a credential that declares its JSON Schema and does not conform fails."""
    credential = declaring_schema(ob3_credential(key.controller))
    del credential["credentialSubject"]["achievement"]["criteria"]
    result = verify(signed(credential, key), now=NOW)
    assert_refused(result, "schema_invalid", "schema")


def test_schema_violation_is_a_remark_when_no_schema_is_declared(key):
    """Without credentialSchema, the official schema's findings are warnings: the signature, key, issuer,
    dates and status decide."""
    credential = ob3_credential(key.controller)
    del credential["credentialSubject"]["achievement"]["criteria"]
    result = verify(signed(credential, key), now=NOW)
    assert result["verified"] is True, result
    assert [w["code"] for w in result["warnings"]] == ["schema_warning"]
    assert "criteria" in result["warnings"][0]["message"]


# -- dates -----------------------------------------------------------------------------------------

def test_expired_credential_is_refused(key):
    credential = signed(ob3_credential(key.controller, validUntil=stamp(NOW - timedelta(days=1))), key)
    assert_refused(verify(credential, now=NOW), "expired", "validity")
    assert verify(credential, now=NOW - timedelta(days=2))["verified"] is True


def test_not_yet_valid_credential_is_refused(key):
    credential = signed(ob3_credential(key.controller, validFrom=stamp(NOW + timedelta(days=1))), key)
    assert_refused(verify(credential, now=NOW), "not_yet_valid", "validity")


def test_valid_from_allows_a_little_clock_skew_only(key):
    """A credential signed a moment ago by a server whose clock runs ahead is fine; minutes are not."""
    soon = signed(ob3_credential(key.controller, validFrom=stamp(NOW + timedelta(minutes=2))), key)
    assert verify(soon, now=NOW)["verified"] is True
    later = signed(ob3_credential(key.controller, validFrom=stamp(NOW + timedelta(minutes=6))), key)
    assert_refused(verify(later, now=NOW), "not_yet_valid", "validity")


def test_valid_until_is_exclusive(key):
    credential = signed(vc2_credential(key.controller, validUntil=stamp(NOW)), key)
    assert_refused(verify(credential, now=NOW), "expired", "validity")
    assert verify(credential, now=NOW - timedelta(seconds=1))["verified"] is True


def test_vc11_issuance_date_in_the_future(key):
    credential = signed(vc1_credential(key.controller, issuanceDate=stamp(NOW + timedelta(days=1))), key)
    assert_refused(verify(credential, now=NOW), "not_yet_valid", "validity")


def test_vc11_expiration_date(key):
    credential = signed(vc1_credential(key.controller, expirationDate=stamp(NOW - timedelta(hours=1))), key)
    assert_refused(verify(credential, now=NOW), "expired", "validity")


def test_date_without_time_zone_is_a_warning(key):
    credential = signed(vc2_credential(key.controller, validFrom="2024-01-01T00:00:00"), key)
    result = verify(credential, now=NOW)
    assert result["verified"] is True, result
    assert "date_without_timezone" in [w["code"] for w in result["warnings"]]


def test_unreadable_date_is_refused(key):
    credential = signed(vc2_credential(key.controller, validFrom="next tuesday"), key)
    assert verify(credential, now=NOW)["verified"] is False


# -- status lists ----------------------------------------------------------------------------------

STATUS_URL = "https://issuer.example/status/3"


def _with_status(issuer, index, purpose="revocation"):
    return signed(ob3_credential(issuer.did, credentialStatus=status_entry(STATUS_URL, index, purpose)), issuer.key)


def test_status_list_not_revoked(web, issuer):
    web.documents[STATUS_URL] = status_list(issuer, STATUS_URL, set_bits=[5])
    result = verify(_with_status(issuer, 4), fetch=web, now=NOW)
    assert result["verified"] is True, result
    assert STATUS_URL in check(result, "status")["detail"]


def test_revoked_credential_is_refused(web, issuer):
    web.documents[STATUS_URL] = status_list(issuer, STATUS_URL, set_bits=[5, 131071])
    assert_refused(verify(_with_status(issuer, 5), fetch=web, now=NOW), "revoked", "status")
    assert_refused(verify(_with_status(issuer, 131071), fetch=web, now=NOW), "revoked", "status")


def test_suspended_credential_is_refused(web, issuer):
    web.documents[STATUS_URL] = status_list(issuer, STATUS_URL, purpose="suspension", set_bits=[9])
    assert_refused(verify(_with_status(issuer, 9, "suspension"), fetch=web, now=NOW), "suspended", "status")


def test_status_list_from_another_issuer_is_refused(web, issuer):
    """Someone else's valid list cannot vouch for (or against) this issuer's credentials."""
    other = Issuer(web, host="other.example")
    web.documents[STATUS_URL] = status_list(other, STATUS_URL)
    assert_refused(verify(_with_status(issuer, 4), fetch=web, now=NOW), "status_invalid", "status")


def test_tampered_status_list_is_refused(web, issuer):
    """Clearing a revocation bit breaks the list's own signature."""
    revoked = status_list(issuer, STATUS_URL, set_bits=[5])
    clean = status_list(issuer, STATUS_URL)
    revoked["credentialSubject"]["encodedList"] = clean["credentialSubject"]["encodedList"]
    web.documents[STATUS_URL] = revoked
    assert_refused(verify(_with_status(issuer, 5), fetch=web, now=NOW), "status_invalid", "status")


def test_status_list_of_another_purpose_is_refused(web, issuer):
    web.documents[STATUS_URL] = status_list(issuer, STATUS_URL, purpose="suspension")
    assert_refused(verify(_with_status(issuer, 4), fetch=web, now=NOW), "status_invalid", "status")


def test_unavailable_status_list_is_not_verified(issuer, web):
    assert_refused(verify(_with_status(issuer, 4), fetch=web, now=NOW), "status_unavailable", "status")


def test_index_outside_the_list_is_refused(web, issuer):
    web.documents[STATUS_URL] = status_list(issuer, STATUS_URL, size_bits=64)
    assert_refused(verify(_with_status(issuer, 64), fetch=web, now=NOW), "status_invalid", "status")


def test_unsigned_status_list_is_refused(web, issuer):
    """A list without a valid proof could be written by anyone: it vouches for nothing."""
    unsigned = status_list(issuer, STATUS_URL)
    del unsigned["proof"]
    web.documents[STATUS_URL] = unsigned
    assert_refused(verify(_with_status(issuer, 4), fetch=web, now=NOW), "status_invalid", "status")


def test_status_list_signed_by_someone_else_for_the_issuer_is_refused(web, issuer):
    """The list names the right issuer but carries a stranger's signature: its issuer check fails."""
    stranger = did_key_pair()
    web.documents[STATUS_URL] = status_list(issuer, STATUS_URL, key=stranger)
    result = verify(_with_status(issuer, 4), fetch=web, now=NOW)
    assert_refused(result, "status_invalid", "status")
    assert "someone else" not in check(result, "status")["detail"]  # the list's own check failed first


def test_expired_status_list_is_refused(web, issuer):
    web.documents[STATUS_URL] = status_list(issuer, STATUS_URL, validUntil=stamp(NOW - timedelta(days=1)))
    assert_refused(verify(_with_status(issuer, 4), fetch=web, now=NOW), "status_invalid", "status")


def test_status_list_shorter_than_the_minimum_is_refused(web, issuer):
    """Bitstring Status List: at least 131,072 entries, the herd privacy rests on."""
    web.documents[STATUS_URL] = status_list(issuer, STATUS_URL, size_bits=1024)
    assert_refused(verify(_with_status(issuer, 4), fetch=web, now=NOW), "status_invalid", "status")


def test_revocation_and_suspension_are_told_apart(web, issuer):
    """Two entries, two lists: the set bit is reported by the purpose of the list it is set in."""
    revocations, suspensions = STATUS_URL, "https://issuer.example/status/4"
    entries = [status_entry(revocations, 7), status_entry(suspensions, 7, "suspension")]
    credential = signed(vc2_credential(issuer.did, credentialStatus=entries), issuer.key)  # OB 3.0 allows one
    web.documents[revocations] = status_list(issuer, revocations)
    web.documents[suspensions] = status_list(issuer, suspensions, purpose="suspension", set_bits=[7])
    assert_refused(verify(credential, fetch=web, now=NOW), "suspended", "status")
    web.documents[suspensions] = status_list(issuer, suspensions, purpose="suspension")
    web.documents[revocations] = status_list(issuer, revocations, set_bits=[7])
    assert_refused(verify(credential, fetch=web, now=NOW), "revoked", "status")
    web.documents[revocations] = status_list(issuer, revocations)
    result = verify(credential, fetch=web, now=NOW)
    assert result["verified"] is True, result
    detail = check(result, "status")["detail"]
    assert revocations in detail and suspensions in detail


@pytest.mark.parametrize("change", [
    {"statusListIndex": 4}, {"statusListIndex": "-4"}, {"statusListIndex": "\u0664"},
    {"statusListIndex": "4.0"}, {"statusListCredential": None}, {"statusSize": 2},
])
def test_malformed_status_entry_is_refused(web, issuer, change):
    web.documents[STATUS_URL] = status_list(issuer, STATUS_URL)
    entry = dict(status_entry(STATUS_URL, 4), **change)
    credential = signed(ob3_credential(issuer.did, credentialStatus=entry), issuer.key)
    result = verify(credential, fetch=web, now=NOW)
    assert result["verified"] is False
    assert check(result, "status")["code"] in ("status_invalid", "unsupported_status")


def test_status_purposes_that_say_nothing_about_validity_are_noted(web, issuer):
    entry = dict(status_entry(STATUS_URL, 4), statusPurpose="message")
    credential = signed(ob3_credential(issuer.did, credentialStatus=entry), issuer.key)
    result = verify(credential, fetch=web, now=NOW)
    assert result["verified"] is True, result
    assert [w["code"] for w in result["warnings"]] == ["status_not_checked"]
    assert STATUS_URL not in web.requests  # nothing was fetched for it


def test_status_list_2021_entries_are_not_supported(web, issuer):
    entry = {"id": f"{STATUS_URL}#4", "type": "StatusList2021Entry", "statusPurpose": "revocation",
             "statusListIndex": "4", "statusListCredential": STATUS_URL}
    credential = ob3_credential(issuer.did)
    credential["credentialStatus"] = entry
    assert verify(credential, fetch=web, now=NOW)["verified"] is False


def test_status_list_inside_the_network_is_refused(key):
    url = "https://169.254.169.254/status/1"
    credential = signed(ob3_credential(key.controller, credentialStatus=status_entry(url, 1)), key)
    assert_refused(verify(credential, now=NOW), "fetch_refused", "status")


def test_unknown_status_type_is_refused(key):
    entry = {"id": "https://x.example/s#1", "type": "RevocationList2020Status", "revocationListIndex": "1",
             "revocationListCredential": "https://x.example/s"}
    credential = ob3_credential(key.controller)
    credential["credentialStatus"] = entry
    result = verify(credential, now=NOW)
    assert result["verified"] is False


# -- parsing hostile input -------------------------------------------------------------------------

def test_truncated_json_is_refused(key):
    text = json.dumps(signed(ob3_credential(key.controller), key))
    for cut in (1, len(text) // 2, len(text) - 1):
        result = verify(text[:cut], now=NOW)
        assert_refused(result, "invalid_json", "parse")
        assert [c["name"] for c in result["checks"]] == ["parse"]


def test_deep_nesting_is_refused():
    for depth in (65, 5000, 150_000):
        text = "[" * depth + "]" * depth
        assert_refused(verify(text), "too_deep", "parse")
        assert_refused(verify('{"a":' * depth + "1" + "}" * depth), "too_deep", "parse")
    nested: dict = {}
    node = nested
    for _ in range(100):
        node["a"] = {}
        node = node["a"]
    assert_refused(verify(nested), "too_deep", "parse")


def test_huge_document_is_refused(key):
    credential = ob3_credential(key.controller, description="x" * (1024 * 1024))
    assert_refused(verify(credential), "too_large", "parse")
    assert_refused(verify(json.dumps(credential)), "too_large", "parse")
    assert_refused(verify(json.dumps(credential).encode()), "too_large", "parse")


def test_duplicate_keys_are_refused(key):
    text = json.dumps(signed(ob3_credential(key.controller), key))
    doubled = text.replace('"name": "Premiers secours"', '"name": "Premiers secours", "name": "Autre"', 1)
    assert_refused(verify(doubled), "duplicate_key", "parse")


@pytest.mark.parametrize("bad", [
    b"", b"   ", b"null", b"[]", b"42", b'"text"', b"\xff\xfe{}", '{"a": NaN}', '{"a": Infinity}',
    '{"a": "\\ud800"}', "{'single': 'quotes'}", b"\x00\x01\x02", "plain words",
])
def test_unusable_input_fails_parse(bad):
    result = verify(bad)
    assert_shape(result)
    assert result["verified"] is False
    assert check(result, "parse")["ok"] is False


@pytest.mark.parametrize("bad", [
    None, 42, 3.5, [], ["a"], object(), {"a": object()}, {}, {"@context": 5}, {"@context": [VC2], "proof": "x"},
    {"@context": [VC2], "type": "VerifiableCredential", "proof": {"type": 7}},
    {"@context": [VC2], "type": ["VerifiableCredential"], "issuer": {"id": 5}, "credentialSubject": [],
     "proof": [{}, {}, {}, {}, {}]},
    {"@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": 7},
    {"@context": [VC2, OB3], "type": ["VerifiableCredential", "OpenBadgeCredential"], "credentialStatus": [1, 2]},
])
def test_garbage_never_raises_and_never_verifies(bad):
    result = verify(bad, fetch=Web())
    assert_shape(result)
    assert result["verified"] is False


def test_verified_needs_every_check_of_the_kind():
    """The verdict is not "no check failed": a check that did not run (a bug, an early return) leaves the
    result unverified."""
    from badges.verify import REQUIRED_CHECKS, _Report

    for kind, names in REQUIRED_CHECKS.items():
        complete = _Report("en")
        for name in names:
            complete.passed(name)
        assert complete.result(kind)["verified"] is True
        for missing in names:
            report = _Report("en")
            for name in names:
                if name != missing:
                    report.passed(name)
            assert report.result(kind)["verified"] is False, (kind, missing)
        assert complete.result(None)["verified"] is False
        assert complete.result("unknown")["verified"] is False


def test_a_check_that_skips_itself_cannot_verify(key, monkeypatch):
    """Were the status step to be skipped by a bug, the credential would not verify."""
    from badges import verify as verifier

    credential = signed(ob3_credential(key.controller), key)
    original = verifier._Session.step
    monkeypatch.setattr(verifier._Session, "step", lambda self, name, function:
                        True if name == "status" else original(self, name, function))
    assert verify(credential, now=NOW)["verified"] is False


def test_unsupported_document_is_refused():
    assert_refused(verify({"hello": "world"}), "unsupported_document", "parse")


# -- baked images ----------------------------------------------------------------------------------

def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 0, 145)).save(buffer, "PNG")
    return buffer.getvalue()


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
       b'<rect width="8" height="8"/></svg>')


def test_baked_png_and_svg_verify(key):
    credential = signed(ob3_credential(key.controller), key)
    for image in (_png(), SVG):
        result = verify(bake(image, credential), now=NOW)
        assert result["verified"] is True, result


def test_baked_tampered_credential_is_refused(key):
    credential = signed(ob3_credential(key.controller), key)
    tampered = copy.deepcopy(credential)
    tampered["name"] = "Autre"
    assert_refused(verify(bake(_png(), tampered), now=NOW), "bad_signature", "proof")


def test_image_without_badge_is_refused():
    for image in (_png(), SVG):
        assert_refused(verify(image), "no_badge", "parse")


def test_damaged_image_is_refused(key):
    baked = bake(_png(), signed(ob3_credential(key.controller), key))
    result = verify(baked[: len(baked) // 2])
    assert result["verified"] is False
    assert check(result, "parse")["ok"] is False
    hostile_svg = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                   b'<svg xmlns="http://www.w3.org/2000/svg">&b;</svg>')
    result = verify(hostile_svg)
    assert result["verified"] is False and check(result, "parse")["ok"] is False


def test_status_list_built_by_certs_is_read_the_same(web, issuer):
    """The platform publishes lists with certs.status; the verifier decodes them independently."""
    from certs.status import StatusList, status_list_credential

    bits = StatusList()
    bits.set(77)
    bits.set(131_000)
    unsigned = status_list_credential(STATUS_URL, issuer.did, "revocation", bits.encode(),
                                      valid_from=NOW - timedelta(days=1))
    web.documents[STATUS_URL] = signed(unsigned, issuer.key)
    for index, code in ((77, "revoked"), (131_000, "revoked"), (78, None), (0, None)):
        result = verify(_with_status(issuer, index), fetch=web, now=NOW)
        if code:
            assert_refused(result, code, "status")
        else:
            assert result["verified"] is True, result


def test_a_credential_cannot_make_the_verifier_fetch_without_end(web, issuer, monkeypatch):
    """Each status entry names another list: past the fetch budget the verifier stops and refuses."""
    from badges import verify as verifier

    entries = []
    for number in range(verifier.MAX_STATUS_ENTRIES):
        url = f"https://issuer.example/status/{number}"
        web.documents[url] = status_list(issuer, url)
        entries.append(status_entry(url, 1))
    credential = signed(vc2_credential(issuer.did, credentialStatus=entries), issuer.key)
    assert verify(credential, fetch=web, now=NOW)["verified"] is True  # 1 + 4 fetches: within budget
    assert len(web.requests) <= verifier.MAX_FETCHES

    web.requests.clear()
    monkeypatch.setattr(verifier.session, "MAX_FETCHES", 3)  # the run reads its budget there
    result = verify(credential, fetch=web, now=NOW)
    assert result["verified"] is False
    assert check(result, "status")["code"] == "status_unavailable"
    assert len(web.requests) == 3
