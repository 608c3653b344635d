"""The ``sillage`` command: the same commands as ``flask --app wsgi ...``.

Commands commit once at the end of their work, like a request does.
"""
from __future__ import annotations

import gc
import logging
import os
import sys
import threading

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from app.config import default_workers
from app.extensions import db

DEFAULT_THREADS = 4  # per worker: a slow upload or download holds one of them, not a whole worker
DEFAULT_TIMEOUT = 60  # seconds without a sign of life from a worker's main loop (not a request limit)
# gunicorn's default format with the path instead of the request line (``%(U)s`` has no query string): an
# old letter's ``/activate?code=…`` (and any other secret a query may carry) never reaches the access log
# (review 14, L4). The referrer is left out for the same reason.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'


def _freeze_after_start(_worker) -> None:
    """gunicorn's ``post_worker_init`` hook: the application just built in this worker (SQLAlchemy
    mappers, Jinja, Babel catalogues, routes) lives as long as the worker, so it is moved out of the
    garbage collector's sight: full collections stop scanning those objects again and again. Then the
    PDF machinery warms up beside the serving threads (``_warm_up_pdf``)."""
    gc.collect()
    gc.freeze()
    threading.Thread(target=_warm_up_pdf, name="sillage-pdf-warm-up", daemon=True).start()


def _warm_up_pdf() -> None:
    """Import WeasyPrint and print a tiny page, off the request path: the first activation letters (or CV
    PDF) of a worker no longer pay about 1.3 s for it. A thread, not ``create_app``: the worker answers at
    once, and tests and commands, which build the app without serving, never pay it. A failure here only
    costs the first PDF its old delay, so it is logged and nothing more."""
    try:
        from cv_templates import pdf
        pdf.warm_up()
    except Exception:  # noqa: BLE001 - never take a worker down for a warm-up
        logging.getLogger(__name__).warning("PDF warm-up failed", exc_info=True)
    gc.freeze()  # WeasyPrint's modules and caches live as long as the worker, like the application


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--workers", type=int, default=None, help="Gunicorn workers (default: CPUs + 1, or SILLAGE_WORKERS).")
@click.option("--threads", type=int, default=None,
              help=f"Threads per worker (default: {DEFAULT_THREADS}, or SILLAGE_THREADS).")
@click.option("--timeout", type=int, default=None,
              help=f"Seconds a silent worker lives (default: {DEFAULT_TIMEOUT}, or SILLAGE_TIMEOUT).")
def serve(host: str, port: int, workers: int | None, threads: int | None, timeout: int | None) -> None:
    """Serve the application with gunicorn (a production WSGI server, several workers).

    The workers are gunicorn's threaded ones (``gthread``), whatever the thread count. With its sync
    workers, ``timeout`` bounds each request: a vault upload or download longer than that (500 MiB on
    a slow line) had its worker killed mid-transfer. A gthread worker's main loop reports to the
    arbiter while its threads serve, so ``timeout`` only detects a worker that is stuck as a whole,
    and a slow client holds one thread, not the worker (gunicorn's documentation of ``timeout``)."""
    from gunicorn.app.base import BaseApplication

    from app import create_app, jobs

    workers = workers or int(os.environ.get("SILLAGE_WORKERS") or default_workers())
    consumer = jobs.embedded_consumer()  # one job consumer beside the web workers, unless external
    threads = threads or int(os.environ.get("SILLAGE_THREADS") or DEFAULT_THREADS)
    timeout = timeout if timeout is not None else int(os.environ.get("SILLAGE_TIMEOUT") or DEFAULT_TIMEOUT)
    # The settings derived from the request capacity (verification slots) see the real figures.
    os.environ["SILLAGE_WORKERS"], os.environ["SILLAGE_THREADS"] = str(workers), str(threads)

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", os.environ.get("SILLAGE_ACCESS_LOG") or None)
            self.cfg.set("access_log_format", ACCESS_LOG_FORMAT)
            self.cfg.set("timeout", timeout)
            self.cfg.set("post_worker_init", _freeze_after_start)
            if consumer is not None:
                self.cfg.set("when_ready", consumer.start)
                self.cfg.set("on_exit", consumer.stop)

        def load(self):
            # Each worker builds its own application (and database engine) after the fork.
            return create_app()

    click.echo(f"Sillage on http://{host}:{port} ({workers} workers)")
    click.echo("Jobs: one consumer started with the server." if consumer else
               "Jobs: no consumer started by the server (SILLAGE_JOBS_CONSUMER=external, or immediate mode).")
    Server().run()


