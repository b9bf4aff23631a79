"""Scrub jobs: a file uploaded over HTTP, scrubbed in a background thread, its results kept.

A job is a folder under the jobs folder (``PERMIS_JOBS_DIR``)::

    <jobs>/<id>/job.json        state, owner, request, progress, summary or error
    <jobs>/<id>/input.<ext>     the uploaded file
    <jobs>/<id>/allowed.<ext>   the rows that may be contacted (when done)
    <jobs>/<id>/rejects.<ext>   the others, with permis_reasons (when done)

Why files and not a table: the input and the two results are files anyway (``run_scrub`` reads
and writes paths, in the input's format, and a 10 M-row file does not belong in the register), so
the job's state lives beside them and one ``rm -r`` forgets a job entirely; the register keeps
only what the law asks of it. Several worker processes on one host share the folder; several
hosts need it on shared storage (they would for the files anyway). ``job.json`` is replaced
atomically (write then rename), so a reader never sees half of it.

Jobs run one at a time per process (a scrub of 10 M rows takes about 2 GiB); the others wait in
state ``queued``. A job left ``running`` by a process that died is reported ``failed`` with
``SCRUB_INTERRUPTED`` the next time it is read.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from permis.adapters.db.database import Database
from permis.domain.pressure import Policy
from permis.domain.rules.base import RulePack
from permis.domain.rules.registry import Rulebook
from permis.errors import Conflict, NotFound, PermisError
from permis.services.scrub import ScrubRequest, run_scrub

SUFFIXES = {".csv", ".txt", ".tsv", ".parquet", ".xlsx"}
MEDIA_TYPES = {
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".tsv": "text/tab-separated-values",
    ".parquet": "application/vnd.apache.parquet",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
PROGRESS_EVERY = 0.5  # seconds between two writes of job.json while running
_ID_CHARS = frozenset("0123456789abcdef")
_running = threading.Semaphore(1)


@dataclass(frozen=True, slots=True)
class Owner:
    """Who started a job: its principal, and the processor when a processor key did."""

    principal: str
    key_id: str
    processor: str | None = None


def jobs_folder(setting: str, database_url: str) -> Path:
    """``PERMIS_JOBS_DIR``, or ``permis-jobs`` beside the SQLite register (or the working
    directory for PostgreSQL)."""
    if setting:
        return Path(setting)
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        return Path(database_url.removeprefix("sqlite:///")).resolve().parent / "permis-jobs"
    return Path("permis-jobs").resolve()


def suffix_of(filename: str | None) -> str:
    """The upload's extension when it is one the scrub writes back, else ``.csv``."""
    suffix = Path(filename or "").suffix.lower()
    return suffix if suffix in SUFFIXES else ".csv"


