"""Career hypotheses, their gap analysis, and the action plan shared with a counsellor (issue 12).

Every function takes the session, the acting user and plain values, asks ``app.policy`` (its "career
hypotheses" rules: the owner, or an invited counsellor) and flushes; the caller commits. Another person's
hypothesis, or one the actor may not read, is ``NotFound`` (no leak); something the actor may read but
not change (a counsellor and the owner's words) is ``Forbidden`` with a stable code.

The gap analysis (``gap``) compares what an occupation needs (the frameworks' ``related``: its
essential and optional skills) with what the owner has: a skill of theirs whose ``concept_uri`` is the
skill's concept, or a received credential whose achievement is aligned to that concept. Each skill the
owner has gets the strongest evidence found, from strongest to weakest: ``credential`` (an active
received credential linked to the skill or aligned to the concept), ``attested`` (a confirmed
attestation of the skill), ``document`` (a vault document attached to it as evidence), ``self_declared``.
A counsellor's view (``grants`` given) is computed from the skills, documents and credentials that
their grant shares, through ``policy.shared_filter``: it never reveals what the grant does not show.

Every change to a plan adds one ``PlanEvent`` (``_record``): the history is append-only.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from app import policy
from app.database import utcnow
from app.models import Achievement, Credential, Document, Portfolio, Skill, User
from app.models.attestations import AttestationRequest
from app.models.path import (HYPOTHESIS_STATUSES, PLAN_KINDS, PLAN_STATUSES, Hypothesis,
                             PlanEvent, PlanItem, Training, TrainingSkill)
from app.models.received import CredentialLink
from app.models.sharing import Grant
from app.models.vault import skill_evidence
from app.services import access_log, frameworks
from app.services.collab import clean_text
from app.services.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from app.services.validation import Field, clean

EVIDENCE_LEVELS = ("self_declared", "document", "attested", "credential")  # weakest first
RELATIONS = ("essential", "optional")
MAX_HYPOTHESES = 50  # per portfolio: paths being explored, not a catalogue
MAX_PLAN_ITEMS = 500  # per hypothesis
DUE_SOON = timedelta(days=14)
HYPOTHESIS_RULES = {
    "title": Field(max_length=200),
    "occupation": Field(max_length=300),
    "description": Field(max_length=5000),
    "status": Field("choice", choices=HYPOTHESIS_STATUSES),
    "notes": Field(max_length=20000),
}
ITEM_RULES = {
    "kind": Field("choice", required=True, choices=PLAN_KINDS),
    "title": Field(max_length=200),
    "body": Field(max_length=20000),
    "due_on": Field("date"),
    "happened_on": Field("date"),
    "status": Field("choice", choices=PLAN_STATUSES),
    "parent_id": Field(max_length=40),
}


def _not_found() -> NotFound:
    return NotFound(str(_l("This path hypothesis does not exist or is not shared with you.")))


def _invalid(name: str, message) -> ValidationFailed:
    return ValidationFailed(str(_l("Some information is not valid.")), fields={name: str(message)})


def _label(user: User) -> str:
    portfolio = user.portfolio
    return (portfolio.display_name if portfolio is not None and portfolio.display_name else user.email)[:254]


# --- hypotheses ----------------------------------------------------------------------------------------

def resolve_occupation(session: Session, value):
    """The occupation concept named by ``value`` (a concept id or URI), else 422 ``unknown_occupation``."""
    try:
        concept = frameworks.get(session, value)
    except ServiceError:
        concept = None
    if concept is None or concept.kind != "occupation":
        raise ValidationFailed(str(_l("This occupation is not in the reference frameworks.")),
                               code="unknown_occupation", fields={"occupation": str(_l("Choose an occupation."))})
    return concept


def create_hypothesis(session: Session, owner: User, data: dict, *, lang: str = "fr") -> Hypothesis:
    """A new hypothesis from ``occupation`` (a concept id or URI) or a free ``description`` (one of them).

    The title defaults to the occupation's label (in ``lang``) or the description's start.
    """
    values = clean(HYPOTHESIS_RULES, data)
    portfolio = owner.portfolio
    if portfolio is None:
        raise _not_found()
    if not values.get("occupation") and not values.get("description"):
        raise ValidationFailed(str(_l("Choose an occupation or describe the path.")), code="validation_error",
                               fields={"occupation": str(_l("Choose an occupation or describe the path."))})
    count = session.scalar(select(func.count()).select_from(Hypothesis).where(Hypothesis.portfolio_id == portfolio.id))
    if count >= MAX_HYPOTHESES:
        raise ServiceError(str(_l("You have too many hypotheses: drop or delete some first.")),
                           code="too_many_hypotheses", status=409)
    hypothesis = Hypothesis(portfolio_id=portfolio.id, description=values.get("description", ""),
                            status=values.get("status") or "exploring", notes=values.get("notes", ""))
    if values.get("occupation"):
        concept = resolve_occupation(session, values["occupation"])
        hypothesis.occupation_uri = concept.uri
        hypothesis.occupation_label = frameworks.label(concept, lang)[:300]
    hypothesis.title = (values.get("title") or hypothesis.occupation_label
                        or hypothesis.description.splitlines()[0])[:200]
    session.add(hypothesis)
    session.flush()
    _record(session, hypothesis, owner, "owner", "hypothesis_created", details={"title": hypothesis.title})
    return hypothesis


def update_hypothesis(session: Session, owner: User, hypothesis: Hypothesis, data: dict, *,
                      lang: str = "fr") -> Hypothesis:
    """Change the title, occupation (``""`` removes it), description, status or notes: the owner only."""
    if not policy.can(owner, policy.UPDATE, hypothesis):
        raise _forbidden()
    values = clean(HYPOTHESIS_RULES, data, partial=True)
    changes = {}
    if "occupation" in values:
        uri, label = "", ""
        if values["occupation"]:
            concept = resolve_occupation(session, values["occupation"])
            uri, label = concept.uri, frameworks.label(concept, lang)[:300]
        if uri != hypothesis.occupation_uri:
            changes["occupation"] = [hypothesis.occupation_uri, uri]
            hypothesis.occupation_uri, hypothesis.occupation_label = uri, label
    for name in ("title", "description", "status", "notes"):
        if name in values and values[name] != getattr(hypothesis, name):
            if name in ("title", "status") and not values[name]:
                raise _invalid(name, _l("This field is required."))
            changes[name] = [getattr(hypothesis, name), values[name]] if name in ("title", "status") else None
            setattr(hypothesis, name, values[name])
    if not hypothesis.occupation_uri and not hypothesis.description:
        raise _invalid("occupation", _l("Choose an occupation or describe the path."))
    if changes:
        hypothesis.updated_at = utcnow()
        session.flush()
        _record(session, hypothesis, owner, "owner", "hypothesis_updated",
                details={name: value for name, value in changes.items() if value is not None}
                | {"fields": sorted(changes)})
    return hypothesis


def delete_hypothesis(session: Session, owner: User, hypothesis: Hypothesis) -> None:
    """The owner deletes a hypothesis with its plan and history (their data, their choice)."""
    if not policy.can(owner, policy.DELETE, hypothesis):
        raise _forbidden()
    session.delete(hypothesis)
    session.flush()


def get_hypothesis(session: Session, user: User, hypothesis_id) -> Hypothesis:
    """A hypothesis the user may read (the owner, an invited counsellor), else ``NotFound``."""
    key = policy.parse_id(hypothesis_id)
    hypothesis = session.get(Hypothesis, key) if key is not None else None
    if hypothesis is None or not policy.can(user, policy.READ, hypothesis):
        raise _not_found()
    return hypothesis


def hypotheses_of(session: Session, user: User, portfolio: Portfolio) -> list[Hypothesis]:
    """The hypotheses of ``portfolio`` that the user may read (all of them or none), newest first."""
    if policy.path_role(user, portfolio.id) is None:
        raise _not_found()
    return list(session.scalars(select(Hypothesis).where(Hypothesis.portfolio_id == portfolio.id)
                                .order_by(Hypothesis.created_at.desc(), Hypothesis.id)))


def log_read(session: Session, user: User, hypothesis: Hypothesis, *, ip: str | None = None) -> None:
    """A counsellor reading a plan goes to the owner's access log, like every read of shared content."""
    if not policy.owns_portfolio(user, hypothesis.portfolio_id):
        access_log.record(session, hypothesis.portfolio_id, action="view", object_type="hypothesis",
                          object_id=hypothesis.id, actor=user, ip=ip)


