"""Building OB 3.0 credentials: shape, schema validity, early refusals, recipient identity."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone

import pytest

from badges import BadgeError, InvalidValue, ob3, validate_ob3
from badges.identity import identity_hash
from badges.schema import SchemaIntegrityError, _registry

from tests.badges.factories import ACHIEVEMENT, NOW, STATUS, credential


def test_built_credential_has_the_ob3_shape():
    doc = credential()
    assert doc["@context"] == ["https://www.w3.org/ns/credentials/v2",
                               "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
                               "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"]
    # as in the specification's sample file: every verifier holds it to the official schema
    assert doc["credentialSchema"] == [{
        "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
        "type": "1EdTechJsonSchemaValidator2019"}]
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["id"].startswith("urn:uuid:")
    assert doc["name"] == "Travail en équipe"
    assert doc["validFrom"] == "2024-05-17T09:30:12Z"  # UTC, Z, no fractional seconds
    assert doc["validUntil"] == "2025-05-17T09:30:12Z"
    assert doc["issuer"] == {
        "id": "did:web:sillage.example:issuers:7f0c", "type": ["Profile"], "name": "Université de Lyon",
        "url": "https://univ.example", "email": "badges@univ.example",
        "image": {"id": "https://sillage.example/issuers/7f0c/logo.png", "type": "Image"},
    }
    subject = doc["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"] and "id" not in subject
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"]
    assert achievement["criteria"] == {"narrative": "Nommé par ses pairs."}
    assert achievement["image"] == {"id": "https://sillage.example/achievements/1d2e/image.png",
                                    "type": "Image"}
    assert achievement["alignment"] == [{"type": ["Alignment"], "targetName": "Travailler en équipe",
                                         "targetUrl": "https://esco.example/skill/42",
                                         "targetFramework": "ESCO", "targetCode": "S1.2"}]
    assert achievement["resultDescription"][0]["allowedValue"] == ["A", "B", "C"]
    assert subject["result"] == [{"type": ["Result"], "value": "A",
                                  "resultDescription": ACHIEVEMENT.result_descriptions[0].id}]
    assert doc["credentialStatus"] == STATUS
    assert doc["evidence"][0]["type"] == ["Evidence"]
    assert "proof" not in doc
    json.dumps(doc, allow_nan=False)  # plain JSON


def test_identifier_is_a_salted_hash_with_a_fresh_salt_each_time():
    first, second = credential(), credential()
    ident = first["credentialSubject"]["identifier"][0]
    assert ident["type"] == "IdentityObject" and ident["identityType"] == "emailAddress"
    assert ident["hashed"] is True
    assert ident["identityHash"] == identity_hash("alice.martin@example.org", ident["salt"])
    assert "alice" not in json.dumps(first).lower()
    assert ident["salt"] != second["credentialSubject"]["identifier"][0]["salt"]
    assert ident["identityHash"] != second["credentialSubject"]["identifier"][0]["identityHash"]
    assert first["id"] != second["id"]


def test_identity_hash_matches_the_specification_example():
    # OB 3.0 data model, IdentityHash: 'a@example.com' salted with 'Kosher'.
    assert identity_hash("a@example.com", "Kosher") == \
        "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"


def test_matches_identity():
    doc = credential()
    assert ob3.matches_identity(doc, "alice.martin@example.org")
    assert ob3.matches_identity(doc, "  ALICE.Martin@example.ORG ")
    assert not ob3.matches_identity(doc, "bob@example.org")
    assert not ob3.matches_identity(doc, "")
    assert not ob3.matches_identity({"credentialSubject": "nonsense"}, "a@example.com")
    # another issuer's credential: spec example, subject as a single object, uppercase hex
    other = {"credentialSubject": {"identifier": [{
        "type": "IdentityObject", "identityType": "emailAddress", "hashed": True, "salt": "Kosher",
        "identityHash": "sha256$B5809D8A92F8858436D7E6B87C12EBC0AE1EAC4BAECC2C0B913AEE2C922EF399"}]}}
    assert ob3.matches_identity(other, "a@example.com")
    plain = {"credentialSubject": {"identifier": [{"type": "IdentityObject", "identityType": "emailAddress",
                                                   "hashed": False, "identityHash": "a@example.com"}]}}
    assert ob3.matches_identity(plain, "A@example.com")


def test_holder_did_and_email_can_be_combined_but_one_is_required():
    doc = credential(holder_id="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", email=None)
    assert doc["credentialSubject"]["id"].startswith("did:key:")
    assert "identifier" not in doc["credentialSubject"]
    assert validate_ob3(doc) == []
    with pytest.raises(InvalidValue) as caught:
        credential(email=None)
    assert caught.value.field == "recipient"


def test_accepts_plain_dicts():
    doc = ob3.build_credential(
        issuer={"id": "https://sillage.example/issuers/1", "name": "Org"},
        achievement={"id": "urn:uuid:8d5e3a52-3c43-4e1e-9a25-5b8a9f1f5f1a", "name": "A", "description": "D",
                     "criteria_id": "https://sillage.example/criteria/1"},
        valid_from=NOW, email="a@example.org", credential_id="https://sillage.example/credentials/1")
    assert doc["id"] == "https://sillage.example/credentials/1"
    assert doc["credentialSubject"]["achievement"]["criteria"] == {"id": "https://sillage.example/criteria/1"}
    assert validate_ob3(doc) == []
    with pytest.raises(InvalidValue) as caught:
        ob3.build_credential(issuer={"id": "https://x.example", "name": "X", "colour": "red"},
                             achievement=ACHIEVEMENT, valid_from=NOW, email="a@example.org")
    assert caught.value.field == "issuer" and "colour" in caught.value.message


@pytest.mark.parametrize("bad", ["Nom\x00", "a\x01b", "tab\x1f", "del\x7f", "surrogate\ud800"])
def test_control_characters_are_refused_with_the_field_name(bad):
    with pytest.raises(InvalidValue) as caught:
        credential(achievement=ob3.Achievement(id=ACHIEVEMENT.id, name=bad, description="d",
                                               criteria_narrative="c"))
    assert caught.value.field == "achievement.name"


def test_tabs_and_newlines_are_allowed_in_texts():
    doc = credential(description="Ligne 1\nLigne 2\r\n\tfin")
    assert doc["description"] == "Ligne 1\nLigne 2\r\n\tfin"


def test_control_characters_in_credential_status_are_refused():
    with pytest.raises(InvalidValue) as caught:
        credential(credential_status=dict(STATUS, statusPurpose="revo\x02cation"))
    assert caught.value.field == "credential_status.statusPurpose"


@pytest.mark.parametrize("field,kwargs", [
    ("credential_id", {"credential_id": "credentials/1"}),
    ("credential_id", {"credential_id": "did:example:123"}),  # must be urn:uuid or http(s)
    ("issuer.id", {"issuer": ob3.Profile(id="/issuers/1", name="X")}),
    ("issuer.id", {"issuer": ob3.Profile(id="https:///nohost", name="X")}),
    ("issuer.url", {"issuer": ob3.Profile(id="did:web:x.example", name="X", url="x.example")}),
    ("holder_id", {"holder_id": "alice", "email": None}),
    ("achievement.id", {"achievement": ob3.Achievement(id="achievements/1", name="n", description="d",
                                                       criteria_narrative="c")}),
    ("achievement.image.id", {"achievement": ob3.Achievement(id="urn:uuid:1", name="n", description="d",
                                                             criteria_narrative="c", image="img.png")}),
    ("evidence[0].id", {"evidence": [ob3.Evidence(id="evidence 1", narrative="x")]}),
    ("credential_status.statusListCredential",
     {"credential_status": dict(STATUS, statusListCredential="/s/1")}),
])
def test_relative_or_malformed_ids_are_refused_early(field, kwargs):
    with pytest.raises(InvalidValue) as caught:
        credential(**kwargs)
    assert caught.value.field == field


def test_dates_must_be_aware_and_ordered():
    with pytest.raises(InvalidValue) as caught:
        credential(valid_from=datetime(2024, 1, 1))
    assert caught.value.field == "valid_from"
    with pytest.raises(InvalidValue) as caught:
        credential(valid_until=NOW - timedelta(seconds=1))
    assert caught.value.field == "valid_until"
    paris = timezone(timedelta(hours=2))
    assert credential(valid_from=datetime(2024, 6, 1, 12, 0, 0, 999, tzinfo=paris),
                      valid_until=None)["validFrom"] == "2024-06-01T10:00:00Z"


def test_other_refusals():
    with pytest.raises(InvalidValue, match="criteria"):
        credential(achievement=ob3.Achievement(id="urn:uuid:1", name="n", description="d"))
    with pytest.raises(InvalidValue) as caught:
        credential(achievement=ob3.Achievement(id="urn:uuid:1", name="n", description="d",
                                               criteria_narrative="c", achievement_type="Trophy"))
    assert caught.value.field == "achievement.achievement_type"
    assert credential(achievement=ob3.Achievement(id="urn:uuid:1", name="n", description="d",
                                                  criteria_narrative="c", achievement_type="ext:Hackathon"),
                      results=())
    with pytest.raises(InvalidValue) as caught:
        credential(results=[ob3.Result(result_description="https://elsewhere.example/rd", value="A")])
    assert caught.value.field == "results[0].result_description"
    with pytest.raises(InvalidValue) as caught:
        credential(results=[ob3.Result(status="Done")])
    assert caught.value.field == "results[0].status"
    with pytest.raises(InvalidValue) as caught:
        credential(email="not-an-email")
    assert caught.value.field == "email"
    with pytest.raises(InvalidValue) as caught:
        credential(credential_status=dict(STATUS, type="StatusList2021Entry"))
    assert caught.value.field == "credential_status.type"
    with pytest.raises(InvalidValue) as caught:
        credential(evidence=[ob3.Evidence()])
    assert caught.value.field == "evidence[0]"


# -- schema -----------------------------------------------------------------------------

def test_built_credential_is_schema_valid():
    assert validate_ob3(credential()) == []


def test_sillage_credentials_pass_the_served_and_the_formal_schema_without_a_remark():
    """Sillage's own credentials stay strict: no error and no format remark under either variant."""
    from badges import schema

    import certs
    from badges.loader import document_loader
    from badges.signing import check_signable
    from certs.keys import KeyPair

    full = credential(valid_until=NOW + timedelta(days=30))
    for schema_id in (schema.ACHIEVEMENT_CREDENTIAL, schema.FORMAL_ACHIEVEMENT_CREDENTIAL):
        assert schema.check(full, schema_id) == schema.Findings(), schema_id
        assert schema._fast_validator(schema_id, True).is_valid(full), schema_id
    assert check_signable(full) == []
    # signed, it still meets the schema it declares (the served one) without a remark
    signed = certs.sign(full, KeyPair.generate(), document_loader())
    assert schema.check(signed, full["credentialSchema"][0]["id"]) == schema.Findings()


