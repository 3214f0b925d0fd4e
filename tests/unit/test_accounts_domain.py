from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puerta.accounts import domain
from puerta.accounts.domain import InvalidGroup, Member

TODAY = dt.date(2024, 9, 2)


def a_member(**overrides: object) -> Member:
    values: dict[str, object] = {
        "given_names": "Marie",
        "family_names": "Joseph",
        "birth_date": dt.date(1990, 3, 14),
        "nationality": "hti",
        "languages": ("HT", "fr", "ht"),
    }
    values.update(overrides)
    return Member(**values)  # type: ignore[arg-type]


class TestNormalizeUsername:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("Marie@Example.ORG", "marie@example.org"),
            ("  ana@correo.mx ", "ana@correo.mx"),
            ("+52 55 1234 5678", "+525512345678"),
            ("(+52) 55-1234-5678", "+525512345678"),
            ("0052 55 1234 5678", "+525512345678"),
            ("509 3712 3456", "+50937123456"),
        ],
    )
    def test_accepts_emails_and_phone_numbers_in_their_usual_spellings(
        self, raw: str, expected: str
    ) -> None:
        assert domain.normalize_username(raw) == expected

    @pytest.mark.parametrize("raw", ["", "marie", "a@b", "12345", "+0 55 1234", "x@y.z", "@@.mx"])
    def test_refuses_anything_else(self, raw: str) -> None:
        with pytest.raises(domain.InvalidUsername):
            domain.normalize_username(raw)

    @given(st.text(max_size=40))
    def test_is_idempotent_or_refuses(self, raw: str) -> None:
        try:
            once = domain.normalize_username(raw)
        except domain.InvalidUsername:
            return
        assert domain.normalize_username(once) == once


class TestCheckPassword:
    def test_refuses_short_passwords(self) -> None:
        with pytest.raises(domain.WeakPassword) as caught:
            domain.check_password("1234567")
        assert caught.value.params == {"minimum": 8}

    def test_accepts_eight_characters(self) -> None:
        domain.check_password("12345678")


class TestCleanGroup:
    def test_normalizes_nationality_languages_and_spaces(self) -> None:
        [cleaned] = domain.clean_group([a_member(given_names="  Marie   Ange ")], today=TODAY)
        assert cleaned.given_names == "Marie Ange"
        assert cleaned.nationality == "HTI"
        assert cleaned.languages == ("ht", "fr")

    @pytest.mark.parametrize("size", [0, 13])
    def test_holds_one_to_twelve_members(self, size: int) -> None:
        with pytest.raises(InvalidGroup):
            domain.clean_group([a_member()] * size, today=TODAY)

    def test_twelve_members_are_a_group(self) -> None:
        assert len(domain.clean_group([a_member()] * 12, today=TODAY)) == 12

    @pytest.mark.parametrize(
        "overrides",
        [
            {"birth_date": dt.date(2024, 9, 3)},
            {"birth_date": dt.date(1899, 12, 31)},
            {"nationality": "HT"},
            {"nationality": "H1T"},
            {"given_names": "   "},
            {"family_names": "x" * 101},
            {"given_names": "Ma\x00rie"},
            {"languages": ("español",)},
            {"id_document": "x" * 65},
        ],
    )
    def test_refuses_a_member_with_a_problem(self, overrides: dict[str, object]) -> None:
        with pytest.raises(InvalidGroup):
            domain.clean_group([a_member(**overrides)], today=TODAY)

    def test_keeps_names_in_any_script(self) -> None:
        [cleaned] = domain.clean_group(
            [a_member(given_names="مريم", family_names="Nguyễn 阮")], today=TODAY
        )
        assert (cleaned.given_names, cleaned.family_names) == ("مريم", "Nguyễn 阮")


class TestRequireRole:
    def test_lets_an_allowed_role_through(self) -> None:
        domain.require_role(domain.Role.ADMIN, frozenset({domain.Role.ADMIN}))

    def test_names_the_roles_needed(self) -> None:
        with pytest.raises(domain.RoleRequired) as caught:
            domain.require_role(
                domain.Role.REGISTRANT, frozenset({domain.Role.ADMIN, domain.Role.OFFICER})
            )
        assert caught.value.params == {"roles": "admin, officer"}
