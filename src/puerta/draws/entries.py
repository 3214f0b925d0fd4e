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
    rows = rows[np.argsort(rows[:, 0], kind="stable")] if len(rows) else rows.reshape(0, 7)
    registered = rows[:, 5].astype(np.int64)
    return Entries(
        ids=rows[:, 0].astype(np.int64),
        sizes=rows[:, 1].astype(np.int64),
        ports=rows[:, 2:5].astype(np.int64),
        registered=registered,
        days=(reference_us - registered) // DAY_US,
        vulnerable=rows[:, 6].astype(np.bool_),
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
