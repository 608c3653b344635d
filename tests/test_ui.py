"""The interface: layout, stylesheet, accessibility basics, languages, error page, form macros.

These tests hold the contract the feature templates rely on: every class listed in the shared brief
exists in the one stylesheet, the text colour pairs meet WCAG AA contrast, the layout carries the skip
link, landmarks and language, and the French catalogue is complete and well-formed.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import flash, render_template_string
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import DataRequired

from tests.helpers import csrf_token

ROOT = Path(__file__).resolve().parent.parent
CSS = ROOT / "app" / "static" / "sillage.css"
PO = ROOT / "app" / "translations" / "fr" / "LC_MESSAGES" / "messages.po"

# The classes promised to every template author (shared brief, "Templates").
CONTRACT_CLASSES = """
container page-header actions grid-2 stack
button button-secondary button-danger link-button
form field field-error hint checkbox required
card card-list meta tag level level-1 level-2 level-3 level-4 empty-state table visually-hidden
flash flash-success flash-info flash-error
timeline timeline-item timeline-date filters
tag-job tag-internship tag-education tag-volunteering tag-family tag-sport tag-culture tag-project tag-other
""".split()

# Text colour on background colour, by token name: each pair must reach 4.5:1 (WCAG 1.4.3).
TEXT_PAIRS = [
    ("color-text", "color-bg"), ("color-text", "color-bg-alt"), ("color-text", "color-bg-accent"),
    ("color-text-muted", "color-bg"), ("color-text-muted", "color-bg-alt"),
    ("color-text-muted", "color-bg-accent"),
    ("color-primary", "color-bg"), ("color-primary", "color-bg-alt"), ("color-primary", "color-bg-accent"),
    ("color-on-primary", "color-primary"), ("color-on-primary", "color-primary-hover"),
    ("color-on-primary", "color-primary-active"),
    ("color-on-primary", "color-danger"), ("color-on-primary", "color-danger-hover"),
    ("color-danger", "color-bg"), ("color-danger-hover", "color-error-bg"),
    ("color-error", "color-bg"), ("color-text", "color-error-bg"), ("color-text", "color-success-bg"),
    ("color-text", "color-info-bg"),
] + [(f"kind-{kind}-fg", f"kind-{kind}-bg") for kind in
     ("job", "internship", "education", "volunteering", "family", "sport", "culture", "project", "other",
      "diploma")]
# Non-text contrast (WCAG 1.4.11): input borders and the focus ring against the page, 3:1.
UI_PAIRS = [("color-border-strong", "color-bg"), ("color-focus", "color-bg"), ("color-error", "color-bg")]


def css_tokens() -> dict[str, str]:
    """The custom properties declared in :root, name (without --) to value."""
    root = re.search(r":root\s*{(.*?)\n}", CSS.read_text(), re.S).group(1)
    return {name: value.strip() for name, value in re.findall(r"--([\w-]+):\s*([^;]+);", root)}


def luminance(hex_colour: str) -> float:
    """WCAG 2.1 relative luminance of a #rrggbb colour."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(fg: str, bg: str) -> float:
    light, dark = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.fixture(scope="session", autouse=True)
def compiled_french():
    """Compile the French catalogue when its .mo is missing or older (as `make translations` does).

    Written to a temporary file then renamed, so parallel test workers never read half a file.
    """
    mo = PO.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < PO.stat().st_mtime:
        with PO.open("rb") as fh:
            catalog = read_po(fh, locale="fr")
        fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, mo)


def html(response) -> str:
    return response.get_data(as_text=True)


# --- The layout -------------------------------------------------------------------------------------

def test_home_page_uses_the_layout(client):
    page = html(client.get("/", headers={"Accept-Language": "en"}))
    assert '<link rel="stylesheet" href="/static/sillage.css">' in page
    assert '<a class="skip-link" href="#main">Skip to content</a>' in page
    assert '<main id="main"' in page
    assert '<html lang="en">' in page
    assert "<header" in page and "<footer" in page and 'aria-label="Account"' in page
    assert "Your portfolio is private by default." in page


