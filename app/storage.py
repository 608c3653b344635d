"""Blob storage: one small interface over where file contents live, chosen by ``STORAGE_URL``.

Two backends, the same behaviour (``tests/test_storage.py`` runs every test on both):

- ``file:///path`` (the default: the instance folder) keeps blobs under ``<path>/blobs/<key>``, mode
  0600, written through a temporary file in the same folder and ``os.replace``, so that a reader never
  sees half a file and a crash or a failed upload never leaves one.
- ``s3://bucket/prefix`` keeps them as objects ``prefix/<key>`` in any S3-compatible store (boto3, the
  ``[s3]`` extra). Endpoint, region and credentials come from ``SILLAGE_S3_*`` (see ``from_url``).
  Large streams go up as a multipart upload whose parts are held one at a time, and which is aborted
  on any failure, so an abandoned upload leaves neither an object nor a pending upload behind.

Keys are relative, slash-separated names such as ``photos/<portfolio id>/<uuid>.jpg``; anything that
could escape the blob folder (or name a temporary file) is refused. Writes stream: ``put_stream``
consumes an iterable of chunks and never holds more than one chunk (local) or one part (S3), which
is what lets the vault take a 200 MiB upload with flat memory. Reads stream too (``open``,
``get_range``). A missing blob raises ``BlobNotFound``; an outage of any kind (unreachable endpoint,
refused credentials, full disk) raises ``StorageUnavailable``, the one type callers turn into a clear
error. Exceptions raised by the caller's iterable itself (a client that disconnects mid-upload) pass
through unchanged, after the partial write has been undone.

Blobs live outside the database transaction. ``delete_after_commit`` and ``delete_unless_committed``
tie their lifetime to it: a replaced photo's old blob goes only once the new key is committed, and a
blob written for a request that then fails is removed again instead of lingering unreferenced.
"""
from __future__ import annotations

import builtins
import io
import logging
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import unquote, urlparse

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# Each segment starts with a letter or digit: no "..", no hidden files, no empty segments.
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
KEY = re.compile(rf"^{_SEGMENT}(?:/{_SEGMENT}){{0,15}}$")
# S3 bucket naming rules (the DNS-compatible subset every S3-compatible store accepts).
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
EXTENSION_KEY = "sillage.storage"
MiB = 1024 * 1024


class StorageConfigError(RuntimeError):
    """``STORAGE_URL`` (or a ``SILLAGE_S3_*`` variable) names a backend this instance cannot use."""


class BlobNotFound(LookupError):
    """No blob is stored under this key."""


