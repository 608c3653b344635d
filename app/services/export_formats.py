"""The open-standard files of an export, built from ``portfolio.json`` (``export_portfolio.build_portfolio``):
``leap2a.xml`` (LEAP2A 2010-07, for other e-portfolios such as Mahara) and ``clr.json`` (CLR 2.0).

Why from ``portfolio.json`` and not from the database: the three descriptions of one export then say
the same thing (a partial export's LEAP2A holds exactly the chosen items), and these functions are pure.
"""
from __future__ import annotations

import uuid
from typing import Any
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
LEAP2 = "http://terms.leapspecs.org/"
CATEGORIES = "http://wiki.leapspecs.org/2A/categories/"
LEAP2A_VERSION = "http://www.leapspecs.org/2010-07/2A/"
# LEAP2A's "life_area" categories for the kinds of experience that have one.
LIFE_AREAS = {"job": "Employment", "internship": "Employment", "education": "Education",
              "volunteering": "Voluntary_work", "family": "Family", "sport": "Leisure", "culture": "Leisure"}

CLR_CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
                "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]

# The prefixes LEAP2A's examples use. Written literally (``_qualified``) and declared on the root, rather
# than with ``ET.register_namespace``, whose map is process-wide: registering Atom as the default namespace
# there would move any other code's unqualified elements into Atom.
PREFIXES = {ATOM: "", RDF: "rdf:", LEAP2: "leap2:"}


def _qualified(name: str) -> str:
    """``{namespace}local`` as the prefixed name this file declares (``leap2:date``; Atom's unprefixed)."""
    if name.startswith("{"):
        namespace, local = name[1:].split("}", 1)
        return PREFIXES[namespace] + local
    return name


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes) -> ET.Element:
    element = ET.SubElement(parent, _qualified(tag),
                            {_qualified(k): v for k, v in attributes.items() if v is not None})
    if text is not None:
        element.text = text
    return element


def _entry(feed: ET.Element, item_id: str, leap_type: str, title: str, updated: str, content: str) -> ET.Element:
    entry = _sub(feed, f"{{{ATOM}}}entry")
    _sub(entry, f"{{{ATOM}}}id", f"urn:uuid:{item_id}")
    _sub(entry, f"{{{ATOM}}}title", title or "—")
    _sub(entry, f"{{{ATOM}}}updated", updated)
    _sub(entry, f"{{{ATOM}}}content", content, type="text")
    _sub(entry, f"{{{RDF}}}type", **{f"{{{RDF}}}resource": f"leap2:{leap_type}"})
    return entry


def _date(entry: ET.Element, point: str, value: str | None) -> None:
    if value:
        _sub(entry, f"{{{LEAP2}}}date", value, **{f"{{{LEAP2}}}point": point})


def _link(entry: ET.Element, rel: str, other_id: str) -> None:
    _sub(entry, f"{{{ATOM}}}link", rel=f"leap2:{rel}", href=f"urn:uuid:{other_id}")


def _person_data(person: ET.Element, profile: dict) -> None:
    """The owner's contact details in LEAP2A's own vocabulary (``leap2:persondata`` fields and
    ``leap2:spatial``, as Mahara, LEAP2A's reference implementation, writes and reads them), so that
    another e-portfolio, and Sillage's importer (app/importers/leap2a.py), read them back. Sillage has
    one display name, which is what LEAP2A's ``preferred_given_name`` carries (Mahara's "preferred
    name", shown instead of the legal names); one phone, written as ``mobile`` (LEAP2A has no plain
    "phone"); and a free-text place, which is an ``addressline`` of ``leap2:spatial``."""
    for field, value in (("preferred_given_name", profile.get("display_name")),
                         ("email", profile.get("contact_email")), ("mobile", profile.get("phone")),
                         ("website", profile.get("website"))):
        if value:
            _sub(person, f"{{{LEAP2}}}persondata", value, **{f"{{{LEAP2}}}field": field})
    if profile.get("location"):
        _sub(_sub(person, f"{{{LEAP2}}}spatial"), f"{{{LEAP2}}}addressline", profile["location"])


def leap2a(data: dict) -> bytes:
    """The portfolio as a LEAP2A feed: the owner (``person``), experiences (``activity``, with their life
    area), diplomas (``achievement``), skills (``ability``), journal entries (``entry``) and documents
    (``resource``, the file as ``link rel="enclosure"`` to its path in the ZIP), joined by LEAP2A's
    relationships (an experience ``is_evidence_of`` its skills; an item ``has_evidence`` its documents)."""
    profile = data.get("profile") or {}
    account = data["account"]
    updated = data["exported_at"]
    feed = ET.Element("feed", {"xmlns": ATOM, "xmlns:rdf": RDF, "xmlns:leap2": LEAP2,
                               # used only inside attribute values (``scheme="categories:life_area#"``)
                               "xmlns:categories": CATEGORIES})
    _sub(feed, f"{{{LEAP2}}}version", LEAP2A_VERSION)
    _sub(feed, f"{{{ATOM}}}id", f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'sillage-export:' + account['email'])}")
    name = profile.get("display_name") or account["email"]
    _sub(feed, f"{{{ATOM}}}title", f"Sillage — {name}")
    author = _sub(feed, f"{{{ATOM}}}author")
    _sub(author, f"{{{ATOM}}}name", name)
    _sub(feed, f"{{{ATOM}}}updated", updated)
    if profile:
        person = _entry(feed, str(uuid.uuid5(uuid.NAMESPACE_URL, "sillage-person:" + account["email"])), "person",
                        name, updated, profile.get("bio", ""))
        _person_data(person, profile)
    for item in data["experiences"]:
        text = "\n\n".join(part for part in (", ".join(p for p in (item["organisation"], item["place"]) if p),
                                             item["description"]) if part)
        entry = _entry(feed, item["id"], "activity", item["title"], item["updated_at"], text)
        if item["kind"] in LIFE_AREAS:
            _sub(entry, f"{{{ATOM}}}category", term=LIFE_AREAS[item["kind"]], scheme="categories:life_area#")
        _date(entry, "start", item["start_date"])
        _date(entry, "end", item["end_date"])
        for skill_id in item["skill_ids"]:
            _link(entry, "is_evidence_of", skill_id)
        for document_id in item["evidence"]:
            _link(entry, "has_evidence", document_id)
    for item in data["diplomas"]:
        text = "\n".join(p for p in (item["awarding_body"], item["level"], item["reference"]) if p)
        entry = _entry(feed, item["id"], "achievement", item["title"], updated, text)
        _date(entry, "end", item["awarded_on"])
        for document_id in item["evidence"]:
            _link(entry, "has_evidence", document_id)
    for item in data["skills"]:
        entry = _entry(feed, item["id"], "ability", item["name"], updated, item["description"])
        for document_id in item["evidence"]:
            _link(entry, "has_evidence", document_id)
    for item in data["journal"]:
        _entry(feed, item["id"], "entry", item["title"], item["updated_at"], item["body"])
    for item in data["documents"]:
        entry = _entry(feed, item["id"], "resource", item["name"], item["updated_at"], item["description"])
        _sub(entry, f"{{{ATOM}}}link", rel="enclosure", href=item["file"], type=item["content_type"],
             length=str(item["size"]))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _types(document: Any) -> list:
    value = document.get("type") if isinstance(document, dict) else None
    return value if isinstance(value, list) else [value]


