"""Bitstring Status List v1.0: revocation and suspension without per-credential calls.

Each issued credential gets a random index in a list of at least 131,072 bits (16 KB:
the herd that makes a single lookup unrevealing). Bit 0 is the left-most (most
significant) bit of the first byte. The list is published GZIP-compressed, then
multibase base64url (``u``, no padding), inside a BitstringStatusListCredential that
the caller signs with :func:`certs.proofs.sign`.
"""

from __future__ import annotations

import gzip
import re
import secrets
import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from . import multibase
from .errors import CertsError
from .keys import utc_timestamp

MIN_LENGTH = 131_072  # bits, "at least 16KB" (section 2.2)
PURPOSES = ("revocation", "suspension")
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
# A status list far larger than any real one is a decompression bomb, not data.
MAX_BYTES = 16 * 1024 * 1024


class StatusListError(CertsError):
    code = "malformed_status_list"


class StatusList:
    """A mutable bitstring with the spec's bit order (index 0 = MSB of byte 0)."""

    def __init__(self, length: int = MIN_LENGTH, data: bytes | None = None):
        if length < MIN_LENGTH or length % 8:
            raise StatusListError(f"a status list has at least {MIN_LENGTH} bits, in whole bytes",
                                  "status_list_length_error")
        if data is not None and len(data) * 8 != length:
            raise StatusListError("data does not match the list length")
        self._bits = bytearray(data) if data is not None else bytearray(length // 8)

    def __len__(self) -> int:
        return len(self._bits) * 8

    def _locate(self, index: int) -> tuple[int, int]:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(self):
            raise StatusListError(f"index {index!r} is outside the list", "range_error")
        return index // 8, 7 - index % 8

    def get(self, index: int) -> bool:
        byte, shift = self._locate(index)
        return bool(self._bits[byte] >> shift & 1)

    def set(self, index: int, value: bool = True) -> None:
        byte, shift = self._locate(index)
        if value:
            self._bits[byte] |= 1 << shift
        else:
            self._bits[byte] &= ~(1 << shift) & 0xFF

    def clear(self, index: int) -> None:
        self.set(index, False)

    def to_bytes(self) -> bytes:
        return bytes(self._bits)

    def encode(self) -> str:
        """``encodedList``: multibase base64url (no padding) of the GZIP-compressed bits.

        ``mtime=0`` makes the output depend only on the bits, so republishing an
        unchanged list produces the same credential content.
        """
        return multibase.encode(gzip.compress(self.to_bytes(), mtime=0), multibase.BASE64URL)

    @classmethod
    def decode(cls, encoded: str, minimum: int = MIN_LENGTH) -> StatusList:
        """Expand an ``encodedList``; refuses bad encodings, bombs and short lists."""
        try:
            _, compressed = multibase.decode(encoded, allowed=multibase.BASE64URL)
        except CertsError as error:
            raise StatusListError(f"encodedList: {error}") from None
        inflater = zlib.decompressobj(wbits=31)  # gzip container only
        try:
            data = inflater.decompress(compressed, MAX_BYTES + 1)
        except zlib.error as error:
            raise StatusListError(f"encodedList is not GZIP data: {error}") from None
        if len(data) > MAX_BYTES or inflater.unconsumed_tail:
            raise StatusListError("encodedList expands beyond the size limit")
        if not inflater.eof:
            raise StatusListError("encodedList is truncated")
        if len(data) * 8 < minimum:
            raise StatusListError(f"the list has {len(data) * 8} entries, fewer than {minimum}",
                                  "status_list_length_error")
        return cls(len(data) * 8, data)

    @staticmethod
    def random_index(length: int = MIN_LENGTH, taken: set[int] | None = None) -> int:
        """A random free index: sequential ones would reveal issuance order (section 2.1)."""
        taken = taken or set()
        if len(taken) >= length:
            raise StatusListError("the status list is full", "status_list_full")
        while True:
            index = secrets.randbelow(length)
            if index not in taken:
                return index


def status_list_credential(id: str, issuer: str, purpose: str, encoded_list: str,
                           valid_from: datetime, valid_until: datetime | None = None) -> dict:
    """The unsigned BitstringStatusListCredential (section 2.2), ready for proofs.sign."""
    _check_purpose(purpose)
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": id,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": utc_timestamp(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = utc_timestamp(valid_until)
    credential["credentialSubject"] = {
        "id": f"{id}#list",
        "type": "BitstringStatusList",
        "statusPurpose": purpose,
        "encodedList": encoded_list,
    }
    return credential


def status_entry(status_list_credential: str, index: int, purpose: str = "revocation",
                 id: str | None = None) -> dict:
    """A ``credentialStatus`` BitstringStatusListEntry; the index is a base-10 string."""
    _check_purpose(purpose)
    if not isinstance(index, int) or index < 0:
        raise StatusListError("statusListIndex must be a non-negative integer", "range_error")
    entry = {
        "id": id or f"{status_list_credential}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": status_list_credential,
    }
    return entry


BitstringStatusListEntry = status_entry  # the spec's name, for readers coming from it


def check_status(entry: Mapping[str, Any], list_credential: Mapping[str, Any]) -> bool:
    """Validate algorithm (section 3.2) on an already *verified* status list credential.

    Returns True when the bit is set (revoked or suspended). Raises StatusListError
    (``status_verification_error``, ``range_error``, ...) on any inconsistency.
    """
    if entry.get("type") != "BitstringStatusListEntry":
        raise StatusListError("credentialStatus is not a BitstringStatusListEntry")
    if entry.get("statusSize", 1) != 1:
        raise StatusListError("only statusSize 1 is supported", "unsupported_status_size")
    types = list_credential.get("type") or []
    if "BitstringStatusListCredential" not in (types if isinstance(types, list) else [types]):
        raise StatusListError("not a BitstringStatusListCredential", "status_verification_error")
    if list_credential.get("id") not in (None, entry.get("statusListCredential")):
        raise StatusListError("the list is not the one the entry names", "status_verification_error")
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, Mapping) or subject.get("type") != "BitstringStatusList":
        raise StatusListError("credentialSubject is not a BitstringStatusList",
                              "status_verification_error")
    purposes = subject.get("statusPurpose")
    purposes = purposes if isinstance(purposes, list) else [purposes]
    if entry.get("statusPurpose") not in purposes:
        raise StatusListError("status purposes differ", "status_verification_error")
    index = entry.get("statusListIndex")
    if not isinstance(index, str) or not re.fullmatch(r"[0-9]+", index):
        raise StatusListError("statusListIndex must be a base-10 string", "malformed_value_error")
    return StatusList.decode(subject.get("encodedList")).get(int(index))


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise StatusListError(f"statusPurpose must be one of {PURPOSES}", "malformed_value_error")
