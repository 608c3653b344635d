"""A verified fast path for canonicalizing many documents of one JSON "shape" (a bulk award's rows).

pyld's JSON-LD to RDF conversion is most of the cost of signing a credential (about 10 of 13 ms).
The documents of one batch differ only in their string leaves (ids, dates, hashed identifiers, names,
narratives), so :class:`ShapeCanonicalizer` converts one *template* per shape with pyld, where every
string leaf is a unique sentinel, and then builds each document's RDF dataset by putting its values
where the sentinels landed, before RDFC-1.0 (pyld's own URDNA2015, bounded as in :mod:`certs.canon`).

A shape is: the same keys in the same order, the same array lengths, the same non-string values, the
same ``@context`` and, for every string, the same IRI "class" (scheme, and whether ``//`` follows it),
because pyld expands ``scheme:rest`` and ``scheme://rest`` differently. The template tells, for each
string leaf, where it went:

* only whole RDF terms (a literal's value, or an IRI): *variable*, substituted per document;
* anywhere else, or nowhere (a ``type`` term, a datatype, a language tag, part of a longer IRI, a
  JSON literal, an ``xsd:double`` that pyld rewrites): *fixed*: a document must carry exactly the
  template's value there, else it is canonicalized by pyld.

A value substituted for an IRI must take pyld's path of its sentinel exactly: an absolute IRI by pyld's
own test, not a blank node id, and neither the value nor its scheme a term of any bundled context (a
term would be expanded). Two nodes with the same id are merged by pyld and equal values deduplicated:
the substituted dataset is deduplicated likewise (RDF datasets are sets). Anything else falls back to
:func:`certs.canon.canonize`, which stays the reference; tests compare both on many varied documents.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Mapping
from typing import Any

from pyld.jsonld import RDF_JSON_LITERAL, XSD_DOUBLE, JsonLdError, _is_absolute_iri

from .canon import _SENTINEL_BASE, _BoundedURDNA2015, _Processor, canonize, check_text, to_dataset
from .errors import CertsError
from .loader import StaticLoader

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):(//)?")
_MAX_SHAPES = 64
_UNUSABLE = object()


class _Unshapable(Exception):
    pass


def _class(value: str):
    match = _SCHEME.match(value)
    return (match.group(1), bool(match.group(2))) if match else None


def _shape(value: Any, leaves: list[str]):
    """The hashable shape of *value*; its string leaves are appended to *leaves* in order."""
    if isinstance(value, str):
        leaves.append(value)
        return ("s", _class(value))
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unshapable
            if key == "@context":
                items.append((key, ("c", json.dumps(item, sort_keys=True, ensure_ascii=False))))
            else:
                items.append((key, _shape(item, leaves)))
        return ("{", tuple(items))
    if isinstance(value, list):
        return ("[", tuple(_shape(item, leaves) for item in value))
    if value is None or isinstance(value, (bool, int, float)):
        return ("v", type(value).__name__, repr(value))
    raise _Unshapable


def _fill(value: Any, leaves, counter: list[int]):
    """*value* with its string leaves (outside ``@context``) replaced by ``leaves`` in order."""
    if isinstance(value, str):
        index = counter[0]
        counter[0] += 1
        return leaves[index]
    if isinstance(value, Mapping):
        return {key: (item if key == "@context" else _fill(item, leaves, counter))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, leaves, counter) for item in value]
    return value


def _context_terms(loader: StaticLoader) -> frozenset[str]:
    """Every key of every bundled document: an over-approximation of the terms pyld may expand."""
    terms: set[str] = set()

    def walk(node):
        if isinstance(node, Mapping):
            for key, item in node.items():
                terms.add(key)
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for url in loader.urls:
        walk(loader.document(url))
    return frozenset(terms)


class _Template:
    def __init__(self, dataset: dict, fixed: dict[int, str], slots: list, iri: set[int]):
        self.dataset, self.fixed, self.slots, self.iri = dataset, fixed, slots, iri


class ShapeCanonicalizer:
    """RDFC-1.0 canonical N-Quads of documents, through per-shape templates where that is exact.

    One instance per loader, shared by the signer of a batch (thread-safe; templates are built under
    the loader's lock). ``fast`` and ``slow`` count the documents each path served.
    """

    def __init__(self, loader: StaticLoader, max_shapes: int = _MAX_SHAPES):
        self.loader = loader
        self._terms = _context_terms(loader)
        self._templates: dict = {}
        self._max_shapes = max_shapes
        self._lock = threading.Lock()
        self.fast = 0
        self.slow = 0

    def canonize(self, document: Mapping[str, Any]) -> str:
        """The canonical N-Quads of *document*, equal to ``certs.canon.canonize(document, loader)``.

        The first document of every new template is also canonicalized by pyld and compared: a template
        that would give other bytes (a case the rules above missed) is dropped for good, never used."""
        dataset, key, fresh = self._dataset(document)
        if dataset is None:
            self.slow += 1
            return canonize(document, self.loader)
        result = _BoundedURDNA2015().main(dataset, {"format": "application/n-quads"})
        if fresh:
            reference = canonize(document, self.loader)
            if reference != result:
                with self._lock:
                    self._templates[key] = _UNUSABLE
                self.slow += 1
                return reference
        self.fast += 1
        return result

    def dataset(self, document: Mapping[str, Any]) -> dict | None:
        """The RDF dataset of *document* through its shape's template, or None (use pyld)."""
        return self._dataset(document)[0]

    def _dataset(self, document):
        if not isinstance(document, Mapping) or "@context" not in document:
            return None, None, False
        check_text(document)  # the same refusal as the reference path, before anything else
        leaves: list[str] = []
        try:
            key = _shape(document, leaves)
        except (_Unshapable, RecursionError):
            return None, None, False
        with self._lock:
            template = self._templates.get(key)
        fresh = template is None
        if fresh:
            template = self._build(document, leaves)
            with self._lock:
                if len(self._templates) >= self._max_shapes:
                    self._templates.clear()
                self._templates[key] = template
        if template is _UNUSABLE:
            return None, key, False
        return self._substitute(template, leaves), key, fresh

    # -- the template ---------------------------------------------------------------------

    def _build(self, document, leaves):
        nonce = secrets.token_hex(8)
        sentinels = []
        for index, leaf in enumerate(leaves):
            marker = f"sfq{nonce}n{index}x"
            cls = _class(leaf)
            sentinels.append(f"{cls[0]}:{'//' if cls[1] else ''}{marker}" if cls else marker)
        by_value = {sentinel: index for index, sentinel in enumerate(sentinels)}
        marker_re = re.compile(rf"sfq{nonce}n(\d+)x")
        fixed: dict[int, str] = {}
        for _round in range(len(leaves) + 1):
            values = [leaves[i] if i in fixed else sentinels[i] for i in range(len(leaves))]
            try:
                dataset = self._raw_dataset(_fill(document, values, [0]))
            except CertsError as error:
                if error.code == "timeout":  # the caller's budget, not the shape: do not remember it
                    raise
                return _UNUSABLE
            except (JsonLdError, ValueError, TypeError):
                return _UNUSABLE
            seen, slots, iri, bad = set(), [], set(), set()
            for graph, triples in dataset.items():
                bad.update(int(m) for m in marker_re.findall(graph))
                for number, triple in enumerate(triples):
                    for position in ("subject", "predicate", "object"):
                        term = triple[position]
                        found = [int(m) for m in marker_re.findall(term["value"])]
                        for other in ("datatype", "language"):
                            bad.update(int(m) for m in marker_re.findall(term.get(other) or ""))
                        if not found:
                            continue
                        index = by_value.get(term["value"])
                        whole = index is not None and found == [index]
                        literal_ok = term["type"] != "literal" or term.get("datatype") not in (
                            XSD_DOUBLE, RDF_JSON_LITERAL)
                        if not whole or not literal_ok or position == "predicate" or (
                                term["type"] == "blank node"):
                            bad.update(found)
                            continue
                        seen.add(index)
                        slots.append((graph, number, position, index))
                        if term["type"] == "IRI":
                            iri.add(index)
            # Wrongly placed sentinels first: a sentinel in a ``type`` hides the type-scoped contexts,
            # so what is not seen yet may only be hidden; once none is wrong, the unseen are fixed.
            newly = {i for i in bad if i not in fixed} or {
                i for i in range(len(leaves)) if i not in fixed and i not in seen}
            if not newly:
                break
            fixed.update((i, leaves[i]) for i in newly)
        else:
            return _UNUSABLE
        try:  # the strict checks of the reference path, on the final template
            to_dataset(_fill(document, values, [0]), self.loader)
        except CertsError as error:
            if error.code == "timeout":
                raise
            return _UNUSABLE
        except ValueError:
            return _UNUSABLE
        return _Template(dataset, fixed, slots, iri)

    def _raw_dataset(self, document) -> dict:
        """pyld's dataset without the strict checks (sentinels may sit where the checks refuse)."""
        processor = _Processor(on_property_dropped=lambda _name: None)
        with self.loader.lock:
            options = self.loader.options()
            options["base"] = _SENTINEL_BASE
            return processor.to_rdf(dict(document), options)

    # -- one document -----------------------------------------------------------------------

    def _substitutable_iri(self, value: str) -> bool:
        if value.startswith("_:") or not _is_absolute_iri(value) or value in self._terms:
            return False
        cls = _class(value)
        return cls is not None and (cls[1] or cls[0] not in self._terms)

    def _substitute(self, template: _Template, leaves: list[str]) -> dict | None:
        for index, value in template.fixed.items():
            if leaves[index] != value:
                return None
        for index in template.iri:
            if not self._substitutable_iri(leaves[index]):
                return None
        # Fresh term objects: pyld's URDNA2015 relabels blank nodes in place (its step 7).
        dataset = {graph: [{position: dict(term) for position, term in triple.items()} for triple in triples]
                   for graph, triples in template.dataset.items()}
        for graph, number, position, index in template.slots:
            dataset[graph][number][position]["value"] = leaves[index]
        for graph, triples in dataset.items():
            unique, keys = [], set()
            for triple in triples:
                key = tuple((term["type"], term["value"], term.get("datatype"), term.get("language"))
                            for term in (triple["subject"], triple["predicate"], triple["object"]))
                if key not in keys:
                    keys.add(key)
                    unique.append(triple)
            dataset[graph] = unique
        return dataset
