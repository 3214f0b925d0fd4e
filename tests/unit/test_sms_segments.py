"""SMS length: segments counted as networks count them, and every notification within two."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puerta import i18n
from puerta.appointments.domain import PORTS_BY_SLUG
from puerta.dates import Dates
from puerta.notifications.domain import (
    DECISIONS,
    DOCUMENTS,
    FREE_TEXT,
    SMS_FALLBACK,
    SMS_TEMPLATES,
    NotificationKind,
    required_params,
)
from puerta.notifications.sms import (
    CUT,
    GSM7_BASIC,
    GSM7_EXTENSION,
    MAX_SEGMENTS,
    Encoding,
    SmsSize,
    cut,
    measure,
    render_sms,
    segments,
    sms_params,
)
from puerta.notifications.sms_shown import SmsShown, day_month

LANGUAGES = sorted(i18n.available_languages())
# However long a reason, an SMS keeps at least this many characters of it (of BMP text
# outside GSM-7, the costliest kind of words), then CUT; the reader logs in for the rest.
MIN_REASON_KEPT = 20
# Worst-case machine values: the longest the services write.
LONGEST_NUMBERS = {"appeal": 2147483647, "count": 999999, "days": 365}
CONFIRMATION = "WWWW-WWWW"
BASIC = "".join(sorted(GSM7_BASIC))
CYRILLIC = st.characters(min_codepoint=0x0410, max_codepoint=0x044F)


def gettext_of(language: str) -> Callable[[str], str]:
    def gettext(message: str) -> str:
        return i18n.gettext(language, message)

    return gettext


class TestMeasure:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("", SmsSize(Encoding.GSM7, 0, 1)),
            ("a" * 160, SmsSize(Encoding.GSM7, 160, 1)),
            ("a" * 161, SmsSize(Encoding.GSM7, 161, 2)),
            ("a" * 306, SmsSize(Encoding.GSM7, 306, 2)),
            ("a" * 307, SmsSize(Encoding.GSM7, 307, 3)),
            ("€" * 80, SmsSize(Encoding.GSM7, 160, 1)),
            # The escape and its character stay together: 152 + 2 does not fit a part of 153.
            ("a" * 152 + "€" + "a" * 152, SmsSize(Encoding.GSM7, 306, 3)),
            ("a" * 151 + "€" + "a" * 153, SmsSize(Encoding.GSM7, 306, 2)),
            ("Ça va? ¿Qué? Ñandú", SmsSize(Encoding.UCS2, 18, 1)),  # ú is not in GSM-7
            ("Ça va? ¿Qué? Ñandu", SmsSize(Encoding.GSM7, 18, 1)),  # é, Ñ, ¿, Ç are
            ("ça", SmsSize(Encoding.UCS2, 2, 1)),  # only the capital Ç is
            ("á" * 70, SmsSize(Encoding.UCS2, 70, 1)),
            ("á" * 71, SmsSize(Encoding.UCS2, 71, 2)),
            ("á" * 134, SmsSize(Encoding.UCS2, 134, 2)),
            ("á" * 135, SmsSize(Encoding.UCS2, 135, 3)),
            ("😀" * 35, SmsSize(Encoding.UCS2, 70, 1)),
            # A surrogate pair is never split: 66 + 2 does not fit a part of 67.
            ("á" * 66 + "😀" + "á" * 65, SmsSize(Encoding.UCS2, 133, 2)),
            ("á" * 66 + "😀" + "á" * 66, SmsSize(Encoding.UCS2, 134, 3)),
            ("tab\there", SmsSize(Encoding.UCS2, 8, 1)),
            ("line\nbreak\r", SmsSize(Encoding.GSM7, 11, 1)),
            ("[x]", SmsSize(Encoding.GSM7, 5, 1)),
            ("puerta: 16 сентября", SmsSize(Encoding.UCS2, 19, 1)),
            ("9月16日", SmsSize(Encoding.UCS2, 5, 1)),
        ],
    )
    def test_known_lengths(self, text: str, expected: SmsSize) -> None:
        assert measure(text) == expected

    def test_the_alphabet_is_the_128_characters_less_the_escape_and_ten_extensions(
        self,
    ) -> None:
        assert len(GSM7_BASIC) == 127 and len(GSM7_EXTENSION) == 10
        assert not GSM7_BASIC & GSM7_EXTENSION

    @given(st.text(alphabet=BASIC, max_size=700))
    def test_basic_gsm_text_costs_one_septet_a_character(self, text: str) -> None:
        expected = 1 if len(text) <= 160 else math.ceil(len(text) / 153)
        assert measure(text) == SmsSize(Encoding.GSM7, len(text), expected)

    @given(st.text(alphabet=CYRILLIC, min_size=1, max_size=400))
    def test_text_outside_gsm_costs_one_utf16_unit_a_character(self, text: str) -> None:
        expected = 1 if len(text) <= 70 else math.ceil(len(text) / 67)
        assert measure(text) == SmsSize(Encoding.UCS2, len(text), expected)

    @given(st.text(max_size=300), st.text(min_size=1, max_size=20))
    def test_appending_never_makes_a_text_cheaper(self, text: str, more: str) -> None:
        assert segments(text + more) >= segments(text)

    @given(st.text(max_size=400))
    def test_units_are_septets_or_utf16_code_units(self, text: str) -> None:
        size = measure(text)
        if size.encoding is Encoding.GSM7:
            assert size.units == len(text) + sum(char in GSM7_EXTENSION for char in text)
        else:
            assert size.units == len(text.encode("utf-16-le")) // 2
        part = 153 if size.encoding is Encoding.GSM7 else 67
        assert size.segments == 1 or size.segments >= math.ceil(size.units / part)


class TestCut:
    def test_cuts_at_a_word_end_and_marks_the_cut(self) -> None:
        assert cut("the port is closed that day", 20) == "the port is closed..."

    def test_a_long_word_is_cut_where_it_must_be(self) -> None:
        assert cut("Donaudampfschifffahrt", 6) == "Donaud..."

    def test_a_text_that_fits_is_kept_whole(self) -> None:
        assert cut("closed", 6) == "closed"


class TestRenderSms:
    def test_a_long_reason_is_cut_to_fit_and_says_where_to_read_it(self) -> None:
        reason = "the officer wrote a long explanation " * 20
        text = render_sms(
            "appointment_cancelled",
            {"port": "nogales", "service_date": "2024-09-16", "reason": reason},
            english,
            shown("en"),
        )
        assert segments(text) <= MAX_SEGMENTS
        assert text.startswith("puerta: your appointment at Nogales, September 16 was cancelled.")
        assert "To appeal or read more, log in. Reason: the officer wrote a long" in text
        assert text.endswith(CUT) and len(text) > 250

    def test_a_reason_that_fits_is_kept_whole_on_one_line(self) -> None:
        text = render_sms("exception_denied", {"reason": "no papers\nyet"}, english)
        assert text.endswith("Reason: no papers yet")

    def test_an_unknown_kind_gets_a_general_message(self) -> None:
        assert render_sms("retired_kind", {}, english) == SMS_FALLBACK

    def test_a_value_longer_than_any_the_services_write_is_cut_rather_than_sent_long(
        self,
    ) -> None:
        text = render_sms("appeal_opened", {"port": "x" * 500, "appeal": 1}, english)
        assert segments(text) <= MAX_SEGMENTS and text.endswith(CUT)

    @given(
        kind=st.sampled_from([*NotificationKind, "unknown"]),
        params=st.dictionaries(
            st.sampled_from(["port", "service_date", "reason", "slot", "expires_at", "days"]),
            st.one_of(st.text(max_size=400), st.integers(), st.none()),
        ),
        translation=st.text(max_size=400),
    )
    def test_any_message_in_any_translation_fits_two_segments(
        self, kind: str, params: dict[str, object], translation: str
    ) -> None:
        text = render_sms(kind, params, lambda message: translation)
        assert text and segments(text) <= MAX_SEGMENTS


def english(message: str) -> str:
    return message


def shown(language: str) -> SmsShown:
    gettext = gettext_of(language)
    return SmsShown(PORTS_BY_SLUG, Dates(language, gettext), gettext)


def worst_dates(language: str) -> set[dt.date]:
    """The costliest day and month in this language (a two-digit day): the longest, and the
    longest outside GSM-7 (which makes the whole text UCS-2) if a month's name is."""
    gettext = gettext_of(language)
    dates = Dates(language, gettext)
    sizes = {
        day: measure(day_month(dates, gettext, day))
        for day in (dt.date(2024, month, 28) for month in range(1, 13))
    }
    ucs2 = [day for day, size in sizes.items() if size.encoding is Encoding.UCS2]
    worst = {max(sizes, key=lambda day: len(day_month(dates, gettext, day)))}
    return worst | ({max(ucs2, key=lambda day: sizes[day].units)} if ucs2 else set())


