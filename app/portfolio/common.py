"""What every portfolio view shares: reading a form for a service, and showing a service's refusal."""
from __future__ import annotations

from flask import flash, render_template, request
from flask_wtf import FlaskForm

from app.extensions import db
from app.services.errors import ValidationFailed
from app.services.validation import Field


def form_data(rules: dict[str, Field]) -> dict:
    """The submitted strings for exactly the service's fields (lists for id fields).

    A field missing from the POST is sent as empty, so the service reports it as required instead of
    silently keeping an old value; an unchecked list of checkboxes is an empty list, which unlinks all.
    """
    return {name: request.form.getlist(name) if rule.kind == "ids" else request.form.get(name, "")
            for name, rule in rules.items()}


def show_errors(form: FlaskForm, exc: ValidationFailed) -> None:
    """Put each of the service's messages next to its field; a message for no field becomes a flash.

    The session is rolled back first: nothing of a refused submission may be committed by what runs
    later in the request (the server-side session store commits the shared session).
    """
    db.session.rollback()
    for name, message in exc.fields.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [message]
        else:
            flash(str(message), "error")
    if not exc.fields:
        flash(str(exc.message), "error")


def render_invalid(template: str, **context):
    """Re-render a refused form with 422, so that clients and tests can tell it from a plain page."""
    return render_template(template, **context), 422
