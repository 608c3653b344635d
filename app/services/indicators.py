"""The platform's indicators: counts only, for the platform admin or one organisation's admins.

Every figure here is a ``count`` or a ``sum`` over ids, states, dates and sizes: no query reads a title,
a description, a name or any other portfolio content, so no page, API answer or CSV built from
``compute`` can show any (tests/test_indicators_counts_only.py proves it on seeded strings).

"By institution" is pluggable: ``PEOPLE_OF`` lists functions ``(org_id) -> Select of user ids``; the
organisation's people are the people of its active enrolments (an activated account; a pending enrolment
has no account yet, it is counted as pending), never its members (see ``PEOPLE_OF``).

For an institution, "activated vs pending" comes from its enrolments (activated: the person activated or
joined, ``user_id`` set; pending: not yet), and its heads get the same per group (``by group``: counts
keyed by the group's id and labelled with the group's name — an institution's own label, not content).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, case, func, select, union_all
from sqlalchemy.orm import Session

from app import policy
from app.database import utcnow
from app.models import (
    AttestationRequest, Batch, BatchItem, Credential, Document, Grant, Membership, Organisation, Portfolio,
    User, VerificationVerdict,
)
from app.models.admin import PLATFORM, DailyActivity
from app.models.institutions import ENROLLING_KINDS, Enrolment, Group
from app.models.issuing import PARTNER, STAFF_ROLES
from app.models.sharing import AccessEvent
from app.services.errors import Forbidden, NotFound

# Only the people who chose to be counted: those who activated or joined an enrolment (their own action with
# the school's code). Members are not: a head or an admin adds any account as staff, partner or issuer by
# e-mail without asking, and the difference of two readings would then single that person out (review 14,
# M4); members appear only in "members by role", a count the organisation knows anyway.
PEOPLE_OF: list[Callable[[object], Select]] = [
    lambda org_id: select(Enrolment.user_id).where(
        Enrolment.organisation_id == org_id, Enrolment.ended_at.is_(None), Enrolment.user_id.is_not(None)),
]
SMALL = 5  # a head sees a count from 1 to 4 as "<5" (review 14, M4): too few to hide a person
SMALL_LABEL = "<5"
NOT_SUPPRESSED = ("members_by_role",)  # the organisation's own member list, which its heads read anyway
MAX_GROUPS = 60  # a lycée has 30 to 50 classes; more would not read as a chart anyway
PERIODS = {"7": 7, "30": 30, "365": 365}
CHART_TOP = 15  # institutions drawn in the chart; the table beside it lists every one


@dataclass
class Section:
    """One chart and its table: ``rows`` are (stable key, label, value)."""

    key: str
    title: str
    rows: list[tuple[str, str, int]] = field(default_factory=list)
    unit: str = ""
    chart: str = "bars"  # bars | columns (a time series)
    top: int = 0  # when set, the chart draws the ``top`` largest rows and one "others" bar; the table all rows


def may_view(session: Session, actor, org: Organisation | None) -> bool:
    """Platform admins see everything; an organisation's admins (its heads, once they exist) see it."""
    if isinstance(actor, policy.Operator) or getattr(actor, "is_admin", False):
        return True
    return org is not None and getattr(actor, "id", None) is not None and session.scalar(
        select(func.count()).select_from(Membership).where(
            Membership.organisation_id == org.id, Membership.user_id == actor.id, Membership.accepted(),
            Membership.role.in_(("admin", "head")))) > 0


def _people(org: Organisation | None):
    if org is None:
        return None
    queries = [make(org.id) for make in PEOPLE_OF]
    # UNION ALL: ``IN`` ignores duplicates, so no sort to remove them (a member who is also enrolled).
    return union_all(*queries).scalar_subquery() if len(queries) > 1 else queries[0].scalar_subquery()


def _in(column, people):
    return column.in_(people) if people is not None else True