class StorageUnavailable(RuntimeError):
    """The storage cannot serve the request now (unreachable, refusing our credentials, disk full).

    ``code`` is the store's error code when it gave one (e.g. ``SignatureDoesNotMatch``), for logs.
    """

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative name; raise ``ValueError`` otherwise."""
    if not isinstance(key, str) or not KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


def _check_range(start: int, length: int) -> None:
    if not (isinstance(start, int) and isinstance(length, int)) or start < 0 or length < 0:
        raise ValueError(f"invalid byte range: start={start!r}, length={length!r}")


class Storage(Protocol):
    """What every backend offers (and what ``backend()`` returns)."""

    def put_stream(self, key: str, chunks: Iterable[bytes], content_type: str) -> int: ...
    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def open(self, key: str) -> BinaryIO: ...
    def get(self, key: str) -> bytes: ...
    def get_range(self, key: str, start: int, length: int) -> bytes: ...
    def size(self, key: str) -> int: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def delete_prefix(self, prefix: str) -> int: ...


# --- Local files -------------------------------------------------------------------------------------


@contextmanager
def _local_errors(key: str, writing: bool = False):
    """Map the operating system's errors: reading no file → ``BlobNotFound``, anything else (a write
    that fails for any reason, a full disk, a folder we may not read) → ``StorageUnavailable``."""
    not_found = () if writing else (FileNotFoundError, IsADirectoryError, NotADirectoryError)
    try:
        yield
    except not_found:
        raise BlobNotFound(key) from None
    except OSError as exc:
        raise StorageUnavailable(f"local storage error for {key}: {exc.strerror or exc}") from exc


class FileStorage:
    """Blobs as files under ``<root>/blobs``; files are created with mode 0600 (private content)."""

    def __init__(self, root: Path):
        self.root = (Path(root) / "blobs").resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:  # belt and braces against symlinked folders
            raise ValueError(f"invalid storage key: {key!r}")
        return path

    def put_stream(self, key: str, chunks: Iterable[bytes], content_type: str) -> int:
        """Write the chunks as they come to a private temporary file, then rename it over ``key``.

        Nothing is visible under ``key`` until the last chunk is on disk; if the iterable raises (the
        client went away) or the disk fails, the temporary file is removed and the error propagates
        (the iterable's own, or ``StorageUnavailable``), leaving any previous blob untouched.
        """
        path = self._path(key)
        written = 0
        with _local_errors(key, writing=True):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:  # the caller's exceptions propagate unchanged
                    with _local_errors(key, writing=True):
                        fh.write(chunk)
                    written += len(chunk)
                with _local_errors(key, writing=True):
                    fh.flush()
                    os.fsync(fh.fileno())
            with _local_errors(key, writing=True):
                os.replace(tmp, path)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp)
            raise
        return written

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.put_stream(key, (data,), content_type)

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        with _local_errors(key):
            fh = builtins.open(path, "rb")
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                fh.close()
                raise FileNotFoundError(key)
            return fh

    def get(self, key: str) -> bytes:
        with self.open(key) as fh, _local_errors(key):
            return fh.read()

    def get_range(self, key: str, start: int, length: int) -> bytes:
        _check_range(start, length)
        with self.open(key) as fh, _local_errors(key):
            fh.seek(start)
            return fh.read(length)

    def size(self, key: str) -> int:
        with _local_errors(key):
            info = os.stat(self._path(key))
        if not stat.S_ISREG(info.st_mode):
            raise BlobNotFound(key)
        return info.st_size

    def delete(self, key: str) -> None:
        path = self._path(key)
        with suppress(BlobNotFound), _local_errors(key):
            path.unlink()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete_prefix(self, prefix: str) -> int:
        """Remove every blob under the folder ``prefix`` (and the folder); the number removed."""
        folder = self._path(prefix)
        removed = 0
        with _local_errors(prefix, writing=True):
            if not folder.is_dir() or folder.is_symlink():
                return 0
            for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                if path.is_dir() and not path.is_symlink():
                    path.rmdir()
                else:
                    path.unlink()
                    removed += not path.name.startswith(".tmp-")
            folder.rmdir()
        return removed


# --- S3-compatible object storage ----------------------------------------------------------------------

# Error codes meaning "no such object" (HEAD answers with a bare status, GET with a code).
_S3_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


class S3Storage:
    """Blobs as objects ``<prefix>/<key>`` in one bucket of an S3-compatible store.

    ``part_size`` (at least 5 MiB, the S3 minimum for every part but the last) is also the most a
    streamed upload holds in memory at once. A stream shorter than one part goes up as a single PUT.
    """

    MIN_PART_SIZE = 5 * MiB
    LIST_PAGE = 1000  # objects or pending uploads per listing request (S3's maximum); tests use less

    def __init__(self, client, bucket: str, prefix: str = "", part_size: int = 8 * MiB):
        if part_size < self.MIN_PART_SIZE:
            raise ValueError(f"S3 parts must be at least 5 MiB, not {part_size}")
        self.client, self.bucket, self.prefix, self.part_size = client, bucket, prefix.strip("/"), part_size

    def _name(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _errors(self, key: str, action: str):
        """Map boto3's errors to ours; messages carry the store's code, never a credential."""
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
            if code in _S3_NOT_FOUND:
                raise BlobNotFound(key) from None
            raise StorageUnavailable(
                f"S3 storage refused to {action} {key} in bucket {self.bucket} ({code}: "
                f"{error.get('Message', '')})", code=code) from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"S3 storage unreachable ({action} {key}): {exc}") from exc

    def put_stream(self, key: str, chunks: Iterable[bytes], content_type: str) -> int:
        """Upload the chunks, one part at a time; abort the multipart upload on any failure.

        The object appears only when the upload completes (S3 makes both PUT and
        CompleteMultipartUpload atomic), so a failed or abandoned stream leaves nothing under ``key``
        and any previous object untouched.
        """
        name = self._name(key)
        buffer, written, upload_id, parts = bytearray(), 0, None, []
        try:
            for chunk in chunks:  # the caller's exceptions propagate unchanged (after the abort below)
                buffer += chunk
                written += len(chunk)
                if len(buffer) >= self.part_size:
                    if upload_id is None:
                        with self._errors(key, "start uploading"):
                            upload_id = self.client.create_multipart_upload(
                                Bucket=self.bucket, Key=name, ContentType=content_type)["UploadId"]
                    parts.append(self._upload_part(key, name, upload_id, len(parts) + 1, buffer))
                    buffer = bytearray()  # the sent part is released before the next one fills
            if upload_id is None:
                with self._errors(key, "write"):
                    self.client.put_object(Bucket=self.bucket, Key=name, Body=bytes(buffer),
                                           ContentType=content_type)
                return written
            if buffer:
                parts.append(self._upload_part(key, name, upload_id, len(parts) + 1, buffer))
            with self._errors(key, "finish uploading"):
                self.client.complete_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id,
                                                      MultipartUpload={"Parts": parts})
            upload_id = None
            return written
        except BaseException:
            if upload_id is not None:
                self._abort(key, name, upload_id)
            raise

    def _upload_part(self, key: str, name: str, upload_id: str, number: int, data: bytearray) -> dict:
        with self._errors(key, "upload a part of"):
            answer = self.client.upload_part(Bucket=self.bucket, Key=name, UploadId=upload_id,
                                             PartNumber=number, Body=data)
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def _abort(self, key: str, name: str, upload_id: str) -> None:
        try:
            with self._errors(key, "abort uploading"):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
        except (StorageUnavailable, BlobNotFound):
            # The original error matters more; the store's lifecycle rules can reap what is left.
            log.exception("Could not abort the multipart upload of blob %s", key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.put_stream(key, (data,), content_type)

    def _get(self, key: str, byte_range: str | None = None) -> dict:
        extra = {"Range": byte_range} if byte_range else {}
        with self._errors(key, "read"):
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key), **extra)

    def open(self, key: str) -> BinaryIO:
        return _S3Reader(self, key, self.size(key))

    def get(self, key: str) -> bytes:
        body = self._get(key)["Body"]  # one round trip (``open`` adds a HEAD for the size)
        with self._errors(key, "read"):
            try:
                return body.read()
            finally:
                body.close()

    def get_range(self, key: str, start: int, length: int) -> bytes:
        _check_range(start, length)
        if length == 0:
            self.size(key)  # still BlobNotFound for a missing blob
            return b""
        try:
            body = self._get(key, f"bytes={start}-{start + length - 1}")["Body"]
        except StorageUnavailable as exc:
            if exc.code == "InvalidRange":  # starts at or after the end (HTTP 416)
                self.size(key)
                return b""
            raise
        with self._errors(key, "read"):
            try:
                return body.read()
            finally:
                body.close()

    def size(self, key: str) -> int:
        with self._errors(key, "inspect"):
            return int(self.client.head_object(Bucket=self.bucket, Key=self._name(key))["ContentLength"])

    def delete(self, key: str) -> None:
        with self._errors(key, "delete"):
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except BlobNotFound:
            return False
        return True

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under ``prefix/`` (listed, then deleted 1000 at a time), and abort the
        multipart uploads left pending there; the number of objects removed."""
        name = self._name(prefix) + "/"
        removed = 0
        with self._errors(prefix, "delete"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=name, PaginationConfig={"PageSize": self.LIST_PAGE})
            for page in pages:
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    answer = self.client.delete_objects(Bucket=self.bucket,
                                                        Delete={"Objects": keys, "Quiet": True})
                    if answer.get("Errors"):
                        first = answer["Errors"][0]
                        raise StorageUnavailable(f"S3 storage refused to delete {first.get('Key')} "
                                                 f"({first.get('Code')})", code=first.get("Code"))
                    removed += len(keys)
            # One ListMultipartUploads answer holds at most 1,000 uploads: the paginator follows
            # NextKeyMarker / NextUploadIdMarker, so that an owner with more pending uploads than one
            # page (interrupted uploads pile up) keeps no part of them after the deletion.
            uploads = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=name, PaginationConfig={"PageSize": self.LIST_PAGE})
            for page in uploads:
                for upload in page.get("Uploads", []):
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                       UploadId=upload["UploadId"])
        return removed


