"""The entries of a draw in their canonical packed form: what is hashed, stored and re-run.

Each entry is one little-endian record of 21 bytes, in ascending request id:
``id`` int64, ``size`` int16, three port indices int8 (index into ``PORTS``, -1 for none),
``registered_us`` int64 (registration, microseconds since 1970-01-01 UTC), ``vulnerable`` uint8.
The entries digest is the SHA-256 of these bytes; the stored copy is zlib-compressed.
"""

from __future__ import annotations

import hashlib
import zlib

import numpy as np

from puerta.draws.allocation import Entries

RECORD = np.dtype(
    [
        ("id", "<i8"),
        ("size", "<i2"),
        ("ports", "i1", (3,)),
        ("registered_us", "<i8"),
        ("vulnerable", "u1"),
    ]
)
DAY_US = 86_400_000_000


def from_rows(rows: np.ndarray, reference_us: int) -> Entries:
    """Entries from an (n, 7) integer array of id, size, 3 ports, registered_us, vulnerable."""
    rows = rows.reshape(-1, 7)
    return from_columns(
        ids=rows[:, 0], sizes=rows[:, 1], ports=rows[:, 2:5], registered=rows[:, 5],
        vulnerable=rows[:, 6], reference_us=reference_us,
    )  # fmt: skip


def from_columns(
    *,
    ids: np.ndarray,
    sizes: np.ndarray,
    ports: np.ndarray,
    registered: np.ndarray,
    vulnerable: np.ndarray,
    reference_us: int,
) -> Entries:
    """Entries from columns in any order; ``ports`` is (n, 3), -1 for none."""
    order = np.argsort(ids, kind="stable")
    registered = registered[order].astype(np.int64, copy=False)
    return Entries(
        ids=ids[order].astype(np.int64, copy=False),
        sizes=sizes[order].astype(np.int64, copy=False),
        ports=ports[order].astype(np.int64, copy=False),
        registered=registered,
        days=(reference_us - registered) // DAY_US,
        vulnerable=vulnerable[order].astype(np.bool_, copy=False),
    )


def pack(entries: Entries) -> bytes:
    records = np.zeros(len(entries), dtype=RECORD)
    records["id"] = entries.ids
    records["size"] = entries.sizes
    records["ports"] = entries.ports
    records["registered_us"] = entries.registered
    records["vulnerable"] = entries.vulnerable
    return records.tobytes()


def unpack(packed: bytes, reference_us: int) -> Entries:
    records = np.frombuffer(packed, dtype=RECORD)
    rows = np.column_stack(
        [
            records["id"],
            records["size"],
            records["ports"].astype(np.int64),
            records["registered_us"],
            records["vulnerable"],
        ]
    ).astype(np.int64)
    return from_rows(rows.reshape(-1, 7), reference_us)


def digest(packed: bytes) -> str:
    return hashlib.sha256(packed).hexdigest()


def compress(packed: bytes) -> bytes:
    return zlib.compress(packed, 1)


def decompress(stored: bytes) -> bytes:
    return zlib.decompress(stored)
