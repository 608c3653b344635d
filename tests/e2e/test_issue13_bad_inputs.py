"""In a real browser (Debian's chromium), one bad input per form that issue 13 added: the person sees a clear
message in the page, what they typed stays where it makes sense, the server never answers 500, and nothing
is half-saved.

Where the page itself guards a field (``required``, ``type=email``, ``maxlength``), the test first checks
that the browser holds the form back, then switches that guard off (``form.noValidate``, the attribute
removed) to prove that the server refuses the same input on its own: a script or an old browser skips the
page's guards.

One server for the whole file (shared setup, fast): its OpenID provider is configured but unreachable
(a closed port), which is enough for the refusals that must come before any network call (a forged
callback's state) and shows the message of a provider that does not answer.
"""
from __future__ import annotations

import json
import re
import sqlite3
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, free_port
from tests.e2e.test_institutions_browser import CODE, menu
from tests.e2e.test_issuers import PASSWORD, account, sign_in
from tests.e2e.test_issuing import mail_link

pytestmark = pytest.mark.e2e

HEAD, ADMIN, PARENT = "head@bad-input.example", "root@bad-input.example", "parent@bad-input.example"
LEA, NOE, REQUESTER = "lea@bad-input.example", "noe@bad-input.example", "asso@bad-input.example"
SCHOOL, PENDING = "Collège des Mauvaises Saisies", "Association en attente"
ROSTER = ("nom;prénom;date_naissance;classe;email;ine;email_responsable\n"
          f"Durand;Léa;12/03/2014;6e A;{LEA};;{PARENT}\n"
          f"Martin;Noé;05/06/2014;6e A;{NOE};;\n")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("e2e-bad-input") / "instance")
    server.env["SILLAGE_OIDC_PROVIDERS"] = json.dumps([{
        "name": "ent", "label": "ENT test", "issuer": f"http://127.0.0.1:{free_port()}",
        "client_id": "sillage", "client_secret_env": "SILLAGE_BAD_INPUT_OIDC_SECRET"}])
    server.env["SILLAGE_BAD_INPUT_OIDC_SECRET"] = "not used: the provider never answers"
    server.start()
    try:
        for address in (HEAD, PARENT, REQUESTER):
            account(server, address)
        account(server, ADMIN, "--admin")
        server.school_id = server.run("orgs", "create", SCHOOL, "--admin", HEAD, "--approve",
                                      "--kind", "school").split()[-1]
        server.pending_id = server.run("orgs", "create", PENDING, "--admin", REQUESTER,
                                       "--kind", "association").split()[-1]
        yield server
    finally:
        server.stop()


@pytest.fixture
def browse(browser, world):
    """New pages (own cookies) on the server; every answer the browser receives is recorded, so that a test
    can prove no 500 was served (a 502 page saying that the provider did not answer is a message)."""
    contexts, statuses = [], []

    def new_page():
        context = browser.new_context(base_url=world.url, locale="en-GB")
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.on("response", lambda response: statuses.append((response.status, response.url)))
        return page
    yield new_page
    for context in contexts:
        context.close()
    assert not [s for s in statuses if s[0] == 500], statuses


def error_flash(page) -> str:
    return page.locator(".flashes .flash-error").inner_text()


def held_back_by_the_browser(page, field) -> None:
    """The browser's own check stopped the submission (the field is invalid, the URL did not change)."""
    url = page.url
    assert field.evaluate("f => !f.validity.valid"), "the browser accepted the field"
    assert field.evaluate("f => f.validationMessage") != ""
    assert page.url == url


def without_browser_checks(field) -> None:
    field.evaluate("f => { f.form.noValidate = true; f.removeAttribute('maxlength'); }")


def described(page, field, message: str) -> None:
    """The refused field is marked invalid and its message, under it, is tied to it by aria-describedby."""
    assert field.get_attribute("aria-invalid") == "true"
    assert message in page.locator(f"#{field.get_attribute('aria-describedby')}").inner_text()


def database(world) -> sqlite3.Connection:
    return sqlite3.connect(world.instance / "sillage.db")


