"""Roster import: a CSV of an institution's pupils, previewed, then run as a background batch.

The file is read whole (a class list: 5,000 rows are well under a megabyte), decoded as UTF-8 (with or
without BOM) or, failing that, Windows-1252 (what spreadsheets export in France); the delimiter is ``;``
or ``,``, whichever the header line holds more of. Columns are found by their header in French or
English (``HEADERS``). ``preview`` checks every row and says, per row, what the import would do
(``add``, ``move``, ``keep``, ``invite`` an existing account) and which rows are wrong; ``start_import``
refuses a file with any error (nothing half-imported) and creates one batch (app/services/batches.py)
whose items are the rows plus one ``end`` item per current enrolment the file no longer lists:
re-importing the same or an updated roster adds, moves and ends, never duplicates.

A person is found again by INE, else e-mail, else family name, given name and birth date (folded).

INE (identifiant national élève/étudiant): 11 characters. Formats accepted (as published for the
national student registers and reproduced in public validators — see NEXT.md for the sources read):
INE-BEA (base élèves académique) ``[0-9]{10}[A-Z]``; INE-RNIE (répertoire national des identifiants
élèves) ``[0-9]{9}[A-Z]{2}``; apprentice INE ``[0-9]{4}A[0-9]{5}[A-Z]``. Only the structure is checked:
the check-letter algorithms are not published in a source we could read, so none is guessed.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models import Organisation, User
from app.models.institutions import ENROLLING_KINDS, Enrolment, Group
from app.models.issuing import ADMIN, APPROVED, HEAD
from app import jobs
from app.services import batches
from app.services.errors import Forbidden, NotFound, ValidationFailed

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
HEADERS = {
    "family_name": ("nom", "nom de famille", "family_name", "family name", "last_name", "surname"),
    "given_name": ("prenom", "prénom", "given_name", "given name", "first_name"),
    "birth_date": ("date_naissance", "date de naissance", "birth_date", "birth date", "date_of_birth"),
    "group": ("classe", "groupe", "group", "class", "cohorte", "cohort"),
    "email": ("email", "e-mail", "courriel", "mail"),
    "ine": ("ine",),
    "guardian_emails": ("email_responsable", "emails_responsables", "guardian_email", "guardian_emails",
                        "courriel_responsable"),
}
REQUIRED = ("family_name", "given_name", "birth_date", "group")
INE_PATTERNS = (re.compile(r"[0-9]{10}[A-Z]"), re.compile(r"[0-9]{9}[A-Z]{2}"),
                re.compile(r"[0-9]{4}A[0-9]{5}[A-Z]"))
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class RosterError(ValidationFailed):
    code = "invalid_roster"


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).lower().split())


def valid_ine(value: str) -> bool:
    return any(p.fullmatch(value) for p in INE_PATTERNS)


def school_year(today: date | None = None) -> int:
    """The first calendar year of the current school year (it starts in September; August counts as the
    new one, when rosters are prepared)."""
    today = today or date.today()
    return today.year if today.month >= 8 else today.year - 1


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise RosterError(str(_l("The file is neither UTF-8 nor Windows-1252 text.")), code="bad_encoding")
    if "\x00" in text:
        raise RosterError(str(_l("The file is neither UTF-8 nor Windows-1252 text.")), code="bad_encoding")
    return text


def _date(value: str) -> date | None:
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


@dataclass
class Row:
    line: int
    family_name: str = ""
    given_name: str = ""
    birth_date: date | None = None
    group: str = ""
    email: str | None = None
    ine: str | None = None
    guardian_emails: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def identity(self) -> str:
        """The key that finds the person again: INE, else e-mail, else name and birth date."""
        if self.ine:
            return f"ine:{self.ine}"
        if self.email:
            return f"email:{self.email}"
        return f"name:{fold(self.family_name)}|{fold(self.given_name)}|{self.birth_date}"

    def payload(self) -> dict:
        return {"line": self.line, "family_name": self.family_name, "given_name": self.given_name,
                "birth_date": self.birth_date.isoformat() if self.birth_date else None, "group": self.group,
                "email": self.email, "ine": self.ine, "guardian_emails": self.guardian_emails}


def parse(data: bytes, *, today: date | None = None) -> list[Row]:
    """The rows of a roster file, each with its errors; raises ``RosterError`` for a file-level fault."""
    if len(data) > MAX_BYTES:
        raise RosterError(str(_l("The file is larger than 5 MB.")), code="file_too_large")
    text = decode(data)
    if not text.strip():
        raise RosterError(str(_l("The file is empty.")), code="empty_file")
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [fold(h).replace("\ufeff", "") for h in next(reader)]
    columns = {}
    for name, aliases in HEADERS.items():
        for index, title in enumerate(header):
            if title in {fold(a) for a in aliases}:
                columns[name] = index
                break
    missing = [n for n in REQUIRED if n not in columns]
    if missing:
        raise RosterError(str(_l("Missing columns: %(names)s (expected headers such as nom, prénom, "
                                 "date_naissance, classe).", names=", ".join(missing))), code="missing_columns")
    today = today or date.today()
    rows: list[Row] = []
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(rows) >= MAX_ROWS:
            raise RosterError(str(_l("The file has more than %(n)s rows.", n=MAX_ROWS)), code="too_many_rows")

        def cell(name):
            index = columns.get(name)
            return record[index].strip() if index is not None and index < len(record) else ""
        row = Row(line=number, family_name=cell("family_name")[:100], given_name=cell("given_name")[:100],
                  group=cell("group")[:120])
        for name in ("family_name", "given_name", "group"):
            if not getattr(row, name):
                row.errors.append(str(_l("%(column)s is empty.", column=name)))
        raw_date = cell("birth_date")
        row.birth_date = _date(raw_date)
        if row.birth_date is None:
            row.errors.append(str(_l("Birth date “%(value)s” is not a date (DD/MM/YYYY).", value=raw_date)))
        elif row.birth_date > today:
            row.errors.append(str(_l("Birth date is in the future.")))
        email = cell("email").lower()
        if email:
            if EMAIL.fullmatch(email) and len(email) <= 254:
                row.email = email
            else:
                row.errors.append(str(_l("E-mail “%(value)s” is not valid.", value=email)))
        ine = cell("ine").upper().replace(" ", "")
        if ine:
            if valid_ine(ine):
                row.ine = ine
            else:
                row.errors.append(str(_l("INE “%(value)s” is not valid (11 characters: 10 digits and a letter, "
                                         "9 digits and 2 letters, or an apprentice INE).", value=ine)))
        for value in re.split(r"[,\s]+", cell("guardian_emails").lower()):
            if not value:
                continue
            if not EMAIL.fullmatch(value):
                row.errors.append(str(_l("Guardian e-mail “%(value)s” is not valid.", value=value)))
            elif row.email and value == row.email:
                row.errors.append(str(_l("A guardian's e-mail cannot be the pupil's own.")))
            elif value not in row.guardian_emails:
                row.guardian_emails.append(value)
        rows.append(row)
    if not rows:
        raise RosterError(str(_l("The file has a header but no pupils.")), code="empty_file")
    seen: dict[str, int] = {}
    for row in rows:
        key = row.identity()
        if key in seen:
            row.errors.append(str(_l("Same pupil as line %(line)s.", line=seen[key])))
        else:
            seen[key] = row.line
    return rows


def check_head(session: Session, actor, org: Organisation) -> None:
    """Only a head of an approved, open, enrolling institution (or the operator) manages its rosters."""
    from app import policy
    if org is None:
        raise NotFound(str(_l("No such organisation.")))
    if org.kind not in ENROLLING_KINDS or org.status != APPROVED or org.closed_at is not None:
        raise Forbidden(str(_l("This organisation does not enrol people.")), code="not_enrolling")
    if isinstance(actor, policy.Operator):
        return
    # The organisation's admin counts as a head: an institution created by ``sillage orgs create --admin``
    # is run by that person until they name heads.
    if policy.org_role(actor, org) not in (HEAD, ADMIN):
        raise Forbidden(str(_l("Only the institution's head may do this.")), code="not_head")


def _index(session: Session, org: Organisation) -> dict[str, Enrolment]:
    index: dict[str, Enrolment] = {}
    for e in session.scalars(select(Enrolment).where(Enrolment.organisation_id == org.id)):
        if e.ine:
            index[f"ine:{e.ine}"] = e
        if e.email:
            index.setdefault(f"email:{e.email}", e)
        index.setdefault(f"name:{fold(e.family_name)}|{fold(e.given_name)}|{e.birth_date}", e)
    return index


def _same(enrolment: Enrolment, row: Row) -> bool:
    """A weaker key (e-mail, name + birth date) never overrides a stronger one that differs: two pupils
    with the same name and birth date but different INE are two people."""
    if row.ine and enrolment.ine and row.ine != enrolment.ine:
        return False
    return not (row.email and enrolment.email and row.email != enrolment.email
                and not (row.ine and row.ine == enrolment.ine))


def _find(index: dict, row: Row) -> Enrolment | None:
    for key in ([f"ine:{row.ine}"] if row.ine else []) + ([f"email:{row.email}"] if row.email else []) + [
            f"name:{fold(row.family_name)}|{fold(row.given_name)}|{row.birth_date}"]:
        if key in index and _same(index[key], row):
            return index[key]
    return None


def preview(session: Session, actor, org: Organisation, data: bytes, *, today: date | None = None) -> dict:
    """What importing ``data`` would do, row by row, without changing anything."""
    check_head(session, actor, org)
    rows = parse(data, today=today)
    index = _index(session, org)
    year = school_year(today)
    groups = {g.id: g for g in session.scalars(select(Group).where(Group.organisation_id == org.id))}
    emails = sorted({r.email for r in rows if r.email})
    accounts = set()
    for chunk in range(0, len(emails), 500):
        accounts |= set(session.scalars(select(User.email).where(User.email.in_(emails[chunk:chunk + 500]))))
    report, listed = [], set()
    for row in rows:
        found = _find(index, row)
        if found is not None:
            listed.add(found.id)
        current = groups.get(found.group_id) if found is not None and found.group_id else None
        if row.errors:
            action = "error"
        elif found is None:
            action = "invite" if row.email in accounts else "add"
        elif found.ended_at is not None:
            action = "return"
        elif current is None or current.name != row.group or current.year != year:
            action = "move"
        else:
            action = "keep"
        report.append({**row.payload(), "action": action, "errors": row.errors,
                       "existing_account": bool(row.email and row.email in accounts)})
    ending = [{"enrolment": str(e.id), "name": f"{e.given_name} {e.family_name}"}
              for e in {id(v): v for v in index.values()}.values()
              if e.id not in listed and e.ended_at is None]
    counts = {a: sum(1 for r in report if r["action"] == a)
              for a in ("add", "invite", "move", "keep", "return", "error")}
    counts["end"] = len(ending)
    return {"rows": report, "ending": ending, "counts": counts, "valid": counts["error"] == 0}


KIND = "roster"


def start_import(session: Session, actor, org: Organisation, data: bytes, *, today: date | None = None):
    """Create (or find again: same file, same batch) the import batch; refuses a file with any error."""
    result = preview(session, actor, org, data, today=today)
    if not result["valid"]:
        first = [f"{r['line']}: {'; '.join(r['errors'])}" for r in result["rows"] if r["errors"]][:10]
        raise RosterError(str(_l("The roster has errors; nothing was imported. %(errors)s",
                                 errors=" | ".join(first))), code="roster_errors")
    items = [{"op": "row", **{k: v for k, v in r.items() if k not in ("action", "errors", "existing_account")}}
             for r in result["rows"]]
    items += [{"op": "end", "enrolment": e["enrolment"]} for e in result["ending"]]
    digest = hashlib.sha256(data).hexdigest()
    batch = batches.create_batch(
        session, KIND, items, f"roster:{org.id}:{digest}:{school_year(today)}", owner=getattr(actor, "id", None)
        if isinstance(actor, User) else None,
        params={"organisation": str(org.id), "year": school_year(today)},
        item_key=lambda item, position: (f"end:{item['enrolment']}" if item["op"] == "end"
                                         else f"row:{position}"))
    return batch


def _group(session: Session, org_id, name: str, year: int) -> Group:
    group = session.scalars(select(Group).where(Group.organisation_id == org_id, Group.name == name,
                                                Group.year == year)).first()
    if group is None:
        group = Group(id=uuid.uuid4(), organisation_id=org_id, name=name, year=year, kind="class")
        session.add(group)
        session.flush()
    return group


# 50 rows per transaction: a commit is a disk sync; a crash redoes at most 50 rows' work, never twice.
@batches.handler(KIND, per_transaction=50)
def handle(session: Session, batch, item) -> dict:
    """One row: add, move or re-open the enrolment; one ``end`` item: end an affiliation the file dropped.
    An existing account found by e-mail is only invited (``invited_user_id``), never linked."""
    from app.services import institutions
    payload = item.payload
    org_id = uuid.UUID(batch.params["organisation"])
    if payload["op"] == "end":
        enrolment = session.get(Enrolment, uuid.UUID(payload["enrolment"]))
        if enrolment is None or enrolment.ended_at is not None:
            return {"action": "none"}
        institutions.end_enrolment(session, enrolment, str(_l("No longer on the institution's roster.")))
        return {"action": "end"}
    row = Row(line=payload["line"], family_name=payload["family_name"], given_name=payload["given_name"],
              birth_date=date.fromisoformat(payload["birth_date"]) if payload["birth_date"] else None,
              group=payload["group"], email=payload["email"], ine=payload["ine"],
              guardian_emails=payload["guardian_emails"])
    found = _find(_row_index(session, org_id, row), row)
    group = _group(session, org_id, row.group, batch.params["year"])
    action = "keep"
    if found is None:
        found = Enrolment(id=uuid.uuid4(), organisation_id=org_id, family_name=row.family_name,
                          given_name=row.given_name, guardian_emails=[])
        session.add(found)
        action = "add"
        if row.email:
            account = session.scalars(select(User).where(User.email == row.email)).first()
            if account is not None:
                found.invited_user_id = account.id
                action = "invite"
    elif found.ended_at is not None:
        found.ended_at, found.end_reason, action = None, None, "return"
    elif found.group_id != group.id:
        action = "move"
    found.group_id = group.id
    found.family_name, found.given_name = row.family_name, row.given_name
    found.birth_date = row.birth_date
    found.ine = row.ine or found.ine
    found.email = row.email or found.email
    found.guardian_emails = row.guardian_emails
    session.flush()
    return {"action": action, "enrolment": str(found.id)}


def _row_index(session: Session, org_id, row: Row) -> dict:
    """The candidates for one row only (the handler runs per item: no full index)."""
    from sqlalchemy import or_
    clauses = [(Enrolment.family_name == row.family_name) & (Enrolment.given_name == row.given_name)
               & (Enrolment.birth_date == row.birth_date)]
    if row.ine:
        clauses.append(Enrolment.ine == row.ine)
    if row.email:
        clauses.append(Enrolment.email == row.email)
    index: dict = {}
    for e in session.scalars(select(Enrolment).where(Enrolment.organisation_id == org_id, or_(*clauses))):
        if e.ine:
            index[f"ine:{e.ine}"] = e
        if e.email:
            index.setdefault(f"email:{e.email}", e)
        index.setdefault(f"name:{fold(e.family_name)}|{fold(e.given_name)}|{e.birth_date}", e)
    return index


def job_of(session: Session, org: Organisation, job_id):
    """The roster batch ``job_id`` of ``org`` (another institution's is not found)."""
    from app import policy
    from app.models.jobs import Batch
    key = policy.parse_id(job_id)
    batch = session.get(Batch, key) if key is not None else None
    if batch is None or batch.kind != KIND or batch.params.get("organisation") != str(org.id):
        raise NotFound(str(_l("Not found.")))
    return batch


def summary(session: Session, batch) -> dict:
    """Progress plus what the finished items did (added, invited, moved, ended, failed)."""
    result = batches.progress(batch)
    counts: dict[str, int] = {}
    for entry in batches.report(session, batch, limit=MAX_ROWS * 2):
        action = (entry["result"] or {}).get("action") if entry["status"] == "done" else entry["status"]
        if action:
            counts[action] = counts.get(action, 0) + 1
    result["actions"] = counts
    return result


@jobs.task()
def run_roster_job(batch_id: str) -> None:
    """Run the import, then e-mail activation codes (or invitations to join) to those with an address;
    the letters cover the others. Safe to run twice: the batch is idempotent and a code is mailed only to
    enrolments that have no usable one."""
    from app.extensions import db
    from app.models.jobs import Batch
    from app.services import institutions
    batch = batches.run_batch(batch_id)
    if batch is None:
        return
    batch = db.session.get(Batch, uuid.UUID(str(batch_id)))
    org = db.session.get(Organisation, uuid.UUID(batch.params["organisation"]))
    institutions.send_codes_by_mail(db.session, org)
