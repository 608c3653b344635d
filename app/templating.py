"""Template helpers: safe Markdown, dates in the reader's language and time zone, and fast i18n and URLs.

A page such as the timeline calls ``_()`` some forty times, formats a dozen dates and builds fifty URLs.
Done the stock way each of these costs tens of microseconds (Flask-Babel looks up the locale and the
catalogue through several context-local proxies on every call; ``url_for`` walks the URL map), which
made them more than half of the page's time. The helpers here give the same strings, cheaper:

- ``translations()``: the catalogue is looked up once per request and locale, then reused (a change of
  locale in the request, by ``flask_babel.refresh`` or ``force_locale``, is seen at once);
- ``url_for`` in templates: a page's links (the same on every page) are built once per process, and
  the URL of an item (one UUID argument) is the item's id spliced into a pattern built once;
- the ``date`` and ``month`` filters remember what they formatted for each locale.
"""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from urllib.parse import urlsplit

import markdown as md
import nh3
from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask_babel import Domain, format_date, format_datetime, get_locale, get_translations
from jinja2 import pass_context
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

# Headings are allowed from ``top`` down only (see below), so raw HTML cannot add a higher one either.
ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "blockquote", "code", "pre", "hr"}
# Markdown headings sit below the page's own: a page has its <h1> (the item's title) and its <h2>
# sections, so by default ``#`` becomes <h3>, ``##`` <h4>, and ``####`` or deeper <h6>. A template
# whose Markdown sits directly under a section heading of another level passes ``top`` to the filter.
HEADING_TOP = 3
LINK_SCHEMES = {"http", "https", "mailto"}
_LINK_REL = "nofollow noopener noreferrer"
# What nh3 leaves of a link whose address it refused: the anchor with our ``rel`` and nothing else.
_BARE_ANCHOR = re.compile(r'<a rel="%s">(.*?)</a>' % _LINK_REL, re.S)


class _ShiftHeadings(Treeprocessor):
    def __init__(self, md_instance, top: int):
        super().__init__(md_instance)
        self.top = top

    def run(self, root):
        for element in root.iter():
            if len(element.tag) == 2 and element.tag[0] == "h" and element.tag[1] in "123456":
                element.tag = f"h{min(int(element.tag[1]) + self.top - 1, 6)}"


def _safe_href(element: str, attribute: str, value: str):
    """nh3's attribute filter: a link keeps its address only if it is absolute http(s) with a host, or
    mailto. Anything else (javascript:, data:, vbscript:, relative or protocol-relative addresses,
    whatever the case, entities or blanks) loses it, and its anchor is then dropped."""
    if element != "a" or attribute != "href":
        return value
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    if scheme in {"http", "https"} and parts.netloc and value.strip() == value:
        return value
    if scheme == "mailto" and parts.path:
        return value
    return None


def render_markdown(text: str | None, top: int = HEADING_TOP) -> Markup:
    """Markdown to HTML, then sanitised by nh3 (raw HTML in the source never survives).

    Headings are kept, shifted so that ``#`` is ``<h{top}>``. A link to an address that is not
    absolute http(s) or mailto becomes its plain text: no anchor is left that looks clickable.
    """
    if not text:
        return Markup("")
    top = max(1, min(top, 6))
    renderer = md.Markdown(extensions=["sane_lists"], output_format="html")
    renderer.treeprocessors.register(_ShiftHeadings(renderer, top), "sillage_headings", 1)
    headings = {f"h{level}" for level in range(top, 7)}
    html = nh3.clean(renderer.convert(text), tags=ALLOWED_TAGS | headings, attributes={"a": {"href"}, "*": set()},
                     attribute_filter=_safe_href, url_schemes=LINK_SCHEMES, link_rel=_LINK_REL)
    return Markup(_BARE_ANCHOR.sub(r"\1", html))


# --- translations ----------------------------------------------------------------------------------

