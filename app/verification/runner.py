"""Run the verifier with the application's settings and the reader's language."""
from __future__ import annotations

from flask import current_app
from flask_babel import get_locale

from badges.verify import verify

# What a person may upload: a baked image is larger than a credential, but never this large.
MAX_FILE_BYTES = 5 * 1024 * 1024
# A credential sent as JSON (the verifier's own parse cap is the same).
MAX_JSON_BYTES = 1024 * 1024


def reader_locale() -> str:
    locale = get_locale()
    return str(locale.language if locale else "en")


def run(data) -> dict:
    """Verify ``data`` (a dict, JSON text, bytes of JSON or of a baked image, or a badge URL)."""
    return verify(data, allow_loopback=bool(current_app.config.get("VERIFY_ALLOW_LOOPBACK")),
                  locale=reader_locale())


def parse_failure(result: dict) -> str | None:
    """The code of a failed ``parse`` check (the input could not be read at all), else None."""
    for check in result["checks"]:
        if check["name"] == "parse" and not check["ok"]:
            return check["code"]
    return None
