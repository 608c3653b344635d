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
national student registers and reproduced in public validators): INE-BEA (base élèves académique)
``[0-9]{10}[A-Z]``; INE-RNIE (répertoire national des identifiants élèves) ``[0-9]{9}[A-Z]{2}``;
apprentice INE ``[0-9]{4}A[0-9]{5}[A-Z]``. See ``valid_ine`` for the one check letter that is verified.
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
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models import Grant, Organisation, Portfolio, User
from app.models.institutions import ENROLLING_KINDS, Enrolment, Group
from app.models.issuing import ADMIN, APPROVED, HEAD
from app import jobs
from app.services import batches
from app.services.errors import Forbidden, NotFound, ValidationFailed

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
# The oldest birth date taken for a living person: anything older is a typing slip (1890 for 1990, a
# two-digit year read as year 10), not a learner. A lifelong portfolio serves adults too, so no younger bound.
MAX_AGE_YEARS = 120
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


# The INE-BEA check letter: the ten digits as a number, modulo 23, indexes this alphabet (A to Z without
# I, O and Q). Source: the student-transfer software of the ESUP-Portail consortium of French universities,
# esup-transferts, ``esup-transferts-utils/src/main/java/org/esupportail/transferts/utils/CheckBEA23.java``
# (github.com/aitkarrafarid/esup-transferts, commit 0187dd626e04aad0da57026dba6125377aa683d4), whose
# ``verifie`` computes exactly this; the public-domain PHP ``check_ine`` of gist.github.com/bohwaz/
# e14df1e88e9e06aa3857e8b6f1181bf9 (2018) describes the same layout (``AABBNNNNNNM``, "M = modulo 23",
# letters I, O and Q unused). Neither is the ministry's specification, which we could not read, and
# neither gives a real INE as an example: the tests use numbers built with this rule.
# INE-RNIE (nine digits, two letters) and apprentice INE check characters: no source found, so only their
# structure is checked; no algorithm is guessed.
BEA_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def bea_letter(digits: str) -> str:
    """The check letter of a ten-digit INE-BEA (see ``BEA_LETTERS``)."""
    return BEA_LETTERS[int(digits) % 23]


