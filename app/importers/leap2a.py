"""LEAP2A (http://wiki.leapspecs.org/2A/specification): an Atom feed whose entries are typed with
``rdf:type`` (``leap2:person``, ``entry``, ``activity``, ``achievement``, ``ability``, ``resource``,
``organization``, ``selection``…), dated with ``leap2:date``, classified by ``category`` (scheme
``categories:life_area#`` term ``Work`` / ``Education``…) and linked with ``link rel="leap2:…"``.

Mahara's export ZIP holds ``leap2a.xml`` and the files under ``files/``. Its résumé comes out as
activities (employment: ``life_area`` Work, the employer an ``organization`` entry linked with
``is_supported_by``; education: ``life_area`` Education, the institution likewise), achievements
(certifications), abilities (its skill fields, HTML), ``entry`` items (journal posts) and resources
(files: ``content/@src`` or ``link rel="enclosure"``). Mapping here: Work and other activities become
experiences, Education activities and achievements diplomas, abilities skills (one per list item or
line), entries the journal, resources vault documents; ``has_evidence`` / ``is_evidence_of`` links from
an experience, diploma or skill to a file become evidence. Mahara's dates are free text ("Jan 2010"):
read with ``parse_date``; an activity without a readable start is shown as not importable.
"""
from __future__ import annotations

import html
import posixpath
import re

import nh3
from flask_babel import lazy_gettext as _l

from app.importers import Bundle, FileEntry, clip, parse_date
from app.importers.safety import SafeZip, parse_xml, refuse

ATOM = "{http://www.w3.org/2005/Atom}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
LEAP = "{http://terms.leapspecs.org/}"
EVIDENCE_RELS = {"has_evidence", "is_evidence_of", "supports", "is_supported_by", "related", "has_part",
                 "is_part_of"}


def looks_like(root) -> bool:
    return root.tag == ATOM + "feed" and any(
        child.tag.startswith(LEAP) for child in root) or (root.tag == ATOM + "feed" and any(
            (t.get(RDF + "resource") or "").startswith(("leap2:", "http://terms.leapspecs.org/"))
            for t in root.iter(RDF + "type")))


def _type(entry) -> str:
    resource = next((t.get(RDF + "resource") or "" for t in entry.findall(RDF + "type")), "")
    return re.split(r"[:/#]", resource)[-1]


def _content(element) -> str:
    """Entry text as plain paragraphs: HTML (escaped or XHTML) is reduced to its text."""
    if element is None:
        return ""
    kind = element.get("type", "text")
    if kind == "xhtml":
        markup = "".join(html.escape(t) if isinstance(t, str) else "" for t in element.itertext())
        return _html_text(markup)
    if kind == "html":
        return _html_text(element.text or "")
    return (element.text or "").strip()


def _html_text(markup: str) -> str:
    markup = re.sub(r"(?i)<\s*(br|/p|/li|/div|/h\d)\s*/?>", "\n", markup)
    markup = re.sub(r"(?i)<\s*li[^>]*>", "- ", markup)
    text = html.unescape(nh3.clean(markup, tags=set()))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _date(entry, point: str):
    for element in entry.findall(LEAP + "date"):
        if element.get(LEAP + "point") == point:
            return parse_date((element.text or "").strip() or element.get(LEAP + "label"))
    return None


def _categories(entry) -> set[str]:
    return {(c.get("term") or "").lower() for c in entry.findall(ATOM + "category")}


def _links(entry) -> list[tuple[str, str]]:
    return [(re.split(r"[:/#]", link.get("rel") or "")[-1], link.get("href") or "")
            for link in entry.findall(ATOM + "link")]


def _key(ref: str) -> str:
    return ref.split(":", 1)[1] if ref.startswith("portfolio:") else ref


