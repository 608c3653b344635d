"""JSON Resume (https://jsonresume.org/schema, v1.0.0): basics, work, volunteer, education, projects,
awards, certificates, skills, languages.

The mapping is the inverse of ``app.services.cvs``' export: work and volunteer become experiences
(``job``, ``volunteering``), projects ``project`` experiences, education entries diplomas (with their
institution as awarding body), skills and languages skills. ``highlights`` are kept as a Markdown list
under the summary. Certificates and awards become diplomas: they are not signed credentials.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.importers import Bundle, clip, parse_date
from app.importers.safety import parse_json, refuse

LEVELS = {"beginner": 1, "novice": 1, "débutant": 1, "intermediate": 2, "intermédiaire": 2,
          "advanced": 3, "avancé": 3, "expert": 4, "master": 4, "native": 4, "fluent": 4}


def looks_like(document) -> bool:
    return isinstance(document, dict) and (isinstance(document.get("basics"), dict)
                                           or isinstance(document.get("work"), list)) \
        and "@context" not in document


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _description(entry: dict, key: str = "summary") -> str:
    parts = [_text(entry.get(key))]
    highlights = [h.strip() for h in entry.get("highlights") or () if isinstance(h, str) and h.strip()]
    if highlights:
        parts.append("\n".join(f"- {h}" for h in highlights))
    return "\n\n".join(p for p in parts if p)


def _list(document: dict, key: str) -> list[dict]:
    value = document.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise refuse("invalid_format", _l("JSON Resume: “%(key)s” must be a list.", key=key))
    return [entry for entry in value if isinstance(entry, dict)]


def read(data: bytes) -> Bundle:
    document = parse_json(data, "The JSON Resume file")
    if not looks_like(document):
        raise refuse("invalid_format", _l("This JSON file is not a JSON Resume (no “basics” or “work”)."))
    bundle = Bundle("json_resume")
    basics = document.get("basics") if isinstance(document.get("basics"), dict) else {}
    location = basics.get("location") if isinstance(basics.get("location"), dict) else {}
    place = ", ".join(_text(location.get(k)) for k in ("address", "city", "region", "countryCode")
                      if _text(location.get(k)))
    bundle.profile = {key: value for key, value in {
        "display_name": clip(basics.get("name"), 120), "headline": clip(basics.get("label"), 160),
        "bio": _text(basics.get("summary")), "contact_email": _text(basics.get("email")),
        "phone": clip(basics.get("phone"), 40), "location": clip(place, 120),
        "website": _text(basics.get("url")),
    }.items() if value}
    for section, kind, org_key in (("work", "job", "name"), ("volunteer", "volunteering", "organization")):
        for n, entry in enumerate(_list(document, section)):
            bundle.experiences.append({
                "ref": f"{section}/{n}", "kind": kind,
                "title": clip(entry.get("position") or entry.get(org_key), 200),
                "organisation": clip(entry.get(org_key) or entry.get("name"), 200),
                "place": clip(entry.get("location"), 200),
                "start_date": parse_date(entry.get("startDate")), "end_date": parse_date(entry.get("endDate")),
                "description": _description(entry)})
    for n, entry in enumerate(_list(document, "projects")):
        bundle.experiences.append({
            "ref": f"projects/{n}", "kind": "project", "title": clip(entry.get("name"), 200),
            "organisation": clip(entry.get("entity"), 200), "place": "",
            "start_date": parse_date(entry.get("startDate")), "end_date": parse_date(entry.get("endDate")),
            "description": _description(entry, "description")})
    for n, entry in enumerate(_list(document, "education")):
        title = " — ".join(t for t in (_text(entry.get("studyType")), _text(entry.get("area"))) if t)
        bundle.diplomas.append({
            "ref": f"education/{n}", "title": clip(_text(entry.get("area")) or title
                                                   or entry.get("institution"), 200),
            "awarding_body": clip(entry.get("institution"), 200),
            "awarded_on": parse_date(entry.get("endDate")), "level": clip(entry.get("studyType"), 80),
            "reference": clip(entry.get("score"), 120)})
    for section, body_key, date_key in (("certificates", "issuer", "date"), ("awards", "awarder", "date")):
        for n, entry in enumerate(_list(document, section)):
            bundle.diplomas.append({
                "ref": f"{section}/{n}", "title": clip(entry.get("name") or entry.get("title"), 200),
                "awarding_body": clip(entry.get(body_key), 200), "awarded_on": parse_date(entry.get(date_key)),
                "level": "", "reference": ""})
    for n, entry in enumerate(_list(document, "skills")):
        keywords = [k for k in entry.get("keywords") or () if isinstance(k, str)]
        bundle.skills.append({
            "ref": f"skills/{n}", "name": clip(entry.get("name"), 200),
            "level": LEVELS.get(_text(entry.get("level")).lower(), 2),
            "framework": "", "concept_uri": "", "description": ", ".join(keywords)})
    for n, entry in enumerate(_list(document, "languages")):
        bundle.skills.append({
            "ref": f"languages/{n}", "name": clip(entry.get("language"), 200),
            "level": LEVELS.get(_text(entry.get("fluency")).lower(), 2),
            "framework": "", "concept_uri": "", "description": _text(entry.get("fluency"))})
    return bundle
