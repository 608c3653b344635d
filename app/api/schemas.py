"""Marshmallow schemas of the API: they shape every response and document every request in OpenAPI.

Request bodies are *documented* with schemas built from ``app.services.portfolio.RULES`` (so the
description cannot drift from the rules), but they are *validated* by the services alone: one set of
rules and messages for the pages and the API, and unknown fields refused in one place.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Callable

import marshmallow as ma
from marshmallow import fields, validate

from app.api.common import MAX_CURSOR
from app.models import EXPERIENCE_KINDS
from app.services.accounts import LOCALES, PASSWORD_MAX, PASSWORD_MIN
from app.services.portfolio import PROFILE_RULES
from app.services.validation import Field


def utc_text(value: datetime) -> str:
    """ISO 8601 in UTC ending with ``Z``, to the second."""
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class UTCDateTime(fields.DateTime):
    """ISO 8601 in UTC ending with ``Z``, the form every Sillage time takes on the wire."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return utc_text(value)


class ErrorSchema(ma.Schema):
    """Every error: a stable code for programs, a message for people, and per-field messages."""

    error = fields.String(required=True, metadata={"description": "Stable machine-readable code, "
                                                                   "e.g. not_found, validation_error."})
    message = fields.String(required=True, metadata={"description": "Human-readable explanation."})
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields",
                          metadata={"description": "For validation errors: one message per invalid field."})


class PageArgsSchema(ma.Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200),
                           metadata={"description": "Items per page (1 to 200)."})
    cursor = fields.String(validate=validate.Length(max=MAX_CURSOR),
                           metadata={"description": "The next_cursor of the previous page."})


class ExperiencePageArgsSchema(PageArgsSchema):
    kind = fields.String(validate=validate.OneOf(EXPERIENCE_KINDS),
                         metadata={"description": "Only experiences of this kind."})


EVIDENCE_DESCRIPTION = ("Ids of the vault documents attached as evidence (read-only here: PUT or DELETE "
                        ".../evidence/<document id>).")


class _IdSchema(ma.Schema):
    id = fields.UUID()


class ExperienceSchema(ma.Schema):
    id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(EXPERIENCE_KINDS))
    title = fields.String(required=True)
    organisation = fields.String(required=True)
    place = fields.String(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True, allow_none=True, metadata={"description": "null while ongoing."})
    description = fields.String(required=True, metadata={"description": "Markdown."})
    skill_ids = fields.Pluck(_IdSchema, "id", many=True, attribute="skills", required=True)
    evidence = fields.Pluck(_IdSchema, "id", many=True, attribute="evidence", required=True,
                            metadata={"description": EVIDENCE_DESCRIPTION})
    created_at = UTCDateTime(required=True)
    updated_at = UTCDateTime(required=True)


class DiplomaSchema(ma.Schema):
    id = fields.UUID(required=True)
    title = fields.String(required=True)
    awarding_body = fields.String(required=True)
    awarded_on = fields.Date(required=True, allow_none=True)
    level = fields.String(required=True)
    reference = fields.String(required=True)
    evidence = fields.Pluck(_IdSchema, "id", many=True, attribute="evidence", required=True,
                            metadata={"description": EVIDENCE_DESCRIPTION})


class SkillSchema(ma.Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    level = fields.Integer(required=True, validate=validate.Range(min=1, max=4),
                           metadata={"description": "1 not mastered ... 4 well mastered."})
    framework = fields.String(required=True)
    concept_uri = fields.String(required=True)
    description = fields.String(required=True)
    experience_ids = fields.Pluck(_IdSchema, "id", many=True, attribute="experiences", required=True)
    evidence = fields.Pluck(_IdSchema, "id", many=True, attribute="evidence", required=True,
                            metadata={"description": EVIDENCE_DESCRIPTION})


class JournalEntrySchema(ma.Schema):
    id = fields.UUID(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "Markdown."})
    created_at = UTCDateTime(required=True)
    updated_at = UTCDateTime(required=True)


# What ``plain_dumper`` does for the field types of the item schemas; any other field is serialised by
# its own ``_serialize``, which is what marshmallow calls once it has the attribute's value.
_PLAIN: dict[type, Callable[[Any], Any]] = {
    fields.UUID: str,
    fields.String: str,
    fields.Integer: int,
    fields.Date: date.isoformat,
    UTCDateTime: utc_text,
}


def _plain_converter(field: fields.Field) -> Callable[[Any], Any]:
    if type(field) in _PLAIN and getattr(field, "format", None) in (None, "iso", "iso8601") \
            and not getattr(field, "as_string", False):
        return _PLAIN[type(field)]
    plucked = field.schema.fields[field.field_name] if type(field) is fields.Pluck else None
    if plucked is not None and field.many and type(plucked) is fields.UUID and plucked.attribute is None:
        name = field.field_name
        return lambda related: [None if (key := getattr(other, name)) is None else str(key)
                                for other in related]
    return lambda value: field._serialize(value, None, None)


