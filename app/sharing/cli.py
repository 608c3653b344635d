"""``sillage access-log prune``: delete the access-log events older than ``SILLAGE_ACCESS_LOG_DAYS``
now (the nightly job does the same); prints how many went."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db
from app.services import access_log

group = AppGroup("access-log", help="The owners' access logs.")


@group.command("prune")
def prune() -> None:
    """Delete the events older than the retention period."""
    removed = access_log.prune(db.session)
    db.session.commit()
    click.echo(removed)
