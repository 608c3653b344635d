"""The overview dashboard and the timeline of the whole path.

Both are read-only views over the owner's portfolio and must stay cheap with large numbers of
accounts and items: each runs a fixed, small number of queries (see ``services.portfolio.summary`` and
``timeline``), never one per item.
"""
from __future__ import annotations

from itertools import groupby

from flask import render_template, request
from flask_login import current_user, login_required

from app.extensions import db
from app.models import EXPERIENCE_KINDS
from app.portfolio import bp
from app.portfolio.labels import DIPLOMA_LABEL, KIND_LABELS
from app.services import portfolio as service


def _year(item) -> int | None:
    when = service.entry_date(item)
    return when.year if when else None


@bp.get("/dashboard")
@login_required
def dashboard():
    summary = service.summary(db.session, current_user)
    return render_template("portfolio/dashboard.html", summary=summary, portfolio=current_user.portfolio)


@bp.get("/timeline")
@login_required
def timeline():
    """Experiences and diplomas, newest first, grouped by year; ``?kind=`` keeps one kind.

    An unknown ``kind`` shows everything rather than an error page: it can only come from an edited
    or outdated link.
    """
    kind = request.args.get("kind", "")
    if kind not in service.TIMELINE_KINDS:
        kind = ""
    entries = service.timeline(db.session, current_user, kind or None)
    years = [(year, list(group)) for year, group in groupby(entries, key=_year)]
    # The labels, translated once here rather than once per item as the page shows them.
    kind_labels = {k: str(label) for k, label in KIND_LABELS.items()}
    diploma_label = str(DIPLOMA_LABEL)
    filters = [("", None)] + [(k, kind_labels[k]) for k in EXPERIENCE_KINDS] + [("diploma", diploma_label)]
    return render_template("portfolio/timeline.html", years=years, kind=kind, filters=filters,
                           kind_labels=kind_labels, diploma_label=diploma_label)
