"""Verification of credentials for everyone: ``POST /api/v1/verify``, the W3C VC-API routes
``POST /credentials/verify`` and ``POST /presentations/verify``, the public page ``/verify`` and the
commands ``sillage verify``, ``sillage sign`` and ``sillage keys generate``.

All of them call the same function, :func:`badges.verify.verify`; this package only adapts it to HTTP and
to the command line (settings, the reader's language, exit codes, status codes).
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the page, the API route (in the OpenAPI description when flask-smorest is set up) and
    the commands."""
    from app.verification import cli, routes, runner, vcapi

    routes.register(app)
    vcapi.register(app)
    cli.register(app)
    app.register_error_handler(runner.VerifierBusy, runner.handle_busy)
