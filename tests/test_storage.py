"""Blob storage backends (``app.storage``): the same tests on local files and on a real S3 server.

The S3 runs use SeaweedFS, which ``.ci/run`` starts on 127.0.0.1 with an access key and secret and
exports as ``SILLAGE_TEST_S3_URL``, ``SILLAGE_TEST_S3_ACCESS_KEY_ID`` and
``SILLAGE_TEST_S3_SECRET_ACCESS_KEY``. A real server rather than moto, because moto accepts any
secret: the wrong-secret test below would pass against it without proving anything. Without those
variables (a developer without SeaweedFS) the S3 runs are skipped, saying so; in CI they must run.
"""
from __future__ import annotations

import hashlib
import io
import os
import socket
import stat
import tracemalloc
import uuid

import pytest

from app import create_app, storage

S3_URL = os.environ.get("SILLAGE_TEST_S3_URL")
S3_KEY = os.environ.get("SILLAGE_TEST_S3_ACCESS_KEY_ID")
S3_SECRET = os.environ.get("SILLAGE_TEST_S3_SECRET_ACCESS_KEY")
BUCKET = "sillage-test"
MiB = storage.MiB
PART = storage.S3Storage.MIN_PART_SIZE  # the smallest parts, so that every test crosses part boundaries


def _need_s3() -> None:
    if S3_URL and S3_KEY and S3_SECRET:
        return
    missing = "SILLAGE_TEST_S3_URL / _ACCESS_KEY_ID / _SECRET_ACCESS_KEY are not set"
    if os.environ.get("CI"):
        pytest.fail(f"{missing}: CI must run the S3 storage tests (.ci/run starts SeaweedFS and sets them)")
    pytest.skip(f"{missing}: S3 storage tests skipped (.ci/run starts SeaweedFS and sets them)")


@pytest.fixture(scope="session")
def s3_client():
    _need_s3()
    client = storage.s3_client(S3_URL, "us-east-1", S3_KEY, S3_SECRET)
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    except client.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
            raise
    return client


def _objects(client, prefix: str) -> list[str]:
    answer = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
    return [item["Key"] for item in answer.get("Contents", [])]


def _pending_uploads(client, prefix: str) -> list[str]:
    answer = client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix + "/")
    return [item["Key"] for item in answer.get("Uploads", [])]


@pytest.fixture
def s3_store(s3_client):
    """An S3 store under a prefix of its own (tests run in parallel), emptied afterwards."""
    prefix = f"t-{uuid.uuid4().hex}"
    yield storage.S3Storage(s3_client, BUCKET, prefix, part_size=PART)
    for name in _objects(s3_client, prefix):
        s3_client.delete_object(Bucket=BUCKET, Key=name)
    for upload in s3_client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix + "/").get("Uploads", []):
        s3_client.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return storage.FileStorage(tmp_path)
    return request.getfixturevalue("s3_store")


def _leftovers(store) -> list[str]:
    """Everything the backend holds besides blobs: temporary files (local), objects and pending
    multipart uploads (S3)."""
    if isinstance(store, storage.FileStorage):
        return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())
    pending = _pending_uploads(store.client, store.prefix)
    return _objects(store.client, store.prefix) + [f"upload:{name}" for name in pending]