def test_head_forms_group_staff_partner_and_roster(browse, world, tmp_path):
    head = browse()
    sign_in(head, HEAD)
    menu(head).get_by_text("Administration").click()
    menu(head).get_by_role("link", name=SCHOOL, exact=True).click()
    head.wait_for_url(re.compile(r"/institutions/[0-9a-f-]{36}$"))
    home = head.url

    # New group: empty, then too long, then a year that is no year; the duplicate last.
    name, year = head.get_by_label("New group"), head.get_by_label("School year (first year)")
    create = head.get_by_role("button", name="Create the group")
    create.click()
    held_back_by_the_browser(head, name)
    without_browser_checks(name)
    name.fill("   ")
    create.click()
    assert "A group needs a name (120 characters at most)." in error_flash(head)
    name = head.get_by_label("New group")
    described(head, name, "A group needs a name")
    without_browser_checks(name)
    name.fill("x" * 121)
    head.get_by_role("button", name="Create the group").click()
    assert "A group needs a name" in error_flash(head)
    assert head.get_by_label("New group").input_value() == "x" * 121     # kept, to be shortened
    for wrong in ("deux mille", "99999999999999999999"):
        head.get_by_label("New group").fill("5e B")
        head.get_by_label("School year (first year)").fill(wrong)
        head.get_by_role("button", name="Create the group").click()
        assert "The year must be" in error_flash(head), wrong
        described(head, head.get_by_label("School year (first year)"), "The year must be")
        assert head.get_by_label("New group").input_value() == "5e B"
        assert head.get_by_label("School year (first year)").input_value() == wrong
    head.get_by_label("School year (first year)").fill("")
    head.get_by_role("button", name="Create the group").click()
    assert "Group created." in head.locator(".flashes").inner_text()
    head.get_by_label("New group").fill("5e B")
    head.get_by_role("button", name="Create the group").click()
    assert "This group already exists." in error_flash(head)
    groups = head.locator("section[aria-labelledby=groups-heading] ul").first
    assert groups.get_by_role("link", name="5e B", exact=True).count() == 1   # nothing half-saved

    # Staff and partner: a malformed e-mail (browser check, then the server's); an address without an
    # account gets the same answer as one with (an invitation: the page is no account oracle).
    for label, button in (("Their e-mail (they get an invitation to accept)", "Invite to the staff"),
                          ("The partner's e-mail (they get an invitation to accept)", "Invite the partner")):
        email = head.get_by_label(label, exact=True)
        email.fill("prof-at-college")
        head.get_by_role("button", name=button).click()
        held_back_by_the_browser(head, email)
        without_browser_checks(email)
        head.get_by_role("button", name=button).click()
        assert "not a valid e-mail address" in error_flash(head).lower(), label
        described(head, head.get_by_label(label, exact=True), "Not a valid e-mail address.")
        assert head.get_by_label(label, exact=True).input_value() == "prof-at-college"
    with database(world) as db:  # nothing saved by the refusals
        assert db.execute("SELECT count(*) FROM memberships WHERE email = 'prof-at-college'").fetchone() == (0,)

    # Rosters: each fault refused whole, with its reason; nothing is imported.
    faults = {
        "encoding.csv": (b"nom;pr\x81nom;date_naissance;classe\nDurand;L\x81a;12/03/2014;6e Z\n",
                         "neither UTF-8 nor Windows-1252"),
        "columns.csv": ("nom;prénom\nDurand;Léa\n".encode(), "Missing columns"),
    }
    for filename, (data, message) in faults.items():
        head.goto(home)
        (tmp_path / filename).write_bytes(data)
        head.locator("input[name=file]").set_input_files(str(tmp_path / filename))
        head.get_by_role("button", name="Preview").click()
        assert message in error_flash(head), filename
        described(head, head.locator("input[name=file]"), message)
    rows = ("nom;prénom;date_naissance;classe;ine\n"
            "Futur;Léo;01/01/2100;6e Z;\n"
            "Faux;Ine;01/01/2014;6e Z;12345\n")
    (tmp_path / "rows.csv").write_text(rows, encoding="utf-8")
    head.goto(home)
    head.locator("input[name=file]").set_input_files(str(tmp_path / "rows.csv"))
    head.get_by_role("button", name="Preview").click()
    assert head.locator('[data-count="error"]').inner_text() == "2"
    assert "Birth date is in the future." in head.locator('tr[data-line="2"]').inner_text()
    assert "INE “12345” is not valid" in head.locator('tr[data-line="3"]').inner_text()
    assert "nothing is imported while a row is wrong" in head.get_by_role("alert").inner_text()
    assert head.get_by_role("button", name="Import").count() == 0
    head.goto(home)
    assert "6e Z" not in head.locator("section[aria-labelledby=groups-heading]").inner_text()
    with database(world) as db:
        assert db.execute("SELECT count(*) FROM enrolments").fetchone() == (0,)


def import_roster(head, world, tmp_path) -> None:
    head.goto(f"/institutions/{world.school_id}")
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    head.locator("input[name=file]").set_input_files(str(tmp_path / "roster.csv"))
    head.get_by_role("button", name="Preview").click()
    assert head.locator('[data-count="error"]').inner_text() == "0"
    head.get_by_role("button", name="Import").click()
    head.locator('[data-status="done"]').wait_for(timeout=60_000)


