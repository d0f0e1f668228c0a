"""Any script to lower-case Latin readings, one token at a time.

Cyrillic goes through our own table, because sources romanise it under several systems (BGN/PCGN,
ISO 9, ICAO 9303, French, German, national Kazakh and Belarusian ones) and a library gives one reading
only. The table produces a plain, English-leaning reading; `keys.py` then folds every system's spellings
onto a common key. Latin letters with diacritics that stand for different sounds in different languages
(Azerbaijani ə, Turkish ş, German ü written "ue") get several readings. Other scripts (Arabic, Persian,
Chinese, Georgian, Armenian, Greek, ...) go through anyascii.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from anyascii import anyascii

# One reading per Cyrillic letter, covering Russian, Ukrainian, Belarusian, Kazakh and Kyrgyz letters.
# Soft and hard signs are dropped: every system writes them differently or not at all.
CYRILLIC: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    # Ukrainian and Belarusian
    "є": "ye", "і": "i", "ї": "yi", "ґ": "g", "ў": "u",
    # Kazakh, Kyrgyz, Tatar, Bashkir
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "җ": "zh",
}  # fmt: skip

# Latin letters whose reading depends on the language; each gives every reading sources use.
LATIN_READINGS: dict[str, tuple[str, ...]] = {
    "ə": ("a", "e"),  # Azerbaijani: Məmmədov = Mammadov = Mamedov
    "ä": ("a", "ae", "e"),  # Kazakh ä (ә), German ä
    "ö": ("o", "oe", "yo"),
    "ü": ("u", "ue", "yu"),
    "ş": ("sh", "s"),  # Turkish/Azerbaijani; "s" when the cedilla is lost
    "ç": ("ch", "c"),
    "ğ": ("g", "gh", ""),
    "ı": ("i", "y"),
    "x": ("ks", "kh"),  # Azerbaijani and old Kazakh Latin x is kh
    "c": ("k", "ts", "dzh"),  # English k, ISO 9 ts, Azerbaijani/Turkish dzh
    "j": ("zh", "y"),  # English/Kazakh zh, German/ISO 9 y
    "ch": ("ch", "kh", "sh"),  # English ch, German kh, French sh
    "sch": ("sh", "zh"),  # German writes both ш and ж as sch
    "ou": ("u", "ov"),  # French u, Belarusian -oŭ- (Zhukouskaia)
    "q": ("k", "g"),  # Azerbaijani q is Russian г: Qasımova = Гасымова
    "gu": ("gu", "g"),  # French gu before e/i: Tchinguiz
}

# Arabic and Persian letters as consonant classes of `keys.key` (vowel letters, hamza and ain dropped):
# the abjad writes no short vowels, so an Arabic-script name meets a Latin one by its consonants.
ARABIC: dict[str, str] = {
    "ب": "b", "پ": "p", "ت": "t", "ث": "t", "ج": "J", "چ": "C", "ح": "h", "خ": "H", "د": "d", "ذ": "d",
    "ر": "r", "ز": "z", "ژ": "J", "س": "s", "ش": "S", "ص": "s", "ض": "d", "ط": "t", "ظ": "z", "غ": "g",
    "ف": "f", "ق": "k", "ك": "k", "ک": "k", "گ": "g", "ل": "l", "م": "m", "ن": "n", "ه": "h", "ة": "h",
    "ۀ": "h",
}  # fmt: skip

# Letters with diacritics that are not just accents: ISO 9 and Kazakh Latin.
LATIN_LETTERS: dict[str, str] = {
    "š": "sh", "ž": "zh", "č": "ch", "ŝ": "shch", "ĉ": "ch", "û": "yu", "â": "ya", "ë": "yo",
    "ǵ": "g", "ẑ": "dz", "ŭ": "u", "ñ": "n", "ŋ": "n", "ū": "u", "ß": "ss", "ø": "o", "æ": "ae",
    "đ": "d", "ł": "l", "œ": "oe", "ŷ": "y", "ǎ": "a", "ǧ": "g",
}  # fmt: skip

_AMBIGUOUS = re.compile(r"sch|ch|ou|gu(?=[ei])|[əäöüşçğıxcjq]")
_ALNUM = re.compile(r"[^a-z]")
MAX_READINGS = 32


def script_of(token: str) -> str:
    """The script of a token's first letter: "latin", "cyrillic", "arabic", "cjk" or "other"."""
    for ch in token:
        if not ch.isalpha():
            continue
        if ch < "\u0250" or "\u1e00" <= ch <= "\u1eff":
            return "latin"
        name = unicodedata.name(ch, "")
        if name.startswith("CYRILLIC"):
            return "cyrillic"
        if name.startswith("ARABIC"):
            return "arabic"
        if name.startswith("CJK") or name.startswith(("HANGUL", "HIRAGANA", "KATAKANA")):
            return "cjk"
        return "other"
    return "other"


