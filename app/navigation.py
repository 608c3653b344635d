"""The signed-in navigation: a few groups of links, each link shown only to those whom its page serves.

Eighteen links on two lines made the header noisy, and issue 13's pages (institutions, guardians, the
admin's indicators, audit and accounts) had no link at all. The menu is now a dashboard link and four or
five groups (``<details>`` in base.html, so it works without JavaScript).

Who sees what is asked of the same helpers the pages use to refuse (``admin.is_platform_admin``,
``policy.reviews_requests``, ``rosters.check_head``, ``indicators.may_view``, the institution and guardian
services): a link can never promise a page that answers 404, and the rules live in one place. The menu is
computed once per request (a handful of small queries, only for signed-in people).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import g, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from app.extensions import db
from app.templating import has_endpoint


@dataclass(frozen=True)
class Link:
    endpoint: str
    label: str
    related: tuple[str, ...] = ()   # endpoints of sub-pages: the link is marked as the current section
    values: dict = field(default_factory=dict)   # URL arguments (an organisation's id)

    def state(self, endpoint: str | None, view_args: dict | None) -> str | None:
        """``page`` on the link's own page, ``true`` inside its section, else None (for aria-current)."""
        if endpoint is None or any(str((view_args or {}).get(k)) != v for k, v in self.values.items()):
            return None
        if endpoint == self.endpoint:
            return "page"
        return "true" if endpoint in self.related else None


@dataclass
class Group:
    key: str
    label: str
    links: list[Link]


# --- who sees what ---------------------------------------------------------------------------------

def _is_platform_admin(user) -> bool:
    from app.services import admin
    return admin.is_platform_admin(user)


def _reviews_requests(user) -> bool:
    from app import policy
    return policy.reviews_requests(user)


@dataclass(frozen=True)
class Ties:
    """Whether the person has any membership, active enrolment or guardian grant (either way): one query
    that lets most people skip the per-page checks below, so the menu costs one query on most pages."""
    member: bool
    enrolled: bool
    guardian: bool


def ties(user) -> Ties:
    from app.models import Enrolment, Grant, Membership, Portfolio
    member, enrolled, guardian_of, guarded = db.session.execute(select(
        exists().where(Membership.user_id == user.id, Membership.accepted()),
        exists().where(Enrolment.user_id == user.id, Enrolment.ended_at.is_(None)),
        exists().where(Grant.grantee_id == user.id, Grant.role == "guardian", Grant.revoked_at.is_(None)),
        exists().where(Grant.portfolio_id == Portfolio.id, Portfolio.owner_id == user.id,
                       Grant.role == "guardian", Grant.revoked_at.is_(None)))).one()
    return Ties(member=member, enrolled=enrolled, guardian=guardian_of or guarded)


def _memberships(user) -> list:
    from app.models import Membership, Organisation
    return db.session.scalars(select(Organisation).join(Membership, Membership.organisation_id == Organisation.id)
                              .where(Membership.user_id == user.id, Membership.accepted())
                              .order_by(Organisation.name)).all()


def headed_institutions(user, orgs: list) -> list:
    """The enrolling institutions whose roster pages this person may open (``rosters.check_head`` says)."""
    from app.services.errors import ServiceError
    from app.services.rosters import check_head
    headed = []
    for org in orgs:
        try:
            check_head(db.session, user, org)
        except ServiceError:
            continue
        headed.append(org)
    return headed


def indicator_organisations(user, orgs: list) -> list:
    """The organisations whose indicators page this person may open (``indicators.may_view``)."""
    from app.services import indicators
    return [org for org in orgs if indicators.may_view(db.session, user, org)]


def sees_institutions(user, tie: Ties) -> bool:
    """Staff of an enrolling institution, and people enrolled in one (they share with their groups)."""
    from app.services import institutions, minors
    return bool((tie.member and institutions.institutions_of(db.session, user))
                or (tie.enrolled and minors.institution_ids(db.session, user)))


def sees_guardians(user, tie: Ties) -> bool:
    """Guardians and people who have one (an active guardian grant either way: ``guardians.minors_of`` and
    the pupil's side of ``/guardians``), and people under 18 (who may invite one; ``/guardians`` also
    renews at 18)."""
    from app.services import guardians, minors
    if minors.is_minor(user, threshold=18):
        return True
    return tie.guardian and bool(guardians.minors_of(db.session, user) or _has_guardian(user))


def _has_guardian(user) -> bool:
    from app.models import Grant, Portfolio
    return bool(db.session.scalar(select(exists().where(
        Grant.portfolio_id == Portfolio.id, Portfolio.owner_id == user.id, Grant.role == "guardian",
        Grant.revoked_at.is_(None)))))


