"""Who may do what how often, and the login lockout, over the database storage.

Each action is limited per client address and, where there is one, per account, with the
limits of the settings (``PUERTA_RATE_*``). Who is counted is a keyed hash (HMAC-SHA256, a
key derived from the deployment's secret) of the action and the address, account id or
username, so the counters name no one and the rows of two actions cannot be matched up.

A username is locked after ``PUERTA_LOCKOUT_FAILURES`` failed logins within
``PUERTA_LOCKOUT_WINDOW_MINUTES``, for ``PUERTA_LOCKOUT_MINUTES`` or until an admin or its
caseworker unlocks it. The username is counted whether or not an account has it, so a
lockout says nothing about which usernames exist.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute, parse_many
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Connection, Engine

from puerta.clock import Clock
from puerta.config import Settings
from puerta.errors import DomainError
from puerta.ratelimits.storage import DatabaseStorage, Hit, Verdict, count_in, purge_expired
from puerta.ratelimits.storage import retry_after as seconds_until


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
    message = "Too many attempts. Try again in {seconds} seconds."


class LoginLocked(RateLimited):
    message = (
        "Too many failed logins. Try again in {seconds} seconds, or ask your caseworker or an "
        "administrator to unlock the account."
    )


class Action(enum.StrEnum):
    LOGIN = "login"
    ACCOUNTS = "accounts"
    REQUESTS = "requests"
    VERIFY = "verify"
    PROOFS = "proofs"
    INCIDENTS = "incidents"


# The settings of each action's limits: (per address, per account or None).
SETTINGS: dict[Action, tuple[str, str | None]] = {
    Action.LOGIN: ("rate_login_per_address", None),
    Action.ACCOUNTS: ("rate_accounts_per_address", None),
    Action.REQUESTS: ("rate_requests_per_address", "rate_requests_per_account"),
    Action.VERIFY: ("rate_verify_per_address", None),
    Action.PROOFS: ("rate_proofs_per_address", "rate_proofs_per_account"),
    Action.INCIDENTS: ("rate_incidents_per_address", None),
}


def scaled(text: str, scale: int) -> tuple[RateLimitItem, ...]:
    """The limits written in ``text`` (``10/minute;100/day``), each ``scale`` times larger."""
    if not text:
        return ()
    return tuple(type(item)(item.amount * scale, item.multiples) for item in parse_many(text))


@dataclass(frozen=True)
class Policy:
    per_address: tuple[RateLimitItem, ...]
    per_account: tuple[RateLimitItem, ...]


def policies(settings: Settings) -> dict[Action, Policy]:
    def items(name: str | None, scope: str) -> tuple[RateLimitItem, ...]:
        if name is None:
            return ()
        text: str = getattr(settings, name)
        return scaled(text, settings.rate_scale("address" if scope == "address" else "account"))

    return {
        action: Policy(items(address, "address"), items(account, "account"))
        for action, (address, account) in SETTINGS.items()
    }


class Identities:
    """Keyed hashes of who is counted; the key is derived from the deployment's secret."""

    def __init__(self, secret: Callable[[], bytes]) -> None:
        self._secret = secret
        self._key: bytes | None = None

    def __call__(self, action: str, scope: str, value: str) -> str:
        if self._key is None:
            self._key = hashlib.sha256(b"puerta rate limits|" + self._secret()).digest()
        message = f"{action}|{scope}|{value}".encode()
        return f"{action}/{scope}:{hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]}"


