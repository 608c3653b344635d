"""Achievement alignments that point to framework concepts (issue 12, on the issuing issue's form).

The achievement form's alignments are lines ``name | web address | framework``. A line holding only a
concept's URI or id (pasted from the concept browser, or what remains when a script is off) is written
out here as the concept's label, its URI as the alignment's URL, and its framework's name, so that the
issued credential's ``alignment`` names the framework concept (OB 3.0 ``Alignment``: ``targetName``,
``targetUrl``, ``targetFramework``). Any other line is left for ``app.services.achievements`` to check.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from app.services import frameworks


def expand_lines(session: Session, text: str, language: str = "fr") -> str:
    lines = []
    for line in (text or "").splitlines():
        reference = line.strip()
        concept = frameworks.find(session, reference) if reference and "|" not in reference else None
        if concept is not None:
            line = " | ".join((frameworks.label(concept, language).replace("|", "/"), concept.uri,
                               concept.framework.name.replace("|", "/")))
        lines.append(line)
    return "\n".join(lines)
