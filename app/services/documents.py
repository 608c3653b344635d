"""The vault's documents: streamed encrypted upload, search, rename and tags, ranged reads, thumbnails,
quota, and links as evidence to experiences, diplomas and skills.

Shared by the API (``app.api.documents``), the pages (``app.vault``) and the demo. Like every service,
functions take the session, the acting user and plain values, flush and never commit.

Why it is built this way:
- Memory stays flat whatever the size. ``store`` takes an iterable of byte pieces (the request body as
  it arrives) and pipes it through a meter (size limit, quota, content sniffing), the cipher
  (``certs.vault.encrypt_stream``, 64 KiB chunks) and ``storage.put_stream``: at no point is the file
  whole in memory or spooled to disk. ``receive`` does the same from a raw ``multipart/form-data``
  stream, with werkzeug's incremental (sans-IO) parser instead of its form parser, which spools files.
- Nothing half-done survives a failure. The blob is written before the row exists; a failure while
  streaming (limit, quota, client gone, storage down) leaves nothing under the key (``put_stream`` is
  atomic), and a failure after it removes the blob when the transaction ends without a commit
  (``storage.delete_unless_committed``). Quota is the sum of the row sizes, so it moves only when a
  row is committed.
- Nothing in storage reveals a file: keys are ``vault/<portfolio id>/<random>``, blobs are the owner's
  data key ciphertext bound (AAD) to the document id, thumbnails are encrypted the same way.
- The type is sniffed from the first bytes, never taken from the name or the client, and downloads
  are always attachments: the vault never renders anything inline (stored XSS).
- Reads check what they can before the first byte goes out (blob present, its length matching the
  recorded size, the first chunk authentic): a bad blob is then a clear error, not a broken download.
  A fault found later (an altered chunk in the middle) raises ``DocumentCorrupted`` from the iterator,
  so that the HTTP server cuts the connection short of its ``Content-Length``: never garbage bytes.
"""
from __future__ import annotations

import io
import itertools
import logging
import re
import unicodedata
import uuid
import warnings
from collections.abc import Iterable, Iterator
from typing import IO

from flask import current_app
from PIL import Image
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, object_session
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData, Preamble

from app import policy, storage
from app.models import Diploma, Experience, Portfolio, Skill, User
from app.models.portfolio import sort_key
from app.models.vault import EVIDENCE_TABLES, NAME_LENGTH, TAG_LENGTH, Document, DocumentTag, VaultKey
from app.services import photos, vault_keys
from app.services.errors import ServiceError, ValidationFailed
from app.services.portfolio import Order, portfolio_of
from app.services.validation import CONTROL_CHARS
from badges.pixels import DECODER_ERRORS
from certs import vault

log = logging.getLogger(__name__)
MiB = 1024 * 1024
READ_SIZE = 256 * 1024  # bytes pulled from the request or from storage at a time
DESCRIPTION_LENGTH = 5000
MAX_TAGS = 20
# Everything in an upload request that is not the file's content (boundaries, part headers, the other
# fields) must fit in this: the file is then at least Content-Length minus this, which lets a request
# that announces too much be refused before a byte is read.
MULTIPART_OVERHEAD = 64 * 1024
SNIFF_SIZE = 4096
MAX_PARTS = 50
THUMBNAIL_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
THUMBNAIL_SOURCE_MAX = 25 * MiB  # larger images get no thumbnail (it would mean holding them whole)
THUMBNAIL_SIDE = 320
THUMBNAIL_MAX_PIXELS = 9_000_000  # non-JPEG sources above this get no thumbnail (a 4K screen is 8.3)
ORDER = Order(Document.created_at, descending=True)  # lists: newest first


# --- errors -------------------------------------------------------------------------------------------

class DocumentError(ServiceError):
    """Every refusal of this module: a stable ``code`` (the API's ``error``) and a message for people."""

    code = "document_error"
    status = 400

    def __init__(self, message=None, **kwargs):
        super().__init__(str(message if message is not None else self.default_message()), **kwargs)

    @classmethod
    def default_message(cls):
        return _l("This document cannot be used.")


class DocumentNotFound(DocumentError):
    """Missing, or someone else's: the same answer, so that ids reveal nothing."""

    code, status = "not_found", 404

    @classmethod
    def default_message(cls):
        return _l("This document does not exist or is not yours.")


class EmptyFile(DocumentError):
    code, status = "empty_file", 422

    @classmethod
    def default_message(cls):
        return _l("This file is empty.")