def worst_params(kind: NotificationKind, language: str) -> Iterator[dict[str, object]]:
    """Every port, code and costliest date the kind uses, with the longest numbers."""
    needed = required_params(kind)
    choices: dict[str, list[object]] = {
        "port": list(PORTS_BY_SLUG),
        "day": sorted(worst_dates(language)),
        "decision": list(DECISIONS),
        "document": list(DOCUMENTS),
    }
    dated = needed & {"service_date", "expires_at", "slot", "expires_on"}
    used = [key for key in choices if key in needed or (key == "day" and dated)]
    for picked in itertools.product(*(choices[key] for key in used)):
        chosen = dict(zip(used, picked, strict=True))
        day = chosen.pop("day", dt.date(2024, 9, 28))
        assert isinstance(day, dt.date)
        # 18:00 UTC is the same calendar day at every port.
        instant = dt.datetime.combine(day, dt.time(18, 0), dt.UTC).isoformat()
        values: dict[str, object] = {
            "service_date": day.isoformat(), "expires_at": instant, "slot": instant,
            "expires_on": day.isoformat(), "confirmation_number": CONFIRMATION,
            **LONGEST_NUMBERS, **chosen,
        }  # fmt: skip
        yield {key: values.get(key, "") for key in needed}


# Costlier than any real reason of that length: outside GSM-7, so the whole SMS is UCS-2.
WORST_REASON = "á" * MIN_REASON_KEPT