def valid_ine(value: str) -> bool:
    """A well-formed INE; for an INE-BEA, its check letter is verified too."""
    if INE_PATTERNS[0].fullmatch(value):
        return value[10] == bea_letter(value[:10])
    return any(p.fullmatch(value) for p in INE_PATTERNS[1:])


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
        return self.name_key()

    def name_key(self) -> str:
        return f"name:{fold(self.family_name)}|{fold(self.given_name)}|{self.birth_date}"

    def could_be(self, other: "Row") -> bool:
        """Same name and birth date, and no identifier telling them apart (two different INE or e-mails):
        the import would find the second row's person by name and birth date, i.e. the first one's."""
        return (self.name_key() == other.name_key()
                and not (self.ine and other.ine and self.ine != other.ine)
                and not (self.email and other.email and self.email != other.email))

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
        if any(value.strip() for value in record[len(header):]):
            # Most often a value holding the separator (two guardian e-mails split by ";" in a ";" file):
            # reading on would drop the rest of the line silently.
            row.errors.append(str(_l("This line has more cells than the header: does a value hold the "
                                     "separator “%(separator)s”? Separate several guardian e-mails with commas.",
                                     separator=delimiter)))
        for name in ("family_name", "given_name", "group"):
            if not getattr(row, name):
                row.errors.append(str(_l("%(column)s is empty.", column=name)))
        raw_date = cell("birth_date")
        row.birth_date = _date(raw_date)
        if row.birth_date is None:
            row.errors.append(str(_l("Birth date “%(value)s” is not a date (DD/MM/YYYY).", value=raw_date)))
        elif row.birth_date > today:
            row.errors.append(str(_l("Birth date is in the future.")))
        elif row.birth_date.year < today.year - MAX_AGE_YEARS:
            row.errors.append(str(_l("Birth date %(value)s is more than %(n)s years ago.", value=raw_date,
                                     n=MAX_AGE_YEARS)))
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
    by_name: dict[str, list[Row]] = {}
    for row in rows:
        key = row.identity()
        first = seen.get(key)
        if first is None and row.birth_date is not None:
            first = next((r.line for r in by_name.get(row.name_key(), ()) if r.could_be(row)), None)
        if first is not None:
            row.errors.append(str(_l("Same pupil as line %(line)s.", line=first)))
            continue
        seen[key] = row.line
        if row.birth_date is not None:
            by_name.setdefault(row.name_key(), []).append(row)
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
        index.setdefault(_name_key(e.family_name, e.given_name, e.birth_date), e)
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
    """What importing ``data`` would do, row by row, without changing anything.

    Which addresses already have a Sillage account is said per row only for people already linked to
    this institution (an enrolment they activated or joined, or a membership): for anyone else only the
    count is given (``counts["invite"]``), and their row reads ``add`` (review 14, L13). Otherwise any
    head could upload 20,000 arbitrary addresses and learn which of them have an account; the count is
    what the head needs (how many invitations rather than letters), and the previews' rate limit (30 an
    hour per head, app/institutions/guard.py) keeps it from being narrowed down row by row."""
    check_head(session, actor, org)
    rows = parse(data, today=today)
    index = _index(session, org)
    year = school_year(today)
    groups = {g.id: g for g in session.scalars(select(Group).where(Group.organisation_id == org.id))}
    emails = sorted({r.email for r in rows if r.email})
    accounts, linked = set(), set()
    from app.models import Membership
    ours = or_(User.id.in_(select(Enrolment.user_id).where(Enrolment.organisation_id == org.id,
                                                           Enrolment.user_id.is_not(None))),
               User.id.in_(select(Membership.user_id).where(Membership.organisation_id == org.id)))
    for chunk in range(0, len(emails), 500):
        part = emails[chunk:chunk + 500]
        for email, known in session.execute(select(User.email, ours).where(User.email.in_(part))):
            accounts.add(email)
            if known:
                linked.add(email)
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
            action = "invite" if found.user_id is not None else "return"
        elif current is None or current.name != row.group or current.year != year:
            action = "move"
        else:
            action = "keep"
        report.append({**row.payload(), "action": action, "errors": row.errors,
                       "existing_account": bool(row.email and row.email in linked)})
    ending = [{"enrolment": str(e.id), "name": f"{e.given_name} {e.family_name}"}
              for e in {id(v): v for v in index.values()}.values()
              if e.id not in listed and e.ended_at is None]
    counts = {a: sum(1 for r in report if r["action"] == a)
              for a in ("add", "invite", "move", "keep", "return", "error")}
    for r in report:  # a stranger's row: "add", whether or not the address has an account (counted only)
        if r["action"] == "invite" and not r["existing_account"]:
            r["action"] = "add"
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
    items.append({"op": "mails"})  # last: queues the activation e-mails in the import's own transaction
    digest = hashlib.sha256(data).hexdigest()
    batch = batches.create_batch(
        session, KIND, items, f"roster:{org.id}:{digest}:{school_year(today)}", owner=getattr(actor, "id", None)
        if isinstance(actor, User) else None,
        params={"organisation": str(org.id), "year": school_year(today), "rows": len(result["rows"]),
                "ending": len(result["ending"])},
        item_key=lambda item, position: (f"end:{item['enrolment']}" if item["op"] == "end"
                                         else "mails" if item["op"] == "mails" else f"row:{position}"))
    return batch


