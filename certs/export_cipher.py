"""Passphrase encryption of an export ZIP (docs/export-format.md, "Encrypted exports"), streamed.

Why this construction: the export is one large file that the owner carries away, protected by a
passphrase only they know. The key comes from Argon2id (RFC 9106; memory-hard, so guessing passphrases
on GPUs is costly), and the content is sealed by the vault's own streamed AEAD (``certs.vault``:
AES-256-GCM in 64 KiB chunks, STREAM construction, HKDF per file), so that a 2 GB export never sits in
memory, every chunk is authenticated before it is released, and truncation, reordering or extension
is detected. One construction, already tested against all of these, rather than a second one.

Layout (version 1)::

    header = b"SLGX" || 0x01 (version) || 0x01 (KDF: Argon2id v1.3)
             || t_cost (1 byte) || m_cost in KiB (4 bytes, big-endian) || parallelism (1 byte)
             || kdf_salt (16 random bytes)                                          28 bytes
    key    = Argon2id(NFC(passphrase) as UTF-8, kdf_salt, t_cost, m_cost, parallelism, 32 bytes)
    body   = certs.vault.encrypt_stream(key, zip_bytes, aad=header)

The header is the ``aad`` of the body: changing a parameter makes the first chunk fail, like a wrong
passphrase. Reading refuses parameters beyond ``MAX_*`` (a hostile file must not make the reader
allocate gigabytes or spin for minutes) and below the minimums (a file claiming weak parameters is not
one Sillage wrote).
"""
from __future__ import annotations

import os
import struct
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw

from .errors import CertsError
from .vault import VaultError, decrypt_stream, encrypt_stream

MAGIC = b"SLGX"
VERSION = 1
KDF_ARGON2ID = 1
SALT_SIZE = 16
HEADER_SIZE = len(MAGIC) + 3 + 4 + 1 + SALT_SIZE
KEY_SIZE = 32
MAX_PASSPHRASE = 1024  # characters
MIN_PASSPHRASE = 8
# Reading limits: RFC 9106's second recommended option (t=3, 64 MiB, p=4) is well within them.
MAX_TIME_COST, MAX_MEMORY_KIB, MAX_PARALLELISM = 10, 1024 * 1024, 16
MIN_TIME_COST, MIN_MEMORY_KIB = 1, 8 * 1024


class ExportCipherError(CertsError):
    """The file is not a Sillage encrypted export, or does not open with this passphrase."""

    code = "export_cipher_error"


@dataclass(frozen=True)
class KdfParams:
    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4


DEFAULT_PARAMS = KdfParams()
# What a server accepts from an uploaded header, before anything in the file is authenticated: what
# Sillage writes (DEFAULT_PARAMS) with a margin. The MAX_* bounds above would let one 28-byte upload
# make the server spend 1 GiB and seconds of CPU per request.
IMPORT_BOUNDS = KdfParams(time_cost=4, memory_kib=256 * 1024, parallelism=8)


def is_encrypted(head: bytes) -> bool:
    """Whether a file starting with ``head`` (its first bytes) is an encrypted export."""
    return head[:len(MAGIC)] == MAGIC


def check_passphrase(passphrase: str) -> str:
    """The passphrase as used (NFC), or ``ExportCipherError`` (code ``weak_passphrase``) if it is too
    short or too long; NFC so that "é" typed on two keyboards gives one key."""
    if not isinstance(passphrase, str):
        raise ExportCipherError("the passphrase must be text", "weak_passphrase")
    normal = unicodedata.normalize("NFC", passphrase)
    if not MIN_PASSPHRASE <= len(normal) <= MAX_PASSPHRASE:
        raise ExportCipherError(f"the passphrase must have {MIN_PASSPHRASE} to {MAX_PASSPHRASE} characters",
                                "weak_passphrase")
    return normal


def _header(params: KdfParams, salt: bytes) -> bytes:
    return (MAGIC + bytes([VERSION, KDF_ARGON2ID, params.time_cost]) + struct.pack(">I", params.memory_kib)
            + bytes([params.parallelism]) + salt)


