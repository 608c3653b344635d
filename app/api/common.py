"""Helpers shared by the API routes: JSON bodies, cursors and pages, and their OpenAPI description."""
from __future__ import annotations

import base64
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
from flask_smorest.spec.plugins import FlaskPlugin
from werkzeug.routing import PathConverter, UnicodeConverter

from app.api import error_codes
from app.errors import CODES
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


LISTED_STATUSES = (403, 404, 409, 422)
LISTED = "listed_error_statuses"  # the key of ``_apidoc`` naming the statuses whose codes are listed
# ``app.api.schemas.ErrorSchema`` by reference: flask-smorest deep-copies a schema object at each decorator
ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}


def document_errors(blp: Blueprint, *codes: int):
    """Document the error responses an operation can give (all in the shape of ``ErrorSchema``).

    Each 403, 404, 409 and 422 answer lists the stable ``error`` codes the route can give at that status,
    filled in once the route is registered (``describe_error_codes``): the view is only whole then, with
    the decorators above this one and the blueprint's ``before_request`` hooks."""
    names = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT",
             415: "UNSUPPORTED_MEDIA_TYPE",
             422: "UNPROCESSABLE_ENTITY", 429: "TOO_MANY_REQUESTS"}

    def decorate(view):
        for code in codes:
            if code in LISTED_STATUSES:  # described once the route is whole (``describe_error_codes``)
                view = blp.alt_response(code, schema=ERROR_SCHEMA,
                                        description=_described([CODES[code]]))(view)
            else:
                view = blp.alt_response(code, response=names[code])(view)
        listed = [code for code in codes if code in LISTED_STATUSES]
        if listed:
            view._apidoc[LISTED] = listed
        return view

    return decorate


def _described(codes) -> str:
    return "An error; `error` is one of: " + ", ".join(f"`{c}`" for c in codes) + "."


_ROUTES: dict[tuple, dict[int, tuple[str, ...]]] = {}  # by the code objects of a route's functions


def route_codes(view, hooks=(), *, path_arguments: bool = False, query_arguments: bool = False) -> dict:
    """The stable codes a route can answer, by status (``app.api.error_codes``): those of its view and of
    every function in its chain of decorators (``__wrapped__``), of its blueprint's ``before_request``
    hooks, ``not_found`` when its path has an argument that a converter may refuse (``<uuid:id>``) and
    ``validation_error`` when it reads query arguments with a schema. Kept by the functions' code
    objects, the same in every application the process builds."""
    chain = []
    while view is not None:
        chain.append(view)
        view = getattr(view, "__wrapped__", None)
    functions = (*chain, *hooks)
    key = (tuple(getattr(getattr(f, "__func__", f), "__code__", None) for f in functions),
           path_arguments, query_arguments)
    if key not in _ROUTES:
        found = set(error_codes.expand(error_codes.codes_of(*functions)))
        if path_arguments:
            found.add((404, CODES[404]))
        if query_arguments:
            found.add((422, CODES[422]))
        by_status: dict[int, set[str]] = {}
        for status, code in found:
            for each in (LISTED_STATUSES if status == error_codes.ANY else (status,)):
                by_status.setdefault(each, set()).add(code)
        _ROUTES[key] = {status: tuple(sorted(codes)) for status, codes in by_status.items()}
    return _ROUTES[key]


def describe_error_codes(api, blp: Blueprint, name: str) -> None:
    """Once ``blp`` is registered as ``name`` (``app.api.SillageApi`` calls this before writing the
    document out): list, in each 403/404/409/422 answer that
    ``document_errors`` declared, the codes the route can give at that status (``route_codes``); a status
    for which none is found lists its default code."""
    app, paths = api._app, api.spec._paths  # apispec offers no public way to amend a registered path
    hooks = blp.before_request_funcs.get(None, ())
    for endpoint, operations in blp._docs.items():
        full = f"{name}.{endpoint}"
        view = app.view_functions[full]
        rule = next(app.url_map.iter_rules(full))
        described = paths[FlaskPlugin.flaskpath2openapi(rule.rule)]
        refusing = any(not isinstance(converter, (UnicodeConverter, PathConverter))
                       for converter in rule._converters.values())  # <uuid:…> refuses; <name> never does
        for method, doc in operations.items():
            if not isinstance(doc, dict) or not doc.get(LISTED):
                continue
            codes = route_codes(view, hooks, path_arguments=refusing, query_arguments="arguments" in doc)
            for status in doc[LISTED]:
                described[method]["responses"][str(status)]["description"] = \
                    _described(codes.get(status) or (CODES[status],))
