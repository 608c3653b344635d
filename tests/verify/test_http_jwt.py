"""VC-JWTs through ``POST /api/v1/verify`` (JSON string, text/plain, JWT media types, a .jwt upload) and
``sillage verify FILE.jwt``: same verdicts as the library, refusals with stable codes."""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from joserfc.jwk import OKPKey

from certs.keys import KeyPair
from tests.helpers import csrf_token
from tests.verify.credentials import stamp
from tests.verify.jwts import assemble, ob3_jwt_credential, sign, vc_claims

API = "/api/v1/verify"


@pytest.fixture
def client(wired):
    return wired.test_client()


@pytest.fixture
def token() -> str:
    """An OB 3.0 VC-JWT signed with an Ed25519 did:key (resolved offline: no network in these tests)."""
    pair = KeyPair.generate()
    today = datetime.now(timezone.utc)  # the application judges validity at the real current time
    credential = ob3_jwt_credential(pair.controller, validFrom=stamp(today - timedelta(days=1)),
                                    validUntil=stamp(today + timedelta(days=365)))
    return sign({"alg": "EdDSA", "kid": pair.id, "typ": "JWT"}, vc_claims(credential),
                OKPKey.import_key(pair.private_key))


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    return ".".join([header, payload, ("A" if signature[0] != "A" else "B") + signature[1:]])


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain; charset=utf-8", "application/jwt",
                                          "application/vc+jwt"])
def test_api_verifies_a_jwt_sent_as_text(client, token, content_type):
    response = client.post(API, data=token, content_type=content_type)
    assert response.status_code == 200
    body = response.get_json()
    assert body["verified"] is True, body
    assert "JWT EdDSA" in next(c for c in body["checks"] if c["name"] == "proof")["detail"]
    tampered = client.post(API, data=_tampered(token), content_type=content_type).get_json()
    assert tampered["verified"] is False and "bad_signature" in [e["code"] for e in tampered["errors"]]


def test_api_verifies_a_jwt_sent_as_a_json_string(client, token):
    response = client.post(API, data=json.dumps(token), content_type="application/json")
    assert response.status_code == 200 and response.get_json()["verified"] is True


def test_api_verifies_an_uploaded_jwt_file(client, token):
    data = {"file": (io.BytesIO(token.encode() + b"\n"), "badge.jwt", "application/octet-stream")}
    response = client.post(API, data=data, content_type="multipart/form-data")
    assert response.status_code == 200 and response.get_json()["verified"] is True


def test_api_refusals_for_jwts(client, token):
    # an unsecured JWT is a readable document that does not verify: 200, verified false, a stable code
    claims = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[1] + "=="))
    body = client.post(API, data=assemble({"alg": "none"}, claims), content_type="text/plain").get_json()
    assert body["verified"] is False and body["errors"][0]["code"] == "jwt_alg_refused"
    # text that is no JWT at all is a broken request
    response = client.post(API, data="hello there", content_type="text/plain")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_json"
    response = client.post(API, data=" ", content_type="text/plain")
    assert response.status_code == 400 and response.get_json()["error"] == "no_input"
    response = client.post(API, data="x" * (1024 * 1024 + 10), content_type="text/plain")
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"
    response = client.post(API, data=token, content_type="application/octet-stream")
    assert response.status_code == 415 and response.get_json()["error"] == "unsupported_media_type"


def test_openapi_documents_the_jwt_bodies(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    content = spec["paths"]["/api/v1/verify"]["post"]["requestBody"]["content"]
    assert "text/plain" in content and "application/json" in content


def test_cli_verifies_a_jwt_file(wired, token, tmp_path):
    runner = wired.test_cli_runner()
    path = tmp_path / "badge.jwt"
    path.write_text(token + "\n")
    result = runner.invoke(args=["verify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["verified"] is True
    path.write_text(_tampered(token))
    result = runner.invoke(args=["verify", str(path), "--json"])
    assert result.exit_code == 1
    assert "bad_signature" in [e["code"] for e in json.loads(result.output)["errors"]]


def test_the_verify_page_takes_a_pasted_or_uploaded_jwt(client, token):
    page = client.post("/verify", data={"credential": token, "csrf_token": csrf_token(client.get("/verify"))})
    assert page.status_code == 200 and b'data-verified="true"' in page.data
    upload = {"file": (io.BytesIO(token.encode()), "badge.jwt"), "credential": "",
              "csrf_token": csrf_token(client.get("/verify"))}
    page = client.post("/verify", data=upload, content_type="multipart/form-data")
    assert page.status_code == 200 and b'data-verified="true"' in page.data
    page = client.post("/verify", data={"credential": _tampered(token),
                                        "csrf_token": csrf_token(client.get("/verify"))})
    assert b'data-verified="false"' in page.data
