"""The policy file: a full example reads back as data; every bad input names its line and reason."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from permis.domain.model import Period
from permis.services.policy import PolicyInvalid, parse_policy, policy_dict

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "policy.toml"


def test_the_documented_example_reads_back() -> None:
    parsed = parse_policy(EXAMPLE.read_text(encoding="utf-8"), "policy.toml")
    policy = parsed.policy
    assert policy.version == "acme-2026-12"
    call = policy.quiet_for("call")
    assert call is not None and call.rule == "POLICY.quiet_hours.call"
    assert [(w.start, w.end) for w in call.windows] == [(time(10, 30), time(19, 0))]
    assert {w.weekdays for w in call.windows} == {frozenset(range(5))}  # sat, sun quiet
    sms = policy.quiet_for("sms")
    assert sms is not None and [(w.start, w.end) for w in sms.windows] == [
        (time(9, 0), time(20, 0))
    ]
    rules = {c.rule: c for c in policy.caps}
    assert rules["POLICY.cap.all-week"].channels == frozenset({"all"})
    assert rules["POLICY.cap.all-week"].days == 7
    assert rules["POLICY.cap.phone-sms-month"].period is Period.MONTH
    assert rules["POLICY.cap.winter-once"].campaign == "winter-2026"
    assert policy.excluded_audiences == frozenset({"professional"})
    assert policy.excluded_regions == frozenset({"YT"})
    assert policy_dict(policy)["caps"][0]["rule"] == "POLICY.cap.all-week"
    assert len(parsed.sha256) == 64


def test_a_quiet_interval_up_to_midnight_leaves_the_rest_of_the_day() -> None:
    text = 'version = "v"\n[quiet_hours.call]\nhours = ["00:00-08:00"]\n'
    (window,) = parse_policy(text).policy.quiet_hours[0].windows
    assert window.start == time(8, 0) and window.end == time.max


GOOD = """version = "v1"
[quiet_hours.call]
hours = ["19:00-10:00"]

[[caps]]
id = "week"
channels = ["all"]
max = 3
days = 7

[exclude]
regions = ["YT"]
"""


@pytest.mark.parametrize(
    ("old", "new", "line", "reason"),
    [
        ("max = 3", "maxi = 3", 8, "unknown key 'maxi' in [[caps]] #1"),
        ("days = 7", "days = 0", 9, "impossible period 0"),
        ("days = 7", "days = 400", 9, "impossible period 400"),
        ("days = 7", 'per = "fortnight"', 9, "impossible period 'fortnight'"),
        ("days = 7", 'days = 7\nper = "week"', 9, "either days = N or per"),
        ('"19:00-10:00"', '"19:00-25:00"', 3, "hours outside 00:00-24:00"),
        ('"19:00-10:00"', '"24:30-10:00"', 3, "hours outside 00:00-24:00"),
        ('"19:00-10:00"', '"19:60-10:00"', 3, "hours outside 00:00-24:00"),
        ('"19:00-10:00"', '"10:00-10:00"', 3, "empty quiet interval"),
        ('"19:00-10:00"', '"7pm-10am"', 3, "HH:MM-HH:MM"),
        ("[quiet_hours.call]", "[quiet_hours.pigeon]", 2, "unknown channel 'pigeon'"),
        ("regions =", "region =", 12, "unknown key 'region' in [exclude]"),
        ('["YT"]', '["Mayotte"]', 12, "regions are ISO codes"),
        ('channels = ["all"]', 'channels = ["telegram"]', 7, "channels must be a list"),
        ("max = 3", "max = -1", 8, "max must be a whole number"),
        ('version = "v1"', 'version = "v1"\nmood = "strict"', 2, "unknown key 'mood'"),
        ('version = "v1"', "", 0, "version must be"),
        ("[exclude]", "[exclude]\n[surprise]", 12, "unknown key 'surprise'"),
        ("max = 3", "max = = 3", 8, "not valid TOML"),
    ],
)
def test_bad_input_names_the_line_and_the_reason(
    old: str, new: str, line: int, reason: str
) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(text, "policy.toml")
    message = caught.value.message
    assert reason in message
    if line:
        assert message.startswith(f"policy.toml line {line}: "), message
    assert caught.value.code == "POLICY_INVALID" and caught.value.exit_code == 2


def test_the_good_file_is_good() -> None:
    assert parse_policy(GOOD).policy.version == "v1"