class FileTooLarge(DocumentError):
    code, status = "file_too_large", 413


class QuotaExceeded(DocumentError):
    code, status = "quota_exceeded", 413


class InvalidName(DocumentError):
    code, status = "invalid_name", 422

    @classmethod
    def default_message(cls):
        return _l("Give the document a name (at most %(n)d characters).", n=NAME_LENGTH)


class StorageDown(DocumentError):
    code, status = "storage_unavailable", 503

    @classmethod
    def default_message(cls):
        return _l("The document storage is not available at the moment. Nothing was changed; please try "
                  "again in a few minutes.")


class DocumentCorrupted(DocumentError):
    """The stored content is damaged or gone: it cannot be served, and no byte of it is passed off as
    the document. ``status`` 500 for damaged content, 410 when the blob is missing."""

    code, status = "document_corrupted", 500

    @classmethod
    def default_message(cls):
        return _l("The stored content of this document is damaged and cannot be read. Please upload it "
                  "again.")


def _missing_blob() -> DocumentCorrupted:
    return DocumentCorrupted(_l("The stored content of this document is missing. Please upload it again."),
                             status=410)


def _size_text(n: int) -> str:
    if n >= 1024**3 and n % 1024**3 == 0:
        return str(_l("%(n)d GB", n=n // 1024**3))
    if n >= MiB:
        return str(_l("%(n)d MB", n=n // MiB))
    return str(_l("%(n)d KB", n=max(1, n // 1024)))


def _too_large(limit: int) -> FileTooLarge:
    return FileTooLarge(_l("This file is too large: at most %(size)s per file.", size=_size_text(limit)))


def _over_quota(quota: int, used: int) -> QuotaExceeded:
    return QuotaExceeded(_l("Your vault is full: this file does not fit in the %(quota)s of your vault "
                            "(%(used)s used). Delete documents to make room.",
                            quota=_size_text(quota), used=_size_text(used)))


# --- limits --------------------------------------------------------------------------------------------

def max_file_size() -> int:
    return int(current_app.config["VAULT_MAX_FILE_BYTES"])


def usage(session: Session, user: User) -> tuple[int, int]:
    """(bytes used, quota) of the user's vault; used is the sum of the committed documents' sizes."""
    used = session.scalar(select(func.coalesce(func.sum(Document.size), 0))
                          .where(Document.portfolio_id == portfolio_of(user).id))
    return int(used or 0), int(current_app.config["VAULT_QUOTA_BYTES"])


# --- names, tags, descriptions ------------------------------------------------------------------------

# Control and format characters (bidirectional overrides that make "gpj.exe" read "exe.jpg", zero
# widths), line and paragraph separators: never part of a name.
def _visible(char: str) -> bool:
    return unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def clean_name(value) -> str:
    """A safe display name from what a client sent: the last path component only (``../../etc/passwd``
    is ``passwd``; ``C:\\\\x\\\\y.pdf`` is ``y.pdf``), without control or format characters, spaces
    collapsed, at most ``NAME_LENGTH`` characters (cut before the extension, which is kept). Refuses
    (``InvalidName``) what is left empty, or only dots."""
    if not isinstance(value, str):
        raise InvalidName()
    value = unicodedata.normalize("NFC", value)
    value = re.split(r"[/\\]", value)[-1]
    value = "".join(char if _visible(char) else " " for char in value)
    value = " ".join(value.split())
    if not value.strip("."):
        raise InvalidName()
    if len(value) > NAME_LENGTH:
        stem, dot, extension = value.rpartition(".")
        if dot and stem and 0 < len(extension) <= 16:
            value = stem[:NAME_LENGTH - len(extension) - 1].rstrip() + "." + extension
        else:
            value = value[:NAME_LENGTH].rstrip()
    return value


def _tag_error(message) -> ValidationFailed:
    return ValidationFailed(str(_l("Some information is not valid.")), fields={"tags": str(message)})


def clean_tags(values) -> list[str]:
    """Tags as stored: lower case, spaces collapsed, no control characters, each at most
    ``TAG_LENGTH`` characters, at most ``MAX_TAGS``, without duplicates, sorted. A string is split on
    commas (what a form field sends)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, (list, tuple, set, frozenset)):
        raise _tag_error(_l("Must be a list of tags."))
    tags = set()
    for value in values:
        if not isinstance(value, str):
            raise _tag_error(_l("Must be a list of tags."))
        tag = " ".join(unicodedata.normalize("NFC", value).split()).lower()
        if not tag:
            continue
        if not all(_visible(char) for char in tag):
            raise _tag_error(_l("Contains characters that are not allowed."))
        if len(tag) > TAG_LENGTH:
            raise _tag_error(_l("A tag has at most %(n)d characters.", n=TAG_LENGTH))
        tags.add(tag)
    if len(tags) > MAX_TAGS:
        raise _tag_error(_l("At most %(n)d tags per document.", n=MAX_TAGS))
    return sorted(tags)


def _clean_description(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or CONTROL_CHARS.search(value) or len(value.strip()) > DESCRIPTION_LENGTH:
        raise ValidationFailed(str(_l("Some information is not valid.")), fields={
            "description": str(_l("At most %(n)d characters, without control characters.",
                                  n=DESCRIPTION_LENGTH))})
    return value.strip()


# --- content types -------------------------------------------------------------------------------------

_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"BM", "image/bmp"),
    (b"\x1aE\xdf\xa3", "video/x-matroska"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"ID3", "audio/mpeg"),
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"{\\rtf", "application/rtf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # old Word, Excel, PowerPoint
)
_RIFF = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}
_FTYP = {b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif", b"avif": "image/avif",
         b"qt  ": "video/quicktime", b"M4A ": "audio/mp4", b"3gp4": "video/3gpp", b"3gp5": "video/3gpp"}
_OOXML = ((b"word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
          (b"xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
          (b"ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"))
_ODF = re.compile(rb"^application/vnd\.oasis\.opendocument\.[a-z.-]{1,40}$")
# Kinds of text a browser would run: they are stored as what they are, but served as octet-stream.
ACTIVE_TYPES = frozenset({"text/html", "image/svg+xml", "application/xml", "application/xhtml+xml"})


def _text_type(head: bytes) -> str | None:
    """text/plain (or an active kind of text) if ``head`` is UTF-8 text without controls, else None."""
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:  # a multibyte character cut by the end of the sample is fine
        if error.start < len(head) - 3:
            return None
        text = head[:error.start].decode("utf-8")
    if any(unicodedata.category(char) == "Cc" and char not in "\t\n\r\f" for char in text):
        return None
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith(("<!doctype html", "<html", "<head", "<body", "<script")):
        return "text/html"
    if start.startswith("<svg") or (start.startswith("<?xml") and "<svg" in start):
        return "image/svg+xml"
    if start.startswith("<?xml"):
        return "application/xml"
    return "text/plain"


def sniff(head: bytes) -> str:
    """The media type of a file from its first bytes (``SNIFF_SIZE`` are enough), by magic numbers.

    The name and the type a client declares are never trusted: they are what an attacker chooses.
    Unknown binary content is ``application/octet-stream``.
    """
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            if media_type == "video/x-matroska" and b"webm" in head[:64]:
                return "video/webm"
            return media_type
    if head[:4] == b"RIFF" and head[8:12] in _RIFF:
        return _RIFF[head[8:12]]
    if head[4:8] == b"ftyp":
        return _FTYP.get(head[8:12], "video/mp4")
    if head[:4] == b"PK\x03\x04":
        if head[30:38] == b"mimetype":
            declared = head[38:38 + 80].split(b"PK", 1)[0]
            if _ODF.match(declared):
                return declared.decode("ascii")
        for marker, media_type in _OOXML:
            if marker in head:
                return media_type
        return "application/zip"
    if head[:2] == b"\xff\xfb" or head[:2] == b"\xff\xf3":
        return "audio/mpeg"
    return _text_type(head) or "application/octet-stream"


def served_type(document: Document) -> str:
    """The Content-Type of a download: the sniffed type, except kinds a browser would run."""
    return "application/octet-stream" if document.content_type in ACTIVE_TYPES else document.content_type


# --- storage helpers -----------------------------------------------------------------------------------

def owner_prefix(portfolio_id: uuid.UUID) -> str:
    """Where an owner's blobs live; deleting the account deletes this whole prefix."""
    return f"vault/{portfolio_id.hex}"


def _aad(portfolio_id: uuid.UUID, document_id: uuid.UUID, part: str = "") -> str:
    """What a blob is bound to: a blob copied under another document (or owner) does not decrypt."""
    return f"{portfolio_id}/{document_id}{part}"


def _document_aad(document: Document) -> str:
    return _aad(document.portfolio_id, document.id)


def _thumbnail_aad(document: Document) -> str:
    return _aad(document.portfolio_id, document.id, "/thumbnail")


def _session_of(document: Document) -> Session:
    session = object_session(document)
    if session is None:
        raise RuntimeError("the document must belong to a session")
    return session


def _data_key(session: Session, user: User) -> bytes:
    """The owner's data key. On first use it is created and committed in a short transaction of its
    own, not in the caller's: the caller's transaction then writes nothing before the upload has been
    streamed, so it holds no lock meanwhile (SQLite's single write lock; PostgreSQL's wait on the unique
    owner of a key being inserted), and a long first upload never blocks anyone else's writes. A key
    kept after a failed first upload is harmless: it is that owner's key, made on first use anyway."""
    if session.scalar(select(VaultKey.id).where(VaultKey.user_id == user.id)) is None:
        with Session(bind=session.get_bind()) as own:
            vault_keys.data_key_for(own, user)
            own.commit()
    return vault_keys.data_key_for(session, user)


# --- upload ----------------------------------------------------------------------------------------------

class _Meter:
    """Passes the pieces through while counting them against the file limit and the room left in the
    quota, keeping the first bytes for sniffing and, for images small enough, the whole image for its
    thumbnail. Refuses as soon as a limit is crossed, so the upload stops there."""

    def __init__(self, chunks: Iterable[bytes], limit: int, room: int, quota: int, used: int):
        self.chunks, self.limit, self.room, self.quota, self.used = chunks, limit, room, quota, used
        self.size = 0
        self.head = bytearray()
        self.image: bytearray | None = bytearray()

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.chunks:
            if not piece:
                continue
            self.size += len(piece)
            if self.size > self.limit:
                raise _too_large(self.limit)
            if self.size > self.room:
                raise _over_quota(self.quota, self.used)
            if len(self.head) < SNIFF_SIZE:
                self.head += piece[:SNIFF_SIZE - len(self.head)]
            if self.image is not None:
                if self.size > THUMBNAIL_SOURCE_MAX or (len(self.head) >= SNIFF_SIZE
                                                        and sniff(bytes(self.head)) not in THUMBNAIL_TYPES):
                    self.image = None
                else:
                    self.image += piece
            yield piece
        if self.size == 0:
            raise EmptyFile()

    @property
    def content_type(self) -> str:
        return sniff(bytes(self.head))


def _thumbnail_of(image: bytes) -> bytes | None:
    """A small JPEG of the image: decoded with the decompression-bomb guard, upright, sRGB, pixels only
    (no EXIF, GPS, ICC or comments survive), by ``photos.normalise``; None if it cannot be read.

    Only JPEG decodes at a reduced scale (``draft``): another format is decoded whole, about 10 bytes
    per pixel at the peak, so a small hostile PNG of tens of millions of pixels (under the bomb guard)
    would cost hundreds of MB per upload. Such images, judged from their header alone, get none."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(image)) as header:  # reads the header, not the pixels
                width, height, kind = header.width, header.height, header.format
    except DECODER_ERRORS:
        return None
    if kind not in ("JPEG", "MPO") and width * height > THUMBNAIL_MAX_PIXELS:  # MPO: cameras' JPEG
        return None
    try:
        return photos.normalise(image, THUMBNAIL_SOURCE_MAX, max_side=THUMBNAIL_SIDE)
    except ValidationFailed:
        return None


def _put(key: str, chunks: Iterable[bytes]) -> int:
    try:
        return storage.put_stream(key, chunks, "application/octet-stream")
    except storage.StorageUnavailable:
        log.exception("Vault storage unavailable while writing %s", key)
        raise StorageDown() from None


def admit(session: Session, user: User, declared_size: int | None) -> tuple[int, int]:
    """Refuse at once a file known to be at least ``declared_size`` bytes that cannot be taken (over the
    per-file limit, or beyond the room left); return (used, quota)."""
    limit = max_file_size()
    used, quota = usage(session, user)
    if declared_size is not None and declared_size > limit:
        raise _too_large(limit)
    if declared_size is not None and used + declared_size > quota:
        raise _over_quota(quota, used)
    return used, quota


def declared_file_size(content_length: int | None) -> int | None:
    """The least the file of a multipart upload of ``content_length`` bytes can hold."""
    return None if content_length is None else max(0, content_length - MULTIPART_OVERHEAD)


def store(session: Session, user: User, filename, chunks: Iterable[bytes], *, tags=(), description="",
          declared_size: int | None = None) -> Document:
    """Encrypt and store a new document from ``chunks`` (any iterable of bytes, read once, as it comes).

    ``declared_size`` is a lower bound of the size when the caller knows one (an upload's
    Content-Length less ``MULTIPART_OVERHEAD``): a file that cannot fit is refused before any byte is
    read. Otherwise the limits are checked as the bytes arrive. Raises ``EmptyFile``, ``FileTooLarge``,
    ``QuotaExceeded``, ``InvalidName``, ``StorageDown``, ``ValidationFailed`` (tags, description), or
    whatever the iterable raises (a client gone); in every case nothing is left behind.
    """
    name = clean_name(filename)
    tags = clean_tags(tags)
    description = _clean_description(description)
    portfolio = portfolio_of(user)
    limit = max_file_size()
    used, quota = admit(session, user, declared_size)
    data_key = _data_key(session, user)
    document_id = uuid.uuid4()
    prefix = owner_prefix(portfolio.id)
    blob_key = f"{prefix}/{uuid.uuid4().hex}"
    meter = _Meter(chunks, limit, quota - used, quota, used)
    encrypted = vault.encrypt_stream(data_key, meter, _aad(portfolio.id, document_id))
    _put(blob_key, encrypted)
    storage.delete_unless_committed(session, blob_key)
    document = Document(id=document_id, portfolio_id=portfolio.id, name=name, description=description,
                        content_type=meter.content_type, size=encrypted.size, sha256=encrypted.sha256,
                        blob_key=blob_key)
    document.tags = tags
    image, meter.image = meter.image, None
    if image is not None and document.content_type in THUMBNAIL_TYPES:
        thumbnail = _thumbnail_of(bytes(image))
        del image
        if thumbnail is not None:
            thumbnail_key = f"{prefix}/{uuid.uuid4().hex}"
            _put(thumbnail_key, vault.encrypt_stream(data_key, [thumbnail], _thumbnail_aad(document)))
            storage.delete_unless_committed(session, thumbnail_key)
            document.thumbnail_key = thumbnail_key
    session.add(document)
    session.flush()
    # Another upload of the same owner may have been committed meanwhile: count again, with this one.
    # The flush above bumped the portfolio's revision (``_count_changes``), which locks that row until
    # this transaction ends (PostgreSQL; SQLite has one writer), so two concurrent uploads of one owner
    # take turns here and the second sees the first: together they cannot overshoot the quota.
    used_now, _quota = usage(session, user)
    if used_now > quota:
        raise _over_quota(quota, used_now - document.size)
    return document


def _multipart_events(stream: IO[bytes], boundary: bytes) -> Iterator:
    """The events of werkzeug's incremental multipart parser over ``stream``, read ``READ_SIZE`` at a
    time. Each event is taken before more is read, so the parser holds at most one read (plus a
    boundary's length); file data comes out in pieces as it arrives. A body that ends early makes the
    parser raise ``ValueError``.

    The decoder keeps what precedes a boundary, and a part's headers up to their blank line, in one
    buffer: bounded here (one read plus the allowance for what is not file content), or a body with no
    boundary, or a header that never ends, would sit whole in memory, up to the per-file limit."""
    decoder = MultipartDecoder(boundary, max_parts=MAX_PARTS,
                               max_form_memory_size=READ_SIZE + MULTIPART_OVERHEAD)
    while True:
        try:
            event = decoder.next_event()
            if isinstance(event, NeedData):
                decoder.receive_data(stream.read(READ_SIZE) or None)
        except RequestEntityTooLarge:  # the buffer's bound, or more than MAX_PARTS parts
            raise _bad_form(_l("The fields sent with the file are too large."), status=413) from None
        if isinstance(event, NeedData):
            continue
        if isinstance(event, Epilogue):
            return
        if not isinstance(event, Preamble):  # text before the first part: ignored (RFC 2046)
            yield event


def _bad_form(message, status: int = 400) -> ServiceError:
    return ServiceError(str(message), code="invalid_form" if status == 400 else "payload_too_large",
                        status=status)


class _Form:
    """The parts of an upload other than the file: their values, and the bytes they took."""

    def __init__(self, events: Iterator):
        self.events, self.spent = events, 0

    def value(self, event: Field) -> str:
        value = self.drain(event, keep=True)
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad_form(_l("A field is not valid UTF-8 text.")) from None

    def drain(self, event, keep: bool = False) -> bytes:
        """Read the part that ``event`` opened to its end, counting it against the overhead allowance."""
        kept = bytearray()
        for data in self.events:
            if not isinstance(data, Data):
                raise _bad_form(_l("The upload is malformed."))
            self.spent += len(data.data)
            if self.spent > MULTIPART_OVERHEAD:
                raise _bad_form(_l("The fields sent with the file are too large."), status=413)
            if keep:
                kept += data.data
            if not data.more_data:
                break
        return bytes(kept)

    def file(self) -> Iterator[bytes]:
        """The data of the file part just opened, piece by piece, as the body is read."""
        for data in self.events:
            if not isinstance(data, Data):
                raise _bad_form(_l("The upload is malformed."))
            if data.data:
                yield data.data
            if not data.more_data:
                return
        raise _bad_form(_l("The upload ended before the file did."))


def receive(session: Session, user: User, stream: IO[bytes], content_type: str | None,
            content_length: int | None, *, tags=(), description="") -> Document:
    """Store the document sent as the ``file`` field of a ``multipart/form-data`` body read from
    ``stream`` (a request's input stream), with the optional fields ``tags`` (comma-separated, or the
    field repeated) and ``description``, before or after the file.

    The body is parsed as it is read: the file's content goes straight to ``store``. A page route must not
    let anything read ``request.form`` first (Flask-WTF's ``CSRFProtect`` does, which would parse and
    spool the whole body): exempt it and check the token from the ``X-CSRFToken`` header. Fields sent
    after the file are applied to the document once it is stored. One file per request; everything other
    than the file must fit in ``MULTIPART_OVERHEAD`` bytes. Raises what ``store`` raises, and
    ``ServiceError`` ``unsupported_media_type`` / ``invalid_form`` / ``payload_too_large``.
    """
    mimetype, options = parse_options_header(content_type or "")
    if mimetype != "multipart/form-data" or not options.get("boundary"):
        raise ServiceError(str(_l("Send the file as multipart/form-data, in a field named file.")),
                           code="unsupported_media_type", status=415)
    declared = declared_file_size(content_length)
    before: dict[str, list[str]] = {"tags": clean_tags(tags), "description": [description or ""]}
    after: dict[str, list[str]] = {}
    document = None
    form = _Form(_multipart_events(stream, options["boundary"].encode("latin-1")))
    try:
        for event in form.events:
            if isinstance(event, File) and event.name == "file":
                if document is not None:
                    raise _bad_form(_l("Send one file per request."))
                if not event.filename:  # a form sent with no file chosen
                    form.drain(event)
                    continue
                tags = [tag for value in before["tags"] for tag in clean_tags(value)]
                document = store(session, user, event.filename, form.file(), tags=tags,
                                 description=before["description"][-1], declared_size=declared)
            elif isinstance(event, Field) and event.name in ("tags", "description"):
                (after if document is not None else before).setdefault(event.name, []).append(
                    form.value(event))
            elif isinstance(event, (Field, File)):
                form.drain(event)
            else:
                raise _bad_form(_l("The upload is malformed."))
    except ValueError as error:  # the parser refusing a malformed or cut body
        if isinstance(error, ServiceError):
            raise
        raise _bad_form(_l("The upload could not be read (%(reason)s).", reason=str(error))) from None
    if document is None:
        raise ValidationFailed(str(_l("Choose a file to upload.")),
                               fields={"file": str(_l("Choose a file to upload."))})
    if after:
        late_tags = [tag for value in after.get("tags", []) for tag in clean_tags(value)]
        update(session, user, document, tags=list(document.tags) + late_tags if late_tags else None,
               description=after["description"][-1] if after.get("description") else None)
    return document


# --- reading ---------------------------------------------------------------------------------------------

def _blob_size(key: str) -> int:
    try:
        return storage.size(key)
    except storage.BlobNotFound:
        raise _missing_blob() from None
    except storage.StorageUnavailable:
        log.exception("Vault storage unavailable while reading %s", key)
        raise StorageDown() from None


def _guarded(pieces: Iterator[bytes], document_id: str, key: str) -> Iterator[bytes]:
    """Map faults found while streaming to ``DocumentCorrupted`` / ``StorageDown``. Takes plain values:
    it runs after the request's view has returned, when the ORM object may be detached."""
    try:
        yield from pieces
    except vault.VaultError as error:
        log.error("Vault document %s does not decrypt: %s", document_id, error)
        raise DocumentCorrupted() from None
    except storage.BlobNotFound:
        raise _missing_blob() from None
    except storage.StorageUnavailable:
        log.exception("Vault storage unavailable while reading %s", key)
        raise StorageDown() from None


def _primed(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """Pull the first piece now, so that a fault found there is raised before any response starts."""
    first = next(pieces, None)
    return pieces if first is None else itertools.chain([first], pieces)


def _stored_pieces(store, key: str) -> Iterator[bytes]:
    with store.open(key) as handle:
        while piece := handle.read(READ_SIZE):
            yield piece


def read(user: User, document: Document, start: int = 0, length: int | None = None) -> Iterator[bytes]:
    """The plaintext of ``document``, or of ``[start, start + length)``, as an iterator of pieces.

    Checked before returning: access, the blob's presence and length (a truncated or missing blob is an
    error here, before any byte), and the first piece's authenticity; every later piece is
    authenticated before it is yielded. Raises ``DocumentNotFound``, ``DocumentCorrupted``,
    ``StorageDown``, or ``ValueError`` for a range outside the document (the caller answers 416).
    """
    if not policy.can(user, policy.OWN, document):
        raise DocumentNotFound()
    if length is None:
        length = document.size - start
    if start < 0 or length < 0 or start + length > document.size or (length == 0 and start != 0):
        raise ValueError(f"range {start}+{length} is outside a document of {document.size} bytes")
    if _blob_size(document.blob_key) != vault.encrypted_size(document.size):
        log.error("Vault document %s: stored blob has the wrong length", document.id)
        raise DocumentCorrupted()
    data_key = _data_key(_session_of(document), user)
    aad, key = _document_aad(document), document.blob_key
    # The backend itself, not the ``storage`` facade: the pieces are read after the request's view has
    # returned, outside the application context that the facade needs.
    store = storage.backend()
    if start == 0 and length == document.size:
        # No SHA-256 on the way out: the GCM tags already authenticate every byte, its position and the
        # end, under this owner's key and this document's id; hashing would halve the throughput here.
        # The digest is in the API (and the ETag) for clients that check end to end.
        pieces = vault.decrypt_stream(data_key, _stored_pieces(store, key), aad)
    else:
        pieces = vault.decrypt_range(data_key, lambda offset, size: store.get_range(key, offset, size),
                                     document.size, start, length, aad)
    return _primed(_guarded(pieces, str(document.id), key))


def thumbnail(user: User, document: Document) -> bytes | None:
    """The document's thumbnail (JPEG bytes) or None when it has none; ``DocumentCorrupted`` if the
    stored thumbnail does not decrypt, ``StorageDown`` if storage cannot be reached."""
    if not policy.can(user, policy.OWN, document):
        raise DocumentNotFound()
    if document.thumbnail_key is None:
        return None
    data_key = _data_key(_session_of(document), user)
    try:
        blob = storage.get(document.thumbnail_key)
    except storage.BlobNotFound:
        return None
    except storage.StorageUnavailable:
        log.exception("Vault storage unavailable while reading a thumbnail")
        raise StorageDown() from None
    try:
        return b"".join(vault.decrypt_stream(data_key, [blob], _thumbnail_aad(document)))
    except vault.VaultError:
        raise DocumentCorrupted() from None


# --- finding, changing, deleting --------------------------------------------------------------------------

def get(session: Session, user: User, document_id) -> Document:
    """The user's document with this id; ``DocumentNotFound`` for a missing one or someone else's."""
    key = policy.parse_id(document_id)
    document = session.get(Document, key) if key is not None else None
    if document is None or not policy.can(user, policy.OWN, document):
        raise DocumentNotFound()
    return document


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(session: Session, user: User, q: str | None = None, tag: str | None = None, *,
           after: tuple | None = None, limit: int | None = None) -> list[Document]:
    """The user's documents, newest first; ``q`` matches part of the name ignoring case and accents,
    ``tag`` one tag exactly (as stored: lower case). ``after`` (``ORDER.position`` of the last document
    seen) and ``limit`` page through the list in SQL."""
    query = select(Document).where(Document.portfolio_id == portfolio_of(user).id)
    if q and q.strip():
        query = query.where(Document.search_name.like(_like(sort_key(" ".join(q.split()))), escape="\\"))
    if tag is not None:
        wanted = clean_tags([tag])
        if not wanted:
            return []
        query = query.where(exists().where(and_(DocumentTag.document_id == Document.id,
                                                DocumentTag.name == wanted[0])))
    if after is not None:
        query = query.where(ORDER.after(after))
    query = query.order_by(*ORDER.order_by())
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def all_tags(session: Session, user: User) -> list[tuple[str, int]]:
    """Every tag the user has used, with how many documents carry it, by name (for tag chips)."""
    rows = session.execute(select(DocumentTag.name, func.count()).join(Document)
                           .where(Document.portfolio_id == portfolio_of(user).id)
                           .group_by(DocumentTag.name).order_by(DocumentTag.name))
    return [(name, count) for name, count in rows]


def update(session: Session, user: User, document: Document, *, name=None, description=None,
           tags=None) -> Document:
    """Rename, describe or re-tag; ``None`` leaves a field unchanged. Checks everything before changing
    anything."""
    if not policy.can(user, policy.UPDATE, document):
        raise DocumentNotFound()
    values = {}
    if name is not None:
        values["name"] = clean_name(name)
    if description is not None:
        values["description"] = _clean_description(description)
    new_tags = clean_tags(tags) if tags is not None else None
    for field, value in values.items():
        setattr(document, field, value)
    if new_tags is not None and new_tags != list(document.tags):
        document.tags = new_tags
    session.flush()
    return document


def delete(session: Session, user: User, document: Document) -> None:
    """Delete the document; its blobs go once the deletion is committed (kept if it rolls back).

    Storage is asked first whether it answers (``StorageDown`` if not, and nothing changes), so that an
    outage does not leave orphan blobs behind rows already gone. A blob already missing is no obstacle.
    """
    if not policy.can(user, policy.DELETE, document):
        raise DocumentNotFound()
    try:
        storage.exists(document.blob_key)
    except storage.StorageUnavailable:
        log.exception("Vault storage unavailable while deleting %s", document.blob_key)
        raise StorageDown() from None
    for key in (document.blob_key, document.thumbnail_key):
        if key:
            storage.delete_after_commit(session, key)
    session.delete(document)
    session.flush()


# --- evidence ------------------------------------------------------------------------------------------

EVIDENCE_ITEMS = (Experience, Diploma, Skill)


def _check_item(user: User, item) -> None:
    if not isinstance(item, EVIDENCE_ITEMS) or not policy.can(user, policy.UPDATE, item):
        raise ServiceError(str(_l("Not found.")), code="not_found", status=404)


def link(session: Session, user: User, document: Document, item) -> None:
    """Attach ``document`` as evidence to ``item`` (an experience, diploma or skill of the same owner);
    attaching twice is the same as once."""
    if not policy.can(user, policy.UPDATE, document):
        raise DocumentNotFound()
    _check_item(user, item)
    if document not in item.evidence:
        # Another request (a second tab, a double click) may attach it between the check and the write:
        # the insert ignores a link that exists, instead of failing on the primary key.
        dialect = session.get_bind().dialect.name
        insert = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[dialect]
        added = session.execute(insert(EVIDENCE_TABLES[type(item)])
                                .values(item_id=item.id, document_id=document.id).on_conflict_do_nothing())
        session.expire(item, ["evidence"])
        if added.rowcount:  # a Core write: the portfolio's revision (cached pages) is bumped here
            table = Portfolio.__table__
            session.execute(sql_update(table).where(table.c.id == item.portfolio_id)
                            .values(revision=table.c.revision + 1, updated_at=table.c.updated_at))
    session.flush()


def unlink(session: Session, user: User, document: Document, item) -> None:
    """Detach ``document`` from ``item``; detaching what is not attached is not an error."""
    if not policy.can(user, policy.UPDATE, document):
        raise DocumentNotFound()
    _check_item(user, item)
    if document in item.evidence:
        item.evidence.remove(document)
    session.flush()


def evidence(session: Session, item) -> list[Document]:
    """The documents attached to ``item``, oldest first (the caller has checked access to the item)."""
    table = EVIDENCE_TABLES[type(item)]
    return list(session.scalars(select(Document).join(table, table.c.document_id == Document.id)
                                .where(table.c.item_id == item.id)
                                .order_by(Document.created_at, Document.id)))


def evidence_ids(session: Session, model: type, item_ids: list) -> dict:
    """For each item id of ``model``, the ids of its evidence documents (one query), for lists."""
    table = EVIDENCE_TABLES[model]
    found: dict = {item_id: [] for item_id in item_ids}
    if item_ids:
        rows = session.execute(select(table.c.item_id, table.c.document_id)
                               .join(Document, Document.id == table.c.document_id)
                               .where(table.c.item_id.in_(item_ids))
                               .order_by(Document.created_at, Document.id))
        for item_id, document_id in rows:
            found[item_id].append(document_id)
    return found
