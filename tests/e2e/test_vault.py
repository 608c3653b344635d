"""The vault in a real browser against the real server: two files chosen in the file input go up with
their progress bars (vault.js, XHR, under the site's CSP), a search by tag, a rename, a download, a
document attached as evidence to an experience, a file dropped on the form, a refused empty file, and a
deletion."""
from __future__ import annotations

import io
import os
import re
import subprocess

import pytest
from PIL import Image

from tests.e2e.conftest import SILLAGE

pytestmark = pytest.mark.e2e

ADDRESS, PASSWORD = "vault.e2e@example.org", "a vault full of certificates"


def sign_in(page, live_server) -> None:
    subprocess.run([*SILLAGE, "users", "create", ADDRESS], input=PASSWORD + "\n", env=live_server.env,
                   check=True, capture_output=True, text=True, timeout=120)
    page.goto("/login")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(ADDRESS)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("[type=submit]").first.click()
    page.wait_for_url("**/dashboard")


def test_upload_search_rename_download_attach_and_delete(page, live_server, tmp_path):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, live_server)

    # An experience to attach evidence to.
    page.goto("/experiences/new")
    form = page.locator("main form:has(input[name=title])")
    form.locator("select[name=kind]").select_option("internship")
    form.locator("input[name=title]").fill("PFMP à la jardinerie Vert Bocage")
    form.locator("input[name=start_date]").fill("2025-11-17")
    form.locator("[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/experiences/[0-9a-f-]{36}$"))
    experience_url = page.url

    pdf = tmp_path / "attestation.pdf"
    pdf_bytes = b"%PDF-1.4\n" + os.urandom(600 * 1024) + b"\n%%EOF\n"
    pdf.write_bytes(pdf_bytes)
    photo = tmp_path / "ilot-de-noel.png"
    buffer = io.BytesIO()
    Image.new("RGB", (900, 600), (40, 120, 60)).save(buffer, "PNG")
    photo.write_bytes(buffer.getvalue())

    page.get_by_role("navigation", name="Main menu").get_by_text("Vault and proof").click()  # a group of the menu
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Vault", exact=True).click()
    page.wait_for_url("**/vault")
    upload = page.locator("form[data-vault-upload]")
    upload.locator("input[name=tags]").fill("stage, noël")
    upload.locator("input[name=files]").set_input_files([str(pdf), str(photo)])
    upload.get_by_role("button", name="Add to my vault").click()

    # Each file has its own progress bar, complete, and a link to its page; the page did not reload.
    page.locator("form[data-upload-state=finished]").wait_for()
    rows = upload.locator(".vault-progress-item")
    assert rows.count() == 2
    for index, name in enumerate(("attestation.pdf", "ilot-de-noel.png")):
        row = rows.nth(index)
        assert name in row.inner_text() and "Added" in row.inner_text()
        assert row.locator("progress").evaluate("bar => bar.value") == 100
    assert page.url.endswith("/vault")
    assert page.get_by_role("status").filter(has_text="2 of 2 files added.").count() == 1
    # The list and the gauge were refreshed in place, the image with its thumbnail.
    listing = page.locator(".vault-list")
    listing.get_by_role("link", name="attestation.pdf").wait_for()
    thumbnail = listing.locator("li", has_text="ilot-de-noel.png").locator("img.vault-thumb")
    thumbnail.wait_for()
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")
    assert int(page.locator("#vault-meter").get_attribute("value")) == len(pdf_bytes) + len(photo.read_bytes())

    # Search by tag, then by name within the tag.
    page.get_by_role("navigation", name="Filter by tag").get_by_role("link", name=re.compile(r"^noël")).click()
    page.wait_for_url(re.compile(r"/vault\?tag=no"))
    assert page.locator(".vault-list > li").count() == 2
    page.locator("input[name=q]").fill("ILOT")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url(re.compile(r"q=ILOT"))
    assert page.locator(".vault-list > li").count() == 1
    assert "ilot-de-noel.png" in page.locator(".vault-list").inner_text()

    # Rename and describe the certificate.
    page.goto("/vault")
    page.locator(".vault-list").get_by_role("link", name="attestation.pdf").click()
    page.wait_for_url(re.compile(r"/vault/[0-9a-f-]{36}$"))
    document_url = page.url
    page.locator("input[name=name]").fill("Attestation de PFMP — Vert Bocage.pdf")
    page.locator("textarea[name=description]").fill("Signée par la responsable de rayon.")
    page.get_by_role("button", name="Save").click()
    page.locator(".flash-success", has_text="Document saved.").wait_for()
    assert page.locator("h1").inner_text() == "Attestation de PFMP — Vert Bocage.pdf"

    # Download: an attachment with the new name and exactly the bytes sent.
    with page.expect_download() as download_info:
        page.locator("main .page-header").get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "Attestation de PFMP — Vert Bocage.pdf"
    assert open(download.path(), "rb").read() == pdf_bytes

    # Attach it as evidence to the experience; the document page says what it proves.
    page.goto(experience_url)
    evidence = page.locator("#evidence")
    evidence.locator("select[name=document_id]").select_option(label="Attestation de PFMP — Vert Bocage.pdf")
    evidence.get_by_role("button", name="Attach", exact=True).click()
    page.locator("#evidence").get_by_role("link", name="Attestation de PFMP — Vert Bocage.pdf").wait_for()
    page.goto(document_url)
    page.locator("#evidence").get_by_role("link", name="PFMP à la jardinerie Vert Bocage").wait_for()

    # A file dropped on the form goes up the same way.
    page.goto("/vault")
    page.evaluate("""() => {
        const data = new DataTransfer();
        data.items.add(new File(["Notes de la PFMP"], "notes.txt", {type: "text/plain"}));
        document.querySelector("[data-vault-drop]").dispatchEvent(
            new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
    }""")
    page.locator("form[data-upload-state=finished]").wait_for()
    page.locator(".vault-list").get_by_role("link", name="notes.txt").wait_for()

    # A refusal is said on the file's line and in the announced summary, in plain words.
    empty = tmp_path / "vide.txt"
    empty.write_bytes(b"")
    upload = page.locator("form[data-vault-upload]")
    upload.locator("input[name=files]").set_input_files([str(empty)])
    upload.get_by_role("button", name="Add to my vault").click()
    failed = upload.locator(".vault-progress-failed")
    failed.wait_for()
    assert "“vide.txt” is empty (0 bytes)" in failed.inner_text()
    page.get_by_role("status").filter(has_text="0 of 1 files added.").wait_for()

    # Delete the photo, after confirming.
    page.locator(".vault-list").get_by_role("link", name="ilot-de-noel.png").click()
    page.locator("main .page-header").get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete for good").click()
    page.wait_for_url("**/vault")
    page.locator(".flash-success", has_text="“ilot-de-noel.png” deleted.").wait_for()
    assert page.locator(".vault-list").get_by_role("link", name="ilot-de-noel.png").count() == 0
    # The refused empty file's 422 is logged by the browser as a failed resource; nothing else may be.
    assert [p for p in problems if "status of 422" not in p] == [], problems
