"""Per-token hashed features.

Every token gets exactly ``n_features`` feature ids in ``[1, n_buckets)``; id 0 is padding and its
weights stay zero. The same code runs at training time and at inference time, and the
configuration (bucket count, gazetteer) travels with the model in its metadata file.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .lexicon import (
    COLLEGE_WORDS,
    COMPANY_WORDS,
    DEGREE_WORDS,
    EXPERIENCE_WORDS,
    LOCATION_WORDS,
    MONTH_WORDS,
    SECTION_HEADERS,
    SEED_SKILLS,
    TITLE_WORDS,
)
from .text import Document, Token

FEATURE_VERSION = 1
MAX_GAZ_LEN = 4

_PUNCT_RE = re.compile(r"[^\w\s+#]")
_YEAR_RE = re.compile(r"^(?:19[5-9]\d|20[0-4]\d)$")


def _shape(word: str) -> str:
    out: list[str] = []
    for ch in word:
        if ch.isupper():
            c = "X"
        elif ch.islower():
            c = "x"
        elif ch.isdigit():
            c = "d"
        else:
            c = ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def _bucket(value: int, edges: Sequence[int]) -> int:
    for i, edge in enumerate(edges):
        if value <= edge:
            return i
    return len(edges)


def _lex_class(lower: str) -> str:
    if _YEAR_RE.match(lower):
        return "year"
    if lower in DEGREE_WORDS:
        return "deg"
    if lower in COLLEGE_WORDS:
        return "col"
    if lower in COMPANY_WORDS:
        return "com"
    if lower in TITLE_WORDS:
        return "tit"
    if lower in MONTH_WORDS:
        return "mon"
    if lower in LOCATION_WORDS:
        return "loc"
    if lower in EXPERIENCE_WORDS:
        return "exp"
    return "-"


def header_section(line_text: str) -> str | None:
    """Canonical section name when ``line_text`` is a section header, else ``None``."""
    cleaned = " ".join(_PUNCT_RE.sub(" ", line_text.lower()).split())
    if not cleaned or len(cleaned) > 40:
        return None
    if cleaned in SECTION_HEADERS:
        return SECTION_HEADERS[cleaned]
    words = cleaned.split()
    if len(words) <= 4:
        for n in (3, 2, 1):
            head = " ".join(words[:n])
            if head in SECTION_HEADERS and len(words) - n <= 2:
                return SECTION_HEADERS[head]
    return None


def normalize_skill_key(tokens: Iterable[str]) -> tuple[str, ...]:
    return tuple(t.lower() for t in tokens)


@dataclass
class FeatureConfig:
    n_buckets: int = 1 << 18
    skills: list[str] = field(default_factory=lambda: list(SEED_SKILLS))
    version: int = FEATURE_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "n_buckets": self.n_buckets,
            "skills": sorted(set(self.skills)),
            "version": self.version,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureConfig:
        if int(data.get("version", 0)) != FEATURE_VERSION:
            raise ValueError(f"unsupported feature version {data.get('version')!r}")
        return cls(
            n_buckets=int(data["n_buckets"]),
            skills=list(data["skills"]),
            version=FEATURE_VERSION,
        )


class FeatureExtractor:
    """Turns a tokenised document into an int64 matrix ``[n_tokens, n_features]``."""

    def __init__(self, config: FeatureConfig) -> None:
        from .text import tokenize

        self.config = config
        self._mod = config.n_buckets - 1
        gaz: dict[str, set[tuple[str, ...]]] = {}
        for skill in config.skills:
            key = normalize_skill_key(t.text for t in tokenize(skill).tokens)
            if 0 < len(key) <= MAX_GAZ_LEN:
                gaz.setdefault(key[0], set()).add(key)
        self._gaz = gaz
        self._hash = functools.lru_cache(maxsize=1 << 18)(self._hash_uncached)
        self._word = functools.lru_cache(maxsize=1 << 16)(self._word_uncached)
        self.n_features = len(self.feature_names(self._dummy_doc())[0])

    # -- hashing ---------------------------------------------------------------------------
    def _hash_uncached(self, feature: str) -> int:
        return zlib.crc32(feature.encode("utf-8")) % self._mod + 1

    def _word_uncached(self, word: str) -> tuple[str, str, str, str, str]:
        lower = word.lower()
        shape = _shape(word)
        flags = (
            ("T" if word[:1].isupper() and word[1:].islower() else "")
            + ("U" if word.isupper() and len(word) > 1 else "")
            + ("D" if any(c.isdigit() for c in word) else "")
            + ("A" if word.isalpha() else "")
            + str(_bucket(len(word), (1, 2, 3, 5, 8)))
        )
        return lower, shape, flags, _lex_class(lower), lower[-3:]

    @staticmethod
    def _dummy_doc() -> Document:
        from .text import tokenize

        return tokenize("x")

    # -- features ------------------------------------------------------------------------------
    def _gazetteer_tags(self, words: list[str]) -> list[str]:
        tags = ["-"] * len(words)
        i = 0
        while i < len(words):
            cands = self._gaz.get(words[i])
            matched = 0
            if cands:
                for n in range(min(MAX_GAZ_LEN, len(words) - i), 0, -1):
                    if tuple(words[i : i + n]) in cands:
                        matched = n
                        break
            if matched:
                tags[i] = f"B{min(matched, 3)}"
                for j in range(i + 1, i + matched):
                    tags[j] = f"I{min(matched, 3)}"
                i += matched
            else:
                i += 1
        return tags

    @staticmethod
    def _context(
        words: list[tuple[str, str, str, str, str]],
        tokens: list[Token],
        i: int,
        offset: int,
    ) -> tuple[str, str, str]:
        """(lowercase, shape, lexical class) of the neighbour at ``offset`` on the same line."""
        j = i + offset
        if 0 <= j < len(tokens) and tokens[j].line == tokens[i].line:
            w = words[j]
            return w[0], w[1], w[3]
        return ("<B>", "<B>", "<B>")

    def feature_names(self, doc: Document) -> list[list[str]]:
        tokens = doc.tokens
        n = len(tokens)
        if n == 0:
            return []
        words = [self._word(t.text) for t in tokens]
        lowers = [w[0] for w in words]
        gaz = self._gazetteer_tags(lowers)

        # Per-line summaries.
        lines: dict[int, list[int]] = {}
        for i, tok in enumerate(tokens):
            lines.setdefault(tok.line, []).append(i)
        line_order = sorted(lines)
        line_rank = {line: r for r, line in enumerate(line_order)}  # index among non-empty lines
        text = doc.text
        starts = doc.line_starts
        line_info: dict[int, tuple[str, int, str, str]] = {}
        section = "top"
        since_header = 0
        for line in line_order:
            idxs = lines[line]
            end = starts[line + 1] if line + 1 < len(starts) else len(text)
            header = header_section(text[starts[line] : end])
            if header is not None:
                section = header
                since_header = 0
                kind = "H"
            else:
                since_header += 1
                n_title = sum(1 for i in idxs if words[i][2].startswith("T") or "U" in words[i][2])
                has_year = any(words[i][3] == "year" for i in idxs)
                has_colon = any(tokens[i].text == ":" for i in idxs)
                kind = f"{_bucket(10 * n_title // len(idxs), (2, 5, 8))}{int(has_year)}{int(has_colon)}"
            line_info[line] = (section, since_header, kind, lowers[idxs[0]])

        out: list[list[str]] = []
        for i, tok in enumerate(tokens):
            lower, shape, flags, lex, suf = words[i]
            section, since, kind, first = line_info[tok.line]
            idxs = lines[tok.line]
            pos_in_line = tok.index_in_line
            line_len = len(idxs)

            m2, m1, p1, p2 = (self._context(words, tokens, i, off) for off in (-2, -1, 1, 2))
            li = _bucket(line_rank[tok.line], (0, 1, 2, 3, 5, 8, 15))
            ti = _bucket(pos_in_line, (0, 1, 2, 3, 5))
            ll = _bucket(line_len, (1, 2, 3, 4, 6, 10))
            sh = _bucket(since, (0, 1, 2, 3, 5, 10))
            out.append(
                [
                    "b",
                    "w=" + lower,
                    "s=" + shape,
                    "p3=" + lower[:3],
                    "s3=" + suf,
                    "f=" + flags,
                    "x=" + lex,
                    "w-1=" + m1[0],
                    "w+1=" + p1[0],
                    "w-2=" + m2[0],
                    "w+2=" + p2[0],
                    "s-1=" + m1[1] + "|" + p1[1],
                    "x-1=" + m1[2] + "|" + lex + "|" + p1[2],
                    f"li={li}",
                    f"ti={ti}|ll={ll}",
                    f"li={li}|s={shape}|ll={ll}",
                    f"ti={ti}|s={shape}|f={flags}",
                    "sec=" + section,
                    "sec=" + section + "|w=" + lower,
                    "sec=" + section + "|f=" + flags,
                    "sec=" + section + "|x=" + lex,
                    f"sec={section}|since={sh}|kind={kind}",
                    f"kind={kind}|ti={ti}",
                    "first=" + first,
                    "first=" + first + "|ti=" + str(ti),
                    "g=" + gaz[i],
                    "g=" + gaz[i] + "|sec=" + section,
                    "w-1w=" + m1[0] + "|" + lower,
                    "ww+1=" + lower + "|" + p1[0],
                ]
            )
        return out

    def features(self, doc: Document) -> np.ndarray:
        names = self.feature_names(doc)
        h = self._hash
        if not names:
            return np.zeros((0, self.n_features), dtype=np.int64)
        return np.array([[h(f) for f in row] for row in names], dtype=np.int64)
