"""The public ``/verify`` page in a real browser against the real server: a signed credential pasted as a
recruiter would reads "Verified" with the badge's name, image and issuer; an altered one reads "forged
or altered" first; the recipient's e-mail is checked in the browser. Screenshots of both results, on a
desktop and on a 360 px phone, are written to ``SILLAGE_E2E_SCREENSHOTS`` (default: the test's folder)."""
from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from badges.identity import identity_hash
from tests.verify.credentials import did_key_pair, ob3_credential, signed

pytestmark = pytest.mark.e2e


def badge_png() -> bytes:
    image = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 248, 248), fill=(0, 0, 145, 255))
    draw.rectangle((108, 60, 148, 196), fill=(255, 255, 255, 255))
    draw.rectangle((60, 108, 196, 148), fill=(255, 255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def credential() -> dict:
    key = did_key_pair()
    document = ob3_credential(key.controller)
    subject = document["credentialSubject"]
    subject["identifier"] = [{
        "type": "IdentityObject", "identityType": "emailAddress", "hashed": True, "salt": "c0ffee",
        "identityHash": identity_hash("camille@example.org", "c0ffee")}]
    subject["achievement"]["image"] = {
        "id": "data:image/png;base64," + base64.b64encode(badge_png()).decode(), "type": "Image"}
    subject["achievement"]["criteria"]["narrative"] = "Formation de **7 heures** et mise en situation."
    document["issuer"]["url"] = "https://croix.example"
    return signed(document, key)


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("SILLAGE_E2E_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def verify_in(browser, live_server, text: str, width: int):
    context = browser.new_context(base_url=live_server.url, locale="en-GB",
                                  viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/verify")
    page.locator("textarea[name=credential]").fill(text)
    page.locator("main form.form [type=submit]").click()
    page.wait_for_load_state()
    return context, page


@pytest.mark.parametrize("width", [1280, 360])
def test_a_pasted_credential_reads_verified_with_its_badge(browser, live_server, credential, shots, width):
    context, page = verify_in(browser, live_server, json.dumps(credential), width)
    try:
        verdict = page.locator("section.verdict")
        assert verdict.get_attribute("data-verdict") == "verified"
        assert page.locator("#verification-verdict").inner_text().strip() == "Verified"
        summary = page.locator("section.credential-summary")
        assert summary.locator("h3.credential-name").inner_text() == "Premiers secours (PSC1)"
        assert "Croix Test" in summary.inner_text()
        image = summary.locator("img.badge-image")
        assert image.evaluate("img => img.complete && img.naturalWidth") > 0, "the badge image is drawn"
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scrolling"

        # The recipient check runs in the browser: no request leaves the page.
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        form = summary.locator("form.recipient-check")
        form.locator("input[name=email]").fill("Camille@Example.org")
        form.locator("[type=submit]").click()
        result = form.locator(".recipient-check-result")
        result.filter(has_text="Yes").wait_for()
        form.locator("input[name=email]").fill("someone@example.org")
        form.locator("[type=submit]").click()
        result.filter(has_text="No").wait_for()
        assert requests == [] and page.url.endswith("/verify")
        page.screenshot(path=str(shots / f"verified-{width}.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 360])
def test_an_altered_credential_reads_forged_first(browser, live_server, credential, shots, width):
    altered = json.loads(json.dumps(credential))
    altered["credentialSubject"]["achievement"]["name"] = "Diplôme d'État de médecin"
    context, page = verify_in(browser, live_server, json.dumps(altered), width)
    try:
        verdict = page.locator("section.verdict")
        assert verdict.get_attribute("data-reason") == "forged"
        assert page.locator("#verification-verdict").inner_text().strip() == "Not verified: forged or altered"
        assert "not verified" in page.locator("#credential-summary-title").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(shots / f"not-verified-{width}.png"), full_page=True)
    finally:
        context.close()
