"""A web-issued credential's OB 2.0 hosted assertion and baked PNG pass 1EdTech's own OB 2.0 validator
(validator-core, tests/ob2validator.py), fetched from this application's real routes on 127.0.0.1; a
revoked one fails it."""
from __future__ import annotations

import pytest

from app import create_app
from app.extensions import db
from app.services import awarding
from tests import ob2validator
from tests.awarding_helpers import make_achievement, make_org
from tests.conftest import FreshClient, login, release_database
from tests.helpers import csrf_token

ob2_validator = ob2validator.ob2_validator


@pytest.fixture
def live_app(app_settings, ob2_validator):
    """The application served on 127.0.0.1, its BASE_URL that address (the documents' ids are under it)."""
    with ob2validator.LiveApp() as live:
        app = create_app({**app_settings, "BASE_URL": live.base_url})
        app.test_client_class = FreshClient
        live.app = app
        with app.app_context():
            yield live, app
            release_database()


def test_web_issued_hosted_assertion_and_baked_png_pass_the_1edtech_validator(live_app, ob2_validator,
                                                                               make_user):
    live, app = live_app
    from app.services import accounts

    issuer = accounts.create_user(db.session, email="issuer@univ.example", password="correct horse battery staple",
                                  verified=True)
    db.session.commit()
    org = make_org(issuer)
    achievement = make_achievement(org)
    client = app.test_client()
    login(client, issuer.email)
    form = client.get(f"/organisations/{org.id}/achievements/{achievement.id}/award")
    response = client.post(f"/organisations/{org.id}/achievements/{achievement.id}/award",
                           data={"recipient": "alice@example.org", "narrative": "Très bien",
                                 "csrf_token": csrf_token(form)})
    assert response.status_code == 302, response.data[:300]
    credential_id = response.headers["Location"].rsplit("/", 1)[-1]

    ok, report = ob2_validator(f"{live.base_url}/ob2/assertions/{credential_id}", recipient="alice@example.org")
    assert ok, report["errors"]
    baked = client.get(f"/ob2/assertions/{credential_id}.png").data
    ok, report = ob2_validator(baked, recipient="alice@example.org")
    assert ok, report["errors"]

    from app.policy import OPERATOR

    awarding.revoke(db.session, OPERATOR, awarding.get(db.session, credential_id), "Erreur")
    db.session.commit()
    ok, report = ob2_validator(f"{live.base_url}/ob2/assertions/{credential_id}")
    assert not ok


def test_sillage_verifier_reads_a_410_revoked_hosted_assertion_as_revoked():
    """A revoked hosted assertion answers 410 Gone with its stub (OB 2.0, and now Sillage's own): the
    verifier must read that as "revoked", not as an unreachable assertion. A 410 that is not such a
    stub stays a fetch failure."""
    from badges import ob2
    from badges.fetch import FetchError, fetch_json, json_fetcher
    from badges.verify import verify

    with ob2validator.StaticSite() as site:
        url = site.url("/ob2/assertions/5b1c")
        site.put("/ob2/assertions/5b1c", ob2.revoked_assertion_document(assertion_url=url, reason="Erreur"),
                 status=410)
        site.put("/gone", {"id": site.url("/gone")}, status=410)
        result = verify(url, fetch=json_fetcher(allow_loopback=True))
        assert result["verified"] is False and result["verdict"]["reason"] == "revoked", result
        with pytest.raises(FetchError):
            fetch_json(site.url("/gone"), allow_loopback=True)


def _erase_alice(credential_id):
    """Alice, who received the credential, claims it and then deletes her account (issue 11 erasure)."""
    from app.services import accounts

    alice = accounts.create_user(db.session, email="alice@example.org", password="correct horse battery staple",
                                 verified=True)
    db.session.commit()
    accounts.delete_account(db.session, alice, "correct horse battery staple")
    db.session.commit()
    db.session.expire_all()
    credential = awarding.get(db.session, credential_id)
    assert credential.recipient_email == ""  # the issuer forgot the address
    return credential


def test_the_hosted_assertion_keeps_the_original_hashed_identity_after_erasure(app, make_user):
    """OB 2.0's IdentityObject: ``identity`` is "the hash of the identity", ``salt`` "the string used to
    salt the hash". Once the recipient erased their account the address is gone, and the hosted assertion
    still serves the original hash (the one the signed OB 3.0 credential holds), never a hash of ""."""
    from badges.identity import identity_hash

    issuer = make_user("issuer@univ.example")
    awarded = awarding.award(db.session, issuer, make_achievement(make_org(issuer)), "Alice@Example.org")
    db.session.commit()
    credential_id, salt = awarded.credential.id, awarded.credential.recipient_salt
    client = app.test_client()
    before = client.get(f"/ob2/assertions/{credential_id}").get_json()["recipient"]
    assert before == {"type": "email", "hashed": True, "salt": salt,
                      "identity": identity_hash("alice@example.org", salt)}

    _erase_alice(credential_id)
    served = client.get(f"/ob2/assertions/{credential_id}")
    assert served.status_code == 200
    after = served.get_json()["recipient"]
    assert after == before and after["identity"] != identity_hash("", salt)
    # The baked OB 2.0 image carries the same assertion.
    from badges.bake import unbake

    assert unbake(client.get(f"/ob2/assertions/{credential_id}.png").data)["credential"]["recipient"] == before
    # A forged hash in the signed document (never produced here) is refused, not served.
    from badges import ob2
    from badges.errors import InvalidValue

    with pytest.raises(InvalidValue):
        ob2.recipient(None, salt, hashed_identity="sha256$" + "0" * 10)
    with pytest.raises(InvalidValue):
        ob2.recipient(None, None, hashed_identity="sha256$" + "0" * 64)  # a hash without its salt


def test_the_erased_recipients_assertion_still_passes_the_1edtech_validator(live_app, ob2_validator):
    """1EdTech's validator, given the original address, still finds it in the hosted assertion after the
    holder's account (and so the issuer's copy of the address) is gone; another address does not match."""
    live, app = live_app
    from app.services import accounts

    issuer = accounts.create_user(db.session, email="issuer@univ.example", password="correct horse battery staple",
                                  verified=True)
    db.session.commit()
    awarded = awarding.award(db.session, issuer, make_achievement(make_org(issuer)), "alice@example.org")
    db.session.commit()
    _erase_alice(awarded.credential.id)
    url = f"{live.base_url}/ob2/assertions/{awarded.credential.id}"
    ok, report = ob2_validator(url, recipient="alice@example.org")
    assert ok, report["errors"]
    ok, report = ob2_validator(url, recipient="bob@example.org")
    assert not ok
