"""What a new user meets first (issue 6 §5): one word per idea, language choice, Markdown, limits,
the landing page, the API reference page and an installable package."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.extensions import db

from tests.test_ui import english_user  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "app" / "translations" / "fr" / "LC_MESSAGES" / "messages.po"


def _source_messages() -> set[str]:
    """Every msgid the application's code and templates use, found as ``pybabel extract`` finds them."""
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2")]
    options = {"**/templates/**.html": {"trim_blocks": "True", "lstrip_blocks": "True"},
               "**/templates/**.txt": {"trim_blocks": "True", "lstrip_blocks": "True"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
                "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3)}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / "app"), method_map, options, keywords=keywords):
        found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


# --- one word per idea -----------------------------------------------------------------------------

def test_one_word_per_idea_in_english_and_french():
    """"Sign in" / "Sign out" and "Dashboard" everywhere: never "Log in", "Log out" or "Overview"."""
    used = _source_messages()
    assert {"Sign in", "Sign out", "Dashboard"} <= used
    english = [m for m in used if re.search(r"\blog(ged)? ?(in|out)\b|\blogin\b|\boverview\b", m, re.I)]
    assert not english, english
    with PO.open("rb") as fh:
        catalogue = {m.id: m.string for m in read_po(fh, locale="fr") if m.id in used}
    assert catalogue["Sign in"] == "Se connecter" and catalogue["Sign out"] == "Se déconnecter"
    assert catalogue["Dashboard"] == "Tableau de bord"
    french = [s for s in catalogue.values()
              if re.search(r"vue d.ensemble|s.identifier|ouvrir une session|fermer .*session", s or "", re.I)]
    assert not french, french


def test_pages_use_the_chosen_words(app, english_user):
    visitor = app.test_client().get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert ">Sign in</a>" in visitor and "Log in" not in visitor
    dashboard = english_user.get("/dashboard").get_data(as_text=True)
    assert "<title>Dashboard · Sillage</title>" in dashboard and "Overview" not in dashboard
    assert ">Sign out</button>" in dashboard and "Log out" not in dashboard


# --- limits the person can see ---------------------------------------------------------------------

def test_title_limit_is_shown_and_a_longer_title_refused_with_a_message(app, english_user, user):
    page = english_user.get("/experiences/new").get_data(as_text=True)
    title = re.search(r'<input[^>]*name="title"[^>]*>', page).group(0)
    assert "maxlength" not in title  # the browser would cut a long paste without a word
    hint_id = re.search(r'aria-describedby="([^"]*)"', title).group(1).split()[0]
    assert re.search(rf'<p class="hint" id="{hint_id}">At most 200 characters.</p>', page)

    response = english_user.post("/experiences/new", data={
        "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1),
        "kind": "job", "title": "x" * 201, "start_date": "2024-01-01"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Title: At most 200 characters." in body  # in the error summary, linked to the field
    assert 'value="' + "x" * 201 + '"' in body  # nothing cut: the person can shorten it


def test_website_hint_and_rule_agree_in_the_form_the_service_and_the_api(app, english_user, user):
    from tests.test_api import api_for

    page = english_user.get("/profile").get_data(as_text=True)
    assert "A web address starting with https:// or http://." in page
    assert "starting with https://</p>" not in page
    english_user.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    api = api_for(english_user, user)
    for accepted in ("http://asso.example/", "https://me.example/"):
        assert api.patch("/profile", json={"website": accepted}).status_code == 200
    refused = api.patch("/profile", json={"website": "ftp://files.example/"})
    assert refused.status_code == 422
    assert refused.get_json()["fields"]["website"] == "Must be a web address starting with https:// or http://."
    description = app.test_client().get("/api/v1/openapi.json").get_json()[
        "components"]["schemas"]["Profile"]["properties"]["website"]["description"]
    assert "https:// or http://" in description


# --- Markdown --------------------------------------------------------------------------------------

def test_markdown_headings_are_kept_below_the_page_headings():
    from app.templating import render_markdown

    html = str(render_markdown("# Goals\n\ntext\n\n## Steps\n\n### Detail\n\n#### Deeper\n\n###### Deepest"))
    assert html.startswith("<h3>Goals</h3>")
    assert "<h4>Steps</h4>" in html and "<h5>Detail</h5>" in html
    assert "<h6>Deeper</h6>" in html and "<h6>Deepest</h6>" in html
    assert "<h1" not in html and "<h2" not in html
    assert str(render_markdown("# Top", top=2)) == "<h2>Top</h2>"
    assert str(render_markdown("<h1>raw</h1><h2>raw</h2>\n\n# md")).count("<h") == 1  # raw HTML does not count


NASTY_LINKS = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "javascript&#58;alert(1)",
    "java&#x73;cript:alert(1)", "jav\tascript:alert(1)", "&#106;avascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "DATA:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)", "VBScript:msgbox(1)", "file:///etc/passwd", "/settings/delete", "//evil.example/x",
    "javascript://%0aalert(1)", "https:evil.example",
]


@pytest.mark.parametrize("href", NASTY_LINKS)
def test_markdown_unsafe_links_become_plain_text(href):
    from app.templating import render_markdown

    for source in (f"[click **me**]({href})", f'[click **me**]({href} "title")', f"[[click **me**]({href})](x)",
                   f"<a href=\"{href}\">click **me**</a>"):
        html = str(render_markdown(source))
        assert "<a" not in html, (source, html)
        assert "click" in html  # the words stay, as text
        assert not re.search(r"(?i)<[^>]*(javascript|vbscript|data:|href|title)", html), (source, html)


def test_markdown_keeps_safe_links_and_nests_inside_them():
    from app.templating import render_markdown

    html = str(render_markdown("[see *this*](https://example.org/a?b=1&c=2) and <mailto:me@example.org> "
                               "and [![img](https://example.org/i.png)](https://example.org/)"))
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noopener noreferrer">see <em>this</em></a>' in html
    assert 'href="mailto:me@example.org"' in html
    assert "<img" not in html  # images are not allowed


def test_item_page_renders_markdown_headings_and_drops_unsafe_anchors(english_user):
    page = english_user.get("/journal/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    created = english_user.post("/journal/new", data={
        "csrf_token": token, "title": "Plans", "body": "# Next year\n\n[trap](javascript:alert(1)) ok"})
    assert created.status_code == 302
    html = english_user.get(created.headers["Location"]).get_data(as_text=True)
    assert "<h3>Next year</h3>" in html
    article = re.search(r"<article.*?</article>", html, re.S).group(0)
    assert "trap ok" in article and "<a" not in article.split("<h3>")[1]


# --- language --------------------------------------------------------------------------------------

def _lang(page) -> str:
    return re.search(r'<html lang="(\w+)">', page.get_data(as_text=True)).group(1)


def test_visitor_chooses_a_language_that_a_cookie_remembers(app):
    from app.i18n import COOKIE

    visitor = app.test_client()
    french = visitor.get("/login", headers={"Accept-Language": "fr"})
    assert _lang(french) == "fr" and "Accept-Language" in french.headers["Vary"]
    # The switch in the header: the same page in the other language.
    switch = re.search(r'<a href="([^"]+)" lang="en" hreflang="en">English</a>', french.get_data(as_text=True))
    assert switch and switch.group(1) == "/login?lang=en"
    assert '<span lang="fr" aria-current="true">Français</span>' in french.get_data(as_text=True)

    english = visitor.get(switch.group(1), headers={"Accept-Language": "fr"})
    assert _lang(english) == "en" and ">Sign in</a>" in english.get_data(as_text=True)
    cookie = visitor.get_cookie(COOKIE)
    assert cookie is not None and cookie.value == "en" and cookie.http_only and cookie.same_site == "Lax"
    # Remembered without the parameter, over the browser's own preference, and no session is needed.
    later = visitor.get("/register?next=%2F", headers={"Accept-Language": "fr"})
    assert _lang(later) == "en"
    assert "/register?next=%2F&amp;lang=fr" in later.get_data(as_text=True)  # other arguments kept

    for unknown in ("de", "", "en;q=1", "../fr"):
        other = app.test_client()
        page = other.get(f"/?lang={unknown}", headers={"Accept-Language": "fr"})
        assert _lang(page) == "fr" and other.get_cookie(COOKIE) is None


def test_signed_in_preference_wins_over_parameter_and_cookie(app, logged_in, user):
    from app.i18n import COOKIE

    user.locale = "fr"
    db.session.commit()
    logged_in.set_cookie(COOKIE, "en")
    page = logged_in.get("/dashboard?lang=en", headers={"Accept-Language": "en"})
    assert _lang(page) == "fr"
    assert "hreflang" not in page.get_data(as_text=True)  # signed in: the settings page, not the switch
    user.locale = None  # no saved preference: like a visitor
    db.session.commit()
    assert _lang(logged_in.get("/dashboard", headers={"Accept-Language": "fr"})) == "en"


def test_instance_default_language(app_settings, tmp_path):
    from app import create_app
    from app.config import load
    from tests.conftest import FreshClient

    secrets = {"SILLAGE_INSTANCE_PATH": str(tmp_path), "SILLAGE_SECRET_KEY": "s", "SILLAGE_MASTER_KEY": "m" * 32}
    assert load(env=secrets)["BABEL_DEFAULT_LOCALE"] == "fr"
    assert load(env={**secrets, "SILLAGE_DEFAULT_LANGUAGE": "en"})["BABEL_DEFAULT_LOCALE"] == "en"
    english = create_app({**app_settings, "BABEL_DEFAULT_LOCALE": "en"})
    english.test_client_class = FreshClient
    with english.app_context():
        assert _lang(english.test_client().get("/")) == "en"  # no Accept-Language
        assert _lang(english.test_client().get("/", headers={"Accept-Language": "de"})) == "en"
        assert _lang(english.test_client().get("/", headers={"Accept-Language": "fr"})) == "fr"
        db.engine.dispose()
    with pytest.raises(RuntimeError, match="SILLAGE_DEFAULT_LANGUAGE"):
        create_app({**app_settings, "BABEL_DEFAULT_LOCALE": "de"})


def test_api_errors_follow_accept_language(app, client, user):
    from tests.test_api import api_for

    user.locale = "fr"
    db.session.commit()
    anonymous = client.get("/api/v1/profile", headers={"Accept-Language": "en"})
    assert anonymous.status_code == 401 and anonymous.get_json()["message"].startswith("A valid API token")
    assert "valide" in client.get("/api/v1/profile", headers={"Accept-Language": "fr"}).get_json()["message"]

    api = api_for(client, user)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    refused = api.patch("/profile", json={"website": "ftp://x.example/"})
    assert refused.get_json()["fields"]["website"].startswith("Must be a web address")
    del client.environ_base["HTTP_ACCEPT_LANGUAGE"]  # none sent: the token owner's language
    refused = api.patch("/profile", json={"website": "ftp://x.example/"})
    assert not refused.get_json()["fields"]["website"].startswith("Must be")
    # ?lang= is for pages: the API ignores it.
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert api.patch("/profile?lang=fr", json={"website": "ftp://x.example/"}).get_json()[
        "fields"]["website"].startswith("Must be")


# --- the API reference page ------------------------------------------------------------------------

def test_api_reference_page_uses_only_local_assets_allowed_by_the_csp(app, client):
    from app.api.docs import DIST, swagger_ui_version

    page = client.get("/api/v1/docs", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "<h1>API reference</h1>" in page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe" not in csp
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html)  # nothing from another origin
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script for the CSP to refuse
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    assert "Set-Cookie" not in page.headers  # under /api/: no session
    for url in re.findall(r'(?:src|href)="(/[^"]+)"', html):
        if url.startswith("/api/v1/openapi.json"):
            continue
        asset = client.get(url)
        assert asset.status_code == 200, url
        if "/docs/assets/" in url:
            assert asset.data == (DIST / url.rsplit("/", 1)[1]).read_bytes()  # the package's bytes
    assert swagger_ui_version().startswith("v5.")
    # Only the files the page needs; nothing else from the package's folder, no way out of it.
    for name in ("index.css", "oauth2-redirect.html", "..%2F__init__.py", "LICENSE"):
        assert client.get(f"/api/v1/docs/assets/{name}").status_code == 404


def test_api_reference_is_linked_from_the_footer_and_the_tokens_page(app, logged_in):
    assert 'href="/api/v1/docs"' in app.test_client().get("/").get_data(as_text=True)
    assert 'href="/api/v1/docs"' in logged_in.get("/settings/tokens").get_data(as_text=True)
