"""What the verification page needs besides the verifier's result: a safe badge image, dates in the
reader's language and time zone, and small text filters for the shared result templates."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import NamedTuple
from urllib.parse import urlsplit

from flask import Blueprint, current_app
from flask_babel import format_date, format_time, get_timezone

from badges import images
from badges.summary import verdict as summary_verdict


def badge_image(result: dict, uploaded: bytes | None = None) -> str | None:
    """A safe ``data:`` URI for the credential's image, else for the uploaded baked image; None
    draws the placeholder. A remote image is fetched through the SSRF guard, briefly and size-capped."""
    credential = result.get("credential") or {}
    if not credential:
        return None
    is_image = bool(uploaded) and (uploaded.startswith(b"\x89PNG") or uploaded.lstrip()[:1] == b"<")
    return images.display_image(credential.get("image"), fallback=uploaded if is_image else None,
                                allow_loopback=bool(current_app.config.get("VERIFY_ALLOW_LOOPBACK")))


def with_verdict(result: dict, locale: str) -> dict:
    """The result with its verdict (the verifier adds it; a result kept from elsewhere may lack it)."""
    if "verdict" not in result:
        result = {**result, "verdict": summary_verdict(result, locale)}
    return result


class ShownDate(NamedTuple):
    text: str
    has_time: bool


def credential_date(value: str) -> ShownDate:
    """An ISO date or date-time from a credential, in words; unreadable text is shown as it is."""
    text = str(value or "")
    try:
        if len(text) <= 10:
            return ShownDate(format_date(date.fromisoformat(text), "long"), False)
        moment = datetime.fromisoformat(text.replace("z", "Z"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        zone = getattr(get_timezone(), "zone", None) or "UTC"
        return ShownDate(f"{format_date(moment, 'long')}, {format_time(moment, 'short')} ({zone})", True)
    except (ValueError, OverflowError):
        return ShownDate(text, False)


def url_host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def initials(name: str) -> str:
    """Up to two initials for the placeholder of a badge without a usable image."""
    words = [w for w in str(name or "").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def register(bp: Blueprint) -> None:
    bp.add_app_template_filter(credential_date, "credential_date")
    bp.add_app_template_filter(url_host, "url_host")
    bp.add_app_template_filter(initials, "initials")
