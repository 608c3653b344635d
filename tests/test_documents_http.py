"""The vault over real sockets (werkzeug's threaded server in this process): the encrypted blob is
written while the request body is still arriving; a client that disconnects mid-upload leaves no row,
no blob, no temporary file and the quota unchanged; damage found late in a download cuts the connection
short of its Content-Length, so a client can never take a partial file for the document."""
from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.extensions import db
from app.models import Document
from app.services import documents, tokens
from certs import vault

MiB = 1024 * 1024
BOUNDARY = "sillage-http-test"


@pytest.fixture
def server(app):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port
    httpd.shutdown()
    thread.join(10)


@pytest.fixture
def token(user):
    _, raw = tokens.create_token(db.session, user, "http")
    db.session.commit()
    return raw


def blob_files(app) -> list[Path]:
    root = Path(app.config["INSTANCE_PATH"]) / "blobs"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def wait_for(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def head(length: int | None, token: str) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    part = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n")
    request = (f"POST /api/v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
               f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{framing}\r\n\r\n")
    return request.encode(), part.encode()


@pytest.mark.parametrize("chunked", [False, True])
def test_the_blob_is_written_while_the_body_arrives_and_a_disconnect_leaves_nothing(app, server, token, user,
                                                                                   chunked):
    request_head, part = head(None if chunked else 64 * MiB, token)
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(request_head)
        piece = os.urandom(MiB)
        first = part + piece
        sock.sendall(b"%x\r\n%s\r\n" % (len(first), first) if chunked else first)
        for _ in range(5):
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        # Streaming: a temporary encrypted blob exists while the request is not finished.
        assert wait_for(lambda: any(p.name.startswith(".tmp-") for p in blob_files(app)))
        temporary = next(p for p in blob_files(app) if p.name.startswith(".tmp-"))
        assert piece[:1024] not in temporary.read_bytes()  # encrypted on its way to storage
    # The client is gone mid-file: the server notices, removes the partial blob, stores no row.
    assert wait_for(lambda: blob_files(app) == [])
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    assert documents.usage(db.session, user)[0] == 0


def test_a_complete_upload_and_download_over_http(app, server, token):
    data = os.urandom(3 * MiB + 1)
    body = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="ok.bin"\r\n\r\n'.encode()
            + data + f"\r\n--{BOUNDARY}--\r\n".encode())
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    connection.request("POST", "/api/v1/documents", body=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    response = connection.getresponse()
    document = json.loads(response.read())
    assert response.status == 201 and document["size"] == len(data)
    connection.request("GET", document["content_url"], headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    assert response.status == 200 and response.read() == data


def test_damage_late_in_a_download_cuts_the_connection_short(app, server, token, user):
    data = os.urandom(40 * vault.CHUNK_SIZE)
    document = documents.store(db.session, user, "a.bin", [data])
    db.session.commit()
    path = Path(app.config["INSTANCE_PATH"]) / "blobs" / document.blob_key
    raw = bytearray(path.read_bytes())
    raw[vault.HEADER_SIZE + 30 * vault.SEALED_CHUNK_SIZE + 9] ^= 1
    path.write_bytes(bytes(raw))
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    connection.request("GET", f"/api/v1/documents/{document.id}/content",
                       headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    assert response.status == 200 and int(response.headers["Content-Length"]) == len(data)
    with pytest.raises(http.client.IncompleteRead) as cut:
        response.read()
    received = cut.value.partial
    assert len(received) < len(data) and received == data[:len(received)]
