"""The verdict follows Open Badges 3.0 section 9.1, as another conformant implementation's credential
shows: date-only activity dates (xsd:date in the OB context, ``date-time`` in the schema: 1EdTech
openbadges-specification issue #645) are a remark, never a refusal, while any altered byte still fails
and a declared schema that is violated fails. Keys are generated in the test; the same credential signed
by Digital Bazaar's libraries is in tests/interop/test_interop_third_party.py.
"""
from __future__ import annotations

import copy
import json

import pytest

from badges.verify import verify
from tests.verify.credentials import (NOW, OB3_SCHEMA, VC1, check, declaring_schema, did_key_pair,
                                      legacy_signed, ob3_credential, ob3_vc1_credential, signed,
                                      third_party_credential)

FORMAL_SCHEMA = ("https://purl.imsglobal.org/spec/ob/v3p0/schema/json-ld/"
                 "ob_v3p0_achievementcredential_schema.json")
ISSUER_SCHEMA = "https://accrediter.example/schema/achievementcredential.json"


@pytest.fixture
def key():
    return did_key_pair()


@pytest.fixture
def third_party(key):
    return signed(third_party_credential(key.controller), key)


def codes(entries: list[dict]) -> list[str]:
    return [entry["code"] for entry in entries]


def test_a_third_party_credential_with_date_only_activity_dates_verifies(third_party):
    result = verify(third_party, now=NOW)
    assert result["verified"] is True, result
    assert check(result, "schema")["ok"] is True
    assert codes(result["warnings"]) == ["schema_format", "schema_format"]
    assert "activityStartDate" in result["warnings"][1]["message"]
    french = verify(third_party, now=NOW, locale="fr")
    assert french["warnings"][0]["message"].startswith("Remarque")


def _leaves(value, path=()):
    """Every string of a JSON value, with its path."""
    if isinstance(value, dict):
        for name, child in value.items():
            yield from _leaves(child, (*path, name))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _leaves(child, (*path, index))
    elif isinstance(value, str):
        yield path, value


def test_any_altered_byte_of_the_third_party_credential_fails(third_party):
    """One character changed in each signed string (the proof aside): never verified."""
    changed = 0
    for path, text in _leaves({k: v for k, v in third_party.items() if k != "proof"}):
        tampered = copy.deepcopy(third_party)
        target = tampered
        for part in path[:-1]:
            target = target[part]
        position = len(text) // 2
        target[path[-1]] = text[:position] + ("Q" if text[position:position + 1] != "Q" else "R") + \
            text[position + 1:]
        result = verify(tampered, now=NOW)
        assert result["verified"] is False, path
        changed += 1
    assert changed > 20


def test_a_declared_schema_that_is_violated_fails(key):
    credential = third_party_credential(key.controller)
    credential["credentialSubject"]["result"] = [{"type": ["Result"], "status": "Done"}]
    result = verify(signed(credential, key), now=NOW)
    assert result["verified"] is False
    assert check(result, "schema")["code"] == "schema_invalid"
    assert "credentialSubject.result[0].status" in check(result, "schema")["detail"]
    # the same document without credentialSchema: a remark, the signature decides
    del credential["credentialSchema"]
    result = verify(signed(credential, key), now=NOW)
    assert result["verified"] is True, result
    assert "schema_warning" in codes(result["warnings"])


def test_the_schema_named_by_its_id_decides(key):
    """json/ names the served (permissive) adaptation, json-ld/ the formal one (SOURCES.md): a single proof
    object conforms to the first, not to the second, which wants an array."""
    credential = ob3_credential(key.controller)
    assert verify(signed(declaring_schema(credential, OB3_SCHEMA), key), now=NOW)["verified"] is True
    result = verify(signed(declaring_schema(credential, FORMAL_SCHEMA), key), now=NOW)
    assert check(result, "schema")["code"] == "schema_invalid"
    assert "proof" in check(result, "schema")["detail"]


