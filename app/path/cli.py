"""``sillage trainings import FILE [--org ORGANISATION_ID]``: import a training catalogue (CSV, see
``app.services.trainings``) into the platform's catalogue, or an approved organisation's. All or nothing:
a refused file prints each bad line on standard error and exits 1; otherwise the counts, then the
import's id alone on the last line."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app import policy
from app.extensions import db
from app.models import Organisation
from app.services import trainings
from app.services.errors import ServiceError

group = AppGroup("trainings", help="The training catalogue.")


@group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--org", "org_id", default=None, help="The publishing organisation's id (default: the platform).")
def import_command(path: str, org_id: str | None) -> None:
    """Import a CSV training catalogue."""
    organisation = None
    if org_id:
        key = policy.parse_id(org_id)
        organisation = db.session.get(Organisation, key) if key is not None else None
        if organisation is None:
            raise click.ClickException(f"No organisation with the id {org_id}.")
    with open(path, "rb") as handle:
        data = handle.read(trainings.MAX_BYTES + 1)
    try:
        report = trainings.import_catalogue(db.session, policy.OPERATOR, data, filename=click.format_filename(path),
                                            organisation=organisation)
    except trainings.CatalogueRefused as exc:
        db.session.rollback()
        for line in exc.errors:
            click.echo(line, err=True)
        raise click.exceptions.Exit(1) from None
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"{report.created} created, {report.updated} updated")
    click.echo(str(report.import_id))
