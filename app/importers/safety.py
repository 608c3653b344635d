"""Reading untrusted archives and documents without letting them hurt the server.

Every import goes through here: a ZIP is opened only after its central directory has been checked
(names, links, counts, declared sizes and compression ratios), and each member is read with a counter
that stops at the declared size and the limits whatever the headers claim (a ZIP can lie about sizes).
XML is parsed with defusedxml with DTDs forbidden (LEAP2A and Europass never need one: entities are the
XXE and "billion laughs" attacks), JSON with a size bound and a nesting bound.
"""
from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

import defusedxml
import defusedxml.ElementTree as SafeET
from flask_babel import lazy_gettext as _l

from app.services.errors import ServiceError

CHUNK = 1024 * 1024


class ImportRefused(ServiceError):
    """An import refused as a whole: nothing was imported. ``code`` is stable (API), the message human."""

    status = 422
    code = "import_refused"


@dataclass(frozen=True)
class Limits:
    """What one import may hold. The defaults suit a vault of 1 GiB with files of at most 500 MiB."""

    upload: int = 1024**3 + 64 * 1024**2      # the uploaded file itself
    unpacked: int = 2 * 1024**3               # all members of a ZIP, uncompressed
    member: int = 512 * 1024**2               # one member, uncompressed
    members: int = 20_000                     # entries in a ZIP
    ratio: int = 200                          # uncompressed / compressed, for members over RATIO_FLOOR
    document: int = 64 * 1024**2              # one JSON, XML or CSV document read into memory

    @classmethod
    def from_config(cls, config) -> "Limits":
        """``IMPORT_LIMITS`` in the app config (a dict of the fields above) overrides the defaults;
        ``SILLAGE_IMPORT_MAX_BYTES`` sets the upload limit (operators raise it with the vault quota)."""
        values = dict(config.get("IMPORT_LIMITS") or {})
        if "upload" not in values and os.environ.get("SILLAGE_IMPORT_MAX_BYTES"):
            values["upload"] = int(os.environ["SILLAGE_IMPORT_MAX_BYTES"])
        return cls(**values)


RATIO_FLOOR = 1024 * 1024  # small members compress well legitimately (a JSON of spaces); bombs are large


def refuse(code: str, message, **kwargs) -> ImportRefused:
    return ImportRefused(str(message), code=code, **kwargs)


def _bad_name(name: str) -> bool:
    """A member name that could escape the extraction folder or is not a plain relative path."""
    if not name or "\x00" in name or "\\" in name or name.startswith("/") or ":" in name.split("/")[0]:
        return True
    return any(part == ".." for part in PurePosixPath(name).parts)


