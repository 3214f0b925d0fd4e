"""What the floors below ask of the draws.

They may not import this floor, so the runtime passes these answers down to them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from puerta.draws.tables import Draw


def window_drawn(session: Session, window: dt.date) -> bool:
    """Whether ``window``'s draw has run (appointments.service.WindowDrawn)."""
    return session.scalar(select(Draw.id).where(Draw.window == window)) is not None
