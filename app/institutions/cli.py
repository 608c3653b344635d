"""``sillage roster import`` and ``sillage roster letters``: the head's roster work from the command line
(the operator is trusted, as for ``sillage orgs``)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from app import policy
from app.extensions import db
from app.issuing.cli import _organisation
from app.services import batches, institutions, rosters
from app.services.errors import ServiceError


@click.group("roster")
def roster():
    """Enrol an institution's pupils from a CSV roster; print activation letters."""


def _fail(exc: ServiceError) -> click.ClickException:
    return click.ClickException(f"{exc.code}: {exc.message}")


@roster.command("import")
@click.option("--org", "org_ref", required=True, help="The institution's id or exact name.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the preview only; change nothing.")
@with_appcontext
def roster_import(org_ref, path, dry_run):
    """Preview (per-row errors, duplicates, existing accounts, who leaves), then import. The last line is
    the number of accounts created, alone, for scripts (as ``sillage orgs create`` ends with the id): new
    pupils' accounts, each waiting for its activation (with ``--dry-run``: how many would be created)."""
    org = _organisation(org_ref)
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        result = rosters.preview(db.session, policy.OPERATOR, org, data)
    except ServiceError as exc:
        raise _fail(exc) from exc
    for row in result["rows"]:
        if row["errors"]:
            click.echo(f"line {row['line']}: " + "; ".join(row["errors"]))
        elif row["action"] == "invite":
            click.echo(f"line {row['line']}: {row['given_name']} {row['family_name']} already has an account: "
                       "invited to join")
    for leaving in result["ending"]:
        click.echo(f"leaves: {leaving['name']}")
    counts = result["counts"]
    click.echo(", ".join(f"{name}: {value}" for name, value in counts.items()))
    if dry_run:
        click.echo("dry run: nothing imported; accounts it would create:")
        click.echo(str(counts["add"]))
        return
    if not result["valid"]:
        raise click.ClickException("the roster has errors; nothing was imported")
    try:
        batch = rosters.start_import(db.session, policy.OPERATOR, org, data)
        already = batch.status == "done"  # the same file this school year: the same batch, nothing redone
        institutions.roster_imported(db.session, None, org, batch)
        db.session.commit()
        batch = batches.run_batch(batch.id) or batch
    except ServiceError as exc:
        raise _fail(exc) from exc
    report = batches.report(db.session, batch, limit=rosters.MAX_ROWS * 2)
    added = 0 if already else sum(1 for r in report
                                  if r["status"] == "done" and (r["result"] or {}).get("action") == "add")
    if already:
        click.echo("this file was already imported: nothing to do")
    failed = [r for r in report if r["status"] == "failed"]
    for r in failed:
        click.echo(f"item {r['position']}: {r['error']['message']}")
    sent = rosters.run_mails(db.session, batch)
    click.echo(f"activation e-mails sent: {sent}")
    click.echo("accounts created (awaiting activation):")
    click.echo(str(added))


@roster.command("letters")
@click.option("--org", "org_ref", required=True, help="The institution's id or exact name.")
@click.option("--group", "group_ref", required=True, help="The group's id or name (this school year's first).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def roster_letters(org_ref, group_ref, out):
    """Write the activation letters (one page per pupil not yet activated) of a group to a PDF."""
    org = _organisation(org_ref)
    try:
        rosters.check_head(db.session, policy.OPERATOR, org)
        group = _group(org, group_ref)
        data, count = institutions.letters(db.session, org, group)
        institutions.letters_printed(db.session, None, org, group, count)
        db.session.commit()
    except ServiceError as exc:
        raise _fail(exc) from exc
    with open(out, "wb") as handle:
        handle.write(data)
    click.echo(f"letters: {count}")


def _group(org, ref):
    if policy.parse_id(ref) is not None:
        return institutions.group_of(db.session, org, ref)
    for group in institutions.groups(db.session, org):
        if group.name == ref:
            return group
    raise ServiceError(f"no group {ref!r} in {org.name}", code="not_found", status=404)


def register(app) -> None:
    app.cli.add_command(roster)
