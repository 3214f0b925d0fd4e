"""What the translations page reports: completeness against the template, and the review."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from puerta import i18n

HEADER = """# {lang} translations for puerta.
# Reviewed by a fluent speaker: {reviewed}
#
msgid ""
msgstr ""
"Language: {lang}\\n"
"Content-Type: text/plain; charset=utf-8\\n"

"""


def _write(path: Path, lang: str, reviewed: str, pairs: dict[str, str]) -> None:
    body = "".join(f'msgid "{k}"\nmsgstr "{v}"\n\n' for k, v in pairs.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER.format(lang=lang, reviewed=reviewed) + body, encoding="utf-8")


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.catalog_status.cache_clear()
    _write(tmp_path / "messages.pot", "en", "no", {"One": "", "Two": "", "Three": "", "Four": ""})
    yield tmp_path
    i18n.catalog_status.cache_clear()


class TestCatalogStatus:
    def test_counts_translated_messages_and_reads_the_review_line(self, locales: Path) -> None:
        _write(locales / "es/LC_MESSAGES/messages.po", "es", "yes (Ana, 2026-11-20)",
               {"One": "Uno", "Two": "Dos", "Three": "Tres", "Four": "Cuatro"})  # fmt: skip
        _write(locales / "ht/LC_MESSAGES/messages.po", "ht", "no",
               {"One": "Youn", "Two": "", "Gone": "Ale"})  # fmt: skip
        found = {s.code: s for s in i18n.catalog_status()}
        assert found["en"].source and found["en"].percent == 100
        assert found["es"].reviewed and found["es"].percent == 100
        assert not found["ht"].reviewed
        assert (found["ht"].translated, found["ht"].total, found["ht"].percent) == (1, 4, 25)

    def test_a_catalog_without_a_review_line_counts_as_unreviewed(self, locales: Path) -> None:
        path = locales / "fr/LC_MESSAGES/messages.po"
        _write(path, "fr", "no", {"One": "Un"})
        path.write_text(path.read_text().replace("# Reviewed by a fluent speaker: no\n", ""))
        assert not {s.code: s for s in i18n.catalog_status()}["fr"].reviewed
