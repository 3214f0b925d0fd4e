"""The commitment to a window's secret, made when the window opens (its hash is published).

Part of the request window, so the first request (or the jobs' tick) makes it; the draw,
one floor up, reveals it.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from puerta.appointments.domain import commit_secret
from puerta.appointments.tables import WindowCommitment
from puerta.clock import Clock


def ensure_commitment(
    session: Session, *, window: dt.date, clock: Clock, rng: random.Random
) -> str:
    """Commit to a fresh secret for ``window`` (once); returns the published hash."""
    # Every batch of requests asks: one column by primary key, not the ORM's whole row.
    published = select(WindowCommitment.secret_hash).where(WindowCommitment.window == window)
    existing = session.scalar(published)
    if existing is not None:
        return existing
    secret = rng.randbytes(32).hex()
    try:
        with session.begin_nested():
            session.add(
                WindowCommitment(
                    window=window,
                    secret_hash=commit_secret(bytes.fromhex(secret)),
                    secret=secret,
                    created_at=clock.now(),
                )
            )
    except IntegrityError:
        pass  # another request committed first; its commitment stands
    found = session.get(WindowCommitment, window)
    assert found is not None
    return found.secret_hash
