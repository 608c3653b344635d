"""Organisation pages: request, admin decision (with e-mail), members, keys, tokens, achievements, public
profile and DID document; every refusal, and two organisations on every route."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.models import Achievement, Membership, Organisation, OrganisationToken
from app.services import achievements, orgs
from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_auth import english, outbox as parsed_outbox

ORG = {"name": "Lycée Exemple", "kind": "school", "contact_email": "contact@lycee.example",
       "website": "https://lycee.example"}
BADGE = {"name": "Secourisme", "description": "First aid.", "criteria_narrative": "Passed PSC1.",
         "kind": "Certificate"}
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478"
                    "9c6360606060000000050001a5f645400000000049454e44ae426082")


def outbox(app) -> list[str]:
    """Each mail as "To" and its plain text, after the responses are closed (as a server does)."""
    return [f"To: {m['To']}\n" + m.get_body(("plain",)).get_content() for m in parsed_outbox(app)]


@pytest.fixture
def client(app):
    return english(app)


def post(client, url, data, page=None, **kwargs):
    token = csrf_token(client.get(page or url))
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


@pytest.fixture
def two_orgs(app, make_user):
    """Two approved organisations, each with an admin and an issuer, and one achievement each."""
    made = {}
    for name in ("a", "b"):
        admin, issuer = make_user(f"admin-{name}@example.org"), make_user(f"issuer-{name}@example.org")
        org = orgs.create_organisation(db.session, policy.OPERATOR, {**ORG, "name": f"Org {name}"},
                                       admin=admin, approve=True)
        orgs.add_member(db.session, policy.OPERATOR, org, issuer.email, "issuer")
        badge = achievements.create(db.session, policy.OPERATOR, org, BADGE)
        made[name] = {"org": org, "admin": admin, "issuer": issuer, "badge": badge}
    db.session.commit()
    return made


def test_request_then_admin_approves_and_the_requester_is_told(app, client, make_user):
    make_user("person@example.org")
    admin = make_user("root@example.org", is_admin=True)
    login(client, "person@example.org")
    response = post(client, "/organisations/new", {**ORG, "logo": (io.BytesIO(PNG), "logo.png")},
                    content_type="multipart/form-data")
    assert response.status_code == 302, response.data[:2000]
    org = db.session.scalars(select(Organisation)).one()
    assert org.status == "pending" and org.logo_type == "image/png"
    told = outbox(app)  # the platform admins, not the requester
    assert len(told) == 1 and "root@example.org" in told[0] and f"/admin/organisations/{org.id}" in told[0]
    page = client.get(response.location)
    assert b"awaits a platform admin" in page.data and b"New achievement" not in page.data
    assert client.get(f"/issuers/{org.id}").status_code == 404
    assert client.get(f"/issuers/{org.id}/did.json").status_code == 404
    # the requester is no platform admin
    assert client.get("/admin/organisations").status_code == 404
    assert client.get(f"/admin/organisations/{org.id}/logo").status_code == 404
    assert client.post(f"/admin/organisations/{org.id}",
                       data={"decision": "approve", "csrf_token": csrf_token(page)}).status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(page)})

    login(client, admin.email)
    review = client.get(f"/admin/organisations/{org.id}")
    assert f"/admin/organisations/{org.id}/logo".encode() in review.data
    logo = client.get(f"/admin/organisations/{org.id}/logo")
    assert logo.mimetype == "image/png" and "default-src 'none'" in logo.headers["Content-Security-Policy"]
    listing = client.get("/admin/organisations")
    assert b"Lyc" in listing.data
    response = post(client, f"/admin/organisations/{org.id}", {"decision": "approve"})
    assert response.status_code == 302
    db.session.refresh(org)
    assert org.status == "approved"
    mails = outbox(app)[1:]
    assert len(mails) == 1 and "person@example.org" in mails[0]
    assert "est approuvé" in mails[0]  # in the requester's language (French by default)
    # an admin cannot read the organisation's own page, nor act in it
    assert client.get(f"/organisations/{org.id}").status_code == 404
    public = client.get(f"/issuers/{org.id}")
    assert public.status_code == 200 and b"Lyc" in public.data
    did = client.get(f"/issuers/{org.id}/did.json")
    assert did.status_code == 200 and did.json["id"] == org.did == f"did:web:localhost:issuers:{org.id}"
    assert did.json["@context"] == ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
    logo = client.get(f"/issuers/{org.id}/logo")
    assert logo.status_code == 200 and logo.mimetype == "image/png"
    assert "default-src 'none'" in logo.headers["Content-Security-Policy"]


def test_refusal_needs_a_reason_and_is_mailed(app, client, make_user):
    person = make_user("person@example.org")
    admin = make_user("root@example.org", is_admin=True)
    org = orgs.create_organisation(db.session, person, ORG, admin=person)
    db.session.commit()
    login(client, admin.email)
    url = f"/admin/organisations/{org.id}"
    assert post(client, url, {"decision": "refuse", "reason": ""}).status_code == 422
    assert post(client, url, {"decision": "refuse", "reason": "Unknown school."}).status_code == 302
    db.session.refresh(org)
    assert org.status == "refused" and org.refusal_reason == "Unknown school."
    assert "Unknown school." in outbox(app)[-1]
    # decided: no second decision
    token = csrf_token(client.get(url))
    assert client.post(url, data={"decision": "approve", "csrf_token": token}).status_code == 403


def test_an_unverified_person_cannot_request(app, client, make_user):
    make_user("new@example.org", verified=False)
    login(client, "new@example.org")
    assert client.get("/organisations/new").status_code == 302


def test_bad_request_form_and_a_hostile_svg_logo(app, client, make_user):
    make_user("person@example.org")
    login(client, "person@example.org")
    response = post(client, "/organisations/new", {**ORG, "kind": "castle", "contact_email": "nope"})
    assert response.status_code == 422
    hostile = (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script>'
               b'<rect width="5" height="5"/></svg>')
    response = post(client, "/organisations/new", {**ORG, "logo": (io.BytesIO(hostile), "x.svg")},
                    page="/organisations/new", content_type="multipart/form-data")
    assert response.status_code == 422 and b"unsafe_svg" in response.data
    clean = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="5" height="5" fill="#123"/></svg>'
    response = post(client, "/organisations/new", {**ORG, "logo": (io.BytesIO(clean), "x.svg")},
                    page="/organisations/new", content_type="multipart/form-data")
    assert response.status_code == 302
    org = db.session.scalars(select(Organisation)).one()
    assert org.logo_type == "image/svg+xml" and b"<rect" in org.logo
    response = post(client, "/organisations/new", {**ORG, "logo": (io.BytesIO(b"not an image"), "x.png")},
                    page="/organisations/new", content_type="multipart/form-data")
    assert response.status_code == 422 and b"unsupported_type" in response.data


def test_members_page_roles_and_last_admin(app, client, two_orgs, make_user):
    a = two_orgs["a"]
    make_user("newcomer@example.org")
    login(client, a["admin"].email)
    url = f"/organisations/{a['org'].id}"
    page = client.get(url)
    assert page.status_code == 200 and b"Rotate the key" in page.data and b"issuer-a@example.org" in page.data
    assert post(client, f"{url}/members", {"email": "newcomer@example.org", "role": "issuer"},
                page=url).status_code == 302
    # An address without an account is invited the same way: the answer never tells whether it has one.
    ghost = post(client, f"{url}/members", {"email": "ghost@example.org", "role": "issuer"}, page=url)
    assert ghost.status_code == 302
    own = db.session.scalars(select(Membership).where(Membership.user_id == a["admin"].id)).one()
    response = post(client, f"{url}/members/{own.id}/remove", {}, page=url, follow_redirects=True)
    assert b"at least one admin" in response.data
    assert db.session.get(Membership, own.id) is not None
    # another organisation's membership id through this organisation: 404
    other = db.session.scalars(select(Membership).where(Membership.user_id == two_orgs["b"]["issuer"].id)).one()
    assert post(client, f"{url}/members/{other.id}/remove", {}, page=url).status_code == 404


def test_an_issuer_sees_but_cannot_manage(app, client, two_orgs):
    a = two_orgs["a"]
    login(client, a["issuer"].email)
    url = f"/organisations/{a['org'].id}"
    page = client.get(url)
    assert page.status_code == 200 and b"Rotate the key" not in page.data and b"Create the token" not in page.data
    token = csrf_token(client.get("/organisations"))
    for path in ("/members", "/keys/rotate", "/tokens"):
        assert client.post(url + path, data={"csrf_token": token, "email": "x@example.org", "role": "admin",
                                             "name": "x"}).status_code == 403, path
    assert client.get(f"{url}/achievements/new").status_code == 403
    assert client.get(f"{url}/achievements/{a['badge'].id}/edit").status_code == 403


def test_every_route_refuses_the_other_organisation(app, client, two_orgs):
    """Admin of A, on B's objects: 404 everywhere (B's ids reveal nothing), A's own work."""
    a, b = two_orgs["a"], two_orgs["b"]
    login(client, a["admin"].email)
    token = csrf_token(client.get("/organisations"))
    org_b = f"/organisations/{b['org'].id}"
    member_b = db.session.scalars(select(Membership).where(Membership.organisation_id == b["org"].id)).first()
    for method, path in (("get", org_b), ("post", f"{org_b}/members"), ("post", f"{org_b}/keys/rotate"),
                         ("post", f"{org_b}/tokens"), ("post", f"{org_b}/members/{member_b.id}/role"),
                         ("post", f"{org_b}/members/{member_b.id}/remove"),
                         ("get", f"{org_b}/achievements/new"),
                         ("get", f"{org_b}/achievements/{b['badge'].id}/edit"),
                         # B's achievement through A's organisation
                         ("get", f"/organisations/{a['org'].id}/achievements/{b['badge'].id}/edit")):
        response = getattr(client, method)(path, data={"csrf_token": token, "role": "admin", "name": "x",
                                                       "email": a["admin"].email})
        assert response.status_code == 404, (method, path, response.status_code)
    tok, _raw = orgs.create_token(db.session, b["admin"], b["org"], "b-token")
    db.session.commit()
    assert client.post(f"/organisations/{a['org'].id}/tokens/{tok.id}/revoke",
                       data={"csrf_token": token}).status_code == 404
    assert db.session.get(OrganisationToken, tok.id).revoked_at is None


