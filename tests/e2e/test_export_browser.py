"""Export in a real browser against the real server (its own job consumer): Inès (demo data) opens
"Export my data" from her settings, asks for an encrypted export of everything, watches it being prepared
(the page refreshes itself), downloads it, and the file opens with her passphrase into a complete ZIP."""
from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from certs import export_cipher

pytestmark = pytest.mark.e2e

INES, PASSWORD = "ines.martin@example.org", "ines-demo-portfolio"
PASSPHRASE = "marée haute à Rezé"


def test_ask_follow_and_download_an_encrypted_export(page, live_server, tmp_path):
    live_server.run("demo")
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    page.goto("/login")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(INES)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("[type=submit]").first.click()
    page.wait_for_url("**/dashboard")

    page.goto("/settings")
    page.get_by_role("link", name="Exporter mes données").click()
    page.wait_for_url("**/exports")
    assert page.get_by_label("Tout").is_checked()
    page.get_by_label("Phrase de passe", exact=True).fill(PASSPHRASE)
    page.get_by_label("Phrase de passe, à nouveau").fill(PASSPHRASE)
    page.get_by_role("button", name="Préparer mon export").click()
    page.wait_for_url("**/exports")

    download_link = page.get_by_role("link", name="Télécharger")
    download_link.wait_for(timeout=60_000)  # the page refreshes itself every 3 s while the job runs
    with page.expect_download() as caught:
        download_link.click()
    download = caught.value
    assert re.fullmatch(r"sillage-export-\d{4}-\d\d-\d\d\.zip\.enc", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    plain = b"".join(export_cipher.decrypt(export_cipher.read_file(saved), PASSPHRASE))
    archive = zipfile.ZipFile(io.BytesIO(plain))
    portfolio = json.loads(archive.read("portfolio.json"))
    assert portfolio["profile"]["display_name"] == "Inès Martin" and portfolio["experiences"]
    assert {"manifest.json", "resume.json", "leap2a.xml", "clr.json"} <= set(archive.namelist())
    assert problems == []