class _Context:
    """What the rows of one transaction need, loaded with one query each instead of a few per row: the
    institution's groups of the year, the enrolments any of the rows could match (by INE, e-mail or birth
    date: the names are compared folded, in Python), and the accounts of the rows' e-mails.

    Rows are then applied in order against this state, which each row updates as the database would
    (a new enrolment or group is visible to the next row), so that a transaction gives exactly what the
    rows applied one by one would give."""

    def __init__(self, session: Session, batch, payloads: list[dict]):
        self.org_id = uuid.UUID(batch.params["organisation"])
        self.year = batch.params["year"]
        rows = [p for p in payloads if p.get("op") == "row"]
        self.groups = {g.name: g for g in session.scalars(select(Group).where(
            Group.organisation_id == self.org_id, Group.year == self.year))}
        ines = sorted({p["ine"] for p in rows if p["ine"]})
        emails = sorted({p["email"] for p in rows if p["email"]})
        births = sorted({date.fromisoformat(p["birth_date"]) for p in rows if p["birth_date"]})
        clauses = [Enrolment.birth_date.in_(births)] if births else []
        if ines:
            clauses.append(Enrolment.ine.in_(ines))
        if emails:
            clauses.append(Enrolment.email.in_(emails))
        self.candidates: dict[str, list[Enrolment]] = {}
        if clauses:
            for e in session.scalars(select(Enrolment).where(Enrolment.organisation_id == self.org_id,
                                                             or_(*clauses))):
                self.remember(e)
        self.accounts = dict(session.execute(select(User.email, User.id).where(User.email.in_(emails))).all()) \
            if emails else {}

    def remember(self, e: Enrolment) -> None:
        for key in _keys(e):
            bucket = self.candidates.setdefault(key, [])
            if e not in bucket:
                bucket.append(e)

    def index(self, row: Row) -> dict:
        """The per-row index (as ``_index`` builds it) over the candidates whose *current* keys match the
        row: an enrolment a previous row renamed is no longer found under its old name."""
        wanted = {_name_key(row.family_name, row.given_name, row.birth_date)}
        if row.ine:
            wanted.add(f"ine:{row.ine}")
        if row.email:
            wanted.add(f"email:{row.email}")
        seen, index = set(), {}
        for key in sorted(wanted):
            for e in self.candidates.get(key, ()):
                if id(e) in seen or not wanted & set(_keys(e)):
                    continue
                seen.add(id(e))
                if e.ine:
                    index[f"ine:{e.ine}"] = e
                if e.email:
                    index.setdefault(f"email:{e.email}", e)
                index.setdefault(_name_key(e.family_name, e.given_name, e.birth_date), e)
        return index

    def group(self, session: Session, name: str) -> Group:
        group = self.groups.get(name)
        if group is None:
            group = Group(id=uuid.uuid4(), organisation_id=self.org_id, name=name, year=self.year, kind="class")
            session.add(group)
            self.groups[name] = group
        return group


def _name_key(family_name, given_name, birth_date) -> str:
    return f"name:{fold(family_name)}|{fold(given_name)}|{birth_date}"


def _keys(e: Enrolment) -> list[str]:
    keys = [_name_key(e.family_name, e.given_name, e.birth_date)]
    if e.ine:
        keys.append(f"ine:{e.ine}")
    if e.email:
        keys.append(f"email:{e.email}")
    return keys


def _apply(session: Session, batch, payload: dict, context: _Context) -> dict:
    """One item against the transaction's ``context``: add, move or re-open the enrolment of a row, or end
    an affiliation the file dropped. Flushes nothing itself (the transaction's items flush together).
    An existing account found by e-mail is only invited (``invited_user_id``), never linked."""
    from app.services import institutions
    if payload["op"] == "end":
        enrolment = session.get(Enrolment, uuid.UUID(payload["enrolment"]))
        if enrolment is None or enrolment.ended_at is not None:
            return {"action": "none"}
        institutions.end_enrolment(session, enrolment, str(_l("No longer on the institution's roster.")))
        return {"action": "end"}
    if payload["op"] == "mails":
        return {"action": "mails", "mails": queue_code_mails(session, batch)}
    row = Row(line=payload["line"], family_name=payload["family_name"], given_name=payload["given_name"],
              birth_date=date.fromisoformat(payload["birth_date"]) if payload["birth_date"] else None,
              group=payload["group"], email=payload["email"], ine=payload["ine"],
              guardian_emails=payload["guardian_emails"])
    found = _find(context.index(row), row)
    group = context.group(session, row.group)
    action = "keep"
    if found is None:
        found = Enrolment(id=uuid.uuid4(), organisation_id=context.org_id, family_name=row.family_name,
                          given_name=row.given_name, guardian_emails=[])
        session.add(found)
        action = "add"
        if row.email and row.email in context.accounts:
            found.invited_user_id = context.accounts[row.email]
            action = "invite"
    elif found.ended_at is not None:
        found.ended_at, found.end_reason, action = None, None, "return"
        if found.user_id is not None:
            # Back on the roster with an account of their own (review 14, L12): never re-enrolled without
            # asking. The enrolment waits for them, as for anyone who already has an account: an invitation
            # to join (a join code by e-mail, from this import's e-mail batch, or on a letter).
            found.invited_user_id, found.user_id, found.joined_at = found.user_id, None, None
            action = "invite"
    elif found.group_id != group.id:
        action = "move"
        if found.user_id is not None and found.group_id is not None:
            _end_group_grants(session, found.user_id, found.group_id)
    found.group_id = group.id
    found.family_name, found.given_name = row.family_name, row.given_name
    found.birth_date = row.birth_date
    found.ine = row.ine or found.ine
    found.email = row.email or found.email
    before, found.guardian_emails = found.guardian_emails, row.guardian_emails
    if found.user_id is not None and set(row.guardian_emails or []) - set(before or []):
        from app.services import guardians; guardians.invite_added_guardians(session, found, before)  # noqa: E702
    context.remember(found)
    return {"action": action, "enrolment": str(found.id)}