def activate(page, code: str, email: str, password: str = PASSWORD, again: str = PASSWORD):
    page.goto("/activate")
    page.get_by_label("Activation code").fill(code)
    page.get_by_label("Your e-mail address").fill(email)
    page.get_by_label("Choose a password").fill(password)
    page.get_by_label("The password again").fill(again)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Activate").click()
    return answer.value


def test_activation_then_the_guardian_forms(browse, world, tmp_path):
    head, pupil, parent = browse(), browse(), browse()
    sign_in(head, HEAD)
    import_roster(head, world, tmp_path)
    outbox = world.instance / "outbox"
    lea_code = mail_link(outbox, LEA, CODE, timeout=60)
    noe_code = mail_link(outbox, NOE, CODE, timeout=60)

    # A code nobody issued: refused, the e-mail typed stays.
    answer = activate(pupil, "ABCDE-FGHJK", LEA)
    assert answer.status == 400
    assert "This activation code is not valid, already used, or expired." in error_flash(pupil)
    assert pupil.get_by_label("Your e-mail address").input_value() == LEA
    # Two different passwords: refused before the code is spent.
    answer = activate(pupil, lea_code, LEA, again=PASSWORD + " but another")
    assert answer.status == 422
    assert "The two passwords are different." in error_flash(pupil)
    assert pupil.get_by_label("Activation code").input_value() == lea_code
    # An expired code (its expiry moved to the past in the database, as time would).
    with database(world) as db:
        db.execute("UPDATE activation_codes SET expires_at = '2000-01-01 00:00:00.000000' WHERE used_at IS NULL "
                   "AND enrolment_id IN (SELECT id FROM enrolments WHERE family_name = 'Martin')")
    assert activate(pupil, noe_code, NOE).status == 400
    assert "not valid, already used, or expired" in error_flash(pupil)
    # Léa's code works once; used again, refused, and no second account exists.
    activate(pupil, lea_code, LEA)
    pupil.wait_for_url("**/login")
    assert activate(pupil, lea_code, "someone.else@bad-input.example").status == 400
    assert "not valid, already used, or expired" in error_flash(pupil)
    with database(world) as db:
        assert db.execute("SELECT count(*) FROM users WHERE email IN (?, ?, ?)",
                          (LEA, NOE, "someone.else@bad-input.example")).fetchone() == (1,)

    # Léa invites a guardian: her own address, then a malformed one.
    sign_in(pupil, LEA)
    pupil.goto("/guardians")
    email = pupil.get_by_label("Invite a guardian (e-mail)")
    email.fill(LEA)
    pupil.get_by_role("button", name="Invite").click()
    assert "A guardian's e-mail cannot be the pupil's own." in error_flash(pupil)
    assert pupil.get_by_label("Invite a guardian (e-mail)").input_value() == LEA
    described(pupil, pupil.get_by_label("Invite a guardian (e-mail)"), "cannot be the pupil's own")
    email = pupil.get_by_label("Invite a guardian (e-mail)")
    email.fill("papa@")
    pupil.get_by_role("button", name="Invite").click()
    held_back_by_the_browser(pupil, email)
    without_browser_checks(email)
    pupil.get_by_role("button", name="Invite").click()
    assert "Enter an e-mail address." in error_flash(pupil)
    assert pupil.get_by_label("Invite a guardian (e-mail)").input_value() == "papa@"
    assert pupil.locator("[data-guardian='papa@']").count() == 0

    # The guardian the school named accepts, then sends a decision altered in the page: refused, unrecorded.
    sign_in(parent, PARENT)
    parent.goto("/shared")
    parent.get_by_role("button", name="Accept").first.click()
    parent.goto("/guardians")
    card = parent.locator("article[data-minor]")
    expect(card).to_have_count(1)
    card.locator("select[name=scope] option").first.evaluate("o => o.value = 'everything'")
    card.get_by_role("button", name="Record my decision").click()
    assert "Not one of the allowed values." in error_flash(parent)
    card.locator("form:has(select[name=scope]) input[name=minor_id]").evaluate(
        "i => i.value = '00000000-0000-4000-8000-000000000000'")
    parent.get_by_role("button", name="Record my decision").click()
    assert "You are not a guardian of this person." in error_flash(parent)
    with database(world) as db:
        assert db.execute("SELECT count(*) FROM guardian_consents").fetchone() == (0,)


