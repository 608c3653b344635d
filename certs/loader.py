"""A static JSON-LD document loader: contexts come from the code, never from the network.

Why static: a verifier that fetches ``@context`` URLs lets whoever controls (or spoofs)
those URLs change what a signed credential means, and the same URL's content has
changed over time (the Open Badges context did). So every context is bundled as the
exact bytes published in an npm package, pinned by SHA-256 in a manifest, and checked
when the loader is built; a mismatch or an unknown URL is a hard error.

The loader also owns pyld's processed-context cache (see :meth:`StaticLoader.options`):
pyld only shares a resolved context between calls when the loader marks it
``"tag": "static"``, and keeping one cache per loader means two loaders that know
different URLs can never see each other's contexts.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pyld.context_resolver import ContextResolver

from .errors import ContextIntegrityError, UnknownDocumentError

CONTEXTS_DIR = Path(__file__).with_name("contexts")

# pyld keeps at most this many resolved contexts; a credential uses 2 to 5.
_CACHE_SIZE = 256
_SCOPED_CACHE_SIZE = 4096


class _LRU(OrderedDict):
    """The two methods pyld's ContextResolver uses, with least-recently-used eviction."""

    def __init__(self, maxsize: int):
        super().__init__()
        self.maxsize = maxsize

    def get(self, key, default=None):
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.move_to_end(key)
        if len(self) > self.maxsize:
            self.popitem(last=False)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(directory: str | Path) -> dict[str, dict]:
    """Load ``manifest.json`` from *directory* and return ``{url: document}``.

    Each entry names ``url``, ``file`` and ``sha256`` (plus ``package``/``path`` for
    provenance). Every file is hashed before it is parsed; any difference is refused.
    """
    directory = Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    documents: dict[str, dict] = {}
    for entry in manifest["contexts"]:
        raw = (directory / entry["file"]).read_bytes()
        if _sha256(raw) != entry["sha256"]:
            raise ContextIntegrityError(
                f"context file {entry['file']} for {entry['url']} does not match its pinned "
                f"sha256 {entry['sha256']}; refusing to load it"
            )
        if entry["url"] in documents:
            raise ContextIntegrityError(f"{entry['url']} is listed twice in {directory}")
        documents[entry["url"]] = json.loads(raw)
    return documents


class StaticLoader:
    """pyld ``documentLoader(url, options)`` serving a fixed set of documents.

    Instances are effectively immutable: :meth:`extend` returns a new loader, so the
    shared :func:`bundled` loader can never be widened by accident.
    """

    def __init__(self, documents: Mapping[str, Mapping[str, Any]]):
        self._documents: dict[str, dict] = {}
        for url, document in documents.items():
            if not isinstance(document, Mapping):
                raise ContextIntegrityError(f"document for {url} is not a JSON object")
            self._documents[url] = copy.deepcopy(dict(document))
        self._cache = _LRU(_CACHE_SIZE)
        # Processed type- and property-scoped contexts (see canon._Processor).
        self._scoped = _LRU(_SCOPED_CACHE_SIZE)
        # pyld's caches (ours and the per-context ones inside it) are plain LRU dicts,
        # not thread-safe; callers hold this lock around a pyld run (see canon.py).
        # pyld is pure Python, so serialising costs no parallelism under the GIL.
        self.lock = threading.RLock()

    # -- pyld interface -------------------------------------------------------------

    def __call__(self, url: str, options: dict | None = None) -> dict:
        """Return a pyld RemoteDocument for *url*, or raise UnknownDocumentError."""
        try:
            document = self._documents[url]
        except (KeyError, TypeError):
            raise UnknownDocumentError(
                f"JSON-LD document {url!r} is not bundled; Sillage never fetches contexts"
            ) from None
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            # pyld may rewrite relative URLs inside what it receives: hand out a copy.
            "document": copy.deepcopy(document),
            # "static" lets pyld keep the processed context in our shared cache.
            "tag": "static",
        }

    def options(self) -> dict:
        """pyld options that use this loader and its processed-context cache.

        A fresh ContextResolver per call (pyld keeps per-operation state in it) backed
        by this loader's long-lived cache, so the second document costs far less.
        """
        return {
            "documentLoader": self,
            "contextResolver": ContextResolver(self._cache, self),
            "sillageScopedContexts": self._scoped,
        }

    # -- composition ----------------------------------------------------------------

    @property
    def urls(self) -> frozenset[str]:
        return frozenset(self._documents)

    def document(self, url: str) -> dict:
        """A copy of the bundled document for *url* (raises UnknownDocumentError)."""
        return self(url)["document"]

    def extend(self, documents: Mapping[str, Mapping[str, Any]] | StaticLoader) -> StaticLoader:
        """Return a new loader that also serves *documents*.

        A URL already served must come with an identical document: redefining the
        meaning of a known context is exactly what pinning exists to prevent.
        """
        extra = documents._documents if isinstance(documents, StaticLoader) else documents
        merged = dict(self._documents)
        for url, document in extra.items():
            if url in merged and merged[url] != document:
                raise ContextIntegrityError(f"{url} is already bundled with different content")
            merged[url] = document
        child = StaticLoader(merged)
        # Contexts the parent already processed mean the same thing in the child.
        with self.lock:
            for key, value in self._cache.items():
                child._cache[key] = value
        return child

    def extend_from_manifest(self, directory: str | Path) -> StaticLoader:
        """Return a new loader with the pinned contexts of another package's manifest."""
        return self.extend(read_manifest(directory))

    @classmethod
    def from_manifest(cls, directory: str | Path) -> StaticLoader:
        return cls(read_manifest(directory))


@lru_cache(maxsize=1)
def bundled() -> StaticLoader:
    """The loader with certs' own contexts (VC 1.1/2.0, Data Integrity, Multikey, DID,
    Ed25519Signature2020), verified against ``contexts/manifest.json`` once per process."""
    return StaticLoader.from_manifest(CONTEXTS_DIR)
