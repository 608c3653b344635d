"""What a verification means and what the credential says, for people: the verdict and the summary.

:func:`verdict` turns a verifier result into one of three verdicts — ``verified``,
``verified_with_remarks`` (warnings), ``not_verified`` — and, when not verified, one stable *reason*
that a person can act on. It is a pure function of the result's error codes, so the page, the JSON API
and the CLI can never disagree, and a reader sees the reason in plain words before any technical check.

:func:`summarise` reads what a credential *says* (achievement, issuer, recipient, dates, image,
evidence, alignments, endorsements) from the document the verifier read — an OB 3.0 / VC credential, or
an OB 2.0 hosted assertion together with the badge class and issuer profile the verifier fetched — into
a small JSON object with stable keys. Texts that may be multilingual (a VC 2.0 language value object, a
list of them, or a language map) are given in the reader's language. Every value comes from an
untrusted document: strings are trimmed and capped, lists are capped (``omitted`` counts the rest),
links are kept only when they are http(s) URLs, images only as http(s) URLs or ``data:`` image URIs.
Nothing here fetches, renders or trusts anything: it is data for templates and clients, which must
still escape it (Markdown fields are marked as such and rendered by the app's sanitising renderer).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import messages
from .formats import as_list, document_version

# -- the verdict ---------------------------------------------------------------------------------------

VERIFIED = "verified"
VERIFIED_WITH_REMARKS = "verified_with_remarks"
NOT_VERIFIED = "not_verified"

# Reasons, most definite first: when several errors are found, the first reason in this order wins.
# "forged" means the signed content and what is shown differ (or someone else signed it); "unchecked"
# means Sillage could not finish (a key, a status list or a hosted document out of reach, a time or
# work budget, a format it cannot check): it is never a verdict of forgery.
REASONS = ("forged", "revoked", "suspended", "expired", "not_yet_valid", "invalid", "unchecked")

_REASON_OF_CODE = {
    # The signed content and what is shown differ, or someone else signed it.
    **dict.fromkeys(("bad_signature", "malformed_proof_value", "issuer_mismatch", "controller_mismatch",
                     "method_not_authorized", "method_not_authenticating", "holder_mismatch",
                     "hosted_mismatch", "unsafe_context", "jwt_key_mismatch", "jwt_key_not_bound",
                     "jwt_claim_mismatch"), "forged"),
    # A key its controller revoked: everything it signed is withdrawn with it.
    **dict.fromkeys(("revoked", "key_revoked"), "revoked"),
    "suspended": "suspended",
    **dict.fromkeys(("expired", "proof_expired", "key_expired", "jwt_expired"), "expired"),
    **dict.fromkeys(("not_yet_valid", "jwt_not_yet_valid"), "not_yet_valid"),
    # Sillage could not finish: never a verdict of forgery.
    **dict.fromkeys(("method_unresolvable", "status_unavailable", "status_invalid", "hosted_unavailable",
                     "badge_class_unavailable", "issuer_unavailable", "fetch_failed", "fetch_timeout",
                     "fetch_refused", "unsupported_cryptosuite", "unsupported_method", "unsupported_status",
                     "unsupported_format", "jwt_unsupported_type", "jwt_crit_unsupported", "jwt_no_key",
                     "internal_error", "verification_timeout",
                     # a context Sillage does not bundle: it cannot read the credential, never fetches
                     "unknown_context"), "unchecked"),
    # Not a usable credential at all: malformed, incomplete, or beyond what any real credential needs.
    **dict.fromkeys((
        "invalid_json", "too_large", "too_deep", "too_complex", "duplicate_key", "not_an_object",
        "unsupported_document", "no_badge", "invalid_image", "unsupported_image", "multiple_badges",
        "compressed_badge", "invalid_credential", "unreadable_input", "no_context",
        "undefined_term", "invalid_jsonld", "schema_invalid", "subject_unidentified", "not_a_credential",
        "no_proof", "malformed_proof", "wrong_proof_purpose", "jwt_invalid", "jwt_alg_refused",
        "jwt_private_key", "invalid_key", "no_issuer", "invalid_date", "ob2_inconsistent", "ob2_invalid",
        "not_a_presentation", "not_authentication", "wrong_challenge", "wrong_domain",
        "credential_not_verified", "invalid_envelope", "invalid_request", "missing_credential",
        "missing_presentation", "invalid_options", "unsupported_media_type"), "invalid"),
}
# Codes that only ever appear as warnings (remarks on a verified credential), never as failures.
WARNING_CODES = frozenset((
    "inline_context", "schema_warning", "schema_format", "schema_not_checked", "lax_proof_value",
    "date_without_timezone", "jwt_claim_missing", "status_not_checked", "challenge_not_checked",
    "presentation_unsigned", "unknown_option"))


def reason_of(code: str) -> str:
    """The reason a failure ``code`` stands for. Every code of :mod:`badges.messages` is placed above
    (a test holds it so); a code that is not is read as ``invalid`` rather than guessed at."""
    return _REASON_OF_CODE.get(code, "invalid")


def verdict(result: Mapping, locale: str = "en") -> dict:
    """``{"status", "reason", "title", "message"}`` for a verifier result (``reason`` None unless not
    verified). ``verified`` is trusted only together with the absence of errors."""
    errors = [e.get("code") for e in result.get("errors") or () if isinstance(e, Mapping)]
    errors += [c.get("code") for c in result.get("checks") or ()
               if isinstance(c, Mapping) and c.get("ok") is False]
    if result.get("verified") is True and not errors:
        status = VERIFIED_WITH_REMARKS if result.get("warnings") else VERIFIED
        reason = None
    else:
        status = NOT_VERIFIED
        found = {reason_of(str(code)) for code in errors if code}
        # Not verified with no error at all: a check did not run, so nothing can be said either way.
        reason = next((r for r in REASONS if r in found), "unchecked")
    title, message = messages.verdict_text(reason or status, locale)
    return {"status": status, "reason": reason, "title": title, "message": message}


# -- reading untrusted values --------------------------------------------------------------------------

MAX_TEXT = 5_000
MAX_SHORT = 300
MAX_ITEMS = 50
MAX_DATA_URI = 700_000  # a data: image above ~512 KB decoded is not summarised (nor shown)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_LANG_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml)(;[^,]*)?,", re.I)


def _clean(value: str, limit: int) -> str | None:
    text = _CONTROL.sub("", value).strip()
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _language_of(tag: Any) -> str:
    return str(tag or "").replace("_", "-").split("-", 1)[0].lower()


def _pick(options: list[tuple[str, str]], locale: str) -> str | None:
    """The text in the reader's language, else English, else one without a language, else the first."""
    if not options:
        return None
    wanted = _language_of(locale)
    for choice in (wanted, "en", ""):
        for language, text in options:
            if _language_of(language) == choice:
                return text
    return options[0][1]