def test_broken_credential_gives_readable_errors():
    doc = credential()
    broken = copy.deepcopy(doc)
    del broken["validFrom"]
    broken["type"] = ["VerifiableCredential"]
    broken["issuer"]["image"] = {"id": "https://x.example/i.png", "type": "Image", "alt": "x"}
    broken["credentialSubject"]["result"][0]["status"] = "Done"
    errors = validate_ob3(broken)
    text = "\n".join(errors)
    assert "'validFrom' is a required property" in text
    assert any(e.startswith("type:") for e in errors)
    assert any(e.startswith("issuer.image") and "alt" in e for e in errors)
    assert any(e.startswith("credentialSubject.result[0].status") for e in errors)
    assert validate_ob3("not an object") == ["(document): 'not an object' is not of type 'object'"]


def test_a_format_deviation_is_a_remark_never_an_error():
    """Draft 2019-09: ``format`` is an annotation. A date where the schema says date-time (issue #645:
    the OB context types activityStartDate as xsd:date) is reported, and the document conforms."""
    from badges import schema

    doc = credential()
    doc["credentialSubject"]["activityStartDate"] = "2025-06-30"
    doc["credentialSubject"]["activityEndDate"] = "2025-07-04"
    for schema_id in (schema.ACHIEVEMENT_CREDENTIAL, schema.FORMAL_ACHIEVEMENT_CREDENTIAL):
        findings = schema.check(doc, schema_id)
        assert findings.errors == []
        assert findings.warnings == [
            "credentialSubject.activityEndDate: '2025-07-04' is not a 'date-time'",
            "credentialSubject.activityStartDate: '2025-06-30' is not a 'date-time'"]
    doc["validFrom"] = "2024-13-45T00:00:00Z"
    assert schema.check(doc).warnings[-1] == "validFrom: '2024-13-45T00:00:00Z' is not a 'date-time'"