def cyrillic_to_latin(token: str) -> str:
    """One plain reading of a Cyrillic token (lower case)."""
    return "".join(CYRILLIC.get(ch, ch) for ch in token.lower())


def _strip_accents(text: str) -> str:
    """Drop combining marks, keeping letters that are not accents (š, ž, û, ...) for LATIN_LETTERS."""
    if text.isascii():
        return text
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in LATIN_LETTERS or ch in LATIN_READINGS:
            out.append(ch)
            continue
        base = unicodedata.normalize("NFD", ch)
        out.append("".join(c for c in base if not unicodedata.combining(c)))
    return "".join(out)


def latin_readings(token: str) -> tuple[str, ...]:
    """Every lower-case ASCII reading of one Latin-script token (the first is the plainest)."""
    text = _strip_accents(token.lower().replace("i̇", "i"))
    if not text.isascii():
        text = "".join(LATIN_LETTERS.get(ch, ch) for ch in text)
    parts: list[tuple[str, ...]] = []
    pos = 0
    for m in _AMBIGUOUS.finditer(text):
        parts.append((text[pos : m.start()],))
        parts.append(_readings_of(m.group(), text, m.start()))
        pos = m.end()
    parts.append((text[pos:],))
    readings: list[str] = []
    for combo in itertools.product(*parts):
        reading = _ALNUM.sub("", "".join(combo))
        if reading not in readings:
            readings.append(reading)
        if len(readings) >= MAX_READINGS:
            break
    return tuple(readings)


def _readings_of(chunk: str, text: str, start: int) -> tuple[str, ...]:
    if chunk == "ou":  # Belarusian ŭ only before a consonant or at the end: Zhukouskaia, Melnikau
        after = text[start + 2 : start + 3]
        return ("u", "ov") if after == "" or after not in "aeiouy" else ("u",)
    if chunk == "c" and text[start + 1 : start + 2] == "k":
        return ("",)  # "ck" is plain k
    if chunk == "j" and start > 0 and text[start - 1] == "d":
        return ("zh",)  # "dj" is dzh
    return LATIN_READINGS[chunk]


def readings(token: str) -> tuple[str, ...]:
    """Lower-case ASCII readings of a token in any script (not cached: `make_token`, its only caller on
    the hot path, caches whole tokens)."""
    script = script_of(token)
    if script == "cyrillic":
        return (cyrillic_to_latin(token),)
    if script == "latin":
        return latin_readings(token)
    ascii_text = _ALNUM.sub("", anyascii(token).lower())
    return (ascii_text,) if ascii_text else ()


def arabic_consonants(token: str) -> str:
    """The consonant classes of an Arabic-script word (see ARABIC)."""
    out = "".join(ARABIC.get(ch, "") for ch in token)
    return re.sub(r"(.)\1+", lambda m: m.group(1), out)


def split_cjk(token: str) -> list[str]:
    """A CJK name as [surname, given]: anyascii gives one capitalised syllable per character."""
    syllables = re.findall(r"[A-Z][a-z]*", anyascii(token))
    if len(syllables) < 2:
        return [token]
    return [syllables[0].lower(), "".join(syllables[1:]).lower()]