# --- gap analysis ---------------------------------------------------------------------------------------

def needed_skills(session: Session, hypothesis: Hypothesis, *, lang: str = "fr") -> list[dict]:
    """The occupation's essential and optional skills, ``{concept_uri, label, relation}``, essential first.

    Empty for a free description, or an occupation that no loaded framework knows (any more).
    """
    if not hypothesis.occupation_uri:
        return []
    try:
        occupation = frameworks.get(session, hypothesis.occupation_uri)
    except ServiceError:
        return []
    needed: dict[str, dict] = {}
    for concept, relation in frameworks.related(session, occupation):
        if relation not in RELATIONS:
            continue
        known = needed.get(concept.uri)
        if known is None or (known["relation"] == "optional" and relation == "essential"):
            needed[concept.uri] = {"concept_uri": concept.uri, "label": frameworks.label(concept, lang),
                                   "relation": relation}
    return sorted(needed.values(), key=lambda entry: (entry["relation"] != "essential",
                                                      frameworks.fold_for_search(entry["label"]), entry["concept_uri"]))


def _filtered(query, model, grants):
    return query if grants is None else query.where(policy.shared_filter(grants, model))


def _active_credential(now):
    return and_(Credential.revoked_at.is_(None), Credential.suspended_at.is_(None),
                or_(Credential.valid_until.is_(None), Credential.valid_until > now))


