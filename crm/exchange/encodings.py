"""Which encoding a CSV file is in, recognised without asking the user.

Order matters, so that a valid UTF-8 file is never taken for something else: a byte-order mark
first (UTF-8, UTF-16 LE/BE), then strict UTF-8 over the whole file, and only a file that is not
UTF-8 is guessed. A file that decodes as UTF-8 up to a line with non-ASCII text before it is a
damaged UTF-8 file, not a CP1251 one: it is reported by its line.

The guess: the Cyrillic single-byte encodings first (CP1251 is what Excel saves "CSV" in on a
Russian Windows; KOI8-R and CP866 come from older systems), chosen by which one turns the
bytes into Russian-looking words (`Ромашка`, not `пНМЮЬЙЮ` or `╨юьр°ър`) — charset-normalizer
alone takes a few Cyrillic words among ASCII for CP1250 or Shift-JIS; then charset-normalizer
for everything else (Western European files and the like).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
# What charset-normalizer reads around the first byte that is not UTF-8: enough text to tell
# Cyrillic code pages apart, little enough to stay fast on a big file.
SAMPLE_BEFORE, SAMPLE_AFTER = 16 * 1024, 64 * 1024
CYRILLIC = ("cp1251", "koi8_r", "cp866")
_LETTERS = re.compile(r"[^\W\d_]+")
# A Russian word as text writes it: capitalised, lower case or all capitals.
_RUSSIAN_WORD = re.compile(r"[А-ЯЁ]?[а-яё]+|[А-ЯЁ]+")


@dataclass(frozen=True)
class Encoding:
    codec: str  # the Python codec that reads the text (a BOM is consumed)
    label: str  # for people: "UTF-8", "UTF-8 (BOM)", "UTF-16 LE", "Windows-1251"
    broken_line: int | None = None  # UTF-8 up to this line, then not: a damaged file


BOMS = (
    (codecs.BOM_UTF8, Encoding("utf-8-sig", "UTF-8 (BOM)")),
    (codecs.BOM_UTF16_LE, Encoding("utf-16", "UTF-16 LE")),
    (codecs.BOM_UTF16_BE, Encoding("utf-16", "UTF-16 BE")),
)
UTF8 = Encoding("utf-8", "UTF-8")


@dataclass
class _Bad:
    offset: int  # of the first byte that does not decode, in the file
    line: int  # its line, counted from 1
    wide: bool  # text beyond ASCII on the lines before it


def _scan(path: Path, codec: str) -> _Bad | None:
    """Decode the whole file in chunks (constant memory); where it first fails, if it does."""
    decoder = codecs.getincrementaldecoder(codec)()
    lines, wide, done = 0, False, 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                before = exc.object[: exc.start].decode(codec, errors="ignore")
                complete = before[: before.rfind("\n") + 1]  # the lines before the bad one
                return _Bad(
                    offset=done + exc.start,
                    line=lines + before.count("\n") + 1,
                    wide=wide or not complete.isascii(),
                )
            if not chunk:
                return None
            lines += text.count("\n")
            wide = wide or not text.isascii()
            done += len(chunk)


def first_bad_line(path: Path, codec: str) -> int | None:
    """The line of the first bytes that do not decode in `codec` (None: the file decodes)."""
    bad = _scan(path, codec)
    return bad.line if bad else None


def label(codec: str) -> str:
    name = codecs.lookup(codec).name  # "windows-1251", "cp1251" → "cp1251"
    if name.startswith("cp125"):
        return "Windows-" + name[2:]
    return name.upper()


def detect(path: Path, head: bytes) -> Encoding | None:
    """The encoding of the text file at `path` (`head`: its first bytes); None when it is
    not text in any encoding recognised (binary data)."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            if encoding.codec == "utf-8-sig" and (bad := _scan(path, "utf-8")) is not None:
                return Encoding(encoding.codec, encoding.label, bad.line)
            return encoding
    if b"\x00" in head:
        return None  # text files have no NUL; UTF-16 without a BOM is not recognised
    bad = _scan(path, "utf-8")
    if bad is None:
        return UTF8
    if bad.wide:
        return Encoding(UTF8.codec, UTF8.label, bad.line)
    return _guess(path, bad.offset)


def russian_score(text: str) -> int:
    """Letters in Russian-looking words, minus other non-ASCII characters: high for the right
    Cyrillic code page, negative for a wrong one (case mixed up, box-drawing characters)."""
    score = 0
    for word in _LETTERS.findall(text):
        if not word.isascii():
            score += len(word) if _RUSSIAN_WORD.fullmatch(word) else -len(word)
    return score - sum(1 for ch in text if not ch.isascii() and not ch.isalpha())


def _guess(path: Path, offset: int) -> Encoding | None:
    from charset_normalizer import from_bytes

    start = max(0, offset - SAMPLE_BEFORE)
    with open(path, "rb") as fh:
        fh.seek(start)
        sample = fh.read(offset - start + SAMPLE_AFTER)
    scores = {c: russian_score(sample.decode(c, errors="replace")) for c in CYRILLIC}
    codec = max(scores, key=scores.get)
    if scores[codec] > 0:
        return Encoding(codec, label(codec))
    best = from_bytes(sample).best()
    if best is None or best.encoding in ("utf_8", "ascii"):
        return None
    return Encoding(best.encoding, label(best.encoding))
