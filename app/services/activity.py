"""Per-day activity counters: how many sign-ins, API uses and distinct active people, never who.

Decision: a distinct person is counted once a day through ``DailySeen``, a table of HMAC-SHA256 keys of
(user id, day) under the application's secret key. The key cannot be reversed without the secret, and
the rows of past days are deleted on the first count of a new day (``purge``), so after a day ends only
the totals in ``DailyActivity`` remain: no per-person log, unlike ``users.last_login_at`` which is the
person's own information. An exact set (rather than HyperLogLog) keeps the counts exact and costs one
64-character row per active person for at most a day. A person active in several organisations counts
once in each of their scopes (the platform and each organisation they belong to).
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import date

from flask import current_app, has_app_context
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models.admin import PLATFORM, DailyActivity, DailySeen
from app.models.institutions import Enrolment

_COUNTERS = ("sign_ins", "api_uses")


def _seen_key(user_id, day: date) -> str:
    secret = current_app.config["SECRET_KEY"] if has_app_context() else "no-app"
    return hmac.new(str(secret).encode(), f"{user_id}|{day.isoformat()}".encode(), hashlib.sha256).hexdigest()


def purge(session: Session, today: date) -> int:
    """Forget the "seen" keys of days before ``today``: from then on, only totals remain."""
    return session.execute(delete(DailySeen).where(DailySeen.day < today)).rowcount or 0


def _bump(session: Session, day: date, scope: str, **amounts: int) -> None:
    values = {name: getattr(DailyActivity, name) + amount for name, amount in amounts.items()}
    done = session.execute(update(DailyActivity).where(DailyActivity.day == day, DailyActivity.scope == scope)
                           .values(**values).execution_options(synchronize_session=False)).rowcount
    if not done:
        try:
            with session.begin_nested():
                session.add(DailyActivity(day=day, scope=scope, sign_ins=amounts.get("sign_ins", 0),
                                          api_uses=amounts.get("api_uses", 0),
                                          active_people=amounts.get("active_people", 0)))
        except IntegrityError:  # another request created the row first: add to it
            session.execute(update(DailyActivity).where(DailyActivity.day == day, DailyActivity.scope == scope)
                            .values(**values).execution_options(synchronize_session=False))


def record(session: Session, user, kind: str, *, day: date | None = None) -> bool:
    """Count one ``kind`` ("sign_in" or "api_use") for ``user`` today; True when the person is newly
    active today (then every scope's ``active_people`` grows by one). API uses are counted at most once
    per person and day (a token making 1,000 calls is one use), sign-ins every time."""
    day = day or utcnow().date()
    key = _seen_key(user.id, day)
    fresh = False
    if session.get(DailySeen, key) is None:
        try:
            with session.begin_nested():
                session.add(DailySeen(key=key, day=day))
            fresh = True
        except IntegrityError:
            fresh = False
    if fresh:
        purge(session, day)
    if kind == "api_use" and not fresh:
        return False
    amounts = {"sign_ins": 1} if kind == "sign_in" else {"api_uses": 1}
    if fresh:
        amounts["active_people"] = 1
    # The organisations where the person activated or joined an enrolment: never a membership a head or an
    # admin made without asking, which would tell them the days that person is active (review 14, M4).
    scopes = [PLATFORM] + [str(org_id) for org_id in session.scalars(
        select(Enrolment.organisation_id).where(Enrolment.user_id == user.id, Enrolment.ended_at.is_(None)))]
    for scope in scopes:
        _bump(session, day, scope, **amounts)
    return fresh
