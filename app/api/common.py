"""Helpers shared by the API routes: JSON bodies, cursors and pages, and their OpenAPI description."""
from __future__ import annotations

import base64
import binascii
import json
import math
import uuid

import marshmallow as ma
from flask import request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from app.services.errors import ServiceError

MAX_JSON_BYTES = 1024 * 1024  # the largest item (a 50,000-character journal entry) fits many times over


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


def encode_cursor(item_id: uuid.UUID) -> str:
    """An opaque cursor: the last item's id, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(item_id.bytes).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str | None) -> uuid.UUID | None:
    if cursor is None:
        return None
    try:
        padded = cursor.encode("ascii") + b"=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        return uuid.UUID(bytes=raw)
    except (ValueError, binascii.Error, UnicodeError):
        raise ServiceError(str(_l("This cursor is not valid; start again from the first page.")),
                           code="invalid_cursor", status=400) from None


def page(items: list, limit: int) -> dict:
    """Build a page from up to ``limit + 1`` items: the extra one only tells that a next page exists."""
    shown = items[:limit]
    more = len(items) > limit
    return {"items": shown, "next_cursor": encode_cursor(shown[-1].id) if more and shown else None}


def json_body(schema: type[ma.Schema]) -> dict:
    """``blp.doc`` argument documenting a JSON request body (validated by the service, not by webargs)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def document_errors(blp: Blueprint, *codes: int):
    """Document the error responses an operation can give (all in the shape of ``ErrorSchema``)."""
    names = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 404: "NOT_FOUND", 415: "UNSUPPORTED_MEDIA_TYPE",
             422: "UNPROCESSABLE_ENTITY", 429: "TOO_MANY_REQUESTS"}

    def decorate(view):
        for code in codes:
            view = blp.alt_response(code, response=names[code])(view)
        return view

    return decorate
