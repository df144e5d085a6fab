"""The dates of experience entries: "June 2018 to December 2018", "01/2011 to 01/2013", "2015 -
Present", also spread over several lines as resume-builder PDFs print them ("01/2011", "to",
"01/2013" on lines of their own).

:func:`find_date_ranges` finds them with their lines (:func:`experience_date_ranges` outside
education sections); :func:`assign_date_ranges` gives each experience entry its range.
Deterministic rules: these are formats, not language.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .rules import line_sections
from .text import line_starts

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {name: i for i, name in enumerate(_MONTH_NAMES, 1)}
# A month's name, full or abbreviated (the layout rules' date lines use it too).
MONTH_PATTERN = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_YEAR = r"(?:19[5-9]\d|20[0-4]\d)"


def _point_re(p: str) -> str:
    """One end of a range, its groups prefixed ``p``: "June 2018", "Jun'18", "06/2018", "2018"."""
    return (
        rf"(?:(?P<{p}mon>{MONTH_PATTERN})[\s,]*(?:(?P<{p}year>{_YEAR})|['’](?P<{p}yy>\d{{2}}))"
        rf"|(?P<{p}mm>0?[1-9]|1[0-2])\s*[/.-]\s*(?P<{p}myear>{_YEAR})"
        rf"|(?P<{p}only>{_YEAR}))"
    )


_OPEN_END = r"(?P<open>current(?:ly)?|present|now|today|ongoing|(?:till|to|until)\s+(?:the\s+)?date|date)"
# Between the ends: "to", a dash, "till"; resume-builder PDFs put each piece on its own line,
# with blank or comma-only lines between ("01/2011\n\nto\n\n01/2013").
_GAP = r"[\s,]{0,12}"
_RANGE_RE = re.compile(
    rf"(?<![\w/.-]){_point_re('s')}{_GAP}(?:to|till|until|-|–|—|~){_GAP}"
    rf"(?:{_point_re('e')}|{_OPEN_END})(?![\w/-])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DateRange:
    text: str  # as written, whitespace collapsed
    start: str  # "YYYY-MM" or "YYYY"
    end: str | None  # None while current
    current: bool
    first_line: int  # 1-based, as :attr:`model_runtime.entities.Entity.line`
    last_line: int

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end, "current": self.current}


def _point(m: re.Match[str], p: str) -> str | None:
    if m.group(f"{p}only"):
        return m.group(f"{p}only")
    if m.group(f"{p}myear"):
        return f"{m.group(f'{p}myear')}-{int(m.group(f'{p}mm')):02d}"
    if m.group(f"{p}mon"):
        year = m.group(f"{p}year")
        if year is None:
            yy = int(m.group(f"{p}yy"))
            year = f"{2000 + yy if yy < 50 else 1900 + yy}"
        return f"{year}-{_MONTHS[m.group(f'{p}mon')[:3].lower()]:02d}"
    return None


def find_date_ranges(text: str) -> list[DateRange]:
    """Date ranges in ``text`` whose end is not before their start."""
    starts = line_starts(text)
    out: list[DateRange] = []
    for m in _RANGE_RE.finditer(text):
        start = _point(m, "s")
        end = None if m.group("open") else _point(m, "e")
        if start is None or (end is not None and end[:4] < start[:4]):
            continue  # "2016 - 2012" is no range; nor, most likely, a phone number's pieces
        out.append(
            DateRange(
                text=" ".join(m.group().split()),
                start=start,
                end=end,
                current=end is None,
                # bisect_right: the 1-based number of the line holding the offset
                first_line=bisect.bisect_right(starts, m.start()),
                last_line=bisect.bisect_right(starts, m.end() - 1),
            )
        )
    return out


def experience_date_ranges(text: str) -> list[DateRange]:
    """:func:`find_date_ranges` outside education sections: a course's "2011 to 2015" never
    dates a job, not even a last job that gave no dates of its own."""
    found = find_date_ranges(text)
    if not found:
        return found
    sections = line_sections(text)
    return [r for r in found if sections[r.first_line - 1] != "education"]


# Lines between an entry's title or company and its dates, at most.
ENTRY_DATES_MAX_LINES = 8


def assign_date_ranges(entries: Sequence[tuple[int, int]], ranges: Sequence[DateRange]) -> list[DateRange | None]:
    """The date range of each entry, given as (first line, last line) of its title and company.

    A range on the entry's own lines is its own. Otherwise a template puts the dates either
    after an entry's fields (Indeed: title, company, dates) or before them; one document keeps
    one template, so both readings are tried and the one that dates more entries wins (after,
    on a tie). Each range dates one entry at most, and it must lie before the next entry (or
    after the previous one, reading backwards)."""
    order = sorted(range(len(entries)), key=lambda i: entries[i])

    def reading(after: bool) -> dict[int, DateRange]:
        chosen: dict[int, DateRange] = {}
        used: set[int] = set()
        for rank, i in enumerate(order):
            first, last = entries[i]
            bound_next = entries[order[rank + 1]][0] if rank + 1 < len(order) else None
            bound_prev = entries[order[rank - 1]][1] if rank > 0 else None
            best: tuple[int, int] | None = None
            for k, r in enumerate(ranges):
                if k in used:
                    continue
                if first <= r.first_line <= last:
                    distance = 0
                elif after and r.first_line > last and (bound_next is None or r.last_line < bound_next):
                    distance = r.first_line - last
                elif not after and r.last_line < first and (bound_prev is None or r.first_line > bound_prev):
                    distance = first - r.last_line
                else:
                    continue
                if distance <= ENTRY_DATES_MAX_LINES and (best is None or distance < best[0]):
                    best = (distance, k)
            if best is not None:
                used.add(best[1])
                chosen[i] = ranges[best[1]]
        return chosen

    forward, backward = reading(True), reading(False)
    chosen = forward if len(forward) >= len(backward) else backward
    return [chosen.get(i) for i in range(len(entries))]
