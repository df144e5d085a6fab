"""Reading order for two-column pages whose text is written row by row.

pypdf's plain extraction follows the content stream and starts a new line when the baseline
moves. That is right for a page written column by column (most resume builders), but a page
written line by line across both columns (some PDF printers sort text that way) comes out with
each row's left and right cells on one line: "+1 555 010 0199 Senior Software Engineer" puts the phone into the
job title's line. Here the page's text is rebuilt from the pieces pypdf itself emitted (their
concatenation is exactly its output), each with its position: where a run of lines has a
gutter, an x position that no piece crosses, and both sides hold text, the left column's lines
come first, then the right column's.

Conservative on purpose, because a false split scrambles a page that was fine: a run counts
only with at least three lines holding both columns, a left column that goes on alone for three
lines in a row, and a right column that holds prose (five words or more) on two lines, one of
them with the left side empty. A one-column page with right-aligned dates has no such lines, and
a label-value table (Europass) no such left run, so neither is ever split.
Widths are estimated from the font size (pypdf hands out no glyph widths here), generously, so
long lines count as crossing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# Estimated advance per character, in ems: above the average of text fonts (~0.5), so a long
# line is taken to reach further right than it does and blocks the gutter.
_CHAR_WIDTH_EM = 0.6
# The gutter lies in the middle half of the page.
_GUTTER_RANGE = (0.25, 0.75)
_MAX_CANDIDATES = 8
_MIN_SPLIT_LINES = 3
# The left column going on alone for this many lines in a row (blank lines aside): a sidebar
# longer than the row it shares. A label-value table (Europass: dates or field names on the
# left, each beside the first line of its value) has single left-only lines at most, its
# headings, and must keep each label on its value's line.
_MIN_LEFT_ONLY_RUN = 3
# Prose: a right side of this many words or more (a right-aligned date has at most four:
# "Jan 2019 - Present"). Lines whose right side is prose, and of those, lines with the right
# side alone (the right column going on where the left one has nothing on that row).
_PROSE_WORDS = 5
_MIN_RIGHT_PROSE_LINES = 2
_MIN_RIGHT_PROSE_ALONE_LINES = 1


@dataclass(slots=True)
class _Piece:
    text: str
    x: float | None  # None: pypdf's own line break or spacing, which has no position
    end: float


@dataclass
class PieceCollector:
    """``visitor_text`` for ``PageObject.extract_text``: every piece pypdf emits, in order."""

    pieces: list[_Piece] = field(default_factory=list)

    def __call__(self, text: str, cm: Sequence[float], tm: Sequence[float], font: Any, size: float) -> None:
        if not text:
            return
        if not text.strip():
            self.pieces.append(_Piece(text, None, 0.0))
            return
        # Device coordinates of the text origin: the text matrix within the current matrix.
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        scale = abs(tm[0] * cm[0]) or 1.0
        width = len(text.strip()) * size * scale * _CHAR_WIDTH_EM
        self.pieces.append(_Piece(text, x, x + width))


def _lines(pieces: list[_Piece]) -> list[list[_Piece]]:
    lines: list[list[_Piece]] = [[]]
    for piece in pieces:
        parts = piece.text.split("\n")
        for i, part in enumerate(parts):
            if i:
                lines.append([])
            if part:
                lines[-1].append(_Piece(part, piece.x, piece.end))
    return lines


@dataclass
class _Block:
    start: int
    stop: int
    split: int = 0
    left_only_run: int = 0
    longest_left_only_run: int = 0
    right_prose: int = 0
    right_prose_alone: int = 0

    def qualifies(self) -> bool:
        return (
            self.split >= _MIN_SPLIT_LINES
            and self.longest_left_only_run >= _MIN_LEFT_ONLY_RUN
            and self.right_prose >= _MIN_RIGHT_PROSE_LINES
            and self.right_prose_alone >= _MIN_RIGHT_PROSE_ALONE_LINES
        )


def _sides(line: list[_Piece], gutter: float) -> tuple[str, str, bool]:
    """(left text, right text, whether a piece crosses the gutter)."""
    left: list[str] = []
    right: list[str] = []
    side = left
    for piece in line:
        if piece.x is not None:
            if piece.x < gutter < piece.end:
                return "", "", True
            side = left if piece.x < gutter else right
        side.append(piece.text)
    return "".join(left).strip(), "".join(right).strip(), False


def _blocks(lines: list[list[_Piece]], gutter: float) -> list[_Block]:
    found: list[_Block] = []
    block: _Block | None = None
    for i, line in enumerate(lines):
        left, right, crosses = _sides(line, gutter)
        if crosses:
            if block is not None and block.qualifies():
                found.append(block)
            block = None
            continue
        if block is None:
            block = _Block(start=i, stop=i)
        block.stop = i + 1
        prose = len(right.split()) >= _PROSE_WORDS
        block.right_prose += prose
        if left and not right:
            block.left_only_run += 1
            block.longest_left_only_run = max(block.longest_left_only_run, block.left_only_run)
        elif right:
            block.left_only_run = 0
        if left and right:
            block.split += 1
        elif prose and not left:
            block.right_prose_alone += 1
    if block is not None and block.qualifies():
        found.append(block)
    return found


def reading_order(collector: PieceCollector, page_width: float) -> str | None:
    """The page's text with row-interleaved column runs read column by column, or ``None``
    when it has none (pypdf's own output is then right)."""
    lines = _lines(collector.pieces)
    low, high = (page_width * bound for bound in _GUTTER_RANGE)
    # Gutter candidates: where a piece starts clear of the one before it on its line. A right
    # column's edge recurs on many lines, so only the most frequent few are tried: a page set
    # glyph by glyph has thousands of distinct positions.
    starts: Counter[int] = Counter()
    for line in lines:
        previous_end: float | None = None
        for piece in line:
            if piece.x is None:
                continue
            if previous_end is not None and piece.x > previous_end and low <= piece.x <= high:
                starts[round(piece.x)] += 1
            previous_end = piece.end
    candidates = [x for x, count in starts.most_common(_MAX_CANDIDATES) if count >= _MIN_SPLIT_LINES]
    best: list[_Block] = []
    best_split = 0
    best_gutter = 0.0
    for gutter in candidates:
        # Just left of the piece that starts the right column.
        blocks = _blocks(lines, gutter - 0.5)
        split = sum(b.split for b in blocks)
        if split > best_split:
            best, best_split, best_gutter = blocks, split, gutter - 0.5
    if not best:
        return None
    out: list[str] = []
    at = 0
    for block in best:
        out.extend("".join(p.text for p in line) for line in lines[at : block.start])
        sides = [_sides(line, best_gutter) for line in lines[block.start : block.stop]]
        # A row empty on both sides is a paragraph break in both columns.
        out.extend(left for left, right, _ in sides if left or not right)
        out.append("")
        out.extend(right for left, right, _ in sides if right or not left)
        at = block.stop
    out.extend("".join(p.text for p in line) for line in lines[at:])
    return "\n".join(out)
