"""``sillage feed digest``: send this week's digests now (the consumer does it on Mondays at 07:00)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

group = AppGroup("feed", help="S'informer: events and the people's feeds.")


@group.command("digest")
def digest() -> None:
    """Mail the new events of their feed to everyone who opted in (once a week per person)."""
    from app.feed import digest as digests

    result = digests.run()
    if result is None:
        click.echo("Nobody asked for the weekly digest.")
        return
    click.echo(f"{result.get('done', 0)} digest row(s) done, {result.get('failed', 0)} failed.")
