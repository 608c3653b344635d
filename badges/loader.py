"""The JSON-LD document loader for badges: certs' static loader plus the Open Badges contexts.

The OB contexts live in ``badges/contexts`` with a manifest in certs' format (``url``, ``file``,
``package``, ``path``, ``sha256``); certs checks every file against its pinned SHA-256 when the
loader is built, and refuses to redefine a URL it already serves. Built once per process:
the loader also holds pyld's processed-context cache, so sharing it makes canonicalization cheap.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CONTEXTS_DIR = Path(__file__).with_name("contexts")


@lru_cache(maxsize=1)
def document_loader():
    """A ``certs.StaticLoader`` serving certs' contexts and the bundled OB 3.0 contexts."""
    import certs  # imported late: baking and reading badges need no JSON-LD

    return certs.bundled().extend_from_manifest(CONTEXTS_DIR)


def context_urls() -> frozenset[str]:
    """The context URLs badges bundles itself (for documentation and tests)."""
    import certs

    return frozenset(certs.read_manifest(CONTEXTS_DIR))
