"""The vault cipher (certs/vault.py): round trips, every kind of tampering, ranges, laziness, data keys."""
from __future__ import annotations

import hashlib
import os
import struct

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from certs import vault
from certs.errors import SealError
from certs.keys import unseal
from certs.vault import CHUNK_SIZE as C, HEADER_SIZE, SEALED_CHUNK_SIZE as S, VaultError

KEY = bytes(range(32))
AAD = "owner-1/document-1"


def encrypt(data: bytes, key: bytes = KEY, aad=AAD, piece: int = 10_000) -> tuple[bytes, str]:
    stream = vault.encrypt_stream(key, (data[i:i + piece] for i in range(0, len(data), piece)), aad)
    return b"".join(stream), stream.sha256


def decrypt(blob: bytes, key: bytes = KEY, aad=AAD, **kwargs) -> bytes:
    return b"".join(vault.decrypt_stream(key, [blob], aad, **kwargs))


def chunks_of(blob: bytes) -> tuple[bytes, list[bytes]]:
    body = blob[HEADER_SIZE:]
    return blob[:HEADER_SIZE], [body[i:i + S] for i in range(0, len(body), S)]


@pytest.mark.parametrize("size", [0, 1, C - 1, C, C + 1, 2 * C, 3 * 1024 * 1024 + 7])
def test_round_trip_sizes_and_digest(size):
    data = os.urandom(size)
    blob, digest = encrypt(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert len(blob) == vault.encrypted_size(size) and vault.plaintext_size(len(blob)) == size
    assert decrypt(blob) == data
    assert decrypt(blob, expected_sha256=digest) == data
    assert size < 32 or data[:32] not in blob  # the plaintext does not show through


@settings(max_examples=40, deadline=None)
@given(size=st.integers(0, 3 * C + 10), cut=st.lists(st.integers(1, 2 * C), min_size=1, max_size=8))
def test_round_trip_whatever_the_input_and_storage_pieces(size, cut):
    """Encryption and decryption re-cut pieces of any sizes (a request body, a storage read) into chunks."""
    data = os.urandom(size)

    def pieces(blob):
        i = k = 0
        while i < len(blob):
            step = cut[k % len(cut)]
            yield blob[i:i + step]
            yield b""  # empty pieces are harmless
            i, k = i + step, k + 1

    stream = vault.encrypt_stream(KEY, pieces(data), AAD)
    blob = b"".join(stream)
    assert stream.size == size and stream.sha256 == hashlib.sha256(data).hexdigest()
    assert b"".join(vault.decrypt_stream(KEY, pieces(blob), AAD)) == data


def test_the_layout_is_the_documented_stream_construction():
    """Rebuild each chunk's key and nonce from the module docstring alone: the counter and the last flag
    are in the nonce, the header is the associated data, the aad goes into the key derivation."""
    data = os.urandom(2 * C + 5)
    blob, _ = encrypt(data)
    header, sealed = chunks_of(blob)
    assert header[:5] == b"SVLT\x01" and len(sealed) == 3
    material = HKDF(algorithm=hashes.SHA256(), length=39, salt=header[5:],
                    info=b"sillage/vault/v1\x00" + AAD.encode()).derive(KEY)
    cipher, prefix = AESGCM(material[:32]), material[32:]
    for index, chunk in enumerate(sealed):
        last = index == len(sealed) - 1
        nonce = prefix + struct.pack(">I", index) + bytes([last])
        assert cipher.decrypt(nonce, chunk, header) == data[index * C:(index + 1) * C]
        with pytest.raises(InvalidTag):  # the same chunk with the other flag value does not open
            cipher.decrypt(prefix + struct.pack(">I", index) + bytes([not last]), chunk, header)


def test_each_document_has_its_own_salt():
    one, _ = encrypt(b"same content")
    two, _ = encrypt(b"same content")
    assert one[:HEADER_SIZE] != two[:HEADER_SIZE] and one[HEADER_SIZE:] != two[HEADER_SIZE:]


def _refused(blob: bytes, key=KEY, aad=AAD, **kwargs):
    """Decrypt expecting VaultError; whatever came out before it must be genuine plaintext (a prefix)."""
    out = []
    with pytest.raises(VaultError) as failure:
        for piece in vault.decrypt_stream(key, [blob[i:i + 5000] for i in range(0, len(blob), 5000)], aad,
                                          **kwargs):
            out.append(piece)
    return b"".join(out), failure.value


DATA = os.urandom(4 * C + 100)
BLOB, DIGEST = encrypt(DATA)
HEADER, SEALED = chunks_of(BLOB)


def _tampered():
    flip = lambda blob, at: blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1:]  # noqa: E731
    other, _ = encrypt(os.urandom(len(DATA)))
    return {
        "drop last chunk": HEADER + b"".join(SEALED[:-1]),
        "drop first chunk": HEADER + b"".join(SEALED[1:]),
        "cut mid-chunk": BLOB[:HEADER_SIZE + 2 * S + 1000],
        "cut inside the last tag": BLOB[:-3],
        "cut inside the header": BLOB[:20],
        "header only": HEADER,
        "nothing": b"",
        "reordered": HEADER + SEALED[1] + SEALED[0] + b"".join(SEALED[2:]),
        "duplicated": HEADER + SEALED[0] + b"".join(SEALED),
        "last chunk repeated": BLOB + SEALED[-1],
        "extended with a chunk of another document": BLOB + chunks_of(other)[1][0],
        "extended with random bytes": BLOB + os.urandom(40),
        "extended with an empty chunk": BLOB + os.urandom(16),
        "chunk spliced from another document": HEADER + chunks_of(other)[1][0] + b"".join(SEALED[1:]),
        "header of another document": other[:HEADER_SIZE] + BLOB[HEADER_SIZE:],
        "magic flipped": flip(BLOB, 0),
        "version changed": BLOB[:4] + b"\x02" + BLOB[5:],
        "salt flipped": flip(BLOB, 10),
        "first chunk flipped": flip(BLOB, HEADER_SIZE + 7),
        "middle tag flipped": flip(BLOB, HEADER_SIZE + 2 * S - 1),
        "last chunk flipped": flip(BLOB, len(BLOB) - 30),
    }


