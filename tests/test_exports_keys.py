"""A passphrase-encrypted export waiting for its job holds its key sealed by the master key: ``sillage keys
rotate-master`` re-seals it like the other sealed keys, and the job still makes a file that opens with the
passphrase; the key goes from the row once used."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

from app.extensions import db
from app.models.exports import Export
from app.services import exports, vault_keys
from certs import export_cipher
from certs.vault import master_key_id
from tests.test_vault_keys import NEW_KEY, keyed_app, new_user, rotate  # noqa: F401 - keyed_app is a fixture


def test_rotation_reseals_a_waiting_export_key(keyed_app, tmp_path):
    owner = new_user()
    waiting = exports.request_export(db.session, owner, passphrase="une phrase de passe")
    db.session.commit()
    old_id = waiting.master_key_id
    assert waiting.sealed_private_key and old_id
    assert vault_keys.pending(db.session, vault_keys.Keyring(wrapping=NEW_KEY)) >= 1

    key_file = tmp_path / "new.key"
    key_file.write_text(NEW_KEY + "\n")
    result = rotate(keyed_app, "--new-key-file", str(key_file))
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    row = db.session.get(Export, waiting.id)
    assert row.master_key_id == master_key_id(NEW_KEY) != old_id
    assert Path(keyed_app.config["MASTER_KEY_FILE"]).read_text().strip() == NEW_KEY

    exports.build(db.session, row.id)
    db.session.expire_all()
    row = db.session.get(Export, waiting.id)
    assert row.status == "done", row.error
    assert row.sealed_private_key is None and row.master_key_id is None
    data, _name = exports.download(owner, row)
    plain = b"".join(export_cipher.decrypt(data, "une phrase de passe"))
    assert "portfolio.json" in zipfile.ZipFile(io.BytesIO(plain)).namelist()
