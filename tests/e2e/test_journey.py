"""A newcomer's first journey, in a real browser against the real server: register, confirm the address
with the link from the e-mail, sign in, add an experience and find it on the timeline."""
from __future__ import annotations

import email
import email.policy
import re
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PASSWORD = "a long walk along the Loire"
VERIFY_LINK = re.compile(r"https?://[^\s\"'<>]+/verify-email/[A-Za-z0-9_\-]+")


def read_verification_link(outbox: Path, address: str, timeout: float = 15) -> str:
    """The verification link of the newest message to ``address`` in the instance's outbox."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if address not in str(message["To"]):
                continue
            body = message.get_body(preferencelist=("plain", "html"))
            match = VERIFY_LINK.search(body.get_content() if body else "")
            assert match, f"no verification link in {path.name}"
            return match.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no e-mail to {address} in {outbox} after {timeout} s")


def submit(form) -> None:
    form.locator("[type=submit]").first.click()


def test_register_verify_add_experience_see_it_on_the_timeline(page, live_server):
    address = "journey@example.org"

    page.goto("/register")
    form = page.locator("main form:has(input[name=password_confirm])")
    form.locator("input[name=email]").fill(address)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("input[name=password_confirm]").fill(PASSWORD)
    if form.locator("input[name=display_name]").count():
        form.locator("input[name=display_name]").fill("Jeanne Parcours")
    submit(form)
    page.wait_for_load_state()
    assert not page.url.endswith("/register"), page.locator("main").inner_text()

    link = read_verification_link(live_server.instance / "outbox", address)
    assert link.startswith(live_server.url), "links in e-mails use SILLAGE_BASE_URL"
    page.goto(link)
    confirm = page.locator("main form")
    if confirm.count():  # a confirmation button, so that mail scanners following links verify nothing
        submit(confirm.first)
        page.wait_for_load_state()

    if page.locator("main input[name=password]").count() or "/login" in page.url:
        page.goto("/login")
        form = page.locator("main form:has(input[name=password])")
        form.locator("input[name=email]").fill(address)
        form.locator("input[name=password]").fill(PASSWORD)
        submit(form)
        page.wait_for_load_state()
    assert "/login" not in page.url, page.locator("main").inner_text()

    page.goto("/experiences/new")
    form = page.locator("main form:has(input[name=title])")
    form.locator("select[name=kind]").select_option("volunteering")
    form.locator("input[name=title]").fill("Bénévole au festival des Rendez-vous de l'Erdre")
    form.locator("input[name=organisation]").fill("Association Erdre & Jazz")
    form.locator("input[name=place]").fill("Nantes")
    form.locator("input[name=start_date]").fill("2025-08-28")
    form.locator("input[name=end_date]").fill("2025-08-31")
    form.locator("textarea[name=description]").fill("Accueil du public et **tenue du stand** d'information.")
    submit(form)
    page.wait_for_load_state()
    assert "/experiences/new" not in page.url, page.locator("main").inner_text()

    page.goto("/timeline")
    item = page.locator(".timeline-item", has_text="Bénévole au festival des Rendez-vous de l'Erdre")
    item.first.wait_for()
    assert "Association Erdre & Jazz" in item.first.inner_text()


def test_pages_refuse_a_visitor_who_is_not_signed_in(page):
    page.goto("/timeline")
    assert "/login" in page.url
    assert page.locator("main input[name=email]").count() == 1
