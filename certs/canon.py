"""RDF Dataset Canonicalization (RDFC-1.0, named URDNA2015 in pyld) done strictly.

pyld is permissive where a signature needs it to be strict, so :func:`canonize`
refuses, with a stable ``code``, every input whose signed meaning would differ from
what a reader of the JSON sees:

``control_character``
    pyld writes U+0000-U+001F (except tab, newline, carriage return) and U+007F raw
    where RDFC-1.0 escapes them, so another implementation would hash other bytes.
``undefined_term``
    a property or type no context defines: pyld silently drops it (the VC 2.0
    context has no ``@vocab``), so it would travel unsigned.
``relative_iri``
    an id that is not an absolute IRI: pyld resolves it against a fake base that
    other verifiers do not use.
``dataset_poisoning``
    blank-node structures that make canonicalization explode (RDFC-1.0 section on
    dataset poisoning): processing is abandoned after a bounded amount of work.
``unknown_context`` / ``context_hash_mismatch`` / ``invalid_jsonld``
    a context the static loader does not bundle, or JSON-LD that pyld rejects.
``timeout``
    the caller's deadline (:func:`deadline`) passed: expansion, the node map and the
    canonicalization check it at every node, so that no input holds a worker for long
    (pyld's node map is quadratic in the length of an array; callers also bound sizes
    before, see ``badges.formats.check_json_value``).

The document is turned into RDF once, with pyld's property-dropped hook; relative
references are resolved against a sentinel base so they can be found in the result.
Processed contexts are cached inside the loader, so only the first document of a
given shape pays for context processing.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pyld.canon import URDNA2015
from pyld.jsonld import JsonLdError, JsonLdProcessor

from .errors import CanonicalizationError, CertsError
from .loader import StaticLoader

ALGORITHM = "URDNA2015"  # pyld's name for RDFC-1.0; it refuses the string "RDFC-1.0"

# Relative references are resolved against this base so they can be recognised
# afterwards; ".invalid" (RFC 2606) can never be a real host.
_SENTINEL_BASE = "https://relative-reference.invalid/"
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

# Hash N-Degree Quads calls allowed per blank node before we call it poisoning.
# Real credentials need none (their blank nodes hash apart at the first degree);
# a few identical anonymous objects need a handful.
_WORK_PER_BLANK_NODE = 64
_MIN_WORK = 256


# time.monotonic() after which JSON-LD processing and canonicalization stop (None: no limit).
# A context variable, so that each verification or signing (thread, task) has its own.
_DEADLINE: ContextVar[float | None] = ContextVar("certs_canon_deadline", default=None)


@contextmanager
def deadline(at: float | None) -> Iterator[None]:
    """Within the block, stop JSON-LD work once ``time.monotonic()`` passes ``at`` (code ``timeout``)."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_deadline() -> None:
    at = _DEADLINE.get()
    if at is not None and time.monotonic() > at:
        raise CanonicalizationError("JSON-LD processing took longer than its time budget", "timeout")


def check_text(document: Any, path: str = "$") -> None:
    """Refuse control characters in every key and string of *document*."""
    if isinstance(document, str):
        match = _FORBIDDEN.search(document)
        if match:
            raise CanonicalizationError(
                f"control character U+{ord(match.group()):04X} in {path}: RDFC-1.0 "
                "implementations disagree on how to write it",
                "control_character",
            )
    elif isinstance(document, Mapping):
        for key, value in document.items():
            check_text(key, f"{path} (key)")
            check_text(value, f"{path}.{key}")
    elif isinstance(document, list):
        for index, value in enumerate(document):
            check_text(value, f"{path}[{index}]")


def to_dataset(document: Mapping[str, Any], loader: StaticLoader) -> dict:
    """Convert *document* to a pyld RDF dataset, refusing anything that would not be signed
    as written (control characters, undefined terms, relative ids, unknown contexts)."""
    if not isinstance(document, Mapping):
        raise CanonicalizationError("a JSON-LD document must be a JSON object")
    check_text(document)
    dropped: list[str | None] = []
    processor = _Processor(on_property_dropped=dropped.append)
    with loader.lock:
        options = loader.options()
        options["base"] = _SENTINEL_BASE
        try:
            dataset = processor.to_rdf(dict(document), options)
        except JsonLdError as error:
            raise _translate(error) from error
    if dropped:
        names = ", ".join(sorted({_term(name) for name in dropped}))
        raise CanonicalizationError(
            f"term(s) not defined by any @context: {names}; they would not be signed",
            "undefined_term",
        )
    for graph, triples in dataset.items():
        if graph != "@default" and not graph.startswith("_:"):
            _require_absolute(graph, "graph")
        for triple in triples:
            for position in ("subject", "predicate", "object"):
                term = triple[position]
                if term["type"] == "IRI" and not term["value"].startswith("_:"):
                    _require_absolute(term["value"], _role(position, triple))
                elif term["type"] == "literal":
                    _require_absolute(term.get("datatype", _XSD_STRING), "datatype")
    return dataset


def canonize(document: Mapping[str, Any], loader: StaticLoader) -> str:
    """Return the RDFC-1.0 canonical N-Quads of *document* (one ``\\n``-ended line per quad).

    Raises CanonicalizationError (a ValueError) with a stable ``code`` when the
    document cannot be canonicalized faithfully (see the module docstring).
    """
    dataset = to_dataset(document, loader)
    return _BoundedURDNA2015().main(dataset, {"format": "application/n-quads"})


