"""The scrub agrees with ``decide`` (through the gate) on budgets and the principal's policy.

A generated register: personal budgets per channel and for all channels (0 included, every
period), attempts by several processors on several channels and campaigns spread over the 400
days before the scrub (across month and year ends), and a policy in force in the register with
quiet hours, caps per channel, across channels and per campaign, and an excluded region. Both
the scrub and the gate read that policy from the register.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from permis.bootstrap import App
from permis.domain.model import Channel, Outcome, Period, Source
from permis.services.gate import CheckQuery
from permis.services.policy import set_policy
from permis.services.scrub import ScrubRequest, run_scrub

from .test_scrub import pool, written_forms

ROWS = 20_000
POLICY = """
version = "scrub-test"
[quiet_hours.call]
hours = ["19:00-24:00", "00:00-10:30"]
[quiet_hours.sms]
hours = ["20:00-09:00"]
days = ["sat", "sun"]
[[caps]]
id = "all-week"
channels = ["all"]
max = 3
days = 7
[[caps]]
id = "phone-sms-month"
channels = ["call", "sms"]
max = 2
per = "month"
[[caps]]
id = "winter-once"
campaign = "winter"
channels = ["call"]
max = 1
days = 30
[exclude]
regions = ["YT"]
"""


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


END = t("2027-01-06T12:00:00+01:00")


def build_register(app: App, numbers: list[str], rng: random.Random) -> None:
    reg = app.register
    for name in ("lille", "tunis", "abidjan"):
        reg.add_processor(None, name, ["all"])
    for i, number in enumerate(numbers[:500]):
        if i % 10 < 8:
            for channel in (Channel.CALL, Channel.SMS):
                reg.record_consent(
                    principal=None,
                    contact=number,
                    channel=channel,
                    source=Source.WEB,
                    purpose="prospecting",
                    at=t("2026-10-01T10:00:00+02:00"),
                )
        for _ in range(rng.choice([0, 1, 2, 3, 4, 6])):
            reg.record_attempt(
                principal=None,
                contact=number,
                channel=rng.choice([Channel.CALL, Channel.SMS, Channel.EMAIL]),
                at=END - timedelta(minutes=rng.randrange(0, 60 * 24 * 75)),
                processor=rng.choice(["lille", "tunis", "abidjan"]),
                outcome=Outcome.NO_ANSWER,
                campaign=rng.choice([None, "winter", "spring"]),
            )
        if i % 3 == 0:
            reg.record_budget(
                principal=None,
                contact=number,
                channel=rng.choice(["all", "call", "sms"]),
                maximum=rng.choice([0, 1, 2, 3]),
                per=rng.choice(list(Period)),
                at=END - timedelta(days=rng.randrange(0, 120)),
            )


SCENARIOS = [
    ("year-end-sms", "2027-01-04T11:00:00+01:00", Channel.SMS, None, set()),
    ("month-end-call-winter", "2026-12-01T11:00:00+01:00", Channel.CALL, "winter", set()),
    ("quiet-call", "2026-12-01T19:30:00+01:00", Channel.CALL, None, {"OUTSIDE_HOURS"}),
    ("weekend-sms", "2026-12-05T12:00:00+01:00", Channel.SMS, None, {"OUTSIDE_HOURS"}),
]


@pytest.mark.parametrize(
    ("name", "at", "channel", "campaign", "more"), SCENARIOS, ids=[s[0] for s in SCENARIOS]
)
def test_scrub_equals_decide_with_budgets_and_policy(
    app: App,
    tmp_path: Path,
    name: str,
    at: str,
    channel: Channel,
    campaign: str | None,
    more: set[str],
) -> None:
    rng = random.Random(31)
    numbers, invalid = pool(rng)
    numbers += ["+262639012345", "+262639012346"]  # Mayotte: excluded by the policy
    build_register(app, numbers, rng)
    set_policy(app.db, None, POLICY, app.clock())
    raws = sorted({written_forms(n, rng) for n in numbers} | set(invalid))
    source = tmp_path / "campaign.csv"
    column = [rng.choice(raws) for _ in range(ROWS)]
    pl.DataFrame({"id": list(range(ROWS)), "telephone": column}).write_csv(source, separator=";")
    out, rejects = tmp_path / "ok.csv", tmp_path / "ko.csv"
    request = ScrubRequest(channel, t(at), campaign=campaign)
    summary = run_scrub(app.db, app.gate.rules, source, request, out, rejects)
    assert summary.allowed + summary.refused + summary.invalid == ROWS

    allowed = pl.read_csv(out, separator=";", infer_schema=False)
    refused = pl.read_csv(rejects, separator=";", infer_schema=False)
    expected: dict[str, tuple[bool, str]] = {}
    rules: set[str] = set()
    for raw in set(allowed["telephone"].to_list()) | set(refused["telephone"].fill_null("")):
        decision = app.gate.check(CheckQuery(raw, channel, t(at), campaign=campaign))
        expected[raw] = (decision.allowed, "|".join(decision.codes))
        rules |= {r.rule for r in decision.reasons}
        assert decision.policy_version == "scrub-test"
    for raw in allowed["telephone"].to_list():
        assert expected[raw] == (True, ""), raw
    for raw, codes in refused.select(
        pl.col("telephone").fill_null(""), "permis_reasons"
    ).iter_rows():
        assert expected[raw] == (False, codes), raw
    found = {code for _, codes in expected.values() for code in codes.split("|") if code}
    assert found >= {"PERSONAL_BUDGET", "POLICY_CAP", *more}, found
    assert summary.allowed > 0 or "OUTSIDE_HOURS" in more  # quiet hours refuse everyone
    assert "POLICY.exclude.region" in rules
    assert any(rule.startswith("POLICY.cap.") for rule in rules)
    if campaign == "winter":
        assert "POLICY.cap.winter-once" in rules
    if "OUTSIDE_HOURS" in more:
        assert any(rule.startswith("POLICY.quiet_hours.") for rule in rules)