def test_home_page_invites_visitors_to_register_and_log_in(client, app):
    page = html(client.get("/", headers={"Accept-Language": "en"}))
    for word in ("Describe", "Follow your path", "Keep your documents", "Verify", "Connect your tools",
                 "Stay in control", "Make a CV for each job", "Take everything with you"):
        assert f"{word}</h3>" in page
    # Only what works: nothing built by a later issue is promised (certification, public pages,
    # downloads), in the page or its footer, in either language. Invitations and the access log work (grants),
    # and so do exports (issue 11).
    for language in ("en", "fr"):
        text = html(client.get("/", headers={"Accept-Language": language})).lower()
        for promise in ("certif", "public page", "page publique",
                        "download", "télécharg", "who looked", "qui a consulté"):
            assert promise not in text, (language, promise)
    if "auth.register" in app.view_functions:
        assert 'href="/register"' in page and 'href="/login"' in page
    assert "portfolio.dashboard" not in page and 'href="/dashboard"' not in page  # no member nav


def test_pages_have_no_inline_styles_or_scripts(client):
    """The CSP allows 'self' only: no style attribute, no inline <script>, nothing from elsewhere."""
    for path in ("/", "/does-not-exist"):
        page = html(client.get(path))
        assert " style=" not in page
        assert not re.search(r"<script(?![^>]*\bsrc=)", page)
        assert not re.search(r'(?:src|href)="(?:https?:)?//', page)


def test_french_is_chosen_from_the_browser(client):
    page = html(client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}))
    assert '<html lang="fr">' in page
    assert "Aller au contenu" in page
    assert "Votre parcours, à vous pour la vie" in page
    assert "Skip to content" not in page


