"""The rate-limit settings: the `limits` notation, refused when wrong, and the scales."""

from __future__ import annotations

import pytest
from limits import RateLimitItemPerDay, RateLimitItemPerMinute
from pydantic import ValidationError

from puerta.config import TEST_RATE_SCALE, Settings
from puerta.ratelimits.limiter import Action, policies, scaled


class TestRateSettings:
    def test_reads_several_limits_and_none(self) -> None:
        assert scaled("10/minute;100/day", 1) == (
            RateLimitItemPerMinute(10),
            RateLimitItemPerDay(100),
        )
        assert scaled("", 1) == ()

    @pytest.mark.parametrize("text", ["lots", "10 per fortnight", "10/minute;x"])
    def test_refuses_what_is_not_the_notation(self, text: str) -> None:
        with pytest.raises(ValidationError, match="10/minute;100/day"):
            Settings(rate_login_per_address=text)

    def test_production_counts_the_limits_as_written_and_tests_far_higher(self) -> None:
        written = policies(Settings(env="production", secret_key="s" * 32))
        assert written[Action.VERIFY].per_address == scaled("10/minute;100/day", 1)
        assert written[Action.REQUESTS].per_account == scaled("10/minute;60/hour", 1)
        tested = policies(Settings(env="test"))
        assert tested[Action.VERIFY].per_address[0].amount == 10 * TEST_RATE_SCALE

    def test_each_scale_multiplies_its_own_scope(self) -> None:
        found = policies(Settings(env="test", rate_limit_address_scale=3,
                                  rate_limit_account_scale=1))  # fmt: skip
        assert found[Action.REQUESTS].per_address == (RateLimitItemPerMinute(900),)
        assert found[Action.REQUESTS].per_account[0] == RateLimitItemPerMinute(10)
