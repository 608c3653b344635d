"""``sillage orgs ...`` and ``sillage achievements create``: the operator's commands for issuers.

The operator (whoever runs the command holds the database) acts as ``policy.OPERATOR``. A command that
creates something prints the new id (or token) alone on its last line, so that scripts can chain them.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import or_, select

from app import policy
from app.extensions import db
from app.models import Organisation, User
from app.services import achievements as achievement_service
from app.services import artwork, orgs as org_service
from app.services.accounts import normalise_email
from app.services.errors import ServiceError

orgs = click.Group("orgs", help="Issuer organisations.")
achievements = click.Group("achievements", help="Achievements (badge classes) of organisations.")


def _fail(exc: ServiceError) -> click.ClickException:
    db.session.rollback()
    details = "".join(f"\n  {name}: {message}" for name, message in exc.fields.items())
    return click.ClickException(f"{exc.message}{details}")


def _organisation(value: str) -> Organisation:
    """An organisation by id, or by exact name when exactly one has it."""
    key = policy.parse_id(value)
    org = db.session.get(Organisation, key) if key else None
    if org is None:
        found = db.session.scalars(select(Organisation).where(or_(Organisation.name == value,
                                                                  Organisation.did == value))).all()
        if len(found) > 1:
            raise click.ClickException(f"several organisations are named {value!r}: give the id")
        org = found[0] if found else None
    if org is None:
        raise click.ClickException(f"no organisation {value!r}")
    return org


# The command line's short names for the stored kinds (app/models/issuing.py ORGANISATION_KINDS).
KIND_ALIASES = {"training": "training_body", "guidance": "guidance_service"}


@orgs.command("create")
@click.argument("name")
@click.option("--admin", "admin_email", required=True, help="E-mail of an existing account: the first admin.")
@click.option("--kind", default="other", show_default=True,
              help="school, university, training, guidance, employer, association or other (training_body "
                   "and guidance_service are accepted too).")
@click.option("--contact", default=None, help="Public contact e-mail (default: the admin's).")
@click.option("--website", default="", help="The organisation's web site.")
@click.option("--approve", is_flag=True, help="Approve it at once (it can issue).")
@click.option("--did-key", is_flag=True, help="Identify it by a did:key (offline use) instead of did:web.")
@with_appcontext
def orgs_create(name, admin_email, kind, contact, website, approve, did_key):
    """Create an organisation; print its id on the last line."""
    try:
        email = normalise_email(admin_email)
        admin = db.session.scalars(select(User).where(User.email == email)).first()
        if admin is None:
            raise click.ClickException(f"no account {email}: create it first (sillage users create)")
        org = org_service.create_organisation(
            db.session, policy.OPERATOR,
            {"name": name, "kind": KIND_ALIASES.get(kind, kind), "website": website, "contact_email": contact or admin.email},
            admin=admin, approve=approve, did_key=did_key)
        db.session.commit()
    except ServiceError as exc:
        raise _fail(exc) from exc
    click.echo(f"{org.name}: {org.status}, {org.did}")
    click.echo(str(org.id))


@orgs.command("token")
@click.argument("org")
@click.option("--name", default="", help="A name to recognise the token by.")
@with_appcontext
def orgs_token(org, name):
    """Create an organisation API token; print it (once, never again) on the last line."""
    organisation = _organisation(org)
    try:
        token, raw = org_service.create_token(db.session, policy.OPERATOR, organisation, name)
        db.session.commit()
    except ServiceError as exc:
        raise _fail(exc) from exc
    click.echo(f"Token {token.name!r} for {organisation.name} (shown once, keep it safe):", err=True)
    click.echo(raw)


@orgs.command("approve")
@click.argument("org")
@with_appcontext
def orgs_approve(org):
    """Approve a pending organisation (as a platform admin would on /admin/organisations)."""
    organisation = _organisation(org)
    try:
        org_service.approve(db.session, policy.OPERATOR, organisation)
        db.session.commit()
    except ServiceError as exc:
        raise _fail(exc) from exc
    click.echo(f"{organisation.name}: approved")


@orgs.command("close")
@click.argument("org")
@click.option("--yes", "confirmed", is_flag=True, help="Do not ask for the name again (scripts).")
@with_appcontext
def orgs_close(org, confirmed):
    """Close an organisation for good: it issues nothing more; what it issued still verifies."""
    organisation = _organisation(org)
    confirmation = organisation.name if confirmed else click.prompt(
        f"Closing {organisation.name} cannot be undone. Type its name to confirm", default="",
        show_default=False)
    try:
        org_service.close(db.session, policy.OPERATOR, organisation, confirmation)
        db.session.commit()
    except ServiceError as exc:
        raise _fail(exc) from exc
    click.echo(f"{organisation.name}: closed")


@orgs.command("add-member")
@click.argument("org")
@click.argument("email")
@click.option("--role", type=click.Choice(("admin", "issuer")), default="issuer", show_default=True)
@with_appcontext
def orgs_add_member(org, email, role):
    """Add an existing account to an organisation, e.g. a new admin when the last one left."""
    organisation = _organisation(org)
    try:
        org_service.add_member(db.session, policy.OPERATOR, organisation, email, role)
        db.session.commit()
    except ServiceError as exc:
        raise _fail(exc) from exc
    click.echo(f"{email} is {role} of {organisation.name}")


@orgs.command("list")
@click.option("--status", type=click.Choice(("pending", "approved", "refused")), default=None)
@with_appcontext
def orgs_list(status):
    """List organisations: id, status, name, DID."""
    for org in org_service.list_organisations(db.session, status):
        status = "closed" if org.closed_at is not None else org.status
        click.echo(f"{org.id}  {status:8}  {org.name}  {org.did}")


@achievements.command("create")
@click.option("--org", "org", required=True, help="Organisation id (or exact name).")
@click.option("--name", required=True)
@click.option("--description", required=True)
@click.option("--criteria", default="", help="What one does to earn it.")
@click.option("--criteria-url", default="", help="A page describing the criteria.")
@click.option("--kind", default="Achievement", show_default=True, help="An OB 3.0 achievementType, e.g. "
              "Diploma, Certificate, Competency, Badge, CertificateOfCompletion.")
@click.option("--tag", "tags", multiple=True, help="A tag (repeat for several).")
@click.option("--validity-months", type=int, default=None, help="Credentials expire this long after award.")
@click.option("--image", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A PNG, JPEG or SVG image (checked; an SVG is sanitised).")
@with_appcontext
def achievements_create(org, name, description, criteria, criteria_url, kind, tags, validity_months, image):
    """Create an achievement; print its id on the last line."""
    organisation = _organisation(org)
    try:
        prepared = artwork.prepare_image(image.read_bytes(), image.name) if image else None
        achievement = achievement_service.create(db.session, policy.OPERATOR, organisation, {
            "name": name, "description": description, "criteria_narrative": criteria,
            "criteria_url": criteria_url, "kind": kind, "tags": list(tags),
            "validity_months": validity_months}, image=prepared)
        db.session.commit()
    except ServiceError as exc:
        raise _fail(exc) from exc
    click.echo(f"{achievement.name} ({organisation.name})")
    click.echo(str(achievement.id))


def register(app: Flask) -> None:
    app.cli.add_command(orgs)
    app.cli.add_command(achievements)
