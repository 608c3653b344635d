"""Credential factories for the verifier tests: real keys, real signatures, real status lists.

Nothing here mocks cryptography: credentials are signed by certs with fresh Ed25519 (or P-256) keys,
and older suites are produced from certs' own building blocks exactly as their specifications say.
Documents that a verifier would fetch are served by :class:`Web`, the ``fetch`` function the verifier
accepts by design (or by a real server on 127.0.0.1 in the end-to-end tests).
"""
from __future__ import annotations

import base64
import copy
import gzip
import hashlib
from datetime import datetime, timedelta, timezone

from badges.fetch import FetchError
from badges.loader import document_loader
from certs import multibase
from certs.canon import canonize
from certs.keys import KeyPair, did_web, did_web_document, did_web_url
from certs.proofs import proof_configuration, sign

VC2 = "https://www.w3.org/ns/credentials/v2"
VC1 = "https://www.w3.org/2018/credentials/v1"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB3_V301 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json"
OB3_V302 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json"
OB3_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
OB3_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
DI_V2 = "https://w3id.org/security/data-integrity/v2"
ED2020 = "https://w3id.org/security/suites/ed25519-2020/v1"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ob3_credential(issuer: str, **overrides) -> dict:
    """An unsigned Open Badges 3.0 credential issued by ``issuer`` (valid from a year before NOW)."""
    document = {
        "@context": [VC2, OB3],
        "id": "urn:uuid:4f6c2f3e-9d0b-4c1e-a7a2-3c5d8e9f0a1b",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Premiers secours",
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Croix Test"},
        "validFrom": stamp(NOW - timedelta(days=365)),
        "credentialSubject": {
            "id": "did:example:learner-1",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "urn:uuid:9a1e0c4b-2b8f-4d3a-9e51-7c6d5b4a3f21",
                "type": ["Achievement"],
                "name": "Premiers secours (PSC1)",
                "description": "Gestes de premiers secours.",
                "criteria": {"narrative": "Formation de 7 heures et mise en situation."},
            },
        },
    }
    document.update(overrides)
    return document


def declaring_schema(document: dict, *schema_ids: str) -> dict:
    """``document`` declaring ``credentialSchema`` entries of type ``1EdTechJsonSchemaValidator2019`` (by
    default the official AchievementCredential schema), with the extensions context that defines that
    type, as the OB 3.0 specification's sample file does."""
    document = copy.deepcopy(document)
    if OB3_EXTENSIONS not in document["@context"]:
        document["@context"] = [*document["@context"], OB3_EXTENSIONS]
    document["credentialSchema"] = [{"id": schema_id, "type": "1EdTechJsonSchemaValidator2019"}
                                    for schema_id in schema_ids or (OB3_SCHEMA,)]
    return document


