"""The overview dashboard and the timeline of the whole path.

Both are read-only views over the owner's portfolio and must stay cheap with large numbers of
accounts and items: each runs a fixed, small number of queries (see ``services.portfolio.summary`` and
``timeline``), never one per item.
"""
from __future__ import annotations

from functools import lru_cache
from itertools import groupby

from flask import render_template, request
from flask_babel import get_locale, get_timezone
from flask_login import current_user, login_required

from app.extensions import db
from app.models import EXPERIENCE_KINDS
from app.portfolio import bp, fragments
from app.portfolio.labels import DIPLOMA_LABEL, KIND_LABELS
from app.services import portfolio as service
from app.templating import translations

UNKNOWN_KIND_SHOWN = 60  # characters of an unknown filter repeated in the notice
# The tag class of each kind, as macros/ui.html's kind_tag gives it (an unknown code looks like "other").
KIND_CLASSES = {kind: kind for kind in EXPERIENCE_KINDS}


def _year(item) -> int | None:
    when = service.entry_date(item)
    return when.year if when else None


@bp.get("/dashboard")
@login_required
def dashboard():
    from app.services import invitations  # an organisation's invitation waits for an answer: say so here
    summary = service.summary(db.session, current_user)
    return render_template("portfolio/dashboard.html", summary=summary, portfolio=current_user.portfolio,
                           invitations=invitations.mine(db.session, current_user))


@bp.get("/timeline")
@login_required
def timeline():
    """Experiences and diplomas, newest first, grouped by year; ``?kind=`` keeps one kind.

    The content is cached per portfolio revision (``fragments``): a page seen again costs neither the
    item queries nor their rendering. An unknown ``kind`` (an edited or outdated link) answers 400
    with the whole timeline and a notice saying that this filter does not exist, rather than showing
    everything as if the filter had worked.
    """
    kind = request.args.get("kind", "")
    unknown = None
    if kind and kind not in service.TIMELINE_KINDS:
        unknown, kind = kind[:UNKNOWN_KIND_SHOWN], ""
    portfolio = service.portfolio_of(current_user)
    # Everything the content depends on; the revision changes with every change to the items.
    key = ("timeline", portfolio.id, portfolio.revision, kind, str(get_locale()), str(get_timezone()),
           request.root_path)
    content = fragments.cached(key, lambda: _timeline_content(kind))
    page = render_template("portfolio/timeline.html", content=content, unknown_kind=unknown)
    return page, 400 if unknown is not None else 200


def _timeline_content(kind: str) -> str:
    entries = service.timeline(db.session, current_user, kind or None)
    years = [(year, list(group)) for year, group in groupby(entries, key=_year)]
    kind_labels, diploma_label, filters = _labels(translations())
    return render_template("portfolio/_timeline_content.html", years=years, kind=kind, filters=filters,
                           kind_labels=kind_labels, diploma_label=diploma_label, kind_classes=KIND_CLASSES)


@lru_cache(maxsize=8)
def _labels(_catalogue) -> tuple[dict[str, str], str, list[tuple[str, str | None]]]:
    """The words of kinds and filters, translated once per catalogue (the request's locale) rather
    than once per item, or once per page."""
    kind_labels = {k: str(label) for k, label in KIND_LABELS.items()}
    diploma_label = str(DIPLOMA_LABEL)
    filters = [("", None)] + [(k, kind_labels[k]) for k in EXPERIENCE_KINDS] + [("diploma", diploma_label)]
    return kind_labels, diploma_label, filters
