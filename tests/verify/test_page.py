"""The ``/verify`` page as a person reads it: the verdict in words, icon and colour, what the credential
says (image, achievement, issuer, recipient, dates, criteria), in French or English, and nothing stored."""
from __future__ import annotations

import base64
import functools
import io
import json
import re
from datetime import timedelta

import pytest
from PIL import Image

from app import verification
from app.verification import runner
from badges.bake import bake
from badges.identity import identity_hash
from badges.verify import verify
from tests.helpers import csrf_token
from tests.test_ui import CSS, contrast
from tests.verify.credentials import (NOW, Issuer, Web, did_key_pair, ob3_credential, signed, stamp,
                                      status_entry, status_list)
from tests.verify.test_summary import data_uri

STATUS_URL = "https://issuer.example/status/3"


def png(colour=(10, 20, 145)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def web_docs():
    return Web()


@pytest.fixture
def client(app, web_docs, monkeypatch):
    """The page, with the verifier judging at NOW and fetching from ``web_docs`` (no network)."""
    if "verification.verify" not in app.view_functions:
        verification.init_app(app)
    app.config["RATE_LIMIT_VERIFY"] = "off"
    monkeypatch.setattr(runner, "verify", functools.partial(verify, fetch=web_docs, now=NOW))
    return app.test_client()


def submit(client, credential, language="en", **extra):
    token = csrf_token(client.get("/verify"))
    text = credential if isinstance(credential, str) else json.dumps(credential)
    return client.post("/verify", data={"credential": text, "csrf_token": token, **extra},
                       headers={"Accept-Language": language})


def verdict_of(page) -> dict:
    html = page.get_data(as_text=True)
    section = re.search(r'<section class="verdict ([^"]+)"[^>]*data-verdict="([^"]+)"'
                        r'(?: data-reason="([^"]+)")?', html)
    title = re.search(r'id="verification-verdict"[^>]*>.*?<svg class="verdict-icon".*?</svg>'
                      r'\s*<span>([^<]+)</span>', html, re.S)
    return {"class": section.group(1), "status": section.group(2), "reason": section.group(3),
            "title": title.group(1) if title else None}


def credential_with(key, **overrides):
    return signed(ob3_credential(key.controller, **overrides), key)


@pytest.fixture
def key():
    return did_key_pair()


# -- the three verdicts and the reasons ---------------------------------------------------------------

def test_verified_shows_the_badge_name_image_and_issuer(client, key):
    document = ob3_credential(key.controller)
    document["credentialSubject"]["achievement"]["image"] = {"id": data_uri(png()), "type": "Image",
                                                            "caption": "Croix blanche"}
    page = submit(client, signed(document, key))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert verdict_of(page) == {"class": "verdict-verified", "status": "verified", "reason": None,
                                "title": "Verified"}
    assert "Premiers secours (PSC1)" in html and "Croix Test" in html and key.controller in html
    image = re.search(r'<img class="badge-image" src="(data:image/png;base64,[^"]+)"[^>]*'
                      r'alt="Croix blanche"', html)
    assert image, "the badge image is shown, re-encoded"
    assert "What the credential says" in html and "Nothing you paste or upload is stored." in html


def test_verified_with_remarks_lists_them(client, key):
    credential = credential_with(key)  # the same signature, in the lax encoding others accept
    credential["proof"]["proofValue"] = _base64url(credential["proof"]["proofValue"])
    page = submit(client, credential)
    found = verdict_of(page)
    assert (found["status"], found["title"]) == ("verified_with_remarks", "Verified, with remarks")
    assert "base64url" in page.get_data(as_text=True).split('class="verdict-remarks"', 1)[1]


def _base64url(z_value: str) -> str:
    from certs import multibase
    _prefix, raw = multibase.decode(z_value)
    return "u" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_forged_comes_first_in_plain_words(client, key):
    credential = credential_with(key)
    credential["credentialSubject"]["achievement"]["name"] = "Doctorat en médecine"
    page = submit(client, credential)
    found = verdict_of(page)
    assert found == {"class": "verdict-not-verified", "status": "not_verified", "reason": "forged",
                     "title": "Not verified: forged or altered"}
    html = page.get_data(as_text=True)
    assert html.index("forged or altered") < html.index("bad_signature")  # the reason before the detail
    assert "What the document claims (not verified)" in html and "do not rely on it" in html


@pytest.mark.parametrize("purpose, reason, title", [
    ("revocation", "revoked", "Not verified: revoked"),
    ("suspension", "suspended", "Not verified: suspended")])
def test_revoked_and_suspended(client, web_docs, purpose, reason, title):
    issuer = Issuer(web_docs)
    web_docs.documents[STATUS_URL] = status_list(issuer, STATUS_URL, purpose=purpose, set_bits=[7])
    entry = status_entry(STATUS_URL, 7, purpose)
    credential = signed(ob3_credential(issuer.did, credentialStatus=entry), issuer.key)
    found = verdict_of(submit(client, credential))
    assert (found["reason"], found["title"]) == (reason, title)


def test_expired_and_not_yet_valid(client, key):
    expired = credential_with(key, validUntil=stamp(NOW - timedelta(days=1)))
    assert verdict_of(submit(client, expired))["title"] == "Not verified: expired"
    future = credential_with(key, validFrom=stamp(NOW + timedelta(days=3)))
    assert verdict_of(submit(client, future))["title"] == "Not verified: not yet valid"


def test_could_not_be_checked_says_it_is_not_a_forgery(client, web_docs):
    issuer = Issuer(Web())  # its did.json is served nowhere
    page = submit(client, signed(ob3_credential(issuer.did), issuer.key))
    assert verdict_of(page)["reason"] == "unchecked"
    assert "This is not a verdict of forgery" in page.get_data(as_text=True)


@pytest.mark.parametrize("text", ['{"broken": ', '{"hello": "world"}'])
def test_malformed_input_is_not_a_valid_credential(client, text):
    page = submit(client, text)
    assert verdict_of(page)["title"] == "Not verified: not a valid credential"
    assert "What the credential says" not in page.get_data(as_text=True)


def test_french(client, key):
    page = submit(client, credential_with(key), language="fr")
    html = page.get_data(as_text=True)
    assert verdict_of(page)["title"] == "Vérifiée"
    assert "Ce que dit l’attestation" in html and "Émise par" in html
    assert "Rien de ce que vous collez" in html
    credential = credential_with(key)
    credential["name"] = "Autre"
    found = verdict_of(submit(client, credential, language="fr"))
    assert found["title"] == "Non vérifiée : falsifiée ou modifiée"


# -- what the credential says -----------------------------------------------------------------------

def test_markdown_criteria_are_rendered_safely(client, key):
    document = ob3_credential(key.controller)
    document["credentialSubject"]["achievement"]["criteria"]["narrative"] = (
        "**Réussir** [l'examen](javascript:alert(1)) <script>alert(2)</script> <img src=x onerror=alert(3)>")
    html = submit(client, signed(document, key)).get_data(as_text=True)
    html = html.split('<form class="form', 1)[0]  # the result (the form below keeps the pasted text, escaped)
    assert "<strong>Réussir</strong>" in html
    assert "javascript:" not in html and "<script>alert" not in html and "onerror" not in html
    assert "l'examen" in html or "l&#39;examen" in html


def test_hostile_svg_image_is_shown_only_as_a_sanitised_image(client, key):
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8" onload="alert(1)">'
           b'<script>alert(2)</script>'
           b'<image href="https://evil.example/x.png"/><circle cx="4" cy="4" r="3" fill="#123456"/></svg>')
    document = ob3_credential(key.controller)
    achievement = document["credentialSubject"]["achievement"]
    achievement["image"] = {"id": data_uri(svg, "image/svg+xml"), "type": "Image"}
    html = submit(client, signed(document, key)).get_data(as_text=True)
    src = re.search(r'<img class="badge-image" src="data:image/svg\+xml;base64,([^"]+)"', html).group(1)
    shown = base64.b64decode(src)
    assert b"<circle" in shown and b"script" not in shown and b"onload" not in shown and b"evil" not in shown
    assert "<svg xmlns" not in html.split("<main", 1)[1]  # never inlined as markup


