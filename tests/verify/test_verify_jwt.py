"""JWT-secured credentials (OB 3.0 section 8.2, VC-JOSE-COSE): what verifies, and every refusal, each
with its stable code. Keys are generated in the tests; tokens are signed by joserfc."""
from __future__ import annotations

import copy
import hashlib
import hmac
import io
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import OctKey, OKPKey, RSAKey
from PIL import Image

from badges.bake import bake
from badges.verify import verify
from certs.keys import KeyPair
from tests.verify.credentials import NOW, Web, check, failed_codes, stamp
from tests.verify.jwts import (ALGORITHMS, JwkIssuer, assemble, b64, numeric, ob3_jwt_credential, public_jwk,
                               sign, unb64, vc_claims)

CHECKS = ["parse", "jsonld", "schema", "verification_method", "proof", "issuer", "validity", "status"]


@pytest.fixture
def web():
    return Web()


@pytest.fixture
def issuer(web):
    return JwkIssuer(web)


def assert_refused(result: dict, code: str, name: str | None = None) -> None:
    assert result["verified"] is False, result
    assert code in failed_codes(result), result["checks"]
    if name:
        assert check(result, name)["code"] == code, result["checks"]
    assert any(error["code"] == code and error["message"] for error in result["errors"])


def _okp_did_key() -> tuple[OKPKey, KeyPair]:
    """An Ed25519 key as a joserfc key (to sign) and as Sillage's KeyPair (its did:key)."""
    pair = KeyPair.generate()
    return OKPKey.import_key(pair.private_key), pair


# -- what verifies ---------------------------------------------------------------------------------

@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_ob3_jwt_verifies_for_each_algorithm(web, issuer, alg):
    result = verify(issuer.ob3_jwt(alg), fetch=web, now=NOW)
    assert result["verified"] is True, result
    assert [c["name"] for c in result["checks"]] == CHECKS
    assert f"JWT {alg}" in check(result, "proof")["detail"]
    assert "(VC-JWT)" in check(result, "parse")["detail"]
    assert result["warnings"] == []


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_vc_jose_cose_jwt_verifies_for_each_algorithm(web, issuer, alg):
    token = issuer.vc_jwt(alg, claims={"iss": issuer.did, "iat": numeric(NOW - timedelta(days=1))})
    result = verify(token, fetch=web, now=NOW)
    assert result["verified"] is True, result
    assert [c["name"] for c in result["checks"]] == CHECKS


def test_a_jwt_is_read_from_text_bytes_a_json_string_and_baked_images(web, issuer):
    token = issuer.ob3_jwt("ES256")
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'
    for given in (token, f"  {token}\n", token.encode(), json.dumps(token).encode(), json.dumps(token),
                  bake(png.getvalue(), token), bake(svg, token)):
        result = verify(given, fetch=web, now=NOW)
        assert result["verified"] is True, (given[:40], result)


def test_did_key_kid_and_bare_did_key(web):
    signer, pair = _okp_did_key()
    credential = ob3_jwt_credential(pair.controller)
    for kid in (pair.id, pair.controller):
        token = sign({"alg": "EdDSA", "kid": kid}, vc_claims(credential), signer)
        result = verify(token, fetch=web, now=NOW)
        assert result["verified"] is True, result
    assert web.requests == []  # did:key resolves offline


def test_header_jwk_verifies_only_when_it_is_the_issuers_key(web, issuer):
    signer, pair = _okp_did_key()
    header = {"alg": "EdDSA", "jwk": public_jwk(signer)}
    own = sign(header, vc_claims(ob3_jwt_credential(pair.controller)), signer)
    result = verify(own, fetch=web, now=NOW)
    assert result["verified"] is True, result
    # the same key claiming to speak for someone else: anyone can put any key in a header
    forged = sign(header, vc_claims(issuer.credential()), signer)
    assert_refused(verify(forged, fetch=web, now=NOW), "jwt_key_not_bound", "issuer")
    # one of a did:web issuer's assertion keys, given in the header rather than named by kid
    listed = sign({"alg": "ES256", "jwk": public_jwk(issuer.keys["ES256"])}, vc_claims(issuer.credential()),
                  issuer.keys["ES256"])
    assert verify(listed, fetch=web, now=NOW)["verified"] is True


