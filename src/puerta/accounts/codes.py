"""The code lists a member's nationality and languages, and a password, are checked against.

Countries, languages and scripts come from pycountry (LGPL-2.1, which packages Debian's
iso-codes: ISO 3166-1, ISO 639-1/-3 and ISO 15924); common passwords from zxcvbn (MIT),
whose ranked list holds the 30,000 passwords most often found in leaks. The domain takes
them as plain sets (``accounts.domain`` imports only the standard library).
"""

from __future__ import annotations

from functools import cache

import pycountry
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from puerta.accounts.domain import KnownCodes

# UN M.49 "Latin America and the Caribbean", the one numeric region people use (es-419).
_NUMERIC_REGIONS = frozenset({"419"})


@cache
def known_codes() -> KnownCodes:
    """Current ISO 3166-1 countries; ISO 639-1 languages and ISO 639-3 living languages."""
    languages: dict[str, str] = {}
    for language in pycountry.languages:
        short = getattr(language, "alpha_2", None)
        if short is not None:
            languages[short] = short
        if short is not None or getattr(language, "type", None) == "L":
            # BCP 47 spells a language with its shortest code: "hat" is written "ht".
            languages[language.alpha_3] = short or language.alpha_3
    return KnownCodes(
        countries=frozenset(country.alpha_3 for country in pycountry.countries),
        languages=languages,
        scripts=frozenset(script.alpha_4 for script in pycountry.scripts),
        regions=frozenset(country.alpha_2 for country in pycountry.countries) | _NUMERIC_REGIONS,
    )


@cache
def common_passwords() -> frozenset[str]:
    """zxcvbn's common passwords, lower-cased (built once: about 40 ms)."""
    return frozenset(password.lower() for password in FREQUENCY_LISTS["passwords"])