def _member(credential: dict, jws: str | None) -> tuple[dict | None, str | None]:
    """One credential as ``verifiableCredential`` may hold it, or why it is left out.

    A credential with an embedded proof goes in as issued. A VC-JWT was decoded at import, so its
    document has no proof: it goes in as VC 2.0's ``EnvelopedVerifiableCredential`` (the compact JWS in
    a ``data:application/vc+jwt`` URL, VC-JOSE-COSE), the form that keeps the issuer's signature. A
    VC 1.1-style JWT (the credential in a ``vc`` claim) has no such media type, and a document with
    neither a proof nor a JWS cannot be checked by anyone: both are left out, with the reason given."""
    if jws is not None:
        from badges.formats import decode_jws  # noqa: PLC0415

        _header, payload = decode_jws(jws)
        if isinstance(payload, dict) and "@context" in payload:
            return {"@context": CLR_CONTEXTS[:1], "id": f"data:application/vc+jwt,{jws}",
                    "type": "EnvelopedVerifiableCredential"}, None
        return None, "vc_1_1_jwt"
    if "proof" not in credential:
        return None, "no_proof"
    return credential, None


def clr_credential(data: dict, *, issuer: dict, clr_id: str,
                   jws: dict[str, str] | None = None) -> tuple[dict | None, list[dict]]:
    """A CLR 2.0 ``ClrCredential`` holding the owner's OB 3.0 achievement credentials, each in a form
    that stays verifiable on its own (``_member``: as issued with its proof, or enveloped when it came as
    a VC-JWT, whose compact JWS ``jws`` gives by entry id), with their achievements; and the entries
    left out with their reason (``{"id", "reason"}``), for the manifest. The record is ``None`` when no
    member remains (``verifiableCredential`` needs at least one). Unsigned here: ``sign_clr`` signs it.
    ``issuer`` is the platform's profile; ``credentialSubject.id`` is left out (the owner has no DID here).
    """
    jws = jws or {}
    members, achievements, left_out = [], [], []
    for entry in data["credentials"]:
        credential = entry["credential"]
        if not (isinstance(credential, dict)
                and {"AchievementCredential", "OpenBadgeCredential"} & set(_types(credential))):
            continue
        member, reason = _member(credential, jws.get(str(entry["id"])))
        if member is None:
            left_out.append({"id": str(entry["id"]), "reason": reason})
            continue
        members.append(member)
        subject = credential.get("credentialSubject")
        achievement = subject.get("achievement") if isinstance(subject, dict) else None
        if isinstance(achievement, dict) and achievement not in achievements:
            achievements.append(achievement)
    if not members:
        return None, left_out
    name = (data.get("profile") or {}).get("display_name") or data["account"]["email"]
    return {
        "@context": CLR_CONTEXTS,
        "id": clr_id,
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": issuer,
        "validFrom": data["exported_at"],
        "name": f"Comprehensive Learner Record — {name}",
        "credentialSubject": {"type": ["ClrSubject"], "verifiableCredential": members,
                              "achievement": achievements},
    }, left_out


def sign_clr(clr: dict, key_pair) -> tuple[dict, str | None]:
    """The record signed ``eddsa-rdfc-2022`` by the platform's key (as the platform signs attestations),
    canonicalised with the bundled CLR 2.0 context (``badges/contexts``, never fetched), and ``None``; or
    the record unsigned and the signer's error code. The platform vouches only that this record gathers
    these credentials as this instance held them on that day; each credential inside carries its own
    issuer's proof. Should a credential inside use a term or context no bundled context defines (a badge
    brought from elsewhere, VC 1.1 contexts), the signer refuses (``certs.errors.CertsError``: it never
    signs what it would drop) and the record goes unsigned (``proof`` is optional in CLR 2.0): the caller
    tells the owner in the manifest. Any other error is a bug and is not hidden."""
    import certs  # noqa: PLC0415 - only exports sign records
    from badges.loader import document_loader  # noqa: PLC0415
    from certs.errors import CertsError  # noqa: PLC0415

    try:
        return certs.sign(clr, key_pair, document_loader()), None
    except CertsError as error:
        return clr, error.code