def test_admin_refusal_suspension_and_indicators(browse, world):
    admin = browse()
    sign_in(admin, ADMIN)
    # Refusing an organisation without a reason: the form says so, the request stays pending.
    admin.goto(f"/admin/organisations/{world.pending_id}")
    with admin.expect_response(lambda r: r.request.method == "POST") as answer:
        admin.get_by_role("button", name="Refuse").click()
    assert answer.value.status == 422
    refuse = admin.locator("form:has(input[value=refuse])")
    assert refuse.locator(".field-error").inner_text().strip() != ""
    reason = refuse.get_by_role("textbox")
    assert reason.get_attribute("aria-invalid") == "true"
    assert reason.get_attribute("aria-describedby") == refuse.locator(".field-error").get_attribute("id")
    admin.goto("/admin/organisations")
    assert PENDING in admin.locator("main").inner_text()
    with database(world) as db:
        assert db.execute("SELECT status FROM organisations WHERE name = ?", (PENDING,)).fetchone() == ("pending",)

    # Suspending without a reason (blank: spaces only, past the browser's check).
    admin.goto(f"/admin/accounts?email={REQUESTER}")
    reason = admin.get_by_label("Reason (kept in the audit log)")
    admin.get_by_role("button", name="Suspend this account").click()
    held_back_by_the_browser(admin, reason)
    reason.fill("   ")
    admin.get_by_role("button", name="Suspend this account").click()
    assert "Give a reason for the suspension." in error_flash(admin)
    assert REQUESTER not in admin.locator("section[aria-labelledby=suspended-heading]").inner_text()

    # Indicators with a period or an institution the page does not offer.
    answer = admin.goto("/admin/indicators?days=abc")
    assert answer.status == 200
    assert admin.get_by_label("Period").locator("option:checked").inner_text() == "Last 30 days"
    for query in ("org=not-an-id", "org=00000000-0000-4000-8000-000000000000", "org=%00", "days=7&org=' OR 1=1"):
        answer = admin.goto(f"/admin/indicators?{query}")
        assert answer.status == 404, query
        assert admin.locator("h1").inner_text().strip() != "", query
    assert admin.goto(f"/organisations/{world.school_id}/indicators?days=-1").status == 200
    assert admin.goto("/organisations/not-an-id/indicators").status == 404


def test_sso_settings_and_a_forged_callback(browse, world):
    page = browse()
    # A callback nobody started (forged state): a page that says so, nobody signed in.
    answer = page.goto("/auth/oidc/ent/callback?state=forged&code=anything")
    assert answer.status == 400
    assert page.locator("[data-code=bad_state]").inner_text().startswith("This sign-in answer does not match")
    assert page.locator("form.logout-form").count() == 0
    assert page.goto("/auth/oidc/nope/callback?state=x").status == 404
    assert "This sign-in service is not configured here." in page.locator("main").inner_text()

    sign_in(page, PARENT)
    page.goto("/settings/sign-in-services")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Link my ENT test account").click()
    assert answer.value.status in (502, 503)
    assert page.locator("[data-code=provider_unreachable]").count() == 1
    # Unlinking an identity that is not the person's (a forged id): refused with a message.
    page.goto("/settings/sign-in-services")
    page.locator("main").evaluate("""main => {
        const form = document.createElement('form');
        form.method = 'post';
        form.action = '/settings/sign-in-services/00000000-0000-4000-8000-000000000000/unlink';
        form.appendChild(document.querySelector('input[name=csrf_token]').cloneNode());
        main.appendChild(form);
        form.submit(); }""")
    page.wait_for_url("**/unlink")
    assert "This linked account does not exist." in page.locator("main").inner_text()


