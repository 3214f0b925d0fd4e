"""personal data encrypted at rest under wrapped data keys

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 15:30:00.000000

Makes the table of wrapped data keys and its first key (the key-encryption key comes from
PUERTA_DATA_KEY_FILE or PUERTA_DATA_KEY: see puerta.datakeys), then seals in place what was
stored in plain text: members' names, birth dates and document numbers, and the windows'
secrets (those of windows already drawn are public, and are kept as ``revealed`` too).
Screening answers and decisions' reasons, sealed until now under a key derived from the
signing secret (``v1.``), are sealed again under the data keys (``v2.``). The downgrade
undoes each step. Rows are read and written a page at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any

import sqlalchemy as sa
from alembic import context, op

import puerta.db
from puerta import vault
from puerta.clock import FixedClock, SystemClock
from puerta.config import Settings, get_settings
from puerta.datakeys.columns import Sealed, SealedDate, SealedText
from puerta.datakeys.keks import load_keks, require_data_keys
from puerta.datakeys.ring import DataKeys

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

PAGE = 1000
Spec = list[tuple[str, Any, Sealed[Any], bool]]  # column, plain type, sealed, nullable
SEALED: list[tuple[str, str, Spec]] = [
    ("group_members", "id", [
        ("given_names", sa.String(100), SealedText("group_members.given_names"), False),
        ("family_names", sa.String(100), SealedText("group_members.family_names"), False),
        ("birth_date", sa.Date(), SealedDate("group_members.birth_date"), False),
        ("id_document", sa.String(64), SealedText("group_members.id_document"), True),
    ]),
    ("window_commitments", "window", [
        ("secret", sa.String(64), SealedText("window_commitments.secret"), False),
    ]),
]  # fmt: skip
# Values sealed by puerta.vault: (table, column, purpose over the row's id and group_id).
VAULTED = [
    ("screenings", "answers", "screening:group:{group_id}"),
    ("exception_requests", "reason", "exception:{id}:reason"),
]


def _settings() -> Settings:
    """The settings ``puerta.migrate.upgrade`` was given, else the environment's."""
    given = context.config.attributes.get("settings")
    return given if isinstance(given, Settings) else get_settings()


def _ring(settings: Settings) -> DataKeys:
    """A ring on the migration's own connection: the key it makes commits with the rest."""
    clock = FixedClock(settings.now) if settings.now else SystemClock()
    connection = op.get_bind()
    return DataKeys(lambda: load_keks(settings, clock),
                             lambda: nullcontext(connection), clock)  # fmt: skip


def _pages(table: sa.TableClause, key: str, columns: list[str]) -> Iterator[list[Any]]:
    """(key, *columns) of every row, a page at a time, in key order."""
    after = None
    while True:
        query = sa.select(table.c[key], *(table.c[c] for c in columns)).order_by(table.c[key])
        if after is not None:
            query = query.where(table.c[key] > after)
        rows = list(op.get_bind().execute(query.limit(PAGE)))
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _convert(name: str, key: str, spec: Spec, *, seal: bool, change: Callable[..., Any]) -> None:
    """Each column of ``spec`` copied, changed, into a new column (sealed when ``seal``, else
    plain), which then takes its place."""
    kind = {c: (sa.LargeBinary() if seal else plain) for c, plain, _, _ in spec}
    with op.batch_alter_table(name) as batch:
        for column in kind:
            batch.add_column(sa.Column(f"{column}_next", kind[column], nullable=True))
    stored = {c: (plain if seal else sa.LargeBinary()) for c, plain, _, _ in spec}
    table = sa.table(name, sa.column(key), *(sa.column(c, t) for c, t in stored.items()),
                     *(sa.column(f"{c}_next", t) for c, t in kind.items()))  # fmt: skip
    write = (
        table.update()
        .where(table.c[key] == sa.bindparam("b_key"))
        .values({f"{c}_next": sa.bindparam(f"b_{c}") for c in kind})
    )
    for rows in _pages(table, key, list(kind)):
        op.get_bind().execute(write, [
            {"b_key": row[0]} | {f"b_{c}": None if v is None else change(sealed, v)
                                 for (c, _, sealed, _), v in zip(spec, row[1:], strict=True)}
            for row in rows
        ])  # fmt: skip
    with op.batch_alter_table(name) as batch:
        for column in kind:
            batch.drop_column(column)
        for column, _, _, nullable in spec:
            batch.alter_column(f"{column}_next", new_column_name=column, nullable=nullable,
                               existing_type=kind[column])  # fmt: skip


