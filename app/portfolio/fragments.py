"""Rendered page parts kept in this process's memory, so that a page seen again is not rebuilt.

The timeline's content (everything but the layout) depends only on the portfolio's items, the filter,
the reader's language and time zone, and the application's mount point. ``Portfolio.revision`` counts
every change to the portfolio and its items in the same transaction as the change, so a key that
holds all of these never gives stale content: an edit makes a new key, which every worker sees on its
next request (the revision comes with the signed-in user, in a query each request makes anyway), and
the old entry is simply never asked for again, then pushed out by newer ones. This holds as long as
every write increases the revision: the ORM's flush does it for pages, API and CLI; a Core statement
that changes items must do it too. Only the owner sees their timeline today: a page that others may
see through a grant or a link must also put what that viewer may see into its key.

Nothing is shared between processes: each gunicorn worker fills its own cache. The size is bounded in
bytes (``FRAGMENT_CACHE_BYTES``, 0 turns caching off), the least recently used part going first.
"""
from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Hashable

from flask import Flask, current_app
from markupsafe import Markup

_EXTENSION = "sillage.fragments"


class FragmentCache:
    """A least-recently-used map of keys to HTML, bounded by the memory the HTML strings take.

    Thread-safe: gunicorn may run several threads per worker (``SILLAGE_THREADS``).
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[Hashable, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Markup | None:
        with self._lock:
            html = self._entries.get(key)
            if html is not None:
                self._entries.move_to_end(key)
            return html

    def put(self, key: Hashable, html: Markup) -> None:
        """Keep ``html`` under ``key``; a part larger than the whole budget is not kept."""
        cost = sys.getsizeof(html)
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= sys.getsizeof(old)
            self._entries[key] = html
            self.size += cost
            while self.size > self.max_bytes:
                _key, dropped = self._entries.popitem(last=False)
                self.size -= sys.getsizeof(dropped)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.size = 0


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = FragmentCache(int(app.config.get("FRAGMENT_CACHE_BYTES", 16 * 1024 * 1024)))


def cache() -> FragmentCache:
    return current_app.extensions[_EXTENSION]


def cached(key: Hashable, render) -> Markup:
    """The HTML kept under ``key``, or ``render()``'s, kept for next time."""
    store = cache()
    html = store.get(key)
    if html is None:
        html = Markup(render())
        store.put(key, html)
    return html