def evidence(session: Session, portfolio: Portfolio, uris: list[str], *, grants: list[Grant] | None = None) -> dict:
    """For each concept URI the owner has: ``{uri: (level, skill row (id, concept_uri, name) or None)}``,
    the strongest evidence.

    A handful of queries whatever the number of skills (``uris`` bounded by one occupation's relations).
    ``grants``: a counsellor's active grants; only what they share counts (``policy.shared_filter``).
    """
    if not uris:
        return {}
    now = utcnow()
    rank = {level: index for index, level in enumerate(EVIDENCE_LEVELS)}
    found: dict[str, tuple] = {}

    def better(uri: str, level: str, skill) -> None:
        known = found.get(uri)
        if known is None or rank[level] > rank[known[0]] or (rank[level] == rank[known[0]] and known[1] is None):
            found[uri] = (level, skill if skill is not None or known is None else known[1])

    skills = session.execute(_filtered(select(Skill.id, Skill.concept_uri, Skill.name).where(
        Skill.portfolio_id == portfolio.id, Skill.concept_uri.in_(uris)), Skill, grants).order_by(Skill.sort_name)).all()
    by_id = {skill.id: skill for skill in skills}
    for skill in skills:
        better(skill.concept_uri, "self_declared", skill)
    if by_id:
        # The three kinds of evidence on the skills, in one round trip.
        ids = list(by_id)
        documents = _filtered(select(skill_evidence.c.item_id, literal("document")).join(
            Document, Document.id == skill_evidence.c.document_id).where(skill_evidence.c.item_id.in_(ids)),
            Document, grants)
        attested = select(AttestationRequest.item_id, literal("attested")).where(
            AttestationRequest.portfolio_id == portfolio.id, AttestationRequest.item_kind == "skill",
            AttestationRequest.purpose == "attestation", AttestationRequest.status == "confirmed",
            AttestationRequest.item_id.in_(ids))
        linked = _filtered(select(CredentialLink.item_id, literal("credential")).join(
            Credential, Credential.id == CredentialLink.credential_id).where(
            CredentialLink.item_kind == "skill", CredentialLink.item_id.in_(ids),
            CredentialLink.portfolio_id == portfolio.id, _active_credential(now)), Credential, grants)
        for skill_id, level in session.execute(union_all(documents, attested, linked)):
            skill = by_id[skill_id if isinstance(skill_id, uuid.UUID) else uuid.UUID(str(skill_id))]
            better(skill.concept_uri, level, skill)
    wanted = set(uris)
    aligned = select(Achievement.alignments).join(Credential, Credential.achievement_id == Achievement.id) \
        .where(Credential.portfolio_id == portfolio.id, _active_credential(now))
    for alignments in session.scalars(_filtered(aligned, Credential, grants)):
        for alignment in alignments or ():
            target = alignment.get("target_url") if isinstance(alignment, dict) else None
            if target in wanted:
                better(target, "credential", None)
    for level_uri, skill_id in _external_evidence(session, portfolio, list(by_id), wanted, grants):
        skill = by_id.get(skill_id)
        better(skill.concept_uri if skill is not None else level_uri, "credential", skill)
    return found