def third_party_credential(issuer: str) -> dict:
    """An Open Badges 3.0 credential as another conformant implementation makes it (modelled on the
    specification's sample file): the extensions context, ``credentialSchema``, a hashed e-mail
    ``identifier`` instead of an ``id``, and activity dates that are dates (``xsd:date`` in the OB context),
    not the date-times the JSON Schema annotates."""
    return {
        "@context": [VC2, OB3, OB3_EXTENSIONS],
        "id": "https://badges.other-issuer.example/credentials/7d4c0a52",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Summer School in Applied Statistics",
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Other Issuer University",
                   "url": "https://other-issuer.example"},
        "validFrom": stamp(NOW - timedelta(days=20)),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{
                "type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
                "identityHash": "sha256$" + hashlib.sha256(b"learner@example.orgN4cl").hexdigest(),
                "salt": "N4cl",
            }],
            "activityStartDate": "2025-05-05",
            "activityEndDate": "2025-05-09",
            "achievement": {
                "id": "https://badges.other-issuer.example/achievements/stats-summer",
                "type": ["Achievement"],
                "achievementType": "Course",
                "name": "Applied Statistics (summer school)",
                "description": "Five days of regression, sampling and experimental design.",
                "criteria": {"narrative": "Attend the five days and pass the final project."},
            },
        },
        "credentialSchema": [{"id": OB3_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }


def ob3_vc1_credential(issuer: str, ob_context: str = OB3_V302, **overrides) -> dict:
    """An unsigned Open Badges 3.0 credential of the releases built on VC 1.1 (``issuanceDate``, the VC 1.1
    context first, then an earlier OB 3.0 context and the Ed25519Signature2020 context), as the Digital
    Credentials Consortium's issuer and many wallets still produce them."""
    document = ob3_credential(issuer)
    del document["validFrom"]
    document = {**document, "@context": [VC1, ob_context, ED2020],
                "issuanceDate": stamp(NOW - timedelta(days=365))}
    document.update(overrides)
    return document


def vc2_credential(issuer: str, **overrides) -> dict:
    """A plain VC 2.0 credential (not an Open Badge)."""
    document = {
        "@context": [VC2],
        "id": "urn:uuid:0b7e6a55-3c1f-4d0e-8f6a-1b2c3d4e5f60",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": stamp(NOW - timedelta(days=10)),
        "credentialSubject": {"id": "did:example:learner-2", "name": "Camille"},
    }
    document.update(overrides)
    return document


def vc1_credential(issuer: str, **overrides) -> dict:
    """A VC 1.1 credential, signed with a Data Integrity proof (context data-integrity/v2)."""
    document = {
        "@context": [VC1, DI_V2],
        "id": "urn:uuid:6e3f1a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "issuanceDate": stamp(NOW - timedelta(days=10)),
        "credentialSubject": {"id": "did:example:learner-3"},
    }
    document.update(overrides)
    return document


def signed(document: dict, key: KeyPair, **options) -> dict:
    return sign(document, key, document_loader(), created=options.pop("created", NOW - timedelta(days=1)),
                **options)


def did_key_pair() -> KeyPair:
    return KeyPair.generate()


class Issuer:
    """A did:web issuer whose controller document is served by a :class:`Web`."""

    def __init__(self, web: Web, host: str = "issuer.example", name: str = "org-1", keys: int = 1):
        self.did = did_web(host, "issuers", name)
        self.keys = [KeyPair.generate(controller=self.did, key_id=f"{self.did}#key-{i + 1}")
                     for i in range(keys)]
        self.key = self.keys[0]
        self.document = did_web_document(self.did, self.keys)
        self.url = did_web_url(self.did)
        web.documents[self.url] = self.document


class Web:
    """The verifier's ``fetch``: documents by URL; anything else fails like an unreachable server."""

    def __init__(self):
        self.documents: dict[str, object] = {}
        self.requests: list[str] = []

    def __call__(self, url: str):
        self.requests.append(url)
        if url not in self.documents:
            raise FetchError("fetch_failed", "HTTP 404", url)
        return copy.deepcopy(self.documents[url])


def encode_bitstring(size_bits: int, set_bits=()) -> str:
    """A Bitstring Status List ``encodedList``: GZIP, then multibase base64url (``u``)."""
    bits = bytearray(size_bits // 8)
    for index in set_bits:
        bits[index // 8] |= 0x80 >> (index % 8)
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits))).rstrip(b"=").decode()


def status_list(issuer: Issuer, url: str, purpose: str = "revocation", set_bits=(), size_bits: int = 131072,
                key: KeyPair | None = None, **overrides) -> dict:
    """A signed BitstringStatusListCredential served at ``url``."""
    document = {
        "@context": [VC2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer.did,
        "validFrom": stamp(NOW - timedelta(days=30)),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode_bitstring(size_bits, set_bits),
        },
    }
    document.update(overrides)
    return signed(document, key or issuer.key)


def status_entry(url: str, index: int, purpose: str = "revocation") -> dict:
    return {"id": f"{url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": purpose,
            "statusListIndex": str(index), "statusListCredential": url}


def legacy_signed(document: dict, key: KeyPair, suite: str) -> dict:
    """Sign with ``Ed25519Signature2020`` or ``ecdsa-rdfc-2019`` (P-256), which Sillage only verifies.

    Built from certs' building blocks as the suites define them: canonical proof options hash
    || canonical document hash, signed; multibase base58btc proofValue.
    """
    document = copy.deepcopy(document)
    if suite == "Ed25519Signature2020":
        proof = {"type": "Ed25519Signature2020"}
    else:
        proof = {"type": "DataIntegrityProof", "cryptosuite": "ecdsa-rdfc-2019"}
    proof.update({"created": stamp(NOW - timedelta(days=1)), "verificationMethod": key.id,
                  "proofPurpose": "assertionMethod"})
    loader = document_loader()
    to_sign = (hashlib.sha256(proof_configuration(document, proof, loader).encode()).digest()
               + hashlib.sha256(canonize(document, loader).encode()).digest())
    proof["proofValue"] = multibase.encode(key.sign(to_sign))
    document["proof"] = proof
    return document


def check(result: dict, name: str) -> dict | None:
    return next((c for c in result["checks"] if c["name"] == name), None)


def failed_codes(result: dict) -> list[str]:
    return [c["code"] for c in result["checks"] if not c["ok"]]