_CACHE_KEY = "sillage_translations"


def _remembered(lookup, domain: Domain | None = None):
    """``lookup()`` (the catalogue of the current locale and domain), remembered in Flask-Babel's own
    per-request namespace next to the locale and domain it was found for.

    It is reused only while both are the very same objects, so ``refresh()``, ``force_locale()`` and
    ``Domain.as_default()`` are honoured; ``domain`` (a caller that is itself a domain) must be the
    request's domain too. Should Flask-Babel keep these differently one day, nothing is remembered:
    the same strings, at the stock speed.
    """
    if not has_app_context():
        return lookup()
    state = getattr(g, "_flask_babel", None)
    if state is not None:
        seen = state.__dict__
        cached = seen.get(_CACHE_KEY)
        if (cached is not None and cached[0] is seen.get("babel_locale")
                and cached[1] is seen.get("babel_domain") and (domain is None or domain is cached[1])):
            return cached[2]
    found = lookup()
    state = getattr(g, "_flask_babel", None)
    if state is not None:
        locale, current = state.__dict__.get("babel_locale"), state.__dict__.get("babel_domain")
        if locale is not None and current is not None and (domain is None or domain is current):
            state.__dict__[_CACHE_KEY] = (locale, current, found)
    return found


def translations():
    """The request's gettext catalogue (``flask_babel.get_translations()``, looked up once)."""
    return _remembered(get_translations)


class RequestCachedDomain(Domain):
    """Flask-Babel's default domain, whose catalogue is looked up once per request and locale.

    Installed as the application's domain, it makes ``gettext``, ``lazy_gettext`` strings (labels,
    form field names) and ``_()`` in templates all take the fast path.
    """

    def get_translations(self):
        return _remembered(super().get_translations, self)


@pass_context
def _gettext(context, string, **variables):
    """Jinja's "newstyle" gettext (``jinja2.ext``): translated, marked safe when autoescaping, and
    always %-formatted (so ``%%`` is ``%`` with or without variables)."""
    rv = translations().ugettext(string)
    if context.eval_ctx.autoescape:
        rv = Markup(rv)
    return rv % variables


@pass_context
def _ngettext(context, singular, plural, num, **variables):
    variables.setdefault("num", num)
    rv = translations().ungettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        rv = Markup(rv)
    return rv % variables


@pass_context
def _pgettext(context, msgctxt, string, **variables):
    rv = translations().upgettext(msgctxt, string)
    if context.eval_ctx.autoescape:
        rv = Markup(rv)
    return rv % variables


@pass_context
def _npgettext(context, msgctxt, singular, plural, num, **variables):
    variables.setdefault("num", num)
    rv = translations().unpgettext(msgctxt, singular, plural, num)
    if context.eval_ctx.autoescape:
        rv = Markup(rv)
    return rv % variables


# --- dates -----------------------------------------------------------------------------------------

_FORMATTED: dict[tuple, str] = {}  # (date, format, locale) -> text; a date's text needs no time zone
_FORMATTED_MAX = 20_000


def _format_day(value: date, style: str) -> str:
    if isinstance(value, datetime):  # shown in the reader's time zone: not remembered
        return format_date(value, style)
    key = (value, style, get_locale())
    text = _FORMATTED.get(key)
    if text is None:
        if len(_FORMATTED) >= _FORMATTED_MAX:
            _FORMATTED.clear()
        text = _FORMATTED[key] = format_date(value, style)
    return text


def fmt_date(value: date | None, style: str = "medium") -> str:
    return _format_day(value, style) if value else ""


def fmt_month(value: date | None) -> str:
    return _format_day(value, "MMMM y") if value else ""


def fmt_datetime(value: datetime | None, style: str = "medium") -> str:
    return format_datetime(value, style) if value else ""


# --- URLs ------------------------------------------------------------------------------------------