def _reseal_vault(convert: Callable[[str, str], str], prefix: str) -> None:
    """Each vault token starting with ``prefix`` replaced by ``convert(token, purpose)``."""
    for name, column, purpose in VAULTED:
        table = sa.table(name, sa.column("id"), sa.column("group_id"), sa.column(column, sa.Text()))
        write = table.update().where(table.c.id == sa.bindparam("b_id"))
        for rows in _pages(table, "id", ["group_id", column]):
            values = [
                {"b_id": id_, "b_value": convert(token, purpose.format(id=id_, group_id=group))}
                for id_, group, token in rows if token and token.startswith(prefix)
            ]  # fmt: skip
            if values:
                op.get_bind().execute(write.values({column: sa.bindparam("b_value")}), values)


def _vaulted(prefix: str) -> bool:
    bind = op.get_bind()
    for name, column, _ in VAULTED:
        table = sa.table(name, sa.column(column, sa.Text()))
        if bind.execute(sa.select(sa.literal(1)).where(table.c[column].startswith(prefix))
                        .limit(1)).first():  # fmt: skip
            return True
    return False


def _signing_root(settings: Settings, *, needed: bool) -> bytes:
    """The secret ``v1.`` vault keys were derived from: the setting, else the one generated
    into ``deployment_keys`` (development)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    keys = sa.table("deployment_keys", sa.column("name"), sa.column("value"))
    found = op.get_bind().execute(sa.select(keys.c.value).where(keys.c.name == "signing")).scalar()
    if found is None and needed:
        raise RuntimeError(
            "sealed screening answers need the PUERTA_SECRET_KEY they were sealed with"
        )
    return bytes.fromhex(found) if found else b""


def _has_rows() -> bool:
    bind = op.get_bind()
    names = [t for t, _, _ in SEALED] + [t for t, _, _ in VAULTED]
    return any(bind.execute(sa.select(sa.literal(1)).select_from(sa.table(t)).limit(1)).first()
               for t in names)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kek_id", sa.String(length=32), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", puerta.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_keys")),
    )
    with op.batch_alter_table("window_commitments") as batch:
        batch.add_column(sa.Column("revealed", sa.String(length=64), nullable=True))
    commitments = sa.table("window_commitments", sa.column("window"), sa.column("secret"),
                           sa.column("revealed"))  # fmt: skip
    drawn = sa.select(sa.table("draws", sa.column("window")).c.window)
    op.execute(commitments.update().where(commitments.c.window.in_(drawn))
               .values(revealed=commitments.c.secret))  # fmt: skip
    settings = _settings()
    require_data_keys(settings)
    ring = _ring(settings)
    ring.load()  # the first data key, made here so that no process need make it later
    for name, key, spec in SEALED:
        _convert(name, key, spec, seal=True, change=lambda s, v: s.seal_with(ring, v))
    root = _signing_root(settings, needed=_vaulted(vault.LEGACY_PREFIX))
    sealer = vault.Vault(ring)
    _reseal_vault(lambda token, purpose: sealer.seal(
        vault.legacy_open(token, purpose=purpose, root=root), purpose=purpose,
    ), vault.LEGACY_PREFIX)  # fmt: skip


def downgrade() -> None:
    settings = _settings()
    ring = _ring(settings)  # its keys are read only if there is something to open
    if _has_rows():
        root = _signing_root(settings, needed=_vaulted(vault.PREFIX))
        sealer = vault.Vault(ring)
        _reseal_vault(lambda token, purpose: vault.legacy_seal(
            sealer.open(token, purpose=purpose), purpose=purpose, root=root,
        ), vault.PREFIX)  # fmt: skip
    for name, key, spec in SEALED:
        _convert(name, key, spec, seal=False, change=lambda s, v: s.open_with(ring, v))
    with op.batch_alter_table("window_commitments") as batch:
        batch.drop_column("revealed")
    op.drop_table("data_keys")