class SafeZip:
    """A ZIP archive whose directory has been checked; members are read through ``open``/``read``."""

    def __init__(self, path: str, limits: Limits):
        self.limits = limits
        try:
            self.zip = zipfile.ZipFile(path)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
            raise refuse("corrupt_archive", _l("The archive is damaged or incomplete (was it cut short while "
                                               "being written or uploaded?)."))
        if len(infos) > limits.members:
            raise refuse("archive_too_large", _l("The archive holds too many files (at most %(n)s).",
                                                 n=limits.members))
        seen, total = set(), 0
        for info in infos:
            name = info.filename
            if _bad_name(name):
                raise refuse("unsafe_archive", _l("The archive holds a file with an unsafe path (%(name)s): "
                                                  "it is refused.", name=name[:200]))
            mode = info.external_attr >> 16
            if info.create_system == 3 and stat.S_ISLNK(mode):
                raise refuse("unsafe_archive", _l("The archive holds a symbolic link (%(name)s): it is "
                                                  "refused.", name=name[:200]))
            if info.flag_bits & 0x1:
                raise refuse("unsafe_archive", _l("The archive holds a password-protected file (%(name)s).",
                                                  name=name[:200]))
            if name in seen:
                raise refuse("unsafe_archive", _l("The archive holds two files named %(name)s.",
                                                  name=name[:200]))
            seen.add(name)
            self._check_size(info.file_size, info.compress_size, name)
            total += info.file_size
            if total > limits.unpacked:
                raise refuse("archive_too_large", _l("Unpacked, the archive would be larger than the "
                                                     "allowed %(size)s MiB.", size=limits.unpacked // 2**20))
        self.names = [info.filename for info in infos if not info.is_dir()]
        self.unpacked = 0  # bytes actually inflated, each member counted once, against ``limits.unpacked``
        self.counted: set[str] = set()

    def _check_size(self, size: int, compressed: int, name: str) -> None:
        if size > self.limits.member:
            raise refuse("archive_too_large", _l("A file in the archive (%(name)s) is larger than the "
                                                 "allowed %(size)s MiB.", name=name[:200],
                                                 size=self.limits.member // 2**20))
        if size > RATIO_FLOOR and size > self.limits.ratio * max(compressed, 1):
            raise refuse("zip_bomb", _l("A file in the archive (%(name)s) expands suspiciously (a "
                                        "\"ZIP bomb\"): the archive is refused.", name=name[:200]))

    def has(self, name: str) -> bool:
        return name in self.names

    def chunks(self, name: str, limit: int | None = None) -> Iterator[bytes]:
        """The member's bytes, counted as they are inflated: more than declared, than ``limit`` or
        than the archive's allowance stops the import (the headers may lie)."""
        info = self.zip.getinfo(name)
        limit = min(limit or self.limits.member, info.file_size)
        read, first = 0, name not in self.counted
        try:
            with self.zip.open(info) as member:
                while piece := member.read(CHUNK):
                    read += len(piece)
                    self.unpacked += len(piece) if first else 0
                    if read > limit or self.unpacked > self.limits.unpacked:
                        raise refuse("zip_bomb", _l("A file in the archive (%(name)s) is larger than it "
                                                    "claims: the archive is refused.", name=name[:200]))
                    yield piece
            self.counted.add(name)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, zipfile.LargeZipFile) as error:
            if isinstance(error, ServiceError):
                raise
            raise refuse("corrupt_archive", _l("A file in the archive (%(name)s) is damaged.",
                                               name=name[:200])) from None

    def read(self, name: str) -> bytes:
        """A small member (a JSON, XML or CSV document) whole, at most ``limits.document`` bytes."""
        if self.zip.getinfo(name).file_size > self.limits.document:
            raise refuse("document_too_large", _l("%(name)s is too large to be read.", name=name[:200]))
        return b"".join(self.chunks(name, self.limits.document))

    def close(self) -> None:
        self.zip.close()


def read_limited(stream: IO[bytes], limit: int) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise refuse("document_too_large", _l("The file is too large to be read."))
    return data


def parse_json(data: bytes, what: str = "JSON"):
    """JSON from untrusted bytes: UTF-8 (with or without BOM); nesting deep enough to exhaust the parser's
    recursion is refused like any other invalid JSON."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse("invalid_json", _l("%(what)s is not UTF-8 text.", what=what)) from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise refuse("invalid_json", _l("%(what)s is not valid JSON.", what=what)) from None


def parse_xml(data: bytes, what: str = "XML"):
    """An XML tree from untrusted bytes; any DTD (hence any entity, internal or external) is refused."""
    try:
        return SafeET.parse(io.BytesIO(data), forbid_dtd=True, forbid_entities=True,
                            forbid_external=True).getroot()
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden,
            defusedxml.NotSupportedError):
        raise refuse("unsafe_xml", _l("%(what)s declares a DTD or entities, which could be an attack (XXE, "
                                      "\"billion laughs\"): it is refused.", what=what)) from None
    except SafeET.ParseError:
        raise refuse("invalid_xml", _l("%(what)s is not well-formed XML.", what=what)) from None
