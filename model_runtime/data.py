"""Training data: loaders for the shared data sets (with their known defects repaired).

Nothing here prints or logs document contents; only aggregate counts leave this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .entities import LABELS
from .text import normalize_value

Span = tuple[str, int, int]  # label, start, end (exclusive)


@dataclass
class LabeledDoc:
    doc_id: str
    text: str
    spans: list[Span]
    # Labels this document is (meant to be) annotated for. Tokens outside every span may still
    # belong to a label missing from this set (partial annotation), which training honours.
    annotated: frozenset[str]
    source: str
    # Regions whose tokens may be O or one of the given labels (weak, partial annotations).
    soft: list[tuple[frozenset[str], int, int]] = field(default_factory=list)


def default_data_dir() -> Path:
    """``../shared/data`` beside the repository (CI clones the repo with ``../shared`` next to it)."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


# --- span repair helpers ----------------------------------------------------------------------

_SKILL_SPLIT_RE = re.compile(r"[,\n;|•●▪■◦·\u2022\uf0b7\uf0a7]+|\s-\s|\t|\s{3,}")
_PAREN_RE = re.compile(r"\([^)]*\)")
_SKILL_PREFIX_RE = re.compile(r"^(?:technical\s+)?skills?\s*[:\-]?\s*", re.IGNORECASE)
# Indeed's "Java (5 years), SQL (Less than 1 year)": the duration is no part of the skill, and
# the PDF text often wraps it over a line ("(Less\nthan 1 year)") or cuts it ("(Less […]").
_DURATION_PAREN_RE = re.compile(
    r"\(\s*(?:less\s+than\s+)?\d+(?:\.\d+)?\s*\+?\s*(?:years?|yrs?|months?)\s*\)"
    r"|\(\s*less(?:\s+than)?\s*(?:\[…\]|\[\.\.\.\])?\s*\)?",
    re.IGNORECASE,
)
# A category label before the skill: "Languages: Core Java", "Operating Systems: Windows".
_CATEGORY_PREFIX_RE = re.compile(r"^[^\W\d][^:\n]{0,40}?:(?!//)\s*(?=\S)")


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in ",;:•-–|*"):
        start += 1
    return _strip_end(text, start, end)


