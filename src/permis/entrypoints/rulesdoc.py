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

A contact is decided by the pack of its number's country (an e-mail address, or a country no pack
covers, by the default pack `fr`); `PERMIS_RULE_PACK_OVERRIDES=principal=pack,...` makes one pack
decide every contact of a principal. See docs/jurisdictions.md.
"""


def _countries(pack: RulePack) -> str:
    from permis.domain.rules.registry import COUNTRY_PACKS, DEFAULT_PACK

    codes = sorted(code for code, name in COUNTRY_PACKS.items() if name == pack.name)
    shown = ", ".join(codes) if codes else "none"
    return shown + (
        " (and every country without a pack of its own)" if pack.name == DEFAULT_PACK else ""
    )


def _pack_header(pack: RulePack) -> list[str]:
    states = sorted(name for name in pack.lists if name.startswith("us-dnc-"))
    named = [f"`{name}`" for name in sorted(pack.lists) if name not in states]
    if states:
        named.append(f"`us-dnc-xx` (a state's own list, xx its code: {len(states)} names)")
    lists = ", ".join(named) or "none"
    return [
        f"## Pack `{pack.name}`",
        "",
        f"Numbers of: {_countries(pack)}.",
        "",
        f"Opposition lists read: {lists}.",
        "",
    ]


def _channels(rule: Rule) -> str:
    return ", ".join(sorted(c.value for c in rule.channels))


def _dates(rule: Rule) -> str:
    end = rule.effective_until.isoformat() if rule.effective_until else "—"
    return f"{rule.effective_from.isoformat()} → {end}"


def rules_markdown(packs: list[RulePack]) -> str:
    lines = [HEADER]
    for pack in packs:
        lines += [
            *_pack_header(pack),
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
            lines.append(f"{pack.name:<3} {rule.id:<34} {_dates(rule):<26} {rule.summary}")
    return "\n".join(lines)