@pytest.mark.parametrize("kind", list(NotificationKind))
@pytest.mark.parametrize("language", LANGUAGES)
class TestEveryLanguageAndMessage:
    def test_fits_two_segments_with_the_longest_values(
        self, language: str, kind: NotificationKind
    ) -> None:
        gettext = gettext_of(language)
        translated = gettext(SMS_TEMPLATES[kind])
        assert language == "en" or translated != SMS_TEMPLATES[kind], "not translated"
        reason = {free: WORST_REASON + CUT for free in FREE_TEXT & required_params(kind)}
        for params in worst_params(kind, language):
            values = sms_params(params | reason, gettext, shown(language))
            # Filled in directly: a translation that does not format fails here, and the
            # text must fit without render_sms cutting anything but the free text.
            text = translated.format_map(values)
            size = measure(text)
            assert size.segments <= MAX_SEGMENTS, (size, text)

    def test_render_sms_keeps_the_start_of_a_reason_of_any_length(
        self, language: str, kind: NotificationKind
    ) -> None:
        if not FREE_TEXT & required_params(kind):
            return
        reason = ("á" * 9 + " ") * 200
        gettext = gettext_of(language)
        for params in worst_params(kind, language):
            text = render_sms(kind, params | {"reason": reason}, gettext, shown(language))
            assert segments(text) <= MAX_SEGMENTS
            assert "á" * 9 + " " + "á" * 9 in text and text.endswith(CUT)