def test_https_jwks_key_must_be_on_the_issuers_origin(web):
    key = RSAKey.generate_key(2048)
    web.documents["https://school.example/.well-known/jwks.json"] = {
        "keys": [{**public_jwk(RSAKey.generate_key(2048)), "kid": "old"}, {**public_jwk(key), "kid": "k1"}]}
    web.documents["https://school.example/issuers/1/keys/1"] = public_jwk(key)
    for kid in ("https://school.example/.well-known/jwks.json#k1", "https://school.example/issuers/1/keys/1"):
        token = sign({"alg": "RS256", "kid": kid}, vc_claims(ob3_jwt_credential("https://school.example/issuers/1")),
                     key)
        result = verify(token, fetch=web, now=NOW)
        assert result["verified"] is True, result
        other = sign({"alg": "RS256", "kid": kid}, vc_claims(ob3_jwt_credential("https://other.example/i/1")), key)
        assert_refused(verify(other, fetch=web, now=NOW), "jwt_key_not_bound", "issuer")
    unknown = sign({"alg": "RS256", "kid": "https://school.example/.well-known/jwks.json#nope"},
                   vc_claims(ob3_jwt_credential("https://school.example/issuers/1")), key)
    assert_refused(verify(unknown, fetch=web, now=NOW), "method_unresolvable", "verification_method")


def test_a_key_elsewhere_on_a_shared_host_does_not_speak_for_the_issuer(web):
    """Found in review: the origin alone bound a key to the issuer, on hosts that many people share."""
    key = RSAKey.generate_key(2048)
    web.documents["https://pages.example/mallory/key.json"] = public_jwk(key)
    credential = ob3_jwt_credential("https://pages.example/alice/issuer.json")
    token = sign({"alg": "RS256", "kid": "https://pages.example/mallory/key.json"}, vc_claims(credential), key)
    assert_refused(verify(token, fetch=web, now=NOW), "jwt_key_not_bound", "issuer")


def test_claims_fill_what_the_vc_claim_leaves_out(web, issuer):
    """VC 1.1 JWTs (and OB 3.0 section 8.2 "convert the payload") carry id, issuer, subject id and dates
    in the registered claims only."""
    credential = issuer.credential()
    claims = vc_claims(credential)
    slim = copy.deepcopy(credential)
    for name in ("id", "issuer", "validFrom", "validUntil"):
        del slim[name]
    del slim["credentialSubject"]["id"]
    token = sign({"alg": "ES256", "kid": issuer.kid("ES256")}, {**claims, "vc": slim}, issuer.keys["ES256"])
    assert verify(token, fetch=web, now=NOW)["verified"] is True
    # exp stands for validUntil: past it, the credential has expired
    assert_refused(verify(token, fetch=web, now=NOW + timedelta(days=400)), "expired", "validity")


# -- refusals ----------------------------------------------------------------------------------------

def _parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    return json.loads(unb64(header)), json.loads(unb64(payload)), signature


