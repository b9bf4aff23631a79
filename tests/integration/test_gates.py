"""Several gate processes on one PostgreSQL register: an objection committed through one
``permis serve`` is refused by the other at its very next check (every check reads the register;
no process keeps a cache to invalidate)."""

from __future__ import annotations

import time

import httpx
import pytest

from permis.bootstrap import build
from permis.config import Settings
from permis.services.keys import Role
from tests.conftest import BACKEND
from tests.integration.serve_helpers import free_port, start_serve, stop

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="several gate processes share a PostgreSQL register"
)
SAMPLES = 20


def test_an_objection_through_one_process_is_refused_by_the_other_at_once(
    database_url: str,
) -> None:
    app = build(Settings(database_url=database_url))
    app.register.ensure_principal("choucroute")
    agent = {"Authorization": f"Bearer {app.keys.create(Role.AGENT).key}"}
    dialer = {"Authorization": f"Bearer {app.keys.create(Role.CAMPAIGN).key}"}
    app.close()
    env = {"PERMIS_DISPATCH_IN_SERVE": "0"}
    one, two = free_port(), free_port()
    procs = [start_serve(database_url, one, **env), start_serve(database_url, two, **env)]
    seen: list[float] = []
    try:
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{one}", timeout=10) as a,
            httpx.Client(base_url=f"http://127.0.0.1:{two}", timeout=10) as b,
        ):
            for i in range(SAMPLES):
                contact = f"+3361234{i:04d}"
                query = {"contact": contact, "channel": "call"}
                before = b.get("/v1/decisions", params=query, headers=dialer).json()
                assert "OBJECTION" not in [r["code"] for r in before["reasons"]]
                body = {"contact": contact, "source": "agent"}
                assert a.post("/v1/objections", json=body, headers=agent).status_code == 201
                committed = time.perf_counter()
                after = b.get("/v1/decisions", params=query, headers=dialer).json()
                seen.append(time.perf_counter() - committed)
                assert after["allowed"] is False
                assert "OBJECTION" in [r["code"] for r in after["reasons"]]  # the first check
    finally:
        for proc in procs:
            stop(proc)
    seen.sort()
    print(
        f"\nvisibility through another process: first check refused in {SAMPLES}/{SAMPLES}; "
        f"201 → refusal p50 {seen[len(seen) // 2] * 1000:.1f} ms, max {seen[-1] * 1000:.1f} ms"
    )
