"""Europass CV XML, both generations:

- Europass v3 (2012-2020, schema ``http://europass.cedefop.europa.eu/Europass``): root ``SkillsPassport``,
  ``LearnerInfo`` with ``Identification`` (``PersonName/FirstName``, ``Surname``, ``ContactInfo``),
  ``Headline``, ``WorkExperienceList/WorkExperience`` (``Period/From@year,@month,@day``, ``Period/To``,
  ``Position/Label``, ``Activities``, ``Employer/Name``), ``EducationList/Education`` (``Title``,
  ``Organisation/Name``, ``Level/Label``), ``Skills`` (languages, and the free-text skill fields).
- Europass v4 (2020-, ``http://www.europass.eu/1.0``, HR-XML 3.0 based): root ``Candidate``,
  ``CandidatePerson/PersonName`` (``oa:GivenName``, ``hr:FamilyName``), ``CandidateProfile`` with
  ``EmploymentHistory/EmployerHistory`` (``hr:OrganizationName``, ``PositionHistory/PositionTitle``,
  ``eures:EmploymentPeriod/eures:StartDate/hr:FormattedDateTime``, ``Description``) and
  ``EducationHistory/EducationOrganizationAttendance`` (``hr:OrganizationName``,
  ``EducationDegree/hr:DegreeName``, ``AttendancePeriod``), ``PersonQualifications`` (competencies).

Elements are matched by local name: both generations mix three or four namespaces, and exporters
differ in which prefix they put on the same element. Month and day in v3 are gYearMonth-style
(``--09``, ``---01``).
"""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from app.importers import Bundle, clip, parse_date
from app.importers.safety import parse_xml, refuse


def local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def looks_like(root) -> bool:
    return local(root.tag) in ("SkillsPassport", "Candidate")


def _find(element, *path):
    """The first descendant following ``path`` (local names, each step any depth below the last)."""
    for step in path:
        if element is None:
            return None
        element = next((e for e in element.iter() if e is not element and local(e.tag) == step), None)
    return element


def _all(element, name):
    return [] if element is None else [e for e in element.iter() if local(e.tag) == name]


def _text(element, *path) -> str:
    found = _find(element, *path) if path else element
    return " ".join("".join(found.itertext()).split()) if found is not None else ""


def _v3_date(element) -> date | None:
    if element is None or not element.get("year"):
        return None
    try:
        return date(int(element.get("year")), int((element.get("month") or "1").lstrip("-") or 1),
                    int((element.get("day") or "1").lstrip("-") or 1))
    except ValueError:
        return None


def _read_v3(root, bundle: Bundle) -> None:
    learner = _find(root, "LearnerInfo")
    name = " ".join(t for t in (_text(learner, "Identification", "FirstName"),
                                _text(learner, "Identification", "Surname")) if t)
    bundle.profile = {k: v for k, v in {
        "display_name": clip(name, 120), "headline": clip(_text(learner, "Headline", "Description", "Label"), 160),
        "contact_email": _text(learner, "ContactInfo", "Email", "Contact"),
        "phone": clip(_text(learner, "ContactInfo", "Telephone", "Contact"), 40),
        "location": clip(_text(learner, "ContactInfo", "Municipality"), 120),
    }.items() if v}
    for n, work in enumerate(_all(learner, "WorkExperience")):
        period = _find(work, "Period")
        current = _text(period, "Current").lower() == "true"
        bundle.experiences.append({
            "ref": f"work/{n}", "kind": "job", "title": clip(_text(work, "Position", "Label"), 200),
            "organisation": clip(_text(work, "Employer", "Name"), 200),
            "place": clip(_text(work, "Employer", "Municipality"), 200),
            "start_date": _v3_date(_find(period, "From")),
            "end_date": None if current else _v3_date(_find(period, "To")),
            "description": _text(work, "Activities")})
    for n, education in enumerate(_all(learner, "Education")):
        bundle.diplomas.append({
            "ref": f"education/{n}", "title": clip(_text(education, "Title"), 200),
            "awarding_body": clip(_text(education, "Organisation", "Name"), 200),
            "awarded_on": _v3_date(_find(education, "Period", "To")) or _v3_date(_find(education, "From")),
            "level": clip(_text(education, "Level", "Label"), 80), "reference": ""})
    skills = _find(learner, "Skills")
    for n, language in enumerate(_all(skills, "MotherTongue") + _all(skills, "ForeignLanguage")):
        label = _text(language, "Description", "Label") or _text(language, "Label")
        level = _text(language, "ProficiencyLevel")
        if label:
            bundle.skills.append({"ref": f"language/{n}", "name": clip(label, 200),
                                  "level": 4 if local(language.tag) == "MotherTongue" else 2,
                                  "framework": "", "concept_uri": "",
                                  "description": level})
    for field in ("Communication", "Organisational", "JobRelated", "Computer", "Other"):
        text = _text(_find(skills, field), "Description") if skills is not None else ""
        for n, line in enumerate(_lines(text)):
            bundle.skills.append({"ref": f"{field}/{n}", "name": clip(line, 200), "level": 2,
                                  "framework": "", "concept_uri": "", "description": ""})


