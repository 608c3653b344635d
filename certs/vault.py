"""The vault cipher: documents encrypted in streamed, authenticated chunks; data keys wrapped by the master
key.

Envelope encryption (DESIGN.md, "The vault"): each owner has a random 256-bit data key, stored only
wrapped by the instance master key (:func:`wrap_data_key`); each document is encrypted with its owner's
data key by :func:`encrypt_stream`, a chunk at a time, so a 200 MiB video never sits whole in memory.

Layout of an encrypted document (format version 1)::

    header   = b"SVLT" || 0x01 || salt (32 random bytes)                         37 bytes
    chunk i  = AES-256-GCM(doc_key, nonce_i, plaintext_i, aad=header)           plaintext + 16-byte tag
    doc_key, nonce_prefix = HKDF-SHA256(data_key, salt, b"sillage/vault/v1\\0" || aad)   32 + 7 bytes
    nonce_i  = nonce_prefix (7) || i as 32-bit big-endian || 0x01 if last chunk else 0x00

Every plaintext chunk is ``CHUNK_SIZE`` bytes except the last, which holds 1 to ``CHUNK_SIZE`` bytes
(0 only for an empty document, which is one empty last chunk). This is the STREAM construction of
Hoang, Reyhanitabar, Rogaway and Vizár ("Online authenticated-encryption and its nonce-reuse
misuse-resistance", CRYPTO 2015), as in age and Tink's AES-GCM-HKDF streaming AEAD: the counter in the
nonce authenticates each chunk's position (a reordered or duplicated chunk fails), and the last-chunk
flag authenticates the end (a stream cut at a chunk boundary ends on a chunk sealed as "not last"; a
stream extended after its last chunk makes that chunk "not last" when read). A fresh salt per document
gives each document its own key, so nonces never repeat under one key however many documents an owner
stores; the caller's ``aad`` (e.g. the owner and document ids) goes into that derivation, so a blob
copied under another document's name does not open.

Failures: everything that does not decrypt (wrong key or aad, truncated, reordered, duplicated,
extended or altered data, an unknown header) raises :class:`VaultError` and nothing else. Decryption
never yields a chunk before its tag is checked, so no unauthenticated byte ever leaves this module. But
a stream can fail *late*: chunks 0..k are genuine and already yielded when chunk k+1 turns out
truncated or altered. A caller must therefore treat the output as incomplete until the iterator ends
normally: an HTTP response must abort the connection (let the exception propagate out of the response
iterator, so the client sees a short body against its ``Content-Length``) rather than end it cleanly,
and a caller writing to a file must delete it.

Performance: AES-GCM from ``cryptography`` (OpenSSL, AES-NI); chunks of 64 KiB keep the per-call
overhead small beside the cipher. The SHA-256 of the plaintext, computed while encrypting, is the
slower part on most machines (see ``tests/benchmarks/bench_vault.py``); decryption only hashes when
asked to check a digest, since the tags already authenticate every byte.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import CertsError, SealError
from .keys import seal, unseal

MAGIC = b"SVLT"
VERSION = 1
SALT_SIZE = 32
HEADER_SIZE = len(MAGIC) + 1 + SALT_SIZE
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
MAX_CHUNKS = 2**32  # the 32-bit counter: 256 TiB per document
DATA_KEY_SIZE = 32
_PREFIX_SIZE = 7
_INFO = b"sillage/vault/v1\x00"
_WRAP_PURPOSE = "vault-data-key"
_WRAP_AAD = b"sillage/vault/data-key/v1\x00"
_KEY_ID_LABEL = b"sillage/master-key-id/v1\x00"

Bytes = bytes | bytearray | memoryview


class VaultError(CertsError):
    """Vault data that does not decrypt (wrong key or aad, truncated, reordered, extended, altered) or a
    data key that does not unwrap. The one exception type of this module for bad data."""

    code = "vault_invalid"


# -- documents ------------------------------------------------------------------------------------------

def _aad_bytes(aad: Bytes | str) -> bytes:
    return aad.encode("utf-8") if isinstance(aad, str) else bytes(aad)


def _document_cipher(data_key: Bytes, salt: bytes, aad: Bytes | str) -> tuple[AESGCM, bytes]:
    """This document's own AES-256-GCM key and nonce prefix (see the module docstring)."""
    if not isinstance(data_key, bytes | bytearray | memoryview) or len(data_key) != DATA_KEY_SIZE:
        raise VaultError("a data key is 32 bytes", "vault_bad_key")
    material = HKDF(algorithm=hashes.SHA256(), length=DATA_KEY_SIZE + _PREFIX_SIZE, salt=salt,
                    info=_INFO + _aad_bytes(aad)).derive(bytes(data_key))
    return AESGCM(material[:DATA_KEY_SIZE]), material[DATA_KEY_SIZE:]


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= MAX_CHUNKS:
        raise VaultError("a document is limited to 2**32 chunks", "vault_too_large")
    return prefix + struct.pack(">I?", index, last)


