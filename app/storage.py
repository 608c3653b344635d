"""Blob storage: a small facade over where file contents live, chosen by ``STORAGE_URL``.

``file:///path`` (the default: the instance folder) keeps blobs under ``<path>/blobs/<key>``, written
atomically (temporary file in the same folder, then ``os.replace``), so that a reader never sees half a
file and a crash never leaves one. Keys are relative, slash-separated names such as
``photos/<portfolio id>/<uuid>.jpg``; anything that could escape the blob folder is refused.

``s3://`` is part of the design (boto3, with the vault issue) but not of this version: configuring it
is a clear error at start-up rather than a backend nobody has tested.

Blobs live outside the database transaction. ``delete_after_commit`` and ``delete_unless_committed``
tie their lifetime to it: a replaced photo's old blob goes only once the new key is committed, and a
blob written for a request that then fails is removed again instead of lingering unreferenced.
"""
from __future__ import annotations

import builtins
import logging
import os
import re
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# Each segment starts with a letter or digit: no "..", no hidden files, no empty segments.
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
KEY = re.compile(rf"^{_SEGMENT}(?:/{_SEGMENT}){{0,15}}$")
EXTENSION_KEY = "sillage.storage"


class StorageConfigError(RuntimeError):
    """``STORAGE_URL`` names a backend this version cannot use."""


class BlobNotFound(LookupError):
    """No blob is stored under this key."""


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative name; raise ``ValueError`` otherwise."""
    if not isinstance(key, str) or not KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


class FileStorage:
    """Blobs as files under ``<root>/blobs``; files are created with mode 0600 (private content)."""

    def __init__(self, root: Path):
        self.root = (Path(root) / "blobs").resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:  # belt and braces against symlinked folders
            raise ValueError(f"invalid storage key: {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp)
            raise

    def open(self, key: str) -> BinaryIO:
        try:
            return builtins.open(self._path(key), "rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def get(self, key: str) -> bytes:
        with self.open(key) as fh:
            return fh.read()

    def delete(self, key: str) -> None:
        with suppress(FileNotFoundError):
            self._path(key).unlink()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


def from_url(url: str) -> FileStorage:
    """Build the backend that ``url`` names, or explain why it cannot be used."""
    parsed = urlparse(url or "")
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/"):
            raise StorageConfigError(f"STORAGE_URL must be file:///absolute/path, not {url!r}.")
        return FileStorage(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        raise StorageConfigError(
            "S3 storage is not available in this version of Sillage (boto3 support comes with the "
            "document vault). Use SILLAGE_STORAGE_URL=file:///path, or leave it unset for the "
            "instance folder.")
    raise StorageConfigError(f"Unsupported STORAGE_URL scheme {parsed.scheme!r}; use file:///path.")


def init_app(app: Flask) -> None:
    """Build the backend once at start-up, so that a wrong ``STORAGE_URL`` fails early and clearly."""
    app.extensions[EXTENSION_KEY] = from_url(app.config["STORAGE_URL"])


def backend() -> FileStorage:
    store = current_app.extensions.get(EXTENSION_KEY)
    if store is None:
        init_app(current_app)
        store = current_app.extensions[EXTENSION_KEY]
    return store


def put(key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
    """Store ``data`` under ``key``, replacing any previous blob atomically."""
    backend().put(key, data, content_type)


def get(key: str) -> bytes:
    """The whole blob; raises ``BlobNotFound``."""
    return backend().get(key)


def open(key: str) -> BinaryIO:  # noqa: A001 - the facade's natural name
    """A binary file-like object for streaming; raises ``BlobNotFound``. The caller closes it."""
    return backend().open(key)


def delete(key: str) -> None:
    """Remove the blob; a missing one is not an error (deletion is idempotent)."""
    backend().delete(key)


def exists(key: str) -> bool:
    return backend().exists(key)


# --- Blob lifetimes tied to the database transaction ------------------------------------------------

_AFTER_COMMIT = "storage.delete_after_commit"
_UNLESS_COMMITTED = "storage.delete_unless_committed"


def delete_after_commit(session, key: str) -> None:
    """Delete ``key`` once ``session`` commits (e.g. the photo being replaced); kept on rollback."""
    session.info.setdefault(_AFTER_COMMIT, []).append((backend(), key))


def delete_unless_committed(session, key: str) -> None:
    """Delete ``key`` if ``session``'s transaction ends without a commit (e.g. a just-written photo)."""
    session.info.setdefault(_UNLESS_COMMITTED, []).append((backend(), key))


def _delete_all(entries) -> None:
    for store, key in entries:
        try:
            store.delete(key)
        except Exception:  # noqa: BLE001 - the transaction is over; an orphan blob is only logged
            log.exception("Could not delete blob %s", key)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT released: the outer transaction may still fail
        return
    session.info.pop(_UNLESS_COMMITTED, None)
    _delete_all(session.info.pop(_AFTER_COMMIT, []))


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return
    # Reached without a commit (rollback, or the session closed): undo the blob writes.
    session.info.pop(_AFTER_COMMIT, None)
    _delete_all(session.info.pop(_UNLESS_COMMITTED, []))
