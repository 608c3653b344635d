"""Template helpers: safe Markdown, dates in the reader's language and time zone."""
from __future__ import annotations

from datetime import date, datetime

import markdown as md
import nh3
from flask import Flask, current_app
from flask_babel import format_date, format_datetime, get_locale
from markupsafe import Markup

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "blockquote", "code", "pre", "h3", "h4", "hr"}


def render_markdown(text: str | None) -> Markup:
    """Markdown to HTML, then sanitised by nh3 (raw HTML in the source never survives)."""
    if not text:
        return Markup("")
    html = md.markdown(text, extensions=["sane_lists"], output_format="html")
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                            url_schemes={"http", "https", "mailto"}, link_rel="nofollow noopener noreferrer"))


def fmt_date(value: date | None, style: str = "medium") -> str:
    return format_date(value, style) if value else ""


def fmt_month(value: date | None) -> str:
    return format_date(value, "MMMM y") if value else ""


def fmt_datetime(value: datetime | None, style: str = "medium") -> str:
    return format_datetime(value, style) if value else ""


def has_endpoint(name: str) -> bool:
    """Whether a view exists, so shared templates can link to features only where they are installed."""
    return name in current_app.view_functions


def register(app: Flask) -> None:
    app.jinja_env.filters.update(markdown=render_markdown, date=fmt_date, month=fmt_month, datetime=fmt_datetime)
    app.jinja_env.globals.update(get_locale=get_locale, has_endpoint=has_endpoint)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