class Memo:
    """Canonical forms already computed during one verification, so none is computed twice.

    A verifier needs the canonical N-Quads of the same unsecured document for its JSON-LD
    check and again for the signature; expansion and RDF conversion are most of a warm
    verification's cost. Entries are keyed by the document's exact JSON text (key order
    included) and the loader, so only an identical document read with the same contexts
    can hit, and a document that is not plain JSON is never memoized. Keep one Memo per
    verification (it holds the documents' text), not one per process.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[StaticLoader, str]] = {}

    def canonize(self, document: Mapping[str, Any], loader: StaticLoader) -> str:
        key = _json_key(document)
        if key is None:
            return canonize(document, loader)
        hit = self._entries.get(key)
        if hit is not None and hit[0] is loader:
            return hit[1]
        canonical = canonize(document, loader)
        self._entries[key] = (loader, canonical)
        return canonical


def _json_key(document: Any) -> str | None:
    """The document's JSON text, or None when the text would not stand for it exactly
    (non-string keys, tuples, NaN...: JSON would silently coerce them)."""
    try:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text if json.loads(text) == document else None
    except (TypeError, ValueError, RecursionError):
        return None


def to_nquads(document: Mapping[str, Any], loader: StaticLoader) -> str:
    """Non-canonical N-Quads of *document* after the same checks (for cross-checks)."""
    return JsonLdProcessor.to_nquads(to_dataset(document, loader))


class _Processor(JsonLdProcessor):
    """pyld's processor, remembering processed type- and property-scoped contexts, and
    checking the caller's deadline at every element it expands or maps.

    pyld caches a processed context per (context, active context), but a type-scoped
    context is applied to a fresh clone of the active context each time, so the VC
    and Data Integrity scoped contexts were re-processed for every document. The
    result only depends on the parent context (its ``_uuid``, unique per context
    object), the scoped context object and the flags, so it is remembered in the
    loader under that key. Scoped contexts are pyld's own objects (pyld deep-copies
    its input and keeps processed contexts frozen in its cache), so identity is a
    safe key; contexts embedded in a node (``propagate`` true) are never memoized.
    """

    def _expand(self, *args, **kwargs):
        check_deadline()
        return super()._expand(*args, **kwargs)

    def _create_node_map(self, *args, **kwargs):
        check_deadline()
        return super()._create_node_map(*args, **kwargs)

    def _process_context(self, active_ctx, local_ctx, options, override_protected=False,
                         propagate=True, validate_scoped=True, cycles=None):
        memo = options.get("sillageScopedContexts")
        parent = active_ctx.get("_uuid")
        if memo is None or parent is None or not isinstance(local_ctx, Mapping) or (
                propagate and not override_protected):
            return super()._process_context(active_ctx, local_ctx, options, override_protected,
                                            propagate, validate_scoped, cycles)
        key = (parent, id(local_ctx), propagate, override_protected, validate_scoped,
               options.get("base"))
        hit = memo.get(key)
        if hit is not None and hit[0] is local_ctx:
            return hit[1]
        result = super()._process_context(active_ctx, local_ctx, options, override_protected,
                                          propagate, validate_scoped, cycles)
        memo[key] = (local_ctx, result)
        return result


class _BoundedURDNA2015(URDNA2015):
    """pyld's URDNA2015 with a work budget on Hash N-Degree Quads (poisoning guard)."""

    def main(self, dataset, options):
        blank_nodes = {
            term["value"]
            for triples in dataset.values()
            for triple in triples
            for term in (triple["subject"], triple["object"])
            if term["type"] == "blank node"
        }
        self._budget = max(_MIN_WORK, _WORK_PER_BLANK_NODE * len(blank_nodes))
        return super().main(dataset, options)

    def hash_first_degree_quads(self, id_):
        check_deadline()
        return super().hash_first_degree_quads(id_)

    def hash_n_degree_quads(self, id_, issuer):
        check_deadline()
        self._budget -= 1
        if self._budget < 0:
            raise CanonicalizationError(
                "canonicalization abandoned: the blank node structure needs too much work "
                "(dataset poisoning)",
                "dataset_poisoning",
            )
        return super().hash_n_degree_quads(id_, issuer)


def _term(expanded_name: str | None) -> str:
    if expanded_name is None:
        return "(a term mapped to null)"
    if expanded_name.startswith(_SENTINEL_BASE):
        return repr(expanded_name[len(_SENTINEL_BASE):])
    return repr(expanded_name)


def _role(position: str, triple: dict) -> str:
    if position == "object" and triple["predicate"]["value"] == _RDF_TYPE:
        return "type"
    return {"subject": "id", "predicate": "property", "object": "id"}[position]


def _require_absolute(value: str, role: str) -> None:
    """Refuse an IRI that only exists because pyld resolved a relative reference."""
    if not value.startswith(_SENTINEL_BASE) and _ABSOLUTE_IRI.match(value):
        return
    original = value[len(_SENTINEL_BASE):] if value.startswith(_SENTINEL_BASE) else value
    if role in ("type", "property", "datatype") and not re.search(r"[/#?:]", original):
        raise CanonicalizationError(
            f"{role} {original!r} is not defined by any @context", "undefined_term"
        )
    raise CanonicalizationError(
        f"{role} {original!r} is not an absolute IRI (relative references are resolved "
        "differently by each processor)",
        "relative_iri",
    )


def _translate(error: JsonLdError) -> CertsError:
    """Map a pyld error to ours, surfacing a loader error (unknown or tampered context)."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, CertsError):
            return type(cause)(str(cause), cause.code)
        cause = cause.__cause__ or cause.__context__
    return CanonicalizationError(f"invalid JSON-LD: {error}", "invalid_jsonld")
