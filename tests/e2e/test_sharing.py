"""Sharing in a real browser against the real server: the owner invites a counsellor to one experience
from the Sharing page, the counsellor follows the e-mailed link, signs in, accepts and reads exactly that
experience; the owner sees the visit in the access log, then revokes."""
from __future__ import annotations

import re
import subprocess
from email import policy
from email.parser import BytesParser

import pytest

from tests.e2e.conftest import SILLAGE

pytestmark = pytest.mark.e2e

OWNER, COUNSELLOR, PASSWORD = "share.owner@example.org", "share.counsellor@example.org", "a portfolio to share"


def _account(live_server, address: str) -> None:
    subprocess.run([*SILLAGE, "users", "create", address, "--name", address.split("@")[0].replace(".", " ").title()],
                   input=PASSWORD + "\n", env=live_server.env, check=True, capture_output=True, text=True,
                   timeout=120)


def _sign_in(page, address: str, then: str | None = None) -> None:
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(address)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("[type=submit]").first.click()
    if then:
        page.wait_for_url(then)


def _invitation_link(live_server) -> str:
    for path in sorted((live_server.instance / "outbox").glob("*.eml"), reverse=True):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if message["To"] == COUNSELLOR:
            match = re.search(r"https?://\S+/invitations/\S+", message.get_body(("plain",)).get_content())
            assert match
            return match.group(0)
    raise AssertionError("no invitation mail")


def test_invite_accept_read_and_revoke(browser, live_server, tmp_path):
    _account(live_server, OWNER)
    _account(live_server, COUNSELLOR)
    owner = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    owner.goto("/login")
    _sign_in(owner, OWNER, "**/dashboard")
    for title in ("Stage chez Vert Bocage", "Emploi privé"):
        owner.goto("/experiences/new")
        form = owner.locator("main form:has(input[name=title])")
        form.locator("select[name=kind]").select_option("internship")
        form.locator("input[name=title]").fill(title)
        form.locator("input[name=start_date]").fill("2025-11-17")
        form.locator("[type=submit]").first.click()
        owner.wait_for_url(re.compile(r"/experiences/[0-9a-f-]{36}$"))

    owner.goto("/portfolio/sharing")
    form = owner.locator("main form:has(input[name=email])")
    form.locator("input[name=email]").fill(COUNSELLOR)
    form.locator("input[name=role][value=certifier]").check()
    form.locator("input[name=extent][value=chosen]").check()
    form.locator("summary", has_text="Experiences").click()
    form.get_by_label("Stage chez Vert Bocage").check()
    owner.screenshot(path=str(tmp_path / "sharing-form.png"), full_page=True)
    form.locator("[type=submit]").last.click()
    owner.wait_for_url("**/portfolio/sharing")
    assert owner.locator(".share-list").get_by_text(COUNSELLOR).count() == 1

    link = _invitation_link(live_server)
    counsellor = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    counsellor.goto(link)
    counsellor.locator("main").get_by_role("link", name="Sign in").click()
    _sign_in(counsellor, COUNSELLOR)
    counsellor.wait_for_url(re.compile(r"/invitations/[^/?]+$"))
    counsellor.get_by_role("button", name="Accept the invitation").click()
    counsellor.wait_for_url(re.compile(r"/shared/[0-9a-f-]{36}$"))
    main = counsellor.locator("main")
    assert main.get_by_text("Stage chez Vert Bocage").count() == 1
    assert main.get_by_text("Emploi privé").count() == 0
    counsellor.screenshot(path=str(tmp_path / "shared-view.png"), full_page=True)
    shared_url = counsellor.url

    owner.goto("/portfolio/access-log")
    assert owner.locator("table.access-log tbody tr").count() == 1
    owner.screenshot(path=str(tmp_path / "access-log.png"), full_page=True)
    owner.goto("/portfolio/sharing")
    owner.get_by_role("button", name="Revoke").click()
    owner.wait_for_url("**/portfolio/sharing")
    assert counsellor.goto(shared_url).status == 404
    print(f"screenshots in {tmp_path}")
