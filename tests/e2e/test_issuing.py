"""Issuing in a real browser, on the real server (`sillage serve`, its own job consumer): a bulk award from
a CSV file (upload → preview → confirm → progress → report), an attestation request (the owner asks → the
referee follows the e-mailed link and confirms → the owner sees the signed credential), and an
organisation endorsing another's achievement.

Accounts, organisations and achievements are set up with the CLI (what an operator does); everything the
issue describes as a page is done through the pages.
"""
from __future__ import annotations

import csv
import email
import email.policy
import io
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import SILLAGE

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough passphrase for e2e"
ATTEST_LINK = re.compile(r"https?://[^\s\"'<>]+/attest/[A-Za-z0-9_\-]+")


def sillage(live_server, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([*SILLAGE, *args], input=stdin, env=live_server.env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"sillage {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip().splitlines()[-1]  # a command that creates prints the id last


def account(live_server, address: str) -> None:
    sillage(live_server, "users", "create", address, stdin=PASSWORD + "\n")


def organisation(live_server, name: str, admin: str) -> str:
    return sillage(live_server, "orgs", "create", name, "--admin", admin, "--approve", "--kind", "school")


def achievement(live_server, org_id: str, name: str) -> str:
    return sillage(live_server, "achievements", "create", "--org", org_id, "--name", name,
                   "--description", f"{name}, décerné en fin d'année.", "--criteria", "Avoir suivi le module.")


def signed_in(browser, live_server, address: str):
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/login")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(address)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("[type=submit]").first.click()
    page.wait_for_url("**/dashboard")
    return context, page


def mail_link(outbox: Path, address: str, pattern: re.Pattern, timeout: float = 20) -> str:
    """The link matching ``pattern`` in the newest message to ``address`` (a deadline, not a timing test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if address not in str(message["To"]):
                continue
            match = pattern.search(message.get_body(preferencelist=("plain", "html")).get_content())
            if match:
                return match.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no e-mail to {address} with {pattern.pattern} in {outbox}")


def test_bulk_award_upload_preview_confirm_progress_report(browser, live_server, tmp_path):
    account(live_server, "registrar@lycee-e2e.example")
    account(live_server, "ada@eleves.example")  # one recipient already has an account
    org_id = organisation(live_server, "Lycée Jules-Verne", "registrar@lycee-e2e.example")
    achievement(live_server, org_id, "Brevet de secourisme")
    context, page = signed_in(browser, live_server, "registrar@lycee-e2e.example")

    page.goto(f"/organisations/{org_id}")
    page.get_by_role("link", name="Award it Brevet de secourisme").click()
    page.get_by_role("link", name="Award in bulk from a CSV file").click()
    sheet = tmp_path / "classe.csv"
    sheet.write_text("email;name;narrative\n"
                     "ada@eleves.example;Ada L.;Gestes de premiers secours.\n"
                     "bruno@eleves.example;Bruno M.;\n"
                     "pas-une-adresse;Chloé N.;\n"
                     "denis@eleves.example;Denis O.;\n", encoding="utf-8")
    page.locator("input[name=file]").set_input_files(str(sheet))
    page.get_by_role("button", name="Preview").click()

    # The preview: nothing issued, the bad row shown with its line, three rows ready.
    page.get_by_role("heading", name="Preview of the bulk award").wait_for()
    assert "Nothing has been issued yet." in page.locator("main").inner_text()
    errors = page.locator("table.bulk-errors tbody tr")
    assert errors.count() == 1 and "pas-une-adresse" in errors.first.inner_text()
    assert errors.first.locator("td").first.inner_text().strip() == "4"  # line 4 of the file
    page.get_by_role("button", name="Issue 3 credentials").click()

    # Progress: the page follows the job (run by the server's own consumer) and shows the report when done.
    page.wait_for_url(re.compile(r".*/batches/[0-9a-f-]+$"))
    first_batch = page.url
    page.get_by_text("Finished.").wait_for(timeout=120_000)
    report = page.locator("main table").last.locator("tbody tr")
    assert report.count() == 3
    assert [report.nth(n).locator("td").nth(1).inner_text().strip() for n in range(3)] == [
        "ada@eleves.example", "bruno@eleves.example", "denis@eleves.example"]
    assert all(report.nth(n).get_by_role("link", name="Issued").count() == 1 for n in range(3))
    assert page.locator("progress").get_attribute("value") == "3"

    # The CSV report, and an issued credential's public page.
    href = page.get_by_role("link", name="Download the report (CSV)").get_attribute("href")
    answer = page.request.get(href)
    assert answer.ok and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text().lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["row", "email", "status"]
    assert sorted(row[2] for row in rows[1:]) == ["done", "done", "done"]
    report.first.get_by_role("link", name="Issued").click()
    page.wait_for_url(re.compile(r".*/credentials/[0-9a-f-]+$"))
    assert "Brevet de secourisme" in page.locator("h1").inner_text()
    assert page.request.get(page.url + ".json").json()["proof"]["cryptosuite"] == "eddsa-rdfc-2022"

    # The same file again is the same batch: nothing issued twice.
    page.goto(f"/organisations/{org_id}")
    page.get_by_role("link", name="Award it Brevet de secourisme").click()
    page.get_by_role("link", name="Award in bulk from a CSV file").click()
    page.locator("input[name=file]").set_input_files(str(sheet))
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Issue 3 credentials").click()
    page.wait_for_url(re.compile(r".*/batches/[0-9a-f-]+$"))
    assert page.url == first_batch and page.locator("main table").last.locator("tbody tr").count() == 3

    # The corrected file: a new batch, in which the three who hold it already are told apart.
    sheet.write_text(sheet.read_text(encoding="utf-8").replace("pas-une-adresse", "chloe@eleves.example"),
                     encoding="utf-8")
    page.goto(f"/organisations/{org_id}")
    page.get_by_role("link", name="Award it Brevet de secourisme").click()
    page.get_by_role("link", name="Award in bulk from a CSV file").click()
    page.locator("input[name=file]").set_input_files(str(sheet))
    page.get_by_role("button", name="Preview").click()
    assert page.locator("table.bulk-errors").count() == 0
    page.get_by_role("button", name="Issue 4 credentials").click()
    page.wait_for_url(re.compile(r".*/batches/[0-9a-f-]+$"))
    assert page.url != first_batch
    page.get_by_text("Finished.").wait_for(timeout=120_000)
    again = page.locator("main table").last.locator("tbody tr")
    outcomes = {again.nth(n).locator("td").nth(1).inner_text().strip(): again.nth(n).locator("td").nth(2)
                .inner_text().strip() for n in range(again.count())}
    assert outcomes == {"ada@eleves.example": "Already held", "bruno@eleves.example": "Already held",
                        "chloe@eleves.example": "Issued", "denis@eleves.example": "Already held"}
    context.close()


def test_attestation_requested_confirmed_by_the_referee_and_seen_by_the_owner(browser, live_server):
    account(live_server, "ines@portfolio-e2e.example")
    context, owner = signed_in(browser, live_server, "ines@portfolio-e2e.example")
    owner.goto("/experiences/new")
    form = owner.locator("main form:has(input[name=title])")
    form.locator("select[name=kind]").select_option("job")
    form.locator("input[name=title]").fill("Stage en boulangerie")
    form.locator("input[name=organisation]").fill("Boulangerie du Port")
    form.locator("input[name=start_date]").fill("2025-06-02")
    form.locator("input[name=end_date]").fill("2025-07-25")
    form.locator("[type=submit]").first.click()
    owner.wait_for_load_state()
    assert "/experiences/new" not in owner.url, owner.locator("main").inner_text()
    experience_url = owner.url

    owner.get_by_role("link", name="Ask for an attestation").click()
    owner.locator("input[name=referee_name]").fill("Paul Durand")
    owner.locator("input[name=referee_email]").fill("paul@referee-e2e.example")
    owner.locator("input[name=relationship]").fill("maître de stage")
    owner.locator("textarea[name=message]").fill("Merci de confirmer mon stage !")
    owner.get_by_role("button", name="Send the request").click()
    owner.wait_for_load_state()
    assert "Paul Durand" in owner.locator("main").inner_text()  # the request, listed with its status

    # The referee: no account, a fresh browser, the link from the e-mail.
    link = mail_link(live_server.instance / "outbox", "paul@referee-e2e.example", ATTEST_LINK)
    referee_context = browser.new_context(base_url=live_server.url, locale="en-GB")
    referee = referee_context.new_page()
    referee.goto(link)
    assert "Stage en boulangerie" in referee.locator("h1").inner_text()
    assert "Merci de confirmer mon stage !" in referee.locator("main").inner_text()
    assert "Your e-mail address is not written in it." in referee.locator("main").inner_text()
    referee.locator("textarea[name=statement]").fill("Stage de huit semaines : pétrissage, cuisson et vente.")
    referee.get_by_role("button", name="Confirm").click()
    referee.wait_for_load_state()
    # The link works once.
    referee.goto(link)
    assert referee.locator("button", has_text="Confirm").count() == 0
    referee_context.close()

    # The owner sees the confirmed attestation on the experience, and its signed credential.
    owner.goto(experience_url)
    owner.get_by_role("link", name="Confirmed by Paul Durand (maître de stage)").click()
    owner.wait_for_url(re.compile(r".*/attestations/[0-9a-f-]+$"))
    assert "pétrissage, cuisson et vente" in owner.locator("main").inner_text()
    document = owner.request.get(owner.url + ".json").json()
    assert document["credentialSubject"]["achievement"]["description"].startswith("Stage de huit semaines")
    assert "Paul Durand" in str(document["evidence"]) and "paul@referee-e2e.example" not in str(document)
    assert document["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    context.close()


def test_an_organisation_endorses_another_organisations_achievement(browser, live_server):
    account(live_server, "head@college-e2e.example")
    account(live_server, "dean@univ-e2e.example")
    college = organisation(live_server, "Collège Anne-Frank", "head@college-e2e.example")
    achievement_id = achievement(live_server, college, "Certificat de robotique")
    organisation(live_server, "Université de l'Estuaire", "dean@univ-e2e.example")

    context, page = signed_in(browser, live_server, "dean@univ-e2e.example")
    page.goto(f"/issuers/{college}/achievements/{achievement_id}")
    section = page.locator("section.endorsements")
    section.get_by_role("button", name="Endorse").wait_for()  # in the page's body, not in its <title>
    assert page.title().startswith("Certificat de robotique")
    assert "Endorse" not in page.title()
    section.locator("textarea[name=comment]").fill("Un programme exigeant, que nos étudiants reconnaissent.")
    section.get_by_role("button", name="Endorse").click()
    page.locator(".flash", has_text="Your endorsement is signed and published.").wait_for()

    endorsement = page.locator("section.endorsements li.card").first
    assert "Un programme exigeant" in endorsement.inner_text()
    assert "Université de l'Estuaire" in endorsement.inner_text()
    href = endorsement.get_by_role("link", name="Signed endorsement (JSON)").get_attribute("href")
    document = page.request.get(href).json()
    assert "EndorsementCredential" in document["type"]
    assert document["credentialSubject"]["endorsementComment"].startswith("Un programme exigeant")
    assert document["proof"]["cryptosuite"] == "eddsa-rdfc-2022"

    # A visitor sees the endorsement, and no form.
    visitor = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    visitor.goto(f"/issuers/{college}/achievements/{achievement_id}")
    assert "Un programme exigeant" in visitor.locator("section.endorsements").inner_text()
    assert visitor.locator("section.endorsements form").count() == 0
    visitor.context.close()
    context.close()
