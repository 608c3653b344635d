"""Open Badges 2.0 hosted assertions: the assertion, badge class and issuer profile served at their ids
are the authority (there is no signature, so no JSON-LD processing)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..formats import as_list
from .reading import _id_of
from .report import Failure
from .session import _SKEW_SECONDS, _Session, _show, parse_datetime

_ABSENT = object()


def _differs(presented: Mapping, authority: Mapping, linked: tuple[str, ...] = ()) -> str | None:
    """The first field of ``presented`` that ``authority`` (the document served at its id) does not say
    the same way, or None. Fields named in ``linked`` may carry the linked document itself rather than its
    URL: they are compared by id here, and field by field when that document is fetched."""
    for field, value in presented.items():
        if field in linked:
            if _id_of(value) != _id_of(authority.get(field)):
                return field
        elif authority.get(field, _ABSENT) != value:
            return field
    return None


def verify_ob2(session: _Session, presented: dict) -> None:
    """Hosted verification (OB 2.0 section "Hosted verification"): the assertion served at its ``id`` is
    the authority; it must match what was presented, name a BadgeClass whose issuer Profile is served,
    and live on an origin that issuer allows. There is no signature, so no JSON-LD processing."""
    state: dict[str, Any] = {}
    if not session.step("hosted", lambda: _ob2_hosted(session, presented, state)):
        return
    if state["assertion"].get("revoked") is True:
        session.step("status", lambda: _ob2_status(session, state))  # a revoked stub names nothing else
        return
    if not session.step("badge_class", lambda: _ob2_badge_class(session, state)):
        return
    if not session.step("issuer", lambda: _ob2_issuer(session, state)):
        return
    session.step("validity", lambda: _ob2_validity(session, state["assertion"]))
    session.step("status", lambda: _ob2_status(session, state))


def _https_url(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(("https://", "http://")) and len(value) < 2048


def _ob2_hosted(session: _Session, presented: dict, state: dict):
    verification = presented.get("verification")
    method = verification.get("type") if isinstance(verification, Mapping) else None
    if method not in (None, "hosted", "HostedBadge"):
        raise Failure("unsupported_format", format=f"Open Badges 2.0 {method}")
    url = presented.get("id")
    if not _https_url(url):
        raise Failure("ob2_invalid", reason="the assertion id is not an https URL")
    hosted = session.fetch(url, "hosted_unavailable")
    if not isinstance(hosted, dict):
        raise Failure("hosted_unavailable", reason="not a JSON object")
    if hosted.get("id") != url:
        raise Failure("hosted_mismatch", field="id")
    state["assertion"] = hosted
    state["url"] = url
    if hosted.get("revoked") is True:
        return "hosted", {"url": url}  # the status check reports it; a revoked stub carries nothing else
    # Every field presented must be what the issuer hosts: a copy may leave fields out, never change one
    # (a forged narrative or evidence would otherwise ride along with a genuine assertion).
    field = _differs(presented, hosted, linked=("badge",))
    if field is not None:
        raise Failure("hosted_mismatch", field=field)
    if "badge" not in presented:
        raise Failure("ob2_invalid", reason="the assertion names no badge")
    if isinstance(presented["badge"], Mapping):
        state["presented_badge"] = presented["badge"]
    recipient = hosted.get("recipient")
    if not isinstance(recipient, Mapping) or not recipient.get("identity") or "issuedOn" not in hosted:
        raise Failure("ob2_invalid", reason="recipient and issuedOn are required")
    return "hosted", {"url": url}


def _ob2_badge_class(session: _Session, state: dict):
    assertion = state["assertion"]
    badge_url = _id_of(assertion.get("badge"))
    if not _https_url(badge_url):
        raise Failure("ob2_invalid", reason="the badge is not an https URL")
    badge = session.fetch(badge_url, "badge_class_unavailable")
    if not isinstance(badge, Mapping) or badge.get("id") != badge_url:
        raise Failure("ob2_inconsistent", reason="the badge class is not the one the assertion names")
    if "BadgeClass" not in as_list(badge.get("type")):
        raise Failure("ob2_inconsistent", reason="the badge is not a BadgeClass")
    embedded = state.get("presented_badge")
    if embedded is not None:
        field = _differs(embedded, badge, linked=("issuer",))
        if field is not None:
            raise Failure("hosted_mismatch", field=f"badge.{field}")
        if isinstance(embedded.get("issuer"), Mapping):
            state["presented_issuer"] = embedded["issuer"]
    state["badge"] = badge
    return "badge_class", {"name": badge.get("name") or badge_url}


def _ob2_issuer(session: _Session, state: dict):
    issuer_url = _id_of(state["badge"].get("issuer"))
    if not _https_url(issuer_url):
        raise Failure("ob2_invalid", reason="the badge class names no issuer URL")
    issuer = session.fetch(issuer_url, "issuer_unavailable")
    if not isinstance(issuer, Mapping) or issuer.get("id") != issuer_url:
        raise Failure("ob2_inconsistent", reason="the issuer profile is not the one the badge class names")
    if not {"Issuer", "Profile"} & set(as_list(issuer.get("type"))):
        raise Failure("ob2_inconsistent", reason="the issuer is not a Profile")
    if not _origin_allowed(state["url"], issuer_url, issuer.get("verification")):
        raise Failure("ob2_inconsistent", reason="the assertion is not hosted where its issuer allows")
    embedded = state.get("presented_issuer")
    if embedded is not None:
        field = _differs(embedded, issuer)
        if field is not None:
            raise Failure("hosted_mismatch", field=f"badge.issuer.{field}")
    state["issuer"] = issuer
    return None, {"issuer": issuer.get("name") or issuer_url}


def _origin_allowed(assertion_url: str, issuer_url: str, verification: Any) -> bool:
    """Same origin as the issuer, or an origin / URL prefix the issuer's ``verification`` allows."""
    assertion = urlsplit(assertion_url)
    issuer = urlsplit(issuer_url)
    if isinstance(verification, Mapping):
        starts = [p for p in as_list(verification.get("startsWith")) if isinstance(p, str)]
        origins = [o for o in as_list(verification.get("allowedOrigins")) if isinstance(o, str)]
        if starts:
            return any(assertion_url.startswith(prefix) for prefix in starts)
        if origins:
            return assertion.netloc.lower() in {origin.lower() for origin in origins}
    return (assertion.scheme, assertion.netloc.lower()) == (issuer.scheme, issuer.netloc.lower())


def _ob2_validity(session: _Session, assertion: Mapping):
    issued = parse_datetime(assertion.get("issuedOn"), "issuedOn", session.report)
    if (issued - session.now).total_seconds() > _SKEW_SECONDS:
        raise Failure("not_yet_valid", date=_show(issued))
    if "expires" in assertion:
        expires = parse_datetime(assertion["expires"], "expires", session.report)
        if expires <= session.now:
            raise Failure("expired", date=_show(expires))
    return None, {"now": _show(session.now)}


def _ob2_status(session: _Session, state: dict):
    """``revoked`` on the hosted assertion, and the issuer's revocation list when it publishes one."""
    if state["assertion"].get("revoked") is True:
        raise Failure("revoked")
    list_url = state["issuer"].get("revocationList")
    if list_url is None:
        return "status_none", {}
    if not _https_url(list_url):
        raise Failure("status_invalid", reason="revocationList is not a URL")
    revocations = session.fetch(list_url, "status_unavailable")
    if not isinstance(revocations, Mapping):
        raise Failure("status_invalid", reason="the revocation list is not a JSON object")
    for revoked in as_list(revocations.get("revokedAssertions")):
        if _id_of(revoked) == state["url"]:
            raise Failure("revoked")
    return None, {"list": list_url}