@click.command("demo")
@click.option("--accounts", type=int, default=0, help="Also generate N synthetic accounts (benchmarks).")
@with_appcontext
def demo(accounts: int) -> None:
    """Load the demo data (idempotent) and print the demo logins."""
    from app import demo as demo_data

    lines = demo_data.load(db.session, extra_accounts=accounts)
    db.session.commit()
    for line in lines:
        click.echo(line)


users = click.Group("users", help="Manage accounts.")


@users.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make this account a platform admin.")
@click.option("--name", default="", help="Display name.")
@with_appcontext
def users_create(email: str, admin: bool, name: str) -> None:
    """Create a verified account; the password is read from standard input."""
    from app.services import accounts
    from app.services.errors import ServiceError

    password = sys.stdin.readline().rstrip("\r\n") if not sys.stdin.isatty() else click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(db.session, email=email, password=password, display_name=name,
                                    is_admin=admin, verified=True)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        details = "".join(f"\n  {name}: {message}" for name, message in exc.fields.items())
        raise click.ClickException(f"{exc.message}{details}") from exc
    click.echo(f"Created {user.email}{' (admin)' if admin else ''}.")


keys = click.Group("keys", help="Signing keys and the instance master key.")


@keys.command("rotate-master")
@click.option("--new-key-file", type=click.File("r"), default=None,
              help="Read the new master key from this file (default: generate one).")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=500, show_default=True,
              help="Data keys re-wrapped per transaction.")
@with_appcontext
def keys_rotate_master(new_key_file, batch_size: int) -> None:
    """Re-wrap every vault data key and organisation signing key under a new master key; run it again to
    resume after an interruption.

    The new key goes to <instance>/master_key.next first; each batch commits; at the end the old key is
    kept as master_key.old and master_key.next takes the place of master_key (with SILLAGE_MASTER_KEY,
    the command says how to switch instead). Documents are not touched. The key is never printed.
    """
    from flask import current_app

    from app.services import vault_keys
    from certs.vault import VaultError

    config = current_app.config
    try:
        ring, resuming = vault_keys.begin_rotation(config, new_key_file.read() if new_key_file else None)
        left = vault_keys.pending(db.session, ring)
        click.echo(f"{'Resuming the' if resuming else 'Starting a'} rotation to master key "
                   f"{ring.wrapping_id}: {left} data key(s) to re-wrap.")
        done = 0
        while count := vault_keys.rewrap_batch(db.session, ring, batch_size):
            db.session.commit()
            done += count
            click.echo(f"  {done} re-wrapped")
        click.echo(vault_keys.finish_rotation(config))
    except (vault_keys.RotationRefused, VaultError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc


def register(app: Flask) -> None:
    from app.jobs import worker

    for command in (serve, demo, users, worker):
        app.cli.add_command(command)
    from app.issuing import cli as issuing_cli  # sillage orgs / achievements
    issuing_cli.register(app)
    from app.sharing.cli import group as access_log_cli  # sillage access-log
    app.cli.add_command(access_log_cli)
    from app.exports.cli import export_command  # sillage export
    from app.feed.cli import group as feed_cli  # sillage feed
    from app.frameworks.cli import frameworks as frameworks_cli  # sillage frameworks
    from app.imports.cli import import_command  # sillage import
    from app.institutions.cli import roster as roster_cli  # sillage roster
    from app.path.cli import group as trainings_cli  # sillage trainings
    for command in (export_command, feed_cli, frameworks_cli, import_command, roster_cli, trainings_cli):
        app.cli.add_command(command)
    from app.admin import cli as admin_cli; admin_cli.register(app)  # noqa: E702  sillage users suspend
    # ``keys`` is shared with the verifier's ``keys generate`` (app.verification.cli), whichever comes first.
    existing = app.cli.commands.get("keys")
    if isinstance(existing, click.Group) and existing is not keys:
        existing.add_command(keys_rotate_master, "rotate-master")
    else:
        app.cli.add_command(keys)


def main() -> None:
    from app import create_app

    FlaskGroup(create_app=create_app, help="Sillage e-portfolio.")(
        prog_name="sillage")


