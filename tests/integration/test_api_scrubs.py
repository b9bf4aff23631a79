"""Scrub jobs over HTTP: upload, poll, download; same answers as the command line's scrub."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

from permis.bootstrap import App
from permis.config import Settings
from permis.domain.model import Channel, Source
from permis.entrypoints.api import create_app
from permis.services.keys import Role

AT = "2026-11-24T10:30:00+01:00"
CAMPAIGN = "id;nom;telephone\n1;Émile;06 12 34 56 78\n2;Zoé;07 81 00 00 01\n3;Jean;n/a\n4;Léa;0690 12 34 56\n"


@pytest.fixture
def client(app: App, tmp_path: Path) -> Iterator[TestClient]:
    app.settings = Settings(
        database_url=app.settings.database_url,
        jobs_dir=str(tmp_path / "jobs"),
        scrub_max_bytes=4096,
    )
    with TestClient(create_app(app)) as test_client:
        yield test_client


def key(app: App, role: Role, processor: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.keys.create(role, processor=processor).key}"}


def upload(
    client: TestClient, headers: dict[str, str], body: bytes = CAMPAIGN.encode(), **form: str
) -> Any:
    files = {"file": ("campagne.csv", body, "text/csv")}
    return client.post(
        "/v1/scrubs", files=files, data={"channel": "call", "at": AT, **form}, headers=headers
    )


def wait(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    for _ in range(300):
        job: dict[str, Any] = client.get(f"/v1/scrubs/{job_id}", headers=headers).json()
        if job["state"] in {"done", "failed"}:
            return job
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


def test_upload_poll_download(app: App, client: TestClient) -> None:
    app.register.record_objection(principal=None, contact="0612345678", source=Source.AGENT)
    for number in ("0781000001", "0690123456"):
        app.register.record_consent(
            principal=None,
            contact=number,
            channel=Channel.CALL,
            source=Source.WEB,
            purpose="prospecting",
        )
    headers = key(app, Role.CAMPAIGN)
    started = upload(client, headers)
    assert started.status_code == 202
    assert started.json()["state"] in {"queued", "running", "done"}
    job = wait(client, started.json()["id"], headers)
    assert job["state"] == "done", job
    summary = job["summary"]
    assert {
        "input_rows",
        "allowed",
        "refused",
        "invalid",
        "by_reason",
        "seconds",
        "rows_per_second",
        "rules_version",
    } <= set(summary)
    assert (summary["input_rows"], summary["allowed"], summary["refused"], summary["invalid"]) == (
        4,
        1,
        2,
        1,
    )
    assert summary["by_reason"]["OBJECTION"] == 1
    assert job["progress"]["rows"] == 4
    allowed = client.get(job["links"]["allowed"], headers=headers)
    assert allowed.status_code == 200
    assert allowed.headers["content-type"].startswith("text/csv")
    rows = pl.read_csv(allowed.content, separator=";", infer_schema=False)
    assert sorted(rows["permis_contact"].to_list()) == ["+33781000001"]
    rejects = pl.read_csv(
        client.get(job["links"]["rejects"], headers=headers).content,
        separator=";",
        infer_schema=False,
    )
    assert sorted(rejects["permis_reasons"].to_list()) == [
        "INVALID_CONTACT",
        "OBJECTION|NO_CONSENT",
        "OUTSIDE_HOURS",  # 05:30 in Guadeloupe
    ]


def test_a_processor_scrubs_as_itself_and_sees_only_its_jobs(app: App, client: TestClient) -> None:
    app.register.add_processor(None, "tunis", ["call"])
    app.register.add_processor(None, "lille", ["call"])
    tunis, lille = key(app, Role.PROCESSOR, "tunis"), key(app, Role.PROCESSOR, "lille")
    refused = upload(client, tunis, processor="lille")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "PROCESSOR_NOT_AUTHORIZED"
    job = upload(client, tunis).json()
    assert job["request"]["processor"] == "tunis"
    assert wait(client, job["id"], tunis)["state"] == "done"
    other = client.get(f"/v1/scrubs/{job['id']}", headers=lille)
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "SCRUB_JOB_NOT_FOUND"
    assert client.get(f"/v1/scrubs/{job['id']}/allowed", headers=lille).status_code == 404
    assert (
        client.get(f"/v1/scrubs/{job['id']}", headers=key(app, Role.COMPLIANCE)).status_code == 200
    )


def test_bad_uploads_are_refused_with_clear_errors(app: App, client: TestClient) -> None:
    headers = key(app, Role.CAMPAIGN)
    too_big = upload(client, headers, body=b"0612345678\n" * 1000)
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    empty = upload(client, headers, body=b"")
    assert (empty.status_code, empty.json()["error"]["code"]) == (422, "EMPTY_FILE")
    naive = upload(client, headers, at="2026-11-24T10:30:00")
    assert (naive.status_code, naive.json()["error"]["code"]) == (422, "INVALID_TIME")
    no_file = client.post("/v1/scrubs", data={"channel": "call"}, headers=headers)
    assert (no_file.status_code, no_file.json()["error"]["code"]) == (422, "USAGE_ERROR")
    unknown = client.get("/v1/scrubs/" + "0" * 24, headers=headers)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "SCRUB_JOB_NOT_FOUND")
    assert client.get("/v1/scrubs/../../etc", headers=headers).status_code == 404


def test_a_job_that_cannot_be_read_fails_and_says_why(app: App, client: TestClient) -> None:
    headers = key(app, Role.CAMPAIGN)
    job = upload(client, headers, body=b"id;name\n1;Emile\n2;Zoe\n", column="telephone").json()
    done = wait(client, job["id"], headers)
    assert done["state"] == "failed"
    assert done["error"]["code"] == "USAGE_ERROR"
    assert "Emile" not in str(done)
    result = client.get(f"/v1/scrubs/{job['id']}/allowed", headers=headers)
    assert (result.status_code, result.json()["error"]["code"]) == (409, "SCRUB_JOB_NOT_DONE")


def test_a_stream_without_length_is_cut_at_the_limit(app: App, tmp_path: Path) -> None:
    import io

    from permis.services.scrub import ScrubRequest
    from permis.services.scrub_jobs import Owner, ScrubJobs, UploadTooLarge

    jobs = ScrubJobs(tmp_path / "jobs", app.db, app.gate.rules, app.clock, max_bytes=100)
    request = ScrubRequest(Channel.CALL, app.clock(), principal="acme")
    with pytest.raises(UploadTooLarge):
        jobs.create(io.BytesIO(b"0612345678\n" * 20), ".csv", request, Owner("acme", "k"))
    assert list((tmp_path / "jobs").iterdir()) == []  # nothing left behind
    assert jobs.threads == []


def test_a_job_whose_process_died_says_so(app: App, client: TestClient, tmp_path: Path) -> None:
    import json

    headers = key(app, Role.CAMPAIGN)
    job = wait(client, upload(client, headers).json()["id"], headers)
    state = tmp_path / "jobs" / job["id"] / "job.json"
    stored = json.loads(state.read_text())
    dead = subprocess_pid_that_exited()
    state.write_text(json.dumps({**stored, "state": "running", "pid": dead}))
    again = client.get(f"/v1/scrubs/{job['id']}", headers=headers).json()
    assert (again["state"], again["error"]["code"]) == ("failed", "SCRUB_INTERRUPTED")


def subprocess_pid_that_exited() -> int:
    """The id of a process that has ended (and been reaped)."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
