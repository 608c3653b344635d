"""``sillage verify``, ``sillage sign`` and ``sillage keys generate``: exit codes, output, key files."""
from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from app import create_app, verification
from badges.bake import bake
from tests.verify.credentials import did_key_pair, ob3_credential, signed
from tests.verify.servers import Routes, serve

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(app):
    if "verification.verify" not in app.view_functions:
        verification.init_app(app)
    runner = app.test_cli_runner()

    def invoke(*args, input=None):
        return runner.invoke(args=list(args), input=input)

    return invoke


@pytest.fixture
def signed_file(tmp_path):
    key = did_key_pair()
    path = tmp_path / "credential.json"
    path.write_text(json.dumps(signed(ob3_credential(key.controller), key)))
    return path


def test_verify_valid_file_exits_0(cli, signed_file):
    result = cli("verify", str(signed_file), "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "✓ proof" in result.output and "Verified." in result.output


def test_verify_json_output(cli, signed_file):
    result = cli("verify", str(signed_file), "--json")
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert body["verified"] is True and {c["name"] for c in body["checks"]} >= {"proof", "status"}


def test_verify_tampered_exits_1(cli, signed_file, tmp_path):
    credential = json.loads(signed_file.read_text())
    credential["name"] = "Autre"
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(credential))
    result = cli("verify", str(path), "--lang", "en")
    assert result.exit_code == 1
    assert "✗ proof" in result.output and "Not verified: forged or altered." in result.output


@pytest.mark.parametrize("content", [b'{"truncated": ', b"", b"[" * 10_000, b"\x89PNG\r\n\x1a\n garbage"])
def test_verify_unreadable_input_exits_2(cli, tmp_path, content):
    path = tmp_path / "bad"
    path.write_bytes(content)
    result = cli("verify", str(path), "--json")
    assert result.exit_code == 2
    assert json.loads(result.output)["verified"] is False


def test_verify_missing_file_exits_2(cli, tmp_path):
    result = cli("verify", str(tmp_path / "nope.json"))
    assert result.exit_code == 2


def test_verify_image_without_badge_exits_2(cli, tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG")
    path = tmp_path / "plain.png"
    path.write_bytes(buffer.getvalue())
    result = cli("verify", str(path), "--json")
    assert result.exit_code == 2
    assert json.loads(result.output)["checks"][0]["code"] == "no_badge"


def test_verify_baked_png(cli, signed_file, tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG")
    path = tmp_path / "badge.png"
    path.write_bytes(bake(buffer.getvalue(), json.loads(signed_file.read_text())))
    assert cli("verify", str(path)).exit_code == 0


def test_verify_url_goes_through_the_guard(cli, app, signed_file):
    routes = Routes()
    routes.add("/c.json", signed_file.read_text(), content_type="application/ld+json")
    with serve(routes) as base:
        refused = cli("verify", base + "/c.json", "--json")
        assert refused.exit_code == 2
        assert json.loads(refused.output)["errors"][0]["code"] == "fetch_refused"
        app.config["VERIFY_ALLOW_LOOPBACK"] = True
        assert cli("verify", base + "/c.json").exit_code == 0
    for url in ("https://169.254.169.254/latest", "file:///etc/passwd"):
        assert cli("verify", url).exit_code == 2


def test_keys_generate_and_sign_round_trip(cli, tmp_path):
    key_path = tmp_path / "key.json"
    result = cli("keys", "generate", "--did-key", "--out", str(key_path))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    key = json.loads(key_path.read_text())
    assert key["type"] == "Multikey" and key["controller"].startswith("did:key:z6Mk")
    assert key["id"] == f"{key['controller']}#{key['publicKeyMultibase']}" and key["secretKeyMultibase"]
    assert cli("keys", "generate", "--did-key", "--out", str(key_path)).exit_code != 0  # never overwrites

    unsigned = tmp_path / "unsigned.json"
    unsigned.write_text(json.dumps(ob3_credential(key["controller"])))
    out = tmp_path / "signed.json"
    result = cli("sign", str(unsigned), "--key", str(key_path), "--out", str(out))
    assert result.exit_code == 0, result.output
    proof = json.loads(out.read_text())["proof"]
    assert proof["cryptosuite"] == "eddsa-rdfc-2022" and proof["verificationMethod"] == key["id"]
    assert proof["proofValue"].startswith("z")
    assert cli("verify", str(out)).exit_code == 0

    printed = cli("sign", str(unsigned), "--key", str(key_path))
    assert printed.exit_code == 0 and json.loads(printed.output)["proof"]["type"] == "DataIntegrityProof"


def test_keys_generate_prints_when_no_file(cli):
    result = cli("keys", "generate", "--did-key")
    assert result.exit_code == 0 and json.loads(result.output)["secretKeyMultibase"]


@pytest.mark.parametrize("change, message", [
    (lambda c: c.update(issuer="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"), "controller"),
    (lambda c: c["credentialSubject"].update(shoeSize=44), "shoeSize"),
    (lambda c: c.update({"@context": ["https://example.org/ctx"]}), "not a verifiable credential"),
    (lambda c: c["credentialSubject"]["achievement"].pop("criteria"), "schema"),
])
def test_sign_refuses_what_would_not_verify(cli, tmp_path, change, message):
    key = did_key_pair()
    key_path = tmp_path / "key.json"
    key_path.write_text(json.dumps(key.to_json(include_secret=True)))
    credential = ob3_credential(key.controller)
    change(credential)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(credential))
    result = cli("sign", str(path), "--key", str(key_path))
    assert result.exit_code == 1
    assert message in result.output


def test_sign_refuses_a_bad_key_file(cli, tmp_path):
    key_path = tmp_path / "key.json"
    key_path.write_text(json.dumps({"type": "Multikey", "secretKeyMultibase": "zNOPE"}))
    path = tmp_path / "c.json"
    path.write_text(json.dumps(ob3_credential("did:key:z6Mk")))
    result = cli("sign", str(path), "--key", str(key_path))
    assert result.exit_code == 1 and "key" in result.output


def test_commands_are_wired_into_the_application(tmp_path):
    """create_app() must call app.verification.init_app (the lead wires it)."""
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x", "MASTER_KEY": "y" * 32,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    assert {"verify", "sign", "keys"} <= set(app.cli.commands)
    assert "generate" in app.cli.commands["keys"].commands
    assert "verification.verify" in app.view_functions and "verify.verify_api" in app.view_functions


def test_sillage_verify_runs_without_a_database(tmp_path, signed_file):
    """The console script, in a fresh process, with a database URL that cannot be opened."""
    env = dict(os.environ, SILLAGE_INSTANCE_PATH=str(tmp_path / "instance"),
               SILLAGE_DATABASE_URL=f"sqlite:///{tmp_path / 'missing' / 'no.db'}", LANG="en_US.UTF-8")
    script = Path(sys.executable).parent / "sillage"
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from app.cli import main; main()"]
    result = subprocess.run(command + ["verify", str(signed_file), "--json"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["verified"] is True
