"""Reading the pages' forms into the values the use cases take."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from functools import cache

from babel import Locale
from babel.core import get_global
from babel.dates import get_date_format
from markupsafe import Markup, escape
from starlette.datastructures import FormData

from puerta.accounts.codes import known_codes
from puerta.accounts.domain import MAX_GROUP_SIZE, Member
from puerta.errors import DomainError, Invalid
from puerta.web.pages.session import field_text

# The nationalities most often seen among people waiting, offered first in the list.
COMMON_NATIONALITIES = (
    "VEN",
    "HND",
    "GTM",
    "SLV",
    "HTI",
    "MEX",
    "CUB",
    "COL",
    "ECU",
    "NIC",
    "PER",
    "RUS",
    "CHN",
    "AFG",
    "TUR",
    "IND",
)
# ISO 3166-3 withdrawn codes that CLDR still aliases to a current country.
_WITHDRAWN = frozenset({"BUR", "ZAR", "DDR", "FXX", "TMP", "YMD"})
# Where CLDR has no country names in a language, those of the language its readers know.
_NAME_FALLBACK = {"ht": "fr", "quc": "es"}
MEMBER_FIELDS = (
    "given_names",
    "family_names",
    "birth_day",
    "birth_month",
    "birth_year",
    "nationality",
    "languages",
    "id_document",
)


class BadDate(Invalid):
    code = "bad_date"
    message = "Write the date as year-month-day, for example 2019-04-23."


class LocationMissing(Invalid):
    code = "location_missing"
    message = (
        "We need your location to check that you are in the area where requests are accepted. "
        "Press “Use my location”, or type it in numbers."
    )


class BadDateParts(Invalid):
    code = "bad_date"
    message = "Check the date: a day from 1 to 31, a month, and the year in four digits."


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise BadDate() from None


def parse_date_parts(day: str, month: str, year: str) -> dt.date:
    """A date typed in three fields (day, month chosen by name, year), as people write it."""
    day, month, year = day.strip(), month.strip(), year.strip()
    if not (day.isdecimal() and month.isdecimal() and year.isdecimal() and len(year) == 4):
        raise BadDateParts()
    try:
        return dt.date(int(year), int(month), int(day))
    except (ValueError, OverflowError):  # a day of 20 digits is past a C long
        raise BadDateParts() from None


def small_number(text: str, most: int) -> int | None:
    """A number typed in 1 to ``most`` digits of any script, else None.

    ``isdecimal``, not ``isdigit``: "²" is a digit to Python but not a number to ``int``,
    while "٣" and "۳" (Arabic and Persian three) are both.
    """
    return int(text) if 0 < len(text) <= most and text.isdecimal() else None


def date_parts(form: FormData, prefix: str) -> dict[str, str]:
    """The three fields of a date as typed, ``<prefix>_day``, ``_month`` and ``_year``."""
    return {part: field_text(form, f"{prefix}_{part}") for part in ("day", "month", "year")}


def parse_location(form: FormData) -> tuple[float, float]:
    """Latitude and longitude typed or filled in by the browser, as numbers."""
    return parse_location_values(field_text(form, "lat"), field_text(form, "lon"))


def parse_location_values(lat_text: str, lon_text: str) -> tuple[float, float]:
    try:
        lat = float(lat_text.strip().replace(",", "."))
        lon = float(lon_text.strip().replace(",", "."))
    except ValueError:
        raise LocationMissing() from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise LocationMissing()
    return lat, lon


def member_rows(form: FormData) -> list[dict[str, str]]:
    """The group form's rows as they were typed, so nothing is lost when one is wrong."""
    try:
        count = int(field_text(form, "count", "1"))
    except ValueError:
        count = 1
    count = max(1, min(count, MAX_GROUP_SIZE))
    return [
        {name: field_text(form, f"members-{i}-{name}") for name in MEMBER_FIELDS}
        for i in range(count)
    ]


def to_member(row: dict[str, str]) -> Member:
    languages = tuple(x for x in row["languages"].replace(" ", ",").split(",") if x)
    return Member(
        given_names=row["given_names"],
        family_names=row["family_names"],
        birth_date=parse_date_parts(row["birth_day"], row["birth_month"], row["birth_year"]),
        nationality=row["nationality"],
        languages=languages,
        id_document=row["id_document"] or None,
    )


def member_row(member: Member) -> dict[str, str]:
    return {
        "given_names": member.given_names,
        "family_names": member.family_names,
        "birth_day": str(member.birth_date.day),
        "birth_month": str(member.birth_date.month),
        "birth_year": str(member.birth_date.year),
        "nationality": member.nationality,
        "languages": ",".join(member.languages),
        "id_document": member.id_document or "",
    }


@cache
def nationalities(language: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(common, all): ISO 3166 alpha-3 codes with their country names in ``language``."""
    fallback = Locale.parse(_NAME_FALLBACK.get(language, "en")).territories
    names = {**fallback, **Locale.parse(language).territories}
    alpha3 = {
        code: targets[0]
        for code, targets in get_global("territory_aliases").items()
        if len(code) == 3
        and code.isalpha()
        and code not in _WITHDRAWN
        and code in known_codes().countries  # only what the group's validation accepts
        and len(targets) == 1
        and targets[0] in names
    }
    everyone = sorted(((c, names[a2]) for c, a2 in alpha3.items()), key=lambda x: x[1].casefold())
    common = [(c, names[alpha3[c]]) for c in COMMON_NATIONALITIES if c in alpha3]
    return common, everyone


_ISO3 = re.compile(r"^[A-Z]{3}$")


@cache
def _options_html(language: str, common_label: str, all_label: str) -> str:
    # Built once per language: ~260 options for each person made /group slow for big families.
    common, everyone = nationalities(language)

    def options(items: list[tuple[str, str]]) -> str:
        return "".join(f'<option value="{code}">{escape(name)}</option>' for code, name in items)

    return (
        f'<optgroup label="{escape(common_label)}">{options(common)}</optgroup>'
        f'<optgroup label="{escape(all_label)}">{options(everyone)}</optgroup>'
    )


def nationality_options(
    language: str, common_label: str, all_label: str
) -> Callable[[str], Markup]:
    """``options(chosen)``: the nationality list's options, ``chosen`` selected (once)."""
    html = _options_html(language, common_label, all_label)

    def options(chosen: str) -> Markup:
        if _ISO3.match(chosen):
            return Markup(html.replace(f'value="{chosen}">', f'value="{chosen}" selected>', 1))
        return Markup(html)

    return options


@cache
def date_order(language: str) -> tuple[str, str, str]:
    """The order of day, month and year in ``language``'s short date (year first in Chinese)."""
    # CLDR's ht data is the root locale's (year first); Haitians write dates as French does.
    source = _NAME_FALLBACK.get(language, language)
    pattern = get_date_format("short", locale=Locale.parse(source)).pattern
    found = {part: pattern.find(letter) for part, letter in (("day", "d"), ("month", "M"))}
    found["year"] = pattern.find("y")
    if min(found.values()) < 0:
        return ("day", "month", "year")
    ordered = sorted(found, key=found.__getitem__)
    return (ordered[0], ordered[1], ordered[2])


def failed_status(error: DomainError) -> int:
    """The status of a form shown again with its error: the page itself exists, so never 404
    (a browser, and whoever reads its console, would take that for a missing page)."""
    return 422 if error.status == 404 else error.status