def test_english_is_chosen_from_the_browser(client):
    page = html(client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert '<html lang="en">' in page and "Your path, yours for life" in page


def test_french_is_the_default_language(client):
    page = html(client.get("/", headers={"Accept-Language": "de"}))
    assert '<html lang="fr">' in page and "Aller au contenu" in page


# --- Static files -----------------------------------------------------------------------------------

def test_stylesheet_is_served(client):
    response = client.get("/static/sillage.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert b"--color-primary" in response.data
    response.close()


def test_favicon_is_served(client):
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    response.close()


def test_stylesheet_defines_every_contract_class():
    css = CSS.read_text()
    missing = [name for name in CONTRACT_CLASSES if not re.search(rf"\.{re.escape(name)}(?![\w-])", css)]
    assert not missing, f"classes promised to templates but not styled: {missing}"


def test_every_class_used_by_a_template_is_styled():
    """Templates use the shared vocabulary only: a class missing from the stylesheet is a typo or a gap.

    Classes built by Jinja (``tag-{{ kind }}``) are left out; their prefixes are checked above.
    """
    css = re.sub(r"/\*.*?\*/", "", CSS.read_text(), flags=re.S)
    defined = set(re.findall(r"\.([A-Za-z][\w-]*)", css))
    unknown = {}
    for template in (ROOT / "app").rglob("*.html"):
        text = template.read_text()
        # A standalone print document (the activation letters) carries its own stylesheet.
        own = set(re.findall(r"\.([A-Za-z][\w-]*)", " ".join(re.findall(r"<style>(.*?)</style>", text, re.S))))
        for value in re.findall(r'class="([^"]*)"', text):
            for name in re.sub(r"{{.*?}}|{%.*?%}", " ", value).split():
                if not name.endswith("-") and name not in defined | own:
                    unknown.setdefault(name, []).append(str(template.relative_to(ROOT)))
    assert not unknown, f"classes used but not styled in sillage.css: {unknown}"


def test_stylesheet_loads_nothing_from_elsewhere():
    css = CSS.read_text()
    assert "@import" not in css and "url(" not in css


def test_stylesheet_respects_reduced_motion_and_print():
    css = CSS.read_text()
    assert "@media (prefers-reduced-motion: reduce)" in css
    assert "@media print" in css and ":focus-visible" in css


@pytest.mark.parametrize("fg,bg", TEXT_PAIRS)
def test_text_colours_reach_aa_contrast(fg, bg):
    tokens = css_tokens()
    ratio = contrast(tokens[fg], tokens[bg])
    assert ratio >= 4.5, f"--{fg} on --{bg}: {ratio:.2f}:1"


@pytest.mark.parametrize("fg,bg", UI_PAIRS)
def test_controls_reach_non_text_contrast(fg, bg):
    tokens = css_tokens()
    assert contrast(tokens[fg], tokens[bg]) >= 3


# --- Error page -------------------------------------------------------------------------------------

def test_error_page_uses_the_layout(client):
    response = client.get("/does-not-exist", headers={"Accept-Language": "en"})
    page = html(response)
    assert response.status_code == 404
    assert '<link rel="stylesheet" href="/static/sillage.css">' in page
    assert 'class="skip-link"' in page and '<main id="main"' in page
    assert "<title>Page not found · Sillage</title>" in page
    assert "Error 404" in page and 'href="/"' in page


def test_error_page_in_french(client):
    page = html(client.get("/does-not-exist", headers={"Accept-Language": "fr"}))
    assert "Page introuvable" in page and "Erreur 404" in page and "Retour à l’accueil" in page


# --- Signed in --------------------------------------------------------------------------------------

@pytest.fixture
def english_user(logged_in, user):
    """The signed-in client, with the account's language set to English (it outranks the browser's).

    The ``app`` fixture keeps one application context for the whole test, and Flask-Babel caches the
    locale on ``g``: ``refresh()`` forgets the one chosen while signing in.
    """
    from flask_babel import refresh

    from app.extensions import db

    user.locale = "en"
    db.session.commit()
    refresh()
    return logged_in


def test_signed_in_navigation_and_logout_form(english_user, app):
    page = html(english_user.get("/does-not-exist"))
    assert 'aria-label="Main menu"' in page
    if "auth.logout" in app.view_functions:
        form = re.search(r'<form class="logout-form" method="post" action="/logout">.*?</form>', page, re.S)
        assert form and 'name="csrf_token"' in form.group(0)
        assert '<button type="submit" class="link-button">Sign out</button>' in form.group(0)
    assert 'href="/register"' not in page


def test_current_page_is_marked(english_user, app):
    if "portfolio.dashboard" not in app.view_functions:
        pytest.skip("the portfolio blueprint is not installed")
    page = html(english_user.get("/dashboard"))
    assert re.search(r'<a href="/dashboard" aria-current="page">Dashboard</a>', page)
    assert 'aria-current="page">Timeline' not in page


def test_logout_button_signs_out(logged_in, app):
    if "auth.logout" not in app.view_functions:
        pytest.skip("the auth blueprint is not installed")
    page = logged_in.get("/does-not-exist")
    response = logged_in.post("/logout", data={"csrf_token": csrf_token(page)})
    assert response.status_code in (302, 303)
    assert 'class="logout-form"' not in html(logged_in.get("/does-not-exist"))


# --- Messages and form macros -----------------------------------------------------------------------

class SampleForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired()], description="As on your diploma.")
    agree = BooleanField("I agree")
    submit = SubmitField("Save")


PAGE = """{% extends "base.html" %}
{% from "macros/forms.html" import field, checkbox, submit, required_notice %}
{% block title %}Sample{% endblock %}
{% block content %}
<form class="form" method="post" novalidate>
  {{ form.csrf_token }}{{ required_notice() }}
  {{ field(form.name, autocomplete="name") }}{{ checkbox(form.agree) }}
  <div class="actions">{{ submit(form.submit) }}</div>
</form>
{% endblock %}"""