def _strip_end(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:•-–|*("):
        end -= 1
    return start, end


def relocate(content: str, span_text: str, start: int, window: int = 400) -> int | None:
    """Start of ``span_text`` in ``content`` nearest to ``start`` (within ``window``), or None."""
    if not span_text:
        return None
    lo = max(0, start - window)
    hi = min(len(content), start + len(span_text) + window)
    best: int | None = None
    pos = content.find(span_text, lo, hi)
    while pos != -1:
        if best is None or abs(pos - start) < abs(best - start):
            best = pos
        pos = content.find(span_text, pos + 1, hi)
    return best


def relocate_fuzzy(content: str, span_text: str, start: int, window: int = 400) -> tuple[int, int] | None:
    """Like :func:`relocate` but whitespace-insensitive; returns (start, end) in ``content``."""
    words = span_text.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    lo = max(0, start - window)
    hi = min(len(content), start + len(span_text) + window)
    best: tuple[int, int] | None = None
    for m in pattern.finditer(content, lo, hi):
        if best is None or abs(m.start() - start) < abs(best[0] - start):
            best = m.span()
    return best


def _is_header(piece: str) -> bool:
    from .lexicon import SECTION_HEADERS

    return " ".join(re.sub(r"[^\w\s]", " ", piece.lower()).split()) in SECTION_HEADERS


def split_skill_block(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a block span ("Java, Python, SQL") into single-skill spans.

    Durations ("Java (5 years)", also wrapped over a line), category labels ("Languages: Java"),
    bullets, section headers and URLs caught in the block are dropped.
    """
    out: list[tuple[int, int]] = []
    block = text[start:end]
    # Durations become separators (same length, so offsets stay valid).
    masked = _DURATION_PAREN_RE.sub(lambda m: "," * len(m.group()), block)
    pos = 0
    for m in [*list(_SKILL_SPLIT_RE.finditer(masked)), None]:
        piece_end = m.start() if m else len(block)
        s, e = start + pos, start + piece_end
        pos = m.end() if m else len(block)
        # Leading bullets and symbols ("❖ Database: Oracle"), but not ".NET".
        while s < e and not (text[s].isalnum() or text[s] == "."):
            s += 1
        piece = text[s:e]
        if "://" in piece or piece.lower().startswith("www.") or _is_header(piece):
            continue
        # Drop a leading "Skills:" / "Languages:" and trailing parentheticals such as "(5 years)".
        pm = _SKILL_PREFIX_RE.match(piece) or _CATEGORY_PREFIX_RE.match(piece)
        if pm:
            s += pm.end()
        paren = _PAREN_RE.search(text[s:e])
        if paren:
            e = s + paren.start()
        s, e = _strip_span(text, s, e)
        if e <= s:
            continue
        n_words = len(text[s:e].split())
        if n_words > 5 or e - s > 60:
            continue
        out.append((s, e))
    return out


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Keep a non-overlapping subset: shorter spans first (block spans lose), then by label order."""
    order = {label: i for i, label in enumerate(LABELS)}
    kept: list[Span] = []
    occupied: list[tuple[int, int]] = []
    for label, s, e in sorted(set(spans), key=lambda sp: (sp[2] - sp[1], order.get(sp[0], 99), sp[1])):
        if any(not (e <= a or s >= b) for a, b in occupied):
            continue
        kept.append((label, s, e))
        occupied.append((s, e))
    kept.sort(key=lambda sp: sp[1])
    return kept


def propagate(text: str, spans: list[Span], max_per_value: int = 20) -> list[Span]:
    """Label the unlabelled exact occurrences of already-labelled values (partial labelling)."""
    occupied = [(s, e) for _, s, e in spans]
    added: list[Span] = []
    seen: set[tuple[str, str]] = set()
    for label, s, e in spans:
        value = text[s:e]
        if (label, value) in seen or len(value) < 3 or label in ("GRADUATION_YEAR", "LINK"):
            continue
        seen.add((label, value))
        pattern = re.compile(r"(?<!\w)" + re.escape(value) + r"(?!\w)")
        count = 0
        for m in pattern.finditer(text):
            a, b = m.span()
            if any(not (b <= x or a >= y) for x, y in occupied):
                continue
            added.append((label, a, b))
            occupied.append((a, b))
            count += 1
            if count >= max_per_value:
                break
    return sorted(spans + added, key=lambda sp: sp[1])


# --- DataTurks --------------------------------------------------------------------------------

DATATURKS_LABELS = {
    "Name": "NAME",
    "Designation": "DESIGNATION",
    "Companies worked at": "COMPANY",
    "College Name": "COLLEGE",
    "Degree": "DEGREE",
    "Graduation Year": "GRADUATION_YEAR",
    "Location": "LOCATION",
    "Skills": "SKILL",
    "Years of Experience": "YEARS_OF_EXPERIENCE",
    "Email Address": "LINK",  # these spans are Indeed profile URLs
}


@dataclass
class RepairStats:
    spans_in: int = 0
    exact: int = 0
    relocated: int = 0
    dropped: int = 0
    overlaps_removed: int = 0
    propagated: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _doc_key(text: str) -> str:
    return " ".join(text.split())[:500]


class DataFormatError(ValueError):
    """A data file that is not in the format it was given as; the message names file and row."""


def _dataturks_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, row) of a DataTurks export: JSON lines as published, or one JSON array."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"{path}: not a JSON array ({exc.msg}, line {exc.lineno})") from None
        numbered = list(enumerate(rows))
    else:
        numbered = []
        # Split at "\n" only, as a file object does: the row numbers name the documents
        # ("dataturks-<row>"), and str.splitlines would also split at U+2028 inside a string.
        for line_no, line in enumerate(text.split("\n")):
            if not line.strip():
                continue
            try:
                numbered.append((line_no, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DataFormatError(f"{path}:{line_no + 1}: not a JSON object ({exc.msg})") from None
    for row_no, row in numbered:
        if not isinstance(row, dict):
            raise DataFormatError(f"{path}: row {row_no + 1} is a {type(row).__name__}, not a JSON object")
        yield row_no, row


def _point_offsets(point: Any) -> tuple[int, int, str] | None:
    """(start, exclusive end, text) of an annotation point; ``None`` when it has no usable offsets."""
    if not isinstance(point, dict):
        return None
    try:
        start, end = int(point["start"]), int(point["end"]) + 1  # DataTurks' end is inclusive
    except (KeyError, TypeError, ValueError):
        return None
    text = point.get("text")
    return (start, end, text) if isinstance(text, str) and start >= 0 else None


def load_dataturks(path: Path, stats: RepairStats | None = None, *, propagate_labels: bool = True) -> list[LabeledDoc]:
    """Documents of a DataTurks export, offsets repaired (module docstring). A row that is not a
    JSON object raises :class:`DataFormatError`; an annotation point without usable offsets is
    counted as dropped."""
    stats = stats or RepairStats()
    docs: list[LabeledDoc] = []
    seen: set[str] = set()
    for line_no, row in _dataturks_rows(path):
        content = row.get("content")
        if not isinstance(content, str):
            continue
        key = _doc_key(content)
        if not content or key in seen:
            continue
        seen.add(key)
        raw: list[Span] = []
        for ann in row.get("annotation") or []:
            if not isinstance(ann, dict):
                continue
            given = ann.get("label") or []
            given = [given] if isinstance(given, str) else given
            labels = [DATATURKS_LABELS[x] for x in given if isinstance(x, str) and x in DATATURKS_LABELS]
            if not labels:
                continue
            label = labels[0]
            for point in ann.get("points") or []:
                stats.spans_in += 1
                offsets = _point_offsets(point)
                if offsets is None:
                    stats.dropped += 1
                    continue
                start, end, span_text = offsets
                if content[start:end] == span_text:
                    stats.exact += 1
                else:
                    located = relocate_fuzzy(content, span_text, start)
                    if located is None:
                        stats.dropped += 1
                        continue
                    stats.relocated += 1
                    start, end = located
                if label == "SKILL":
                    raw.extend(("SKILL", s, e) for s, e in split_skill_block(content, start, end))
                else:
                    s, e = _strip_span(content, start, end)
                    if e > s:
                        raw.append((label, s, e))
        spans = resolve_overlaps(raw)
        stats.overlaps_removed += len(set(raw)) - len(spans)
        gold = list(spans)
        if propagate_labels:
            spans = propagate(content, spans)
            stats.propagated += len(spans) - len(gold)
        docs.append(
            LabeledDoc(
                doc_id=f"dataturks-{line_no}",
                text=content,
                spans=spans,
                annotated=frozenset(DATATURKS_LABELS.values()),
                source="dataturks",
            )
        )
    return docs


def dataturks_gold(doc: LabeledDoc) -> dict[str, set[str]]:
    """Document-level gold values (sets of normalised texts per label)."""
    return spans_to_values(doc.text, doc.spans)


def spans_to_values(text: str, spans: Iterable[Span]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for label, s, e in spans:
        value = normalize_value(text[s:e], label)
        if value:
            out.setdefault(label, set()).add(value)
    return out


# --- resume-corpus (Label Studio) -------------------------------------------------------------

RESUME_CORPUS_LABELS = {
    "technical_skills": "SKILL",
    "designation": "DESIGNATION",
    "company_name": "COMPANY",
    "candidate_city": "LOCATION",
    "work_cities": "LOCATION",
    "higher_education": "DEGREE",
    "basic_education": "DEGREE",
    "place_higher_education": "COLLEGE",
    "place_basic_education": "COLLEGE",
}
RESUME_CORPUS_SOFT = {"soft-skills": "SKILL"}


def load_resume_corpus(
    folder: Path, exclude: set[str] | None = None, stats: RepairStats | None = None
) -> list[LabeledDoc]:
    stats = stats or RepairStats()
    exclude = set(exclude or ())
    docs: list[LabeledDoc] = []
    for path in sorted(folder.glob("*.json")):
        for task in json.loads(path.read_text(encoding="utf-8")):
            text = (task.get("data") or {}).get("text") or ""
            key = _doc_key(text)
            if not text or key in exclude:
                continue
            annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
            if not annotations:
                continue
            exclude.add(key)
            raw: list[Span] = []
            soft: list[tuple[frozenset[str], int, int]] = []
            for result in annotations[0].get("result") or []:
                value = result.get("value") or {}
                labels = value.get("labels") or []
                if not labels or "start" not in value:
                    continue
                stats.spans_in += 1
                span_text = value.get("text") or ""
                start, end = int(value["start"]), int(value["end"])
                if text[start:end] != span_text:
                    located = relocate_fuzzy(text, span_text, start)
                    if located is None:
                        stats.dropped += 1
                        continue
                    stats.relocated += 1
                    start, end = located
                else:
                    stats.exact += 1
                s, e = _strip_span(text, start, end)
                if e <= s:
                    continue
                if labels[0] in RESUME_CORPUS_LABELS:
                    raw.append((RESUME_CORPUS_LABELS[labels[0]], s, e))
                elif labels[0] in RESUME_CORPUS_SOFT:
                    soft.append((frozenset({RESUME_CORPUS_SOFT[labels[0]]}), s, e))
            spans = resolve_overlaps(raw)
            stats.overlaps_removed += len(set(raw)) - len(spans)
            docs.append(
                LabeledDoc(
                    doc_id=f"resume-corpus-{path.stem[:12]}-{task.get('id')}",
                    text=text,
                    spans=spans,
                    annotated=frozenset(RESUME_CORPUS_LABELS.values()),
                    source="resume-corpus",
                    soft=soft,
                )
            )
    return docs


# --- skill lists (job postings) ---------------------------------------------------------------


def _bio_spans(lines: Iterator[tuple[str, str]], wanted: str) -> Iterator[list[str]]:
    current: list[str] = []
    for token, tag in lines:
        if not token:
            if current:
                yield current
            current = []
            continue
        if tag == f"B-{wanted}":
            if current:
                yield current
            current = [token]
        elif tag == f"I-{wanted}" and current:
            current.append(token)
        else:
            if current:
                yield current
            current = []
    if current:
        yield current


def load_skill_lexicon(data_dir: Path, max_tokens: int = 3, min_count: int = 1) -> list[str]:
    """Short skill / knowledge phrases from SkillSpan and the green-skills set."""
    from collections import Counter

    counts: Counter[str] = Counter()

    def conll(path: Path, column: int) -> Iterator[tuple[str, str]]:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                parts = line.rstrip("\n").split("\t") if "\t" in line else line.split()
                if len(parts) <= column:
                    yield "", "O"
                else:
                    yield parts[0], parts[column]

    for path in sorted((data_dir / "skillspan" / "conll").glob("*.conll")):
        for span in _bio_spans(conll(path, 2), "Knowledge"):
            if len(span) <= max_tokens:
                counts[" ".join(span).lower()] += 1
    green = data_dir / "green-skills" / "testset.txt"
    if green.exists():
        for span in _bio_spans(conll(green, 1), "Skill"):
            if len(span) <= max_tokens:
                counts[" ".join(span).lower()] += 1
    return sorted(k for k, v in counts.items() if v >= min_count and len(k) >= 1 and not k.isdigit())