def tab_to(page, selector: str, limit: int = 120) -> None:
    """Press Tab until the control matching ``selector`` has the focus; on the way, every control reached
    shows a focus ring and has a name (its label, or its text for links and buttons)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen = page.evaluate("""(selector) => {
            const el = document.activeElement, style = getComputedStyle(el);
            const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
            return {match: el.matches(selector), ring: style.outlineStyle !== "none" && style.outlineWidth !== "0px",
                    name: (label || el.getAttribute("aria-label") || el.innerText || "").trim(),
                    what: el.outerHTML.slice(0, 120)}; }""", selector)
        assert seen["ring"], f"no visible focus on {seen['what']}"
        assert seen["name"], f"no name for {seen['what']}"
        if seen["match"]:
            return
    raise AssertionError(f"{selector} never got the focus with Tab")


def test_keyboard_only_roster_preview_import_and_letters(browser, world, tmp_path):
    """The head's journey with the keyboard alone: choose the file, preview, import, back, the group, print."""
    context = browser.new_context(base_url=world.url, locale="en-GB", accept_downloads=True)
    context.set_default_timeout(20_000)
    head = context.new_page()
    # Playwright asks Chromium to intercept file choosers only once a listener exists, and that request
    # races a single key press (a click makes several round trips first, a key press one): listening
    # from the start means the Space below always meets an intercepted chooser.
    head.on("filechooser", lambda chooser: None)
    try:
        sign_in(head, HEAD)
        head.goto(f"/institutions/{world.school_id}")
        (tmp_path / "4e.csv").write_text("nom;prénom;date_naissance;classe\nKeyboard;Kim;01/02/2012;4e K\n",
                                         encoding="utf-8")
        tab_to(head, "input#file")
        with head.expect_file_chooser() as chooser:
            head.keyboard.press("Space")
        chooser.value.set_files(str(tmp_path / "4e.csv"))
        tab_to(head, "button[type=submit]")   # the form's Preview button, right after the file
        assert head.evaluate("document.activeElement.innerText") == "Preview"
        head.keyboard.press("Enter")
        head.wait_for_url("**/roster")
        assert head.locator('[data-count="add"]').inner_text() == "1"
        tab_to(head, "form[action$='/import'] button")
        head.keyboard.press("Enter")
        head.locator('[data-status="done"]').wait_for(timeout=60_000)
        tab_to(head, "a[href$='" + world.school_id + "']")
        head.keyboard.press("Enter")
        head.wait_for_url(re.compile(world.school_id + "$"))
        tab_to(head, "section[aria-labelledby=groups-heading] a")
        while head.evaluate("document.activeElement.innerText") != "4e K":
            tab_to(head, "section[aria-labelledby=groups-heading] a")
        head.keyboard.press("Enter")
        head.wait_for_url("**/groups/**")
        tab_to(head, "form[action$='letters.pdf'] button")
        with head.expect_download() as download:
            head.keyboard.press("Enter")
        assert open(download.value.path(), "rb").read(5) == b"%PDF-"
    finally:
        context.close()


def test_the_roster_progress_page_follows_the_job_without_moving_the_focus(browser, world):
    """While a roster import runs, its page follows it in place (live.js) rather than reloading itself: the
    keyboard focus and the page itself stay (a reload would drop both), the region is ``aria-busy`` until the
    job ends, then shows the counts once. The batch is written in the database directly, leased far ahead so
    that the server's consumer leaves it alone, and finished by the test when it chooses."""
    batch = uuid.uuid4()
    with database(world) as db:
        school = db.execute("SELECT id FROM organisations WHERE name = ?", (SCHOOL,)).fetchone()[0]
        db.execute("INSERT INTO batches (id, kind, key, digest, params, status, total, done_count, failed_count, "
                   "lease_owner, lease_until, created_at, started_at) VALUES (?, 'roster', ?, ?, ?, 'running', "
                   "2, 1, 0, 'the test', '2999-01-01 00:00:00.000000', ?, ?)",
                   (batch.hex, f"test-{batch.hex}", "0" * 64, json.dumps({"organisation": str(uuid.UUID(school))}),
                    "2026-01-01 00:00:00.000000", "2026-01-01 00:00:00.000000"))
    context = browser.new_context(base_url=world.url, locale="en-GB")
    context.set_default_timeout(20_000)
    head = context.new_page()
    try:
        sign_in(head, HEAD)
        head.goto(f"/institutions/{world.school_id}/roster/jobs/{batch}")
        live = head.locator("#job-live")
        assert "1 / 2" in live.inner_text() and live.get_attribute("aria-busy") == "true"
        head.evaluate("window.sameDocument = true")
        back = head.get_by_role("link", name="Back to the institution")
        back.focus()
        head.wait_for_timeout(4_500)                        # two polls at least: nothing moved
        assert head.evaluate("window.sameDocument") is True
        assert head.evaluate("document.activeElement.innerText") == "Back to the institution"
        with database(world) as db:
            db.execute("UPDATE batches SET status = 'done', done_count = 2, finished_at = started_at WHERE id = ?",
                       (batch.hex,))
        head.locator('[data-status="done"]').wait_for()
        assert "2 / 2" in live.inner_text() and live.get_attribute("aria-busy") == "false"
        assert live.get_attribute("data-live-every") is None   # polling stopped
        assert head.evaluate("window.sameDocument") is True
        assert head.evaluate("document.activeElement.innerText") == "Back to the institution"
    finally:
        context.close()
        with database(world) as db:
            db.execute("DELETE FROM batches WHERE id = ?", (batch.hex,))
