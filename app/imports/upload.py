"""The upload of an import, for the page and the API alike: a ``multipart/form-data`` body read as it
arrives (``app.vault.formstream``), its ``file`` part written to a temporary file under the import's
limit (``imports.spool``: never whole in memory), its small fields kept."""
from __future__ import annotations

import os

from app.services import imports
from app.vault.formstream import FormReader


def receive(limit: int, fields: tuple[str, ...], *, check_csrf: bool) -> tuple[str | None, str | None, dict]:
    """(temporary path or None when no file was chosen, the file's name, the named fields). The caller
    removes the file. ``check_csrf``: the page's form (the token comes first); the API uses a bearer
    token, never a cookie, so it has none."""
    reader = FormReader()
    if not check_csrf:
        reader.token_checked = True
    path, filename, values = None, None, {}
    try:
        for kind, event in reader.parts():
            if kind == "file" and event.name == "file" and path is None and event.filename:
                filename = event.filename
                path = imports.spool(reader.data(), limit)
            elif kind == "field" and event.name in fields:
                values[event.name] = reader.value()
    except BaseException:
        if path:
            os.unlink(path)
        raise
    return path, filename, values
