"""The rule catalogue, generated from the rule packs themselves (``permis rules``)."""

from __future__ import annotations

from permis.domain.rules.base import Rule, RulePack

HEADER = """# Rules

Generated from the rule packs by `permis rules --markdown` (`make docs`); a test checks that this
file is up to date. Each rule has an id, its legal reference, the channels and audiences it covers
and the dates it is in force: a decision for a past date uses the rules of that date. Reason codes
are those of DESIGN.md 4.2. Interpretations that LAW.md marks as unconfirmed are settings
(`PERMIS_CONSENT_MAX_AGE_DAYS`, `PERMIS_ALSACE_MOSELLE_EVERYWHERE`,
`PERMIS_CUSTOMER_EXCEPTION_YEARS`), not constants.
"""


def _channels(rule: Rule) -> str:
    return ", ".join(sorted(c.value for c in rule.channels))


def _dates(rule: Rule) -> str:
    end = rule.effective_until.isoformat() if rule.effective_until else "—"
    return f"{rule.effective_from.isoformat()} → {end}"


def rules_markdown(packs: list[RulePack]) -> str:
    lines = [HEADER]
    for pack in packs:
        lines += [
            f"## Pack `{pack.name}`",
            "",
            "| id | in force | channels | audiences | rule | reference |",
            "|---|---|---|---|---|---|",
        ]
        for rule in pack.rules:
            audiences = ", ".join(sorted(a.value for a in rule.audiences))
            lines.append(
                f"| `{rule.id}` | {_dates(rule)} | {_channels(rule)} | {audiences} "
                f"| {rule.summary} | {rule.reference} |"
            )
        lines.append("")
    return "\n".join(lines)


def rules_text(packs: list[RulePack]) -> str:
    lines = []
    for pack in packs:
        for rule in pack.rules:
            lines.append(f"{rule.id:<34} {_dates(rule):<26} {rule.summary}")
    return "\n".join(lines)