def _shares_credentials(grants: list[Grant] | None) -> bool:
    """Badges from elsewhere have no grant kind of their own: they live in the Credentials section, so a
    counsellor sees them as evidence only when a grant shares that whole section."""
    return grants is None or any(
        policy.grant_allows(g.role, "credential", policy.READ) and policy.scope_selection(g, "credential")
        is policy.ALL for g in grants)


def _alignment_targets(document: dict) -> set:
    """The ``targetUrl`` of a badge's alignments: OB 3.0's ``credentialSubject.achievement.alignment``,
    OB 2.0's ``badge.alignment`` when the badge class is embedded."""
    from badges.formats import as_list  # noqa: PLC0415

    subject = document.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    holders = [subject.get("achievement") if isinstance(subject, dict) else None, document.get("badge")]
    return {a.get("targetUrl") for h in holders if isinstance(h, dict) for a in as_list(h.get("alignment"))
            if isinstance(a, dict) and isinstance(a.get("targetUrl"), str)}


def _external_evidence(session: Session, portfolio: Portfolio, skill_ids: list, wanted: set,
                       grants: list[Grant] | None) -> list[tuple[str | None, uuid.UUID | None]]:
    """Badges earned elsewhere (app.services.backpack) that prove a needed skill, as ``credential``
    evidence like a credential issued here (issue 12: "certified by a credential", wherever issued):
    one linked to the owner's skill gives ``(None, skill_id)``, one aligned to the concept ``(uri, None)``.
    Only badges whose state is active (not expired, not found revoked or suspended by the last check);
    a counsellor sees neither hidden badges nor any unless the Credentials section is shared."""
    from app.models.backpack import ExternalCredential, ExternalCredentialLink  # noqa: PLC0415
    from app.services import backpack  # noqa: PLC0415

    if not _shares_credentials(grants):
        return []
    query = select(ExternalCredential).where(ExternalCredential.portfolio_id == portfolio.id)
    if grants is not None:
        query = query.where(ExternalCredential.hidden.is_(False))
    rows = session.scalars(query).all()
    if not rows:
        return []
    checked = backpack.verdicts(session, portfolio.id)
    active = {row.id: row for row in rows if backpack.state(row, checked.get(row.id)) == "active"}
    out: list[tuple[str | None, uuid.UUID | None]] = []
    if skill_ids and active:
        link = ExternalCredentialLink
        links = session.execute(select(link.item_id, link.external_credential_id).where(
            link.portfolio_id == portfolio.id, link.item_kind == "skill", link.item_id.in_(skill_ids)))
        out += [(None, item_id) for item_id, badge_id in links if badge_id in active]
    for row in active.values():
        out += [(uri, None) for uri in _alignment_targets(row.document) & wanted]
    return out


def gap(session: Session, portfolio: Portfolio, hypothesis: Hypothesis, *, lang: str = "fr",
        grants: list[Grant] | None = None) -> dict:
    """``{"have": [...], "missing": [...]}``: the occupation's skills, split by what the owner has.

    Each entry is ``{concept_uri, label, relation}``; those in ``have`` also carry ``evidence`` (one of
    ``EVIDENCE_LEVELS``), ``skill_id`` and ``skill_name`` (the owner's skill, when one names the concept;
    empty when a credential's alignment alone proves it). ``grants`` restricts the evidence to what a
    counsellor's grants share (see the module's docstring).
    """
    needed = needed_skills(session, hypothesis, lang=lang)
    found = evidence(session, portfolio, [entry["concept_uri"] for entry in needed], grants=grants)
    have, missing = [], []
    for entry in needed:
        known = found.get(entry["concept_uri"])
        if known is None:
            missing.append(entry)
            continue
        level, skill = known
        have.append(entry | {"evidence": level, "skill_id": str(skill.id) if skill is not None else None,
                             "skill_name": skill.name if skill is not None else ""})
    return {"have": have, "missing": missing}


