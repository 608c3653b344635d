"""``sillage users suspend EMAIL --reason R`` and ``sillage users reinstate EMAIL``: the operator's
suspension (audited, actor "command line"), added to the existing ``users`` group."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.models import User
from app.services import admin
from app.services.accounts import normalise_email
from app.services.errors import ServiceError


def _user(email: str) -> User:
    try:
        user = db.session.scalars(select(User).where(User.email == normalise_email(email))).first()
    except ServiceError:
        user = None
    if user is None:
        raise click.ClickException(f"No account uses {email}.")
    return user


@click.command("suspend")
@click.argument("email")
@click.option("--reason", required=True, help="Why (kept in the audit log).")
@with_appcontext
def suspend(email: str, reason: str) -> None:
    """Suspend an account: no sign-in, no token, its share links answer 410."""
    try:
        admin.suspend(db.session, policy.OPERATOR, _user(email), reason)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    click.echo(f"Suspended {email}.")


@click.command("reinstate")
@click.argument("email")
@with_appcontext
def reinstate(email: str) -> None:
    """Reinstate a suspended account."""
    try:
        admin.reinstate(db.session, policy.OPERATOR, _user(email))
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    click.echo(f"Reinstated {email}.")


def register(app: Flask) -> None:
    group = app.cli.commands["users"]
    group.add_command(suspend)
    group.add_command(reinstate)