class ScrubJobs:
    def __init__(
        self,
        root: Path,
        db: Database,
        rules: RulePack | Rulebook,
        clock: Callable[[], datetime],
        policy: Policy | None = None,  # None: the principal's policy in force
        max_bytes: int = 0,
    ) -> None:
        self.root, self.db, self.rules, self.clock = root, db, rules, clock
        self.policy, self.max_bytes = policy, max_bytes
        self.threads: list[threading.Thread] = []

    # -- starting ------------------------------------------------------------------------------

    def create(
        self, upload: IO[bytes], suffix: str, request: ScrubRequest, owner: Owner
    ) -> dict[str, Any]:
        """Store the upload and start the job; its state as :meth:`get` gives it."""
        job_id = secrets.token_hex(12)
        folder = self.root / job_id
        try:
            folder.mkdir(parents=True)
        except OSError as error:
            raise PermisError(f"cannot create the job folder: {error.strerror}") from None
        source = folder / f"input{suffix}"
        try:
            size = self._copy(upload, source)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        job = {
            "id": job_id,
            "state": "queued",
            "owner": asdict(owner),
            "suffix": suffix,
            "request": _request_dict(request),
            "created_at": self.clock().isoformat(),
            "started_at": None,
            "finished_at": None,
            "progress": {"input_bytes": size, "rows": 0},
            "summary": None,
            "error": None,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        _write(folder, job)
        thread = threading.Thread(
            target=self._run, args=(folder, request), name=f"scrub-{job_id}", daemon=True
        )
        self.threads.append(thread)
        thread.start()
        return job

    def _copy(self, upload: IO[bytes], target: Path) -> int:
        size = 0
        with target.open("wb") as out:
            while chunk := upload.read(1 << 20):
                size += len(chunk)
                if self.max_bytes and size > self.max_bytes:
                    raise UploadTooLarge(f"the file is larger than {self.max_bytes} bytes")
                out.write(chunk)
        if size == 0:
            raise EmptyUpload("the uploaded file is empty")
        return size

    # -- running -------------------------------------------------------------------------------

    def _run(self, folder: Path, request: ScrubRequest) -> None:
        with _running:
            job = _read(folder)
            job.update(state="running", started_at=self.clock().isoformat())
            _write(folder, job)
            last = [time.monotonic()]

            def progress(rows: int) -> None:
                job["progress"]["rows"] += rows
                if time.monotonic() - last[0] >= PROGRESS_EVERY:
                    last[0] = time.monotonic()
                    _write(folder, job)

            suffix = job["suffix"]
            try:
                summary = run_scrub(
                    self.db,
                    self.rules,
                    folder / f"input{suffix}",
                    request,
                    folder / f"allowed{suffix}",
                    folder / f"rejects{suffix}",
                    self.policy,
                    progress,
                )
                job.update(state="done", summary=summary.to_dict())
            except PermisError as error:
                job.update(state="failed", error={"code": error.code, "message": error.message})
            except Exception as error:  # the job fails, the server keeps serving
                name = type(error).__name__
                job.update(
                    state="failed",
                    error={"code": "INTERNAL_ERROR", "message": f"internal error ({name})"},
                )
            job["finished_at"] = self.clock().isoformat()
            _write(folder, job)

    # -- reading -------------------------------------------------------------------------------

    def get(self, job_id: str, owner: Owner) -> dict[str, Any]:
        """The job, if ``owner`` may see it (its principal; a processor only its own jobs).
        Anything else is ``NOT_FOUND``, so that job ids cannot be probed."""
        folder = self._folder(job_id)
        try:
            job = _read(folder)
        except (OSError, ValueError):
            raise JobNotFound("no such scrub job") from None
        started = job["owner"]
        if started["principal"] != owner.principal or (
            owner.processor is not None and started["processor"] != owner.processor
        ):
            raise JobNotFound("no such scrub job")
        if job["state"] in {"queued", "running"} and _orphaned(job):
            job.update(
                state="failed",
                error={"code": "SCRUB_INTERRUPTED", "message": "the server stopped during the job"},
            )
        return job

    def result(self, job_id: str, owner: Owner, which: str) -> Path:
        """The path of ``allowed`` or ``rejects`` of a finished job."""
        job = self.get(job_id, owner)
        if job["state"] != "done":
            raise JobNotDone(f"the job is {job['state']}: results exist once it is done")
        return self._folder(job_id) / f"{which}{job['suffix']}"

    def _folder(self, job_id: str) -> Path:
        if len(job_id) != 24 or not set(job_id) <= _ID_CHARS:
            raise JobNotFound("no such scrub job")
        return self.root / job_id


class JobNotFound(NotFound):
    code = "SCRUB_JOB_NOT_FOUND"


class JobNotDone(Conflict):
    code = "SCRUB_JOB_NOT_DONE"


class UploadTooLarge(PermisError):
    code = "PAYLOAD_TOO_LARGE"
    http_status = 413


class EmptyUpload(PermisError):
    code = "EMPTY_FILE"
    http_status = 422


def public(job: dict[str, Any]) -> dict[str, Any]:
    """What the API shows of a job (not where it ran)."""
    base = f"/v1/scrubs/{job['id']}"
    done = job["state"] == "done"
    return {
        "id": job["id"],
        "state": job["state"],
        "request": job["request"],
        "created_at": job["created_at"],
        "started_at": job["started_at"],
        "finished_at": job["finished_at"],
        "progress": job["progress"],
        "summary": job["summary"],
        "error": job["error"],
        "links": {
            "self": base,
            "allowed": f"{base}/allowed" if done else None,
            "rejects": f"{base}/rejects" if done else None,
        },
    }


def _request_dict(request: ScrubRequest) -> dict[str, Any]:
    return {
        "channel": request.channel.value,
        "at": request.at.isoformat(),
        "processor": request.processor,
        "purpose": request.purpose,
        "audience": request.audience.value,
        "sector": request.sector.value if request.sector else None,
        "column": request.column,
    }


def _write(folder: Path, job: dict[str, Any]) -> None:
    temp = folder / f".job.json.{threading.get_ident()}"
    temp.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    os.replace(temp, folder / "job.json")


def _read(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "job.json").read_text(encoding="utf-8"))
    return data


def _orphaned(job: dict[str, Any]) -> bool:
    """Whether the process that runs the job is gone (only knowable on its own host)."""
    if job.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(job["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, TypeError):
        return False
    return False
