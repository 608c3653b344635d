"""``sillage frameworks import PATH``, ``load-bundled``, ``list``, ``retire``: the operator's commands.

``import`` takes an ESCO CSV download (ZIP or folder), a CASE JSON package or a simple CSV (file,
folder or ZIP; docs/frameworks-csv.md), guessing the format unless ``--format`` says it. The whole file
is one transaction: on any problem the first errors are printed, nothing is imported, and the exit
status is 1; so is it when another import of the same framework is running (web page, job or command). The new or updated framework's id is printed alone on the last line.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from app.extensions import db
from app.models.frameworks import FORMATS
from app.services import frameworks as service
from app.services.errors import NotFound

frameworks = click.Group("frameworks", help="Reference frameworks (ESCO, CASE, socle commun…).")


@frameworks.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "format_", type=click.Choice(FORMATS), default=None,
              help="esco, case or csv (default: guessed from the files).")
@click.option("--name", default=None, help="The framework's name (default: the file's own title or name).")
@click.option("--slug", default=None, help="Short name; importing again under it updates that framework.")
@click.option("--version", "version", default=None, help="Version label, for example v1.2.0.")
@with_appcontext
def import_command(path, format_, name, slug, version):
    """Import (or update) a framework from PATH."""
    from app.services import framework_readers

    try:
        parsed = framework_readers.read(path, format=format_, name=name,
                                        slug=service.slugify(slug) if slug else None, version=version)
        with service.import_lock(db.session, parsed.slug):
            try:
                report = service.apply(db.session, parsed)
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
    except service.FrameworkImportError as exc:
        click.echo("Nothing was imported:", err=True)
        for error in exc.errors:
            click.echo(f"  - {error}", err=True)
        if exc.total > len(exc.errors):
            click.echo(f"  … and {exc.total - len(exc.errors)} more", err=True)
        raise SystemExit(1) from None
    except service.ImportRunning as exc:
        click.echo(f"Nothing was imported: {exc.message}", err=True)
        raise SystemExit(1) from None
    click.echo(f"{report.framework.name} ({report.framework.slug}): {report.added} added, {report.updated} updated, "
               f"{report.retired} retired, {report.relations} relations")
    for warning in report.warnings:
        click.echo(f"  note: {warning}", err=True)
    click.echo(str(report.framework.id))


@frameworks.command("load-bundled")
@click.option("--force", is_flag=True, help="Re-import even the frameworks already at the bundled version.")
@with_appcontext
def load_bundled(force):
    """Load the bundled socle commun, mastery scale and sample of occupations and skills."""
    loaded = service.load_bundled(db.session, force=force)
    db.session.commit()
    for framework in loaded:
        click.echo(f"{framework.name} ({framework.slug}, version {framework.version}): "
                   f"{framework.concept_count} concepts")


@frameworks.command("list")
@with_appcontext
def list_command():
    """The imported frameworks, retired ones included."""
    for framework in service.frameworks(db.session, include_retired=True):
        state = " (retired)" if framework.retired_at else ""
        click.echo(f"{framework.slug}\t{framework.version}\t{framework.concept_count} concepts\t"
                   f"{framework.name}{state}")


@frameworks.command("retire")
@click.argument("framework")
@click.option("--restore", is_flag=True, help="Bring a retired framework back into search.")
@with_appcontext
def retire(framework, restore):
    """Hide FRAMEWORK (slug or id) from search and pickers; its concepts keep resolving."""
    try:
        found = service.get_framework(db.session, framework)
    except NotFound as exc:
        raise click.ClickException(exc.message) from None
    service.retire_framework(db.session, found, retired=not restore)
    db.session.commit()
    click.echo(f"{found.name}: {'in use' if restore else 'retired'}")
