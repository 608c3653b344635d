"""LinkedIn's data export (Settings › Data privacy › Get a copy of your data): a ZIP of CSV files.

Read: ``Profile.csv`` (First Name, Last Name, Headline, Summary, Geo Location, Websites),
``Positions.csv`` (Company Name, Title, Description, Location, Started On, Finished On),
``Education.csv`` (School Name, Start Date, End Date, Notes, Degree Name, Activities),
``Skills.csv`` (Name), ``Certifications.csv`` (Name, Url, Authority, Started On, Finished On, License
Number). Dates are like "Mar 2019" or "2019". Other files (messages, connections…) are not read: they
are not the person's portfolio.
"""
from __future__ import annotations

import csv
import io

from flask_babel import lazy_gettext as _l

from app.importers import Bundle, clip, parse_date
from app.importers.safety import SafeZip, refuse

FILES = ("Positions.csv", "Education.csv", "Skills.csv", "Profile.csv", "Certifications.csv")
REQUIRED = {"Positions.csv": ("Company Name", "Title"), "Education.csv": ("School Name",),
            "Skills.csv": ("Name",), "Profile.csv": ("First Name",), "Certifications.csv": ("Name",)}


def _find(archive: SafeZip, name: str) -> str | None:
    """The member named ``name`` at the root or in one folder (some exports wrap the files)."""
    for member in archive.names:
        if member == name or (member.endswith("/" + name) and member.count("/") == 1):
            return member
    return None


def looks_like(archive: SafeZip) -> bool:
    return any(_find(archive, name) for name in FILES[:3])


def _rows(archive: SafeZip, name: str) -> list[dict]:
    member = _find(archive, name)
    if member is None:
        return []
    try:
        text = archive.read(member).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse("invalid_format", _l("%(name)s is not UTF-8 text.", name=name)) from None
    lines = text.splitlines()
    # Some files start with a "Notes:" paragraph before the header line.
    while lines and lines[0].startswith("Notes:"):
        lines.pop(0)
        while lines and lines[0].strip():
            lines.pop(0)
        while lines and not lines[0].strip():
            lines.pop(0)
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    missing = [column for column in REQUIRED[name] if column not in (reader.fieldnames or ())]
    if missing:
        raise refuse("invalid_format", _l("%(name)s lacks the column(s) %(columns)s.", name=name,
                                          columns=", ".join(missing)))
    return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def read(archive: SafeZip) -> Bundle:
    bundle = Bundle("linkedin")
    for row in _rows(archive, "Profile.csv")[:1]:
        name = " ".join(p for p in (row.get("First Name"), row.get("Last Name")) if p)
        website = (row.get("Websites") or "").strip("[]").split(",")[0]
        website = website.split(":", 1)[1] if website.startswith(("PERSONAL:", "COMPANY:", "OTHER:",
                                                                  "BLOG:", "PORTFOLIO:")) else website
        bundle.profile = {k: v for k, v in {
            "display_name": clip(name, 120), "headline": clip(row.get("Headline"), 160),
            "bio": row.get("Summary", ""), "location": clip(row.get("Geo Location"), 120),
            "website": website.strip() if website.strip().startswith(("http://", "https://")) else "",
        }.items() if v}
    for n, row in enumerate(_rows(archive, "Positions.csv")):
        bundle.experiences.append({
            "ref": f"position/{n}", "kind": "job", "title": clip(row.get("Title"), 200),
            "organisation": clip(row.get("Company Name"), 200), "place": clip(row.get("Location"), 200),
            "start_date": parse_date(row.get("Started On")), "end_date": parse_date(row.get("Finished On")),
            "description": row.get("Description", "")})
    for n, row in enumerate(_rows(archive, "Education.csv")):
        notes = "\n\n".join(p for p in (row.get("Notes"), row.get("Activities")) if p)
        bundle.experiences.append({
            "ref": f"education/{n}", "kind": "education",
            "title": clip(row.get("Degree Name") or row.get("School Name"), 200),
            "organisation": clip(row.get("School Name"), 200), "place": "",
            "start_date": parse_date(row.get("Start Date")), "end_date": parse_date(row.get("End Date")),
            "description": notes})
    for n, row in enumerate(_rows(archive, "Certifications.csv")):
        bundle.diplomas.append({
            "ref": f"certification/{n}", "title": clip(row.get("Name"), 200),
            "awarding_body": clip(row.get("Authority"), 200), "awarded_on": parse_date(row.get("Started On")),
            "level": "", "reference": clip(row.get("License Number"), 120)})
    for n, row in enumerate(_rows(archive, "Skills.csv")):
        bundle.skills.append({"ref": f"skill/{n}", "name": clip(row.get("Name"), 200), "level": 2,
                              "framework": "", "concept_uri": "", "description": ""})
    return bundle
