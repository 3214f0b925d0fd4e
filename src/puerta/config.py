"""Settings, read from the environment with the prefix ``PUERTA_``.

Every setting is documented in the README; ``tests/unit/test_docs.py`` keeps the two in step.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path.cwd() / "var"
DEFAULT_CAPACITY_HORIZON_DAYS = 365

DEFAULT_PORT_SEATS: dict[str, int] = {
    "brownsville": 380,
    "hidalgo": 125,
    "laredo": 125,
    "eagle-pass": 110,
    "el-paso": 150,
    "nogales": 100,
    "calexico": 75,
    "san-ysidro": 385,
}
RATE_SETTINGS = (
    "rate_login_per_address",
    "rate_accounts_per_address",
    "rate_requests_per_account",
    "rate_requests_per_address",
    "rate_verify_per_address",
    "rate_proofs_per_account",
    "rate_proofs_per_address",
    "rate_incidents_per_address",
)
# Tests log in hundreds of times from one test client address: with PUERTA_ENV=test every
# limit is this many times higher, unless a test sets the scales itself.
TEST_RATE_SCALE = 1000


class Settings(BaseSettings):
    """All of puerta's configuration; see the README's settings table."""

    # Errors never quote a value: a bad setting could be a secret (a key, a password).
    model_config = SettingsConfigDict(
        env_prefix="PUERTA_", extra="ignore", hide_input_in_errors=True
    )

    env: Literal["development", "test", "production"] = "development"
    database_url: str = Field(default_factory=lambda: f"sqlite:///{VAR_DIR / 'puerta.db'}")
    now: dt.datetime | None = None
    window_timezone: str = "America/Chicago"
    window_opens: dt.time = dt.time(12, 0)
    window_closes: dt.time = dt.time(11, 0)
    port_seats: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_PORT_SEATS))
    token_ttl_hours: int = Field(default=12, ge=1, le=24 * 30)
    default_language: str = "es"
    log_level: str = "INFO"
    service_date_offset_days: int = Field(default=14, ge=1, le=60)
    capacity_horizon_days: int = Field(default=DEFAULT_CAPACITY_HORIZON_DAYS, ge=1, le=3660)
    offer_hours: int = Field(default=23, ge=1, le=24 * 7)
    exception_review_hours: int = Field(default=72, ge=1, le=24 * 60)
    exception_urgent_hours: int = Field(default=24, ge=1, le=24 * 60)
    reserve_share: float = Field(default=0.10, ge=0, le=1)
    seniority_share: float = Field(default=0.40, ge=0, le=1)
    lottery_weight: Literal["uniform", "linear", "sqrt"] = "linear"
    standing_requests: bool = True
    slot_first: dt.time = dt.time(7, 0)
    slot_last: dt.time = dt.time(14, 0)
    # smtp+sms: e-mail usernames by SMTP, phone numbers by SMS (puerta.notifications.gateway).
    notifier: Literal["log", "smtp", "sms", "smtp+sms"] = "log"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "puerta@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    sms_api_url: str = "https://api.twilio.com"
    sms_account_sid: str | None = None
    # A secret: kept out of repr (and so out of logs).
    sms_auth_token: str | None = Field(default=None, repr=False)
    sms_from: str | None = None
    sms_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @model_validator(mode="after")
    def _sms_configured(self) -> Settings:
        if self.notifier not in ("sms", "smtp+sms"):
            return self
        needed = ("sms_account_sid", "sms_auth_token", "sms_from")
        missing = [f"PUERTA_{name.upper()}" for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"PUERTA_NOTIFIER={self.notifier} needs {', '.join(missing)}")
        if self.env == "production" and not self.sms_api_url.startswith("https://"):
            raise ValueError("PUERTA_SMS_API_URL must be an https:// URL in production")
        return self

    jobs_interval_seconds: int = Field(default=60, ge=0)
    # Signed proofs (puerta.proofs, docs/proofs.md): the signing keys live in this file
    # (`puerta keys init`) and/or PUERTA_PROOF_KEY (a secret: kept out of repr), never the
    # database.
    proof_keys_file: Path = Field(default_factory=lambda: VAR_DIR / "proof-keys.json")
    proof_key: str | None = Field(default=None, repr=False)
    # Personal data at rest (puerta.datakeys, docs/encryption.md): the key-encryption keys
    # live in this file and/or PUERTA_DATA_KEY (a secret: kept out of repr), never the database.
    data_key_file: Path = Field(default_factory=lambda: VAR_DIR / "data-keys.json")
    data_key: str | None = Field(default=None, repr=False)
    proof_registration_days: int = Field(default=30, ge=1, le=366)
    proof_appointment_grace_days: int = Field(default=1, ge=0, le=30)
    # Rate limits (puerta.ratelimits; README, "Rate limits and lockouts"), counted in the
    # database so that every process shares them. In the notation of `limits`, several
    # joined by ";"; empty: none. A shelter's wifi puts many people behind one address.
    rate_login_per_address: str = "60/minute;600/hour"
    rate_accounts_per_address: str = "20/hour;100/day"
    rate_requests_per_account: str = "10/minute;60/hour"
    rate_requests_per_address: str = "300/minute"
    rate_verify_per_address: str = "10/minute;100/day"
    rate_proofs_per_account: str = "60/hour"
    rate_proofs_per_address: str = "600/hour"
    rate_incidents_per_address: str = "20/hour;100/day"
    # Multiply every per-address (per-account) limit; unset: 1, or TEST_RATE_SCALE in tests.
    rate_limit_address_scale: int | None = Field(default=None, ge=1, le=10**9)
    rate_limit_account_scale: int | None = Field(default=None, ge=1, le=10**9)
    lockout_failures: int = Field(default=10, ge=1, le=10_000)
    lockout_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    lockout_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    # Peers whose X-Forwarded-For `puerta serve` believes (uvicorn's forwarded_allow_ips).
    forwarded_allow_ips: str = "127.0.0.1"

    @field_validator(*RATE_SETTINGS)
    @classmethod
    def _rate_notation(cls, value: str) -> str:
        if value.strip():
            try:
                parse_many(value)
            except ValueError:
                raise ValueError("write limits as 10/minute;100/day (empty: none)") from None
        return value.strip()

    def rate_scale(self, scope: Literal["address", "account"]) -> int:
        """How many times the configured limits of ``scope`` are allowed."""
        chosen = (
            self.rate_limit_address_scale if scope == "address" else self.rate_limit_account_scale
        )
        if chosen is not None:
            return chosen
        return TEST_RATE_SCALE if self.env == "test" else 1

    secret_key: str | None = Field(default=None, min_length=32)
    cookie_secure: bool | None = None
    # The triage team's key file (puerta.incidents.keys): public keys, and private keys
    # encrypted under their passphrases. The passphrase is never a setting in production:
    # PUERTA_INCIDENTS_PASSPHRASE is read only by `puerta incidents keys` (tests and CI).
    incidents_key_file: Path = Field(default_factory=lambda: VAR_DIR / "incidents-keys.json")
    incidents_passphrase: str | None = Field(default=None, repr=False)

    @model_validator(mode="after")
    def _no_incidents_passphrase_in_production(self) -> Settings:
        if self.env == "production" and self.incidents_passphrase is not None:
            raise ValueError("PUERTA_INCIDENTS_PASSPHRASE is for tests and CI only")
        return self

    @field_validator("window_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from None
        return value

    @field_validator("now")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("PUERTA_NOW needs a UTC offset, e.g. 2024-05-10T12:30:00-05:00")
        return value

    @model_validator(mode="after")
    def _no_pinned_clock_in_production(self) -> Settings:
        if self.env == "production" and self.now is not None:
            raise ValueError("PUERTA_NOW pins the clock and is refused when PUERTA_ENV=production")
        if self.env == "production" and self.secret_key is None:
            raise ValueError("PUERTA_SECRET_KEY (32 characters or more) is needed in production")
        if self.window_opens == self.window_closes:
            raise ValueError("the request window cannot open and close at the same time of day")
        if self.reserve_share + self.seniority_share > 1:
            raise ValueError("PUERTA_RESERVE_SHARE + PUERTA_SENIORITY_SHARE must be at most 1")
        if self.slot_last < self.slot_first:
            raise ValueError("PUERTA_SLOT_LAST must not be earlier than PUERTA_SLOT_FIRST")
        if any(seats < 0 for seats in self.port_seats.values()):
            raise ValueError("PUERTA_PORT_SEATS cannot hold a negative number of seats")
        return self

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over HTTPS: on in production unless PUERTA_COOKIE_SECURE says otherwise."""
        return self.env == "production" if self.cookie_secure is None else self.cookie_secure

    @property
    def default_daily_capacity(self) -> int:
        return sum(self.port_seats.values())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
