"""JSON Schema validation of OB 3.0 documents, offline.

The schemas are the files listed in ``badges/schemas/manifest.json``; each is checked against its
pinned SHA-256 when loaded, and the registry is built from them alone, with a retrieve function that
refuses every other URI: validation never touches the network.

Two validators, each for what it does best. The verdict comes from ``jsonschema-rs``, compiled once per
process and about a hundred times faster than ``jsonschema`` (on a warm verification, the schema check
used to cost more than canonicalizing the credential). Only when a document is invalid does
``jsonschema`` explain why, in the readable, path-prefixed messages issuers and verifiers see. Should it
find nothing where ``jsonschema-rs`` found something (their regular expressions differ at the margins:
Python's ``$`` also matches before a final newline, ECMA-262's does not), ``jsonschema-rs``'s own
messages are given: a document is never called valid by the lenient one. Both use the same date-time
and date checks. That the bundled schemas are valid Draft 2019-09 is a test (tests/badges), not a cost
every process pays when it starts.

The official 1EdTech ``ob_v3p0_achievementcredential_schema.json`` is in no package registry this
project can install from, so the bundled schema is a hand-written subset of it (same required
properties, types and enumerations for the classes Sillage issues and reads). The manifest says so.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft201909Validator, FormatChecker
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

ACHIEVEMENT_CREDENTIAL = "urn:sillage:schema:ob_v3p0_achievementcredential_subset"
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SchemaIntegrityError(RuntimeError):
    """A bundled schema's bytes do not match the manifest: the package is damaged."""


def _read(name: str) -> bytes:
    return resources.files("badges").joinpath("schemas", name).read_bytes()


@lru_cache(maxsize=1)
def _schemas() -> dict[str, Any]:
    """``{schema id: contents}`` for every pinned schema, each checked against its SHA-256."""
    manifest = json.loads(_read("manifest.json"))
    schemas = {}
    for entry in manifest["schemas"]:
        raw = _read(entry["path"])
        if hashlib.sha256(raw).hexdigest() != entry["sha256"]:
            raise SchemaIntegrityError(f"bundled schema {entry['path']} does not match its pinned sha256")
        schemas[entry["id"]] = json.loads(raw)
    return schemas


@lru_cache(maxsize=1)
def _registry() -> Registry:
    """The ``referencing`` registry of the pinned schemas, for ``jsonschema``."""
    registry: Registry = Registry(retrieve=_refuse)
    for schema_id, contents in _schemas().items():
        registry = registry.with_resource(schema_id, Resource.from_contents(contents))
    return registry.crawl()


def _refuse(uri: str) -> Resource:
    raise NoSuchResource(ref=uri)


def _refuse_rs(uri: str) -> Any:
    raise ValueError(f"{uri} is not bundled; schemas are never fetched")


def _is_date_time(value: Any) -> bool:
    """RFC 3339 date-time (``T`` and ``Z`` in either case) naming a real moment."""
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE.match(value):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True


_FORMATS = {"date-time": _is_date_time, "date": _is_date}


def _format_checker() -> FormatChecker:
    """The same date-time / date checks for ``jsonschema``, whatever optional packages are installed."""
    checker = FormatChecker(formats=())
    for name, function in _FORMATS.items():
        checker.checks(name)(function)
    return checker


@lru_cache(maxsize=4)
def _fast_validator(schema_id: str):
    """The deciding validator, compiled once per process from the pinned schemas alone."""
    schemas = _schemas()
    return jsonschema_rs.Draft201909Validator(
        schemas[schema_id], validate_formats=True, formats=dict(_FORMATS),
        registry=jsonschema_rs.Registry(list(schemas.items()), retriever=_refuse_rs),
        retriever=_refuse_rs,
    )


@lru_cache(maxsize=4)
def _validator(schema_id: str) -> Draft201909Validator:
    """The explaining validator, built the first time a document is invalid."""
    registry = _registry()
    return Draft201909Validator(registry.contents(schema_id), registry=registry,
                                format_checker=_format_checker())


def _path(error) -> str:
    parts = []
    for part in error.absolute_path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "(document)"


def _message(error) -> str:
    """One readable line per error; for anyOf/oneOf, the most relevant sub-error."""
    if error.context:
        best = sorted(error.context, key=lambda e: (-len(e.absolute_path), e.message))[0]
        if len(best.absolute_path) > len(error.absolute_path) or error.validator in ("anyOf", "oneOf"):
            if error.validator == "anyOf" and all(e.validator == "required" for e in error.context):
                return "one of these is required: " + ", ".join(
                    sorted(str(e.validator_value[0]) for e in error.context))
            return f"{_path(best)}: {best.message}"
    return f"{_path(error)}: {error.message}"


def validate_ob3(document: Any, schema_id: str = ACHIEVEMENT_CREDENTIAL) -> list[str]:
    """Validate an OB 3.0 credential; return readable errors (an empty list means valid)."""
    fast = _fast_validator(schema_id)
    try:
        if fast.is_valid(document):
            return []
    except (TypeError, ValueError):  # not a JSON value at all: jsonschema says what is wrong
        pass
    errors = sorted(_validator(schema_id).iter_errors(document),
                    key=lambda e: (list(map(str, e.absolute_path)), e.message))
    messages = []
    for error in errors:
        message = _message(error)
        if message.startswith("one of these") and error.absolute_path:
            message = f"{_path(error)}: {message}"
        if message not in messages:
            messages.append(message)
    return messages or _fast_messages(fast, document)


def _fast_messages(fast, document: Any) -> list[str]:
    """jsonschema-rs's own words, when jsonschema saw nothing wrong (see the module docstring)."""
    messages = []
    try:
        for error in fast.iter_errors(document):
            path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}"
                           for part in error.instance_path).lstrip(".")
            messages.append(f"{path or '(document)'}: {error.message}")
    except (TypeError, ValueError) as error:
        messages.append(f"(document): {error}")
    return messages or ["(document): does not follow the Open Badges 3.0 schema"]


def is_valid_ob3(document: Any) -> bool:
    return not validate_ob3(document)
