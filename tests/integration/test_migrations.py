"""The Alembic migrations build exactly the schema the tables declare."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from puerta import migrate
from puerta.db import Base, make_engine


@pytest.fixture
def empty_database(database_url: str) -> Iterator[Engine]:
    """The test database emptied for the migrations, and given its tables back afterwards."""
    engine = make_engine(database_url)
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    yield engine
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    Base.metadata.create_all(engine)
    engine.dispose()


class TestMigrations:
    def test_upgrade_head_matches_the_models(
        self, database_url: str, empty_database: Engine
    ) -> None:
        migrate.upgrade(database_url)
        with empty_database.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []

    def test_downgrade_to_base_removes_every_table(
        self, database_url: str, empty_database: Engine
    ) -> None:
        migrate.upgrade(database_url)
        migrate.downgrade(database_url, "base")
        remaining = set(inspect(empty_database).get_table_names()) - {"alembic_version"}
        assert remaining == set()