def _parse(header: bytes, bounds: KdfParams | None = None) -> tuple[KdfParams, bytes]:
    if len(header) < HEADER_SIZE or not is_encrypted(header):
        raise ExportCipherError("this is not an encrypted Sillage export", "not_encrypted_export")
    version, kdf, time_cost = header[4], header[5], header[6]
    if version != VERSION or kdf != KDF_ARGON2ID:
        raise ExportCipherError(f"unsupported encrypted export (version {version}, KDF {kdf})",
                                "unsupported_encryption")
    (memory_kib,) = struct.unpack(">I", header[7:11])
    parallelism = header[11]
    if not (MIN_TIME_COST <= time_cost <= MAX_TIME_COST and MIN_MEMORY_KIB <= memory_kib <= MAX_MEMORY_KIB
            and 1 <= parallelism <= MAX_PARALLELISM and memory_kib >= 8 * parallelism):
        raise ExportCipherError("the key derivation parameters of this file are out of bounds",
                                "unsupported_encryption")
    if bounds is not None and (time_cost > bounds.time_cost or memory_kib > bounds.memory_kib
                               or parallelism > bounds.parallelism):
        raise ExportCipherError("the key derivation parameters of this file exceed what this reader accepts",
                                "unsupported_encryption")
    return KdfParams(time_cost, memory_kib, parallelism), header[12:HEADER_SIZE]


def _key(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    return hash_secret_raw(check_passphrase(passphrase).encode("utf-8"), salt, time_cost=params.time_cost,
                           memory_cost=params.memory_kib, parallelism=params.parallelism,
                           hash_len=KEY_SIZE, type=Type.ID)


def derive(passphrase: str, params: KdfParams = DEFAULT_PARAMS) -> tuple[bytes, bytes]:
    """A new file's header (fresh salt) and its key: for a caller that derives the key now and
    encrypts later (a background job), so the passphrase need not be kept until then."""
    salt = os.urandom(SALT_SIZE)
    return _header(params, salt), _key(passphrase, salt, params)


def encrypt_with(header: bytes, key: bytes, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The encrypted file, lazily, from a ``derive``d header and key (the header is checked again)."""
    _parse(header)
    yield header
    yield from encrypt_stream(key, chunks, header)


def encrypt(chunks: Iterable[bytes], passphrase: str, params: KdfParams = DEFAULT_PARAMS) -> Iterator[bytes]:
    """The encrypted export of the bytes in ``chunks``, lazily (header first, then 64 KiB sealed chunks)."""
    header, key = derive(passphrase, params)
    yield from encrypt_with(header, key, chunks)


def decrypt(chunks: Iterable[bytes], passphrase: str, *, bounds: KdfParams | None = None) -> Iterator[bytes]:
    """The plaintext of an encrypted export given as byte pieces of any sizes, lazily. ``bounds`` (e.g.
    ``IMPORT_BOUNDS``): the costliest key derivation accepted, checked before deriving anything.

    Raises ``ExportCipherError``: ``not_encrypted_export``, ``unsupported_encryption``, ``weak_passphrase``
    (a passphrase Sillage would not have accepted), or ``wrong_passphrase_or_damaged`` — at the first chunk
    for a wrong passphrase, possibly later for a damaged or truncated file (treat the output as
    incomplete until the iterator ends normally, as ``certs.vault`` explains).
    """
    pieces = iter(chunks)
    head = bytearray()
    for data in pieces:
        head += data
        if len(head) >= HEADER_SIZE:
            break
    header = bytes(head[:HEADER_SIZE])
    params, salt = _parse(header, bounds)
    key = _key(passphrase, salt, params)

    def body() -> Iterator[bytes]:
        if len(head) > HEADER_SIZE:
            yield bytes(head[HEADER_SIZE:])
        yield from pieces

    try:
        yield from decrypt_stream(key, body(), header)
    except VaultError as error:
        raise ExportCipherError("wrong passphrase, or the file is damaged or incomplete",
                                "wrong_passphrase_or_damaged") from error


def read_file(path: str | os.PathLike, size: int = 1024 * 1024) -> Iterator[bytes]:
    """A file's bytes in pieces of ``size``, for ``decrypt`` (never whole in memory)."""
    with open(path, "rb") as handle:
        while piece := handle.read(size):
            yield piece
