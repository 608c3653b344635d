"""Contexts a document brings with itself (inline ``@context`` objects), judged before any JSON-LD work.

The bundled contexts are pinned by SHA-256 and never fetched: their terms mean what the specifications
say. An inline context is the document defining its own terms, and it is not covered by what a reader
can check: appended after signing, it still verifies as long as it changes no RDF statement, while it
can change what a JSON reader is shown. So:

* any inline context is reported (``inline_context``, a warning at least);
* one that defines ``@vocab`` (every undefined term becomes "defined", so the undefined-term guard no
  longer sees what travels unsigned), redefines a term of the bundled contexts the document names
  (protected or not: the same word would mean two things depending on where it is read), or makes a term
  an alias of a JSON-LD keyword (``"note": "@index"`` hides the value from the signed statements while a
  JSON reader shows it) is refused (``unsafe_context``).

Contexts are found wherever JSON-LD allows them: the document's ``@context``, ``@context`` in any nested
object (embedded contexts), and term definitions' scoped ``@context`` inside inline contexts.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

# The aliases every bundled context defines itself; the same definition again changes nothing.
_HARMLESS = {"id": "@id", "type": "@type"}


class UnsafeContext(Exception):
    """``reason`` says which rule the inline context breaks."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def inline_contexts(document: Any) -> tuple[list[str], int]:
    """``(urls, inline)``: the context URLs the document names anywhere, and how many inline context
    objects it carries. Raises :class:`UnsafeContext` for an inline context that must be refused."""
    urls: list[str] = []
    inline: list[Mapping] = []
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            for key, value in item.items():
                if key == "@context":
                    for entry in value if isinstance(value, list) else [value]:
                        if isinstance(entry, str) and entry not in urls:
                            urls.append(entry)
                        elif isinstance(entry, Mapping):
                            inline.append(entry)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    if inline:
        defined = _bundled_terms(tuple(urls))
        for context in inline:
            _check_inline(context, defined)
    return urls, len(inline)


def _check_inline(context: Mapping, defined: frozenset[str]) -> None:
    stack = [context]
    while stack:
        current = stack.pop()
        if "@vocab" in current:
            raise UnsafeContext("it defines @vocab, so that undefined terms would no longer be noticed")
        for term, definition in current.items():
            if term.startswith("@") or _HARMLESS.get(term) == definition:
                continue
            if term in defined:
                raise UnsafeContext(f"it redefines the term “{term}” of the pinned contexts")
            if isinstance(definition, Mapping):
                target = definition.get("@reverse", definition.get("@id", term))
                containers = definition.get("@container")
                containers = containers if isinstance(containers, list) else [containers]
            else:
                target, containers = definition, []
            if target is None:  # a term mapped to null is dropped by expansion: its values are not signed
                raise UnsafeContext(f"it maps “{term}” to nothing, so that its values would not be signed")
            if isinstance(target, str) and target.startswith("@"):
                raise UnsafeContext(f"it makes “{term}” an alias of the keyword {target}")
            if isinstance(target, str) and target.startswith("_:"):
                # a blank-node predicate is dropped from the signed dataset (RDF has none)
                raise UnsafeContext(f"it maps “{term}” to a blank node, so that its values would not be signed")
            if "@index" in containers:  # index map keys are not part of the signed data either
                raise UnsafeContext(f"it makes “{term}” an index map, whose keys would not be signed")
            if isinstance(definition, Mapping):
                scoped = definition.get("@context")
                for entry in scoped if isinstance(scoped, list) else [scoped]:
                    if isinstance(entry, Mapping):
                        stack.append(entry)


@lru_cache(maxsize=64)
def _bundled_terms(urls: tuple[str, ...]) -> frozenset[str]:
    """Every term the bundled contexts among ``urls`` define, at any level (scoped contexts included).
    URLs that are not bundled are left to the JSON-LD check (``unknown_context``)."""
    from .loader import document_loader  # noqa: PLC0415 - only documents with inline contexts need it

    loader = document_loader()
    terms: set[str] = set()
    for url in urls:
        if url not in loader.urls:
            continue
        stack = [loader.document(url).get("@context")]
        while stack:
            current = stack.pop()
            if isinstance(current, list):
                stack.extend(current)
            elif isinstance(current, Mapping):
                for term, definition in current.items():
                    if term.startswith("@"):
                        continue
                    terms.add(term)
                    if isinstance(definition, Mapping) and "@context" in definition:
                        stack.append(definition["@context"])
    return frozenset(terms)
