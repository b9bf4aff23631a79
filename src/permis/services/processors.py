"""Processors and how opt-outs reach each one: webhook, NATS subject, pull feed, daily files.

Bad settings are refused at registration, before anything is written: a webhook URL that is not
http(s) (or carries credentials), a secret that is not ``whsec_`` + base64 of 24 to 64 bytes
(the Standard Webhooks form its libraries expect), a NATS subject with a wildcard, a space or an
empty token. A webhook without a secret gets a new one, returned once.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from permis.adapters.db import instants, outbound
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Database, Row
from permis.adapters.stream import valid_subject
from permis.adapters.webhooks import SECRET_PREFIX
from permis.domain.events import EventType, NewEvent
from permis.domain.model import ALL, Channel
from permis.errors import NotFound, UsageError

MIN_SECRET_BYTES, MAX_SECRET_BYTES = 24, 64


class Form(StrEnum):
    """How a delivery reaches its processor."""

    WEBHOOK = "webhook"
    STREAM = "stream"
    FEED = "feed"
    FILE = "file"


class FileKind(StrEnum):
    CSV = "csv"
    HASHES = "hashes"


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UsageError("--webhook must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise UsageError("--webhook must not carry credentials: the secret signs each message")
    if len(url) > 2000:
        raise UsageError("--webhook is longer than 2,000 characters")
    return url.strip()


def check_secret(secret: str) -> str:
    if not secret.startswith(SECRET_PREFIX):
        raise UsageError("--secret must be whsec_ followed by base64 (Standard Webhooks form)")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise UsageError("--secret: the part after whsec_ is not valid base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise UsageError(
            f"--secret must hold {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} random bytes "
            f"(this one holds {len(key)})"
        )
    return secret


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def check_subject(subject: str) -> str:
    if not valid_subject(subject):
        raise UsageError(
            "--stream must be a NATS subject: dot-separated tokens of letters, digits, _ and -, "
            "without wildcards (* >) or spaces"
        )
    return subject


def check_name(name: str) -> str:
    if not name or len(name) > 100 or not name.replace("-", "").replace("_", "").isalnum():
        raise UsageError("a processor name is 1 to 100 letters, digits, - or _")
    return name


@dataclass(frozen=True, slots=True)
class ProcessorView:
    """A processor as shown to people (never its secret)."""

    id: int
    name: str
    channels: str
    active: bool
    webhook: str | None
    has_secret: bool
    stream: str | None
    feed: bool
    files: str | None
    webhook_disabled_at: int | None
    disabled_reason: str | None

    @property
    def forms(self) -> list[Form]:
        return forms_of(self.webhook, self.stream, self.feed, self.files)

    def to_dict(self) -> dict[str, Any]:
        disabled = self.webhook_disabled_at
        return {
            "name": self.name,
            "channels": self.channels,
            "active": self.active,
            "forms": [f.value for f in self.forms],
            "webhook": self.webhook,
            "stream": self.stream,
            "feed": Form.FEED in self.forms,
            "files": self.files,
            "webhook_disabled_at": None
            if disabled is None
            else instants.from_us(disabled).isoformat(),
            "disabled_reason": self.disabled_reason,
        }


def forms_of(webhook: str | None, stream: str | None, feed: bool, files: str | None) -> list[Form]:
    """A processor with no push form and no files reads the pull feed: every processor gets
    every opt-out somehow."""
    found = [Form.WEBHOOK] if webhook else []
    found += [Form.STREAM] if stream else []
    if feed or not (webhook or stream or files):
        found.append(Form.FEED)
    found += [Form.FILE] if files else []
    return found


def view(row: Row) -> ProcessorView:
    return ProcessorView(
        int(row[0]),
        str(row[1]),
        str(row[2]),
        bool(row[3]),
        row[4],
        bool(row[5]),
        row[6],
        bool(row[7]),
        row[8],
        row[9],
        row[10],
    )


@dataclass(frozen=True, slots=True)
class Registered:
    processor: ProcessorView
    secret: str | None  # a generated secret, shown once; None when the caller gave one

    def to_dict(self) -> dict[str, Any]:
        data = self.processor.to_dict()
        if self.secret is not None:
            data["secret"] = self.secret
        return data


class Processors:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def add(
        self,
        principal: str | None,
        name: str,
        channels: list[str] | None = None,
        *,
        webhook: str | None = None,
        secret: str | None = None,
        stream: str | None = None,
        feed: bool = False,
        files: str | None = None,
    ) -> Registered:
        check_name(name)
        scope = _scope(channels or [ALL])
        if secret is not None and webhook is None:
            raise UsageError("--secret goes with --webhook")
        url = check_url(webhook) if webhook is not None else None
        given = check_secret(secret) if secret is not None else None
        generated = new_secret() if url is not None and given is None else None
        subject = check_subject(stream) if stream is not None else None
        if files is not None and files not in {k.value for k in FileKind}:
            raise UsageError("--files must be csv or hashes")
        values = {
            "webhook_url": url,
            "webhook_secret": given or generated,
            "stream_subject": subject,
            "feed": feed,
            "files": files,
        }
        now = instants.to_us(self.clock())
        with self.db.transaction(write=True) as cur:
            owner = repo.find_principal(cur, principal)
            pid = repo.add_processor(cur, owner.id, name, scope, now)
            outbound.set_delivery(cur, pid, values)
            shown = view(outbound.processor_rows(cur, owner.id, name)[0])
            data: dict[str, Any] = {"name": name, "channels": scope}
            data["forms"] = [f.value for f in shown.forms]
            data |= {"webhook": url, "stream": subject, "files": files}
            repo.append_event(cur, owner.id, NewEvent(EventType.PROCESSOR_ADDED, now, data), now)
        return Registered(shown, generated)

    def list(self, principal: str | None) -> list[ProcessorView]:
        with self.db.transaction() as cur:
            owner = repo.find_principal(cur, principal)
            return [view(r) for r in outbound.processor_rows(cur, owner.id)]

    def get(self, principal: str | None, name: str) -> ProcessorView:
        with self.db.transaction() as cur:
            owner = repo.find_principal(cur, principal)
            rows = outbound.processor_rows(cur, owner.id, name)
        if not rows:
            raise NotFound(f"unknown processor {name!r}: add it with `permis processors add`")
        return view(rows[0])


def _scope(channels: list[str]) -> str:
    values = set()
    for channel in channels:
        if channel == ALL:
            return ALL
        try:
            values.add(Channel(channel).value)
        except ValueError:
            choices = ", ".join(c.value for c in Channel)
            message = f"--channels: unknown channel {channel!r} ({choices}, or all)"
            raise UsageError(message) from None
    return ",".join(sorted(values))
