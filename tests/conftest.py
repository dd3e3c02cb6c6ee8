"""Shared fixtures: a local HTTP server for download tests, tiny IDX files; the stray-write check."""

import http.server
import pathlib
import threading

import pytest
from tmp_guard import pytest_sessionfinish, pytest_sessionstart  # noqa: F401 (hooks, found by name)

REPO = pathlib.Path(__file__).resolve().parents[1]


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves `server.files` {path: bytes}; `server.mode` can corrupt or cut responses."""

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        body = self.server.files.get(self.path)
        self.server.requests.append((self.path, self.headers.get("Range")))
        if body is None:
            self.send_error(404)
            return
        mode = self.server.modes.get(self.path, "ok")
        if mode == "corrupt":
            body = bytes(b ^ 0xFF for b in body[:64]) + body[64:]
        start = 0
        range_header = self.headers.get("Range")
        if range_header and self.server.honour_range:
            start = int(range_header.split("=")[1].split("-")[0])
            self.send_response(206)
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if mode == "truncate":
            # Promise the whole body, send half, then hang up: a dropped connection.
            self.wfile.write(payload[: len(payload) // 2])
            self.server.modes[self.path] = "ok"  # the retry succeeds
            return
        self.wfile.write(payload)


@pytest.fixture
def http_server():
    """A threaded HTTP server on 127.0.0.1 with a free port; yields (server, base_url)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.files, server.modes, server.requests, server.honour_range = {}, {}, [], True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