def _end_group_grants(session: Session, user_id, group_id) -> None:
    """A pupil moved to another group stops sharing with the old group's staff, as leaving ends it (review
    14, L7): last year's teachers do not keep reading. The pupil shares with the new group again if they wish."""
    session.execute(update(Grant).where(Grant.group_id == group_id, Grant.revoked_at.is_(None),
                                        Grant.portfolio_id.in_(select(Portfolio.id).where(Portfolio.owner_id == user_id)))
                    .values(revoked_at=utcnow()).execution_options(synchronize_session=False))


class _Pipeline:
    """The whole transaction's rows in one go (batches.py, "Pipelined batches"): one query per kind of
    lookup, one flush, one SAVEPOINT, instead of a savepoint, three queries and a flush per row. Nothing
    is done ahead (every lookup must see the previous transaction's effect); should ``write`` fail, the
    batch redoes the transaction's items one by one through ``handle``, each in its savepoint."""

    def __init__(self, session: Session, batch):
        pass

    def ahead(self, session: Session, batch, items):
        return None

    def write(self, session: Session, batch, items, ahead) -> list:
        context = _Context(session, batch, [item.payload for item in items])
        outcomes = [_apply(session, batch, item.payload, context) for item in items]
        session.flush()
        return outcomes

    def close(self):
        pass


# 200 rows per transaction: a commit is a disk sync; a crash redoes at most 200 rows' work, never twice.
@batches.handler(KIND, per_transaction=200, pipeline=_Pipeline, depth=1)
def handle(session: Session, batch, item) -> dict:
    """One item alone (the fallback when a transaction's bulk write failed): its own lookups, then flush,
    so that a failing row fails alone inside its savepoint."""
    result = _apply(session, batch, item.payload, _Context(session, batch, [item.payload]))
    session.flush()
    return result


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
        if action == "mails":  # the last item, which queued the activation e-mails: not a pupil
            result["mails"] = entry["result"]["mails"]
        elif action:
            counts[action] = counts.get(action, 0) + 1
    result["actions"] = counts
    return result


# --- activation e-mails ------------------------------------------------------------------------------
#
# A batch of its own (kind ``roster-mail``), one item per enrolment to write to, created by the import's
# last item in the import's own transaction: once the rows are committed, the e-mails are queued too, and
# a crash anywhere after that leaves an unfinished batch that the sweep resumes (nothing lost). An item is
# done when its code is stored; the message carrying that code leaves *before* (in ``ahead``, outside any
# write transaction), so a crash between the two redoes the item with a new code: at worst a second
# message, whose code is the only valid one (the first code was never stored). Never a stored code that
# no message carries, never the same item done twice.

MAIL_KIND = "roster-mail"


def _mail_pending(session: Session, org_id):
    """Enrolments of ``org_id`` that should get a code by e-mail: not activated, not ended, an address,
    and no usable code (a letter's or an earlier e-mail's)."""
    from app.models.institutions import ActivationCode
    return select(Enrolment.id).where(
        Enrolment.organisation_id == org_id, Enrolment.ended_at.is_(None), Enrolment.user_id.is_(None),
        or_(Enrolment.email.is_not(None), Enrolment.invited_user_id.is_not(None)),
        ~select(ActivationCode.id).where(ActivationCode.enrolment_id == Enrolment.id,
                                         ActivationCode.used_at.is_(None),
                                         ActivationCode.expires_at > utcnow()).exists())


def queue_code_mails(session: Session, batch) -> int:
    """Create the e-mail batch of the roster ``batch`` (idempotent on the roster batch's id); the number of
    messages queued."""
    org_id = uuid.UUID(batch.params["organisation"])
    ids = [str(i) for i in session.scalars(_mail_pending(session, org_id).order_by(Enrolment.id))]
    if ids:
        batches.create_batch(session, MAIL_KIND, [{"enrolment": i} for i in ids], f"{MAIL_KIND}:{batch.id}",
                             params={"organisation": str(org_id), "roster": str(batch.id)},
                             item_key=lambda item, position: item["enrolment"])
    return len(ids)


