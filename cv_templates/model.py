"""What a renderer receives: a CV as plain data, already chosen, ordered, worded and dated.

The application builds it (``app.services.cvs.document``) from the portfolio and the variant; a renderer
only lays it out. So a design never queries anything, and the same ``CvDocument`` gives the HTML, the
DOCX and the PDF: what a recruiter reads is the same in every format.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Proof:
    """Who vouches for a line: an issued credential or a referee's signed attestation."""

    line: str  # "Confirmed by Marie Dupont on 5 March 2024", in the CV's language
    url: str  # the public verification page
    status: str  # valid, expired, revoked, suspended, unknown (live, at rendering time)
    status_label: str


@dataclass
class Entry:
    title: str
    subtitle: str = ""  # organisation, place, awarding body
    dates: str = ""
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    proofs: list[Proof] = field(default_factory=list)


@dataclass
class Section:
    key: str  # experience, education, skills, credentials
    title: str
    entries: list[Entry] = field(default_factory=list)


@dataclass
class CvDocument:
    language: str
    labels: dict
    name: str
    headline: str = ""
    contacts: list[str] = field(default_factory=list)
    photo: bytes | None = None  # JPEG or PNG, already upright and stripped of metadata
    summary: list[str] = field(default_factory=list)  # paragraphs
    sections: list[Section] = field(default_factory=list)
    consent: str = ""
    cover_letter: list[str] = field(default_factory=list)
    live_status: bool = False  # the HTML shows each proof's live status (share links)

    @property
    def has_proofs(self) -> bool:
        return any(entry.proofs for section in self.sections for entry in section.entries)

    def lines(self) -> list[str]:
        """Every entry title, in reading order: what an applicant-tracking system must find."""
        return [entry.title for section in self.sections for entry in section.entries]
