"""Migration 0011 seals what a database already holds in plain text, and its downgrade opens
it again: members, windows' secrets, and the screening answers sealed under the old key."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, column, insert, select, table, text

from puerta import migrate, vault
from puerta.accounts.service import get_group
from puerta.appointments.tables import WindowCommitment
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.db import Base, make_engine
from puerta.runtime import build_runtime
from puerta.vulnerability.tables import Screening
from tests.conftest import FAST_HASHER, OPEN_INSTANT

AT = dt.datetime(2024, 9, 1, 18, 0, tzinfo=dt.UTC)
ROOT = bytes(range(32))  # the deployment's generated signing key, as development stored it
DRAWN, OPEN = dt.date(2024, 9, 1), dt.date(2024, 9, 2)
SECRETS = {DRAWN: "ab" * 32, OPEN: "cd" * 32}
MEMBERS = [
    {"id": 1, "group_id": 1, "position": 0, "given_names": "Rosa Elena",
     "family_names": "Quispe Mamani", "birth_date": dt.date(1996, 5, 21), "nationality": "PER",
     "languages": "es,qu", "id_document": "PE4471902"},
    {"id": 2, "group_id": 1, "position": 1, "given_names": "Inti",
     "family_names": "Quispe Mamani", "birth_date": dt.date(2019, 8, 3), "nationality": "PER",
     "languages": "es", "id_document": None},
]  # fmt: skip
ANSWERS = json.dumps([[0, ["pregnant"]]])


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


def rows(name: str, *records: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    return table(name, *(column(c) for c in records[0])), list(records)


def plain_database(engine: Engine) -> None:
    """What a database at revision 0010 held: everything in plain text, screenings in v1."""
    purpose = "screening:group:1"
    inserts = [
        rows("deployment_keys", {"name": "signing", "value": ROOT.hex(), "created_at": AT}),
        rows("accounts", {"id": 1, "username": "+5215500000001", "password_hash": "-",
                          "language": "es", "role": "registrant", "created_at": AT}),
        rows("groups", {"id": 1, "account_id": 1, "registered_us": 1, "updated_at": AT,
                        "size": 2, "vulnerability_approved": False}),
        rows("group_members", *MEMBERS),
        rows("window_commitments", *({"window": w, "secret_hash": "0" * 64, "secret": s,
                                      "created_at": AT} for w, s in SECRETS.items())),
        rows("draws", {"id": 1, "window": DRAWN, "service_date": DRAWN, "entries_count": 0,
                       "entries_digest": "0" * 64, "seed": "0" * 64, "params": "{}",
                       "summary": "{}", "ran_at": AT}),
        rows("screenings", {"id": 1, "group_id": 1, "updated_at": AT,
                            "answers": vault.legacy_seal(ANSWERS, purpose=purpose, root=ROOT)}),
    ]  # fmt: skip
    with engine.begin() as conn:
        for target, records in inserts:
            conn.execute(insert(target), records)


def raw(engine: Engine) -> bytes:
    with engine.connect() as conn:
        found = [conn.execute(text(f'SELECT * FROM "{name}"')).all()
                 for name in ("group_members", "window_commitments", "screenings")]  # fmt: skip
    return repr(found).encode()


class TestMigration0011:
    def test_existing_rows_are_sealed_in_place_and_opened_again_by_the_downgrade(
        self, database_url: str, empty_database: Engine
    ) -> None:
        settings = Settings(env="test", database_url=database_url)
        migrate.upgrade(database_url, "0010", settings=settings)
        plain_database(empty_database)
        assert b"Quispe" in raw(empty_database)

        migrate.upgrade(database_url, "head", settings=settings)
        stored = raw(empty_database)
        for secret in ("Rosa", "Quispe", "Inti", "PE4471902", "1996", "2019", SECRETS[OPEN]):
            assert secret.encode() not in stored, secret
        assert SECRETS[DRAWN].encode() in stored, "a drawn window's secret stays public"
        rt = build_runtime(settings, clock=FixedClock(OPEN_INSTANT), hasher=FAST_HASHER,
                           rng=random.Random(1))  # fmt: skip
        members = get_group(uow=rt.uow(), account_id=1).members
        assert [(m.given_names, m.birth_date, m.id_document) for m in members] == [
            (m["given_names"], m["birth_date"], m["id_document"]) for m in MEMBERS
        ]
        with rt.uow() as uow:
            for window, secret in SECRETS.items():
                commitment = uow.session.get_one(WindowCommitment, window)
                assert commitment.secret == secret
                assert commitment.revealed == (secret if window == DRAWN else None)
            token = uow.session.scalars(select(Screening.answers)).one()
        assert token.startswith("v2.")
        assert rt.vault.open(token, purpose="screening:group:1") == ANSWERS
        rt.engine.dispose()

        migrate.downgrade(database_url, "0010", settings=settings)
        with empty_database.connect() as conn:
            back = conn.execute(text(
                "SELECT id, given_names, family_names, birth_date, id_document "
                'FROM "group_members" ORDER BY id'
            )).all()  # fmt: skip
            query = text('SELECT "window", secret FROM window_commitments')
            secrets = {w: s for w, s in conn.execute(query)}
            answers = conn.execute(text("SELECT answers FROM screenings")).scalar_one()
        # Plain SQL: SQLite answers dates as text, PostgreSQL as dates.
        assert [(r[0], r[1], r[2], str(r[3]), r[4]) for r in back] == [
            (m["id"], m["given_names"], m["family_names"], str(m["birth_date"]), m["id_document"])
            for m in MEMBERS
        ]
        assert {str(w): s for w, s in secrets.items()} == {str(w): s for w, s in SECRETS.items()}
        assert vault.legacy_open(answers, purpose="screening:group:1", root=ROOT) == ANSWERS
