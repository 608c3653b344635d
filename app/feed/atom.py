"""The person's feed as Atom (RFC 4287), for feed readers, which cannot sign in: the address holds a
private token (``app.services.feed.new_token``).

Built with ElementTree so that every text is XML-escaped; an entry's content is the description's
sanitised HTML (``render_markdown``: nh3 allowlist) as ``type="html"``, followed by the reasons the
entry is in this feed. Entry ids are ``urn:uuid:`` of the event (stable across edits, 4.2.6).
"""
from __future__ import annotations

from datetime import datetime, timezone
from xml.etree import ElementTree as ET

from markupsafe import escape

from app.services.feed import FeedItem
from app.templating import render_markdown

NS = "http://www.w3.org/2005/Atom"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent, tag: str, text: str | None = None, **attributes) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: v for k, v in attributes.items()})
    if text is not None:
        element.text = text
    return element


def document(items: list[FeedItem], *, feed_id: str, title: str, self_url: str, site_url: str,
             url_of, when_of, author: str, now: datetime | None = None) -> bytes:
    """``url_of(event)`` is the event's page; ``when_of(event)`` a line saying when and where."""
    # Atom declared as this document's default namespace on its root, with unqualified names inside:
    # ``ET.register_namespace("", …)`` would do it for the whole process, and ``tostring``'s
    # ``default_namespace`` refuses the unqualified attributes Atom uses (``rel``, ``href``).
    root = ET.Element("feed", {"xmlns": NS})
    _sub(root, "id", feed_id)
    _sub(root, "title", title)
    updated = max((item.event.updated_at for item in items), default=now or datetime.now(timezone.utc))
    _sub(root, "updated", _stamp(updated))
    _sub(root, "link", rel="self", type="application/atom+xml", href=self_url)
    _sub(root, "link", rel="alternate", type="text/html", href=site_url)
    _sub(_sub(root, "author"), "name", author)
    _sub(root, "generator", "Sillage")
    for item in items:
        event = item.event
        entry = _sub(root, "entry")
        _sub(entry, "id", f"urn:uuid:{event.id}")
        _sub(entry, "title", event.title)
        _sub(entry, "published", _stamp(event.published_at))
        _sub(entry, "updated", _stamp(event.updated_at))
        _sub(entry, "link", rel="alternate", type="text/html", href=url_of(event))
        if event.publisher_name:
            _sub(_sub(entry, "author"), "name", event.publisher_name)
        why = "".join(f"<li>{escape(reason.text())}</li>" for reason in item.reasons)
        html = f"<p>{escape(when_of(event))}</p>{render_markdown(event.description)}<ul>{why}</ul>"
        _sub(entry, "content", html, type="html")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
