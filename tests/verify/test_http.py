"""``POST /api/v1/verify`` and the public ``/verify`` page: a result object for anything verifiable, a 4xx
for unusable requests, never a 500 and never ``verified: true`` for a refused credential."""
from __future__ import annotations

import io
import json

import flask_babel
import pytest
from PIL import Image

from badges.bake import bake
from tests.helpers import csrf_token
from tests.verify.credentials import did_key_pair, ob3_credential, signed

API = "/api/v1/verify"


@pytest.fixture
def credential():
    key = did_key_pair()
    return signed(ob3_credential(key.controller), key)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (6, 6), (10, 20, 145)).save(buffer, "PNG")
    return buffer.getvalue()


# -- API ---------------------------------------------------------------------------------------------

def test_api_verifies_a_json_credential(web, credential):
    response = web.post(API, json=credential)
    assert response.status_code == 200
    body = response.get_json()
    assert body["verified"] is True
    assert set(body) == {"verified", "checks", "errors", "warnings", "verdict", "credential"}
    assert body["verdict"]["status"] == "verified"
    assert body["credential"]["achievement"]["name"] == credential["credentialSubject"]["achievement"]["name"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_api_answers_200_with_false_for_a_tampered_credential(web, credential):
    credential["name"] = "Falsifié"
    response = web.post(API, json=credential)
    assert response.status_code == 200
    body = response.get_json()
    assert body["verified"] is False
    assert "bad_signature" in [error["code"] for error in body["errors"]]


def test_api_accepts_a_baked_image_as_multipart(web, credential):
    data = {"file": (io.BytesIO(bake(_png(), credential)), "badge.png", "image/png")}
    response = web.post(API, data=data, content_type="multipart/form-data")
    assert response.status_code == 200 and response.get_json()["verified"] is True


def test_api_image_without_badge_is_a_failed_check(web):
    data = {"file": (io.BytesIO(_png()), "plain.png", "image/png")}
    body = web.post(API, data=data, content_type="multipart/form-data").get_json()
    assert body["verified"] is False
    first = body["checks"][0]
    assert (first["name"], first["ok"], first["code"]) == ("parse", False, "no_badge") and first["detail"]


def test_api_truncated_json_body_is_400(web, credential):
    text = json.dumps(credential)
    response = web.post(API, data=text[: len(text) // 2], content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_json"


def test_api_truncated_json_file_is_a_failed_check(web, credential):
    text = json.dumps(credential)
    data = {"file": (io.BytesIO(text[:100].encode()), "c.json", "application/json")}
    response = web.post(API, data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    assert response.get_json()["checks"][0]["code"] == "invalid_json"


def test_api_deep_nesting_is_a_failed_check(web):
    response = web.post(API, data="[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert response.status_code == 200
    assert response.get_json()["checks"][0]["code"] == "too_deep"


def test_api_huge_body_is_413(web, credential):
    credential["description"] = "x" * (1024 * 1024)
    response = web.post(API, data=json.dumps(credential), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large"
    big = {"file": (io.BytesIO(b"\x89PNG" + b"\0" * (6 * 1024 * 1024)), "big.png", "image/png")}
    response = web.post(API, data=big, content_type="multipart/form-data")
    assert response.status_code == 413


@pytest.mark.parametrize("kwargs, status, code", [
    ({"data": "x", "content_type": "application/xml"}, 415, "unsupported_media_type"),  # text/plain: a VC-JWT
    ({}, 415, "unsupported_media_type"),
    ({"data": "", "content_type": "application/json"}, 400, "no_input"),
    ({"data": {"other": "x"}, "content_type": "multipart/form-data"}, 400, "no_input"),
])
def test_api_unusable_requests_are_4xx(web, kwargs, status, code):
    response = web.post(API, **kwargs)
    assert response.status_code == status
    assert response.get_json()["error"] == code


def test_api_refuses_ssrf_targets(web):
    response = web.post(API, json={"@context": "https://w3id.org/openbadges/v2", "type": "Assertion",
                                   "id": "https://169.254.169.254/latest/meta-data/"})
    body = response.get_json()
    assert response.status_code == 200 and body["verified"] is False
    assert body["errors"][0]["code"] == "fetch_refused"


def test_api_needs_no_token_and_no_csrf(web, credential):
    response = web.post(API, json=credential, headers={"Authorization": "Bearer sil_wrong"})
    assert response.status_code == 200


def test_api_messages_follow_accept_language(web, credential):
    credential["name"] = "x"
    french = web.post(API, json=credential, headers={"Accept-Language": "fr"}).get_json()
    flask_babel.refresh()  # the test's shared app context would otherwise keep the first locale
    english = web.post(API, json=credential, headers={"Accept-Language": "en"}).get_json()
    assert "signature ne correspond pas" in french["errors"][0]["message"]
    assert "signature does not match" in english["errors"][0]["message"]


def test_api_is_rate_limited_per_ip(wired, web, credential):
    wired.config["RATE_LIMIT_VERIFY"] = "2/minute"
    assert web.post(API, json=credential).status_code == 200
    assert web.post(API, json=credential).status_code == 200
    response = web.post(API, json=credential)
    assert response.status_code == 429
    assert response.get_json()["error"] == "rate_limited"
    other_ip = web.post(API, json=credential, environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert other_ip.status_code == 200


def test_api_rate_limit_off(wired, web, credential):
    """``off`` neither limits nor counts: once a limit is set, the earlier requests weigh nothing."""
    wired.config["RATE_LIMIT_VERIFY"] = "off"
    for _ in range(5):
        assert web.post(API, json=credential).status_code == 200
        assert web.post("/verify", data={}).status_code != 429  # the page shares the limit
    wired.config["RATE_LIMIT_VERIFY"] = "2/minute"
    assert web.post(API, json=credential).status_code == 200
    assert web.post(API, json=credential).status_code == 200
    assert web.post(API, json=credential).status_code == 429
    wired.config["RATE_LIMIT_VERIFY"] = "OFF "
    assert web.post(API, json=credential).status_code == 200


def test_api_is_documented_when_flask_smorest_is_set_up(wired, web):
    spec = web.get("/api/v1/openapi.json")
    if spec.status_code != 200:
        pytest.skip("no OpenAPI description in this application")
    operation = spec.get_json()["paths"]["/api/v1/verify"]["post"]
    assert operation["security"] == []
    assert "200" in operation["responses"] and "413" in operation["responses"]


# -- the page ---------------------------------------------------------------------------------------

def test_page_shows_the_form(web):
    page = web.get("/verify")
    assert page.status_code == 200
    assert b'name="csrf_token"' in page.data and b'name="credential"' in page.data and b'name="file"' in page.data
    assert b"<label" in page.data


def test_page_verifies_pasted_json(web, credential):
    token = csrf_token(web.get("/verify"))
    page = web.post("/verify", data={"credential": json.dumps(credential), "csrf_token": token})
    assert page.status_code == 200
    assert b'data-verified="true"' in page.data and "✓".encode() in page.data


def test_page_shows_failed_checks(web, credential):
    credential["name"] = "Falsifié"
    token = csrf_token(web.get("/verify"))
    page = web.post("/verify", data={"credential": json.dumps(credential), "csrf_token": token})
    assert page.status_code == 200
    assert b'data-verified="false"' in page.data and b"bad_signature" in page.data


def test_page_verifies_an_uploaded_badge(web, credential):
    token = csrf_token(web.get("/verify"))
    data = {"file": (io.BytesIO(bake(_png(), credential)), "badge.png"), "csrf_token": token}
    page = web.post("/verify", data=data, content_type="multipart/form-data")
    assert page.status_code == 200 and b'data-verified="true"' in page.data


def test_page_escapes_hostile_text(web):
    token = csrf_token(web.get("/verify"))
    hostile = '{"@context": ["<script>alert(1)</script>"], "type": "VerifiableCredential"}'
    page = web.post("/verify", data={"credential": hostile, "csrf_token": token})
    assert page.status_code == 200 and b"<script>alert(1)" not in page.data


def test_page_without_csrf_is_refused(web, credential):
    page = web.post("/verify", data={"credential": json.dumps(credential)})
    assert page.status_code == 400


def test_page_with_nothing_to_verify_shows_the_error(web):
    token = csrf_token(web.get("/verify"))
    page = web.post("/verify", data={"credential": "  ", "csrf_token": token})
    assert page.status_code == 422
    assert b'aria-invalid="true"' in page.data and b"field-error" in page.data