def localised(value: Any, locale: str = "en", limit: int = MAX_TEXT) -> str | None:
    """A text from a plain string, a ``{"@value", "@language"}`` object, a list of them, or a language
    map (``{"en": "…", "fr": "…"}``), in the reader's language; None when there is no text."""
    options: list[tuple[str, str]] = []
    for item in as_list(value)[:MAX_ITEMS]:
        if isinstance(item, str):
            options.append(("", item))
        elif isinstance(item, Mapping) and isinstance(item.get("@value"), str):
            options.append((str(item.get("@language") or ""), item["@value"]))
        elif isinstance(item, Mapping) and item and all(
                isinstance(k, str) and _LANG_TAG.fullmatch(k) and isinstance(v, str)
                for k, v in item.items()):
            options.extend(item.items())
    picked = _pick(options, locale)
    return _clean(picked, limit) if picked is not None else None


def link(value: Any) -> str | None:
    """An http(s) URL that may be shown as a link; anything else (``javascript:``, relative) is None."""
    if isinstance(value, str) and re.match(r"https?://[^\s/?#]+", value, re.I) and len(value) <= 2048 \
            and not _CONTROL.search(value):
        return value
    return None


def identifier(value: Any) -> str | None:
    """An id (URL, DID, URN) shown as text."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return _clean(value, 500) if isinstance(value, str) else None


def image_ref(value: Any, locale: str = "en") -> dict | None:
    """``{"url": …}`` for an http(s) image or ``{"data": …}`` for a ``data:`` image URI (size-capped),
    with an optional ``caption``; None for anything else."""
    caption = None
    if isinstance(value, Mapping):
        caption = localised(value.get("caption"), locale, MAX_SHORT)
        value = value.get("id")
    if not isinstance(value, str):
        return None
    if value[:5].lower() == "data:":
        if len(value) > MAX_DATA_URI or not _DATA_IMAGE.match(value):
            return None
        ref = {"data": value}
    elif link(value):
        ref = {"url": value}
    else:
        return None
    if caption:
        ref["caption"] = caption
    return ref


def _drop_empty(mapping: dict) -> dict:
    return {k: v for k, v in mapping.items() if v not in (None, "", [], {})}


def _first(value: Any) -> Mapping:
    return next((item for item in as_list(value) if isinstance(item, Mapping)), {})


class _Capped:
    """Caps the lists of one summary and counts what was left out."""

    def __init__(self):
        self.omitted: dict[str, int] = {}

    def __call__(self, name: str, items: list) -> list:
        if len(items) > MAX_ITEMS:
            self.omitted[name] = self.omitted.get(name, 0) + len(items) - MAX_ITEMS
        return items[:MAX_ITEMS]


# -- summaries of the parts ------------------------------------------------------------------------------

def _profile(value: Any, locale: str) -> dict:
    if isinstance(value, str):
        return _drop_empty({"id": identifier(value), "url": link(value)})
    if not isinstance(value, Mapping):
        return {}
    email = value.get("email")
    return _drop_empty({
        "id": identifier(value.get("id")),
        "name": localised(value.get("name"), locale, MAX_SHORT),
        "url": link(value.get("url")),
        "email": _clean(email, 320) if isinstance(email, str) else None,
        "description": localised(value.get("description"), locale),
        "image": image_ref(value.get("image"), locale),
    })


def _alignments(values: Any, locale: str, cap: _Capped) -> list[dict]:
    items = [item for item in as_list(values) if isinstance(item, Mapping)]
    return [_drop_empty({
        "name": localised(item.get("targetName"), locale, MAX_SHORT),
        "url": link(item.get("targetUrl")),
        "description": localised(item.get("targetDescription"), locale),
        "framework": localised(item.get("targetFramework"), locale, MAX_SHORT),
        "code": localised(item.get("targetCode"), locale, MAX_SHORT),
    }) for item in cap("alignments", items)]


def _evidence(values: Any, locale: str, cap: _Capped) -> list[dict]:
    found = []
    for item in cap("evidence", [v for v in as_list(values) if isinstance(v, Mapping | str)]):
        if isinstance(item, str):
            found.append(_drop_empty({"id": identifier(item), "url": link(item)}))
            continue
        found.append(_drop_empty({
            "id": identifier(item.get("id")), "url": link(item.get("id")),
            "name": localised(item.get("name"), locale, MAX_SHORT),
            "description": localised(item.get("description"), locale),
            "narrative": localised(item.get("narrative"), locale),  # Markdown
            "genre": localised(item.get("genre"), locale, MAX_SHORT),
            "audience": localised(item.get("audience"), locale, MAX_SHORT),
        }))
    return [item for item in found if item]


def _endorsements(values: Any, locale: str, cap: _Capped, about: str) -> list[dict]:
    """Endorsements as they are stated (OB 3.0 EndorsementCredential, OB 2.0 Endorsement or its URL).
    They are *not* verified here: the page says so."""
    found = []
    for item in cap("endorsements", [v for v in as_list(values) if isinstance(v, Mapping | str)]):
        if isinstance(item, str):
            found.append(_drop_empty({"about": about, "id": identifier(item), "url": link(item)}))
            continue
        claim = _first(item.get("credentialSubject") or item.get("claim"))
        found.append(_drop_empty({
            "about": about,
            "id": identifier(item.get("id")),
            "issuer": _profile(item.get("issuer"), locale),
            "comment": localised(claim.get("endorsementComment"), locale),
            "date": _date(item.get("validFrom") or item.get("issuanceDate") or item.get("issuedOn")),
        }))
    return found


def _date(value: Any) -> str | None:
    return value if isinstance(value, str) and 4 <= len(value) <= 40 and not _CONTROL.search(value) else None


def _achievement(node: Mapping, locale: str) -> dict:
    """An OB 3.0 Achievement or an OB 2.0 BadgeClass (whose criteria may be just a URL)."""
    criteria = node.get("criteria")
    if not isinstance(criteria, Mapping):
        criteria = {"id": criteria}
    return _drop_empty({
        "id": identifier(node.get("id")),
        "name": localised(node.get("name"), locale, MAX_SHORT),
        "description": localised(node.get("description"), locale),
        "type": localised(node.get("achievementType"), locale, MAX_SHORT),
        "criteria": _drop_empty({"url": link(criteria.get("id")),
                                 "narrative": localised(criteria.get("narrative"), locale)}),
        "human_code": localised(node.get("humanCode"), locale, MAX_SHORT),
        "field_of_study": localised(node.get("fieldOfStudy"), locale, MAX_SHORT),
        "image": image_ref(node.get("image"), locale),
    })


def _identifiers(subject: Mapping) -> list[dict]:
    """OB 3.0 ``identifier`` (IdentityObject): hashed ones keep their hash and salt, so that a reader can
    check an address they know; plain ones keep their value."""
    found = []
    for item in as_list(subject.get("identifier"))[:MAX_ITEMS]:
        if not isinstance(item, Mapping) or not isinstance(item.get("identityHash"), str):
            continue
        found.append(_identity(item.get("identityType"), item.get("hashed"), item.get("identityHash"),
                               item.get("salt")))
    return found


def _identity(kind: Any, hashed: Any, value: str, salt: Any) -> dict:
    entry = {"type": _clean(kind, 100) if isinstance(kind, str) else None, "hashed": hashed is True}
    if hashed is True:
        entry["hash"] = _clean(value, 300)
        entry["salt"] = salt if isinstance(salt, str) and len(salt) <= 500 else None
    else:
        entry["value"] = _clean(value, 500)
    return _drop_empty(entry) | {"hashed": hashed is True}


# -- whole documents ---------------------------------------------------------------------------------------

def summarise(document: Any, locale: str = "en", *, kind: str | None = None,
              linked: Mapping[str, Any] | None = None) -> dict | None:
    """What ``document`` says, in the reader's language; None when it is not a credential or assertion.

    ``kind`` is the verifier's (``ob3``, ``vc2``, ``vc1``, ``ob2``), guessed when not given. ``linked``
    maps URLs to documents the verifier fetched (an OB 2.0 assertion's hosted copy, badge class and
    issuer), which are preferred to what the presented assertion embeds.
    """
    if not isinstance(document, Mapping):
        return None
    kind = kind or _guess_kind(document)
    if kind is None:
        return None
    cap = _Capped()
    if kind == "ob2":
        summary = _summarise_ob2(document, locale, linked or {}, cap)
    else:
        summary = _summarise_vc(document, locale, cap)
    summary = {"kind": kind, **_drop_empty(summary)}
    if cap.omitted:
        summary["omitted"] = cap.omitted
    return summary


def _guess_kind(document: Mapping) -> str | None:
    """``ob2`` or ``vc`` (any credential) from the document alone, for callers without a verifier run."""
    version = document_version(document)
    if version == "2.0":
        return "ob2"
    types = as_list(document.get("type"))
    return "ob3" if version == "3.0" else "vc" if "VerifiableCredential" in types else None


def _summarise_vc(document: Mapping, locale: str, cap: _Capped) -> dict:
    subject = _first(document.get("credentialSubject"))
    achievement = subject.get("achievement") if isinstance(subject.get("achievement"), Mapping) else {}
    issuer = _profile(document.get("issuer"), locale)
    name_identity = next((i for i in as_list(subject.get("identifier"))
                          if isinstance(i, Mapping) and i.get("identityType") == "name"
                          and i.get("hashed") is not True), {})
    recipient = _drop_empty({
        "id": identifier(subject.get("id")),
        "name": localised(subject.get("name"), locale, MAX_SHORT)
        or localised(name_identity.get("identityHash"), locale, MAX_SHORT),
        "identifiers": [i for i in _identifiers(subject) if i.get("type") != "name" or i["hashed"]],
    })
    vc1 = "issuanceDate" in document and "validFrom" not in document
    endorsements = (_endorsements(document.get("endorsement"), locale, cap, "credential")
                    + _endorsements(achievement.get("endorsement"), locale, cap, "achievement"))
    if isinstance(document.get("issuer"), Mapping):
        endorsements += _endorsements(document["issuer"].get("endorsement"), locale, cap, "issuer")
    return {
        "id": identifier(document.get("id")),
        "name": localised(document.get("name"), locale, MAX_SHORT),
        "description": localised(document.get("description"), locale),
        "achievement": _achievement(achievement, locale),
        "issuer": issuer,
        "recipient": recipient,
        "dates": _drop_empty({
            "valid_from": _date(document.get("issuanceDate" if vc1 else "validFrom")),
            "valid_until": _date(document.get("expirationDate" if vc1 else "validUntil")),
            "awarded": _date(document.get("awardedDate")),
            "activity_start": _date(subject.get("activityStartDate")),
            "activity_end": _date(subject.get("activityEndDate")),
        }),
        "image": image_ref(document.get("image"), locale) or image_ref(achievement.get("image"), locale),
        "evidence": _evidence(document.get("evidence"), locale, cap),
        "alignments": _alignments(achievement.get("alignment"), locale, cap),
        "endorsements": endorsements,
    }


def _linked(value: Any, linked: Mapping[str, Any]) -> Mapping:
    """The fetched document a reference names (or the embedded object itself)."""
    url = value.get("id") if isinstance(value, Mapping) else value
    fetched = linked.get(url) if isinstance(url, str) else None
    if isinstance(fetched, Mapping):
        return fetched
    return value if isinstance(value, Mapping) else {}


def _summarise_ob2(presented: Mapping, locale: str, linked: Mapping[str, Any], cap: _Capped) -> dict:
    assertion = _linked(presented, linked) or presented
    badge = _linked(assertion.get("badge") or presented.get("badge"), linked)
    issuer_doc = _linked(badge.get("issuer"), linked)
    recipient = assertion.get("recipient") if isinstance(assertion.get("recipient"), Mapping) else {}
    identity = recipient.get("identity")
    identifiers = []
    if isinstance(identity, str):
        kind = {"email": "emailAddress"}.get(recipient.get("type"), recipient.get("type"))
        identifiers.append(_identity(kind, recipient.get("hashed"), identity, recipient.get("salt")))
    issuer = _profile(issuer_doc or badge.get("issuer"), locale)
    return {
        "id": identifier(assertion.get("id")),
        "name": localised(badge.get("name"), locale, MAX_SHORT),
        "description": localised(assertion.get("narrative"), locale),
        "achievement": _achievement(badge, locale),
        "issuer": issuer,
        "recipient": _drop_empty({"identifiers": identifiers}),
        "dates": _drop_empty({"valid_from": _date(assertion.get("issuedOn")),
                              "valid_until": _date(assertion.get("expires"))}),
        "image": image_ref(assertion.get("image"), locale) or image_ref(badge.get("image"), locale),
        "evidence": _evidence(assertion.get("evidence"), locale, cap),
        "alignments": _alignments(badge.get("alignment"), locale, cap),
        "endorsements": (_endorsements(badge.get("endorsement"), locale, cap, "achievement")
                         + _endorsements(issuer_doc.get("endorsement"), locale, cap, "issuer")),
    }