def _parse_header(header: Bytes) -> bytes:
    """The salt of a version-1 header; anything else is not (or no longer) a vault document."""
    header = bytes(header)
    if len(header) < HEADER_SIZE:
        raise VaultError("truncated vault document: incomplete header", "vault_truncated")
    if header[:len(MAGIC)] != MAGIC:
        raise VaultError("not a vault document (bad magic)")
    if header[len(MAGIC)] != VERSION:
        raise VaultError(f"unsupported vault format version {header[len(MAGIC)]}")
    return header[len(MAGIC) + 1:HEADER_SIZE]


def _frames(chunks: Iterable[Bytes], size: int) -> Iterator[tuple[Bytes, bool]]:
    """Re-cut *chunks* (any sizes) into frames of exactly *size* bytes but the last, each with a flag
    telling whether it is the last one. At least one frame comes out (empty input: one empty frame).

    One frame is held back until the next non-empty piece arrives, since only then is it known not to be
    the last. Frames are zero-copy views of immutable ``bytes`` input; mutable input (a reused
    ``bytearray``) is copied first, because a held frame must not change under us. Memory stays at about
    one frame plus one input piece.
    """
    pending: Bytes | None = None
    buffer = bytearray()
    for data in chunks:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"chunks must be bytes, not {type(data).__name__}")
        if not data:
            continue
        if pending is not None:
            yield pending, False
            pending = None
        view = memoryview(data if isinstance(data, bytes) else bytes(data))
        offset = 0
        if buffer:
            offset = min(size - len(buffer), len(view))
            buffer += view[:offset]
            if len(buffer) < size:
                continue
            frame = bytes(buffer)
            buffer.clear()
            if offset == len(view):
                pending = frame
                continue
            yield frame, False
        while len(view) - offset >= size:
            frame = view[offset:offset + size]
            offset += size
            if offset == len(view):
                pending = frame
            else:
                yield frame, False
        buffer += view[offset:]
    if pending is not None:
        yield pending, True
    else:
        yield bytes(buffer), True


class EncryptStream:
    """The ciphertext of one document, produced as it is iterated (header first, then one piece per chunk).

    Once iteration has ended: ``sha256`` (hex digest of the plaintext), ``size`` (plaintext bytes) and
    ``encrypted_size`` (bytes produced). Iterating again is refused: the input was consumed.
    """

    def __init__(self, data_key: Bytes, chunks: Iterable[Bytes], aad: Bytes | str):
        salt = os.urandom(SALT_SIZE)
        self._header = MAGIC + bytes([VERSION]) + salt
        self._cipher, self._prefix = _document_cipher(data_key, salt, aad)
        self._chunks = chunks
        self._hash = hashlib.sha256()
        self._started = self._done = False
        self.size = 0
        self.encrypted_size = 0

    def __iter__(self) -> Iterator[bytes]:
        if self._started:
            raise RuntimeError("an EncryptStream can be iterated only once")
        self._started = True
        return self._generate()

    def _generate(self) -> Iterator[bytes]:
        header, cipher, prefix, update = self._header, self._cipher, self._prefix, self._hash.update
        self.encrypted_size = len(header)
        yield header
        for index, (frame, last) in enumerate(_frames(self._chunks, CHUNK_SIZE)):
            update(frame)
            sealed = cipher.encrypt(_nonce(prefix, index, last), frame, header)
            self.size += len(frame)
            self.encrypted_size += len(sealed)
            yield sealed
        self._done = True

    @property
    def sha256(self) -> str:
        if not self._done:
            raise RuntimeError("the SHA-256 is known once the whole stream has been read")
        return self._hash.hexdigest()


def encrypt_stream(data_key: Bytes, chunks: Iterable[Bytes], aad: Bytes | str) -> EncryptStream:
    """Encrypt a document given as an iterable of byte pieces of any sizes; lazy (see :class:`EncryptStream`).

    *aad* names what the document is (e.g. ``f"{owner_id}/{document_id}"``): decryption must give the
    same value. The input is pulled a piece at a time, never read ahead by more than one chunk.
    """
    return EncryptStream(data_key, chunks, aad)