def plain_dumper(schema_class: type[ma.Schema]) -> Callable[[Any], dict]:
    """A function giving exactly ``schema_class().dump(obj)`` for one object, at a fraction of the cost.

    Listing a page of items spent more time in marshmallow's per-field machinery than in the database;
    this reads each attribute and converts it directly, from the schema's own field list (so the two
    cannot drift apart; tests/test_perf_queries.py compares them). ``None`` stays ``None``, as every
    field here serialises it. Schemas with fields that do not read an attribute (``Method``,
    ``Function``) or read a dotted path are refused: they would need marshmallow's general path.
    """
    steps = []
    for name, field in schema_class().dump_fields.items():
        attribute = field.attribute or name
        if not field._CHECK_ATTRIBUTE or "." in attribute:
            raise TypeError(f"{schema_class.__name__}.{name}: no plain dumper for this field")
        steps.append((field.data_key or name, attribute, _plain_converter(field)))

    def dump(obj, ids: dict[str, list] | None = None) -> dict:
        """``ids`` may give, by attribute, the ids of a related collection that a ``Pluck`` of ids
        shows (``{"skills": [...]}``), so that the related objects need not be loaded."""
        out = {}
        for key, attribute, convert in steps:
            if ids is not None and attribute in ids:
                out[key] = [str(other) for other in ids[attribute]]
                continue
            value = getattr(obj, attribute)
            out[key] = None if value is None else convert(value)
        return out

    return dump


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The shape of every list: a page of items and the cursor of the next page (null on the last)."""
    return ma.Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema), required=True),
        "next_cursor": fields.String(required=True, allow_none=True),
    }, name=name)


class ProfileSchema(ma.Schema):
    display_name = fields.String(required=True)
    headline = fields.String(required=True)
    bio = fields.String(required=True)
    contact_email = fields.String(required=True)
    phone = fields.String(required=True)
    location = fields.String(required=True)
    website = fields.String(required=True, metadata={
        "description": "Empty, or a web address starting with https:// or http:// (at most 300 characters)."})
    photo_url = fields.String(required=True, allow_none=True,
                              metadata={"description": "Read-only; null when there is no photo."})


class TokenSchema(ma.Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "First characters after sil_."})
    created_at = UTCDateTime(required=True)
    last_used_at = UTCDateTime(required=True, allow_none=True)
    expires_at = UTCDateTime(required=True, allow_none=True)
    revoked_at = UTCDateTime(required=True, allow_none=True)
    active = fields.Boolean(required=True, attribute="is_active")


class NewTokenSchema(ma.Schema):
    token = fields.String(required=True, metadata={"description": "The secret; shown only this once."})
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True)
    created_at = UTCDateTime(required=True)
    expires_at = UTCDateTime(required=True, allow_none=True)


class TokenRequestSchema(ma.Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    name = fields.String(validate=validate.Length(max=80),
                         metadata={"description": "To recognise the token."})
    expires_in_days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=3650),
                                     metadata={"description": "Omitted or null: the token does not expire."})


class AccountSchema(ma.Schema):
    email = fields.String(required=True)
    email_verified = fields.Boolean(required=True)
    locale = fields.String(required=True, allow_none=True,
                           metadata={"description": "fr or en; null: the language the client asks for."})
    timezone = fields.String(required=True, allow_none=True,
                             metadata={"description": "An IANA time zone; null: Europe/Paris."})
    created_at = UTCDateTime(required=True)


class AccountUpdateSchema(ma.Schema):
    locale = fields.String(allow_none=True, validate=validate.OneOf(("", *LOCALES)),
                           metadata={"description": '"" or null: the language the client asks for.'})
    timezone = fields.String(allow_none=True, validate=validate.Length(max=64),
                             metadata={"description": 'An IANA time zone such as "Europe/Paris"; "" or null: '
                                                      "the default."})


class PasswordChangeSchema(ma.Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=PASSWORD_MAX))
    new_password = fields.String(
        required=True, validate=validate.Length(min=PASSWORD_MIN, max=PASSWORD_MAX),
        metadata={"description": "Not a well-known password, not your e-mail address."})
    revoke_tokens = fields.Boolean(load_default=False, metadata={
        "description": "Also revoke every API token of the account, this one included."})


class EmailChangeSchema(ma.Schema):
    new_email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=PASSWORD_MAX),
                             metadata={"description": "Your current password."})


class PendingEmailSchema(ma.Schema):
    new_email = fields.String(required=True,
                              metadata={"description": "Where the confirmation link was sent."})


class PasswordSchema(ma.Schema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=PASSWORD_MAX),
                             metadata={"description": "Your current password."})


def _documented_field(rule: Field, required: bool) -> fields.Field:
    """The marshmallow field that describes what ``validation.clean`` accepts for ``rule``."""
    optional = {"required": required, "allow_none": not rule.required}
    if rule.kind == "date":
        return fields.Date(**optional, metadata={"description": "YYYY-MM-DD"})
    if rule.kind == "int":
        return fields.Integer(**optional, validate=validate.Range(min=rule.minimum, max=rule.maximum))
    if rule.kind == "ids":
        return fields.List(fields.UUID(), **optional)
    if rule.kind == "choice":
        return fields.String(**optional, validate=validate.OneOf(rule.choices))
    length = validate.Length(min=1 if rule.required else 0, max=rule.max_length)
    description = {"email": "An e-mail address, or empty.", "url": "An http(s) address, or empty."}
    return fields.String(**optional, validate=length,
                         metadata={"description": description[rule.kind]} if rule.kind in description else {})


def body_schema(rules: dict[str, Field], name: str, *, partial: bool) -> type[ma.Schema]:
    """A request body schema from the service rules; unknown fields are refused (additionalProperties)."""
    return ma.Schema.from_dict(
        {key: _documented_field(rule, required=rule.required and not partial) for key, rule in rules.items()},
        name=name)


ProfileUpdateSchema = body_schema(PROFILE_RULES, "ProfileUpdateSchema", partial=True)