class _S3Reader(io.RawIOBase):
    """A streamed, seekable reader of one object: one GET from the current position, reissued as a
    ranged GET after a seek, so that serving an HTTP Range never downloads what precedes it."""

    def __init__(self, store: S3Storage, key: str, size: int):
        super().__init__()
        self._store, self._key, self._size, self._pos, self._body = store, key, size, 0, None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        if base + offset != self._pos:
            self._drop_body()
            self._pos = base + offset
        return self._pos

    def readinto(self, buffer) -> int:
        if self._pos >= self._size or not len(buffer):
            return 0
        if self._body is None:
            self._body = self._store._get(self._key, f"bytes={self._pos}-")["Body"]
        with self._store._errors(self._key, "read"):
            data = self._body.read(min(len(buffer), self._size - self._pos))
        if not data:  # the store ended the stream early: never pass that off as the end of the blob
            raise StorageUnavailable(f"S3 storage ended the read of {self._key} early")
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def readall(self) -> bytes:
        """The rest of the blob, read in large pieces (the default would ask for 8 KiB at a time)."""
        pieces = []
        while piece := self.read(MiB):
            pieces.append(piece)
        return b"".join(pieces)

    def _drop_body(self) -> None:
        if self._body is not None:
            body, self._body = self._body, None
            with suppress(Exception):
                body.close()

    def close(self) -> None:
        self._drop_body()
        super().close()


