"""Choosing the language and translating errors."""

from __future__ import annotations

import pytest

from puerta import i18n
from puerta.appointments.domain import OutsideGeofence, UnknownPort
from puerta.errors import DomainError


class TestNegotiate:
    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("ht", "ht"),
            ("es-MX,es;q=0.9,en;q=0.8", "es"),
            ("de-DE, en;q=0.5", "en"),
            ("en;q=0.2, ht;q=0.9", "ht"),
            ("xx, yy;q=0.5", "es"),
            ("", "es"),
            ("*", "es"),
            ("es;q=0", "es"),
            ("ht;q=abc, en", "en"),
        ],
    )
    def test_picks_the_best_language_puerta_has(self, header: str, expected: str) -> None:
        assert i18n.negotiate(header, "es") == expected

    def test_a_default_without_a_catalog_falls_back_to_english(self) -> None:
        assert i18n.negotiate(None, "xx") == "en"


class TestTranslateError:
    def test_fills_placeholders_after_translating(self) -> None:
        text = i18n.translate_error(UnknownPort(slug="atlantis"), "es")
        assert text == "No existe un puerto de entrada llamado 'atlantis'."

    def test_translates_a_geofence_reason_inside_the_message(self) -> None:
        text = i18n.translate_error(OutsideGeofence(reason="below_latitude_19"), "ht")
        assert "19yèm paralèl" in text

    def test_an_unknown_reason_gets_a_general_phrase(self) -> None:
        text = i18n.translate_error(OutsideGeofence(reason="not_in_eligible_state"), "en")
        assert "your location is not in the eligible area" in text

    def test_a_broken_translation_never_raises(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def broken(language: str, message: str) -> str:
            return "{missing} {0}" if "{" in message else message

        monkeypatch.setattr(i18n, "gettext", broken)
        assert i18n.translate_error(UnknownPort(slug="x"), "es") == (
            "There is no port of entry called 'x'."
        )

    def test_an_unknown_language_gives_english(self) -> None:
        assert i18n.translate_error(DomainError(), "xx") == "Something went wrong."