def test_tokens_shown_once_then_revoked(app, client, two_orgs):
    a = two_orgs["a"]
    login(client, a["admin"].email)
    url = f"/organisations/{a['org'].id}"
    response = post(client, f"{url}/tokens", {"name": "SIS"}, page=url)
    assert response.status_code == 302
    shown = client.get(url)
    raw = shown.data.split(b'id="new-token"')[1].split(b'value="')[1].split(b'"')[0].decode()
    assert raw.startswith("silo_") and orgs.organisation_for_token(raw).id == a["org"].id
    db.session.commit()  # its last use is written
    assert raw.encode() not in client.get(url).data  # never again
    token = db.session.scalars(select(OrganisationToken)).one()
    assert post(client, f"{url}/tokens/{token.id}/revoke", {}, page=url).status_code == 302
    db.session.expire_all()
    assert orgs.organisation_for_token(raw) is None


def test_key_rotation_keeps_old_keys_in_the_did_document(app, client, two_orgs):
    a = two_orgs["a"]
    login(client, a["admin"].email)
    url = f"/organisations/{a['org'].id}"
    first = client.get(f"/issuers/{a['org'].id}/did.json").json
    assert post(client, f"{url}/keys/rotate", {}, page=url).status_code == 302
    second = client.get(f"/issuers/{a['org'].id}/did.json").json
    assert len(second["verificationMethod"]) == 2
    assert first["verificationMethod"][0] in second["verificationMethod"]


