"""Readers of the formats Sillage imports, each turning a file into one ``Bundle``.

A reader never touches the database: it parses (through ``app.importers.safety``) and returns plain
values with the API's field names, so that ``app.services.imports`` can show a preview, find what is
already there, and then create everything through the ordinary services in one transaction.

Formats: ``sillage`` (Sillage's own export ZIP, lossless), ``json_resume``, ``leap2a`` (an Atom file or
Mahara's export ZIP), ``europass`` (Europass CV XML), ``linkedin`` (LinkedIn's data-export ZIP) and
``badge`` (a credential file, handed to the backpack).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

SECTIONS = ("profile", "skills", "experiences", "diplomas", "journal", "documents", "credentials")


@dataclass
class FileEntry:
    """A file to store in the vault: ``chunks()`` yields its bytes (read from the archive when asked)."""

    ref: str
    name: str
    chunks: Callable[[], Iterator[bytes]]
    size: int = 0
    sha256: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (section, ref) of items it is evidence of


@dataclass
class CredentialEntry:
    """A credential file for the backpack (OB 2.0/3.0 JSON, a baked image, a CLR)."""

    ref: str
    filename: str
    payload: bytes
    hidden: bool = False
    links: list[tuple[str, str]] = field(default_factory=list)  # (section, ref) of the items it proves
    candidates: list = field(default_factory=list)  # the backpack's preview of it, once planned


@dataclass
class Bundle:
    """What one file holds, in the API's names. Items are dicts of the service's fields, plus ``ref``
    (the item's id in the source) and, for links, ``skill_refs`` (experiences) or ``experience_refs``."""

    format: str
    profile: dict = field(default_factory=dict)
    skills: list[dict] = field(default_factory=list)
    experiences: list[dict] = field(default_factory=list)
    diplomas: list[dict] = field(default_factory=list)
    journal: list[dict] = field(default_factory=list)
    documents: list[FileEntry] = field(default_factory=list)
    credentials: list[CredentialEntry] = field(default_factory=list)
    pages: list[dict] = field(default_factory=list)  # public pages (Sillage's own format only)
    cvs: list[dict] = field(default_factory=list)  # CV variants (Sillage's own format only)
    photo: bytes | None = None  # the profile photo, when the format carries one
    notes: list[str] = field(default_factory=list)  # what was read but has no place in Sillage
    # Sections of a Sillage export deliberately not restored, with how many entries each held
    # (``app.importers.sillage_zip.NOT_IMPORTED``; the reasons: ``app.services.imports.LEFT_OUT_REASONS``).
    left_out: dict[str, int] = field(default_factory=dict)


MONTHS = {name: number for number, names in enumerate((
    ("jan", "janv", "january", "janvier"), ("feb", "fev", "févr", "february", "février", "fevrier"),
    ("mar", "march", "mars"), ("apr", "avr", "april", "avril"), ("may", "mai"), ("jun", "june", "juin"),
    ("jul", "juil", "july", "juillet"), ("aug", "aout", "août", "august"),
    ("sep", "sept", "september", "septembre"), ("oct", "october", "octobre"),
    ("nov", "november", "novembre"), ("dec", "déc", "december", "décembre")), start=1) for name in names}


def parse_date(text) -> date | None:
    """A date from the loose forms other tools write: ``2019-03-04``, ``2019-03``, ``2019``,
    ``04/03/2019``, ``03/2019``, ``Mar 2019``, ``mars 2019``. A missing day or month is the 1st/January
    (the portfolio stores days). ``None`` when nothing sensible is found."""
    if text is None:
        return None
    text = str(text).strip().lower().rstrip(".")
    if not text:
        return None
    try:
        if m := re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:t.*)?", text):
            return date(int(m[1]), int(m[2] or 1), int(m[3] or 1))
        if m := re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", text):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := re.fullmatch(r"(\d{1,2})[/.](\d{4})", text):
            return date(int(m[2]), int(m[1]), 1)
        if m := re.fullmatch(r"(?:(\d{1,2})\s+)?([a-zéû]+)\.?\s+(\d{4})", text):
            month = MONTHS.get(m[2]) or MONTHS.get(m[2][:3])
            if month:
                return date(int(m[3]), month, int(m[1] or 1))
    except ValueError:
        return None
    return None


def clip(text, length: int) -> str:
    """Text cut to a column's length (other tools allow longer titles)."""
    text = "" if text is None else str(text).strip()
    return text if len(text) <= length else text[:length - 1].rstrip() + "…"
