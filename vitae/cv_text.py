"""Rich CV content (Quill Delta JSON or HTML) → normalised plain text. Pure: no I/O.

The plain text is made once, at ingestion, and stored next to the rich original; enrichers
read only the stored text, so a change to these rules never silently changes the input of
a run that was already requested. Lists keep a marker ("- " or "1. ") because enrichers
read bullet structure; formatting (bold, colours, links) and embeds (images, videos) are
dropped.
"""

from __future__ import annotations

import json
import re
import unicodedata
from html.parser import HTMLParser
from typing import Any, Literal

CvFormat = Literal["delta", "html"]

__all__ = ["CvFormat", "CvTextError", "delta_to_text", "html_to_text", "normalise_text", "to_plain_text"]


class CvTextError(ValueError):
    """The rich content is not a valid document of its declared format."""


# Zero-width characters and the BOM carry no text; NBSP and friends are just spaces.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_RUN = re.compile(r"\n{3,}")


def normalise_text(text: str) -> str:
    """NFKC (NBSP → space, ligatures split), one kind of newline, single spaces, no trailing
    spaces, at most one blank line."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


# --- Quill Delta ------------------------------------------------------------------------


def delta_to_text(delta: Any) -> str:
    """Plain text of a Quill Delta document (``{"ops": [...]}`` or the bare ops list).

    In a Delta, block formats (lists, headers) sit on the newline that ends the line, so
    text is gathered per line and the line's marker is decided when its newline arrives.
    """
    ops = delta.get("ops") if isinstance(delta, dict) else delta
    if not isinstance(ops, list):
        raise CvTextError("a Quill Delta needs an 'ops' list")
    lines: list[str] = []
    current: list[str] = []
    ordinal = 0  # position in the current ordered list; 0 when not in one
    for op in ops:
        if not isinstance(op, dict) or "insert" not in op:
            # Only documents (insert-only deltas) are CVs; retain/delete belong to change sets.
            raise CvTextError("a CV delta may contain only insert operations")
        insert = op["insert"]
        if not isinstance(insert, str):
            continue  # an embed (image, video, formula): no text
        attributes = op.get("attributes", {})
        if attributes is None:
            attributes = {}
        if not isinstance(attributes, dict):
            raise CvTextError("delta attributes must be an object")
        pieces = insert.split("\n")
        for index, piece in enumerate(pieces):
            current.append(piece)
            if index == len(pieces) - 1:
                break
            # A newline: close the line with this op's block attributes.
            line = "".join(current)
            current = []
            kind = attributes.get("list")
            if kind == "ordered":
                ordinal += 1
                line = f"{ordinal}. {line}"
            else:
                ordinal = 0
                if kind in ("bullet", "checked", "unchecked"):
                    line = f"- {line}"
            lines.append(line)
    if current:
        lines.append("".join(current))
    return normalise_text("\n".join(lines))


# --- HTML -------------------------------------------------------------------------------

# Elements whose content is never visible text.
_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript", "svg", "math", "iframe", "object"})
# Elements that start and end a line.
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset", "figcaption",
        "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
        "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
# Void elements never get an end tag, so they must not open a skipped region.
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0
        # One entry per open list: None for <ul>, the next number for <ol>.
        self._lists: list[int | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED and tag not in _VOID:
            self._skip_depth += 1
            return
        if self._skip_depth:
            return
        if tag == "br":
            self.out.append("\n")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag in _BLOCKS:
            self.out.append("\n")
            if tag == "pre":
                self._pre_depth += 1
            elif tag == "ul":
                self._lists.append(None)
            elif tag == "ol":
                self._lists.append(1)
            elif tag == "li":
                self.out.append(self._marker())

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # ``<br/>``: same as ``<br>``; self-closing skipped tags (``<svg/>``) hide nothing.
        if tag not in _SKIPPED:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED and tag not in _VOID:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if self._skip_depth:
            return
        # An item's line ends where the next item (or its list) begins: no blank line between items.
        if tag in _BLOCKS and tag != "li":
            self.out.append("\n")
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)
            elif tag in ("ul", "ol") and self._lists:
                self._lists.pop()

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        # Outside <pre>, source newlines are layout, not text (HTML collapses whitespace).
        self.out.append(data if self._pre_depth else re.sub(r"\s+", " ", data))

    def _marker(self) -> str:
        if not self._lists or self._lists[-1] is None:
            return "- "
        number = self._lists[-1]
        self._lists[-1] = number + 1
        return f"{number}. "


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return normalise_text("".join(parser.out))


def to_plain_text(fmt: CvFormat, content: str | dict[str, Any] | list[Any]) -> str:
    """Dispatch on the declared format; a Delta may arrive as JSON text or already parsed."""
    if fmt == "delta":
        if isinstance(content, str):
            try:
                content = json.loads(content)
            except json.JSONDecodeError as err:
                raise CvTextError("the Quill Delta is not valid JSON") from err
        return delta_to_text(content)
    if not isinstance(content, str):
        raise CvTextError("HTML content must be a string")
    return html_to_text(content)