def test_did_document_is_revalidated_so_a_rotated_key_is_seen_at_once(app, client, two_orgs):
    """Right after a rotation, credentials and status lists are signed with the new key: a cache (or a
    verifier) that kept the DID document for minutes would fail them. So the document is cached only
    with revalidation (``no-cache`` + ETag): cheap when unchanged, never stale."""
    a = two_orgs["a"]
    login(client, a["admin"].email)
    url = f"/organisations/{a['org'].id}"
    first = client.get(f"/issuers/{a['org'].id}/did.json")
    assert "no-cache" in first.headers["Cache-Control"] and "max-age=300" not in first.headers["Cache-Control"]
    etag = first.headers["ETag"]
    assert client.get(f"/issuers/{a['org'].id}/did.json", headers={"If-None-Match": etag}).status_code == 304
    assert post(client, f"{url}/keys/rotate", {}, page=url).status_code == 302
    after = client.get(f"/issuers/{a['org'].id}/did.json", headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["ETag"] != etag
    assert len(after.json["verificationMethod"]) == 2


def test_achievement_create_edit_and_public_pages(app, client, two_orgs):
    a = two_orgs["a"]
    login(client, a["admin"].email)
    url = f"/organisations/{a['org'].id}/achievements/new"
    bad = post(client, url, {"name": "X", "description": "Y", "kind": "Certificate"})
    assert bad.status_code == 422 and b"criteria" in bad.data
    response = post(client, url, {"name": "Délégué de classe", "description": "Élu par la classe.",
                                  "criteria_narrative": "Être élu.", "kind": "CoCurricular",
                                  "tags": "citoyenneté, vie scolaire", "validity_months": "12",
                                  "alignments": "Engagement | https://example.org/engagement | Socle",
                                  "image": (io.BytesIO(PNG), "b.png")}, content_type="multipart/form-data")
    assert response.status_code == 302, response.data[:3000]
    assert "The achievement “Délégué de classe” is created." in client.get(response.location).get_data(as_text=True)
    badge = db.session.scalars(select(Achievement).where(Achievement.name == "Délégué de classe")).one()
    assert badge.tags == ["citoyenneté", "vie scolaire"] and badge.validity_months == 12
    assert badge.alignments == [{"target_name": "Engagement", "target_url": "https://example.org/engagement",
                                 "target_framework": "Socle"}]
    edit = f"/organisations/{a['org'].id}/achievements/{badge.id}/edit"
    assert b"vie scolaire" in client.get(edit).data
    assert post(client, edit, {"name": "Délégué", "description": "Élu.", "criteria_narrative": "Être élu.",
                               "kind": "CoCurricular", "tags": ""}).status_code == 302
    db.session.refresh(badge)
    assert badge.name == "Délégué" and badge.tags == [] and badge.image_type == "image/png"
    base = f"/issuers/{a['org'].id}/achievements/{badge.id}"
    assert b"D\xc3\xa9l\xc3\xa9gu\xc3\xa9" in client.get(base).data
    doc = client.get(base + ".json").json
    assert doc["id"] == "http://localhost" + base and doc["achievementType"] == "CoCurricular"
    assert client.get(base + "/image").mimetype == "image/png"
    default = client.get(f"/issuers/{a['org'].id}/achievements/{a['badge'].id}/image")
    assert default.mimetype == "image/svg+xml" and b"<svg" in default.data
    # B's achievement under A's public address: 404
    assert client.get(f"/issuers/{a['org'].id}/achievements/{two_orgs['b']['badge'].id}").status_code == 404
    assert client.get("/issuers/not-an-id/did.json").status_code == 404
    assert client.get("/issuers/not-an-id/did.json").json["error"] == "not_found"


def test_did_key_organisation_has_no_did_json(app, client, make_user):
    admin = make_user()
    org = orgs.create_organisation(db.session, policy.OPERATOR, ORG, admin=admin, approve=True, did_key=True)
    db.session.commit()
    assert client.get(f"/issuers/{org.id}").status_code == 200
    assert client.get(f"/issuers/{org.id}/did.json").status_code == 404


def test_edit_details_admin_only_and_never_another_organisation(app, client, two_orgs):
    a, b = two_orgs["a"], two_orgs["b"]
    login(client, a["issuer"].email)
    assert client.get(f"/organisations/{a['org'].id}/edit").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/organisations"))})
    login(client, a["admin"].email)
    assert client.get(f"/organisations/{b['org'].id}/edit").status_code == 404
    url = f"/organisations/{a['org'].id}/edit"
    assert b"Org a" in client.get(url).data
    assert post(client, url, {**ORG, "name": ""}).status_code == 422
    assert post(client, url, {**ORG, "name": "Org A renamed", "description": "Hello"}).status_code == 302
    db.session.refresh(a["org"])
    assert a["org"].name == "Org A renamed" and a["org"].description == "Hello"
    assert orgs.issuer_profile(a["org"])["name"] == "Org A renamed"


def test_lists_show_my_organisations_and_tell_admins_what_awaits(app, client, two_orgs, make_user):
    person, root = make_user("p@example.org"), make_user("root@example.org", is_admin=True)
    orgs.create_organisation(db.session, person, ORG, admin=person)
    db.session.commit()
    login(client, root.email)
    page = client.get("/organisations")
    assert b"1 request awaits a decision" in page.data and b"Org a" not in page.data
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    login(client, two_orgs["a"]["issuer"].email)
    page = client.get("/organisations")
    assert b"Org a" in page.data and b"Org b" not in page.data and b"awaits a decision" not in page.data
