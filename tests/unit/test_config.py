"""Settings refuse what would make puerta unsafe or inconsistent."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from puerta.config import Settings

PINNED = dt.datetime(2024, 9, 2, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))


class TestSettings:
    def test_a_pinned_clock_is_refused_in_production(self) -> None:
        with pytest.raises(ValidationError, match="PUERTA_NOW"):
            Settings(env="production", now=PINNED)

    def test_a_pinned_clock_is_allowed_elsewhere(self) -> None:
        assert Settings(env="development", now=PINNED).now == PINNED

    def test_a_pinned_clock_needs_an_offset(self) -> None:
        with pytest.raises(ValidationError, match="offset"):
            Settings(now=dt.datetime(2024, 9, 2, 13, 0))

    def test_reads_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PUERTA_NOW", "2024-09-02T13:00:00-05:00")
        monkeypatch.setenv("PUERTA_PORT_SEATS", '{"nogales": 50}')
        settings = Settings()
        assert settings.now == PINNED and settings.port_seats == {"nogales": 50}

    @pytest.mark.parametrize(
        "bad",
        [
            {"reserve_share": 0.7, "seniority_share": 0.5},
            {"window_opens": dt.time(12), "window_closes": dt.time(12)},
            {"window_timezone": "Mars/Olympus_Mons"},
            {"port_seats": {"nogales": -1}},
            {"slot_first": dt.time(15), "slot_last": dt.time(7)},
            {"offer_hours": 0},
        ],
    )
    def test_refuses_inconsistent_values(self, bad: dict[str, object]) -> None:
        with pytest.raises(ValidationError):
            Settings(**bad)  # type: ignore[arg-type]
