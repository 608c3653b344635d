"""CVs in a real browser against the real server: two experiences, a CV made from a job offer (ranked,
matched words shown), an item unticked and the order changed, the first-page preview shown under the
site's CSP, and the DOCX and PDF downloaded and read."""

from __future__ import annotations

import io
import re
import subprocess

import pytest
from docx import Document

from cv_templates import pdf as pdf_renderer
from tests.cv_helpers import docx_text
from tests.e2e.conftest import SILLAGE

pytestmark = pytest.mark.e2e

ADDRESS, PASSWORD = "cv.e2e@example.org", "a CV for every single job"


def sign_in(page, live_server) -> None:
    subprocess.run(
        [*SILLAGE, "users", "create", ADDRESS],
        input=PASSWORD + "\n",
        env=live_server.env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    page.goto("/login")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(ADDRESS)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("[type=submit]").first.click()
    page.wait_for_url("**/dashboard")


def add_experience(page, kind: str, title: str, start: str, description: str) -> None:
    page.goto("/experiences/new")
    form = page.locator("main form:has(input[name=title])")
    form.locator("select[name=kind]").select_option(kind)
    form.locator("input[name=title]").fill(title)
    form.locator("input[name=start_date]").fill(start)
    form.locator("textarea[name=description]").fill(description)
    form.locator("[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/experiences/[0-9a-f-]{36}$"))


def test_make_a_cv_from_an_offer_and_download_it(page, live_server):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, live_server)
    add_experience(
        page, "internship", "Stage en jardinerie", "2024-03-01", "Conseil aux clients, arrosage, caisse."
    )
    add_experience(
        page, "job", "Équipier de restauration rapide", "2023-07-01", "Cuisine et service au comptoir."
    )

    page.get_by_role("navigation", name="Main menu").get_by_text("Share", exact=True).click()  # a group of the menu
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="CVs", exact=True).click()
    page.wait_for_url("**/cvs")
    form = page.locator("main form:has(input[name=name])")
    form.locator("input[name=name]").fill("Jardinerie Vert Bocage")
    form.locator("select[name=language]").select_option("en")
    form.locator("textarea[name=target_text]").fill(
        "Jardinerie recherche vendeur conseil : conseil aux " "clients, caisse, arrosage des plantes."
    )
    form.locator("[type=submit]").click()
    page.wait_for_url(re.compile(r"/cvs/[0-9a-f-]{36}$"))
    cv_url = page.url

    first_row = page.locator("table.cv-ranking tbody tr").first
    assert "Stage en jardinerie" in first_row.inner_text()
    assert re.search(r"conseil|clients|caisse", first_row.locator("td").nth(3).inner_text(), re.I)
    assert page.locator("ol.cv-selection li").count() == 1  # only the matching experience

    page.locator("table.cv-ranking input[type=checkbox]").nth(1).check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(cv_url)
    assert page.locator("ol.cv-selection li").count() == 2
    page.locator("ol.cv-selection li").nth(1).get_by_role("button", name=re.compile("Move up")).click()
    page.wait_for_url(re.compile(re.escape(cv_url)))
    assert "Équipier" in page.locator("ol.cv-selection li").first.inner_text()

    with page.expect_download() as caught:
        page.get_by_role("link", name="Word (DOCX)").click()
    lines = docx_text(open(caught.value.path(), "rb").read())
    assert lines.index("Équipier de restauration rapide") < lines.index("Stage en jardinerie")
    assert Document(io.BytesIO(open(caught.value.path(), "rb").read())).core_properties.language == "en"

    if pdf_renderer.available():
        page.locator("details.cv-preview summary").click()
        image = page.locator("details.cv-preview img")
        image.wait_for()
        for _ in range(120):  # the preview is a PDF rendered then rasterised: seconds on a loaded machine
            if image.evaluate("img => img.complete"):
                break
            page.wait_for_timeout(500)
        assert image.evaluate("img => img.naturalWidth") == 800  # loaded under the CSP, not a broken image
        with page.expect_download() as caught:
            page.get_by_role("link", name="PDF", exact=True).click()
        text = pdf_renderer.text_of(open(caught.value.path(), "rb").read())
        assert text.index("Équipier") < text.index("Stage en jardinerie")
    assert not problems, problems