def _lines(text: str) -> list[str]:
    """Skill names from a free-text field: short comma- or semicolon-separated phrases."""
    parts = [p.strip(" .-•") for chunk in text.split(";") for p in chunk.split(",")]
    return [p for p in parts if 1 < len(p) <= 80]


def _v4_date(element, name) -> date | None:
    return parse_date(_text(_find(element, name, "FormattedDateTime")) or None)


def _read_v4(root, bundle: Bundle) -> None:
    person = _find(root, "CandidatePerson")
    name = " ".join(t for t in (_text(person, "GivenName"), _text(person, "FamilyName")) if t)
    emails = [c for c in _all(person, "Communication") if _text(c, "ChannelCode").lower() == "email"]
    phones = [c for c in _all(person, "Communication") if _text(c, "ChannelCode").lower() in
              ("telephone", "mobiletelephone")]
    bundle.profile = {k: v for k, v in {
        "display_name": clip(name, 120),
        "contact_email": _text(emails[0], "URI") if emails else "",
        "phone": clip(_text(phones[0], "FormattedNumber"), 40) if phones else "",
    }.items() if v}
    profile = _find(root, "CandidateProfile")
    n = 0
    for employer in _all(profile, "EmployerHistory"):
        organisation = _text(employer, "OrganizationName")
        for position in _all(employer, "PositionHistory"):
            period = _find(position, "EmploymentPeriod")
            current = _text(period, "CurrentIndicator").lower() == "true"
            bundle.experiences.append({
                "ref": f"position/{n}", "kind": "job", "title": clip(_text(position, "PositionTitle"), 200),
                "organisation": clip(organisation, 200), "place": clip(_text(position, "City"), 200),
                "start_date": _v4_date(period, "StartDate"),
                "end_date": None if current else _v4_date(period, "EndDate"),
                "description": _text(position, "Description")})
            n += 1
    for n, attendance in enumerate(_all(profile, "EducationOrganizationAttendance")):
        period = _find(attendance, "AttendancePeriod")
        bundle.diplomas.append({
            "ref": f"education/{n}",
            "title": clip(_text(attendance, "EducationDegree", "DegreeName")
                          or _text(attendance, "ProgramName") or _text(attendance, "OrganizationName"), 200),
            "awarding_body": clip(_text(attendance, "OrganizationName"), 200),
            "awarded_on": _v4_date(period, "EndDate"), "level": clip(_text(attendance, "EducationLevelCode"), 80),
            "reference": ""})
    for n, competency in enumerate(_all(_find(profile, "PersonQualifications"), "PersonCompetency")):
        label = _text(competency, "CompetencyName")
        if label:
            bundle.skills.append({"ref": f"competency/{n}", "name": clip(label, 200), "level": 2,
                                  "framework": "", "concept_uri": "", "description": ""})


def read(data: bytes) -> Bundle:
    root = parse_xml(data, _l("The Europass file"))
    if not looks_like(root):
        raise refuse("invalid_format", _l("This XML file is not a Europass CV."))
    bundle = Bundle("europass")
    (_read_v3 if local(root.tag) == "SkillsPassport" else _read_v4)(root, bundle)
    return bundle