def decrypt_stream(data_key: Bytes, chunks: Iterable[Bytes], aad: Bytes | str, *,
                   expected_sha256: str | None = None) -> Iterator[bytes]:
    """Decrypt what :func:`encrypt_stream` produced, given as byte pieces of any sizes, lazily.

    Yields plaintext chunks, each only after its tag checked; raises :class:`VaultError` as soon as
    something does not decrypt, including at the very end (a missing last chunk): see the module
    docstring on late failures. With *expected_sha256*, the plaintext is also hashed and a different
    digest raises VaultError after the last chunk (the tags already prove the bytes came from this data
    key and aad; the digest proves they are the document the database describes).
    """
    pieces = iter(chunks)
    head = bytearray()
    for data in pieces:
        head += data
        if len(head) >= HEADER_SIZE:
            break
    header = bytes(head[:HEADER_SIZE])
    cipher, prefix = _document_cipher(data_key, _parse_header(header), aad)
    digest = hashlib.sha256() if expected_sha256 is not None else None

    def body() -> Iterator[Bytes]:
        if len(head) > HEADER_SIZE:
            yield bytes(head[HEADER_SIZE:])
        yield from pieces

    index = -1
    for index, (frame, last) in enumerate(_frames(body(), SEALED_CHUNK_SIZE)):
        if last and index > 0 and len(frame) == TAG_SIZE:
            # The encoder never ends on an empty chunk after full ones: a forged layout.
            raise VaultError("altered vault document: empty final chunk")
        try:
            plain = cipher.decrypt(_nonce(prefix, index, last), frame, header)
        except InvalidTag:
            raise _failure(index, last, len(frame)) from None
        if digest is not None:
            digest.update(plain)
        yield plain
    if digest is not None and not hmac.compare_digest(digest.hexdigest(), expected_sha256.lower()):
        raise VaultError("the decrypted document does not have the expected SHA-256", "vault_digest_mismatch")


def _failure(index: int, last: bool, length: int) -> VaultError:
    """One exception type; the message says what most likely happened (for logs, never for the user)."""
    if last and length < TAG_SIZE:
        return VaultError(f"truncated vault document: chunk {index} is incomplete", "vault_truncated")
    return VaultError(f"vault chunk {index} does not decrypt: wrong key or aad, or the document was "
                      f"truncated, reordered, extended or altered")


# -- sizes and ranges (HTTP Range) ------------------------------------------------------------------------

