from __future__ import annotations

import pytest

from puerta.appointments import domain
from puerta.config import DEFAULT_PORT_SEATS, Settings


class TestPorts:
    def test_there_are_the_eight_ports_with_their_slugs(self) -> None:
        assert [p.slug for p in domain.PORTS] == [
            "brownsville",
            "hidalgo",
            "laredo",
            "eagle-pass",
            "el-paso",
            "nogales",
            "calexico",
            "san-ysidro",
        ]

    def test_default_capacity_is_1450_persons_split_across_all_ports(self) -> None:
        assert set(DEFAULT_PORT_SEATS) == set(domain.PORTS_BY_SLUG)
        assert Settings().default_daily_capacity == 1450


class TestPortChoices:
    @pytest.mark.parametrize(
        "choice", [[], ["a"], ["laredo", "laredo"], ["laredo", "hidalgo", "nogales", "calexico"]]
    )
    def test_refuses_empty_unknown_repeated_or_more_than_three(self, choice: list[str]) -> None:
        with pytest.raises((domain.InvalidPortChoice, domain.UnknownPortChoice)):
            domain.check_port_choices(choice)

    def test_keeps_the_order_of_preference(self) -> None:
        assert domain.check_port_choices(["nogales", "el-paso"]) == ("nogales", "el-paso")


class TestIdempotencyKey:
    @pytest.mark.parametrize("key", ["", " ", "ñ", "x" * 129, "a b"])
    def test_refuses_keys_that_are_not_short_visible_ascii(self, key: str) -> None:
        with pytest.raises(domain.InvalidIdempotencyKey):
            domain.check_idempotency_key(key)

    def test_accepts_a_uuid(self) -> None:
        key = "0b6d3c1e-5f43-4b8a-9d1e-2f3a4b5c6d7e"
        assert domain.check_idempotency_key(key) == key