_URLS = "sillage.urls"  # app.extensions key of the URL memo: (root path, endpoint, arguments) -> URL
_URLS_MAX = 5_000  # distinct URLs remembered per process before starting afresh
_SENTINEL = uuid.uuid4()  # stands for "the item's id" in a URL pattern; random, so no route default equals it
_NO_PATTERN = (None, None)


def _memo(app: Flask) -> dict | None:
    """The application's URL memo, or None when a URL may depend on more than its arguments and the
    script root: ``url_defaults`` callbacks, a ``SERVER_NAME`` or subdomain/host matching (then a
    URL can depend on the request's host)."""
    if (any(app.url_default_functions.values()) or app.config.get("SERVER_NAME") or app.subdomain_matching
            or app.url_map.host_matching):
        return None
    memo = app.extensions.get(_URLS)
    if memo is None or len(memo) > _URLS_MAX:
        memo = app.extensions[_URLS] = {}
    return memo


def fast_url_for(endpoint: str, **values) -> str:
    """``url_for`` for templates, with the same results.

    In a request, a URL without ``_external`` or ``_scheme`` is relative and depends only on the
    script root, the endpoint (and the blueprint, for ``.name``) and the arguments: each is built once
    per process and then read from a memo. The URL of an item (one UUID argument) is the id spliced
    into a pattern built once per endpoint. Anything else is plain ``url_for``.
    """
    app = current_app._get_current_object()
    if not has_request_context() or "_external" in values or "_scheme" in values:
        return app.url_for(endpoint, **values)
    memo = _memo(app)
    if memo is None:
        return app.url_for(endpoint, **values)
    scope = (request.root_path, request.blueprint if endpoint[:1] == "." else None, endpoint)
    if len(values) == 1:
        (name, value), = values.items()
        if type(value) is uuid.UUID:
            prefix, suffix = memo.get((*scope, name)) or _pattern(app, memo, scope, name)
            if prefix is not None:
                return prefix + str(value) + suffix
            return app.url_for(endpoint, **values)
    try:  # with the types: 1, 1.0 and True are equal keys but not the same URL
        key = (*scope, *((name, type(value), value) for name, value in values.items()))
        url = memo.get(key)
    except TypeError:  # an unhashable argument: nothing to remember
        return app.url_for(endpoint, **values)
    if url is None:
        url = memo[key] = app.url_for(endpoint, **values)
    return url


def _pattern(app: Flask, memo: dict, scope: tuple, name: str) -> tuple[str | None, str | None]:
    """Split the URL built for the sentinel id around it (or note that the route does not allow it)."""
    url = app.url_for(scope[2], **{name: _SENTINEL})
    marker = str(_SENTINEL)
    memo[(*scope, name)] = pattern = tuple(url.split(marker)) if url.count(marker) == 1 else _NO_PATTERN
    return pattern


def has_endpoint(name: str) -> bool:
    """Whether a view exists, so shared templates can link to features only where they are installed."""
    return name in current_app.view_functions


def register(app: Flask) -> None:
    app.jinja_env.filters.update(markdown=render_markdown, date=fmt_date, month=fmt_month,
                                 datetime=fmt_datetime)
    app.jinja_env.globals.update(get_locale=get_locale, has_endpoint=has_endpoint, url_for=fast_url_for)
    from app import navigation  # the signed-in menu (base.html)
    app.jinja_env.globals.update(navigation=navigation.menu, nav_current=navigation.current,
                                 nav_group_is_current=navigation.group_is_current)
    babel = app.extensions["babel"].instance
    babel.domain_instance = RequestCachedDomain(domain=app.extensions["babel"].default_domain)
    # In place of the callables Flask-Babel installed with jinja2.ext.i18n (``newstyle_gettext`` stays
    # on); ``_`` is gettext itself rather than Jinja's alias, which looks gettext up on every call.
    app.jinja_env.globals.update(gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext,
                                 npgettext=_npgettext, _=_gettext)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