@pytest.fixture
def sample_page(app):
    """A throw-away page that flashes and renders a form through the shared macros."""
    def sample():
        form = SampleForm()
        form.validate_on_submit()
        flash("Saved.", "success")
        flash("Could not save.", "error")
        return render_template_string(PAGE, form=form)

    app.add_url_rule("/_ui-sample", "ui_sample", sample, methods=["GET", "POST"])
    return "/_ui-sample"


def test_flash_messages_are_announced(client, sample_page):
    page = html(client.get(sample_page))
    assert '<div class="flash flash-success" role="status">Saved.</div>' in page
    assert '<div class="flash flash-error" role="alert">Could not save.</div>' in page


def test_form_macros_label_hint_and_required(client, sample_page):
    page = html(client.get(sample_page, headers={"Accept-Language": "en"}))
    assert '<label for="name">Name<span class="required" aria-hidden="true">*</span></label>' in page
    assert '<p class="hint" id="name-hint">As on your diploma.</p>' in page
    assert re.search(r'<input aria-describedby="name-hint" autocomplete="name" id="name" name="name" required', page)
    assert '<input id="agree" name="agree" type="checkbox" value="y">' in page
    assert '<label for="agree">I agree</label>' in page
    assert 'class="button"' in page and "Fields marked with an asterisk (*) are required." in page
    assert "aria-invalid" not in page and "error-summary" not in page


def test_form_errors_are_announced_and_linked(client, sample_page):
    page = html(client.get(sample_page, headers={"Accept-Language": "en"}))
    response = client.post(sample_page, data={"name": "", "csrf_token": csrf_token(client.get(sample_page))},
                           headers={"Accept-Language": "en"})
    page = html(response)
    assert "<title>Error: Sample · Sillage</title>" in page
    assert '<div class="error-summary" role="alert"' in page
    assert '<a href="#name">Name: This field is required.</a>' in page
    assert '<div class="field field-invalid">' in page
    assert re.search(r'<input aria-describedby="name-hint name-error" aria-invalid="true"', page)
    assert '<p class="field-error" id="name-error">This field is required.</p>' in page


def test_kind_and_level_macros(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        out = render_template_string('{% from "macros/ui.html" import kind_tag, level_badge %}'
                                     '{{ kind_tag("sport", "Sport") }}{{ kind_tag("<x>", "?") }}'
                                     '{{ level_badge(3, "Mastered") }}')
    assert '<span class="tag tag-sport">Sport</span>' in out
    assert '<span class="tag tag-other">?</span>' in out
    assert '<span class="level level-3">Mastered<span class="visually-hidden"> (level 3 of 4)</span></span>' in out


# --- The French catalogue ---------------------------------------------------------------------------

def test_french_catalogue_is_complete_and_well_formed():
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="fr")
    placeholder = re.compile(r"%\(\w+\)[sd]")
    problems = []
    for message in catalog:
        if not message.id:
            continue
        msgids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        expected = sorted(set(placeholder.findall(msgids[0])))
        if not all(strings) or message.fuzzy:
            problems.append(f"untranslated: {msgids[0]!r}")
        elif any(sorted(set(placeholder.findall(string))) != expected for string in strings):
            problems.append(f"placeholders differ: {msgids[0]!r}")
    assert not problems, "\n".join(problems)


def test_a_lazy_message_with_data_is_escaped_in_pages(app):
    """``_l`` messages interpolating data (an organisation's name in the navigation) are escaped
    (app/extensions.py: Flask-Babel's LazyString would otherwise pass as safe markup)."""
    from flask import render_template_string
    from flask_babel import lazy_gettext

    with app.test_request_context():
        html = render_template_string("{{ label }}", label=lazy_gettext("Indicators: %(name)s", name="<b>Hugo</b>"))
    assert html.endswith(": &lt;b&gt;Hugo&lt;/b&gt;") and "<b>" not in html