class LoginGuard:
    """Failed logins per username, and the lockout they lead to."""

    def __init__(
        self, *, engine: Engine, clock: Clock, settings: Settings, identity: Identities
    ) -> None:
        self._engine, self._clock, self._identity = engine, clock, identity
        failures = settings.lockout_failures * settings.rate_scale("account")
        self._failures = RateLimitItemPerMinute(failures, settings.lockout_window_minutes)
        self._lock = RateLimitItemPerMinute(1, settings.lockout_minutes)

    def _limiter(self, bind: Engine | Connection) -> FixedWindowRateLimiter:
        return FixedWindowRateLimiter(DatabaseStorage(bind, self._clock))

    def _keys(self, username: str) -> tuple[str, str]:
        """The username's counters: of failures, and of the lock (apart, whatever the limits)."""
        return (
            self._identity(Action.LOGIN, "failures", username),
            self._identity(Action.LOGIN, "lock", username),
        )

    def check(self, username: str) -> None:
        """Refuse a login for a locked username (``LoginLocked``), before any password."""
        key, limiter = self._keys(username)[1], self._limiter(self._engine)
        if not limiter.test(self._lock, key):
            reset = limiter.get_window_stats(self._lock, key).reset_time
            raise LoginLocked(seconds=seconds_until(reset, self._clock.now().timestamp()))

    def failed(self, username: str) -> None:
        """Count a failed login; the one that fills the window locks the username."""
        failures, lock = self._keys(username)
        with self._engine.begin() as conn:
            limiter = self._limiter(conn)
            limiter.hit(self._failures, failures)
            if not limiter.test(self._failures, failures):
                limiter.hit(self._lock, lock)
                # Counted afresh once the lock ends.
                limiter.clear(self._failures, failures)

    def succeeded(self, username: str) -> None:
        """A login that got in: its username's failures are forgotten."""
        self._limiter(self._engine).clear(self._failures, self._keys(username)[0])

    def unlock(self, username: str, conn: Connection) -> None:
        """Lift the lockout (in the caller's transaction, with its audit event)."""
        limiter, (failures, lock) = self._limiter(conn), self._keys(username)
        limiter.clear(self._lock, lock)
        limiter.clear(self._failures, failures)


class RateLimits:
    """The deployment's rate limits, counted in its database; built once per runtime."""

    def __init__(
        self, *, settings: Settings, engine: Engine, clock: Clock, secret: Callable[[], bytes]
    ) -> None:
        self._engine, self._clock = engine, clock
        self._policies = policies(settings)
        self._identity = Identities(secret)
        self.login = LoginGuard(
            engine=engine, clock=clock, settings=settings, identity=self._identity
        )

    def hits(self, action: Action, *, address: str | None, account_id: int | None) -> list[Hit]:
        """What one ``action`` by this address (and account) counts against."""
        policy = self._policies[action]
        found = []
        if address is not None:
            who = self._identity(action, "address", address)
            found += [Hit(who, item) for item in policy.per_address]
        if account_id is not None:
            who = self._identity(action, "account", str(account_id))
            found += [Hit(who, item) for item in policy.per_account]
        return found

    def request_hits(self, *, account_id: int, address: str | None) -> list[Hit]:
        """The hits of one appointment request, for ``count_in`` in the intake's transaction."""
        return self.hits(Action.REQUESTS, address=address, account_id=account_id)

    def count_in(self, conn: Connection, hits: Sequence[Hit]) -> list[Verdict]:
        """``storage.count_in`` at the runtime clock's time."""
        return count_in(conn, hits, now=self._clock.now())

    def check(self, action: Action, *, address: str | None, account_id: int | None = None) -> None:
        """Count one ``action``; ``RateLimited`` (with the seconds to wait) past a limit."""
        hits = sorted(
            self.hits(action, address=address, account_id=account_id),
            key=lambda hit: hit.limit.key_for(hit.key),
        )
        if not hits:
            return
        with self._engine.begin() as conn:
            limiter = FixedWindowRateLimiter(DatabaseStorage(conn, self._clock))
            refused = [hit for hit in hits if not limiter.hit(hit.limit, hit.key, cost=hit.cost)]
            resets = [limiter.get_window_stats(hit.limit, hit.key).reset_time for hit in refused]
        if resets:
            raise RateLimited(seconds=seconds_until(max(resets), self._clock.now().timestamp()))

    def purge(self) -> int:
        """Delete the ended windows (``puerta jobs tick``)."""
        return purge_expired(self._engine, self._clock)
