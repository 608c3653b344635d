"""``sillage export --user EMAIL --out FILE.zip [--passphrase-stdin] [--only SECTION ...]``: the owner's
export written straight to a file by the operator (no job, no download link). Prints the file's path,
size and SHA-256; the path alone on the last line."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from app.extensions import db
from app.services import accounts, exports
from app.services.errors import ServiceError
from certs.export_cipher import ExportCipherError


@click.command("export")
@click.option("--user", "email", required=True, help="The account's e-mail address.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The file to write (.zip; .zip.enc when encrypted, by convention).")
@click.option("--passphrase-stdin", is_flag=True, help="Encrypt with the passphrase read from standard input "
                                                         "(its first line).")
@click.option("--only", "sections", multiple=True, type=click.Choice(exports.SECTIONS),
              help="Export only this section (repeat for several); default: everything.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@with_appcontext
def export_command(email: str, out: str, passphrase_stdin: bool, sections: tuple, force: bool) -> None:
    """Export an account's data (docs/export-format.md) to FILE."""
    import os  # noqa: PLC0415

    user = accounts.find_by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"No account with the address {email}.")
    if os.path.exists(out) and not force:
        raise click.ClickException(f"{out} exists; choose another name or pass --force.")
    passphrase = None
    if passphrase_stdin:
        passphrase = sys.stdin.readline().rstrip("\r\n")
    selection = [{"type": "section", "id": name} for name in sections] or None
    try:
        size, digest = exports.export_to_file(db.session, user, out, selection=selection, passphrase=passphrase)
    except ExportCipherError as error:
        raise click.ClickException(f"The passphrase must have 8 to 1,024 characters ({error.code}).") from None
    except (ServiceError, OSError) as error:
        raise click.ClickException(str(getattr(error, "message", error))) from None
    finally:
        db.session.rollback()  # reads only
    click.echo(f"{size} bytes, SHA-256 {digest}{', encrypted' if passphrase else ''}")
    click.echo(out)


def register(app: Flask) -> None:
    app.cli.add_command(export_command)
