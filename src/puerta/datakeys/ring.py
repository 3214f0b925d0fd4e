"""The data keys (DEKs) of one database: random 256-bit AES keys stored only wrapped by a KEK,
unwrapped once per process and held in memory, and what seals and opens values with them.

A sealed value is one version byte, the DEK's id (4 bytes, big-endian), a fresh 96-bit
nonce, then AES-256-GCM's ciphertext and tag. Its associated data is those first five bytes
and what the caller binds it to (a column, ``"group_members.birth_date"``, or a vault
purpose): a value edited, or moved to another column, does not open.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import struct
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Integer, LargeBinary, String, Table, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from puerta.clock import Clock
from puerta.datakeys.keks import DataKeysMissing, Keks
from puerta.db import Base, UTCDateTime
from puerta.errors import DomainError

VERSION = 1
_HEADER = struct.Struct(">BI")  # version, data key id
_NONCE = 12
_TAG = 16
# How often a process reads data_keys again, so that a key made by `puerta keys data-rotate`
# seals new values in every process within this time.
REFRESH_SECONDS = 60.0


class UnknownDataKey(DomainError):
    """A sealed value names a data key this database does not hold (retired, or foreign)."""

    code = "unknown_data_key"
    status = 503
    message = "Stored personal data cannot be opened: its data key is unknown to this server."


class UnknownKeyEncryptionKey(DomainError):
    code = "unknown_key_encryption_key"
    status = 503
    message = "A data key is wrapped by a key-encryption key this server does not have."


class SealedValueError(ValueError):
    """A value that does not open: altered, moved from another column, or not sealed."""


class DataKey(Base):
    """A data key, stored only wrapped (AES-256-GCM) by the KEK named ``kek_id``."""

    __tablename__ = "data_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kek_id: Mapped[str] = mapped_column(String(32))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


KEYS: Table = DataKey.__table__  # type: ignore[assignment]
Connect = Callable[[], AbstractContextManager[Connection]]


def _wrap_aad(dek_id: int) -> bytes:
    return b"puerta data key %d" % dek_id


def _wrap(kek: bytes, dek_id: int, dek: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(kek).encrypt(nonce, dek, _wrap_aad(dek_id))


def key_id_of(sealed: bytes) -> int | None:
    """The data key a sealed value names, read without opening it (None: not sealed)."""
    if len(sealed) < _HEADER.size + _NONCE + _TAG or sealed[0] != VERSION:
        return None
    return int(_HEADER.unpack_from(sealed)[1])


class DataKeys:
    """One database's key ring. ``connect`` opens the connection ``data_keys`` is read and
    written with, in its own transaction (``engine.begin``; a migration passes its own)."""

    def __init__(self, keks: Callable[[], Keks], connect: Connect, clock: Clock) -> None:
        self._load_keks = keks
        self._keks: Keks | None = None
        self.connect = connect
        self.clock = clock
        self._lock = threading.Lock()
        self._state: tuple[dict[int, AESGCM], int | None] = ({}, None)
        self._loaded_at = -REFRESH_SECONDS

    @property
    def current(self) -> int | None:
        """The id of the data key that seals new values (None before ``prepare``)."""
        return self._state[1]

    def prepare(self, *, force: bool = False) -> None:
        """Load the data keys, making the first one if there is none.

        ``Runtime.uow`` calls it before every unit of work, outside its transaction, so that
        no statement waits on it (and on SQLite no writer on itself); after the first call
        it reads the table again only every REFRESH_SECONDS. A database not migrated yet is
        left to the unit of work to report."""
        if not force and self._fresh():
            return
        with self._lock:
            if force or not self._fresh():
                try:
                    self._load(create=True)
                except DBAPIError:
                    return  # no data_keys table yet, or the database is away: not now

    def load(self) -> None:
        """Read the data keys now, making the first one if there is none; errors raised."""
        with self._lock:
            self._load(create=True)

    def _fresh(self) -> bool:
        return self.current is not None and time.monotonic() - self._loaded_at < REFRESH_SECONDS

    def _load(self, *, create: bool) -> None:
        try:
            rows = self._rows(create=create)
        except IntegrityError:  # another process made the first key at the same moment
            rows = self._rows(create=False)
        deks = {int(i): AESGCM(self._unwrap(int(i), str(k), bytes(w))) for i, k, w in rows}
        self._state = (deks, max(deks) if deks else None)
        self._loaded_at = time.monotonic()

    def _rows(self, *, create: bool) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            rows = [tuple(row) for row in conn.execute(select(KEYS.c.id, KEYS.c.kek_id,
                                                              KEYS.c.wrapped))]  # fmt: skip
            if not rows and create:
                rows = [self._create(conn, 1)]
        return rows

    def _kek(self, wanted: str | None = None) -> tuple[str, bytes]:
        """The KEK ``wanted`` (default: the current one), the KEKs read again if unknown."""
        for again in (False, True):
            if self._keks is None or again:
                self._keks = self._load_keks()
            name = wanted or self._keks.current
            if name in self._keks.keys:
                return name, self._keks.keys[name]
        raise UnknownKeyEncryptionKey(kek=wanted)

    def _unwrap(self, dek_id: int, kek_name: str, wrapped: bytes) -> bytes:
        _, kek = self._kek(kek_name)
        try:
            return AESGCM(kek).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], _wrap_aad(dek_id))
        except InvalidTag:
            raise UnknownKeyEncryptionKey(kek=kek_name) from None

    def _create(self, conn: Connection, dek_id: int) -> tuple[int, str, bytes]:
        name, kek = self._kek()
        wrapped = _wrap(kek, dek_id, secrets.token_bytes(32))
        conn.execute(KEYS.insert().values(id=dek_id, kek_id=name, wrapped=wrapped,
                                          created_at=self.clock.now()))  # fmt: skip
        return dek_id, name, wrapped

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """``plaintext`` sealed under the current data key, bound to ``aad``."""
        if self.current is None:
            self.prepare()
        deks, current = self._state
        if current is None:
            raise DataKeysMissing()
        header, nonce = _HEADER.pack(VERSION, current), os.urandom(_NONCE)
        return header + nonce + deks[current].encrypt(nonce, plaintext, header + aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        """What ``seal`` sealed with ``aad``; SealedValueError or UnknownDataKey otherwise."""
        dek_id = key_id_of(sealed)
        if dek_id is None:
            raise SealedValueError("not a sealed value")
        aead = self._state[0].get(dek_id) or self._fetch(dek_id)
        start = _HEADER.size + _NONCE
        try:
            return aead.decrypt(sealed[_HEADER.size : start], sealed[start:],
                                sealed[: _HEADER.size] + aad)  # fmt: skip
        except InvalidTag:
            raise SealedValueError(
                f"a value for {aad.decode(errors='replace')} does not open: altered, or moved"
            ) from None

    def _fetch(self, dek_id: int) -> AESGCM:
        """A data key newer than this process's copy (another process rotated), or none."""
        with self._lock:
            if dek_id not in self._state[0]:
                self._load(create=False)
        found = self._state[0].get(dek_id)
        if found is None:
            raise UnknownDataKey(key_id=dek_id)
        return found

    def rotate(self) -> int:
        """A new data key, wrapped by the current KEK; from now on it seals new values."""
        with self.connect() as conn:
            dek_id = int(conn.scalar(select(func.max(KEYS.c.id))) or 0) + 1
            self._create(conn, dek_id)
        self.load()
        return dek_id

    def rewrap(self) -> dict[str, Any]:
        """Every data key wrapped again by the current KEK; no sealed value changes."""
        self._keks = self._load_keks()
        name, kek = self._kek()
        with self.connect() as conn:
            rows = conn.execute(select(KEYS.c.id, KEYS.c.kek_id, KEYS.c.wrapped)).all()
            for dek_id, old, wrapped in rows:
                dek = self._unwrap(dek_id, old, bytes(wrapped))
                conn.execute(update(KEYS).where(KEYS.c.id == dek_id)
                             .values(kek_id=name, wrapped=_wrap(kek, dek_id, dek)))  # fmt: skip
        unused = sorted(set(self._keks.keys) - {name})
        return {"wrapped_by": name, "data_keys": len(rows), "unused_keks": unused}

    def keys(self) -> list[tuple[int, str, dt.datetime]]:
        """(id, KEK id, created at) of every data key, oldest first."""
        with self.connect() as conn:
            rows = conn.execute(select(KEYS.c.id, KEYS.c.kek_id, KEYS.c.created_at)
                                .order_by(KEYS.c.id)).all()  # fmt: skip
        return [(int(i), str(k), c) for i, k, c in rows]
