"""Per-token hashed features.

Every token gets exactly ``n_features`` feature ids in ``[1, n_buckets)``; id 0 is padding and its
weights stay zero. The same code runs at training time and at inference time, and the
configuration (bucket count, gazetteer) travels with the model in its metadata file.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
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
from .text import Document

FEATURE_VERSION = 2
# Version 1 models (registered before the layout groups) still load and score as trained.
SUPPORTED_FEATURE_VERSIONS = (1, 2)
_SEGMENT_SEPARATORS = frozenset({"-", "–", "—", "|"})
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


class _HashCache(dict[str, int]):
    """feature string -> bucket id; a plain dict lookup (faster than ``lru_cache``), bounded."""

    def __init__(self, mod: int, limit: int = 1 << 20) -> None:
        super().__init__()
        self._mod = mod
        self._limit = limit

    def __missing__(self, feature: str) -> int:
        if len(self) >= self._limit:
            self.clear()
        value = zlib.crc32(feature.encode("utf-8")) % self._mod + 1
        self[feature] = value
        return value


# Word-level features, hashed once per distinct word: (own features, as neighbour at -2/-1/+1/+2).
_WordIds = tuple[tuple[int, ...], int, int, int, int]


# Contextual feature groups: each maps the key :meth:`FeatureExtractor._contextual` computes for a
# token to its feature names; ``features`` hashes each distinct key once.
def _g_neighbour_shapes(ms: str, ps: str, mx: str, lex: str, px: str) -> tuple[str, ...]:
    return ("s-1=" + ms + "|" + ps, "x-1=" + mx + "|" + lex + "|" + px)


def _g_layout(li: int, ll: int, ti: int, shape: str, flags: str) -> tuple[str, ...]:
    return (f"li={li}", f"ti={ti}|ll={ll}", f"li={li}|s={shape}|ll={ll}", f"ti={ti}|s={shape}|f={flags}")


def _g_section_word(section: str, lower: str, flags: str, lex: str) -> tuple[str, ...]:
    sec = "sec=" + section
    return (sec, sec + "|w=" + lower, sec + "|f=" + flags, sec + "|x=" + lex)


def _g_line(section: str, sh: str, kind: str, ti: int, first: str) -> tuple[str, ...]:
    return (f"sec={section}|since={sh}|kind={kind}", f"kind={kind}|ti={ti}", "first=" + first, f"first={first}|ti={ti}")


def _g_gazetteer(gaz: str, section: str) -> tuple[str, ...]:
    return ("g=" + gaz, "g=" + gaz + "|sec=" + section)


def _g_prev_word(prev: str, lower: str) -> tuple[str, ...]:
    return ("w-1w=" + prev + "|" + lower,)


def _g_next_word(lower: str, nxt: str) -> tuple[str, ...]:
    return ("ww+1=" + lower + "|" + nxt,)


def _g_segment(section: str, seg: str, edge: str, shape: str, lex: str) -> tuple[str, ...]:
    """Position in the line's " - "-separated segments ("Company -  City, State -")."""
    return (f"seg={seg}|sec={section}", f"seg={seg}|e={edge}|s={shape}", f"seg={seg}|x={lex}")


def _g_neighbour_lines(section: str, prev_kind: str, next_kind: str, next2_kind: str) -> tuple[str, ...]:
    """What the previous and next non-empty lines look like (a date line after a title line)."""
    return (f"pl={prev_kind}|nl={next_kind}|sec={section}", f"nl={next_kind}|nl2={next2_kind}|sec={section}")


