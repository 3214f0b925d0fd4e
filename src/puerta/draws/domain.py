"""The draw's rules that need no arrays: parameters, seeds, digests and errors (stdlib only)."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from dataclasses import dataclass

from puerta.errors import Conflict, Invalid, NotFound

WEIGHT_FUNCTIONS = ("uniform", "linear", "sqrt")


class Share(enum.StrEnum):
    """The three passes of a draw, in the order they allocate."""

    RESERVE = "reserve"
    SENIORITY = "seniority"
    LOTTERY = "lottery"


class InvalidDrawParams(Invalid):
    code = "invalid_draw_params"
    message = "The draw's shares must be between 0 and 1 and add up to at most 1."


class WindowStillOpen(Conflict):
    code = "window_still_open"
    message = "This window is still open; its draw runs after it closes at {closes_at}."


class UnknownWindow(NotFound):
    code = "unknown_window"
    message = "There is no request window for {window}."


class NoDraw(NotFound):
    code = "no_draw"
    message = "The draw for {window} has not run yet."


class DrawOutOfOrder(Conflict):
    code = "draw_out_of_order"
    message = "A later window ({later}) has already been drawn; draws run in window order."


@dataclass(frozen=True)
class DrawParams:
    """What a draw is configured with; recorded with every draw so it can be re-run."""

    reserve_share: float = 0.10
    seniority_share: float = 0.40
    weight: str = "linear"

    def __post_init__(self) -> None:
        shares = (self.reserve_share, self.seniority_share)
        if not all(0 <= s <= 1 for s in shares) or sum(shares) > 1 + 1e-9:
            raise InvalidDrawParams()
        if self.weight not in WEIGHT_FUNCTIONS:
            raise InvalidDrawParams()

    def pools(self, seats: int) -> dict[Share, int]:
        """Split one port's seats into the three shares; rounding goes to the lottery."""
        reserve = int(seats * self.reserve_share)
        seniority = int(seats * self.seniority_share)
        return {
            Share.RESERVE: reserve,
            Share.SENIORITY: seniority,
            Share.LOTTERY: seats - reserve - seniority,
        }


def draw_seed(window: dt.date, digest: str, secret: bytes) -> bytes:
    """seed = SHA-256(window date, entries digest, revealed secret)."""
    material = b"puerta-draw-v1|" + window.isoformat().encode() + b"|" + digest.encode() + b"|"
    return hashlib.sha256(material + secret).digest()
