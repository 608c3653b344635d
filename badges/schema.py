"""JSON Schema validation of OB 3.0 documents, offline.

The schemas are the files listed in ``badges/schemas/manifest.json``; each is checked against its
pinned SHA-256 when loaded, and the ``referencing`` registry is built from them alone, with a
retrieve function that refuses every other URI: validation never touches the network.

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
def _registry() -> Registry:
    manifest = json.loads(_read("manifest.json"))
    registry: Registry = Registry(retrieve=_refuse)
    for entry in manifest["schemas"]:
        raw = _read(entry["path"])
        if hashlib.sha256(raw).hexdigest() != entry["sha256"]:
            raise SchemaIntegrityError(f"bundled schema {entry['path']} does not match its pinned sha256")
        contents = json.loads(raw)
        registry = registry.with_resource(entry["id"], Resource.from_contents(contents))
    return registry.crawl()


def _refuse(uri: str) -> Resource:
    raise NoSuchResource(ref=uri)


def _format_checker() -> FormatChecker:
    """date-time / date checks that do not depend on optional packages being installed."""
    checker = FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        if not _RFC3339.match(value):
            return False
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        return True

    @checker.checks("date", raises=ValueError)
    def _date(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        if not _DATE.match(value):
            return False
        datetime.strptime(value, "%Y-%m-%d")
        return True

    return checker


@lru_cache(maxsize=4)
def _validator(schema_id: str) -> Draft201909Validator:
    registry = _registry()
    schema = registry.contents(schema_id)
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema, registry=registry, format_checker=_format_checker())


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
    validator = _validator(schema_id)
    errors = sorted(validator.iter_errors(document),
                    key=lambda e: (list(map(str, e.absolute_path)), e.message))
    messages = []
    for error in errors:
        message = _message(error)
        if message.startswith("one of these") and error.absolute_path:
            message = f"{_path(error)}: {message}"
        if message not in messages:
            messages.append(message)
    return messages


def is_valid_ob3(document: Any) -> bool:
    return not validate_ob3(document)
