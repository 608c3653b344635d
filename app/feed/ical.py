"""iCalendar (RFC 5545) for events: one event, or a person's feed as a calendar to subscribe to.

Written by hand rather than with a library because the rules that matter are few and exact, and each
is tested: lines end with CRLF (3.1); a content line longer than 75 octets is folded by inserting CRLF
followed by one space, never inside a UTF-8 sequence (3.1); TEXT values escape backslash, semicolon,
comma and newline (3.3.11); every VEVENT has a UID that never changes (the event's id), a DTSTAMP in
UTC — with no METHOD in the calendar, 3.8.7.2 makes it the time the event was last revised, so it is
``updated_at``, not the download's time — and a DTSTART (3.6.1: required when there is no METHOD); times are written in UTC
(``YYYYMMDDTHHMMSSZ``, 3.3.5 form 2) so that no VTIMEZONE is needed. A change raises ``SEQUENCE``
and a withdrawn event is sent as ``STATUS:CANCELLED`` (5.2.2 of RFC 5546's spirit: calendars that
imported it learn it is off rather than keeping a ghost): subscribed calendars keep receiving it so for
``feed.CANCELLED_KEPT`` (``feed.calendar_events``), and its publisher's own ``.ics`` says so too. An offer
without any date has no DTSTART to give and is left out of calendars (it stays in the Atom feed).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from app.models.feed import WITHDRAWN, Event

PRODID = "-//Sillage//S'informer//EN"


def escape_text(value: str) -> str:
    """TEXT escaping (RFC 5545 3.3.11): ``\\`` ``;`` ``,`` and line breaks (CRLF, CR or LF → ``\\n``)."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold one content line at 75 octets (3.1), continuation lines starting with a space; a multi-octet
    UTF-8 character is never split."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts, current, size, limit = [], [], 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, 74  # the leading space counts in the next line's 75
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)


def utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _vevent(event: Event, url: str, domain: str) -> list[str]:
    start = event.starts_at or event.ends_at
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event.id}@{domain}",
        f"DTSTAMP:{utc(event.updated_at)}",
        f"DTSTART:{utc(start)}",
    ]
    if event.ends_at is not None and event.starts_at is not None and event.ends_at > event.starts_at:
        lines.append(f"DTEND:{utc(event.ends_at)}")
    lines += [
        f"SUMMARY:{escape_text(event.title)}",
        f"SEQUENCE:{event.sequence}",
        f"CREATED:{utc(event.created_at)}",
        f"LAST-MODIFIED:{utc(event.updated_at)}",
        "STATUS:CANCELLED" if event.status == WITHDRAWN else "STATUS:CONFIRMED",
        "CLASS:PUBLIC",
        "TRANSP:TRANSPARENT",
    ]
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.place:
        lines.append(f"LOCATION:{escape_text(event.place)}")
    lines.append(f"URL:{event.link or url}")  # a URI value: not TEXT-escaped
    if event.kind == "offer":
        lines.append("CATEGORIES:OFFER")
    lines.append("END:VEVENT")
    return lines


def calendar(events: Iterable[Event], *, url_of, domain: str, name: str | None = None) -> bytes:
    """A VCALENDAR holding ``events`` (those with a date), UTF-8 with CRLF line ends. ``url_of(event)``
    gives the event's page on this site."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    if name:
        lines.append(f"X-WR-CALNAME:{escape_text(name)}")
    for event in events:
        if event.starts_at or event.ends_at:
            lines += _vevent(event, url_of(event), domain)
    lines.append("END:VCALENDAR")
    return ("".join(fold(line) + "\r\n" for line in lines)).encode("utf-8")
