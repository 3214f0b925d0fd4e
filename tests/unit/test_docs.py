"""The docs are tested against the code: settings, catalogs and commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from puerta.config import Settings
from puerta.i18n import LOCALES_DIR, available_languages
from puerta.web.messages import all_messages

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CATALOGS = sorted(LOCALES_DIR.glob("*/LC_MESSAGES/messages.po"))


class TestReadme:
    def test_starts_with_the_two_set_up_commands(self) -> None:
        first_block = README.split("```sh", 1)[1].split("```", 1)[0]
        assert "make run" in first_block and "make test" in first_block

    @pytest.mark.parametrize("name", sorted(Settings.model_fields))
    def test_documents_every_setting(self, name: str) -> None:
        assert f"`PUERTA_{name.upper()}`" in README

    def test_documents_no_setting_that_does_not_exist(self) -> None:
        documented = set(re.findall(r"`PUERTA_([A-Z_]+)`", README)) - {"TEST_DATABASE_URL"}
        assert documented == {name.upper() for name in Settings.model_fields}


class TestCatalogs:
    def test_spanish_english_and_haitian_creole_are_available(self) -> None:
        assert {"es", "en", "ht"} <= available_languages()

    def test_the_template_is_up_to_date(self) -> None:
        with (LOCALES_DIR / "messages.pot").open("rb") as pot:
            template = {m.id for m in read_po(pot) if m.id}
        assert template == set(all_messages()), "run scripts/extract_messages.py"

    @pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.parent.parent.name)
    def test_every_message_is_translated_in_every_catalog(self, path: Path) -> None:
        with path.open("rb") as po:
            catalog = read_po(po)
        translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
        missing = sorted(set(all_messages()) - translated)
        assert missing == [], f"{path.parent.parent.name} lacks {len(missing)} messages"

    @pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.parent.parent.name)
    def test_translations_keep_every_placeholder(self, path: Path) -> None:
        with path.open("rb") as po:
            catalog = read_po(po)
        for message in catalog:
            if message.id and message.string:
                placeholders = set(re.findall(r"\{(\w+)\}", str(message.id)))
                assert set(re.findall(r"\{(\w+)\}", str(message.string))) == placeholders