def test_the_formal_schema_is_stricter_than_the_served_one(signed_example):
    """The formal variant wants arrays where JSON-LD allows one value (proof); the served adaptation, the
    one the json/ URL serves, accepts both (SOURCES.md)."""
    from badges import schema

    assert schema.check(signed_example, schema.ACHIEVEMENT_CREDENTIAL) == schema.Findings()
    if isinstance(signed_example.get("proof"), dict):
        errors = schema.check(signed_example, schema.FORMAL_ACHIEVEMENT_CREDENTIAL).errors
        assert errors and errors[0].startswith("proof:")


def test_declared_schemas_are_read_from_credential_schema():
    from badges import schema

    assert schema.declared_schemas(credential()) == [schema.ACHIEVEMENT_CREDENTIAL]
    assert schema.declared_schemas({"credentialSchema": {"id": "x", "type": "JsonSchema"}}) == []
    declared = {"credentialSchema": {"id": "x", "type": "1EdTechJsonSchemaValidator2019"}}
    assert schema.declared_schemas(declared) == ["x"]
    assert schema.is_bundled(schema.FORMAL_ACHIEVEMENT_CREDENTIAL)
    assert not schema.is_bundled("https://accrediter.edu/schema/endorsementcredential.json")


def test_the_1edtech_signed_examples_are_schema_valid(signed_example):
    assert validate_ob3(signed_example) == []


