"""JSON Schema validation of Open Badges 3.0 documents against the official 1EdTech schemas, offline.

The schemas are the files listed in ``badges/schemas/manifest.json``, copied byte-exact from the 1EdTech
URLs (provenance in the manifest and in ``/work/shared/schemas/ob_v3p0/SOURCES.md``); each is checked
against its pinned SHA-256 when loaded, and registered under its own ``$id``. The registry refuses every
other URI: validation never touches the network, and a schema is never fetched.

Which schema decides for which ``credentialSchema`` id: the one whose ``$id`` it is. SOURCES.md
records that 1EdTech mixed the two variants up: the file served at the ``json/`` URL is the permissive
"JSON-LD adaptation" (values may be one or many, strings may be language maps) and carries the
``json/`` ``$id``, while the earlier formal (strict) variant carries the ``json-ld/`` ``$id``. A credential
naming the ``json/`` URL (as every 1EdTech example does) is therefore judged by what that URL serves and
any verifier fetching it would get; one naming the ``json-ld/`` URL by the formal schema. With no
``credentialSchema``, the served AchievementCredential schema is applied, and its findings are only
warnings (OB 3.0 section 9.1: conformance to JSON Schema decides only when the credential declares it).

Draft 2019-09 semantics: ``format`` is an annotation, not an assertion. A format deviation (an
``activityStartDate`` of ``2025-06-30`` where the schema says ``date-time`` although the OB context types
it ``xsd:date``: 1EdTech openbadges-specification issue #645) is reported as a warning, never as an
error. :func:`check` returns both lists.

Two validators, each for what it does best. The verdict comes from ``jsonschema-rs`` (formats as
annotations), compiled once per process and about a hundred times faster than ``jsonschema``; a second
``jsonschema-rs`` validator asserting the formats tells whether there is any format warning at all. Only
when there is something to say does ``jsonschema`` explain it, in readable, path-prefixed messages. Should
it find nothing where ``jsonschema-rs`` found something (their regular expressions differ at the margins:
Python's ``$`` also matches before a final newline, ECMA-262's does not), ``jsonschema-rs``'s own messages
are given: a document is never called valid by the lenient one. Both use the same date-time and date
checks (the only formats the OB 3.0 schemas use).
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft201909Validator, FormatChecker
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

_SCHEMA_BASE = "https://purl.imsglobal.org/spec/ob/v3p0/schema/"
# What https://purl.imsglobal.org/spec/ob/v3p0/schema/json/... serves: the permissive JSON-LD adaptation.
ACHIEVEMENT_CREDENTIAL = _SCHEMA_BASE + "json/ob_v3p0_achievementcredential_schema.json"
ENDORSEMENT_CREDENTIAL = _SCHEMA_BASE + "json/ob_v3p0_endorsementcredential_schema.json"
PROFILE = _SCHEMA_BASE + "json/ob_v3p0_profile_schema.json"
# The earlier formal (strict) AchievementCredential schema, whose $id names the json-ld/ URL.
FORMAL_ACHIEVEMENT_CREDENTIAL = _SCHEMA_BASE + "json-ld/ob_v3p0_achievementcredential_schema.json"
VALIDATOR_TYPE = "1EdTechJsonSchemaValidator2019"
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


@lru_cache(maxsize=16)
def _fast_validator(schema_id: str, formats: bool = False):
    """A ``jsonschema-rs`` validator compiled once per process from the pinned schemas alone; it asserts
    the formats only when asked (Draft 2019-09 makes them annotations)."""
    schemas = _schemas()
    return jsonschema_rs.Draft201909Validator(
        schemas[schema_id], validate_formats=formats, formats=dict(_FORMATS),
        registry=jsonschema_rs.Registry(list(schemas.items()), retriever=_refuse_rs),
        retriever=_refuse_rs,
    )


@lru_cache(maxsize=16)
def _validator(schema_id: str, formats: bool = False) -> Draft201909Validator:
    """The explaining validator, built the first time there is something to explain."""
    registry = _registry()
    return Draft201909Validator(registry.contents(schema_id), registry=registry,
                                format_checker=_format_checker() if formats else None)


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


@dataclass(frozen=True)
class Findings:
    """What a schema says about a document: ``errors`` (the document does not conform) and ``warnings``
    (format annotations it does not meet, which never make it non-conforming)."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def is_bundled(schema_id: Any) -> bool:
    return isinstance(schema_id, str) and schema_id in _schemas()


def declared_schemas(document: Any) -> list[Any]:
    """The ids of the document's ``credentialSchema`` entries of type ``1EdTechJsonSchemaValidator2019``
    (the only type OB 3.0 section 9.1 asks a verifier to apply)."""
    if not isinstance(document, Mapping):
        return []
    entries = document.get("credentialSchema")
    entries = entries if isinstance(entries, list) else [entries] if entries is not None else []
    return [entry.get("id") for entry in entries
            if isinstance(entry, Mapping) and VALIDATOR_TYPE in _types(entry.get("type"))]


def _types(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def check(document: Any, schema_id: str = ACHIEVEMENT_CREDENTIAL) -> Findings:
    """Validate ``document`` against the bundled schema ``schema_id`` (Draft 2019-09, formats as
    annotations). Common case, one compiled pass: nothing to report."""
    asserting = _fast_validator(schema_id, True)
    try:
        if asserting.is_valid(document):
            return Findings()
        conforms = _fast_validator(schema_id).is_valid(document)
    except (TypeError, ValueError):  # not a JSON value at all: jsonschema says what is wrong
        conforms = False
    errors = [] if conforms else _explain(schema_id, document)
    return Findings(errors, _format_warnings(schema_id, document, conforms))


def validate_ob3(document: Any, schema_id: str = ACHIEVEMENT_CREDENTIAL) -> list[str]:
    """Validate an OB 3.0 credential; return readable errors (an empty list means it conforms; format
    deviations are not errors, see :func:`check`)."""
    return check(document, schema_id).errors


def _explain(schema_id: str, document: Any) -> list[str]:
    errors = sorted(_validator(schema_id).iter_errors(document),
                    key=lambda e: (list(map(str, e.absolute_path)), e.message))
    messages = []
    for error in errors:
        message = _message(error)
        if message.startswith("one of these") and error.absolute_path:
            message = f"{_path(error)}: {message}"
        if message not in messages:
            messages.append(message)
    return messages or _fast_messages(_fast_validator(schema_id), document)


def _format_warnings(schema_id: str, document: Any, conforms: bool) -> list[str]:
    """The format annotations the document does not meet: the ``format`` leaves of the asserting
    validator's error tree (an ``anyOf`` of "one value or many" nests them)."""
    warnings: list[str] = []
    stack = list(_validator(schema_id, True).iter_errors(document))
    while stack:
        error = stack.pop()
        if error.validator == "format":
            text = f"{_path(error)}: {error.message}"
            if text not in warnings:
                warnings.append(text)
        stack.extend(error.context or ())
    if not warnings and conforms:  # the two libraries disagree on a format: jsonschema-rs's own words
        warnings = _fast_messages(_fast_validator(schema_id, True), document)
    return sorted(warnings)


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

