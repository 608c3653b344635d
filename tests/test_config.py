"""Settings: secrets generated once per instance, safely, even when several workers start together."""
import multiprocessing

from app import config
from tests.conftest import PASSWORD


def _load_secret(folder, barrier, queue):
    barrier.wait()
    queue.put(config.load(env={"SILLAGE_INSTANCE_PATH": str(folder)})["SECRET_KEY"])


def test_workers_starting_together_share_one_complete_secret(tmp_path):
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(8), ctx.Queue()
    workers = [ctx.Process(target=_load_secret, args=(tmp_path, barrier, queue)) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    values = {queue.get(timeout=5) for _ in workers}
    assert len(values) == 1 and len(values.pop()) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master_key", "secret_key"]  # no temp files left


def test_given_secrets_are_not_written_to_the_instance(tmp_path):
    settings = config.load(env={}, overrides={"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "s",
                                              "MASTER_KEY": "m"})
    assert settings["SECRET_KEY"] == "s" and settings["INSTANCE_PATH"] == str(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_empty_secret_file_refuses_to_start(tmp_path):
    (tmp_path / "secret_key").write_text("")
    try:
        config.load(env={"SILLAGE_INSTANCE_PATH": str(tmp_path)})
    except RuntimeError as exc:
        assert "secret_key is empty" in str(exc)
    else:
        raise AssertionError("an empty secret must stop the start")


def test_forwarded_for_is_ignored_without_a_trusted_proxy(app_settings, make_user):
    """Without SILLAGE_PROXY_HOPS, a client cannot pick its own address to escape the per-IP limit."""
    from app import create_app
    from tests.helpers import csrf_token

    app_settings["RATE_LIMIT_LOGIN"] = "2/minute"
    app = create_app(app_settings)
    client = app.test_client()
    with app.app_context():
        codes = []
        for n in range(3):
            page = client.get("/login")
            codes.append(client.post("/login", headers={"X-Forwarded-For": f"203.0.113.{n}"},
                                     data={"email": "nobody@example.org", "password": PASSWORD,
                                           "csrf_token": csrf_token(page)}).status_code)
    assert codes[-1] == 429


def test_signed_in_pages_are_not_cached(logged_in):
    assert logged_in.get("/dashboard").headers["Cache-Control"] == "no-store"
    assert "no-store" not in logged_in.get("/static/sillage.css").headers.get("Cache-Control", "")
