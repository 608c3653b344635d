"""Import in a real browser against the real server: a Mahara export ZIP is chosen, its preview lists what
it holds, the import is confirmed, the experience and its evidence appear; the same file again shows
everything as already there."""
from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.e2e.conftest import SILLAGE

pytestmark = pytest.mark.e2e

ADDRESS, PASSWORD = "import.e2e@example.org", "bring my mahara along"
DATA = Path(__file__).parents[1] / "data" / "import" / "mahara"


def test_upload_preview_confirm_and_no_duplicates(page, live_server, tmp_path):
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    subprocess.run([*SILLAGE, "users", "create", ADDRESS], input=PASSWORD + "\n", env=live_server.env,
                   check=True, capture_output=True, text=True, timeout=120)
    page.goto("/login")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(ADDRESS)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("[type=submit]").first.click()
    page.wait_for_url("**/dashboard")

    archive = tmp_path / "mahara-export.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.write(DATA / "leap2a.xml", "leap2a.xml")
        out.write(DATA / "fiche-technique.txt", "files/fiche-technique.txt")

    page.goto("/settings")
    page.get_by_role("link", name="Import into my portfolio").click()
    page.wait_for_url("**/import")
    page.locator("input[name=file]").set_input_files(str(archive))
    page.get_by_role("button", name="See what it holds").click()
    page.wait_for_selector("text=LEAP2A (Mahara…)")
    assert page.locator(".import-items li", has_text="Commis de cuisine").count() == 1
    assert page.locator(".import-status-new").count() >= 5
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_selector("h1:has-text('Import done')")

    page.goto("/experiences")
    page.get_by_role("link", name="Commis de cuisine").first.click()
    page.wait_for_selector("text=fiche-technique.txt")  # the file, attached as evidence

    page.goto("/import")
    page.locator("input[name=file]").set_input_files(str(archive))
    page.get_by_role("button", name="See what it holds").click()
    page.wait_for_selector("text=LEAP2A (Mahara…)")
    assert page.locator(".import-status-new").count() == 0
    assert page.locator(".import-status-existing").count() >= 5
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url("**/import")
    assert problems == []
