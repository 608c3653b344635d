"""CV designs: each is a folder of data (``design.json``, ``page.html``, ``style.css``) that the small
renderers here lay out as HTML (and so PDF) and DOCX. Adding a design is adding a folder: nothing else
in the code names one. Independent of Flask, like ``badges`` and ``certs``.

``design.json``: ``name`` (fr, en), ``ats`` (one column, real text in reading order: the design for
applicant-tracking systems), ``layout`` (``single``, ``sidebar`` or ``europass``: how the DOCX renderer
arranges the same content), ``sidebar`` (section keys put in the side column) and ``docx`` (font, size,
accent colour, margins).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from cv_templates import qr
from cv_templates.model import CvDocument

HERE = Path(__file__).parent
DEFAULT = "classic"


@dataclass(frozen=True)
class Design:
    id: str
    names: dict
    ats: bool
    layout: str
    sidebar: tuple = ()
    docx: dict = field(default_factory=dict)

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.id


@lru_cache(maxsize=1)
def designs() -> dict[str, Design]:
    """Every folder with a ``design.json``, by folder name; the ATS-friendly one first."""
    found = {}
    for path in sorted(HERE.glob("*/design.json")):
        data = json.loads(path.read_text("utf-8"))
        found[path.parent.name] = Design(
            path.parent.name,
            data["name"],
            bool(data.get("ats")),
            data.get("layout", "single"),
            tuple(data.get("sidebar", ())),
            data.get("docx", {}),
        )
    return dict(sorted(found.items(), key=lambda pair: (not pair[1].ats, pair[0])))


def get(design_id: str) -> Design:
    return designs().get(design_id) or designs()[DEFAULT]


@lru_cache(maxsize=1)
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(str(HERE)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["qr"] = qr.svg
    return environment


@lru_cache(maxsize=8)
def css(design_id: str) -> str:
    """The design's whole stylesheet (common rules, then its own)."""
    return (HERE / "_common.css").read_text("utf-8") + (HERE / design_id / "style.css").read_text("utf-8")


def _photo_uri(photo: bytes | None) -> str:
    if not photo:
        return ""
    media = "image/png" if photo.startswith(b"\x89PNG") else "image/jpeg"
    return f"data:{media};base64,{base64.b64encode(photo).decode('ascii')}"


def render_html(cv: CvDocument, design_id: str = DEFAULT, *, stylesheet_url: str | None = None) -> str:
    """A whole HTML page. Standalone by default (styles and photo inline: a download, the PDF's source);
    with ``stylesheet_url``, the styles are linked instead, for pages served under a Content-Security-
    Policy that refuses inline styles (the share links)."""
    design = get(design_id)
    template = _environment().get_template(f"{design.id}/page.html")
    return template.render(
        cv=cv,
        design=design,
        css="" if stylesheet_url else css(design.id),
        stylesheet_url=stylesheet_url,
        photo_uri=_photo_uri(cv.photo),
    )
