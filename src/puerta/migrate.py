"""Run Alembic migrations from inside the installed package (``puerta db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

from puerta.config import Settings
from puerta.errors import DomainError

MIGRATIONS = Path(__file__).parent / "migrations"


class NotMigrated(DomainError):
    code = "database_not_migrated"
    status = 503
    message = "The database is not set up yet: run `puerta db upgrade` first, then try again."


def require_schema(engine: Engine) -> None:
    """Refuse to work on a database that lacks any of puerta's tables."""
    from puerta.models import metadata

    if not set(metadata.tables) <= set(inspect(engine).get_table_names()):
        raise NotMigrated()


def alembic_config(url: str, settings: Settings | None = None) -> Config:
    config = Config()
    if settings is not None:  # else the migrations read the environment's (get_settings)
        config.attributes["settings"] = settings
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", *, settings: Settings | None = None) -> None:
    command.upgrade(alembic_config(url, settings), revision)


def downgrade(url: str, revision: str, *, settings: Settings | None = None) -> None:
    command.downgrade(alembic_config(url, settings), revision)


def make_revision(url: str, message: str) -> None:
    command.revision(alembic_config(url), message=message, autogenerate=True)
