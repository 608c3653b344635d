"""Tiny threaded HTTP(S) servers on 127.0.0.1 for the fetch and verifier tests (never another address)."""
from __future__ import annotations

import contextlib
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Routes:
    """Path -> (status, headers, body) or a callable(handler); records the requests it saw."""

    def __init__(self):
        self.routes: dict = {}
        self.seen: list[dict] = []

    def add(self, path: str, body, status: int = 200, content_type: str = "application/json", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.routes[path] = (status, {"Content-Type": content_type, **(headers or {})}, body)


def _handler(routes: Routes):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output clean
            pass

        def do_GET(self):
            routes.seen.append({"path": self.path, "headers": dict(self.headers)})
            route = routes.routes.get(self.path)
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if callable(route):
                route(self)
                return
            status, headers, body = route
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextlib.contextmanager
def serve(routes: Routes, *, tls_context: ssl.SSLContext | None = None):
    """Serve ``routes`` on 127.0.0.1 (an ephemeral port) in a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(routes))
    server.daemon_threads = True
    if tls_context is not None:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    scheme = "https" if tls_context else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def slow_route(delay: float, body: bytes = b"{}"):
    """A route that sends its headers, then drips the body slower than any deadline we allow."""
    def route(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body) * 100))
        handler.end_headers()
        end = time.monotonic() + delay
        with contextlib.suppress(OSError):
            while time.monotonic() < end:
                handler.wfile.write(body[:1])
                handler.wfile.flush()
                time.sleep(0.2)
    return route


def chunked_route(total: int):
    """A route with no Content-Length that streams ``total`` bytes (the cap must stop it)."""
    def route(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        sent = 0
        piece = b"x" * 8192
        with contextlib.suppress(OSError):
            while sent < total:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
            handler.wfile.write(b"0\r\n\r\n")
    return route
