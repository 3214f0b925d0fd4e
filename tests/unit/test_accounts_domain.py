from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puerta.accounts import domain
from puerta.accounts.codes import common_passwords, known_codes
from puerta.accounts.domain import InvalidGroup, Member
from puerta.i18n import available_languages

TODAY = dt.date(2024, 9, 2)
KNOWN = known_codes()
COMMON = common_passwords()


def clean_group(members: list[Member]) -> list[Member]:
    return domain.clean_group(members, today=TODAY, known=KNOWN)


def problem_of(members: list[Member]) -> object:
    with pytest.raises(InvalidGroup) as caught:
        clean_group(members)
    return caught.value.params["problem"]


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
    def test_refuses_passwords_shorter_than_ten_characters(self) -> None:
        with pytest.raises(domain.WeakPassword) as caught:
            domain.check_password("tr0ub4dor", common=COMMON)
        assert caught.value.params == {"minimum": 10}

    def test_accepts_ten_characters(self) -> None:
        domain.check_password("tr0ub4dor&", common=COMMON)

    @pytest.mark.parametrize("password", ["\x00" * 10, "long enough\t", "pass\u200bword12"])
    def test_refuses_control_and_invisible_characters(self, password: str) -> None:
        with pytest.raises(domain.PasswordCharacters):
            domain.check_password(password, common=COMMON)

    @pytest.mark.parametrize("password", ["1234567890", "qwertyuiop", "Password123", "ILOVEYOU12"])
    def test_refuses_common_passwords_whatever_their_case(self, password: str) -> None:
        with pytest.raises(domain.CommonPassword):
            domain.check_password(password, common=COMMON)

    @pytest.mark.parametrize(
        "password",
        ["a long password 2024", "a long password", "correct horse battery", "puerta-demo-2024"],
    )
    def test_accepts_the_passwords_of_the_docs_demo_and_tests(self, password: str) -> None:
        domain.check_password(password, common=COMMON)


class TestCleanGroup:
    def test_normalizes_nationality_languages_and_spaces(self) -> None:
        [cleaned] = clean_group([a_member(given_names="  Marie   Ange ")])
        assert cleaned.given_names == "Marie Ange"
        assert cleaned.nationality == "HTI"
        assert cleaned.languages == ("ht", "fr")

    @pytest.mark.parametrize("size", [0, 13])
    def test_holds_one_to_twelve_members(self, size: int) -> None:
        with pytest.raises(InvalidGroup):
            clean_group([a_member(given_names=f"P{i}") for i in range(size)])

    def test_twelve_members_are_a_group(self) -> None:
        assert len(clean_group([a_member(given_names=f"P{i}") for i in range(12)])) == 12

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
            clean_group([a_member(**overrides)])

    @pytest.mark.parametrize("code", ["XXX", "ZZZ", "BUR", "YUG", "EUR"])
    def test_refuses_a_nationality_that_is_not_a_current_country(self, code: str) -> None:
        assert problem_of([a_member(nationality=code)]) == domain.NATIONALITY

    @pytest.mark.parametrize(("code", "stored"), [("hti", "HTI"), (" ven ", "VEN"), ("Ssd", "SSD")])
    def test_upper_cases_a_real_nationality(self, code: str, stored: str) -> None:
        [cleaned] = clean_group([a_member(nationality=code)])
        assert cleaned.nationality == stored

    @pytest.mark.parametrize("tag", ["zz", "xx", "qaa", "zh-Hanz", "es-XX", "en-US-x", "e"])
    def test_refuses_a_language_that_does_not_exist(self, tag: str) -> None:
        assert problem_of([a_member(languages=(tag,))]) == domain.LANGUAGES

    def test_accepts_every_language_of_the_catalogs(self) -> None:
        catalog = sorted(available_languages())
        [cleaned] = clean_group([a_member(languages=tuple(catalog[:10]))])
        [rest] = clean_group([a_member(languages=tuple(catalog[10:]))])
        assert "zh-Hans" in cleaned.languages + rest.languages
        assert len(cleaned.languages + rest.languages) == len(catalog)

    @pytest.mark.parametrize(
        ("tag", "stored"),
        [("HT", "ht"), ("hat", "ht"), ("zh_hans", "zh-Hans"), ("pt-br", "pt-BR"),
         ("es-419", "es-419"), ("QUC", "quc"), ("mam", "mam"), ("prs", "prs")],
    )  # fmt: skip
    def test_spells_a_language_tag_the_usual_way(self, tag: str, stored: str) -> None:
        [cleaned] = clean_group([a_member(languages=(tag,))])
        assert cleaned.languages == (stored,)

    def test_refuses_a_birth_date_with_a_time_of_day(self) -> None:
        born = dt.datetime(2010, 2, 2, 10, 0)
        assert problem_of([a_member(birth_date=born)]) == domain.BIRTH_DATE

    def test_refuses_the_same_person_twice_whatever_the_case_and_spaces(self) -> None:
        twice = [a_member(given_names="Marie Ange"), a_member(given_names=" marie  ANGE")]
        assert problem_of(twice) == domain.DUPLICATE
        assert problem_of([a_member(), a_member(family_names="JOSEPH ")]) == domain.DUPLICATE

    def test_namesakes_born_on_other_days_are_two_people(self) -> None:
        twins = [a_member(), a_member(birth_date=dt.date(2016, 7, 2))]
        assert len(clean_group(twins)) == 2

    @pytest.mark.parametrize("language", ["en", "es", "ht", "quc"])
    def test_the_group_page_offers_exactly_the_nationalities_it_accepts(
        self, language: str
    ) -> None:
        from puerta.web.pages.forms import nationalities

        _, everyone = nationalities(language)
        assert {code for code, _ in everyone} == KNOWN.countries  # no XKK, ZZZ or QUU

    def test_keeps_names_in_any_script(self) -> None:
        [cleaned] = clean_group([a_member(given_names="مريم", family_names="Nguyễn 阮")])
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
