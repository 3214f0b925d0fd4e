"""Rotation (docs/encryption.md): every sealed value of a database, how many each data key
seals, sealing them again under the current key, retiring the keys nothing uses, and the
``puerta keys data-*`` commands.

A sealed value is found by its column: a ``Sealed`` column type, or a puerta.vault token in
a column whose ``info`` names its purpose's template (``VAULT_PURPOSE``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from string import Formatter
from typing import Any, cast

from sqlalchemy import (
    Column,
    Connection,
    LargeBinary,
    MetaData,
    Table,
    bindparam,
    delete,
    select,
    type_coerce,
    update,
)

from puerta import vault
from puerta.clock import Clock
from puerta.config import Settings
from puerta.datakeys.columns import VAULT_PURPOSE, Sealed
from puerta.datakeys.keks import add_kek, init_kek_file, keep_only
from puerta.datakeys.ring import KEYS, REFRESH_SECONDS, DataKeys, key_id_of


@dataclass(frozen=True)
class SealedField:
    """A column of sealed values: a Sealed type, or puerta.vault tokens with a purpose."""

    table: Table
    column: Column[Any]

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"

    @property
    def purpose(self) -> str | None:
        return self.column.info.get(VAULT_PURPOSE)

    @property
    def raw(self) -> Any:
        """The column as stored: bytes, not opened."""
        return self.column if self.purpose else type_coerce(self.column, LargeBinary)

    def context(self) -> list[Column[Any]]:
        """The columns a vault purpose is made of."""
        return [self.table.c[f] for _, f, _, _ in Formatter().parse(self.purpose or "") if f]

    def key_of(self, stored: Any) -> int | None:
        if self.purpose is None:
            return key_id_of(bytes(stored))
        try:
            return key_id_of(vault.envelope_of(stored))
        except vault.VaultError:
            return None

    def resealed(self, ring: DataKeys, stored: Any, row: Mapping[str, Any]) -> Any:
        if self.purpose is None:
            aad = cast(Sealed[Any], self.column.type).aad
            return ring.seal(ring.open(bytes(stored), aad), aad)
        aad = vault.purpose_aad(self.purpose.format(**row))
        return vault.token_of(ring.seal(ring.open(vault.envelope_of(stored), aad), aad))


def sealed_fields(metadata: MetaData) -> list[SealedField]:
    return [
        SealedField(table, column)
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, Sealed) or VAULT_PURPOSE in column.info
    ]


def _pages(ring: DataKeys, field: SealedField, size: int) -> Iterator[tuple[Connection, Any]]:
    """(key, stored value, *context) of the field's rows, ``size`` rows per transaction."""
    (key,) = field.table.primary_key.columns
    after = None
    while True:
        with ring.connect() as conn:
            query = select(key, field.raw, *field.context()).where(field.raw.is_not(None))
            if after is not None:
                query = query.where(key > after)
            rows = conn.execute(query.order_by(key).limit(size)).all()
            if not rows:
                return
            yield conn, rows
        after = rows[-1][0]


def usage(ring: DataKeys, metadata: MetaData, *, size: int = 5000) -> dict[int, int]:
    """How many stored values each data key seals (read from their headers, none opened)."""
    used: dict[int, int] = {}
    for field in sealed_fields(metadata):
        for _, rows in _pages(ring, field, size):
            for row in rows:
                dek_id = field.key_of(row[1])
                if dek_id is not None:
                    used[dek_id] = used.get(dek_id, 0) + 1
    return used


def reencrypt(ring: DataKeys, metadata: MetaData, *, size: int = 1000) -> dict[str, int]:
    """Seal again under the current data key every value sealed under an older one, ``size``
    rows per transaction; a value changed meanwhile by the application is left as written."""
    ring.load()
    counts: dict[str, int] = {}
    for field in sealed_fields(metadata):
        (key,) = field.table.primary_key.columns
        names = [c.name for c in field.context()]
        change = (
            update(field.table)
            .where(key == bindparam("b_key"), field.raw == bindparam("b_old"))
            .values({field.column.name: bindparam("b_new", type_=field.raw.type)})
        )
        counts[field.name] = 0
        for conn, rows in _pages(ring, field, size):
            batch = [
                {"b_key": row[0], "b_old": row[1],
                 "b_new": field.resealed(ring, row[1], dict(zip(names, row[2:], strict=True)))}
                for row in rows if field.key_of(row[1]) not in (None, ring.current)
            ]  # fmt: skip
            if batch:
                conn.execute(change, batch)
            counts[field.name] += len(batch)
    return counts


def retire(ring: DataKeys, metadata: MetaData) -> dict[str, Any]:
    """Delete every data key no value uses, once the current one has sealed new values in
    every process (twice REFRESH_SECONDS after it was made); the current key stays."""
    ring.load()
    used = usage(ring, metadata)
    keys = ring.keys()
    current, since = keys[-1][0], keys[-1][2]
    settled = ring.clock.now() - since >= dt.timedelta(seconds=2 * REFRESH_SECONDS)
    idle = [i for i, _, _ in keys[:-1] if not used.get(i)] if settled else []
    if idle:
        with ring.connect() as conn:
            conn.execute(delete(KEYS).where(KEYS.c.id.in_(idle)))
        ring.load()
    in_use = {str(i): n for i, n in sorted(used.items()) if i != current}
    return {"retired": idle, "current": current, "settled": settled, "in_use": in_use}


def data_keys_command(
    action: str, *, settings: Settings, ring: DataKeys, metadata: MetaData, clock: Clock,
    batch: int = 1000,
) -> dict[str, Any]:  # fmt: skip
    """`puerta keys data-init|data-rewrap|data-rotate|data-reencrypt|data-retire|data-list`:
    what it prints (ids and counts, never a key)."""
    path = settings.data_key_file
    if action == "init":
        return {"file": str(path), "added": init_kek_file(path, now=clock.now())}
    if action == "rewrap":
        if settings.data_key:  # injected keys: the operator has put the new one first
            return ring.rewrap()
        added = add_kek(path, now=clock.now())
        return ring.rewrap() | {"file": str(path), "removed": keep_only(path, added)}
    if action == "rotate":
        return {"current": ring.rotate()}
    if action == "reencrypt":
        return {"resealed": reencrypt(ring, metadata, size=batch), "current": ring.current}
    if action == "retire":
        return retire(ring, metadata)
    ring.load()
    used = usage(ring, metadata)
    return {"current": ring.current, "data_keys": [
        {"id": i, "kek_id": k, "created_at": c.isoformat(), "values": used.get(i, 0)}
        for i, k, c in ring.keys()
    ]}  # fmt: skip
