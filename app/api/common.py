"""Helpers shared by the API routes: JSON bodies, cursors and pages, and their OpenAPI description."""
from __future__ import annotations

import ast
import base64
import functools
import importlib
import inspect
import binascii
import json
import math
import uuid
from datetime import date, datetime, timezone
from typing import Any, Callable

import marshmallow as ma
from flask import request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from app.services.errors import ServiceError
from app.services.validation import CONTROL_CHARS, ISO_DATE

MAX_JSON_BYTES = 1024 * 1024  # the largest item (a 50,000-character journal entry) fits many times over
MAX_CURSOR_KEY = 400  # characters; the longest sort key is a 200-character skill name
# A cursor's length bound: the longest key (200 characters of up to 4 UTF-8 bytes) and an id, in base64.
MAX_CURSOR = 2048


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as infinity, which no field can hold
        raise ValueError("number out of range")
    return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _check_text(value) -> None:
    """Refuse lone surrogates (\\ud800 is valid JSON but no valid text): they cannot be stored."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            item.encode("utf-8")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def json_object() -> dict:
    """The request body as a JSON object, or a clear 415/400/413 error (never a 500).

    Parsed here rather than with ``request.get_json`` to also refuse what Python's parser accepts but
    JSON does not (NaN, Infinity), numbers too large to use, and nesting deep enough to exhaust the stack.
    """
    mimetype = request.mimetype or ""
    if not (mimetype == "application/json" or mimetype.endswith("+json")):
        raise ServiceError(str(_l("Send a JSON body with Content-Type: application/json.")),
                           code="unsupported_media_type", status=415)
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise ServiceError(str(_l("This request is too large.")), code="payload_too_large", status=413)
    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON_BYTES:
        raise ServiceError(str(_l("This request is too large.")), code="payload_too_large", status=413)
    try:
        data = json.loads(raw, parse_float=_finite, parse_constant=_refuse_constant)
        _check_text(data)
    except (ValueError, RecursionError, UnicodeError):
        data = None
    if not isinstance(data, dict):
        raise ServiceError(str(_l("The body must be a valid JSON object.")), code="invalid_json", status=400)
    return data


def encode_cursor(position: tuple) -> str:
    """An opaque cursor: URL-safe base64 (no padding) of the JSON ``[sort key, id]`` of the last item.

    Carrying the sort key, not only the id, lets the next page be sought in SQL from that position,
    whether or not the item is still there. The key is the owner's own data (a date, a time, a skill
    name), so nothing is revealed to anyone else; clients must still treat the cursor as opaque.
    """
    key, item_id = position
    if isinstance(key, datetime):
        key = key.astimezone(timezone.utc).isoformat()
    elif isinstance(key, date):
        key = key.isoformat()
    raw = json.dumps([key, str(item_id)], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _cursor_key(value, key_type: type, nullable: bool):
    """The sort key of a cursor, with exactly the type of the sort column, else ValueError."""
    if value is None:
        if nullable:
            return None
        raise ValueError("null key")
    if not isinstance(value, str) or len(value) > MAX_CURSOR_KEY:
        raise ValueError("key is not a string")
    if key_type is datetime:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment.astimezone(timezone.utc)
    if key_type is date:
        if not ISO_DATE.match(value):
            raise ValueError("not a date")
        return date.fromisoformat(value)
    if key_type is str and not CONTROL_CHARS.search(value):
        return value
    raise ValueError("unusable key")


def decode_cursor(cursor: str | None, key_type: type, *, nullable: bool = False) -> tuple | None:
    """The (sort key, id) position in ``cursor``, or a 400 ``invalid_cursor``.

    Everything is checked, the key's type included (a ``date``, an aware ``datetime`` or a ``str``),
    so that a forged cursor is a clear error and never reaches the database as a value it refuses.
    """
    if cursor is None:
        return None
    try:
        padded = cursor.encode("ascii") + b"=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        if not isinstance(data, list) or len(data) != 2 or not isinstance(data[1], str):
            raise ValueError("not a [key, id] pair")
        return _cursor_key(data[0], key_type, nullable), uuid.UUID(data[1])
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error, UnicodeError):
        raise ServiceError(str(_l("This cursor is not valid; start again from the first page.")),
                           code="invalid_cursor", status=400) from None


def page(items: list, limit: int, position: Callable[[Any], tuple]) -> dict:
    """Build a page from up to ``limit + 1`` items: the extra one only tells that a next page exists.

    ``position`` gives an item's (sort key, id), from which the next page's cursor is made.
    """
    shown = items[:limit]
    more = len(items) > limit
    return {"items": shown, "next_cursor": encode_cursor(position(shown[-1])) if more and shown else None}


def json_body(schema: type[ma.Schema]) -> dict:
    """``blp.doc`` argument documenting a JSON request body (validated by the service, not by webargs)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_ERROR_CLASSES = {"ServiceError": 400, "ValidationFailed": 422, "Conflict": 409, "NotFound": 404, "Forbidden": 403}
_DEFAULT_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 409: "conflict", 422: "validation_error"}
LISTED_STATUSES = (403, 404, 409, 422)


@functools.cache
def stable_codes(*modules: str) -> dict[int, tuple[str, ...]]:
    """The stable error codes the given modules can raise, by HTTP status, read from their source.

    Every refusal is a ``ServiceError`` (or a subclass) built with ``code="..."`` and, for the base class,
    ``status=...``: the syntax tree gives both, so the API documentation lists the codes the services
    really raise and never drifts from them (no list kept by hand per route). Each status also lists its
    class's default code (``forbidden``, ``not_found``…), raised when no code is given."""
    found: dict[int, set[str]] = {status: {code} for status, code in _DEFAULT_CODES.items()}
    for name in modules:
        tree = ast.parse(inspect.getsource(importlib.import_module(name)))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if func not in _ERROR_CLASSES:
                continue
            words = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            if isinstance(words.get("code"), str):
                found.setdefault(int(words.get("status") or _ERROR_CLASSES[func]), set()).add(words["code"])
    return {status: tuple(sorted(codes)) for status, codes in found.items()}


def document_errors(blp: Blueprint, *codes: int):
    """Document the error responses an operation can give (all in the shape of ``ErrorSchema``).

    A blueprint with ``error_sources`` (the modules of the services its routes call) gets, for each of its
    403, 404, 409 and 422 answers, the list of the stable ``error`` codes those modules raise at that
    status (``stable_codes``)."""
    names = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT",
             415: "UNSUPPORTED_MEDIA_TYPE",
             422: "UNPROCESSABLE_ENTITY", 429: "TOO_MANY_REQUESTS"}
    sources = tuple(getattr(blp, "error_sources", ()))

    def decorate(view):
        from app.api.schemas import ErrorSchema
        listed = stable_codes(*sources) if sources else {}
        for code in codes:
            if code in LISTED_STATUSES and sources:
                described = ", ".join(f"`{c}`" for c in listed.get(code, (_DEFAULT_CODES[code],)))
                view = blp.alt_response(code, schema=ErrorSchema,
                                        description=f"An error; `error` is one of: {described}.")(view)
            else:
                view = blp.alt_response(code, response=names[code])(view)
        return view

    return decorate
