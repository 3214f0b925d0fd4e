"""SMS texts and their length in segments, counted as a phone network counts them (stdlib only).

A text goes as GSM-7 when every character is in the GSM 03.38 default alphabet (3GPP TS 23.038):
a basic character costs one septet, one of the extension table (``^{}\\[~]|€`` and form feed)
two, the escape and the character, which a concatenated message never splits. Up to 160
septets fit one SMS; a longer text goes in parts of 153 (the user data header takes 7). Any
other character sends the whole text as UCS-2, counted in UTF-16 code units: 70 in one SMS, 67
per part, a surrogate pair (an emoji, say) never split. Every notification is kept within
MAX_SEGMENTS: free text (a reason) is cut to fit, ending in "...", and the text before it says
to log in to read the rest.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from puerta.notifications.domain import (
    FREE_TEXT,
    SMS_DOCUMENTS,
    SMS_FALLBACK,
    SMS_TEMPLATES,
    Gettext,
    NotificationKind,
    Shown,
    render_text,
    shown_params,
)

MAX_SEGMENTS = 2
# "..." rather than "…": the ellipsis character is not in GSM-7 and would double the cost.
CUT = "..."

# The default alphabet in code order; the escape (0x1B) is left out: it is not a character.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


class Encoding(enum.StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class Limits:
    single: int  # units in a message sent alone
    part: int  # units in each part of a concatenated one


LIMITS = {Encoding.GSM7: Limits(160, 153), Encoding.UCS2: Limits(70, 67)}


@dataclass(frozen=True)
class SmsSize:
    """How a text travels: its encoding, its length in that encoding's units, its segments."""

    encoding: Encoding
    units: int
    segments: int


# Every character GSM-7 can send (the extension table's take two septets each).
_GSM7 = GSM7_BASIC | GSM7_EXTENSION


def encoding_of(text: str) -> Encoding:
    return Encoding.GSM7 if all(char in _GSM7 for char in text) else Encoding.UCS2


def _costs(text: str, encoding: Encoding) -> list[int]:
    """The units of each character: septets in GSM-7, UTF-16 code units in UCS-2."""
    if encoding is Encoding.GSM7:
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _parts(costs: list[int], size: int) -> int:
    # Greedy, as senders fill parts: a character that does not fit whole starts the next part.
    parts, used = 1, 0
    for cost in costs:
        if used + cost > size:
            parts, used = parts + 1, 0
        used += cost
    return parts


def measure(text: str) -> SmsSize:
    """The encoding, units and segments of ``text`` sent as one (possibly concatenated) SMS."""
    encoding = encoding_of(text)
    costs = _costs(text, encoding)
    units, limits = sum(costs), LIMITS[encoding]
    segments = 1 if units <= limits.single else _parts(costs, limits.part)
    return SmsSize(encoding, units, segments)


def segments(text: str) -> int:
    return measure(text).segments


def fits(text: str, max_segments: int = MAX_SEGMENTS) -> bool:
    return segments(text) <= max_segments


def cut(text: str, keep: int) -> str:
    """The first ``keep`` characters, then CUT; the whole text if it has no more."""
    if keep >= len(text):
        return text
    head = text[:keep]
    # At a word's end when one is near, so the reader does not meet half a word.
    space = head.rfind(" ")
    if space >= keep * 2 // 3:
        head = head[:space]
    return head.rstrip() + CUT


def longest_fitting(make: Callable[[str], str], free: str, max_segments: int) -> str | None:
    """``make(cut(free, n))`` for the largest n that fits, or None if not even CUT alone does."""
    if fits(make(free), max_segments):
        return make(free)
    low, high = -1, len(free) - 1  # make(cut(free, low)) fits (low = -1: nothing fits yet)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(make(cut(free, middle)), max_segments):
            low = middle
        else:
            high = middle - 1
    return None if low < 0 else make(cut(free, low))


def _one_line(value: object) -> str:
    # Line breaks and runs of spaces in a staff member's words cost segments and say nothing.
    return " ".join(str(value).split())


def sms_params(
    params: Mapping[str, object], gettext: Gettext, shown: Shown | None = None
) -> dict[str, object]:
    """The parameters as an SMS shows them (a document by the name printed on it)."""
    document = params.get("document")
    if isinstance(document, str) and document in SMS_DOCUMENTS:
        params = {**params, "document": SMS_DOCUMENTS[document]}
    return shown_params(params, gettext, shown)


def render_sms(
    kind: str,
    params: Mapping[str, object],
    gettext: Gettext,
    shown: Shown | None = None,
    *,
    max_segments: int = MAX_SEGMENTS,
) -> str:
    """The SMS of a notification in the language of ``gettext``, within ``max_segments``.

    Never raises: free text is cut to fit; a text still too long (a stored value longer than
    any the services write) is itself cut, so the reader gets its start.
    """
    try:
        template = SMS_TEMPLATES[NotificationKind(kind)]
    except ValueError:
        template = SMS_FALLBACK
    values = sms_params(params, gettext, shown)
    free = next((key for key in sorted(FREE_TEXT) if key in values), None)
    if free is None:
        text = render_text(template, values, gettext)
        return text if fits(text, max_segments) else _truncated(text, max_segments)

    def make(words: str) -> str:
        return render_text(template, values | {free: words}, gettext)

    fitted = longest_fitting(make, _one_line(values[free]), max_segments)
    return fitted if fitted is not None else _truncated(make(""), max_segments)


def _truncated(text: str, max_segments: int) -> str:
    return longest_fitting(lambda words: words, text, max_segments) or CUT