def read(data: bytes, archive: SafeZip | None = None) -> Bundle:
    root = parse_xml(data, _l("The LEAP2A file"))
    if not looks_like(root):
        raise refuse("invalid_format", _l("This XML file is not a LEAP2A feed."))
    bundle = Bundle("leap2a")
    entries = {_key(e.findtext(ATOM + "id") or f"#{n}"): e for n, e in enumerate(root.findall(ATOM + "entry"))}
    author = root.findtext(f"{ATOM}author/{ATOM}name") or ""
    sections: dict[str, str] = {}  # entry key -> section it became
    organisations = {key: (e.findtext(ATOM + "title") or "").strip()
                     for key, e in entries.items() if _type(e) == "organization"}
    sibling_of_education = set()
    for key, entry in entries.items():
        if _type(entry) == "activity" and "education" in _categories(entry):
            sibling_of_education.update(_key(h) for _rel, h in _links(entry))
    for key, entry in entries.items():
        kind, title = _type(entry), " ".join((entry.findtext(ATOM + "title") or "").split())
        body = _content(entry.find(ATOM + "content"))
        supporter = next((organisations[_key(h)] for rel, h in _links(entry)
                          if rel == "is_supported_by" and _key(h) in organisations), "")
        if kind == "person":
            bundle.profile = _person(entry, author, body)
        elif kind == "activity" and "education" in _categories(entry):
            bundle.diplomas.append({"ref": key, "title": clip(title, 200), "awarding_body": clip(supporter, 200),
                                    "awarded_on": _date(entry, "end"), "level": "", "reference": ""})
            sections[key] = "diplomas"
        elif kind == "activity":
            work = "work" in _categories(entry)
            bundle.experiences.append({
                "ref": key, "kind": "job" if work else "other", "title": clip(title, 200),
                "organisation": clip(supporter, 200), "place": "", "start_date": _date(entry, "start"),
                "end_date": _date(entry, "end"), "description": body})
            sections[key] = "experiences"
        elif kind == "achievement" and key not in sibling_of_education:
            bundle.diplomas.append({"ref": key, "title": clip(title, 200), "awarding_body": clip(supporter, 200),
                                    "awarded_on": _date(entry, "end") or _date(entry, "start"), "level": "",
                                    "reference": ""})
            sections[key] = "diplomas"
        elif kind == "ability":
            for n, line in enumerate(_skill_lines(body) or [title]):
                bundle.skills.append({"ref": f"{key}/{n}", "name": clip(line, 200), "level": 2,
                                      "framework": "", "concept_uri": "", "description": ""})
        elif kind == "entry":
            bundle.journal.append({"ref": key, "title": clip(title or _l("Untitled"), 200), "body": body,
                                   "created_at": entry.findtext(ATOM + "published")})
        elif kind == "resource":
            entry_file = _file(entry, archive, key, title)
            if entry_file is not None:
                bundle.documents.append(entry_file)
            elif _source(entry):
                bundle.notes.append(str(_l("The file of “%(title)s” is not in the archive.", title=title)))
    by_ref = {document.ref: document for document in bundle.documents}
    for key, entry in entries.items():
        for rel, href in _links(entry):
            other = _key(href)
            if rel not in EVIDENCE_RELS:
                continue
            if key in sections and other in by_ref:
                by_ref[other].links.append((sections[key], key))
            elif key in by_ref and other in sections:
                by_ref[key].links.append((sections[other], other))
    for document in bundle.documents:
        document.links = list(dict.fromkeys(document.links))
    return bundle


def _person(entry, author: str, body: str) -> dict:
    """The profile from LEAP2A's personal data: the preferred name (LEAP2A's ``preferred_given_name``,
    which Mahara and Sillage write; ``preferred_name`` kept for older files), else the legal names, else
    the feed's author; a phone of any kind; the place from ``leap2:spatial``'s address lines (where LEAP2A
    puts it), else a ``town``/``city`` field."""
    data = {}
    for element in entry.findall(LEAP + "persondata"):
        data.setdefault(element.get(LEAP + "field") or "", (element.text or "").strip())
    lines = [" ".join((line.text or "").split()) for line in entry.iterfind(f"{LEAP}spatial/{LEAP}addressline")]
    name = data.get("preferred_given_name") or data.get("preferred_name") or " ".join(
        p for p in (data.get("legal_given_name"), data.get("legal_family_name")) if p) or author
    website = data.get("website", "")
    return {k: v for k, v in {
        "display_name": clip(name, 120), "bio": body, "contact_email": data.get("email", ""),
        "phone": clip(data.get("mobile") or data.get("workphone") or data.get("homephone"), 40),
        "location": clip(", ".join(line for line in lines if line) or data.get("town") or data.get("city"), 120),
        "website": website if website.startswith(("http://", "https://")) else "",
    }.items() if v}


def _skill_lines(body: str) -> list[str]:
    lines = [line.lstrip("- ").strip() for line in body.splitlines()]
    return [line for line in lines if 1 < len(line) <= 120]


def _source(entry) -> str:
    content = entry.find(ATOM + "content")
    if content is not None and content.get("src"):
        return content.get("src")
    return next((link.get("href") or "" for link in entry.findall(ATOM + "link")
                 if (link.get("rel") or "") == "enclosure"), "")


def _file(entry, archive: SafeZip | None, key: str, title: str) -> FileEntry | None:
    source = _source(entry)
    if archive is None or not source or "://" in source:
        return None
    path = posixpath.normpath(source.lstrip("./") if source.startswith("./") else source)
    if path.startswith(("../", "/")) or not archive.has(path):
        return None
    info = archive.zip.getinfo(path)
    name = title or posixpath.basename(path)
    if "." not in name and "." in posixpath.basename(path):
        name += "." + posixpath.basename(path).rsplit(".", 1)[1]
    return FileEntry(ref=key, name=clip(name, 200), chunks=lambda p=path: archive.chunks(p),
                     size=info.file_size, sha256="",
                     description=_content(entry.find(ATOM + "summary")))