def mail_batch(session: Session, batch):
    """The e-mail batch queued by the roster ``batch`` (None when nobody needed a message)."""
    from app.models.jobs import Batch
    return session.scalars(select(Batch).where(Batch.kind == MAIL_KIND,
                                               Batch.key == f"{MAIL_KIND}:{batch.id}")).first()


def _still_pending(session: Session, item) -> Enrolment | None:
    enrolment = session.get(Enrolment, uuid.UUID(item.payload["enrolment"]))
    if enrolment is None:
        return None
    pending = session.scalar(_mail_pending(session, enrolment.organisation_id).where(Enrolment.id == enrolment.id))
    return enrolment if pending is not None else None


# Codes already e-mailed by ``_Mailer.ahead`` and not yet stored, per (batch, item key), in this process:
# should the transaction's ``write`` fail, the batch redoes its items one by one (``handle_mail``), which
# then stores the code the pupil already has instead of mailing a second message (a second notice, and a
# first code that never worked). Lost on a crash: the item is then redone with a new message, as before.
_SENT: dict[tuple[str, str], str] = {}


class _Mailer:
    """``ahead``: pick a code and send the message, outside any write transaction; ``write``: store the
    codes of the messages sent (see the section's comment)."""

    def __init__(self, session: Session, batch):
        from flask import current_app
        self.base_url = current_app.config["BASE_URL"].rstrip("/")
        self.batch_id = str(batch.id)

    def ahead(self, session: Session, batch, items) -> dict:
        from app.services import institutions
        sent = {}
        for item in items:
            enrolment = _still_pending(session, item)
            if enrolment is not None:
                code = institutions.random_code()
                institutions.mail_code(enrolment, code, base_url=self.base_url)
                sent[item.key] = _SENT[(self.batch_id, item.key)] = code
        return sent

    def write(self, session: Session, batch, items, sent: dict) -> list:
        from app.services import institutions
        outcomes = []
        for item in items:
            enrolment = _still_pending(session, item) if item.key in sent else None
            if enrolment is None:
                # Activated, ended or given a letter meanwhile: the message (if any) carries a code that
                # was never stored, hence works nowhere.
                outcomes.append({"sent": False})
                continue
            purpose = institutions.JOIN if enrolment.invited_user_id else institutions.ACTIVATE
            institutions.new_code(session, enrolment, purpose=purpose, code=sent[item.key],
                                  mailed_to=institutions.mail_address(enrolment))
            outcomes.append({"sent": True})
        return outcomes

    def close(self):
        for key in [k for k in _SENT if k[0] == self.batch_id]:
            _SENT.pop(key, None)


@batches.handler(MAIL_KIND, per_transaction=50, pipeline=_Mailer, depth=1)
def handle_mail(session: Session, batch, item) -> dict:
    """One message alone (the fallback when a transaction's ``write`` failed): its code is stored with the
    item. When ``ahead`` already mailed this item a code (``_SENT``), that code is stored and no second
    message leaves; otherwise the message leaves now (after the commit it could be lost); should the
    transaction fail, the item is redone with a new code."""
    from app.services import institutions
    enrolment = _still_pending(session, item)
    if enrolment is None:
        return {"sent": False}
    purpose = institutions.JOIN if enrolment.invited_user_id else institutions.ACTIVATE
    already = _SENT.get((str(batch.id), item.key))
    code = institutions.new_code(session, enrolment, purpose=purpose, code=already,
                                 mailed_to=institutions.mail_address(enrolment))
    if already is None:
        from flask import current_app
        institutions.mail_code(enrolment, code, base_url=current_app.config["BASE_URL"].rstrip("/"))
    return {"sent": True}


def run_mails(session: Session, batch) -> int:
    """Run (or finish) the e-mail batch of the roster ``batch``; the number of messages this call sent."""
    def sent():
        mails = mail_batch(session, batch)
        return mails, 0 if mails is None else sum(
            1 for r in batches.report(session, mails, status="done", limit=MAX_ROWS * 2)
            if (r["result"] or {}).get("sent"))
    mails, before = sent()
    if mails is None:
        return 0
    session.commit()
    batches.run_batch(mails.id, session=session)
    return sent()[1] - before


@jobs.task()
def run_roster_job(batch_id: str) -> None:
    """Run the import, then its activation e-mails (or invitations to join), queued by the import itself;
    the letters cover those without an address. Safe to run twice, and resumed by the batches' sweep
    after a crash: both are batches."""
    from app.extensions import db
    batch = batches.run_batch(batch_id)
    if batch is None:
        return
    run_mails(db.session, batch)