# --- the menu --------------------------------------------------------------------------------------

INSTITUTION_PAGES = ("institutions.group", "institutions.roster_preview", "institutions.roster_import",
                     "institutions.roster_job", "institutions.create_group", "institutions.add_staff")

def _groups(user) -> list[Group]:
    path = [
        Link("portfolio.timeline", _l("Timeline")),
        Link("portfolio.experiences", _l("Experiences"),
             ("portfolio.new_experience", "portfolio.experience", "portfolio.edit_experience")),
        Link("portfolio.diplomas", _l("Diplomas"), ("portfolio.new_diploma", "portfolio.diploma", "portfolio.edit_diploma")),
        Link("portfolio.skills", _l("Skills"), ("portfolio.new_skill", "portfolio.skill", "portfolio.edit_skill")),
        Link("portfolio.journal", _l("Journal"),
             ("portfolio.new_journal_entry", "portfolio.journal_entry", "portfolio.edit_journal_entry")),
        Link("path.index", _l("My path"), ("path.hypothesis", "path.history", "path.trainings", "path.import_trainings")),
        Link("frameworks.index", _l("Frameworks"), ("frameworks.framework", "frameworks.concept", "frameworks.suggest")),
        Link("portfolio.profile", _l("Profile"), ("portfolio.photo",)),
    ]
    proof = [
        Link("vault.index", _l("Vault"), ("vault.document", "vault.delete")),
        Link("credentials.mine", _l("Credentials")),
        Link("backpack.add", _l("Badges earned elsewhere")),
        Link("attestations.mine", _l("Attestations")),
        Link("issuing.organisations", _l("Organisations"),
             ("issuing.request_organisation", "issuing.organisation", "issuing.new_achievement",
              "issuing.edit_achievement")),
    ]
    share = [
        Link("sharing.index", _l("Sharing"), ("sharing.edit", "sharing.access_log_page")),
        Link("pages.index", _l("Pages"), ("pages.new", "pages.edit", "pages.new_link")),
        Link("cvs.index", _l("CVs"), ("cvs.edit", "cvs.profile_resume")),
        Link("sharing.shared", _l("Shared with me"), ("sharing.shared_view",)),
        Link("collab.inbox", _l("Inbox"), ("collab.messages", "collab.comments", "collab.mine", "collab.propose")),
        Link("feed.index", _l("News and events"), ("feed.event", "feed.published", "feed.new_event", "feed.edit_event")),
    ]
    tie = ties(user)
    orgs = _memberships(user) if tie.member else []
    if sees_institutions(user, tie):
        share.append(Link("institutions.home", _l("Institutions"), ("institutions.share",)))
    if sees_guardians(user, tie):
        share.append(Link("guardians.home", _l("Guardians")))
    administration: list[Link] = []
    for org in headed_institutions(user, orgs):
        administration.append(Link("institutions.head", org.name, INSTITUTION_PAGES, values={"org_id": str(org.id)}))
    if _reviews_requests(user):
        administration.append(Link("issuing.admin_requests", _l("Organisation requests"), ("issuing.admin_review",)))
    if _is_platform_admin(user):
        administration += [
            Link("admin.platform_indicators", _l("Indicators")),
            Link("admin.audit_log", _l("Audit log")),
            Link("admin.accounts", _l("Accounts"), ("admin.suspend", "admin.reinstate")),
            Link("frameworks.admin", _l("Framework imports"), ("frameworks.import_status",)),
        ]
    else:
        for org in indicator_organisations(user, orgs):
            administration.append(Link("admin.organisation_indicators", _l("Indicators: %(name)s", name=org.name),
                                       values={"org_id": str(org.id)}))
    groups = [Group("path", _l("My portfolio"), path), Group("proof", _l("Vault and proof"), proof),
              Group("share", _l("Share"), share)]
    if administration:
        groups.append(Group("admin", _l("Administration"), administration))
    for group in groups:
        group.links = [link for link in group.links if has_endpoint(link.endpoint)]
    return [group for group in groups if group.links]


def menu(user) -> list[Group]:
    """The groups for ``user`` (signed in), computed once per request."""
    cached = getattr(g, "_sillage_menu", None)
    if cached is None:
        cached = g._sillage_menu = _groups(user)
    return cached


def current(link: Link) -> str | None:
    return link.state(request.endpoint, request.view_args)


def group_is_current(group: Group) -> bool:
    return any(current(link) for link in group.links)
