"""Alembic environment: the URL comes from the config built by ``puerta.migrate``."""

from __future__ import annotations

from alembic import context

from puerta.db import make_engine
from puerta.models import metadata

config = context.config


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("run migrations through puerta.migrate, which sets sqlalchemy.url")
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
