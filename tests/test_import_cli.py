"""``sillage import --user EMAIL FILE [--dry-run] [--passphrase-stdin]``."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import Experience
from certs import export_cipher
from tests.test_import_sillage import rich_account, write_export

DATA = Path(__file__).parent / "data" / "import"


def invoke(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def experiences(user) -> int:
    return db.session.scalar(select(func.count()).select_from(Experience)
                             .where(Experience.portfolio_id == user.portfolio.id))


def test_dry_run_prints_the_preview_and_changes_nothing(app, user):
    result = invoke(app, "import", "--user", user.email, "--dry-run", str(DATA / "resume.json"))
    assert result.exit_code == 0, result.stderr
    preview = json.loads(result.stdout)
    assert preview["format"] == "json_resume" and preview["counts"]["experiences"]["new"] == 3
    assert experiences(user) == 0
    result = invoke(app, "import", "--user", user.email.upper(), str(DATA / "resume.json"))
    assert result.exit_code == 0 and experiences(user) == 3


def test_encrypted_export_with_passphrase_from_stdin(app, make_user, tmp_path):
    owner = rich_account(make_user)
    write_export(owner, tmp_path / "clear.zip")
    sealed = tmp_path / "export.zip.enc"
    params = export_cipher.KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
    sealed.write_bytes(b"".join(export_cipher.encrypt(export_cipher.read_file(tmp_path / "clear.zip"),
                                                      "correct horse battery", params)))
    fresh = make_user("fresh@example.org")
    refused = invoke(app, "import", "--user", fresh.email, str(sealed))
    assert refused.exit_code == 1 and "passphrase_required" in refused.stderr
    done = invoke(app, "import", "--user", fresh.email, "--passphrase-stdin", str(sealed),
                  input="correct horse battery\n")
    assert done.exit_code == 0, done.stderr
    assert experiences(fresh) == 2


def test_refusals_exit_1_and_unknown_account(app, user, tmp_path):
    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as archive:
        archive.writestr("/etc/passwd", b"x")
    result = invoke(app, "import", "--user", user.email, str(slip))
    assert result.exit_code == 1 and "unsafe_archive" in result.stderr
    result = invoke(app, "import", "--user", "nobody@example.org", str(DATA / "resume.json"))
    assert result.exit_code != 0 and "No account" in result.stderr
