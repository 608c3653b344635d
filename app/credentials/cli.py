"""``sillage award``, ``sillage revoke``, ``sillage suspend``, ``sillage unsuspend``.

The operator acts (``policy.OPERATOR``): whoever runs the command holds the database. An organisation that
is not approved still cannot issue. ``award`` prints the new credential's id alone on its last line, so
that scripts can chain commands; mails go out as from the pages.
"""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from app.extensions import db


def _fail(exc) -> None:
    db.session.rollback()
    details = "".join(f"\n  {name}: {message}" for name, message in getattr(exc, "fields", {}).items())
    raise click.ClickException(f"{exc.message}{details}")


def _change_status(credential_id: str, action: str, *args):
    """The one path of ``revoke``, ``suspend`` and ``unsuspend``: find the credential as the operator,
    call ``awarding.<action>``, commit (the status list is re-signed with it), or fail with the service's
    message and nothing changed."""
    from app.policy import OPERATOR  # noqa: PLC0415
    from app.services import awarding  # noqa: PLC0415
    from app.services.errors import ServiceError  # noqa: PLC0415

    try:
        credential = awarding.get_for_issuer(db.session, OPERATOR, credential_id)
        getattr(awarding, action)(db.session, OPERATOR, credential, *args)
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    return credential


@click.command("award")
@click.option("--achievement", "achievement_id", required=True, help="The achievement's id.")
@click.option("--recipient", required=True, help="The recipient's e-mail address.")
@click.option("--narrative", default=None, help="Why it is awarded (optional).")
@click.option("--evidence", multiple=True, help="An evidence URL (repeatable).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write the signed credential JSON here.")
@with_appcontext
def award_command(achievement_id, recipient, narrative, evidence, out_path):
    """Award an achievement to one person by e-mail; prints the credential id on the last line."""
    from app.credentials import emails  # noqa: PLC0415
    from app.policy import OPERATOR  # noqa: PLC0415
    from app.services import achievements, awarding  # noqa: PLC0415
    from app.services.errors import ServiceError  # noqa: PLC0415

    try:
        achievement = achievements.get(db.session, OPERATOR, achievement_id, "award")
        awarded = awarding.award(db.session, OPERATOR, achievement, recipient, narrative=narrative,
                                 evidence=list(evidence))
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    emails.notify(awarded)
    credential = awarded.credential
    if out_path:
        Path(out_path).write_text(json.dumps(credential.document, ensure_ascii=False, indent=2) + "\n",
                                  encoding="utf-8")
        click.echo(f"Signed credential written to {out_path}.")
    click.echo("Delivered to the recipient's portfolio." if awarded.recipient else
               "No account has this address yet: a claim link was e-mailed.")
    click.echo(str(credential.id))


@click.command("revoke")
@click.argument("credential_id")
@click.option("--reason", required=True, help="Why (shown on the credential page).")
@with_appcontext
def revoke_command(credential_id, reason):
    """Revoke a credential for good; its status list is re-signed at once."""
    click.echo(f"Revoked {_change_status(credential_id, 'revoke', reason).id}.")


@click.command("suspend")
@click.argument("credential_id")
@click.option("--reason", default=None, help="Why (optional).")
@with_appcontext
def suspend_command(credential_id, reason):
    """Suspend a credential until ``sillage unsuspend``."""
    click.echo(f"Suspended {_change_status(credential_id, 'suspend', reason).id}.")


@click.command("unsuspend")
@click.argument("credential_id")
@with_appcontext
def unsuspend_command(credential_id):
    """Lift a suspension."""
    click.echo(f"Suspension lifted: {_change_status(credential_id, 'unsuspend').id}.")


def register(app: Flask) -> None:
    for name, command in (("award", award_command), ("revoke", revoke_command), ("suspend", suspend_command),
                          ("unsuspend", unsuspend_command)):
        app.cli.add_command(command, name)
