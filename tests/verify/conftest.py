"""Fixtures shared by the verification tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def wired(app):
    """The application (its verification routes registered by create_app) without the per-IP limit,
    which the tests that exercise it set themselves."""
    app.config["RATE_LIMIT_VERIFY"] = "off"
    return app


@pytest.fixture
def web(wired):
    return wired.test_client()
