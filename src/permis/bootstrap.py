"""Build everything from one Settings object. Nothing is built at import time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from permis.adapters.db.database import Database
from permis.config import Settings
from permis.domain.rules.base import Params, RulePack
from permis.domain.rules.fr import fr_pack
from permis.domain.rules.registry import Rulebook
from permis.services import stages
from permis.services.gate import Gate
from permis.services.keys import Keys
from permis.services.register import Register

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def rule_pack(settings: Settings) -> RulePack:
    return fr_pack(
        Params(
            consent_max_age_days=settings.consent_max_age_days,
            alsace_moselle_everywhere=settings.alsace_moselle_everywhere,
            customer_exception_years=settings.customer_exception_years,
        )
    )


def rulebook(settings: Settings) -> Rulebook:
    """Every rule pack, chosen per contact by country, with the principals' overrides."""
    from permis.domain.rules.registry import build_rulebook

    return build_rulebook(rule_pack(settings).params, settings.rule_pack_overrides)


@dataclass
class App:
    settings: Settings
    db: Database
    register: Register
    gate: Gate
    clock: Clock
    keys: Keys

    def close(self) -> None:
        self.db.close()


def build(
    settings: Settings | None = None,
    clock: Clock = system_clock,
    *,
    check_schema: bool = True,
) -> App:
    """The application for ``settings`` (read from the environment when not given)."""
    settings = settings or Settings.from_env()
    stages.configure(settings.stages)
    db = Database(settings.database_url)
    if check_schema:
        db.require_current_schema()
    return App(
        settings=settings,
        db=db,
        register=Register(db, clock, settings.delivery_grace_seconds),
        gate=Gate(db, rulebook(settings), clock, cache_size=settings.check_cache_entries),
        clock=clock,
        keys=Keys(db, clock),
    )


def init_register(
    settings: Settings, principal: str, sector: str, clock: Clock = system_clock
) -> App:
    """Create or upgrade the schema, then make sure ``principal`` exists."""
    from permis.adapters.db.migrate import upgrade
    from permis.domain.model import Sector

    db = Database(settings.database_url)
    db.schema_revision()  # reaches the server first: a clear error if it cannot
    db.close()
    upgrade(settings.database_url)
    app = build(settings, clock)
    app.register.ensure_principal(principal, Sector(sector))
    return app
