"""The principal's policy file: TOML read with ``tomllib`` (stdlib), validated key by key.

Every refusal names the line and the reason (``policy.toml line 12: unknown key 'maxi' in
[[caps]]``), and nothing is stored: the previous policy stays in force. A valid file is stored
whole as a ``PolicySet`` event of the principal's hash chain, plus the ``policies`` projection
the gate reads on every check.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from permis.adapters.db import instants
from permis.adapters.db import pressure_store as store
from permis.adapters.db import repositories as repo
from permis.adapters.db.database import Cursor, Database
from permis.domain.calendar import Window
from permis.domain.events import EventType, NewEvent
from permis.domain.model import ALL, Audience, Channel, Period
from permis.domain.policy import DEFAULT_ZONE, EMPTY_POLICY, Policy, PolicyCap, QuietHours
from permis.errors import UsageError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 366
TOP_KEYS = {"version", "timezone", "description", "quiet_hours", "caps", "exclude"}
QUIET_KEYS = {"hours", "days"}
CAP_KEYS = {"id", "channels", "max", "days", "per", "campaign"}
EXCLUDE_KEYS = {"audiences", "regions"}
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class PolicyInvalid(UsageError):
    """A policy file that cannot be used: nothing is stored, the previous policy stays."""

    code = "POLICY_INVALID"


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """A validated policy and the exact text it was read from."""

    policy: Policy
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


Path = tuple[str | int, ...]


class _Reader:
    def __init__(self, text: str, name: str) -> None:
        self.lines = text.splitlines()
        self.name = name

    def fail(self, path: Path, key: str | None, reason: str) -> PolicyInvalid:
        line = _line_of(self.lines, path, key)
        where = f"{self.name} line {line}" if line else self.name
        return PolicyInvalid(f"{where}: {reason}")

    def keys(self, table: dict[str, Any], allowed: set[str], path: Path) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(path, key, f"unknown key {key!r} in {_label(path)}")


def _label(path: Path) -> str:
    if not path:
        return "the top level"
    if isinstance(path[-1], int):
        return f"[[{'.'.join(str(p) for p in path[:-1])}]] #{path[-1] + 1}"
    return f"[{'.'.join(str(p) for p in path)}]"


def _line_of(lines: list[str], path: Path, key: str | None) -> int:
    """The line where ``key`` is written in the table at ``path`` (its header line when the key
    is not found, 0 when neither is): tomllib parses without keeping positions."""
    current: Path = ()
    counters: dict[str, int] = {}
    header = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line.startswith("[["):
            name = line[2:].split("]]")[0].strip()
            counters[name] = counters.get(name, -1) + 1
            current = (name, counters[name])
            if (*path, key) == (name,):
                return number
        elif line.startswith("["):
            current = tuple(p.strip().strip('"') for p in line[1:].split("]")[0].split("."))
            if current[: len(path) + 1] == (*path, key):
                return number
        elif key is not None and current == path:
            written = line.split("=", 1)[0].strip().strip('"') if "=" in line else None
            if written == key:
                return number
            continue
        else:
            continue
        if current == path:
            header = number
    if header == 0 and path and key is not None:
        return _line_of(lines, path[:-1], str(path[-1]))
    return header


def parse_policy(text: str, name: str = "policy") -> PolicyFile:
    """The policy written in ``text``, or :class:`PolicyInvalid` with the line and the reason."""
    import tomllib  # stdlib; imported here to keep `permis check` quick to start

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        where = f"{name} line {found[1]}" if found else name
        reason = re.sub(r" \(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise PolicyInvalid(f"{where}: not valid TOML: {reason}") from None
    reader = _Reader(text, name)
    reader.keys(data, TOP_KEYS, ())
    version = data.get("version")
    if not isinstance(version, str) or not _ID.match(version):
        raise reader.fail((), "version", "version must be a short name (letters, digits, .-_)")
    zone = data.get("timezone", DEFAULT_ZONE)
    if not isinstance(zone, str) or not _zone_ok(zone):
        raise reader.fail((), "timezone", f"unknown time zone {zone!r}")
    policy = Policy(
        version=version,
        caps=_caps(reader, data.get("caps", [])),
        quiet_hours=_quiet_hours(reader, data.get("quiet_hours", {})),
        excluded_audiences=_exclude(reader, data.get("exclude", {}), "audiences"),
        excluded_regions=_exclude(reader, data.get("exclude", {}), "regions"),
        timezone=zone,
    )
    return PolicyFile(policy, text)


def _zone_ok(zone: str) -> bool:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(zone)
    except (ValueError, KeyError, OSError):
        return False
    return True


def _channels(reader: _Reader, value: Any, path: Path, key: str) -> list[str]:
    names = value if isinstance(value, list) else None
    known = {c.value for c in Channel} | {ALL}
    if not names or not all(isinstance(n, str) and n in known for n in names):
        raise reader.fail(path, key, f"{key} must be a list of channels among {sorted(known)}")
    return [str(n) for n in names]


def _quiet_hours(reader: _Reader, table: Any) -> tuple[QuietHours, ...]:
    if not isinstance(table, dict):
        raise reader.fail((), "quiet_hours", "quiet_hours must be a table of channels")
    found = []
    for channel, spec in table.items():
        path: Path = ("quiet_hours", channel)
        if channel not in {c.value for c in Channel}:
            raise reader.fail(("quiet_hours",), channel, f"unknown channel {channel!r}")
        if not isinstance(spec, dict):
            raise reader.fail(("quiet_hours",), channel, "write [quiet_hours.CHANNEL] hours = [..]")
        reader.keys(spec, QUIET_KEYS, path)
        intervals = [
            _interval(reader, path, text) for text in _strings(reader, spec, path, "hours")
        ]
        days = frozenset(_day(reader, path, d) for d in _strings(reader, spec, path, "days"))
        windows = _allowed(intervals, frozenset(range(7)) - days)
        quiet = tuple(str(text) for text in spec.get("hours", []))
        found.append(QuietHours(channel, windows, quiet, days))
    return tuple(found)


def _strings(reader: _Reader, spec: dict[str, Any], path: Path, key: str) -> list[str]:
    value = spec.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise reader.fail(path, key, f"{key} must be a list of strings")
    return list(value)


def _day(reader: _Reader, path: Path, text: str) -> int:
    if text.lower() not in DAYS:
        raise reader.fail(path, "days", f"unknown day {text!r} (one of {', '.join(DAYS)})")
    return DAYS.index(text.lower())


def _minutes(reader: _Reader, path: Path, hours: str, minutes: str, text: str) -> int:
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and m > 0):
        raise reader.fail(path, "hours", f"hours outside 00:00-24:00 in {text!r}")
    return h * 60 + m


def _interval(reader: _Reader, path: Path, text: str) -> tuple[int, int]:
    """A quiet interval ``HH:MM-HH:MM`` in minutes; one crossing midnight ends past 1440."""
    match = _HOURS.match(text.strip())
    if match is None:
        raise reader.fail(path, "hours", f"write quiet hours as HH:MM-HH:MM, not {text!r}")
    start = _minutes(reader, path, match[1], match[2], text)
    end = _minutes(reader, path, match[3], match[4], text)
    start %= 1440  # 24:00 as a start is the next midnight: 00:00
    if start == end % 1440:
        raise reader.fail(path, "hours", f"empty quiet interval {text!r}")
    return (start, end) if start < end else (start, end + 1440)


def _allowed(quiet: list[tuple[int, int]], weekdays: frozenset[int]) -> tuple[Window, ...]:
    """The complement of the quiet intervals within a day, as windows on ``weekdays``."""
    blocked = [False] * 1440
    for start, end in quiet:
        for minute in range(start, end):
            blocked[minute % 1440] = True
    windows, minute = [], 0
    while minute < 1440:
        if blocked[minute]:
            minute += 1
            continue
        begin = minute
        while minute < 1440 and not blocked[minute]:
            minute += 1
        close = time.max if minute == 1440 else time(minute // 60, minute % 60)
        windows.append(Window(weekdays, time(begin // 60, begin % 60), close))
    return tuple(w for w in windows if weekdays)


def _caps(reader: _Reader, caps: Any) -> tuple[PolicyCap, ...]:
    if not isinstance(caps, list):
        raise reader.fail((), "caps", "write each cap as a [[caps]] table")
    found: list[PolicyCap] = []
    for index, spec in enumerate(caps):
        path: Path = ("caps", index)
        reader.keys(spec, CAP_KEYS, path)
        ident = spec.get("id", f"cap-{index + 1}")
        if not isinstance(ident, str) or not _ID.match(ident):
            raise reader.fail(path, "id", "id must be a short name (letters, digits, .-_)")
        if any(cap.rule == f"POLICY.cap.{ident}" for cap in found):
            raise reader.fail(path, "id", f"two caps named {ident!r}")
        most = spec.get("max")
        if isinstance(most, bool) or not isinstance(most, int) or most < 0:
            raise reader.fail(path, "max", "max must be a whole number, 0 or more")
        days, period = _period(reader, path, spec)
        campaign = spec.get("campaign")
        if campaign is not None and (not isinstance(campaign, str) or not campaign.strip()):
            raise reader.fail(path, "campaign", "campaign must be a campaign name")
        channels = frozenset(_channels(reader, spec.get("channels"), path, "channels"))
        found.append(PolicyCap(f"POLICY.cap.{ident}", channels, most, days, period, campaign))
    return tuple(found)


def _period(reader: _Reader, path: Path, spec: dict[str, Any]) -> tuple[int, Period | None]:
    days, per = spec.get("days"), spec.get("per")
    if (days is None) == (per is None):
        raise reader.fail(path, "days", "impossible period: give either days = N or per = ...")
    if per is not None:
        if per not in {p.value for p in Period}:
            raise reader.fail(path, "per", f"impossible period {per!r} (week, month or year)")
        return {"week": 7, "month": 31, "year": 366}[per], Period(per)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise reader.fail(path, "days", f"impossible period {days!r}: between 1 and 366 days")
    return days, None


def _exclude(reader: _Reader, table: Any, key: str) -> frozenset[str]:
    if not isinstance(table, dict):
        raise reader.fail((), "exclude", "exclude must be a table")
    reader.keys(table, EXCLUDE_KEYS, ("exclude",))
    values = _strings(reader, table, ("exclude",), key)
    if key == "audiences":
        known = {a.value for a in Audience}
        for value in values:
            if value not in known:
                raise reader.fail(("exclude",), key, f"unknown audience {value!r}")
    elif not all(re.match(r"^([A-Z]{2}|metropole)$", v) for v in values):
        raise reader.fail(("exclude",), key, "regions are ISO codes (US, RE, YT) or metropole")
    return frozenset(values)


def policy_dict(policy: Policy) -> dict[str, Any]:
    """The policy in force, as data (``permis policy show --json``)."""
    return {
        "version": policy.version,
        "timezone": policy.timezone,
        "quiet_hours": {
            q.channel: {"hours": list(q.quiet), "days": [DAYS[d] for d in sorted(q.quiet_days)]}
            for q in policy.quiet_hours
        },
        "caps": [
            {
                "rule": c.rule,
                "channels": sorted(c.channels),
                "max": c.max,
                "days": None if c.period else c.days,
                "per": c.period.value if c.period else None,
                "campaign": c.campaign,
            }
            for c in policy.caps
        ],
        "exclude": {
            "audiences": sorted(policy.excluded_audiences),
            "regions": sorted(policy.excluded_regions),
        },
    }


# ---------------------------------------------------------------------------------------------
# the policy in the register
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyInForce:
    policy: Policy
    version: str | None
    event_id: int | None
    sha256: str | None
    set_at: datetime | None
    text: str | None
    created: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "event_id": self.event_id,
            "sha256": self.sha256,
            "set_at": self.set_at.isoformat() if self.set_at else None,
            "created": self.created,
            "policy": policy_dict(self.policy),
            "text": self.text,
        }


_CACHE: dict[tuple[int, str], Policy] = {}


def load_policy(cur: Cursor, principal_id: int) -> Policy:
    """The principal's policy in force (the empty policy when none was ever set)."""
    stored = store.current_policy(cur, principal_id)
    if stored is None:
        return EMPTY_POLICY
    key = (stored.event_id, stored.sha256)
    found = _CACHE.get(key)
    if found is None:
        if len(_CACHE) > 64:
            _CACHE.clear()
        found = _CACHE[key] = parse_policy(stored.body).policy
    return found


