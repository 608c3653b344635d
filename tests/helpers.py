"""Small helpers shared by the tests."""
from __future__ import annotations

import re

_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(response) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF.search(response.data)
    assert match, "no CSRF token on the page"
    return match.group(1).decode()