def trainings_for(session: Session, missing: list[dict], *, limit: int = 10, today: date | None = None) -> list[dict]:
    """Catalogue trainings covering missing skills, those that close the most first (then the soonest).

    ``[{"training": Training, "closes": [entry of ``missing``, ...]}]``. Trainings already over are left out.
    """
    uris = [entry["concept_uri"] for entry in missing]
    if not uris:
        return []
    today = today or utcnow().date()
    covered = func.count(TrainingSkill.concept_uri)
    rows = session.execute(
        select(TrainingSkill.training_id, covered).join(Training, Training.id == TrainingSkill.training_id)
        .where(TrainingSkill.concept_uri.in_(uris), or_(Training.end_date.is_(None), Training.end_date >= today),
               or_(Training.start_date.is_(None), Training.end_date.is_not(None), Training.start_date >= today))
        .group_by(TrainingSkill.training_id).order_by(covered.desc()).limit(limit * 3)).all()
    if not rows:
        return []
    trainings = {t.id: t for t in session.scalars(select(Training).where(Training.id.in_([r[0] for r in rows])))}
    by_uri = {entry["concept_uri"]: entry for entry in missing}
    result = []
    for training_id, _count in rows:
        training = trainings[training_id]
        closes = [by_uri[uri] for uri in dict.fromkeys(training.skill_uris or ()) if uri in by_uri]
        result.append({"training": training, "closes": closes})
    result.sort(key=lambda entry: (-len(entry["closes"]), entry["training"].start_date or date.max,
                                   entry["training"].title, str(entry["training"].id)))
    return result[:limit]


def counsellor_grants(session: Session, user: User, portfolio_id) -> list[Grant] | None:
    """None for the owner (everything counts), else the user's active counsellor grants on the portfolio."""
    if policy.owns_portfolio(user, portfolio_id):
        return None
    return [grant for grant in policy.active_grants(user, portfolio_id)
            if policy.PLAN in policy.PATH_ROLE_ACTIONS.get(grant.role, ())]


# --- the action plan ------------------------------------------------------------------------------------

def _forbidden(message=None, code: str = "forbidden") -> Forbidden:
    return Forbidden(str(message or _l("You may not change this.")), code=code)


def _record(session: Session, hypothesis: Hypothesis, actor: User, role: str, action: str, *,
            item: PlanItem | None = None, details: dict | None = None) -> PlanEvent:
    event = PlanEvent(hypothesis_id=hypothesis.id, portfolio_id=hypothesis.portfolio_id,
                      item_id=item.id if item is not None else None, actor_id=actor.id, actor_label=_label(actor),
                      actor_role=role, action=action, details=details or {})
    session.add(event)
    session.flush()
    return event


def _role(user: User, hypothesis: Hypothesis) -> str:
    role = policy.path_role(user, hypothesis.portfolio_id)
    if role is None:
        raise _not_found()
    return role


