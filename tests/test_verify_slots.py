"""Slow verifications cannot take every worker: a few slots, then 503 ``verifier_busy`` (issue 6, §6)."""
from __future__ import annotations

import threading

import pytest

from app.verification import runner
from tests.helpers import csrf_token
from tests.test_auth import english


@pytest.fixture
def one_slot(app_settings):
    from app import create_app

    app_settings["VERIFY_SLOTS"] = 1
    app = create_app(app_settings)
    with app.app_context():
        yield app


def hold_slot(app, started: threading.Event, release: threading.Event):
    """In another thread (as another worker would): hold a slot until told to let go."""
    def hold():
        with app.test_request_context("/api/v1/verify", method="POST"), runner.slot():
            started.set()
            release.wait(30)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert started.wait(30)
    return thread


def test_when_every_slot_is_taken_verifications_are_refused_at_once(one_slot):
    app, client = one_slot, english(one_slot)
    started, release = threading.Event(), threading.Event()
    holder = hold_slot(app, started, release)
    try:
        response = client.post("/api/v1/verify", json={"type": ["VerifiableCredential"]})
        assert response.status_code == 503
        assert response.get_json()["error"] == "verifier_busy" and response.headers["Retry-After"].isdigit()
        page = client.post("/verify", data={"credential": "{}", "csrf_token": csrf_token(client.get("/verify"))})
        assert page.status_code == 503 and b"The verifier is busy" in page.data
        assert page.headers["Retry-After"].isdigit()
        # The W3C VC-API routes inherit it (credentials through ``runner.run``, presentations hold a slot).
        vc2 = ["https://www.w3.org/ns/credentials/v2"]
        for path, body in (
                ("/credentials/verify", {"verifiableCredential": {"@context": vc2, "type": ["VerifiableCredential"]}}),
                ("/presentations/verify", {"verifiablePresentation": {"@context": vc2,
                                                                      "type": ["VerifiablePresentation"]}})):
            response = client.post(path, json=body)
            assert response.status_code == 503 and response.get_json()["error"] == "verifier_busy", path
        assert client.get("/healthz").status_code == 200  # everything else keeps answering
    finally:
        release.set()
        holder.join(30)
    response = client.post("/api/v1/verify", json={"type": ["VerifiableCredential"]})
    assert response.status_code == 200 and response.get_json()["verified"] is False  # the slot is free again


def test_slots_are_counted_and_released(one_slot):
    started, release = threading.Event(), threading.Event()
    holder = hold_slot(one_slot, started, release)  # another worker holds the only slot
    try:
        with one_slot.test_request_context("/"):
            with pytest.raises(runner.VerifierBusy), runner.slot():
                pass
    finally:
        release.set()
        holder.join(30)
    with one_slot.test_request_context("/"):
        with runner.slot() as number:  # released on the way out
            assert number == 0


