"""The column types that seal a value as SQLAlchemy writes it and open it as it reads it.

Why the ring is bound to the engine: SQLAlchemy calls a column type with nothing but the
engine's dialect, so ``bind(engine, ring)`` (done by ``puerta.runtime.build_runtime``) files
the runtime's ring under its engine's dialect, where ``SealedText`` and ``SealedDate`` find
it. Every runtime (every test) has its own engine, so its own ring: no key is read from a
process-wide global, and the services keep reading and writing plain values.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Dialect, Engine, LargeBinary, TypeDecorator
from sqlalchemy.sql import operators

from puerta.datakeys.ring import DataKeys

# A column sealed by puerta.vault names its purpose's template in Column.info under this, so
# that rotation (puerta.datakeys.rotation) can seal its values again.
VAULT_PURPOSE = "vault_purpose"


class SealedColumnCompared(TypeError):
    """SQL cannot compare or order sealed values (each is sealed with its own nonce)."""


class DataKeysUnbound(RuntimeError):
    """An engine without a ring (see ``bind``) met a sealed column."""


_RINGS: WeakKeyDictionary[Dialect, DataKeys] = WeakKeyDictionary()


def bind(engine: Engine, ring: DataKeys) -> None:
    """Seal and open ``engine``'s sealed columns with ``ring`` (see the module's docstring)."""
    _RINGS[engine.dialect] = ring


def ring_of(dialect: Dialect) -> DataKeys:
    ring = _RINGS.get(dialect)
    if ring is None:
        raise DataKeysUnbound("no data keys are bound to this engine: puerta.datakeys.bind it")
    return ring


class _Opaque(TypeDecorator.Comparator[Any]):
    """Only IS NULL and IS NOT NULL: any other comparison would silently match nothing."""

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        if op in (operators.is_, operators.is_not):
            return super().operate(op, *other, **kwargs)
        raise SealedColumnCompared(f"{self.type!r} is sealed: compare opened values in Python")

    def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
        raise SealedColumnCompared(f"{self.type!r} is sealed: compare opened values in Python")


_T = TypeVar("_T")


class Sealed(TypeDecorator[_T]):
    """A value sealed for the column ``column`` ("table.column"), which is its associated
    data; stored as bytes (LargeBinary)."""

    impl = LargeBinary
    cache_ok = True
    comparator_factory = _Opaque

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column
        self.aad = column.encode()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.column!r})"

    def encode(self, value: _T) -> bytes:
        raise NotImplementedError

    def decode(self, raw: bytes) -> _T:
        raise NotImplementedError

    def seal_with(self, ring: DataKeys, value: _T) -> bytes:
        return ring.seal(self.encode(value), self.aad)

    def open_with(self, ring: DataKeys, sealed: bytes) -> _T:
        return self.decode(ring.open(bytes(sealed), self.aad))

    def process_bind_param(self, value: _T | None, dialect: Dialect) -> bytes | None:
        return None if value is None else self.seal_with(ring_of(dialect), value)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> _T | None:
        return None if value is None else self.open_with(ring_of(dialect), value)


class SealedText(Sealed[str]):
    cache_ok = True  # its one argument, the column's name, is its whole state

    def encode(self, value: str) -> bytes:
        return value.encode()

    def decode(self, raw: bytes) -> str:
        return raw.decode()


class SealedDate(Sealed[dt.date]):
    cache_ok = True

    def encode(self, value: dt.date) -> bytes:
        return value.isoformat().encode()

    def decode(self, raw: bytes) -> dt.date:
        return dt.date.fromisoformat(raw.decode())