@pytest.mark.parametrize("case", list(_tampered()))
def test_tampering_fails_with_vault_error_and_never_yields_garbage(case):
    blob = _tampered()[case]
    out, _ = _refused(blob)
    assert DATA.startswith(out)
    # Whatever was yielded is whole, authenticated chunks.
    assert len(out) % C == 0


def test_wrong_key_and_wrong_aad_fail_before_any_output():
    assert _refused(BLOB, key=os.urandom(32))[0] == b""
    assert _refused(BLOB, aad="owner-1/document-2")[0] == b""
    assert _refused(BLOB, aad=b"")[0] == b""
    with pytest.raises(VaultError):
        decrypt(BLOB, key=KEY[:16])  # not even a data key


def test_truncation_after_genuine_chunks_fails_late_and_says_so():
    """A blob cut at a chunk boundary: the first chunks decrypt (they are genuine), the end is refused."""
    out, error = _refused(HEADER + b"".join(SEALED[:2]))
    assert out == DATA[:C]  # chunk 1, sealed as "not last", cannot serve as the end
    assert error.code == "vault_invalid"
    assert _refused(BLOB[:HEADER_SIZE + 10])[1].code == "vault_truncated"


def test_an_expected_digest_that_differs_is_refused_after_the_last_chunk():
    out, error = _refused(BLOB, expected_sha256=hashlib.sha256(b"another document").hexdigest())
    assert out == DATA and error.code == "vault_digest_mismatch"
    assert decrypt(BLOB, expected_sha256=DIGEST.upper()) == DATA


def test_the_stream_reports_its_digest_only_at_the_end_and_runs_once():
    stream = vault.encrypt_stream(KEY, [b"abc"], AAD)
    iterator = iter(stream)
    next(iterator)
    with pytest.raises(RuntimeError):
        stream.sha256
    assert list(iterator) and stream.sha256 == hashlib.sha256(b"abc").hexdigest()
    with pytest.raises(RuntimeError):
        iter(stream)
    with pytest.raises(TypeError):
        b"".join(vault.encrypt_stream(KEY, ["text, not bytes"], AAD))