def policy_in_force(db: Database, principal: str | None) -> Policy:
    with db.transaction() as cur:
        return load_policy(cur, repo.find_principal(cur, principal).id)


def show_policy(db: Database, principal: str | None) -> PolicyInForce:
    with db.transaction() as cur:
        owner = repo.find_principal(cur, principal)
        stored = store.current_policy(cur, owner.id)
        policy = load_policy(cur, owner.id)
    if stored is None:
        return PolicyInForce(policy, None, None, None, None, None, created=False)
    return PolicyInForce(
        policy,
        stored.version,
        stored.event_id,
        stored.sha256,
        instants.from_us(stored.set_at),
        stored.body,
        created=False,
    )


def set_policy(
    db: Database, principal: str | None, text: str, now: datetime, name: str = "policy"
) -> PolicyInForce:
    """Validate ``text`` then store it as the policy in force, with a ``PolicySet`` event.

    An invalid file raises before anything is written. The same version with other content is
    refused (a version names one text); the same file again changes nothing."""
    parsed = parse_policy(text, name)
    version = parsed.policy.version
    assert version is not None
    with db.transaction(write=True) as cur:
        owner = repo.find_principal(cur, principal)
        repo.lock_chain(cur, owner.id)
        current = store.current_policy(cur, owner.id)
        if current is not None and current.version == version:
            if current.sha256 != parsed.sha256:
                raise PolicyInvalid(
                    f"{name}: version {version!r} is already in force with other content: "
                    "give the new policy its own version"
                )
            at = instants.from_us(current.set_at)
            return PolicyInForce(
                parsed.policy, version, current.event_id, current.sha256, at, text, False
            )
        now_us = instants.to_us(now)
        data = {
            "version": version,
            "sha256": parsed.sha256,
            "previous": current.version if current else None,
            "text": text,
        }
        event = repo.append_event(
            cur, owner.id, NewEvent(EventType.POLICY_SET, now_us, data), now_us
        )
        stored = store.StoredPolicy(version, event.id, text, parsed.sha256, now_us)
        store.put_policy(cur, owner.id, stored)
    return PolicyInForce(parsed.policy, version, event.id, parsed.sha256, now, text)