def add_item(session: Session, user: User, hypothesis: Hypothesis, data: dict) -> PlanItem:
    """A goal, next step, appointment note or comment, by the owner or an invited counsellor.

    A counsellor's goal or step is a proposal: it waits for the owner's decision (``decide``). A note
    needs a body and takes a date (default today); a goal or step needs a title; a comment needs a body
    and may name the plan item it is about (``parent_id``).
    """
    role = _role(user, hypothesis)
    if not policy.can(user, policy.PLAN, hypothesis):
        raise _not_found()
    values = clean(ITEM_RULES, data)
    kind = values["kind"]
    title, body = values.get("title", ""), clean_text(data.get("body"), max_length=20000, required=False)
    if kind in ("goal", "step") and not title:
        raise _invalid("title", _l("This field is required."))
    if kind in ("note", "comment") and not body:
        raise _invalid("body", _l("This field is required."))
    parent = None
    if values.get("parent_id"):
        parent = session.get(PlanItem, policy.parse_id(values["parent_id"])) if policy.parse_id(values["parent_id"]) else None
        if parent is None or parent.hypothesis_id != hypothesis.id or kind != "comment":
            raise _invalid("parent_id", _l("A comment can only be about an item of the same plan."))
    count = session.scalar(select(func.count()).select_from(PlanItem).where(PlanItem.hypothesis_id == hypothesis.id))
    if count >= MAX_PLAN_ITEMS:
        raise ServiceError(str(_l("This plan is full.")), code="plan_full", status=409)
    item = PlanItem(hypothesis_id=hypothesis.id, portfolio_id=hypothesis.portfolio_id, kind=kind, title=title,
                    body=body, due_on=values.get("due_on") if kind in ("goal", "step") else None,
                    happened_on=(values.get("happened_on") or utcnow().date()) if kind == "note" else None,
                    status="open", author_id=user.id, author_label=_label(user), author_role=role,
                    acceptance="pending" if role == "counsellor" and kind in ("goal", "step") else "accepted",
                    parent_id=parent.id if parent is not None else None)
    session.add(item)
    session.flush()
    _record(session, hypothesis, user, role, "proposed" if item.acceptance == "pending" else "added", item=item,
            details={"kind": kind, "title": title})
    return item


def get_item(session: Session, user: User, item_id) -> PlanItem:
    key = policy.parse_id(item_id)
    item = session.get(PlanItem, key) if key is not None else None
    if item is None or not policy.can(user, policy.READ, item):
        raise _not_found()
    return item


def update_item(session: Session, user: User, item: PlanItem, data: dict) -> PlanItem:
    """Change a plan item. Its words (title, body, dates) only by their author; the status of an accepted
    goal or step only by the owner (the plan is theirs). A counsellor never changes what the owner wrote
    (``not_your_words``); a proposal is decided with ``decide``, not edited by the owner. A counsellor who
    rewords a goal or step the owner already accepted sends it back to ``pending``: the owner accepted
    those words, not the new ones, and decides again (freezing them would leave a typo for good)."""
    hypothesis = item.hypothesis
    role = _role(user, hypothesis)
    values = clean({name: rule for name, rule in ITEM_RULES.items() if name not in ("kind", "parent_id")},
                   data, partial=True)
    if "body" in data:
        values["body"] = clean_text(data.get("body"), max_length=20000, required=False)
    words = {name for name in ("title", "body", "due_on", "happened_on") if name in values}
    own_words = item.author_id == user.id and item.author_role == role
    if words and not own_words:
        raise _forbidden(_l("Only its author may change what this item says."), code="not_your_words")
    if "status" in values:
        if role != "owner":
            raise _forbidden(_l("Only the owner of the plan marks its goals done or dropped."), code="owner_only")
        if item.kind not in ("goal", "step") or item.acceptance != "accepted":
            raise _invalid("status", _l("Only an accepted goal or step has a status."))
    if item.kind in ("goal", "step") and "title" in values and not values["title"]:
        raise _invalid("title", _l("This field is required."))
    if item.kind in ("note", "comment") and "body" in values and not values["body"]:
        raise _invalid("body", _l("This field is required."))
    changes = {}
    for name in sorted(words | ({"status"} if "status" in values else set())):
        if (name == "due_on" and item.kind not in ("goal", "step")) or (name == "happened_on" and item.kind != "note"):
            continue
        old, new = getattr(item, name), values[name]
        if old != new:
            changes[name] = [old.isoformat() if isinstance(old, date) else old,
                             new.isoformat() if isinstance(new, date) else new]
            setattr(item, name, new)
    if (changes.keys() - {"status"} and role == "counsellor" and item.kind in ("goal", "step")
            and item.acceptance == "accepted"):
        item.acceptance = "pending"
        changes["acceptance"] = ["accepted", "pending"]
    if changes:
        item.updated_at = utcnow()
        session.flush()
        _record(session, hypothesis, user, role, "status_changed" if set(changes) == {"status"} else "edited",
                item=item, details={name: value for name, value in changes.items() if name != "body"}
                | {"fields": sorted(changes)})
    return item


