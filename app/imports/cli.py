"""``sillage import --user EMAIL FILE [--dry-run] [--passphrase-stdin]``: import a file into an account.

The format is detected from the content. ``--dry-run`` prints the preview (JSON) and changes nothing;
otherwise everything new is imported in one transaction and the preview of what was done is printed.
Exit status 0 on success, 1 when the file is refused (the reason on stderr, with its stable code).
"""
from __future__ import annotations

import json
import sys

import click
from flask import current_app

from app.extensions import db
from app.services import accounts, imports
from app.services.errors import ServiceError


@click.command("import")
@click.option("--user", "email", required=True, help="The e-mail address of the account to import into.")
@click.option("--dry-run", is_flag=True, help="Print what would be imported, change nothing.")
@click.option("--passphrase-stdin", is_flag=True, help="Read the passphrase of an encrypted export from stdin.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_command(email: str, dry_run: bool, passphrase_stdin: bool, path: str) -> None:
    """Import a Sillage export, JSON Resume, LEAP2A, Europass, LinkedIn export or badge file."""
    user = accounts.find_by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"No account with the e-mail address {email}.")
    passphrase = sys.stdin.readline().rstrip("\r\n") if passphrase_stdin else None
    limits = imports.Limits.from_config(current_app.config)
    try:
        if dry_run:
            plan = imports.preview(db.session, user, path, filename=path, passphrase=passphrase, limits=limits)
            db.session.rollback()
        else:
            plan = imports.apply(db.session, user, path, filename=path, passphrase=passphrase, limits=limits)
            db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        click.echo(f"Refused ({error.code}): {error.message}", err=True)
        sys.exit(1)
    click.echo(json.dumps(plan.as_dict(), ensure_ascii=False, indent=2, default=str))
