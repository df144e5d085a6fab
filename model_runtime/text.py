"""Tokenisation with character offsets, line bookkeeping and text normalisation."""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

# Words keep inner dots, apostrophes, hyphens, plus and hash ("B.Tech", "C++", "C#", "Node.js",
# "e-mail"); every other non-space character is a token of its own.
_TOKEN_RE = re.compile(r"\w+(?:[.'\-+#&/]\w+)*[+#]*|[^\w\s]")


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int
    line: int  # 0-based line index
    index_in_line: int


@dataclass(frozen=True, slots=True)
class Document:
    text: str
    tokens: list[Token]
    line_starts: list[int]  # char offset of each line start

    def line_of(self, offset: int) -> int:
        """0-based line index of a character offset."""
        return bisect.bisect_right(self.line_starts, offset) - 1


def line_starts(text: str) -> list[int]:
    starts = [0]
    pos = text.find("\n")
    while pos != -1:
        starts.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return starts


def tokenize(text: str) -> Document:
    starts = line_starts(text)
    tokens: list[Token] = []
    line = 0
    index_in_line = 0
    n_lines = len(starts)
    for match in _TOKEN_RE.finditer(text):
        start = match.start()
        new_line = line
        while new_line + 1 < n_lines and starts[new_line + 1] <= start:
            new_line += 1
        if new_line != line:
            line = new_line
            index_in_line = 0
        tokens.append(Token(match.group(), start, match.end(), line, index_in_line))
        index_in_line += 1
    return Document(text=text, tokens=tokens, line_starts=starts)


_STRIP_CHARS = " \t\r\n.,;:|•●▪■◦·*-–—()[]{}\"'`"


_LABEL_PREFIX_RE = re.compile(r"^[a-z]+:(?!//)")
_SCHEME_RE = re.compile(r"^(?:https?://)?(?:www\.)?", re.IGNORECASE)


def canonical_link(value: str) -> str:
    """Comparable form of a URL: no scheme, no ``www.``, no whitespace (wrapped lines), no trailing /."""
    value = "".join(unicodedata.normalize("NFKC", value).split()).lower()
    value = _LABEL_PREFIX_RE.sub("", value)  # "indeed:indeed.com/r/..." (a label glued to the URL)
    return _SCHEME_RE.sub("", value).rstrip("/.,;")


def normalize_value(value: str, label: str | None = None) -> str:
    """Normalise an entity text for comparison: NFKC, lowercase, single spaces, no edge punctuation."""
    if label == "LINK":
        return canonical_link(value)
    if label == "PHONE":
        digits = "".join(ch for ch in value if ch.isdigit())
        return digits[-10:] if len(digits) >= 10 else digits
    value = unicodedata.normalize("NFKC", value).lower()
    value = " ".join(value.split())
    return value.strip(_STRIP_CHARS)
