"""The words a CV prints, in French and English: headings, dates, skill levels, consent lines.

Kept here rather than in the web application's catalogue because a CV is in *its own* language, chosen
per variant, whatever the language of the person who clicks "download" (a French owner writes an English
CV for a job abroad).
"""

from __future__ import annotations

from datetime import date

LABELS = {
    "fr": {
        "summary": "Profil",
        "experience": "Expériences",
        "education": "Formation et diplômes",
        "skills": "Compétences",
        "credentials": "Certifications vérifiables",
        "contact": "Contact",
        "present": "aujourd'hui",
        "since": "depuis",
        "cover_letter": "Lettre de motivation",
        "confirmed_by": "Attesté par {name} le {date}",
        "issued_by": "Délivré par {name} le {date}",
        "verify": "Vérifier",
        "status": {
            "valid": "valide",
            "expired": "expirée",
            "revoked": "révoquée",
            "suspended": "suspendue",
            "unknown": "vérification impossible",
        },
        "levels": {1: "notions", 2: "intermédiaire", 3: "confirmé", 4: "expert"},
        "verified_note": "Les lignes marquées ✓ sont attestées : chaque lien ou QR code ouvre la preuve "
        "signée.",
        "document_title": "CV de {name}",
    },
    "en": {
        "summary": "Profile",
        "experience": "Experience",
        "education": "Education and qualifications",
        "skills": "Skills",
        "credentials": "Verifiable credentials",
        "contact": "Contact",
        "present": "present",
        "since": "since",
        "cover_letter": "Cover letter",
        "confirmed_by": "Confirmed by {name} on {date}",
        "issued_by": "Issued by {name} on {date}",
        "verify": "Verify",
        "status": {
            "valid": "valid",
            "expired": "expired",
            "revoked": "revoked",
            "suspended": "suspended",
            "unknown": "cannot be checked",
        },
        "levels": {1: "basic", 2: "intermediate", 3: "advanced", 4: "expert"},
        "verified_note": "Lines marked ✓ are attested: each link or QR code opens the signed proof.",
        "document_title": "CV of {name}",
    },
}

MONTHS = {
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}

# Data-protection consent lines usually asked for in EU applications (the owner may write their own).
CONSENT = {
    "gdpr": {
        "fr": "J'autorise le traitement de mes données personnelles contenues dans ce CV aux fins du "
        "recrutement, conformément au règlement (UE) 2016/679 (RGPD).",
        "en": "I consent to the processing of the personal data in this CV for recruitment purposes, in "
        "accordance with Regulation (EU) 2016/679 (GDPR).",
    },
    "gdpr_short": {
        "fr": "Données personnelles communiquées pour ce seul recrutement (RGPD).",
        "en": "Personal data provided for this recruitment only (GDPR).",
    },
}


def labels(language: str) -> dict:
    return LABELS.get(language, LABELS["en"])


def month_year(day: date | None, language: str) -> str:
    if day is None:
        return ""
    return f"{MONTHS.get(language, MONTHS['en'])[day.month - 1]} {day.year}"


def period(start: date | None, end: date | None, language: str) -> str:
    """ "sept. 2021 – juin 2023", "since Mar 2024" (ongoing), or one date."""
    words = labels(language)
    if start is None:
        return month_year(end, language)
    if end is None:
        return f"{month_year(start, language)} – {words['present']}"
    if (start.year, start.month) == (end.year, end.month):
        return month_year(start, language)
    return f"{month_year(start, language)} – {month_year(end, language)}"


def long_date(day: date | None, language: str) -> str:
    if day is None:
        return ""
    if language == "fr":
        return f"{day.day} {month_year(day, language)}"
    return f"{MONTHS['en'][day.month - 1]} {day.day}, {day.year}"
