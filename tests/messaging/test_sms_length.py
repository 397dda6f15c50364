"""The SMS counter: GSM-7 texts take 160 characters in one SMS and 153 per part of a longer
one, extension characters (€, [, ], {, }, ^, ~, |, \\) count two; any other character
(Cyrillic, ₽, an emoji) makes the text UCS-2: 70 in one, 67 per part, an emoji counts two.
Every expected figure is worked out by hand in the comment beside it."""

from __future__ import annotations

from crm.messaging.sms_length import measure


def figures(text: str) -> tuple:
    m = measure(text)
    return m.encoding, m.units, m.parts, m.per_part, m.left


def test_an_empty_text_is_no_sms():
    assert figures("") == ("GSM-7", 0, 0, 160, 160)


def test_latin_text_is_gsm_and_fits_160_in_one_sms():
    assert figures("Hello, world!") == ("GSM-7", 13, 1, 160, 147)
    assert figures("a" * 160) == ("GSM-7", 160, 1, 160, 0)


def test_a_161st_character_makes_two_parts_of_153():
    # 161 = 153 + 8: the second part holds 8, so 145 more fit.
    assert figures("a" * 161) == ("GSM-7", 161, 2, 153, 145)
    # 306 = 153 × 2 exactly; 307 needs a third part.
    assert figures("a" * 306) == ("GSM-7", 306, 2, 153, 0)
    assert figures("a" * 307)[2] == 3


def test_extension_characters_count_two():
    # "Price: 5€" = 8 plain + € (2) = 10 septets.
    assert figures("Price: 5€") == ("GSM-7", 10, 1, 160, 150)
    # 80 euro signs = 160 septets: still one SMS; 81 = 162 septets: two parts.
    assert figures("€" * 80)[:3] == ("GSM-7", 160, 1)
    # A part holds 153 septets: 76 euro signs (152); the 77th would split its escape, so it
    # starts part two, which holds the remaining 5 (10 septets): 143 more fit.
    assert figures("€" * 81) == ("GSM-7", 162, 2, 153, 143)
    assert figures("{[~^|\\]}")[:2] == ("GSM-7", 16)


def test_gsm_letters_beyond_ascii_stay_gsm():
    assert figures("Ærø Å ñ ü ß Δ £")[0] == "GSM-7"


def test_cyrillic_makes_the_text_ucs2():
    assert figures("Привет") == ("UCS-2", 6, 1, 70, 64)
    # One Cyrillic letter in a Latin text is enough.
    assert figures("Order Ж")[0] == "UCS-2"


def test_ucs2_holds_70_in_one_sms_and_67_per_part():
    assert figures("Ж" * 70) == ("UCS-2", 70, 1, 70, 0)
    # 71 = 67 + 4: 63 more fit in the second part.
    assert figures("Ж" * 71) == ("UCS-2", 71, 2, 67, 63)
    # 134 = 67 × 2; 135 needs a third part.
    assert figures("Ж" * 134)[2] == 2
    assert figures("Ж" * 135)[2] == 3


def test_a_russian_debt_reminder_is_counted_as_the_network_does():
    text = "ООО «Ромашка»: просроченная задолженность 48 200,00 ₽. Просим оплатить."
    # By hand: "ООО «Ромашка»:" 14, space 15, "просроченная" 27, space 28, "задолженность" 41,
    # space 42, "48 200,00" 51, space 52, "₽." 54, space 55, "Просим" 61, space 62,
    # "оплатить." 71 — one character over 70, so two parts of 67: 67 + 4, 63 more fit.
    assert figures(text) == ("UCS-2", 71, 2, 67, 63)


def test_an_emoji_counts_two_units_and_is_not_split():
    assert figures("😀") == ("UCS-2", 2, 1, 70, 68)
    # 66 letters + an emoji = 68 units (> 70? no: 68 fits one SMS).
    assert figures("Ж" * 66 + "😀")[:3] == ("UCS-2", 68, 1)
    # 70 letters + an emoji = 72 units: parts of 67; letters 1–67 fill part one, 3 letters
    # and the emoji (2) make part two: 5 units, 62 more fit.
    assert figures("Ж" * 70 + "😀") == ("UCS-2", 72, 2, 67, 62)
    # 66 letters, an emoji, 5 letters = 73 units: the emoji does not fit in part one's last
    # unit (66 + 2 > 67), so part one ends after 66 and part two holds 2 + 5 = 7.
    assert figures("Ж" * 66 + "😀" + "Ж" * 5) == ("UCS-2", 73, 2, 67, 60)


def test_a_no_break_space_from_the_money_filter_is_not_gsm():
    assert figures("Debt: 1\u00a0500,00")[0] == "UCS-2"