def test_a_declared_schema_that_is_not_bundled_is_a_remark(key):
    """Never fetched, so not checked: the specification's own complete example declares such a schema
    besides the official one."""
    credential = declaring_schema(ob3_credential(key.controller), OB3_SCHEMA, ISSUER_SCHEMA)
    result = verify(signed(credential, key), now=NOW)
    assert result["verified"] is True, result
    assert codes(result["warnings"]) == ["schema_not_checked"]
    assert ISSUER_SCHEMA in result["warnings"][0]["message"]
    # the bundled one still decides
    credential["credentialSubject"]["achievement"].pop("criteria")
    assert check(verify(signed(credential, key), now=NOW), "schema")["code"] == "schema_invalid"


def test_a_subject_with_neither_id_nor_identifier_fails(key):
    credential = ob3_credential(key.controller)
    del credential["credentialSubject"]["id"]
    result = verify(signed(credential, key), now=NOW)
    assert result["verified"] is False
    assert check(result, "schema")["code"] == "subject_unidentified"
    vc1 = ob3_vc1_credential(key.controller)
    del vc1["credentialSubject"]["id"]
    vc1 = legacy_signed(vc1, key, "Ed25519Signature2020")
    assert check(verify(vc1, now=NOW), "schema")["code"] == "subject_unidentified"


def test_a_vc1_open_badge_declaring_the_json_url_is_not_judged_by_the_vc2_schema(key):
    """Until April 2024 that URL served the VC 1.1 schema; the bundled one requires validFrom."""
    credential = ob3_vc1_credential(key.controller)
    assert credential["@context"][0] == VC1
    credential = legacy_signed(declaring_schema(credential), key, "Ed25519Signature2020")
    result = verify(credential, now=NOW)
    assert result["verified"] is True, result
    assert codes(result["warnings"]) == ["schema_not_checked"]


# -- the CLI and the API ------------------------------------------------------------------------------


def test_the_cli_and_the_api_verify_the_third_party_credential(wired, third_party, tmp_path):
    path = tmp_path / "third-party.json"
    path.write_text(json.dumps(third_party))
    runner = wired.test_cli_runner()
    result = runner.invoke(args=["verify", str(path), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Verified, with remarks." in result.output and "! Remark" in result.output
    response = wired.test_client().post("/api/v1/verify", json=third_party)
    assert response.status_code == 200 and response.get_json()["verified"] is True
    third_party["credentialSubject"]["activityEndDate"] = "2025-06-29"
    path.write_text(json.dumps(third_party))
    assert runner.invoke(args=["verify", str(path)]).exit_code == 1
    assert wired.test_client().post("/api/v1/verify", json=third_party).get_json()["verified"] is False


# -- signing ---------------------------------------------------------------------------------------------

def _key_file(tmp_path):
    from app.verification.signing import generate_did_key

    key = generate_did_key()
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key))
    return key, path


def test_sillage_sign_signs_with_remarks_and_prints_them(wired, tmp_path):
    key, key_path = _key_file(tmp_path)
    unsigned = tmp_path / "unsigned.json"
    unsigned.write_text(json.dumps(third_party_credential(key["controller"])))
    out = tmp_path / "signed.json"
    arguments = ["sign", str(unsigned), "--key", str(key_path), "--out", str(out)]
    result = wired.test_cli_runner().invoke(args=arguments)
    assert result.exit_code == 0, result.output
    assert "Warning: format" in result.stderr and "activityStartDate" in result.stderr
    assert verify(json.loads(out.read_text()), now=NOW)["verified"] is True


@pytest.mark.parametrize("change, message", [
    (lambda c: c.pop("validFrom"), "'validFrom' is a required property"),
    (lambda c: c["credentialSubject"].update(shoeSize=44), "shoeSize"),
    (lambda c: c["credentialSubject"]["achievement"].update(id="achievements/1"), "relative"),
    (lambda c: c.update(name="Badge\u0007"), "control"),
    (lambda c: c["credentialSubject"].pop("identifier"), "identifier"),
    (lambda c: c.update(validFrom="2025-02-30T00:00:00Z"), "validFrom"),
])
def test_signing_refuses_real_errors(tmp_path, change, message):
    from app.verification.signing import SigningRefused, sign

    key, _path = _key_file(tmp_path)
    credential = third_party_credential(key["controller"])
    change(credential)
    with pytest.raises(SigningRefused) as refused:
        sign(credential, key)
    assert message in str(refused.value)