def chunk_count(size: int) -> int:
    """Chunks of a document of *size* plaintext bytes (an empty document is one empty chunk)."""
    return max(1, -(-size // CHUNK_SIZE))


def encrypted_size(size: int) -> int:
    """Bytes in storage for a document of *size* plaintext bytes."""
    if size < 0:
        raise ValueError("a size is not negative")
    return HEADER_SIZE + size + chunk_count(size) * TAG_SIZE


def plaintext_size(encrypted: int) -> int:
    """The plaintext size of a stored document of *encrypted* bytes; VaultError for a size that no
    document has (e.g. a blob cut mid-chunk), so a caller can cross-check storage against the database."""
    body = encrypted - HEADER_SIZE
    if body < TAG_SIZE:
        raise VaultError(f"{encrypted} bytes cannot be a vault document", "vault_truncated")
    chunks = -(-body // SEALED_CHUNK_SIZE)
    tail = body - (chunks - 1) * SEALED_CHUNK_SIZE
    if tail <= TAG_SIZE and chunks > 1:
        raise VaultError(f"{encrypted} bytes cannot be a vault document", "vault_truncated")
    return body - chunks * TAG_SIZE


@dataclass(frozen=True)
class ChunkSpan:
    """Which stored bytes cover plaintext ``[start, start + length)``: chunks ``first..last`` at
    ``offset`` (``length`` bytes, a whole number of chunks); drop ``skip`` plaintext bytes, keep ``take``."""

    first: int
    last: int
    offset: int
    length: int
    skip: int
    take: int


def chunk_span(size: int, start: int, length: int) -> ChunkSpan:
    """Map a plaintext byte range of a document of *size* bytes to the chunks that cover it.

    The caller has already turned the HTTP ``Range`` header into a satisfiable ``start`` and ``length``
    (``0 <= start``, ``1 <= length``, ``start + length <= size``); anything else is a ValueError.
    """
    if not (0 <= start and 1 <= length and start + length <= size):
        raise ValueError(f"range {start}+{length} is not within a document of {size} bytes")
    first, last = start // CHUNK_SIZE, (start + length - 1) // CHUNK_SIZE
    end = min(size, (last + 1) * CHUNK_SIZE)
    offset = HEADER_SIZE + first * SEALED_CHUNK_SIZE
    return ChunkSpan(first=first, last=last, offset=offset,
                     length=(end - first * CHUNK_SIZE) + (last - first + 1) * TAG_SIZE,
                     skip=start - first * CHUNK_SIZE, take=length)


def decrypt_range(data_key: Bytes, read: Callable[[int, int], bytes], size: int, start: int, length: int,
                  aad: Bytes | str, *, batch: int = 16) -> Iterator[bytes]:
    """Plaintext ``[start, start + length)`` of a document of *size* plaintext bytes (as recorded in the
    database), reading only the header and the chunks that cover the range.

    *read(offset, length)* returns stored bytes (``storage.get_range``); it is called for the header, then
    for at most *batch* chunks at a time, so memory stays bounded for any range. Each chunk is
    authenticated with its position and, for the document's final chunk, its end flag, exactly as in
    :func:`decrypt_stream`; stored bytes that are missing or altered raise :class:`VaultError`.
    """
    span = chunk_span(size, start, length)
    final = chunk_count(size) - 1
    header = read(0, HEADER_SIZE)
    cipher, prefix = _document_cipher(data_key, _parse_header(header), aad)
    skip, remaining = span.skip, span.take
    for group in range(span.first, span.last + 1, batch):
        count = min(batch, span.last + 1 - group)
        offset = HEADER_SIZE + group * SEALED_CHUNK_SIZE
        wanted = min(count * SEALED_CHUNK_SIZE, span.offset + span.length - offset)
        data = read(offset, wanted)
        if len(data) != wanted:
            raise VaultError(f"truncated vault document: {len(data)} of {wanted} bytes at {offset}",
                             "vault_truncated")
        view = memoryview(data)
        for position in range(count):
            index = group + position
            frame = view[position * SEALED_CHUNK_SIZE:(position + 1) * SEALED_CHUNK_SIZE]
            try:
                plain = cipher.decrypt(_nonce(prefix, index, index == final), frame, header)
            except InvalidTag:
                raise _failure(index, index == final, len(frame)) from None
            piece = plain[skip:skip + remaining] if skip or remaining < len(plain) else plain
            skip, remaining = 0, remaining - len(piece)
            yield piece


# -- data keys ------------------------------------------------------------------------------------------

def generate_data_key() -> bytes:
    """A new random 256-bit data key (one per owner)."""
    return os.urandom(DATA_KEY_SIZE)


def _master_bytes(master_key: Bytes | str) -> bytes:
    """The instance master key as bytes: the configuration holds text (``token_urlsafe``), used as is."""
    return master_key.encode("utf-8") if isinstance(master_key, str) else bytes(master_key)


def master_key_id(master_key: Bytes | str) -> str:
    """A short public name for a master key (16 hex digits of a labelled SHA-256), recorded beside each
    wrapped data key so that a rotation knows which rows are done. It reveals nothing usable: the master
    key is 256 random bits."""
    return hashlib.sha256(_KEY_ID_LABEL + _master_bytes(master_key)).hexdigest()[:16]


def _owner_aad(owner_id: object) -> bytes:
    return _WRAP_AAD + str(owner_id).encode("utf-8")


def wrap_data_key(data_key: Bytes, master_key: Bytes | str, owner_id: object) -> bytes:
    """Seal *data_key* under the master key (``certs.keys.seal``, its own purpose label), bound to
    *owner_id*: a wrapped key copied to another owner's row does not unwrap."""
    if not isinstance(data_key, bytes | bytearray | memoryview) or len(data_key) != DATA_KEY_SIZE:
        raise VaultError("a data key is 32 bytes", "vault_bad_key")
    try:
        return seal(bytes(data_key), _master_bytes(master_key), _owner_aad(owner_id), purpose=_WRAP_PURPOSE)
    except SealError as error:
        raise VaultError(str(error), error.code) from None


def unwrap_data_key(wrapped: Bytes, master_key: Bytes | str, owner_id: object) -> bytes:
    """The data key sealed by :func:`wrap_data_key`; VaultError for a wrong master key or owner, or
    altered bytes."""
    try:
        data_key = unseal(bytes(wrapped), _master_bytes(master_key), _owner_aad(owner_id),
                          purpose=_WRAP_PURPOSE)
    except SealError as error:
        raise VaultError(f"the data key does not unwrap: {error}", "vault_key_unwrap") from None
    if len(data_key) != DATA_KEY_SIZE:
        raise VaultError("the unwrapped data key has the wrong length", "vault_key_unwrap")
    return data_key