def compute(session: Session, actor, *, org: Organisation | None = None, group: Group | None = None,
            days: int = 30, today: date | None = None) -> list[Section]:
    """The indicators for the platform (``org`` None), one organisation, or one of its groups (``group``:
    the same figures for the group's activated pupils), over the last ``days``."""
    if not may_view(session, actor, org):
        raise Forbidden(str(_l("Only a platform admin, or an admin of this organisation, sees these indicators.")))
    if group is not None and (org is None or group.organisation_id != org.id):
        raise NotFound(str(_l("Not found.")))  # another institution's group reads as unknown
    today = today or utcnow().date()
    since = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=timezone.utc)
    people = _group_people(group) if group is not None else _people(org)
    owners = select(Portfolio.id).where(_in(Portfolio.owner_id, people)).scalar_subquery() \
        if people is not None else None
    sections: list[Section] = []

    # One pass over the accounts for every per-account figure (100,000 rows: one scan, not seven).
    now = utcnow()
    spans = (7, 30, 365)
    flags = [User.is_admin, User.email_verified_at.is_not(None), User.suspended_at.is_not(None)] + [
        User.last_login_at >= now - timedelta(days=span) for span in spans]
    by_role, totals = {}, [0] * len(flags)
    for role, n, *counts in session.execute(
            select(User.role, func.count(), *(func.sum(case((flag, 1), else_=0)) for flag in flags))
            .where(_in(User.id, people)).group_by(User.role)):
        by_role[role] = n
        totals = [t + int(c or 0) for t, c in zip(totals, counts)]
    admins, verified, suspended, *active_counts = totals
    total = sum(by_role.values())
    if group is None:
        sections.append(Section("accounts_by_kind", str(_l("Accounts by kind")), [
            ("citizen", str(_l("People")), by_role.get("citizen", 0)),
            ("counsellor", str(_l("Counsellors")), by_role.get("counsellor", 0)),
            ("platform_admin", str(_l("Platform admins")), admins)]))

    waiting = 0
    if org is None:
        sections.extend(_institutions(session))
        # roster pupils not yet activated, platform-wide: the institutions' pending, summed
        waiting = sum(v for s in sections if s.key == "pending_by_institution" for _k, _l, v in s.rows)
    elif group is None:
        roles = session.execute(select(Membership.role, func.count()).where(Membership.organisation_id == org.id,
                                                                             Membership.accepted())
                                .group_by(Membership.role)).all()
        sections.append(Section("members_by_role", str(_l("Members by role")), [(r, r, n) for r, n in roles]))
    if group is None:
        sections[0].rows.extend(_kinds(session, org, owners, sections))

    enrolled = _enrolments(session, org, group) if org is not None else {}
    if sum(enrolled.values()):
        # An institution's people arrive by its roster: activated = the account is theirs and linked.
        sections.append(Section("activation", str(_l("Activated and pending accounts")), [
            ("activated", str(_l("Activated")), enrolled["activated"]),
            ("pending", str(_l("Pending")), enrolled["pending"]),
            ("suspended", str(_l("Suspended")), suspended)]))
    else:
        # The platform: an account is pending until its e-mail is verified, and a roster pupil until they
        # activate (an enrolment with no account yet: the school counts them, so does the platform).
        sections.append(Section("activation", str(_l("Activated and pending accounts")), [
            ("activated", str(_l("Activated")), verified),
            ("pending", str(_l("Pending")), total - verified + waiting),
            ("suspended", str(_l("Suspended")), suspended)]))
    if sum(enrolled.values()):
        sections.append(Section("enrolments", str(_l("Enrolments")), [
            ("activated", str(_l("Activated")), enrolled["activated"]),
            ("pending", str(_l("Pending")), enrolled["pending"]),
            ("ended", str(_l("Ended")), enrolled["ended"])]))
    if org is not None and group is None:
        sections.extend(_by_group(session, org))
    # Distinct people over 7/30/365 days: each account's one "last sign-in" date (overwritten at each sign-in,
    # not a log). The per-day counters below cannot give these: a person active on several days would count
    # several times (decision for issue 13, #13; README says the same).
    sections.append(Section("active", str(_l("Active accounts")), [
        (f"active_{span}", str(_l("Signed in, last %(n)s days", n=span)), n)
        for span, n in zip(spans, active_counts)]))

    scope = PLATFORM if org is None else str(org.id)
    if group is None:  # the per-day counters are kept per platform and institution, not per group
        sections.append(_per_day(session, scope, today, days))
    flows = session.execute(select(func.coalesce(func.sum(DailyActivity.sign_ins), 0),
                                   func.coalesce(func.sum(DailyActivity.api_uses), 0))
                            .where(DailyActivity.scope == scope, DailyActivity.day >= since.date())).one()

    docs, used = session.execute(select(func.count(Document.id), func.coalesce(func.sum(Document.size), 0))
                                 .where(_in(Document.portfolio_id, owners))).one()
    quota = current_app.config["VAULT_QUOTA_BYTES"] * total
    sections.append(Section("storage", str(_l("Documents and storage")), [
        ("documents", str(_l("Documents")), docs), ("used_mib", str(_l("Storage used (MiB)")), used // 2**20),
        ("quota_mib", str(_l("Storage allowed by quotas (MiB)")), quota // 2**20)]))

    cred = Credential.organisation_id == org.id if org is not None else True
    if group is not None:
        cred = cred & Credential.portfolio_id.in_(owners)  # what the institution issued to this group's people
    issued = session.scalar(select(func.count()).select_from(Credential).where(cred, Credential.issued_at >= since))
    revoked = session.scalar(select(func.count()).select_from(Credential).where(cred, Credential.revoked_at >= since))
    verdicts = select(func.count()).select_from(VerificationVerdict).where(
        VerificationVerdict.checked_at >= since, VerificationVerdict.status.like("verified%"))
    if org is not None:
        verdicts = verdicts.where(VerificationVerdict.subject_id.in_(select(Credential.id).where(cred)))
    sections.append(Section("credentials", str(_l("Credentials in the period")), [
        ("issued", str(_l("Issued")), issued or 0), ("revoked", str(_l("Revoked")), revoked or 0),
        ("verified", str(_l("Verified")), session.scalar(verdicts) or 0)]))

    attest = session.execute(select(AttestationRequest.status, func.count()).where(
        AttestationRequest.created_at >= since, _in(AttestationRequest.portfolio_id, owners))
        .group_by(AttestationRequest.status)).all()
    sections.append(Section("attestations", str(_l("Attestation requests in the period")),
                            [(s, s, n) for s, n in sorted(attest)]))

    grants_new = session.scalar(select(func.count()).select_from(Grant).where(
        Grant.created_at >= since, _in(Grant.portfolio_id, owners)))
    grants_live = session.scalar(select(func.count()).select_from(Grant).where(
        Grant.revoked_at.is_(None), _in(Grant.portfolio_id, owners)))
    rows = [("grants_new", str(_l("Grants given in the period")), grants_new or 0),
            ("grants_active", str(_l("Grants not revoked")), grants_live or 0),
            ("share_link_views", str(_l("Share-link views in the period")),
             _share_link_views(session, owners, since))]
    if group is None:
        rows += [("sign_ins", str(_l("Sign-ins in the period")), int(flows[0])),
                 ("api_uses", str(_l("API use days in the period")), int(flows[1]))]
    sections.append(Section("sharing", str(_l("Sharing")), rows))

    if org is not None and not (isinstance(actor, policy.Operator) or getattr(actor, "is_admin", False)):
        sections = suppress_small(sections)
    if org is None:
        sections.append(_queue(session, since))
    return sections


def suppress_small(sections: list[Section]) -> list[Section]:
    """The head's view: every count from 1 to ``SMALL - 1`` becomes ``"<5"`` in the tables, the charts, the
    CSV and the JSON, so that a small group, a day or a difference of two readings does not single a person
    out (k-anonymity threshold, review 14 M4). Zero stays zero: it tells nothing about anyone. Platform
    admins see the exact figures."""
    return [section if section.key in NOT_SUPPRESSED else Section(
        section.key, section.title,
        [(key, label, SMALL_LABEL if isinstance(value, int) and 0 < value < SMALL else value)
         for key, label, value in section.rows], unit=section.unit, chart=section.chart, top=section.top)
            for section in sections]


def _group_people(group: Group):
    """A group's people: the accounts of its active, activated enrolments (the group's part of ``PEOPLE_OF``)."""
    return select(Enrolment.user_id).where(Enrolment.group_id == group.id, Enrolment.ended_at.is_(None),
                                           Enrolment.user_id.is_not(None)).scalar_subquery()


def _kinds(session: Session, org: Organisation | None, owners, sections) -> list[tuple[str, str, int]]:
    """Accounts by what they are to the institutions: pupils (activated enrolments), guardians (a live
    guardian grant), staff and partners (memberships). One account may be several: these are not a partition.
    For one organisation: its activated pupils, their guardians, its own staff and partners.

    Pupils are the activated enrolments, already counted per institution: a person enrolled in two
    institutions at once counts in each (rare: a distinct count cost 30 to 70 ms at 33,000 enrolments)."""
    if org is None:
        pupils = sum(v for s in sections if s.key == "accounts_by_institution" for _k, _l, v in s.rows)
    else:
        pupils = session.scalar(select(func.count()).select_from(Enrolment).where(
            Enrolment.organisation_id == org.id, Enrolment.ended_at.is_(None), Enrolment.user_id.is_not(None)))
    guardians = select(func.count(func.distinct(Grant.grantee_id))).where(
        Grant.role == "guardian", Grant.revoked_at.is_(None), Grant.grantee_id.is_not(None))
    if org is not None:
        guardians = guardians.where(Grant.portfolio_id.in_(owners))

    def members(roles) -> int:
        # one count per kind: a CASE in both SELECT and GROUP BY is two expressions to PostgreSQL
        query = select(func.count(func.distinct(Membership.user_id))).where(Membership.role.in_(roles),
                                                                             Membership.accepted())
        return session.scalar(query.where(Membership.organisation_id == org.id) if org is not None else query) or 0
    by_member = {"staff": members(STAFF_ROLES), "partner": members((PARTNER,))}
    return [("pupils", str(_l("Pupils and students (activated enrolments)")), pupils or 0),
            ("guardians", str(_l("Guardians")), session.scalar(guardians) or 0),
            ("staff", str(_l("Institution staff")), by_member.get("staff", 0)),
            ("partners", str(_l("Partners")), by_member.get("partner", 0))]


def _institutions(session: Session) -> list[Section]:
    """The platform's view of its institutions: how many of each kind, and every institution's people (the
    same definition as its own page: activated enrolments; pending ones beside them); institutions with
    nobody enrolled yet are listed with 0."""
    kinds = session.execute(select(Organisation.kind, func.count()).where(Organisation.status == "approved")
                            .group_by(Organisation.kind).order_by(Organisation.kind)).all()
    out = [Section("institutions_by_kind", str(_l("Organisations by kind (approved)")),
                   [(k, k, n) for k, n in kinds])]
    # Two cheap reads rather than one slow one: every enrolment per institution from the (organisation, user)
    # index alone, minus the ended ones found by one scan (a GROUP BY filtered on ``ended_at`` reads the table
    # in index order, row by row: 100 ms at 33,000 enrolments, against 10 + 20 ms).
    counts = {org_id: [n, activated] for org_id, n, activated in session.execute(
        select(Enrolment.organisation_id, func.count(), func.count(Enrolment.user_id))
        .group_by(Enrolment.organisation_id))}
    for org_id, user_id in session.execute(select(Enrolment.organisation_id, Enrolment.user_id)
                                           .where(Enrolment.ended_at.is_not(None))):
        counts[org_id][0] -= 1
        counts[org_id][1] -= user_id is not None
    named = [(i, name) for i, name, kind in session.execute(select(Organisation.id, Organisation.name,
                                                                   Organisation.kind))
             if kind in ENROLLING_KINDS or i in counts]
    rows = sorted(((i, name, *counts.get(i, (0, 0))) for i, name in named), key=lambda r: (-r[2], r[1]))
    out.append(Section("accounts_by_institution", str(_l("Activated accounts by institution")),
                       [(str(i), name, a) for i, name, _n, a in rows], top=CHART_TOP))
    out.append(Section("pending_by_institution", str(_l("Pending accounts by institution")),
                       [(str(i), name, n - a) for i, name, n, a in rows], top=CHART_TOP))
    return out


def _per_day(session: Session, scope: str, today: date, days: int) -> Section:
    """People active per day over the whole period: one column a day up to 60 days; beyond that (365 days)
    one column a week, the week's mean per day (a sum would count a person once per day of the week)."""
    first = today - timedelta(days=days - 1)
    per_day = dict(session.execute(select(DailyActivity.day, DailyActivity.active_people).where(
        DailyActivity.scope == scope, DailyActivity.day >= first, DailyActivity.day <= today)).all())
    if days <= 60:
        return Section("active_per_day", str(_l("People active per day")), [
            (d.isoformat(), d.strftime("%d/%m"), per_day.get(d, 0))
            for d in (first + timedelta(days=i) for i in range(days))], chart="columns")
    rows = []
    for start in range(0, days, 7):  # weeks counted from the period's first day; the last one may be short
        week = [first + timedelta(days=i) for i in range(start, min(start + 7, days))]
        rows.append((week[0].isoformat(), week[0].strftime("%d/%m"),
                     round(sum(per_day.get(d, 0) for d in week) / len(week))))
    return Section("active_per_day", str(_l("People active per day (weekly mean)")), rows, chart="columns")


def _share_link_views(session: Session, owners, since: datetime) -> int:
    """Share-link views in the period, from the owners' access logs (one event per view; the link's own
    ``view_count`` is all-time). The access log is pruned after ``SILLAGE_ACCESS_LOG_DAYS``."""
    return session.scalar(select(func.count()).select_from(AccessEvent).where(
        AccessEvent.share_link_id.is_not(None), AccessEvent.action == "view", AccessEvent.created_at >= since,
        _in(AccessEvent.portfolio_id, owners))) or 0


def _queue(session: Session, since: datetime) -> Section:
    """Job queue health, figures that go back down when the queue is healthy: tasks waiting in the queue,
    batches not finished and the age of the oldest, items failed in the period, minutes since a consumer's
    last beat and since the last sweep of unfinished batches (``None``: never, or no consumer in this mode)."""
    from app import jobs  # the queue module registers tasks: imported when needed, not at start

    health = jobs.health()
    unfinished, oldest = session.execute(select(func.count(), func.min(Batch.created_at))
                                         .where(Batch.status != "done")).one()
    failed = session.scalar(select(func.count()).select_from(BatchItem).where(
        BatchItem.status == "failed", BatchItem.finished_at >= since))
    now = utcnow()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=timezone.utc)

    def minutes_since(seconds):
        return None if seconds is None else int(seconds) // 60

    return Section("jobs", str(_l("Job queue health")), [
        ("waiting", str(_l("Tasks waiting in the queue")), health.get("pending")),
        ("unfinished_batches", str(_l("Batches not finished")), unfinished or 0),
        ("oldest_unfinished_minutes", str(_l("Oldest unfinished batch (minutes)")),
         None if oldest is None else int((now - oldest).total_seconds()) // 60),
        ("failed_items", str(_l("Items failed in the period")), failed or 0),
        ("last_beat_minutes", str(_l("Last consumer beat (minutes ago)")),
         minutes_since(health.get("last_beat_seconds_ago"))),
        ("last_sweep_minutes", str(_l("Last sweep of unfinished batches (minutes ago)")),
         minutes_since(jobs.last_sweep_seconds_ago())),
    ])


def _enrolments(session: Session, org: Organisation, group: Group | None = None) -> dict[str, int]:
    """An institution's (or one group's) enrolments activated (an account linked), pending (not yet) and
    ended: one pass over its rows (the organisation's index). The platform's page shows accounts."""
    where = Enrolment.group_id == group.id if group is not None else Enrolment.organisation_id == org.id
    total, ended, activated = session.execute(select(
        func.count(), func.count(Enrolment.ended_at),
        func.coalesce(func.sum(case(((Enrolment.ended_at.is_(None)) & (Enrolment.user_id.is_not(None)), 1),
                                    else_=0)), 0))
        .where(where)).one()
    return {"activated": int(activated), "pending": total - ended - int(activated), "ended": ended}


def _by_group(session: Session, org: Organisation) -> list[Section]:
    """For heads: activated and pending pupils per group, and the shares reaching each group's staff
    (counts only; archived groups left out: they reach nobody)."""
    groups = session.execute(select(Group.id, Group.name, Group.year).where(
        Group.organisation_id == org.id, Group.archived_at.is_(None))
        .order_by(Group.year.desc(), Group.name).limit(MAX_GROUPS)).all()
    if not groups:
        return []
    ids = [g.id for g in groups]
    activated = case((Enrolment.user_id.is_not(None), 1), else_=0)
    pupils = {gid: (int(a or 0), n) for gid, a, n in session.execute(
        select(Enrolment.group_id, func.sum(activated), func.count())
        .where(Enrolment.group_id.in_(ids), Enrolment.ended_at.is_(None)).group_by(Enrolment.group_id))}
    shares = dict(session.execute(select(Grant.group_id, func.count()).where(
        Grant.group_id.in_(ids), Grant.revoked_at.is_(None)).group_by(Grant.group_id)).all())
    label = {g.id: f"{g.name} ({g.year})" if g.year else g.name for g in groups}
    return [
        Section("group_activated", str(_l("Activated accounts by group")),
                [(str(i), label[i], pupils.get(i, (0, 0))[0]) for i in ids]),
        Section("group_pending", str(_l("Pending accounts by group")),
                [(str(i), label[i], pupils.get(i, (0, 0))[1] - pupils.get(i, (0, 0))[0]) for i in ids]),
        Section("group_shares", str(_l("Shares with each group’s staff")),
                [(str(i), label[i], shares.get(i, 0)) for i in ids]),
    ]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading quote (OWASP's CSV
    injection advice). Organisation and group names come from heads and rosters (review 14, L6)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def as_csv_rows(sections: list[Section]) -> list[list[str]]:
    """``section, key, label, value`` rows, the same figures as the pages (labels made inert)."""
    out = [["section", "key", "label", "value"]]
    for section in sections:
        out.extend([section.key, key, csv_cell(label), "" if value is None else str(value)]
                   for key, label, value in section.rows)  # None: not known (a queue never swept)
    return out


def as_json(sections: list[Section]) -> dict:
    return {s.key: {"title": s.title, "values": {k: v for k, _label, v in s.rows}} for s in sections}
