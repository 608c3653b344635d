"""``sillage orgs ...``, ``sillage achievements create``; signing keys in ``sillage keys rotate-master``."""
from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select

from app import policy
from app.extensions import db
from app.models import Achievement, Organisation, SigningKey, User
from app.services import orgs
from certs import vault
from tests.test_issuing_pages import PNG
from tests.test_vault_keys import OLD_KEY, keyed_app, new_user, owners_with_keys, rotate  # noqa: F401


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_create_token_achievement_chain_by_last_lines(app, make_user, tmp_path):
    make_user("head@lycee.example")
    created = run(app, "orgs", "create", "Lycée Exemple", "--admin", "Head@Lycee.example", "--kind", "school",
                  "--approve")
    assert created.exit_code == 0, created.output
    org_id = created.output.strip().splitlines()[-1]
    org = db.session.get(Organisation, uuid.UUID(org_id))
    assert org.status == "approved" and org.did.endswith(f":issuers:{org_id}")
    token = run(app, "orgs", "token", org_id, "--name", "SIS")
    raw = token.stdout.strip().splitlines()[-1]
    assert raw.startswith("silo_") and orgs.organisation_for_token(raw).id == org.id
    image = tmp_path / "b.png"
    image.write_bytes(PNG)
    made = run(app, "achievements", "create", "--org", org_id, "--name", "Secourisme", "--description",
               "First aid.", "--criteria", "PSC1.", "--kind", "Certificate", "--tag", "safety",
               "--validity-months", "24", "--image", str(image))
    assert made.exit_code == 0, made.output
    achievement = db.session.get(Achievement, uuid.UUID(made.output.strip().splitlines()[-1]))
    assert achievement.tags == ["safety"] and achievement.image_type == "image/png"
    listed = run(app, "orgs", "list")
    assert org_id in listed.output and "approved" in listed.output
    by_name = run(app, "achievements", "create", "--org", "Lycée Exemple", "--name", "B", "--description", "D",
                  "--criteria-url", "https://lycee.example/b")
    assert by_name.exit_code == 0, by_name.output


def test_did_key_and_refusals(app, make_user):
    make_user("a@example.org")
    created = run(app, "orgs", "create", "Offline", "--admin", "a@example.org", "--did-key")
    org_id = created.output.strip().splitlines()[-1]
    assert "did:key:z6Mk" in created.output and "pending" in created.output
    assert run(app, "orgs", "token", org_id).exit_code == 1  # not approved
    assert run(app, "achievements", "create", "--org", org_id, "--name", "N", "--description", "D",
               "--criteria", "C").exit_code == 1
    missing = run(app, "orgs", "create", "X", "--admin", "ghost@example.org")
    assert missing.exit_code == 1 and "no account" in missing.output
    bad = run(app, "orgs", "create", "X", "--admin", "a@example.org", "--kind", "castle")
    assert bad.exit_code == 1 and "kind" in bad.output
    assert run(app, "orgs", "token", "nothing-like-this").exit_code == 1
    assert db.session.scalar(select(Organisation).where(Organisation.name == "X")) is None


def test_master_key_rotation_reseals_signing_keys_and_they_still_sign(keyed_app):
    folder = Path(keyed_app.config["INSTANCE_PATH"])
    keys = owners_with_keys(2)
    admin = new_user()
    org = orgs.create_organisation(db.session, policy.OPERATOR, {"name": "O", "kind": "other",
                                                                  "contact_email": "o@example.org"},
                                   admin=admin, approve=True)
    db.session.commit()
    before = orgs.signing_key(db.session, org).public_key_multibase
    result = rotate(keyed_app, input=None)
    assert result.exit_code == 0, result.output
    assert "4 data key(s) to re-wrap" in result.output  # three data keys (every account has one) + the signing key
    db.session.expire_all()
    row = db.session.scalars(select(SigningKey)).one()
    assert row.master_key_id == vault.master_key_id((folder / "master_key").read_text())
    assert row.master_key_id != vault.master_key_id(OLD_KEY)
    assert orgs.signing_key(db.session, db.session.get(Organisation, org.id)).public_key_multibase == before
    assert len(keys) == 2


def test_approve_and_add_member_commands(app, make_user):
    make_user("a@example.org")
    make_user("b@example.org")
    org_id = run(app, "orgs", "create", "Later", "--admin", "a@example.org").output.strip().splitlines()[-1]
    assert run(app, "orgs", "add-member", org_id, "b@example.org").exit_code == 1  # pending: not yet
    assert run(app, "orgs", "approve", org_id).exit_code == 0
    assert run(app, "orgs", "approve", org_id).exit_code == 1  # decided already
    added = run(app, "orgs", "add-member", org_id, "b@example.org", "--role", "admin")
    assert added.exit_code == 0, added.output
    assert run(app, "orgs", "add-member", org_id, "b@example.org").exit_code == 1  # already a member
    org = db.session.get(Organisation, uuid.UUID(org_id))
    member = db.session.scalars(select(User).where(User.email == "b@example.org")).one()
    assert orgs.may_issue(member, org)