def decide(session: Session, user: User, item: PlanItem, accept: bool) -> PlanItem:
    """The owner accepts or declines a counsellor's proposed goal or step."""
    hypothesis = item.hypothesis
    if _role(user, hypothesis) != "owner":
        raise _forbidden(_l("Only the owner of the plan accepts or declines a proposal."), code="owner_only")
    if item.acceptance != "pending":
        raise ServiceError(str(_l("This proposal was already decided.")), code="already_decided", status=409)
    item.acceptance = "accepted" if accept else "declined"
    item.updated_at = utcnow()
    session.flush()
    _record(session, hypothesis, user, "owner", "accepted" if accept else "declined", item=item,
            details={"title": item.title})
    return item


def plan(session: Session, user: User, hypothesis: Hypothesis) -> dict:
    """The plan as its pages show it: goals, steps, notes, comments (by item), pending proposals."""
    _role(user, hypothesis)
    shown = {"goals": [], "steps": [], "notes": [], "comments": [], "proposals": [], "declined": []}
    replies = defaultdict(list)
    for item in hypothesis.items:
        if item.kind == "comment" and item.parent_id is not None:
            replies[item.parent_id].append(item)
        elif item.acceptance == "pending":
            shown["proposals"].append(item)
        elif item.acceptance == "declined":
            shown["declined"].append(item)
        else:
            shown[item.kind + "s"].append(item)
    for key in ("goals", "steps"):
        shown[key].sort(key=lambda i: (i.status != "open", i.due_on or date.max, i.created_at))
    shown["notes"].sort(key=lambda i: (i.happened_on or date.min, i.created_at), reverse=True)
    shown["replies"] = replies
    return shown


def history(session: Session, user: User, hypothesis: Hypothesis, *, limit: int = 200) -> list[PlanEvent]:
    _role(user, hypothesis)
    return list(session.scalars(select(PlanEvent).where(PlanEvent.hypothesis_id == hypothesis.id)
                                .order_by(PlanEvent.created_at.desc(), PlanEvent.id).limit(limit)))



# --- the counsellor's workspace --------------------------------------------------------------------------

def counsellor_summary(session: Session, user: User, grant: Grant, *, today: date | None = None) -> dict:
    """What a counsellor follows on one portfolio: its hypotheses, the open goals and steps (soonest
    due first), those due within ``DUE_SOON`` or overdue, the proposals waiting for the owner, and the
    plan changes made by others since the counsellor last opened the shared portfolio."""
    if grant.grantee_id != user.id or not grant.is_active() or policy.PLAN not in policy.PATH_ROLE_ACTIONS.get(
            grant.role, ()):
        raise _not_found()
    today = today or utcnow().date()
    portfolio_id = grant.portfolio_id
    titles = dict(session.execute(select(Hypothesis.id, Hypothesis.title)
                                  .where(Hypothesis.portfolio_id == portfolio_id)).all())
    open_items = list(session.scalars(
        select(PlanItem).where(PlanItem.portfolio_id == portfolio_id, PlanItem.kind.in_(("goal", "step")),
                               PlanItem.status == "open", PlanItem.acceptance == "accepted")
        .order_by(PlanItem.due_on.is_(None), PlanItem.due_on, PlanItem.created_at).limit(50)))
    pending = session.scalar(select(func.count()).select_from(PlanItem).where(
        PlanItem.portfolio_id == portfolio_id, PlanItem.acceptance == "pending")) or 0
    since = grant.last_seen_at or grant.accepted_at
    changes = select(PlanEvent).where(PlanEvent.portfolio_id == portfolio_id, PlanEvent.created_at > since,
                                      or_(PlanEvent.actor_id.is_(None), PlanEvent.actor_id != user.id))
    return {
        "hypotheses": len(titles), "titles": titles, "open": open_items[:10], "open_count": len(open_items),
        "due_soon": [item for item in open_items if item.due_on is not None and item.due_on <= today + DUE_SOON],
        "overdue": sum(1 for item in open_items if item.due_on is not None and item.due_on < today),
        "pending": pending,
        "changes": list(session.scalars(changes.order_by(PlanEvent.created_at.desc()).limit(5))),
        "change_count": session.scalar(select(func.count()).select_from(changes.subquery())) or 0,
    }