def test_tampered_header_payload_or_signature_fails(web, issuer):
    for alg in sorted(ALGORITHMS):
        token = issuer.ob3_jwt(alg)
        header, payload, signature = _parts(token)
        payload["vc"]["name"] = "Forged"
        changed_payload = ".".join([token.split(".")[0], b64(json.dumps(payload)), signature])
        changed_header = ".".join([b64(json.dumps({**header, "typ": "jwt"})), *token.split(".")[1:]])
        raw = bytearray(unb64(signature))
        raw[len(raw) // 2] ^= 1
        changed_signature = ".".join([*token.split(".")[:2], b64(bytes(raw))])
        for tampered in (changed_payload, changed_header, changed_signature):
            assert_refused(verify(tampered, fetch=web, now=NOW), "bad_signature", "proof")


def test_alg_none_and_hmac_are_refused(web, issuer):
    credential = issuer.credential()
    none = assemble({"alg": "none", "kid": issuer.kid("RS256")}, vc_claims(credential))
    result = verify(none, fetch=web, now=NOW)
    assert_refused(result, "jwt_alg_refused", "proof")
    assert check(result, "verification_method") is None and web.requests == []
    # algorithm confusion: HS256 keyed with the issuer's public RSA key, as a naive verifier would check it
    public_pem = issuer.keys["RS256"].raw_value.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': issuer.kid('RS256')}))}." \
                    f"{b64(json.dumps(vc_claims(credential)))}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    confused = f"{signing_input}.{b64(mac)}"
    assert_refused(verify(confused, fetch=web, now=NOW), "jwt_alg_refused", "proof")
    for alg in ("HS512", "RS1", "", None):
        token = assemble({"alg": alg, "kid": issuer.kid("RS256")}, vc_claims(credential), b"x")
        assert_refused(verify(token, fetch=web, now=NOW), "jwt_alg_refused", "proof")


def test_private_jwk_is_refused(web, issuer):
    key = RSAKey.generate_key(2048)
    credential = issuer.credential()
    token = sign({"alg": "RS256", "jwk": key.as_dict(private=True)}, vc_claims(credential), key)
    assert_refused(verify(token, fetch=web, now=NOW), "jwt_private_key", "verification_method")
    secret = OctKey.generate_key(256)
    token = assemble({"alg": "RS256", "jwk": secret.as_dict(private=True)}, vc_claims(credential), b"x")
    assert_refused(verify(token, fetch=web, now=NOW), "jwt_private_key", "verification_method")
    # a controller document that publishes a private key is refused the same way
    issuer.document["verificationMethod"][0]["publicKeyJwk"] = issuer.keys["RS256"].as_dict(private=True)
    assert_refused(verify(issuer.ob3_jwt("RS256"), fetch=web, now=NOW), "jwt_private_key", "verification_method")


@pytest.mark.parametrize("claim, value", [("iss", "did:web:elsewhere.example"), ("jti", "urn:uuid:other"),
                                          ("sub", "did:example:someone-else"), ("nbf", 1_600_000_000),
                                          ("exp", 1_900_000_000)])
def test_claims_that_contradict_the_credential_fail(web, issuer, claim, value):
    claims = {**vc_claims(issuer.credential()), claim: value}
    token = sign({"alg": "RS256", "kid": issuer.kid("RS256")}, claims, issuer.keys["RS256"])
    result = verify(token, fetch=web, now=NOW)
    assert_refused(result, "jwt_claim_mismatch", "issuer" if claim == "iss" else "proof")
    # VC-JOSE-COSE too: iss, jti and sub must not contradict issuer, id and credentialSubject.id
    if claim in ("iss", "jti", "sub"):
        assert_refused(verify(issuer.vc_jwt(claims={claim: value}), fetch=web, now=NOW), "jwt_claim_mismatch")


def test_expired_and_future_jwts_fail(web, issuer):
    expired = issuer.credential(validUntil=stamp(NOW - timedelta(days=1)))
    assert_refused(verify(issuer.ob3_jwt("ES256", expired), fetch=web, now=NOW), "expired", "validity")
    # VC-JOSE-COSE: exp and nbf bound the signature, whatever the credential's own dates
    past = issuer.vc_jwt(claims={"exp": numeric(NOW - timedelta(hours=1))})
    assert_refused(verify(past, fetch=web, now=NOW), "jwt_expired", "proof")
    future = issuer.vc_jwt(claims={"nbf": numeric(NOW + timedelta(days=2))})
    assert_refused(verify(future, fetch=web, now=NOW), "jwt_not_yet_valid", "proof")


def test_wrong_kid_fails(web, issuer):
    credential = issuer.credential()
    # another key of the same issuer: the signature does not match it
    token = sign({"alg": "RS256", "kid": issuer.kid("ES256")}, vc_claims(credential), issuer.keys["RS256"])
    result = verify(token, fetch=web, now=NOW)
    assert result["verified"] is False and check(result, "proof")["ok"] is False
    assert check(result, "proof")["code"] in ("invalid_key", "bad_signature")
    other = RSAKey.generate_key(2048)
    issuer.document["verificationMethod"].append({"id": f"{issuer.did}#spare", "type": "JsonWebKey",
                                                  "controller": issuer.did, "publicKeyJwk": public_jwk(other)})
    issuer.document["assertionMethod"].append(f"{issuer.did}#spare")
    token = sign({"alg": "RS256", "kid": f"{issuer.did}#spare"}, vc_claims(credential), issuer.keys["RS256"])
    assert_refused(verify(token, fetch=web, now=NOW), "bad_signature", "proof")
    # a kid its controller does not know
    token = sign({"alg": "RS256", "kid": f"{issuer.did}#missing"}, vc_claims(credential), issuer.keys["RS256"])
    assert_refused(verify(token, fetch=web, now=NOW), "method_unresolvable", "verification_method")
    # a key of someone else's document
    stranger = JwkIssuer(web, host="stranger.example")
    token = sign({"alg": "RS256", "kid": stranger.kid("RS256")}, vc_claims(credential), stranger.keys["RS256"])
    assert_refused(verify(token, fetch=web, now=NOW), "issuer_mismatch", "issuer")
    # a header jwk that is not the key the kid names
    token = sign({"alg": "RS256", "kid": issuer.kid("RS256"), "jwk": public_jwk(other)}, vc_claims(credential),
                 other)
    assert_refused(verify(token, fetch=web, now=NOW), "jwt_key_mismatch", "verification_method")


def test_crit_and_unencoded_payloads_are_refused(web, issuer):
    for extra in ({"crit": ["exp"], "exp": 1}, {"crit": []}, {"b64": False, "crit": ["b64"]}, {"b64": True}):
        token = assemble({"alg": "RS256", "kid": issuer.kid("RS256"), **extra}, vc_claims(issuer.credential()),
                         b"x")
        assert_refused(verify(token, fetch=web, now=NOW), "jwt_crit_unsupported", "proof")


def test_weak_and_mismatched_keys_are_refused(web, issuer):
    weak = RSAKey.import_key(rsa.generate_private_key(65537, 1024))
    token = assemble({"alg": "RS256", "jwk": public_jwk(weak)}, vc_claims(issuer.credential()), b"x")
    assert_refused(verify(token, fetch=web, now=NOW), "invalid_key", "verification_method")
    token = assemble({"alg": "ES256", "kid": issuer.kid("EdDSA")}, vc_claims(issuer.credential()), b"x" * 64)
    assert_refused(verify(token, fetch=web, now=NOW), "invalid_key", "proof")


def test_unreadable_and_other_jwts_fail_the_parse_check(web, issuer):
    credential = issuer.credential()
    cases = {
        "jwt_unsupported_type": [assemble({"alg": "ES256", "typ": "vp+jwt"}, credential, b"x"),
                                 assemble({"alg": "ES256", "typ": "vc+sd-jwt"}, credential, b"x"),
                                 assemble({"alg": "ES256"}, {"vp": {"type": "VerifiablePresentation"}}, b"x")],
        "jwt_invalid": [assemble({"alg": "ES256", "typ": "vc+jwt"}, vc_claims(credential), b"x"),
                        assemble({"alg": "ES256"}, {**vc_claims(credential), "nbf": "yesterday"}, b"x"),
                        assemble({"alg": "ES256"}, {**credential, "vc": credential}, b"x"),
                        "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.eA"],
    }
    for code, tokens in cases.items():
        for token in tokens:
            result = verify(token, fetch=web, now=NOW)
            assert_refused(result, code, "parse")
            assert result["checks"][0]["name"] == "parse"
    duplicated = ".".join([b64('{"alg":"ES256","alg":"none"}'), b64(json.dumps(vc_claims(credential))), "eA"])
    assert_refused(verify(duplicated, fetch=web, now=NOW), "jwt_invalid", "parse")
    # an Open Badges 2.0 signed assertion is a JWS too, but not a VC-JWT
    assertion = {"@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": "urn:uuid:1",
                 "recipient": {"type": "email", "identity": "a@example.org"}, "badge": "https://b.example/1",
                 "verification": {"type": "SignedBadge"}, "issuedOn": "2025-01-01T00:00:00Z"}
    assert_refused(verify(assemble({"alg": "RS256"}, assertion, b"x"), fetch=web, now=NOW),
                   "unsupported_format", "parse")


def test_did_jwk_kid_and_issuer(web):
    key = ALGORITHMS["ES256"]()
    did = "did:jwk:" + b64(json.dumps(public_jwk(key)))
    credential = ob3_jwt_credential(did)
    for header in ({"alg": "ES256", "kid": f"{did}#0"}, {"alg": "ES256", "jwk": public_jwk(key)}):
        result = verify(sign(header, vc_claims(credential), key), fetch=web, now=NOW)
        assert result["verified"] is True, result
    other = ALGORITHMS["ES256"]()
    forged = sign({"alg": "ES256", "jwk": public_jwk(other)}, vc_claims(credential), other)
    assert_refused(verify(forged, fetch=web, now=NOW), "jwt_key_not_bound", "issuer")
    broken = sign({"alg": "ES256", "kid": "did:jwk:bm90LWEtandr#0"}, vc_claims(credential), key)
    assert_refused(verify(broken, fetch=web, now=NOW), "invalid_key", "verification_method")


def test_missing_ob3_claims_are_warnings_and_messages_are_translated(web, issuer):
    claims = vc_claims(issuer.credential())
    del claims["jti"]
    token = sign({"alg": "RS256", "kid": issuer.kid("RS256")}, claims, issuer.keys["RS256"])
    result = verify(token, fetch=web, now=NOW, locale="fr")
    assert result["verified"] is True
    assert [w["code"] for w in result["warnings"]] == ["jwt_claim_missing"]
    assert "revendication" in result["warnings"][0]["message"]
    refused = verify(assemble({"alg": "none"}, claims), fetch=web, now=NOW, locale="fr")
    assert "refusé" in refused["errors"][0]["message"]


def test_baked_images_with_two_badges_or_compression_are_refused_by_the_verifier(web, issuer):
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    plain = png.getvalue()
    token = issuer.ob3_jwt("ES256").encode()
    one = chunk(b"iTXt", b"openbadgecredential\x00\x00\x00\x00\x00" + token)
    assert verify(plain[:-12] + one + plain[-12:], fetch=web, now=NOW)["verified"] is True
    for code, image in (("multiple_badges", plain[:-12] + one + one + plain[-12:]),
                        ("compressed_badge", plain[:-12] + chunk(
                            b"iTXt", b"openbadgecredential\x00\x01\x00\x00\x00" + zlib.compress(token))
                         + plain[-12:])):
        result = verify(image, fetch=web, now=NOW, locale="fr")
        assert_refused(result, code, "parse")
        assert "image" in result["errors"][0]["message"]


def test_enveloped_verifiable_credential(web, issuer):
    """VC 2.0: a JOSE-secured credential inside JSON, as a data: URL (what presentations carry)."""
    token = issuer.vc_jwt("ES256")
    envelope = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "EnvelopedVerifiableCredential",
                "id": f"data:application/vc+jwt,{token}"}
    for given in (envelope, json.dumps(envelope)):
        assert verify(given, fetch=web, now=NOW)["verified"] is True
    tampered = {**envelope, "id": envelope["id"][:-3] + ("AAA" if not envelope["id"].endswith("AAA") else "BBB")}
    assert_refused(verify(tampered, fetch=web, now=NOW), "bad_signature", "proof")
    sd_jwt = {**envelope, "id": f"data:application/vc+sd-jwt,{token}~"}
    assert_refused(verify(sd_jwt, fetch=web, now=NOW), "unsupported_format", "parse")


@pytest.mark.parametrize("header", [b'{"alg":"EdDSA","alg":"none"}', b'["EdDSA"]', b"not json"])
def test_the_badge_reader_and_the_verifier_read_a_compact_jws_alike(header):
    """One reader of the compact form (``badges.formats.jws_segments``) behind both ``badges.read``
    (``decode_jws``) and the verifier (``read_jwt``): a header with a repeated ``alg`` (two meanings
    for two readers), one that is no JSON object, or no JSON at all, is refused by both, for the same
    reason, never read one way by one and another way by the other."""
    from badges.errors import BadgeError
    from badges.formats import decode_jws
    from badges.verify.jwt import read_jwt
    from badges.verify.report import Failure

    token = f"{b64(header)}.{b64(json.dumps({'vc': {}}).encode())}.c2ln"
    with pytest.raises(BadgeError) as by_reader:
        decode_jws(token)
    with pytest.raises(Failure) as by_verifier:
        read_jwt(token)
    assert by_verifier.value.code == "jwt_invalid"
    assert by_verifier.value.params["reason"] == by_reader.value.message
