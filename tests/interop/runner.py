"""Drive the Node.js interoperability witness (``interop.js``) from Python tests and benchmarks.

The witness uses Digital Bazaar's reference libraries, installed from the npm registry with the exact
versions of ``package-lock.json`` (``npm ci``). Its document loader is offline: it knows the npm context
packages, and we hand it every document Sillage's own loader bundles (so both sides read the very
same context bytes) plus any controller document a test needs.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "interop.js"


class NodeUnavailable(RuntimeError):
    pass


def node_binary() -> str | None:
    return shutil.which("node")


def ensure_installed(timeout: int = 600) -> None:
    """``npm ci`` once (from the lock file) when node_modules is missing or older than the lock."""
    modules = HERE / "node_modules"
    marker = modules / ".package-lock.json"
    lock = HERE / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise NodeUnavailable("npm is not installed")
    result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise NodeUnavailable(f"npm ci failed: {result.stderr[-2000:]}")


def bundled_documents() -> dict:
    """Every JSON-LD document Sillage's verifier may load, by URL."""
    from badges.loader import document_loader

    loader = document_loader()
    return {url: loader.document(url) for url in sorted(loader.urls)}


class Witness:
    """Runs ``interop.js`` commands; ``extra`` documents (did:web controller documents...) are added."""

    def __init__(self, workdir: Path | None = None):
        if node_binary() is None:
            raise NodeUnavailable("node is not installed")
        ensure_installed()
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="sillage-interop-"))
        self.extra: dict = {}

    def _documents_file(self) -> Path:
        path = self.workdir / "documents.json"
        path.write_text(json.dumps({**bundled_documents(), **self.extra}))
        return path

    def run(self, *args: str, stdin: str | None = None, timeout: int = 600) -> dict:
        command = [node_binary(), str(SCRIPT), *args, "--documents", str(self._documents_file())]
        result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout,
                                cwd=HERE, env=dict(os.environ, NODE_NO_WARNINGS="1"))
        if result.returncode != 0:
            raise RuntimeError(f"interop.js {args[0]} failed ({result.returncode}): {result.stderr[-3000:]}")
        return json.loads(result.stdout)

    def keygen(self) -> dict:
        return self.run("keygen")

    def sign(self, credential: dict, key: dict, suite: str = "eddsa-rdfc-2022",
             created: str | None = None) -> dict:
        """Sign with ``eddsa-rdfc-2022`` or ``Ed25519Signature2020`` (which Sillage only verifies);
        ``created`` (ISO date-time) fixes the proof's date, so that signatures can be compared."""
        key_path = self.workdir / "key.json"
        key_path.write_text(json.dumps(key))
        os.chmod(key_path, 0o600)
        extra = ["--created", created] if created else []
        return self.run("sign", "-", str(key_path), "--suite", suite, *extra, stdin=json.dumps(credential))

    def sign_presentation(self, presentation: dict, key: dict, challenge: str, domain: str | None = None,
                          created: str | None = None) -> dict:
        """``vc.signPresentation``: an ``eddsa-rdfc-2022`` proof for ``authentication``."""
        key_path = self.workdir / "key.json"
        key_path.write_text(json.dumps(key))
        os.chmod(key_path, 0o600)
        extra = [*(["--domain", domain] if domain else []), *(["--created", created] if created else [])]
        return self.run("sign-presentation", "-", str(key_path), "--challenge", challenge, *extra,
                        stdin=json.dumps(presentation))

    def verify_presentation(self, presentation: dict, challenge: str, domain: str | None = None) -> dict:
        extra = ["--domain", domain] if domain else []
        return self.run("verify-presentation", "-", "--challenge", challenge, *extra,
                        stdin=json.dumps(presentation))

    def verify(self, credential: dict | str) -> dict:
        text = credential if isinstance(credential, str) else json.dumps(credential)
        return self.run("verify", "-", stdin=text)

    def jwt_keygen(self, alg: str) -> dict:
        """A key pair made by jose: ``{"privateJwk", "publicJwk"}``."""
        return self.run("jwt-keygen", "--alg", alg)

    def jwt_sign(self, payload: dict, private_jwk: dict, alg: str, kid: str | None = None,
                 typ: str | None = None, embed_jwk: bool = False) -> str:
        """A compact JWS of ``payload`` signed by jose (the key file is private to this run)."""
        key_path = self.workdir / "jwk.json"
        key_path.write_text(json.dumps(private_jwk))
        os.chmod(key_path, 0o600)
        extra = [*(["--kid", kid] if kid else []), *(["--typ", typ] if typ else []),
                 *(["--jwk", "yes"] if embed_jwk else [])]
        return self.run("jwt-sign", "-", str(key_path), "--alg", alg, *extra, stdin=json.dumps(payload))["jwt"]

    def jwt_verify(self, token: str, public_jwk: dict, alg: str) -> dict:
        key_path = self.workdir / "public-jwk.json"
        key_path.write_text(json.dumps(public_jwk))
        return self.run("jwt-verify", "-", str(key_path), "--alg", alg, stdin=token)

    def bench(self, credential: dict, count: int) -> dict:
        return self.run("bench", "-", "--count", str(count), stdin=json.dumps(credential), timeout=1800)