def _block(i: int, size: int = 64 * 1024) -> bytes:
    """The i-th chunk of a generated stream: different for every i, so misplaced parts are caught."""
    return i.to_bytes(8, "big") * (size // 8)


class ClientGone(Exception):
    """What the request stream raises when the client disconnects mid-upload."""


# --- Every backend ---------------------------------------------------------------------------------------


def test_round_trip(store):
    key = "photos/abc/one.jpg"
    assert not store.exists(key)
    store.put(key, b"first", "image/jpeg")
    store.put(key, b"second", "image/jpeg")  # replaced atomically
    assert store.get(key) == b"second" and store.exists(key) and store.size(key) == 6
    with store.open(key) as fh:
        assert fh.read(3) == b"sec" and fh.read() == b"ond" and fh.read(5) == b""
    assert store.put_stream("a/b", iter([b"ab", b"", b"cd"]), "text/plain") == 4
    assert store.get("a/b") == b"abcd"
    assert store.put_stream("empty", iter([]), "text/plain") == 0
    assert store.get("empty") == b"" and store.size("empty") == 0 and store.exists("empty")
    store.delete(key)
    store.delete(key)  # missing is fine
    assert not store.exists(key)
    assert sorted(_leftovers(store)) == sorted(_leftovers_of(store, ["a/b", "empty"]))


def _leftovers_of(store, keys):
    """What ``_leftovers`` shows when exactly ``keys`` are stored."""
    return [store._name(k) if isinstance(store, storage.S3Storage) else k for k in keys]


def test_missing_blob_is_blob_not_found_for_every_read(store):
    store.put("dir/x", b"x", "text/plain")
    for read in (lambda: store.get("nope"), lambda: store.open("nope"), lambda: store.size("nope"),
                 lambda: store.get_range("nope", 0, 10), lambda: store.get_range("nope", 0, 0),
                 lambda: store.get("dir"), lambda: store.size("dir"), lambda: store.size("dir/x/y")):
        with pytest.raises(storage.BlobNotFound):
            read()
    assert not store.exists("nope")


@pytest.mark.parametrize("key", ["../secret", "/etc/passwd", "a/../b", "a//b", "", ".hidden", "a/.b", "a\\b",
                                 "a/b/", "é", "a b", "x" * 129, ".tmp-abc", "a/" * 16 + "a", None])
def test_unsafe_keys_are_refused_by_every_operation(store, key):
    for call in (lambda: store.put(key, b"x", "text/plain"),
                 lambda: store.put_stream(key, [b"x"], "text/plain"),
                 lambda: store.get(key), lambda: store.open(key), lambda: store.get_range(key, 0, 1),
                 lambda: store.size(key), lambda: store.delete(key), lambda: store.exists(key)):
        with pytest.raises(ValueError):
            call()
    assert _leftovers(store) == []


def test_range_reads(store):
    store.put("r", b"0123456789", "text/plain")
    assert store.get_range("r", 0, 3) == b"012"
    assert store.get_range("r", 8, 10) == b"89"  # shorter at the end
    assert store.get_range("r", 9, 1) == b"9"
    assert store.get_range("r", 10, 5) == b"" and store.get_range("r", 50, 1) == b""  # past the end
    assert store.get_range("r", 4, 0) == b""
    for start, length in ((-1, 2), (0, -1), (1.5, 2), ("0", 1)):
        with pytest.raises(ValueError):
            store.get_range("r", start, length)
    with store.open("r") as fh:  # seekable: what an HTTP Range download needs
        assert fh.seekable()
        fh.seek(5)
        assert fh.read(3) == b"567" and fh.tell() == 8
        fh.seek(-3, io.SEEK_END)
        assert fh.read() == b"789"
        fh.seek(1)
        assert fh.read(2) == b"12"
        fh.seek(2, io.SEEK_CUR)
        assert fh.read(1) == b"5"


def test_streamed_put_of_50_mib_keeps_memory_flat(store):
    """50 MiB from a generator: the data never exists whole (each chunk is made when asked for), and
    the traced peak during the upload stays far below the size, so the backend does not keep them."""
    count = 50 * 16  # 64 KiB chunks
    produced = hashlib.sha256()
    consumed = []

    def chunks():
        for i in range(count):
            block = _block(i)
            produced.update(block)
            consumed.append(i)
            yield block

    tracemalloc.start()
    try:
        written = store.put_stream("big/video.bin", chunks(), "video/mp4")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == count * 64 * 1024 == 50 * MiB and consumed == list(range(count))
    # Local: about one chunk (0.2 MiB measured). S3: one 5 MiB part (5.5 MiB measured), never two.
    limit = MiB if isinstance(store, storage.FileStorage) else PART + 2 * MiB
    assert peak < limit, f"peak {peak / MiB:.1f} MiB while storing 50 MiB"
    assert store.size("big/video.bin") == 50 * MiB
    read = hashlib.sha256()
    with store.open("big/video.bin") as fh:
        while block := fh.read(1024 * 1024):
            read.update(block)
    assert read.hexdigest() == produced.hexdigest()
    # Ranges across the 5 MiB part boundaries come back from the right place.
    boundary = PART
    expected = _block(boundary // 65536 - 1)[-10:] + _block(boundary // 65536)[:10]
    assert store.get_range("big/video.bin", boundary - 10, 20) == expected
    with store.open("big/video.bin") as fh:
        fh.seek(3 * boundary - 10)
        assert fh.read(20) == _block(3 * boundary // 65536 - 1)[-10:] + _block(3 * boundary // 65536)[:10]


@pytest.mark.parametrize("size", [1, PART - 1, PART, PART + 1, 2 * PART + 3])
def test_sizes_around_the_part_size_round_trip(store, size):
    data = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    step = 100_000
    assert store.put_stream("p", (data[i:i + step] for i in range(0, size, step)), "application/pdf") == size
    assert store.size("p") == size and store.get("p") == data
    assert store.get_range("p", max(0, size - 2), 10) == data[-2:]
    assert _leftovers(store) == _leftovers_of(store, ["p"])


@pytest.mark.parametrize("before_failure", [3 * 64 * 1024, 2 * PART + 64 * 1024])
def test_abandoned_write_leaves_nothing(store, before_failure):
    """The client disconnects mid-upload (within the first part, or after two parts went up): its
    exception reaches the caller, nothing is stored under the key, the previous blob stays, and no
    temporary file (local) or pending multipart upload (S3) is left."""
    store.put("doc", b"previous version", "text/plain")

    def chunks():
        for i in range(before_failure // 65536):
            yield _block(i)
        raise ClientGone()

    with pytest.raises(ClientGone):
        store.put_stream("doc", chunks(), "application/pdf")
    with pytest.raises(ClientGone):
        store.put_stream("new/doc", chunks(), "application/pdf")
    assert store.get("doc") == b"previous version" and not store.exists("new/doc")
    assert _leftovers(store) == _leftovers_of(store, ["doc"])
    if isinstance(store, storage.S3Storage):  # the listing above does see a pending upload
        name = store._name("pending")
        upload = store.client.create_multipart_upload(Bucket=BUCKET, Key=name)["UploadId"]
        assert _leftovers(store) == _leftovers_of(store, ["doc"]) + [f"upload:{name}"]
        store.client.abort_multipart_upload(Bucket=BUCKET, Key=name, UploadId=upload)


def test_a_local_disk_failure_is_storage_unavailable(tmp_path):
    store = storage.FileStorage(tmp_path)
    store.root.parent.mkdir(exist_ok=True)
    store.root.write_bytes(b"not a folder")  # the blob folder cannot be created
    for call in (lambda: store.put("k", b"v", "text/plain"), lambda: store.put_stream("a/k", [b"v"], "x/y")):
        with pytest.raises(storage.StorageUnavailable, match="local storage error"):
            call()


def test_files_are_private_and_replaced_atomically(tmp_path):
    store = storage.FileStorage(tmp_path)
    store.put_stream("photos/x/one.jpg", [b"a", b"b"], "image/jpeg")
    path = tmp_path / "blobs" / "photos" / "x" / "one.jpg"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and path.read_bytes() == b"ab"
    assert [p.name for p in path.parent.iterdir()] == ["one.jpg"]


# --- S3 only ------------------------------------------------------------------------------------------


def test_s3_objects_sit_under_the_prefix_with_their_content_type(s3_store):
    s3_store.put("photos/p/1.jpg", b"jpeg", "image/jpeg")
    head = s3_store.client.head_object(Bucket=BUCKET, Key=f"{s3_store.prefix}/photos/p/1.jpg")
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == 4


def test_a_store_failure_mid_upload_aborts_the_upload(s3_store, monkeypatch):
    """The second part is refused by the server (an unknown upload id): StorageUnavailable, and the
    real upload, whose first part went up, is aborted rather than left pending."""
    real = s3_store.client.upload_part

    def second_part_refused(**arguments):
        if arguments["PartNumber"] == 2:
            arguments = {**arguments, "UploadId": "no-such-upload"}
        return real(**arguments)

    monkeypatch.setattr(s3_store.client, "upload_part", second_part_refused)
    with pytest.raises(storage.StorageUnavailable, match="upload a part"):
        s3_store.put_stream("doc", (_block(i) for i in range(3 * PART // 65536)), "application/pdf")
    assert _leftovers(s3_store) == []


def test_a_wrong_secret_is_refused_by_the_server(s3_client, s3_store):
    """SeaweedFS checks signatures: the same access key with a wrong secret is refused, and the refusal
    is StorageUnavailable with the server's code, the secret appearing nowhere in the message."""
    s3_store.put("k", b"v", "text/plain")
    wrong = "x" + S3_SECRET[1:]
    bad = storage.S3Storage(storage.s3_client(S3_URL, "us-east-1", S3_KEY, wrong, max_attempts=1),
                            BUCKET, s3_store.prefix, part_size=PART)
    codes = []
    for call in (lambda: bad.get("k"), lambda: bad.put("k", b"evil", "text/plain"), lambda: bad.delete("k"),
                 lambda: bad.get_range("k", 0, 1), lambda: bad.size("k"),
                 lambda: bad.put_stream("m", (_block(i) for i in range(100)), "text/plain")):
        with pytest.raises(storage.StorageUnavailable) as refused:
            call()
        codes.append(refused.value.code)
        assert wrong not in str(refused.value) and S3_SECRET not in str(refused.value)
    # A HEAD has no body to carry the code: its refusal is a bare 403.
    assert codes == ["SignatureDoesNotMatch"] * 4 + ["403", "SignatureDoesNotMatch"]
    with pytest.raises(storage.StorageUnavailable):
        bad.exists("k")  # a HEAD refused is not "missing"
    assert s3_store.get("k") == b"v" and not s3_store.exists("m")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_s3_is_storage_unavailable():
    client = storage.s3_client(f"http://127.0.0.1:{_closed_port()}", "us-east-1", "key", "secret",
                               max_attempts=1, connect_timeout=1)
    store = storage.S3Storage(client, BUCKET, "p")
    for call in (lambda: store.get("k"), lambda: store.put("k", b"v", "text/plain"),
                 lambda: store.exists("k"),
                 lambda: store.size("k"), lambda: store.get_range("k", 0, 1), lambda: store.delete("k"),
                 lambda: store.open("k"), lambda: store.put_stream("k", iter([b"x" * PART, b"y"]), "a/b")):
        with pytest.raises(storage.StorageUnavailable, match="unreachable"):
            call()


def test_a_part_size_under_the_s3_minimum_is_refused():
    with pytest.raises(ValueError, match="5 MiB"):
        storage.S3Storage(client=None, bucket=BUCKET, part_size=PART - 1)


# --- Configuration -----------------------------------------------------------------------------------------


@pytest.fixture
def no_ambient_aws(monkeypatch, tmp_path):
    """No credentials from the developer's environment, profile files or an instance role."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


S3_OPTIONS = {"S3_ENDPOINT_URL": "http://127.0.0.1:8333", "S3_ACCESS_KEY_ID": "k",
              "S3_SECRET_ACCESS_KEY": "s"}


def test_s3_url_builds_an_s3_store(no_ambient_aws):
    store = storage.from_url("s3://my-bucket/sillage/prod/", S3_OPTIONS)
    assert isinstance(store, storage.S3Storage)
    assert (store.bucket, store.prefix, store._name("photos/a.jpg")) == ("my-bucket", "sillage/prod",
                                                                          "sillage/prod/photos/a.jpg")
    assert storage.from_url("s3://my-bucket", S3_OPTIONS)._name("k") == "k"
    assert store.client.meta.endpoint_url == "http://127.0.0.1:8333"


def test_s3_credentials_may_come_from_boto3s_own_variables(no_ambient_aws, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "env-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    store = storage.from_url("s3://my-bucket/p", {"S3_ENDPOINT_URL": "https://s3.example.org"})
    assert store.client._request_signer._credentials.access_key == "env-key"


@pytest.mark.parametrize("url, options, words", [
    ("s3:///prefix", S3_OPTIONS, "SILLAGE_STORAGE_URL must be s3://bucket/prefix"),
    ("s3://Bad_Bucket/p", S3_OPTIONS, "SILLAGE_STORAGE_URL must be s3://bucket/prefix"),
    ("s3://key:secret@bucket/p", S3_OPTIONS, "SILLAGE_STORAGE_URL must be s3://bucket/prefix"),
    ("s3://bucket/p?region=x", S3_OPTIONS, "SILLAGE_STORAGE_URL takes no query"),
    ("s3://bucket/../x", S3_OPTIONS, "prefix '../x' of SILLAGE_STORAGE_URL"),
    ("s3://bucket/p", {**S3_OPTIONS, "S3_SECRET_ACCESS_KEY": None},
     "SILLAGE_S3_SECRET_ACCESS_KEY is not set"),
    ("s3://bucket/p", {**S3_OPTIONS, "S3_ACCESS_KEY_ID": ""}, "SILLAGE_S3_ACCESS_KEY_ID is not set"),
    ("s3://bucket/p", {"S3_ENDPOINT_URL": "http://127.0.0.1:8333"},
     "no S3 credentials.*SILLAGE_S3_ACCESS_KEY_ID"),
    ("s3://bucket/p", {**S3_OPTIONS, "S3_ENDPOINT_URL": "127.0.0.1:8333"}, "SILLAGE_S3_ENDPOINT_URL must be"),
    ("s3://bucket/p", {**S3_OPTIONS, "S3_ENDPOINT_URL": "http://u:pw@host"},
     "SILLAGE_S3_ENDPOINT_URL must be"),
    ("ftp://host/x", {}, "Unsupported SILLAGE_STORAGE_URL scheme"),
    ("file://relative/path", {}, "file:///absolute/path"),
    ("file://u:pw@host/path", {}, "file:///absolute/path, not 'file://\\*\\*\\*@host/path'"),
])
def test_unusable_storage_settings_are_clear_configuration_errors(no_ambient_aws, url, options, words):
    with pytest.raises(storage.StorageConfigError, match=words) as refused:
        storage.from_url(url, options)
    assert "pw" not in str(refused.value) and "secret" not in str(refused.value).replace("SECRET", "")


def test_start_up_accepts_s3_and_stops_on_missing_credentials(no_ambient_aws, app_settings):
    app = create_app({**app_settings, "STORAGE_URL": "s3://bucket/sillage", **S3_OPTIONS})
    assert isinstance(app.extensions[storage.EXTENSION_KEY], storage.S3Storage)
    with pytest.raises(storage.StorageConfigError, match="SILLAGE_S3_ACCESS_KEY_ID"):
        create_app({**app_settings, "STORAGE_URL": "s3://bucket/sillage", "S3_ENDPOINT_URL": "http://h"})


def test_s3_settings_come_from_the_environment(no_ambient_aws, monkeypatch, app_settings):
    from app import config
    env = {"SILLAGE_STORAGE_URL": "s3://b-1/x", "SILLAGE_S3_ENDPOINT_URL": "http://127.0.0.1:1",
           "SILLAGE_S3_REGION": "eu-west-3", "SILLAGE_S3_ACCESS_KEY_ID": "a",
           "SILLAGE_S3_SECRET_ACCESS_KEY": "b"}
    settings = config.load(env, {"INSTANCE_PATH": app_settings["INSTANCE_PATH"], "SECRET_KEY": "x",
                                 "MASTER_KEY": "y"})
    store = storage.from_url(settings["STORAGE_URL"], settings)
    assert (store.bucket, store.prefix, store.client.meta.region_name) == ("b-1", "x", "eu-west-3")


# --- The profile photos on S3 -----------------------------------------------------------------------------


@pytest.fixture
def on_s3(app_settings, s3_store):
    """The application configured with the S3 backend (to be asked for before ``app``)."""
    app_settings.update(STORAGE_URL=f"s3://{BUCKET}/{s3_store.prefix}", S3_ENDPOINT_URL=S3_URL,
                        S3_ACCESS_KEY_ID=S3_KEY, S3_SECRET_ACCESS_KEY=S3_SECRET)
    return s3_store


def test_photo_blobs_follow_the_transaction_on_s3(on_s3, app, make_user):
    from tests import test_services_portfolio as photo_tests

    assert isinstance(storage.backend(), storage.S3Storage)
    owner = make_user("owner@example.org")
    photo_tests.test_photo_blobs_follow_the_transaction(app, owner)
    photo_tests.test_missing_blob_reads_as_no_photo(owner)
    key = photo_tests.photos.set_photo(photo_tests.db.session, owner, photo_tests.image_bytes()).photo_key
    photo_tests.db.session.commit()
    assert _objects(on_s3.client, on_s3.prefix) == [f"{on_s3.prefix}/{key}"]


def test_delete_prefix_removes_one_folder_and_nothing_beside_it(store):
    """What account deletion uses for the owner's vault: everything under the prefix goes, a sibling
    whose name merely starts the same stays, and a missing prefix is no error."""
    for key in ("vault/aa/1", "vault/aa/2", "vault/aa/sub/3", "vault/aab/4", "vault/b/5"):
        store.put(key, key.encode(), "application/octet-stream")
    assert store.delete_prefix("vault/aa") == 3
    assert [store.exists(k) for k in ("vault/aa/1", "vault/aa/sub/3", "vault/aab/4", "vault/b/5")] == \
        [False, False, True, True]
    assert store.delete_prefix("vault/aa") == 0 and store.delete_prefix("vault/none") == 0
    assert sorted(_leftovers(store)) == sorted(_leftovers_of(store, ["vault/aab/4", "vault/b/5"]))
    with pytest.raises(ValueError):
        store.delete_prefix("../x")


def test_delete_prefix_aborts_pending_uploads_beyond_one_listing_page(s3_store, monkeypatch):
    """One ListMultipartUploads answer holds at most 1,000 uploads (here 2, the store's page size made
    small): every page is followed (KeyMarker / UploadIdMarker, several uploads on one key included), so
    none under the prefix survives, and one beside it is left alone. The server really pages: the test
    checks that a one-page listing is truncated, else it would prove nothing."""
    monkeypatch.setattr(s3_store, "LIST_PAGE", 2)
    client, prefix = s3_store.client, s3_store.prefix
    for key in ("vault/aa/1", "vault/aa/1", "vault/aa/2", "vault/aa/sub/3", "vault/aa/sub/3", "vault/aab/4"):
        client.create_multipart_upload(Bucket=BUCKET, Key=f"{prefix}/{key}")
    for key in ("vault/aa/5", "vault/aa/6", "vault/aa/7"):
        s3_store.put(key, b"x", "application/octet-stream")
    first = client.list_multipart_uploads(Bucket=BUCKET, Prefix=f"{prefix}/vault/aa/", MaxUploads=2)
    assert first["IsTruncated"] and len(first["Uploads"]) == 2
    assert s3_store.delete_prefix("vault/aa") == 3
    assert _leftovers(s3_store) == [f"upload:{prefix}/vault/aab/4"]