def s3_client(endpoint_url: str | None = None, region: str | None = None, access_key_id: str | None = None,
              secret_access_key: str | None = None, max_attempts: int = 3, connect_timeout: float = 5):
    """A boto3 S3 client for any S3-compatible store.

    Checksums only when the operation requires them: since botocore 1.36 the default adds CRC32
    trailers that several S3-compatible stores refuse. A custom endpoint gets path-style addressing,
    which every such store serves without DNS set-up. Credentials, when not given, come from boto3's
    usual chain (``AWS_ACCESS_KEY_ID``…, a profile, an instance role).
    """
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id=access_key_id or None,
                                    aws_secret_access_key=secret_access_key or None, region_name=region)
    config = Config(
        region_name=region or session.region_name or "us-east-1", signature_version="s3v4",
        connect_timeout=connect_timeout, read_timeout=60,
        retries={"mode": "standard", "max_attempts": max_attempts},
        request_checksum_calculation="when_required", response_checksum_validation="when_required",
        s3={"addressing_style": "path" if endpoint_url else "auto"})
    if session.get_credentials() is None:
        raise StorageConfigError(
            "SILLAGE_STORAGE_URL is s3:// but no S3 credentials were found: set SILLAGE_S3_ACCESS_KEY_ID "
            "and SILLAGE_S3_SECRET_ACCESS_KEY (or boto3's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).")
    return session.client("s3", endpoint_url=endpoint_url or None, config=config)


def _shown(url: str) -> str:
    """``url`` fit for an error message or a log: any ``user:password@`` replaced by ``***@``."""
    return re.sub(r"^([a-z0-9+.-]*://)[^/@]*@", r"\1***@", url, flags=re.I)


def _s3_from_url(url: str, options: Mapping) -> S3Storage:
    parsed = urlparse(url)
    bucket = parsed.netloc
    if not BUCKET.match(bucket) or ".." in bucket:
        raise StorageConfigError(
            f"SILLAGE_STORAGE_URL must be s3://bucket/prefix with a valid bucket name (3 to 63 lowercase "
            f"letters, digits, dots and hyphens), not {_shown(url)!r}.")
    if parsed.query or parsed.fragment or parsed.params:
        raise StorageConfigError(
            f"SILLAGE_STORAGE_URL takes no query or fragment: s3://bucket/prefix, not {_shown(url)!r}.")
    prefix = unquote(parsed.path).strip("/")
    if prefix:
        try:
            check_key(prefix)
        except ValueError:
            raise StorageConfigError(
                f"The prefix {prefix!r} of SILLAGE_STORAGE_URL must be slash-separated names of letters, "
                f"digits, '.', '_' and '-'.") from None
    endpoint = options.get("S3_ENDPOINT_URL") or None
    if endpoint:
        target = urlparse(endpoint)
        if target.scheme not in ("http", "https") or not target.hostname or "@" in target.netloc:
            raise StorageConfigError(
                f"SILLAGE_S3_ENDPOINT_URL must be http(s)://host[:port] (no credentials in it), not "
                f"{target.scheme}://{target.hostname}….")
    access_key, secret = options.get("S3_ACCESS_KEY_ID"), options.get("S3_SECRET_ACCESS_KEY")
    if bool(access_key) != bool(secret):
        missing = "SILLAGE_S3_SECRET_ACCESS_KEY" if access_key else "SILLAGE_S3_ACCESS_KEY_ID"
        raise StorageConfigError(f"{missing} is not set: the S3 credentials need both "
                                 f"SILLAGE_S3_ACCESS_KEY_ID and SILLAGE_S3_SECRET_ACCESS_KEY.")
    try:
        client = s3_client(endpoint, options.get("S3_REGION") or None, access_key, secret)
    except ImportError:
        raise StorageConfigError("SILLAGE_STORAGE_URL is s3:// but boto3 is not installed: install "
                                 "Sillage with the [s3] extra (pip install 'sillage[s3]').") from None
    except StorageConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. botocore's ProfileNotFound: a configuration error
        raise StorageConfigError(f"The S3 settings cannot be used: {exc}") from None
    return S3Storage(client, bucket, prefix)


