"""Crash test: ``permis serve`` on PostgreSQL takes 10,000 objections from concurrent clients
and is killed with SIGKILL in the middle. After a restart: every objection that got a 2xx is in
the register, the hash chain verifies, and every objection is delivered to the processor's
webhook, each applied once (the receiver de-duplicates on ``webhook-id``).

PostgreSQL only (the deployment with several processes); on SQLite it is not collected.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time

import httpx
import pytest

from permis.adapters.db.database import Database
from permis.bootstrap import build
from permis.config import Settings
from permis.services.audit import verify
from permis.services.keys import Role
from permis.services.processors import Processors
from tests.conftest import BACKEND
from tests.integration.serve_helpers import free_port, start_serve, stop, webhook_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BACKEND != "postgresql", reason="the crash test runs on PostgreSQL"),
]
TOTAL = int(os.environ.get("PERMIS_CRASH_TOTAL", "10000"))  # smaller only to debug
KILL_AFTER, CLIENTS = TOTAL * 2 // 5, 12


def _contact(i: int) -> str:
    return f"+3361{i:07d}"


def _send(
    port: int,
    key: str,
    todo: queue.Queue[int],
    ok: list[int],
    left: list[int],
    killed: threading.Event,
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        while True:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            if killed.is_set():
                left.append(i)
                continue
            body = {"contact": _contact(i), "source": "agent"}
            try:
                got = client.post(
                    "/v1/objections", json=body, headers={**headers, "Idempotency-Key": f"k{i}"}
                )
            except httpx.HTTPError:
                left.append(i)
                continue
            (ok if got.is_success else left).append(i)


def _run_clients(
    port: int,
    key: str,
    items: list[int],
    killed: threading.Event,
    kill_at: int | None,
    proc: object,
) -> tuple[list[int], list[int]]:
    todo: queue.Queue[int] = queue.Queue()
    for i in items:
        todo.put(i)
    ok: list[int] = []
    left: list[int] = []
    threads = [
        threading.Thread(target=_send, args=(port, key, todo, ok, left, killed))
        for _ in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    while kill_at is not None and any(t.is_alive() for t in threads):
        if len(ok) >= kill_at:
            os.kill(proc.pid, signal.SIGKILL)  # type: ignore[attr-defined]
            killed.set()
            break
        time.sleep(0.005)
    for thread in threads:
        thread.join()
    return ok, left


def test_no_acknowledged_objection_is_lost_under_sigkill_and_all_are_delivered(
    database_url: str,
) -> None:
    app = build(Settings(database_url=database_url))
    app.register.ensure_principal("choucroute")
    key = app.keys.create(Role.AGENT).key
    with webhook_server() as receiver:
        Processors(app.db, app.clock).add(None, "lille", ["call"], webhook=receiver.url)
        app.close()
        env = {"PERMIS_DELIVERY_LEASE_SECONDS": "2"}
        port = free_port()
        started = time.monotonic()
        proc = start_serve(database_url, port, **env)
        killed = threading.Event()
        acked, left = _run_clients(port, key, list(range(TOTAL)), killed, KILL_AFTER, proc)
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        assert KILL_AFTER <= len(acked) < TOTAL
        proc = start_serve(database_url, port, **env)
        try:
            again, failed = _run_clients(port, key, left, threading.Event(), None, proc)
            assert failed == []
            deadline = time.monotonic() + 60
            while len(receiver.first_seen) < TOTAL and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            stop(proc)
        elapsed = time.monotonic() - started
    db = Database(database_url)
    with db.transaction() as cur:
        keys = {
            r[0]
            for r in cur.execute(
                "SELECT idempotency_key FROM events WHERE type = 'ObjectionRecorded'"
            )
        }
        pending = cur.execute("SELECT COUNT(*) FROM deliveries WHERE state <> 'delivered'")[0][0]
    reports = verify(db)
    db.close()
    assert {f"k{i}" for i in acked} <= keys  # every 2xx survived the SIGKILL
    assert len(keys) == TOTAL  # and the retried ones are there once each
    assert all(r.ok for r in reports), reports
    assert pending == 0
    assert len(receiver.first_seen) == TOTAL  # every objection reached the processor
    delivered = {receiver.bodies[m] for m in receiver.first_seen}
    assert len(delivered) == TOTAL
    print(
        f"\ncrash test: {len(acked)} acknowledged before SIGKILL, {len(again)} after restart, "
        f"{receiver.requests} webhook requests for {TOTAL} opt-outs, {elapsed:.1f} s"
    )