def test_schema_registry_is_offline_and_pinned(monkeypatch):
    # a $ref to anything not bundled is refused, never fetched
    from referencing.exceptions import Unresolvable
    from jsonschema import Draft201909Validator
    validator = Draft201909Validator({"$ref": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/x.json"},
                                     registry=_registry())
    with pytest.raises(Unresolvable):
        validator.validate({})
    # a bundled schema whose bytes changed is refused
    from badges import schema
    real = schema._read
    monkeypatch.setattr(schema, "_read",
                        lambda name: real(name) if name == "manifest.json" else real(name) + b" ")
    caches = (schema._schemas, schema._registry, schema._fast_validator, schema._validator)
    for cache in caches:
        cache.cache_clear()
    try:
        with pytest.raises(SchemaIntegrityError):
            schema._registry()
        with pytest.raises(SchemaIntegrityError):
            schema.validate_ob3(credential())
    finally:
        for cache in caches:
            cache.cache_clear()


def test_bundled_schemas_are_valid_draft_2019_09():
    """Checked here once rather than in every process that validates (it cost ~0.1 s at start-up)."""
    from jsonschema import Draft201909Validator

    from badges import schema
    for schema_id, contents in schema._schemas().items():
        Draft201909Validator.check_schema(contents)
        assert contents["$schema"] == "https://json-schema.org/draft/2019-09/schema#", schema_id
        assert contents["$id"] == schema_id


def test_the_fast_validator_never_fetches():
    import jsonschema_rs

    from badges import schema
    with pytest.raises(jsonschema_rs.ValidationError, match="never fetched"):
        jsonschema_rs.Draft201909Validator(
            {"$ref": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/x.json"},
            registry=jsonschema_rs.Registry(list(schema._schemas().items()), retriever=schema._refuse_rs),
            retriever=schema._refuse_rs)


def _variants():
    """Valid and invalid documents, to hold the two validators to the same verdicts."""
    base = credential()
    yield base, True
    changes = [
        lambda d: d.pop("validFrom"),
        lambda d: d.update(type=["VerifiableCredential"]),
        lambda d: d.update(validFrom="2024-13-45T00:00:00Z"),
        lambda d: d.update(validFrom="2024-01-01 00:00:00Z"),
        lambda d: d.update(validFrom="2024-01-01T00:00:00"),
        lambda d: d.update(validFrom="2024-01-01t00:00:00z"),
        lambda d: d["credentialSubject"].update(activityStartDate="2025-06-30"),
        lambda d: d.update(id="not a uri"),
        lambda d: d.update(name=""),
        lambda d: d["@context"].reverse(),
        lambda d: d["credentialSubject"].pop("identifier"),
        lambda d: d["credentialSubject"]["achievement"]["criteria"].pop("narrative"),
        lambda d: d["credentialSubject"]["identifier"][0].update(identityHash="alice@example.org"),
        lambda d: d["issuer"].update(image={"id": "https://x.example/i.png", "type": "Image", "alt": 1}),
        lambda d: d.update(proof={"type": "DataIntegrityProof"}),
        lambda d: d.update(extra={"anything": "goes"}),
    ]
    for change in changes:
        document = copy.deepcopy(base)
        change(document)
        yield document, None


def test_the_deciding_and_the_explaining_validators_agree():
    """jsonschema-rs decides, jsonschema explains: the same verdicts, formats as annotations or asserted,
    under the served and the formal schema."""
    from badges import schema
    for schema_id in (schema.ACHIEVEMENT_CREDENTIAL, schema.FORMAL_ACHIEVEMENT_CREDENTIAL):
        for formats in (False, True):
            fast = schema._fast_validator(schema_id, formats)
            explaining = schema._validator(schema_id, formats)
            for document, expected in _variants():
                verdict = fast.is_valid(document)
                assert verdict == explaining.is_valid(document), (schema_id, formats, document)
                if expected is not None:
                    assert verdict is expected
                if not formats:
                    assert (schema.check(document, schema_id).errors == []) is verdict


def test_a_pattern_never_accepts_a_final_newline():
    """Python's ``$`` matches before a final newline, JSON Schema's (ECMA-262) does not: the document is
    refused, explained by jsonschema-rs since jsonschema sees nothing wrong."""
    document = credential()
    document["@context"][1] += "\n"
    errors = validate_ob3(document)
    assert errors and errors[0].startswith("@context")


def test_badge_error_is_not_confused_with_invalid_value():
    assert not issubclass(BadgeError, ValueError)
    assert issubclass(InvalidValue, ValueError)


# The official schemas' SHA-256 as /work/shared/schemas/ob_v3p0/SOURCES.md records them: pinned here
# independently of the manifest, so that changing a file and its manifest entry together still fails.
OFFICIAL_SCHEMAS = {
    "ob_v3p0_achievementcredential_schema.json":
        "b7358e895f492e74055dc6bfc7ffc420d0e497f90c4579fb83d9519b86d393ea",
    "ob_v3p0_endorsementcredential_schema.json":
        "786b1190ea97e7e339d8057f02414603c0e2b8b1cbe46fd72165c73f39a256c6",
    "ob_v3p0_getopenbadgecredentialsresponse_schema.json":
        "26a2c1ef205f3f49682502994ae6567acfbf64f0edf6c4944e6d411b30c6d566",
    "ob_v3p0_profile_schema.json": "6b268f2caa591bf657e2a290e195713c41dc2db4e1c797723cfd00a1a83f8f13",
    "ob_v3p0_imsx_statusinfo_schema.json": "578a26bc71c9c3a63d84ee334d3eb0cc03fee3cbd2716bbf0b5b77e630ae03de",
    "ob_v3p0_achievementcredential_schema.formal-2024-09.json":
        "86a141ff0c1b1a6b4e08460f786a8ffe0f737d8256a86243d134a2e6450efe4d",
}


def test_the_official_schemas_are_bundled_byte_exact():
    import hashlib
    from importlib import resources

    manifest = json.loads(resources.files("badges").joinpath("schemas", "manifest.json").read_bytes())
    assert {entry["path"]: entry["sha256"] for entry in manifest["schemas"]} == OFFICIAL_SCHEMAS
    for name, digest in OFFICIAL_SCHEMAS.items():
        raw = resources.files("badges").joinpath("schemas", name).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == digest, name
    for entry in manifest["schemas"]:
        assert entry["source_url"].startswith("https://purl.imsglobal.org/spec/ob/v3p0/schema/json/")
        assert entry["provenance"]
