"""Translations: gettext catalogs (``locales/<lang>/LC_MESSAGES/messages.po``) read with Babel.

Catalogs are compiled in memory when first used, so there is no build step and the ``.po``
files stay the single source. Message ids are the English texts of domain errors.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from puerta.dates import Dates
from puerta.errors import DomainError

LOCALES_DIR = Path(__file__).parent / "web" / "locales"
SOURCE_LANGUAGE = "en"
_SURROGATE = re.compile("[\ud800-\udfff]")

# Human wording for the geofence's machine reasons, shown inside ``outside_geofence``.
REASON_TEXT: dict[str, str] = {
    "outside_mexico": "you are outside Mexico",
    "below_latitude_19": "you are south of the 19th parallel",
    "no_policy_in_force": "no geofence policy was in force on that date",
}
OTHER_REASON = "your location is not in the eligible area"

# Error parameters that are ISO dates, and ISO instants (read in the error's ``timezone``).
DATE_PARAMS = frozenset({"service_date", "window", "later"})
INSTANT_PARAMS = frozenset({"opens_at", "closes_at", "expires_at"})


@cache
def available_languages() -> frozenset[str]:
    """Languages with a catalog, plus English, the language of the message ids."""
    found = {p.parent.parent.name for p in LOCALES_DIR.glob("*/LC_MESSAGES/messages.po")}
    return frozenset(found | {SOURCE_LANGUAGE})


@cache
def _translations(language: str) -> Translations:
    path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return Translations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=None)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer)


def gettext(language: str, message: str) -> str:
    return _translations(language).gettext(message)


def translate_error(error: DomainError, language: str) -> str:
    """The error's message in ``language``, its placeholders filled (and translated).

    Dates and instants are written in the language, an instant in the error's ``timezone``
    with the zone named; in a right-to-left language each sits in a first-strong isolate.
    """
    dates = _dates(language)
    params = {
        key: _shown_date(key, value, dates, error.params.get("timezone"))
        if key in DATE_PARAMS | INSTANT_PARAMS
        else _translate_param(key, value, language)
        for key, value in error.params.items()
    }
    text = gettext(language, error.message)
    try:
        shown = text.format(**params)
    except (KeyError, IndexError, ValueError):
        # A broken translation must never turn an error into a crash.
        shown = error.message.format(**params)
    # A value quoted from the request may hold an unpaired surrogate (JSON's "\ud800"),
    # which no UTF-8 answer can carry: it is shown as U+FFFD.
    return _SURROGATE.sub("\ufffd", shown)


def _dates(language: str) -> Dates:
    return Dates(language, lambda message: gettext(language, message))


def _shown_date(key: str, value: object, dates: Dates, timezone: object) -> object:
    try:
        if key in DATE_PARAMS:
            shown = dates.day(dt.date.fromisoformat(str(value)))
        else:
            instant = dt.datetime.fromisoformat(str(value))
            shown = dates.moment_at(instant, _zone(timezone))
    except (ValueError, TypeError):
        return value
    if dates.locale.character_order == "right-to-left":
        return f"\u2068{shown}\u2069"
    return shown


def _zone(name: object) -> dt.tzinfo:
    try:
        return ZoneInfo(str(name)) if isinstance(name, str) else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _translate_param(key: str, value: object, language: str) -> object:
    # Parameters that are message ids themselves (a group problem, a geofence reason)
    # are translated too; anything else (a slug, a date) has no entry and stays as it is.
    if not isinstance(value, str):
        return value
    if key == "reason":
        value = REASON_TEXT.get(value, OTHER_REASON)
    return gettext(language, value)


def negotiate(accept_language: str | None, default: str) -> str:
    """The best available language for an ``Accept-Language`` header."""
    by_tag = {code.lower().replace("_", "-"): code for code in available_languages()}
    # A base language finds a catalog with a script or region too (zh -> zh_Hans).
    for tag, code in sorted(by_tag.items()):
        by_tag.setdefault(tag.split("-")[0], code)
    for tag in _preferences(accept_language or ""):
        for candidate in (tag, tag.split("-")[0]):
            if candidate in by_tag:
                return by_tag[candidate]
    return default if default in available_languages() else SOURCE_LANGUAGE


def _preferences(header: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, index, tag.lower().replace("_", "-")))
    return [tag for _, _, tag in sorted(ranked)]


@dataclass(frozen=True)
class CatalogStatus:
    code: str
    translated: int
    total: int
    reviewed: bool
    source: bool

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else self.translated * 100 // self.total


REVIEWED = re.compile(
    r"^#?\s*Reviewed by a fluent speaker:\s*(yes|no)\b", re.IGNORECASE | re.MULTILINE
)


@cache
def catalog_status() -> list[CatalogStatus]:
    """How complete each catalog is against the template, and whether a speaker reviewed it.

    A catalog records its review in its header comment: ``Reviewed by a fluent speaker: yes``
    (with who and when) or ``no``.
    """
    with (LOCALES_DIR / "messages.pot").open("rb") as pot:
        ids = {m.id for m in read_po(pot) if m.id}
    rows = [CatalogStatus(SOURCE_LANGUAGE, len(ids), len(ids), reviewed=True, source=True)]
    for path in sorted(LOCALES_DIR.glob("*/LC_MESSAGES/messages.po")):
        with path.open("rb") as po:
            catalog = read_po(po)
        done = {m.id for m in catalog if m.id in ids and m.string and not m.fuzzy}
        match = REVIEWED.search(catalog.header_comment)
        reviewed = bool(match and match.group(1).lower() == "yes")
        code = path.parent.parent.name
        rows.append(CatalogStatus(code, len(done), len(ids), reviewed=reviewed, source=False))
    return rows
