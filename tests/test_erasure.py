"""Erasure (issue 11): a rich account (the demo's Inès, plus an export, an invitation to her address, her
name in another owner's access log, her comment and message in another portfolio, a bulk-award row naming
her) is deleted; then every column of every table is scanned for her ids, address and name, and storage for
her files: nothing is left. Her share link answers 410 afterwards, and another person's unknown link 404."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from app import demo, storage
from app.extensions import db
from app.models import User
from app.models.exports import ErasedToken, Export
from app.services import access_log, accounts, batches, collab, exports, grants, share_links
from tests.collab_helpers import accepted_grant

INES = demo.DEMO_ACCOUNTS[0]
CLAIRE = demo.DEMO_ACCOUNTS[1]


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def scan(needles: dict[str, str]) -> list[str]:
    """Every (table, column) whose value holds one of ``needles`` (text, JSON, UUID or bytes)."""
    db.session.expire_all()
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            for column, value in row.items():
                if value is None:
                    continue
                if isinstance(value, (bytes, bytearray, memoryview)):
                    blob = bytes(value)
                    hits = [name for name, needle in needles.items() if needle.encode() in blob]
                else:
                    text = (str(value) if not isinstance(value, (dict, list)) else repr(value)).lower()
                    hits = [name for name, needle in needles.items() if needle.lower() in text]
                found += [f"{table.name}.{column}: {name}" for name in hits]
    return found


def stored_keys(app) -> list[str]:
    """Every blob key in the instance's file storage (the tests' backend)."""
    url = app.config["STORAGE_URL"]
    assert url.startswith("file://"), "this scan reads the local file storage"
    root = Path(url.removeprefix("file://")) / "blobs"
    return [Path(folder, name).relative_to(root).as_posix() for folder, _dirs, names in os.walk(root)
            for name in names]


@pytest.fixture
def rich(app):
    demo.load(db.session)
    db.session.commit()
    ines, claire = _user(INES.email), _user(CLAIRE.email)
    # Claire shares her portfolio with Inès, who reads it (Claire's access log names her), comments and writes.
    grant = accepted_grant(claire, ines, role="contributor")
    access_log.record(db.session, claire.portfolio.id, action="view", object_type="portfolio",
                      object_id=claire.portfolio.id, actor=ines, ip="192.0.2.7")
    collab.post_message(db.session, ines, grant, "Merci Claire, Inès Martin vous remercie.")
    # Another owner invites Inès by address (not accepted yet); an issuer's batch row names her address.
    someone = accounts.create_user(db.session, email="someone@example.org", password="correct horse battery staple",
                                   display_name="Someone", verified=True)
    grants.invite(db.session, someone, email=INES.email, role="viewer")
    batches.create_batch(db.session, "test-erasure", [{"email": INES.email, "name": "Inès Martin"}],
                         key="erasure-test")
    db.session.commit()
    export = exports.request_export(db.session, ines)
    db.session.commit()
    exports.build(db.session, export.id)
    return ines


def test_deleting_a_rich_account_leaves_nothing_of_it(app, client, rich):
    ines = rich
    export = db.session.scalars(select(Export).where(Export.user_id == ines.id)).one()
    needles = {"user id": str(ines.id), "user id hex": ines.id.hex, "portfolio id": str(ines.portfolio.id),
               "portfolio id hex": ines.portfolio.id.hex, "email": INES.email, "name": INES.display_name}
    prefixes = [str(ines.portfolio.id), ines.portfolio.id.hex, str(ines.id), ines.id.hex, f"exports/{export.id}"]
    before = scan(needles)
    assert len(before) > 50  # the scan sees her everywhere before
    assert any(key.startswith(f"vault/{ines.portfolio.id.hex}/") for key in stored_keys(app))
    assert storage.exists(f"exports/{export.id}")
    raw = share_links.demo_token("ines-page")
    assert client.get(f"/s/{raw}").status_code == 200
    held = [(entry.kind, entry.id) for entry in exports.credential_entries(db.session, ines)
            if entry.kind in ("attestation", "endorsement")]
    assert {kind for kind, _id in held} == {"attestation", "endorsement"}
    for kind, public_id in held:
        assert client.get(f"/{kind}s/{public_id}").status_code == 200

    accounts.delete_account(db.session, ines, INES.password)
    db.session.commit()

    assert scan(needles) == []
    assert [key for key in stored_keys(app) if any(p in key for p in prefixes)] == []
    # Her link: 410 Gone, from a tombstone that names nobody; an unknown token stays 404.
    assert client.get(f"/s/{raw}").status_code == 410
    assert client.get(f"/s/{share_links.demo_token('never-made')}").status_code == 404
    assert db.session.get(ErasedToken, share_links.hash_token(raw)) is not None
    # Her attestations' and endorsements' public pages (cited by her CVs): 410 too; an unknown id 404.
    for kind, public_id in held:
        for suffix in ("", ".json", ".png"):
            assert client.get(f"/{kind}s/{public_id}{suffix}").status_code == 410, (kind, suffix)
    assert client.get(f"/attestations/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/endorsements/{uuid.uuid4()}.json").status_code == 404
    # Claire's log keeps the line, anonymous; the issuer keeps the credential, without her address.
    claire = _user(CLAIRE.email)
    lines = access_log.events(db.session, claire.portfolio.id)
    assert lines and all(line.actor_label != INES.email for line in lines)


def test_a_wrong_password_erases_nothing(app, rich):
    ines = rich
    with pytest.raises(Exception):
        accounts.delete_account(db.session, ines, "not the password")
    db.session.rollback()
    assert _user(INES.email) is not None
    assert db.session.scalar(select(ErasedToken.token_digest)) is None
    assert scan({"email": INES.email})


def test_erased_state_of_a_share_link(app, rich):
    raw = share_links.demo_token("ines-page")
    assert share_links.open(db.session, raw)[0] == "active"
    accounts.delete_account(db.session, rich, INES.password)
    db.session.commit()
    assert share_links.open(db.session, raw) == ("erased", None)
    assert share_links.open(db.session, "x" * 43) == ("unknown", None)
    assert db.session.get(ErasedToken, share_links.hash_token(raw)) is not None
    assert [c.name for c in ErasedToken.__table__.columns] == ["token_digest", "erased_on"]
