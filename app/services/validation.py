"""Field rules shared by every service: one place that says what a valid value is.

Pages and the API both send plain values (strings from forms, JSON types from the API); ``clean``
turns them into typed values or raises ``ValidationFailed`` listing every bad field at once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from app.services.errors import ValidationFailed

# Never stored: C0 controls other than tab, newline and carriage return, and DEL (they also break
# canonicalization when a text later goes into a signed credential); and surrogate code points, which
# only a lone "\ud800" escape in JSON (or a caller's bug) can produce: they are not text, no database
# can store them, and UTF-8 cannot even encode them.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # date.fromisoformat also takes 20240131 and 2024-W05-3
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
MIN_DATE, MAX_DATE = date(1900, 1, 1), date(2100, 12, 31)
MAX_IDS = 500  # links per item: far above real use, far below database parameter limits


@dataclass(frozen=True)
class Field:
    kind: str = "text"  # text | date | int | email | url | choice | ids
    required: bool = False
    max_length: int = 200
    choices: tuple = ()
    minimum: int | None = None
    maximum: int | None = None


def _text(value: Any, field: Field) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(_l("Must be text."))
    value = value.strip()
    if CONTROL_CHARS.search(value):
        raise ValueError(_l("Contains characters that are not allowed."))
    if len(value) > field.max_length:
        raise ValueError(_l("At most %(n)d characters.", n=field.max_length))
    return value


def _date(value: Any, field: Field) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):  # a timestamp is not a calendar date: refuse rather than truncate
        raise ValueError(_l("Not a valid date (expected YYYY-MM-DD)."))
    if isinstance(value, date):
        parsed = value
    elif isinstance(value, str):
        try:
            if not ISO_DATE.match(value.strip()):
                raise ValueError
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(_l("Not a valid date (expected YYYY-MM-DD).")) from None
    else:
        raise ValueError(_l("Not a valid date (expected YYYY-MM-DD)."))
    if not MIN_DATE <= parsed <= MAX_DATE:
        raise ValueError(_l("This date is out of range."))
    return parsed


def _int(value: Any, field: Field) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValueError(_l("Must be a whole number."))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(_l("Must be a whole number.")) from None
    if isinstance(value, float) and value != number:
        raise ValueError(_l("Must be a whole number."))
    if (field.minimum is not None and number < field.minimum) or (
            field.maximum is not None and number > field.maximum):
        raise ValueError(_l("Must be between %(a)d and %(b)d.", a=field.minimum, b=field.maximum))
    return number


def _email(value: Any, field: Field) -> str:
    text = _text(value, field)
    if not text:
        return ""
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError(_l("Not a valid e-mail address.")) from None


def _url(value: Any, field: Field) -> str:
    text = _text(value, field)
    if text and not URL.match(text):
        raise ValueError(_l("Must be a web address starting with https:// or http://."))
    return text


def _choice(value: Any, field: Field) -> str:
    text = _text(value, field)
    if text and text not in field.choices:
        raise ValueError(_l("Not one of the allowed values."))
    return text


def _ids(value: Any, field: Field) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(_l("Must be a list of ids."))
    if len(value) > MAX_IDS:
        raise ValueError(_l("At most %(n)d links.", n=MAX_IDS))
    # Empty strings are what an HTML form sends for "none selected": they mean nothing, not an id.
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


CONVERTERS: dict[str, Callable[[Any, Field], Any]] = {
    "text": _text, "date": _date, "int": _int, "email": _email, "url": _url, "choice": _choice, "ids": _ids,
}


def clean(rules: dict[str, Field], data: dict, *, partial: bool = False) -> dict:
    """Validate ``data`` against ``rules``; with ``partial`` (PATCH), absent fields are left alone.

    Unknown keys are refused rather than ignored, so that a misspelt field never silently drops data.
    """
    errors: dict[str, str] = {}
    unknown = sorted(set(data) - set(rules))
    for name in unknown:
        errors[name] = str(_l("Unknown field."))
    cleaned: dict[str, Any] = {}
    for name, field in rules.items():
        if name not in data:
            if field.required and not partial:
                errors[name] = str(_l("This field is required."))
            continue
        try:
            value = CONVERTERS[field.kind](data[name], field)
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if field.required and value in (None, "", []):
            errors[name] = str(_l("This field is required."))
            continue
        cleaned[name] = value
    if errors:
        raise ValidationFailed(str(_l("Some information is not valid.")), fields=errors)
    return cleaned
