"""How long an SMS is as the network counts it: the encoding, the characters, the parts.

A text made only of the GSM 03.38 alphabet travels in GSM-7: 160 characters in one SMS, 153
per part of a longer one (the rest of each part holds the header that glues the parts
together); a character of the alphabet's extension table (€, [, ], {, }, ^, ~, |, \\, form
feed) is sent as two (an escape and the character). Any other character (Cyrillic, ₽, a
no-break space, an emoji) makes the whole text UCS-2: 70 characters in one SMS, 67 per part,
and a character outside the Basic Multilingual Plane (most emoji) counts as two. A part never
ends in the middle of a two-unit character, so a long text can need one part more than a plain
division says."""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 basic alphabet (without the escape character 0x1B, which is not text).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each is sent as the escape and the character.
GSM_EXTENDED = frozenset("\f^{}\\[~]|€")

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # characters as the network counts them (septets, or UTF-16 code units)
    parts: int  # SMS the text is sent as (0 for an empty text)
    per_part: int  # characters one part holds at this length (160/153 or 70/67)
    left: int  # characters that still fit in the last part


def is_gsm(text: str) -> bool:
    return all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text)


def measure(text: str) -> SmsLength:
    """The encoding, length and number of parts of `text` sent as an SMS."""
    text = text or ""
    if is_gsm(text):
        encoding, single, part = "GSM-7", GSM_SINGLE, GSM_PART
        weights = [2 if ch in GSM_EXTENDED else 1 for ch in text]
    else:
        encoding, single, part = "UCS-2", UCS2_SINGLE, UCS2_PART
        weights = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    units = sum(weights)
    if units <= single:
        return SmsLength(encoding, units, 1 if units else 0, single, single - units)
    parts, used = 1, 0
    for weight in weights:
        if used + weight > part:  # this character does not fit: it starts the next part
            parts, used = parts + 1, 0
        used += weight
    return SmsLength(encoding, units, parts, part, part - used)
