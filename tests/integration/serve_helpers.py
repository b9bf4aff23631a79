"""Real ``permis serve`` processes and a real webhook receiver, for crash and multi-process tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_serve(database_url: str, port: int, **env: str) -> subprocess.Popen[bytes]:
    """``permis serve`` on ``port``, ready to answer when this returns."""
    environ = {**os.environ, "PERMIS_DATABASE_URL": database_url, **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "permis.entrypoints.cli", "serve", "--port", str(port)],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"permis serve exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("permis serve did not start within 30 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class _Hook(BaseHTTPRequestHandler):
    server: Any

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        self.server.record(self.headers.get("webhook-id", ""), body)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class WebhookServer(ThreadingHTTPServer):
    """Counts every request and each distinct ``webhook-id`` (what the application applies),
    with the time the first one of each arrived."""

    daemon_threads = True
    request_queue_size = 1024  # the default backlog of 5 drops concurrent connects

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Hook)
        self.lock = threading.Lock()
        self.requests = 0
        self.first_seen: dict[str, float] = {}
        self.bodies: dict[str, bytes] = {}

    def record(self, msg_id: str, body: bytes) -> None:
        now = time.time()
        with self.lock:
            self.requests += 1
            if msg_id not in self.first_seen:
                self.first_seen[msg_id] = now
                self.bodies[msg_id] = body

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@contextmanager
def webhook_server() -> Iterator[WebhookServer]:
    server = WebhookServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
