"""The passphrase encryption of exports (docs/export-format.md): round trip in pieces of any size, and
every refusal — wrong passphrase, truncated, extended, altered header or body, hostile parameters."""
from __future__ import annotations

import os
import struct

import pytest

from certs import export_cipher as cipher
from certs.vault import CHUNK_SIZE

FAST = cipher.KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)  # the smallest a reader accepts
PASSPHRASE = "correct horse battery staple"


def sealed(data: bytes, passphrase: str = PASSPHRASE) -> bytes:
    return b"".join(cipher.encrypt([data], passphrase, FAST))


def opened(blob: bytes, passphrase: str = PASSPHRASE, piece: int = 7777) -> bytes:
    return b"".join(cipher.decrypt((blob[i:i + piece] for i in range(0, len(blob), piece)), passphrase))


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 5])
def test_round_trip_in_pieces(size):
    data = os.urandom(size)
    blob = sealed(data)
    assert cipher.is_encrypted(blob) and not cipher.is_encrypted(b"PK\x03\x04")
    assert opened(blob) == data
    if size < 1000:
        assert opened(blob, piece=1) == data


def test_the_header_says_the_parameters_and_the_default_is_rfc_9106():
    blob = b"".join(cipher.encrypt([b"x"], PASSPHRASE))
    assert blob[:6] == b"SLGX\x01\x01"
    assert blob[6] == 3 and struct.unpack(">I", blob[7:11])[0] == 65536 and blob[11] == 4
    assert opened(blob) == b"x"


def test_a_unicode_passphrase_is_normalised():
    composed, decomposed = "mot de passe d\u00e9j\u00e0", "mot de passe de\u0301ja\u0300"
    assert opened(sealed(b"data", composed), decomposed) == b"data"


def error_code(blob: bytes, passphrase: str = PASSPHRASE) -> str:
    with pytest.raises(cipher.ExportCipherError) as caught:
        opened(blob, passphrase)
    return caught.value.code


def test_wrong_passphrase():
    assert error_code(sealed(b"secret"), "another passphrase") == "wrong_passphrase_or_damaged"


@pytest.mark.parametrize("damage", [
    lambda b: b[:-1],  # truncated last chunk
    lambda b: b[:cipher.HEADER_SIZE + 37 + CHUNK_SIZE + 16],  # cut at a chunk boundary
    lambda b: b + b"\x00" * 17,  # extended
    lambda b: b[:-20] + bytes([b[-20] ^ 1]) + b[-19:],  # a bit flipped in the body
    lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:],  # the KDF salt changed
    lambda b: b[:11] + b"\x02" + b[12:],  # parallelism changed (still in bounds)
])
def test_damage_is_detected(damage):
    blob = sealed(os.urandom(2 * CHUNK_SIZE + 10))
    assert error_code(damage(blob)) == "wrong_passphrase_or_damaged"


@pytest.mark.parametrize("header, code", [
    (b"PK\x03\x04", "not_encrypted_export"),
    (b"SLGX\x02\x01", "unsupported_encryption"),
    (b"SLGX\x01\x02", "unsupported_encryption"),
    (b"SLGX\x01\x01\x0b", "unsupported_encryption"),  # t_cost 11
    (b"SLGX\x01\x01\x03" + struct.pack(">I", 4 * 1024 * 1024), "unsupported_encryption"),  # 4 GiB of memory
    (b"SLGX\x01\x01\x03" + struct.pack(">I", 1024), "unsupported_encryption"),  # 1 MiB: not Sillage's
    (b"SLGX\x01\x01\x03" + struct.pack(">I", 65536) + b"\x40", "unsupported_encryption"),  # 64 lanes
])
def test_hostile_or_foreign_headers_are_refused_before_any_key_derivation(header, code):
    blob = sealed(b"data")
    assert error_code(header + blob[len(header):]) == code


def test_a_file_shorter_than_its_header():
    assert error_code(b"SLGX\x01") == "not_encrypted_export"


@pytest.mark.parametrize("passphrase", ["short", "x" * 1025, None])
def test_passphrase_length_is_checked(passphrase):
    with pytest.raises(cipher.ExportCipherError) as caught:
        b"".join(cipher.encrypt([b"data"], passphrase, FAST))
    assert caught.value.code == "weak_passphrase"