_GROUPS_V1: tuple[Callable[..., tuple[str, ...]], ...] = (
    _g_neighbour_shapes,
    _g_layout,
    _g_section_word,
    _g_line,
    _g_gazetteer,
    _g_prev_word,
    _g_next_word,
)
_GROUPS: tuple[Callable[..., tuple[str, ...]], ...] = (*_GROUPS_V1, _g_segment, _g_neighbour_lines)


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
        version = int(data.get("version", 0))
        if version not in SUPPORTED_FEATURE_VERSIONS:
            raise ValueError(f"unsupported feature version {data.get('version')!r}")
        return cls(
            n_buckets=int(data["n_buckets"]),
            skills=list(data["skills"]),
            version=version,
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
        self._hash = _HashCache(self._mod)
        self._word = functools.lru_cache(maxsize=1 << 16)(self._word_uncached)
        self._word_ids_cache: dict[str, _WordIds] = {}
        if config.version not in SUPPORTED_FEATURE_VERSIONS:
            raise ValueError(f"unsupported feature version {config.version!r}")
        self._groups = _GROUPS_V1 if config.version == 1 else _GROUPS
        self._group_ids: list[dict[tuple[Any, ...], tuple[int, ...]]] = [{} for _ in self._groups]
        h = self._hash
        self._boundary_ids = (h["w-2=<B>"], h["w-1=<B>"], h["w+1=<B>"], h["w+2=<B>"])
        self.n_features = len(self.feature_names(self._dummy_doc())[0])

    # -- hashing ---------------------------------------------------------------------------
    def _group_miss(self, group: int, key: tuple[Any, ...]) -> tuple[int, ...]:
        h = self._hash
        ids = tuple(h[name] for name in self._groups[group](*key))
        self._group_ids[group][key] = ids
        return ids

    def _word_ids(self, word: str) -> _WordIds:
        ids = self._word_ids_cache.get(word)
        if ids is None:
            if len(self._word_ids_cache) >= 1 << 18:
                self._word_ids_cache.clear()
            lower, shape, flags, lex, suf = self._word(word)
            h = self._hash
            own = (
                h["w=" + lower],
                h["s=" + shape],
                h["p3=" + lower[:3]],
                h["s3=" + suf],
                h["f=" + flags],
                h["x=" + lex],
            )
            ids = (own, h["w-2=" + lower], h["w-1=" + lower], h["w+1=" + lower], h["w+2=" + lower])
            self._word_ids_cache[word] = ids
        return ids

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

    def _line_info(
        self, doc: Document, words: list[tuple[str, str, str, str, str]]
    ) -> tuple[dict[int, list[int]], dict[int, tuple[str, str, str, str, int]], dict[int, tuple[str, str, str]]]:
        """Token indices per line and, per line, (section, since-header bucket, kind, first word,
        100 * line-index bucket + line-length bucket)."""
        tokens = doc.tokens
        lines: dict[int, list[int]] = {}
        for i, tok in enumerate(tokens):
            lines.setdefault(tok.line, []).append(i)
        text = doc.text
        starts = doc.line_starts
        info: dict[int, tuple[str, str, str, str, int]] = {}
        kinds: list[str] = []  # per non-empty line: H(eader), D(ate/year), S(hort), L(ong)
        section = "top"
        since_header = 0
        ordered = sorted(lines)
        for rank, line in enumerate(ordered):  # rank: index among non-empty lines
            idxs = lines[line]
            end = starts[line + 1] if line + 1 < len(starts) else len(text)
            header = header_section(text[starts[line] : end])
            if header is not None:
                section = header
                since_header = 0
                kind = "H"
                kinds.append("H")
            else:
                since_header += 1
                n_title = sum(1 for i in idxs if words[i][2].startswith("T") or "U" in words[i][2])
                has_year = any(words[i][3] == "year" for i in idxs)
                has_colon = any(tokens[i].text == ":" for i in idxs)
                kind = f"{_bucket(10 * n_title // len(idxs), (2, 5, 8))}{int(has_year)}{int(has_colon)}"
                has_month = any(words[i][3] == "mon" for i in idxs)
                kinds.append("D" if has_year or has_month else "S" if len(idxs) <= 8 else "L")
            li = _bucket(rank, (0, 1, 2, 3, 5, 8, 15))
            ll = _bucket(len(idxs), (1, 2, 3, 4, 6, 10))
            sh = _bucket(since_header, (0, 1, 2, 3, 5, 10))
            info[line] = (section, f"{sh}", kind, words[idxs[0]][0], li * 100 + ll)
        around: dict[int, tuple[str, str, str]] = {}
        n_lines = len(ordered)
        for rank, line in enumerate(ordered):
            around[line] = (
                kinds[rank - 1] if rank else "<",
                kinds[rank + 1] if rank + 1 < n_lines else ">",
                kinds[rank + 2] if rank + 2 < n_lines else ">",
            )
        return lines, info, around

    def _contextual(self, doc: Document) -> tuple[list[tuple[tuple[Any, ...], ...]], list[tuple[str, ...]]]:
        """Per token: the keys of its contextual feature groups (see :data:`_GROUPS`), and its
        neighbours' texts (-2, -1, +1, +2 on the same line, ``""`` at the line boundary)."""
        tokens = doc.tokens
        words = [self._word(t.text) for t in tokens]
        lowers = [w[0] for w in words]
        gaz = self._gazetteer_tags(lowers)
        _lines, line_info, around = self._line_info(doc, words)
        v2 = self.config.version >= 2
        segments = self._segments(tokens) if v2 else []
        keys: list[tuple[tuple[Any, ...], ...]] = []
        neighbours: list[tuple[str, ...]] = []
        n = len(tokens)
        b = ("<B>", "<B>", "<B>", "<B>")
        for i, tok in enumerate(tokens):
            lower, shape, flags, lex, _suf = words[i]
            section, sh, kind, first, li_ll = line_info[tok.line]
            li, ll = divmod(li_ll, 100)
            line = tok.line
            m2 = i >= 2 and tokens[i - 2].line == line
            m1 = words[i - 1] if i >= 1 and tokens[i - 1].line == line else b
            p1 = words[i + 1] if i + 1 < n and tokens[i + 1].line == line else b
            p2 = i + 2 < n and tokens[i + 2].line == line
            neighbours.append(
                (
                    tokens[i - 2].text if m2 else "",
                    tokens[i - 1].text if m1 is not b else "",
                    tokens[i + 1].text if p1 is not b else "",
                    tokens[i + 2].text if p2 else "",
                )
            )
            pos = tok.index_in_line
            ti = 0 if pos <= 0 else 1 if pos <= 1 else 2 if pos <= 2 else 3 if pos <= 3 else 4 if pos <= 5 else 5
            row: tuple[tuple[Any, ...], ...] = (
                (m1[1], p1[1], m1[3], lex, p1[3]),
                (li, ll, ti, shape, flags),
                (section, lower, flags, lex),
                (section, sh, kind, ti, first),
                (gaz[i], section),
                (m1[0], lower),
                (lower, p1[0]),
            )
            if v2:
                seg, edge = segments[i]
                row = (*row, (section, seg, edge, shape, lex), (section, *around[line]))
            keys.append(row)
        return keys, neighbours

    @staticmethod
    def _segments(tokens: list[Any]) -> list[tuple[str, str]]:
        """Per token: (segment index in its line, split at " - " / "|" / bullets, as "i/n" with
        n capped; edge: "F"irst / "L"ast / "FL" / "" / "sep")."""
        out: list[tuple[str, str]] = []
        i, n = 0, len(tokens)
        while i < n:
            line = tokens[i].line
            j = i
            while j < n and tokens[j].line == line:
                j += 1
            seg_ids: list[int] = []
            current = 0
            for k in range(i, j):
                if tokens[k].text in _SEGMENT_SEPARATORS:
                    seg_ids.append(-1)
                    if k > i and seg_ids[-2] != -1:
                        current += 1
                else:
                    seg_ids.append(current)
            n_seg = max(0, *seg_ids) + 1
            for k in range(i, j):
                sid = seg_ids[k - i]
                if sid < 0:
                    out.append(("sep", "sep"))
                    continue
                prev_same = k > i and seg_ids[k - i - 1] == sid
                next_same = k + 1 < j and seg_ids[k + 1 - i] == sid
                edge = ("" if prev_same else "F") + ("" if next_same else "L")
                out.append((f"{min(sid, 2)}/{min(n_seg, 3)}", edge))
            i = j
        return out

    def feature_names(self, doc: Document) -> list[list[str]]:
        """All feature names per token (the readable form of :meth:`features`)."""
        if not doc.tokens:
            return []
        contextual, neighbours = self._contextual(doc)
        out: list[list[str]] = []
        for tok, keys, (m2, m1, p1, p2) in zip(doc.tokens, contextual, neighbours, strict=True):
            row = ["b"] + [name for group, key in zip(self._groups, keys, strict=True) for name in group(*key)]
            lower, shape, flags, lex, suf = self._word(tok.text)

            def low(word: str) -> str:
                return self._word(word)[0] if word else "<B>"

            out.append(
                [
                    "w=" + lower,
                    "s=" + shape,
                    "p3=" + lower[:3],
                    "s3=" + suf,
                    "f=" + flags,
                    "x=" + lex,
                    "w-2=" + low(m2),
                    "w-1=" + low(m1),
                    "w+1=" + low(p1),
                    "w+2=" + low(p2),
                    *row,
                ]
            )
        return out

    def features(self, doc: Document) -> np.ndarray:
        """Hashed ids ``[n_tokens, n_features]``: the ids of :meth:`feature_names`, with the
        word-level ones hashed once per distinct word (same ids, fewer string operations)."""
        if not doc.tokens:
            return np.zeros((0, self.n_features), dtype=np.int64)
        contextual, neighbours = self._contextual(doc)
        word_ids = self._word_ids
        bm2, bm1, bp1, bp2 = self._boundary_ids
        caches = self._group_ids
        if sum(len(c) for c in caches) > 1 << 20:
            for c in caches:
                c.clear()
        missing = self._group_miss
        bias = self._hash["b"]
        rows: list[list[int]] = []
        for tok, keys, (m2, m1, p1, p2) in zip(doc.tokens, contextual, neighbours, strict=True):
            ids = [bias, *word_ids(tok.text)[0]]
            ids.append(word_ids(m2)[1] if m2 else bm2)
            ids.append(word_ids(m1)[2] if m1 else bm1)
            ids.append(word_ids(p1)[3] if p1 else bp1)
            ids.append(word_ids(p2)[4] if p2 else bp2)
            for g, key in enumerate(keys):
                got = caches[g].get(key)
                if got is None:
                    got = missing(g, key)
                ids.extend(got)
            rows.append(ids)
        return np.array(rows, dtype=np.int64)