def test_unreachable_or_private_image_degrades_to_a_placeholder(client, key):
    document = ob3_credential(key.controller)
    achievement = document["credentialSubject"]["achievement"]
    achievement["image"] = {"id": "https://127.0.0.1/badge.png", "type": "Image"}
    page = submit(client, signed(document, key))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and verdict_of(page)["status"] == "verified"
    assert 'class="badge-placeholder" role="img"' in html and "<img class=\"badge-image\"" not in html
    assert ">PS<" in html  # the initials of "Premiers secours (PSC1)"


def test_uploaded_baked_badge_shows_its_own_image(client, key):
    token = csrf_token(client.get("/verify"))
    baked = bake(png(), credential_with(key))
    page = client.post("/verify", data={"file": (io.BytesIO(baked), "badge.png"), "csrf_token": token},
                       content_type="multipart/form-data", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    shown = re.search(r'<img class="badge-image" src="data:image/png;base64,([^"]+)"', html)
    assert verdict_of(page)["status"] == "verified" and shown
    assert b"openbadgecredential" not in base64.b64decode(shown.group(1))  # re-encoded, not the baked file


def test_dates_are_in_the_reader_language(client, key):
    html_en = submit(client, credential_with(key)).get_data(as_text=True)
    html_fr = submit(client, credential_with(key), language="fr").get_data(as_text=True)
    valid_from = stamp(NOW - timedelta(days=365))
    assert f'<time datetime="{valid_from}" data-local-time>June 1, 2024' in html_en
    assert f'<time datetime="{valid_from}" data-local-time>1 juin 2024' in html_fr


# -- checking a hashed recipient ---------------------------------------------------------------------

def hashed_credential(key):
    document = ob3_credential(key.controller)
    document["credentialSubject"] = {**document["credentialSubject"], "identifier": [{
        "type": "IdentityObject", "identityType": "emailAddress", "hashed": True, "salt": "Kosher",
        "identityHash": identity_hash("a@example.com", "Kosher")}]}
    return signed(document, key)


def test_hashed_recipient_offers_a_local_check(client, key):
    html = submit(client, hashed_credential(key)).get_data(as_text=True)
    form = re.search(r'<form class="recipient-check"[^>]*>', html).group(0)
    assert "data-recipient-check" in form and 'data-salt="Kosher"' in form
    assert 'data-hash="sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"' in form
    assert '<label for="recipient-check-1">Check an e-mail address</label>' in html
    assert re.search(r'<script src="/static/verification.js" nonce="[^"]+" defer>', html)


def test_other_hashed_identifiers_offer_no_e_mail_check(client, key):
    document = ob3_credential(key.controller)
    document["credentialSubject"]["identifier"] = [{
        "type": "IdentityObject", "identityType": "studentId", "hashed": True, "salt": "s",
        "identityHash": identity_hash("12345", "s")}]
    html = submit(client, signed(document, key)).get_data(as_text=True)
    assert "A hidden identifier (studentId)" in html and "recipient-check" not in html


@pytest.mark.parametrize("address, expected", [("A@Example.com ", "Yes: this address is the recipient"),
                                               ("b@example.com", "No: this address is not the one")])
def test_server_fallback_compares_without_storing(client, key, address, expected):
    token = csrf_token(client.get("/verify"))
    page = client.post("/verify/recipient", headers={"Accept-Language": "en"}, data={
        "csrf_token": token, "email": address, "salt": "Kosher",
        "identity_hash": identity_hash("a@example.com", "Kosher")})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and expected in html
    assert page.headers["Cache-Control"] == "no-store" and address.strip() not in html


def test_server_fallback_refuses_without_csrf_or_hash(client):
    assert client.post("/verify/recipient", data={"email": "a@example.com", "identity_hash": "sha256$00"}
                       ).status_code == 400
    token = csrf_token(client.get("/verify"))
    page = client.post("/verify/recipient", data={"csrf_token": token, "email": "a@example.com"},
                       headers={"Accept-Language": "en"})
    assert page.status_code == 422 and "Nothing to compare" in page.get_data(as_text=True)


def test_verification_script_is_served(client):
    script = client.get("/static/verification.js")
    assert script.status_code == 200 and b"crypto.subtle.digest" in script.data
    script.close()


# -- accessibility -----------------------------------------------------------------------------------

def _tokens() -> dict[str, str]:
    css = CSS.read_text()
    return dict(re.findall(r"--(verdict-[\w-]+):\s*(#[0-9a-fA-F]{6})", css))


@pytest.mark.parametrize("name", ["ok", "remarks", "failed"])
def test_verdict_colours_reach_aa_contrast(name):
    tokens = _tokens()
    assert contrast(tokens[f"verdict-{name}-fg"], tokens[f"verdict-{name}-bg"]) >= 4.5
    assert contrast(tokens[f"verdict-{name}-fg"], "#ffffff") >= 4.5
    assert contrast("#161616", tokens[f"verdict-{name}-bg"]) >= 4.5


def test_result_has_no_inline_script_or_style(client, key):
    html = submit(client, hashed_credential(key)).get_data(as_text=True)
    assert " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