def from_url(url: str, options: Mapping | None = None) -> Storage:
    """Build the backend that ``url`` names, or explain why it cannot be used.

    ``options`` holds the S3 settings (the app configuration's ``S3_ENDPOINT_URL``, ``S3_REGION``,
    ``S3_ACCESS_KEY_ID``, ``S3_SECRET_ACCESS_KEY``, from the ``SILLAGE_`` variables of those names).
    Nothing is contacted here: a store that is down at start-up only fails the requests that need it.
    """
    parsed = urlparse(url or "")
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/"):
            raise StorageConfigError(
                f"SILLAGE_STORAGE_URL must be file:///absolute/path, not {_shown(url)!r}.")
        return FileStorage(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        return _s3_from_url(url, options or {})
    raise StorageConfigError(
        f"Unsupported SILLAGE_STORAGE_URL scheme {parsed.scheme!r}; use file:///path or s3://bucket/prefix.")


def init_app(app: Flask) -> None:
    """Build the backend once at start-up, so that a wrong ``STORAGE_URL`` fails early and clearly."""
    app.extensions[EXTENSION_KEY] = from_url(app.config["STORAGE_URL"], app.config)


def backend() -> Storage:
    store = current_app.extensions.get(EXTENSION_KEY)
    if store is None:
        init_app(current_app)
        store = current_app.extensions[EXTENSION_KEY]
    return store


def put_stream(key: str, chunks: Iterable[bytes], content_type: str = "application/octet-stream") -> int:
    """Store the chunks under ``key`` as they come; the number of bytes written. Atomic: if the
    iterable or the storage fails, nothing is left under ``key`` (and a previous blob stays)."""
    return backend().put_stream(key, chunks, content_type)


def put(key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
    """Store ``data`` under ``key``, replacing any previous blob atomically."""
    backend().put(key, data, content_type)


def get(key: str) -> bytes:
    """The whole blob; raises ``BlobNotFound``."""
    return backend().get(key)


def open(key: str) -> BinaryIO:  # noqa: A001 - the facade's natural name
    """A seekable binary file-like object, read as needed; raises ``BlobNotFound``. The caller closes it."""
    return backend().open(key)


def get_range(key: str, start: int, length: int) -> bytes:
    """Up to ``length`` bytes from offset ``start`` (fewer at the end of the blob, none past it)."""
    return backend().get_range(key, start, length)


def size(key: str) -> int:
    """The blob's length in bytes; raises ``BlobNotFound``."""
    return backend().size(key)


def delete(key: str) -> None:
    """Remove the blob; a missing one is not an error (deletion is idempotent)."""
    backend().delete(key)


def exists(key: str) -> bool:
    return backend().exists(key)


def delete_prefix(prefix: str) -> int:
    """Remove every blob whose key starts with ``prefix/`` (an owner's vault); the number removed."""
    return backend().delete_prefix(prefix)


# --- Blob lifetimes tied to the database transaction ------------------------------------------------

_AFTER_COMMIT = "storage.delete_after_commit"
_UNLESS_COMMITTED = "storage.delete_unless_committed"


def delete_after_commit(session, key: str) -> None:
    """Delete ``key`` once ``session`` commits (e.g. the photo being replaced); kept on rollback."""
    session.info.setdefault(_AFTER_COMMIT, []).append((backend(), key))


def delete_prefix_after_commit(session, prefix: str) -> None:
    """Delete every blob under ``prefix`` once ``session`` commits (a deleted account's vault)."""
    session.info.setdefault(_AFTER_COMMIT, []).append((backend(), _Prefix(prefix)))


def delete_unless_committed(session, key: str) -> None:
    """Delete ``key`` if ``session``'s transaction ends without a commit (e.g. a just-written photo)."""
    session.info.setdefault(_UNLESS_COMMITTED, []).append((backend(), key))


@contextmanager
def delete_new_blobs_on_error(session):
    """Delete, if the block raises, the blobs it scheduled with ``delete_unless_committed``: for work run
    in a SAVEPOINT (a batch item) whose failure rolls back its rows while the outer transaction still
    commits, so that the end-of-transaction cleanup would never see its blobs as orphans."""
    pending = session.info.setdefault(_UNLESS_COMMITTED, [])
    start = len(pending)
    try:
        yield
    except BaseException:
        _delete_all(pending[start:])
        del pending[start:]
        raise


class _Prefix(str):
    """A scheduled deletion of a whole prefix rather than of one key."""


def _delete_all(entries) -> None:
    for store, key in entries:
        try:
            if isinstance(key, _Prefix):
                store.delete_prefix(key)
            else:
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
