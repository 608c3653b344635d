"""Admin pages. Each view: check who asks, call the service, commit once, render."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from app import policy
from app.admin.charts import chart
from app.auth.forms import EmptyForm
from app.extensions import db
from app.models import Organisation, User
from app.models.institutions import Group
from app.services import admin, audit, indicators
from app.services.accounts import normalise_email
from app.services.errors import ServiceError, ValidationFailed

bp = Blueprint("admin", __name__, template_folder="templates")


class SuspendForm(FlaskForm):
    reason = TextAreaField(_l("Reason (kept in the audit log)"), validators=[DataRequired(), Length(max=2000)])


def _admin_only():
    me = current_user._get_current_object()
    if not admin.is_platform_admin(me):
        abort(404)
    return me


def _days() -> int:
    """The period in days; an unknown value (a hand-edited address) falls back to 30, and the page says so."""
    days = indicators.PERIODS.get(request.args.get("days", "30"))
    if days is None:
        flash(_("Unknown period: the last 30 days are shown."), "error")
    return days or 30


def _org(org_id) -> Organisation | None:
    if not org_id:
        return None
    key = policy.parse_id(org_id)
    org = db.session.get(Organisation, key) if key else None
    if org is None:
        abort(404)
    return org


def _group(org: Organisation | None, group_id) -> Group | None:
    """The ``group`` filter: one of ``org``'s groups, or 404 (another institution's group, or no org)."""
    if not group_id:
        return None
    key = policy.parse_id(group_id)
    group = db.session.get(Group, key) if key else None
    if group is None or org is None or group.organisation_id != org.id:
        abort(404)
    return group


def _groups(org: Organisation | None) -> list:
    if org is None:
        return []
    return db.session.scalars(select(Group).where(Group.organisation_id == org.id, Group.archived_at.is_(None))
                              .order_by(Group.year.desc(), Group.name).limit(indicators.MAX_GROUPS)).all()


def _csv(sections, name: str) -> Response:
    out = io.StringIO()
    csv.writer(out).writerows(indicators.as_csv_rows(sections))
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def _render(org, sections, days, csv_url, group=None):
    return render_template("admin/indicators.html", org=org, sections=sections, days=days, chart=chart,
                           periods=indicators.PERIODS, csv_url=csv_url, group=group, groups=_groups(org),
                           organisations=(db.session.scalars(select(Organisation).order_by(Organisation.name)
                                                             .limit(500)).all() if org is None or
                                          admin.is_platform_admin(current_user) else []))


@bp.get("/admin/indicators")
@login_required
def platform_indicators():
    me = _admin_only()
    org, days = _org(request.args.get("org")), _days()
    group_id = request.args.get("group")
    if group_id and org is not None and (key := policy.parse_id(group_id)) is not None and \
            (chosen := db.session.get(Group, key)) is not None and chosen.organisation_id != org.id:
        # The platform's form kept the group of the institution chosen before: show the new institution whole
        # (a head's page answers 404 instead, so that another school's group ids are never probed there).
        flash(_("That group belongs to another institution: the whole institution is shown."), "error")
        group_id = None
    group = _group(org, group_id)
    sections = indicators.compute(db.session, me, org=org, group=group, days=days)
    if request.args.get("format") == "csv":
        return _csv(sections, f"indicators-{days}d")
    return _render(org, sections, days, url_for(".platform_indicators", org=request.args.get("org") or None,
                                                group=group.id if group else None, days=days, format="csv"),
                   group)


@bp.get("/organisations/<uuid:org_id>/indicators")
@login_required
def organisation_indicators(org_id):
    org, days = _org(str(org_id)), _days()
    try:
        if not indicators.may_view(db.session, current_user, org):
            abort(404)  # before the group: another school's group ids are not probed here
        group = _group(org, request.args.get("group"))
        sections = indicators.compute(db.session, current_user, org=org, group=group, days=days)
    except ServiceError:
        abort(404)
    if request.args.get("format") == "csv":
        return _csv(sections, f"indicators-{org.id}-{group.id}-{days}d" if group else
                    f"indicators-{org.id}-{days}d")
    return _render(org, sections, days, url_for(".organisation_indicators", org_id=org.id, days=days,
                                                group=group.id if group else None, format="csv"), group)


@bp.get("/admin/audit")
@login_required
def audit_log():
    _admin_only()
    org = _org(request.args.get("org"))
    action = (request.args.get("action") or "").strip()[:64] or None
    page = max(request.args.get("page", 1, type=int), 1)
    events = audit.events(db.session, action=action, organisation_id=org.id if org else None,
                          limit=100, offset=(page - 1) * 100)
    return render_template("admin/audit.html", events=events, action=action or "", org=org, page=page)


@bp.get("/admin/accounts")
@login_required
def accounts():
    _admin_only()
    found = None
    email = (request.args.get("email") or "").strip()
    if email:
        try:
            found = db.session.scalars(select(User).where(User.email == normalise_email(email))).first()
        except ValidationFailed:
            found = None
        if found is None:
            flash(_("No account uses this e-mail address."), "error")
    suspended = db.session.scalars(select(User).where(User.suspended_at.is_not(None))
                                   .order_by(User.suspended_at.desc()).limit(200)).all()
    return render_template("admin/accounts.html", found=found, email=email, suspended=suspended,
                           form=SuspendForm(), button=EmptyForm())


@bp.post("/admin/accounts/<uuid:user_id>/suspend")
@login_required
def suspend(user_id):
    me = _admin_only()
    person = admin.get_user(db.session, me, user_id)
    form = SuspendForm()
    if not form.validate_on_submit():
        flash(_("Give a reason for the suspension."), "error")
        return redirect(url_for(".accounts", email=person.email))
    try:
        admin.suspend(db.session, me, person, form.reason.data)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for(".accounts", email=person.email))
    db.session.commit()
    flash(_("The account is suspended."), "success")
    return redirect(url_for(".accounts"))


@bp.post("/admin/accounts/<uuid:user_id>/reinstate")
@login_required
def reinstate(user_id):
    me = _admin_only()
    person = admin.get_user(db.session, me, user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        admin.reinstate(db.session, me, person)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for(".accounts"))
    db.session.commit()
    flash(_("The account is reinstated."), "success")
    return redirect(url_for(".accounts"))