def test_a_reused_input_buffer_is_copied_not_aliased():
    """A reader that fills the same bytearray again and again (readinto) must not corrupt held chunks."""
    data = os.urandom(3 * C)

    def reader():
        buffer = bytearray(C)
        for i in range(0, len(data), C):
            buffer[:] = data[i:i + C]
            yield buffer

    blob = b"".join(vault.encrypt_stream(KEY, reader(), AAD))
    assert decrypt(blob) == data


class Source:
    """A generator of input pieces that counts how much has been pulled."""

    def __init__(self, total: int, piece: int):
        self.total, self.piece, self.pulled = total, piece, 0

    def __iter__(self):
        while self.pulled < self.total:
            size = min(self.piece, self.total - self.pulled)
            self.pulled += size
            yield b"\x07" * size


def test_encryption_pulls_its_input_lazily():
    """Flat memory by construction: each output chunk needs at most one chunk (plus one input piece) more."""
    source = Source(total=40 * C, piece=10_000)
    stream = iter(vault.encrypt_stream(KEY, source, AAD))
    assert len(next(stream)) == HEADER_SIZE and source.pulled == 0  # the header needs no input
    emitted = 0
    for sealed in stream:
        emitted += len(sealed) - 16
        assert source.pulled - emitted <= C + 10_000
    assert emitted == 40 * C


def test_decryption_pulls_its_input_lazily():
    blob = b"".join(vault.encrypt_stream(KEY, Source(40 * C, C), AAD))
    pulled = 0

    def pieces():
        nonlocal pulled
        for i in range(0, len(blob), 7000):
            pulled += min(7000, len(blob) - i)
            yield blob[i:i + 7000]

    emitted = 0
    for plain in vault.decrypt_stream(KEY, pieces(), AAD):
        emitted += len(plain)
        assert pulled - (emitted + HEADER_SIZE) <= 2 * S + 7000
    assert emitted == 40 * C


# -- ranges --------------------------------------------------------------------------------------------------

RANGE_DATA = os.urandom(5 * C + 123)
RANGE_BLOB, _ = encrypt(RANGE_DATA)


def reader(blob: bytes, calls: list | None = None):
    def read(offset: int, length: int) -> bytes:
        if calls is not None:
            calls.append((offset, length))
        return blob[offset:offset + length]
    return read


def decrypt_range(start, length, blob=RANGE_BLOB, size=len(RANGE_DATA), **kwargs):
    return b"".join(vault.decrypt_range(KEY, reader(blob), size, start, length, AAD, **kwargs))


@pytest.mark.parametrize("start,length", [
    (0, 1), (0, len(RANGE_DATA)), (C - 1, 2), (C, C), (C + 5, 3 * C), (len(RANGE_DATA) - 1, 1),
    (5 * C, 123), (2 * C + 17, 1),
])
def test_a_range_equals_slicing(start, length):
    assert decrypt_range(start, length) == RANGE_DATA[start:start + length]
    assert decrypt_range(start, length, batch=1) == RANGE_DATA[start:start + length]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_range_equals_slicing(data):
    start = data.draw(st.integers(0, len(RANGE_DATA) - 1))
    length = data.draw(st.integers(1, len(RANGE_DATA) - start))
    batch = data.draw(st.integers(1, 4))
    assert decrypt_range(start, length, batch=batch) == RANGE_DATA[start:start + length]


def test_a_range_reads_only_the_header_and_the_covering_chunks():
    calls = []
    out = b"".join(vault.decrypt_range(KEY, reader(RANGE_BLOB, calls), len(RANGE_DATA), 2 * C + 10, C, AAD))
    assert out == RANGE_DATA[2 * C + 10:3 * C + 10]
    span = vault.chunk_span(len(RANGE_DATA), 2 * C + 10, C)
    assert (span.first, span.last, span.skip) == (2, 3, 10)
    assert calls == [(0, HEADER_SIZE), (span.offset, 2 * S)] and span.length == 2 * S
    last = vault.chunk_span(len(RANGE_DATA), len(RANGE_DATA) - 1, 1)
    assert last.offset + last.length == len(RANGE_BLOB)  # the short final chunk, up to the end


