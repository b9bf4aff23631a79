"""Create or upgrade the register's schema with Alembic (imported only by ``permis init``)."""

from __future__ import annotations

from pathlib import Path

from permis.adapters.db.database import Url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", Url.parse(url).sqlalchemy_url().replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the register at ``url`` to ``revision`` (the head by default)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)  # type: ignore[arg-type]


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()  # type: ignore[arg-type]