def test_a_failing_verification_releases_its_slot(one_slot, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("verifier bug")

    monkeypatch.setattr(runner, "verify", explode)
    with one_slot.test_request_context("/"):
        with pytest.raises(RuntimeError):
            runner.run({})
        with runner.slot() as number:
            assert number == 0


def test_commands_are_not_limited(one_slot):
    """``sillage verify`` runs in its own process, never in a web worker: no slot is taken."""
    with one_slot.test_request_context("/"), runner.slot():
        pass
    started, release = threading.Event(), threading.Event()
    holder = hold_slot(one_slot, started, release)
    try:
        assert runner.run({"type": ["VerifiableCredential"]})["verified"] is False  # app context only
    finally:
        release.set()
        holder.join(30)


def test_the_default_is_half_the_request_capacity():
    from app import config

    base = {"SILLAGE_SECRET_KEY": "s", "SILLAGE_MASTER_KEY": "m"}
    assert config.load(env={**base, "SILLAGE_WORKERS": "5"})["VERIFY_SLOTS"] == 2
    assert config.load(env={**base, "SILLAGE_WORKERS": "2"})["VERIFY_SLOTS"] == 1
    assert config.load(env={**base, "SILLAGE_WORKERS": "4", "SILLAGE_THREADS": "4"})["VERIFY_SLOTS"] == 8
    assert config.load(env={**base, "SILLAGE_WORKERS": "1"})["VERIFY_SLOTS"] == 1
    assert config.load(env={**base, "SILLAGE_VERIFY_SLOTS": "3"})["VERIFY_SLOTS"] == 3


# --- the real server: gunicorn workers, slots held by verifications that wait on a slow host ----------------

class MigratedServer:
    """``tests.e2e.conftest.LiveServer`` on a copy of the session's migrated template database (saves
    running the migrations again in a subprocess)."""

    def __new__(cls, instance, sqlite_template):
        import shutil

        from tests.e2e.conftest import LiveServer

        class Server(LiveServer):
            def run(self, *args: str) -> str:
                return "" if args == ("db", "upgrade") else super().run(*args)

        instance.mkdir(parents=True)
        shutil.copy(sqlite_template, instance / "sillage.db")
        return Server(instance)


def test_slow_verifications_never_hold_every_worker(tmp_path, sqlite_template):
    """Three workers, two slots. Two verifications of a badge URL whose host does not answer hold both
    slots; a third is refused at once (503 ``verifier_busy``), the API too, and ``/healthz`` answers.

    The slow host answers when the test releases it; until then the verifier's own fetch deadline
    (``badges.fetch.TOTAL_TIMEOUT``) is the only clock, and the checks made meanwhile take far less."""
    import re

    import requests

    from tests.verify.servers import Routes, serve

    arrived, release = threading.Semaphore(0), threading.Event()

    def slow(handler):
        arrived.release()
        release.wait(30)
        handler.send_response(404)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def paste(url: str, badge: str) -> requests.Response:
        with requests.Session() as browser:
            page = browser.get(url + "/verify", timeout=30)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
            return browser.post(url + "/verify", data={"credential": badge, "csrf_token": token}, timeout=30)

    routes = Routes()
    routes.routes["/slow"] = slow
    with serve(routes) as host:
        server = MigratedServer(tmp_path / "instance", sqlite_template)
        server.env.update(SILLAGE_WORKERS="3", SILLAGE_VERIFY_SLOTS="2", SILLAGE_VERIFY_ALLOW_LOOPBACK="1")
        server.start()
        answers: list[int] = []
        holders = [threading.Thread(target=lambda: answers.append(paste(server.url, host + "/slow").status_code))
                   for _ in range(2)]
        try:
            for holder in holders:
                holder.start()
            for _ in holders:
                assert arrived.acquire(timeout=30), server.log()  # both slots are held now

            third = paste(server.url, host + "/slow")
            assert third.status_code == 503 and third.headers["Retry-After"].isdigit(), server.log()
            api = requests.post(server.url + "/api/v1/verify", json={"type": ["VerifiableCredential"]}, timeout=30)
            assert api.status_code == 503 and api.json()["error"] == "verifier_busy"
            health = requests.get(server.url + "/healthz", timeout=30)
            assert health.status_code == 200 and health.json()["status"] == "ok"
        finally:
            release.set()
            for holder in holders:
                holder.join(30)
            try:
                after = requests.post(server.url + "/api/v1/verify", json={"type": ["VerifiableCredential"]},
                                      timeout=30)
                inflated = _three_inflated_at_once(server.url)
            finally:
                server.stop()
        assert answers == [200, 200]  # the held ones finished normally
        assert after.status_code == 200 and after.json()["verified"] is False  # and let their slots go
        # The reported attack (issue 6, §6): three 840 KB credentials at once, each refused before any
        # JSON-LD work (the times are measured in tests/benchmarks), while the site keeps answering.
        assert len(inflated["answers"]) == 3 and (200, "too_complex") in inflated["answers"]
        assert set(inflated["answers"]) <= {(200, "too_complex"), (503, "verifier_busy")}
        assert inflated["health"] == 200


def _three_inflated_at_once(url: str) -> dict:
    """POST three credentials carrying 10,000 alignments each at the same time, and ask /healthz
    meanwhile; returns each answer's (status, first error code) and the health status."""
    import requests

    from tests.verify.credentials import did_key_pair, ob3_credential

    document = ob3_credential(did_key_pair().controller)
    document["credentialSubject"]["achievement"]["alignment"] = [
        {"type": ["Alignment"], "targetName": f"S{i}", "targetUrl": f"https://s.example/{i}"}
        for i in range(10_000)]
    answers: list[tuple[int, str | None]] = []

    def post():
        response = requests.post(url + "/api/v1/verify", json=document, timeout=60)
        body = response.json()
        answers.append((response.status_code, (body.get("errors") or [{}])[0].get("code") or body.get("error")))

    threads = [threading.Thread(target=post) for _ in range(3)]
    for thread in threads:
        thread.start()
    health = requests.get(url + "/healthz", timeout=60).status_code
    for thread in threads:
        thread.join(60)
    return {"answers": answers, "health": health}
