"""Which language a response speaks, and the visitor's language switch.

The order, first match wins:

- **JSON API** (``/api/…``): the request's ``Accept-Language`` when it names a language Sillage
  speaks (a program states what it wants on each call); then the token owner's saved preference;
  then the instance default. The ``?lang=`` parameter and the cookie play no part there.
- **Pages**: the signed-in person's saved preference (Settings → Language), which always wins: the
  switch in the header is for visitors, and a signed-in person changes language in the settings; then
  ``?lang=fr|en`` on this request (which also sets the cookie, for a year); then the ``sillage_lang``
  cookie; then the browser's ``Accept-Language``; then the instance default.
- Outside a request (CLI, jobs): the instance default, ``SILLAGE_DEFAULT_LANGUAGE`` (``fr`` unless set).

The cookie holds only ``fr`` or ``en``: no server-side session is opened for a visitor's choice. A
signed-in person without a saved preference is treated like a visitor, and registering saves the
language in use as the new account's preference.
"""
from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import Flask, current_app, has_request_context, request
from flask_login import current_user

COOKIE = "sillage_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
API_PREFIX = "/api/"


def languages() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def _known(value) -> str | None:
    return value if isinstance(value, str) and value in languages() else None


def _preference() -> str | None:
    return _known(current_user.locale) if getattr(current_user, "is_authenticated", False) else None


def _browser() -> str | None:
    return request.accept_languages.best_match(languages())


def requested() -> str | None:
    """A valid ``?lang=`` on this page request (None for the API, or when absent or unknown)."""
    if request.path.startswith(API_PREFIX):
        return None
    return _known(request.args.get("lang"))


def select_locale() -> str:
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return default
    if request.path.startswith(API_PREFIX):
        return _browser() or _preference() or default
    return (_preference() or requested() or _known(request.cookies.get(COOKIE)) or _browser()
            or default)


def switch_url(language: str) -> str:
    """The current page in ``language``: the same path and query, with ``lang`` replaced."""
    args = request.args.copy()
    args["lang"] = language
    # Quoted: a path such as ``/\\evil.example`` must stay a path on this site, never read as ``//host``.
    return request.script_root + quote(request.path) + "?" + urlencode(list(args.items(multi=True)))


def init_app(app: Flask) -> None:
    default = app.config["BABEL_DEFAULT_LOCALE"]
    if default not in app.config["LANGUAGES"]:
        raise RuntimeError(f"SILLAGE_DEFAULT_LANGUAGE must be one of {', '.join(app.config['LANGUAGES'])}, "
                           f"not {default!r}")

    @app.after_request
    def remember_choice(response):
        """``?lang=`` remembered in a cookie; every localised answer varies by what chose its language."""
        if request.endpoint == "static":
            return response
        chosen = requested()
        if chosen and request.cookies.get(COOKIE) != chosen:
            response.set_cookie(COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                                secure=app.config["SESSION_COOKIE_SECURE"])
        response.vary.add("Accept-Language")
        if not request.path.startswith(API_PREFIX):
            response.vary.add("Cookie")
        return response

    app.jinja_env.globals.update(language_switch_url=switch_url)