def test_a_range_over_tampered_or_missing_bytes_fails():
    flipped = bytearray(RANGE_BLOB)
    flipped[HEADER_SIZE + 3 * S + 5] ^= 1
    with pytest.raises(VaultError):
        decrypt_range(3 * C, 10, blob=bytes(flipped))
    assert decrypt_range(0, 10, blob=bytes(flipped)) == RANGE_DATA[:10]  # untouched chunks still read
    with pytest.raises(VaultError):  # the stored blob lost its end
        decrypt_range(5 * C, 5, blob=RANGE_BLOB[:-50])
    header, sealed = chunks_of(RANGE_BLOB)
    with pytest.raises(VaultError):  # the final chunk cut off: chunk 4 is not sealed as the end
        decrypt_range(4 * C, C, blob=header + b"".join(sealed[:-1]), size=5 * C)
    with pytest.raises(VaultError):
        decrypt_range(0, 10, blob=header + sealed[1] + sealed[0])
    with pytest.raises(VaultError):  # wrong aad
        b"".join(vault.decrypt_range(KEY, reader(RANGE_BLOB), len(RANGE_DATA), 0, 10, "other"))


@pytest.mark.parametrize("start,length", [(-1, 5), (0, 0), (10, len(RANGE_DATA)), (len(RANGE_DATA), 1)])
def test_an_unsatisfiable_range_is_a_value_error(start, length):
    with pytest.raises(ValueError):
        decrypt_range(start, length)


def test_sizes_that_no_document_has_are_refused():
    for size in (0, HEADER_SIZE, HEADER_SIZE + 15, HEADER_SIZE + S + 3, HEADER_SIZE + S + 16):
        with pytest.raises(VaultError):
            vault.plaintext_size(size)
    assert vault.plaintext_size(HEADER_SIZE + 16) == 0 and vault.plaintext_size(HEADER_SIZE + S + 17) == C + 1


def test_an_empty_final_chunk_after_full_ones_is_refused_even_if_it_would_parse():
    header, sealed = chunks_of(encrypt(os.urandom(C))[0])
    assert _refused(header + sealed[0] + os.urandom(16))[0] == b""


# -- data keys -----------------------------------------------------------------------------------------------

MASTER = "m" * 43
OWNER = "4a1f6a52-1f0e-4c5e-9a57-3b7f1c2d9e10"


def test_data_keys_wrap_and_unwrap_bound_to_the_owner_and_the_master_key():
    key = vault.generate_data_key()
    assert len(key) == 32 and key != vault.generate_data_key()
    wrapped = vault.wrap_data_key(key, MASTER, OWNER)
    assert key not in wrapped
    assert vault.unwrap_data_key(wrapped, MASTER, OWNER) == key
    assert vault.unwrap_data_key(wrapped, MASTER.encode(), OWNER) == key  # text or bytes: the same key
    altered = wrapped[:-1] + bytes([wrapped[-1] ^ 1])
    for master, owner, blob in [("n" * 43, OWNER, wrapped), (MASTER, "another-owner", wrapped),
                                (MASTER, OWNER, altered), (MASTER, OWNER, b"")]:
        with pytest.raises(VaultError) as refused:
            vault.unwrap_data_key(blob, master, owner)
        assert refused.value.code == "vault_key_unwrap"
    with pytest.raises(SealError):  # its own purpose: not a signing-key seal
        unseal(wrapped, MASTER.encode(), b"sillage/vault/data-key/v1\x00" + OWNER.encode())
    with pytest.raises(VaultError):
        vault.wrap_data_key(b"short", MASTER, OWNER)
    with pytest.raises(VaultError):
        vault.wrap_data_key(key, "too-short", OWNER)


def test_master_key_ids_name_keys_without_revealing_them():
    ident = vault.master_key_id(MASTER)
    assert len(ident) == 16 and int(ident, 16) >= 0
    assert ident == vault.master_key_id(MASTER.encode()) != vault.master_key_id("n" * 43)
    assert ident not in hashlib.sha256(MASTER.encode()).hexdigest()  # labelled, not the bare hash
