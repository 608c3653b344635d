"""Verification of credentials for everyone: ``POST /api/v1/verify``, the public page ``/verify`` and the
commands ``sillage verify``, ``sillage sign`` and ``sillage keys generate``.

All of them call the same function, :func:`badges.verify.verify`; this package only adapts it to HTTP and
to the command line (settings, the reader's language, exit codes, status codes).
"""
from __future__ import annotations

import os

from flask import Flask

TRUE = {"1", "true", "yes", "on"}


def init_app(app: Flask) -> None:
    """Register the page, the API route (in the OpenAPI description when flask-smorest is set up) and
    the commands."""
    from app.verification import cli, routes

    # Tests and local demos verify credentials served by a server on 127.0.0.1; nothing else may.
    app.config.setdefault("VERIFY_ALLOW_LOOPBACK",
                          os.environ.get("SILLAGE_VERIFY_ALLOW_LOOPBACK", "").lower() in TRUE)
    app.config.setdefault("RATE_LIMIT_VERIFY", os.environ.get("SILLAGE_RATE_LIMIT_VERIFY", "60/minute"))
    routes.register(app)
    cli.register(app)
