"""``sillage verify``, ``sillage sign``, ``sillage keys generate``: the verifier and the signer in a shell.

They need no database (they run inside the FlaskGroup's application context only for its settings),
so they work on a machine that merely has Sillage installed: a recruiter can verify a badge, an issuer
can sign a credential with a key kept offline.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from badges.fetch import FetchError, fetch
from badges.verify import verify as verify_document

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2
MAX_INPUT_BYTES = 5 * 1024 * 1024
ACCEPT_ANY_BADGE = ("application/ld+json, application/json;q=0.9, image/png;q=0.8, image/svg+xml;q=0.8, "
                    "*/*;q=0.1")


def _default_lang() -> str:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


def _allow_loopback() -> bool:
    return bool(current_app.config.get("VERIFY_ALLOW_LOOPBACK"))


def _read_input(target: str) -> bytes:
    """The bytes of a file, of standard input (``-``) or of an https URL fetched under the SSRF guard."""
    if target.lower().startswith(("https://", "http://")):
        return fetch(target, allow_loopback=_allow_loopback(), accept=ACCEPT_ANY_BADGE,
                     max_bytes=MAX_INPUT_BYTES).body
    if target == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    else:
        with open(target, "rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise click.ClickException(f"{target} is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB")
    return data


@click.command("verify")
@click.argument("target", metavar="PATH_OR_URL")
@click.option("--json", "as_json", is_flag=True, help="Print the result object as JSON.")
@click.option("--lang", type=click.Choice(["en", "fr"]), default=_default_lang,
              help="Language of the messages (default: from LANG).")
@with_appcontext
def verify_command(target: str, as_json: bool, lang: str) -> None:
    """Verify a credential, an OB 2.0 assertion or a baked PNG/SVG badge (a file, - or an https URL).

    Exit status: 0 verified, 1 not verified, 2 unreadable input.
    """
    try:
        data = _read_input(target)
    except FetchError as exc:
        _unreadable(as_json, exc.code, f"{target}: {exc.message}")
    except (OSError, click.ClickException) as exc:
        if isinstance(exc, click.ClickException):
            message = exc.format_message()
        else:
            message = f"{target}: {exc.strerror or exc}"
        _unreadable(as_json, "unreadable_input", message)
    result = verify_document(data, allow_loopback=_allow_loopback(), locale=lang)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print_human(result, lang)
    unreadable = any(c["name"] == "parse" and not c["ok"] for c in result["checks"])
    sys.exit(EXIT_VALID if result["verified"] else EXIT_UNREADABLE if unreadable else EXIT_INVALID)


def _unreadable(as_json: bool, code: str, message: str):
    if as_json:
        errors = [{"code": code, "message": message}]
        result = {"verified": False, "checks": [], "errors": errors, "warnings": []}
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(f"✗ {message}", err=True)
    sys.exit(EXIT_UNREADABLE)


def _print_human(result: dict, lang: str) -> None:
    from badges.summary import verdict as verdict_of  # noqa: PLC0415

    width = max((len(check["name"]) for check in result["checks"]), default=0)
    for check in result["checks"]:
        mark = "✓" if check["ok"] else "✗"
        line = f"{mark} {check['name'].ljust(width)}  {check.get('detail') or ''}".rstrip()
        click.echo(line)
    for warning in result["warnings"]:
        click.echo(f"! {warning['message']}")
    # The verdict people read on the /verify page (badges.summary), reason first when not verified.
    verdict = result.get("verdict") or verdict_of(result, lang)
    click.echo(f"{verdict['title']}. {verdict['message']}")


@click.command("sign")
@click.argument("credential", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A Multikey key pair JSON (sillage keys generate --did-key).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True),
              help="Write here instead of stdout.")
@with_appcontext
def sign_command(credential: str, key_path: str, out_path: str | None) -> None:
    """Sign CREDENTIAL.json with eddsa-rdfc-2022 (Data Integrity) and print or write the signed credential.

    Real errors (undefined terms, relative ids, control characters, a missing required field) refuse it;
    remarks (e.g. a date where the schema suggests a date-time) are printed as warnings on stderr.
    """
    from app.verification import signing

    from badges.errors import BadgeError
    from badges.formats import parse_json

    try:
        with click.open_file(credential, "rb") as handle:
            unsigned = parse_json(handle.read(MAX_INPUT_BYTES + 1))  # bounded: size, depth, keys
        key = json.loads(Path(key_path).read_text(encoding="utf-8"))
    except BadgeError as exc:
        raise click.ClickException(f"cannot read the input ({exc.code}): {exc.message}") from exc
    except (OSError, ValueError, RecursionError) as exc:
        raise click.ClickException(f"cannot read the input: {exc}") from exc
    try:
        signed, warnings = signing.sign_with_warnings(unsigned, key)
    except signing.SigningRefused as exc:
        raise click.ClickException(f"{exc} ({exc.code})") from exc
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
    text = json.dumps(signed, ensure_ascii=False, indent=2) + "\n"
    if out_path:
        Path(out_path).write_text(text, encoding="utf-8")
        click.echo(f"Signed credential written to {out_path}.", err=True)
    else:
        click.echo(text, nl=False)


keys = click.Group("keys", help="Signing keys.")


@keys.command("generate")
@click.option("--did-key", "did_key", is_flag=True, required=True,
              help="Identify the key by did:key (the only kind generated offline).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False),
              help="Write the key pair here (mode 0600).")
@with_appcontext
def keys_generate(did_key: bool, out_path: str | None) -> None:
    """Generate an Ed25519 Multikey key pair identified by did:key (it contains the SECRET key)."""
    from app.verification import signing

    if not did_key:
        raise click.UsageError("only --did-key is supported")
    text = json.dumps(signing.generate_did_key(), indent=2) + "\n"
    if not out_path:
        click.echo(text, nl=False)
        return
    try:
        fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise click.ClickException(f"{out_path} already exists; not overwriting a key") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(out_path, 0o600)  # whatever the umask said
    click.echo(f"Key pair written to {out_path} (keep it secret).", err=True)


def register(app: Flask) -> None:
    """Add the commands to ``app.cli``; ``generate`` joins an existing ``keys`` group if there is one."""
    app.cli.add_command(verify_command, "verify")
    app.cli.add_command(sign_command, "sign")
    existing = app.cli.commands.get("keys")
    if isinstance(existing, click.Group) and existing is not keys:
        existing.add_command(keys_generate, "generate")
    else:
        app.cli.add_command(keys, "keys")
