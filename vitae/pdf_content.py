"""A fast path for pypdf's content-stream tokenizer, producing exactly pypdf's operations.

Why: on real resumes (wkhtmltopdf output: thousands of positioned hex-string runs per page)
pypdf spends over half of ``extract_text`` in ``ContentStream._parse_content_stream``, which
reads the stream a byte or a 16-byte chunk at a time. This module tokenizes the whole stream
with one compiled regular expression and builds the very same pypdf objects
(``NumberObject``, ``FloatObject``, ``NameObject``, hex strings through pypdf's own
``create_string_object``, ``ArrayObject``) in the very same ``(operands, operator)`` list,
so text extraction downstream is byte-for-byte unchanged.

It only handles the token kinds such streams are made of: numbers, plain names, hex
strings, arrays and operators, separated by PDF whitespace. Anything else (comments,
literal strings, dictionaries, inline images, ``#`` escapes in names, things that look like
indirect references, odd whitespace, over-long tokens) makes it give up on the stream and
pypdf's stock parser runs instead: this is an optimisation, never a second PDF parser with
its own opinions. ``tests/test_pdf_content.py`` pins the equivalence on real PDFs and on
crafted edge cases.

The patch is installed only for the pypdf versions it was checked against
(:data:`VERIFIED_PYPDF_VERSIONS`); on any other version pypdf runs unpatched.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any

import pypdf
from pypdf._configuration import get_configuration
from pypdf.generic import ArrayObject, ContentStream, FloatObject, NameObject, NumberObject
from pypdf.generic._utils import create_string_object

log = logging.getLogger(__name__)

VERIFIED_PYPDF_VERSIONS = frozenset({"7.1.0"})

# One token per match; whitespace is pypdf's set minus NUL and form feed (rare in practice,
# and pypdf's regex-based and byte-based readers disagree on them: leave those to pypdf).
_TOKEN = re.compile(
    rb"""
    [\t\n\r\x20]*
    (?:
        ([0-9+\-.][0-9+,\-.]{0,18})(?![0-9+,\-.])   # number: pypdf reads a run of [+,-.0-9]
      | (/[!"$&'*+,\-.0-9:;=?@A-Z\\^_`a-z|~]{0,4000})   # no delimiters, no '#'
      | <([0-9A-Fa-f]*)>              # hex string
      | ([A-Za-z'"][!"$&'*+,\-.0-9:;=?@A-Z\\^_`a-z|~]{0,100})
      | (\[)
      | (\])
    )
    """,
    re.VERBOSE,
)
# What a ``[name]`` / ``op`` run may be followed by: a delimiter, whitespace or the end.
# A run stopping at any other byte (e.g. '#', NUL, a non-ASCII byte) means pypdf would read
# a longer token than the regex did.
_BOUNDARY = frozenset(b"\t\n\r ()<>[]{}/%")
# pypdf would read "12 0 R" as an indirect reference (and fail without a document).
_INDIRECT = re.compile(rb"\d\s+\d+\s+R(?![A-Za-z])")
# Group numbers of _TOKEN, in order.
_NUM, _NAME, _HEX, _OP, _OPEN, _CLOSE = range(1, 7)
_TRAILING_WS = re.compile(rb"[\t\n\r\x20]*")


class _Unsupported(Exception):
    """The stream holds something only pypdf's stock parser should read."""


def parse_operations(data: bytes, forced_encoding: Any = None) -> list[tuple[Any, bytes]] | None:
    """pypdf's ``ContentStream.operations`` for ``data``, or None when the fast path gives up."""
    if _INDIRECT.search(data):
        return None
    try:
        return _parse(data, forced_encoding)
    except _Unsupported:
        return None


def _parse(data: bytes, forced_encoding: Any) -> list[tuple[Any, bytes]]:
    budget = get_configuration().stream_parsing_work_maximum_count
    max_array = get_configuration().array_maximum_element_count
    operations: list[tuple[Any, bytes]] = []
    operands: list[Any] = []
    # Nested arrays under construction; operands go to the innermost one.
    arrays: list[ArrayObject] = []
    # pypdf's number, name and string objects are immutable (int/float/str/bytes subclasses)
    # and streams repeat them endlessly (coordinates, font names, glyph runs): build each once.
    numbers: dict[bytes, Any] = {}
    names: dict[bytes, Any] = {}
    strings: dict[bytes, Any] = {}
    value: Any
    match = _TOKEN.match
    size = len(data)
    pos = 0
    tokens = 0
    while True:
        m = match(data, pos)
        if m is None:
            tail = _TRAILING_WS.match(data, pos)
            if tail is not None and tail.end() == size:
                break
            raise _Unsupported
        pos = m.end()
        tokens += 1
        if tokens > budget:
            raise _Unsupported  # pypdf raises LimitReachedError here: let it say so
        kind = m.lastindex or 0
        text = m.group(kind)
        if kind == _NUM:
            value = numbers.get(text)
            if value is None:
                value = numbers[text] = FloatObject(text) if b"." in text else NumberObject(text)
        elif kind == _HEX:
            value = strings.get(text)
            if value is None:
                digits = text + b"0" if len(text) % 2 else text
                value = strings[text] = create_string_object(bytes.fromhex(digits.decode("ascii")), forced_encoding)
        elif kind == _OP:
            if arrays or (pos < size and data[pos] not in _BOUNDARY):
                raise _Unsupported  # pypdf reads t/f/n as objects inside arrays; leave it
            if text == b"BI":
                raise _Unsupported  # inline images have their own grammar
            operations.append((operands, text))
            operands = []
            continue
        elif kind == _NAME:
            if pos < size and data[pos] not in _BOUNDARY:
                raise _Unsupported
            value = names.get(text)
            if value is None:
                value = names[text] = NameObject(text.decode("ascii"))
        elif kind == _OPEN:
            arrays.append(ArrayObject())
            continue
        else:  # _CLOSE
            if not arrays:
                raise _Unsupported
            value = arrays.pop()
        if arrays:
            if len(arrays[-1]) >= max_array:
                raise _Unsupported
            arrays[-1].append(value)
        else:
            operands.append(value)
    if arrays:
        raise _Unsupported
    # Trailing operands without an operator are dropped, as pypdf does.
    return operations


def install() -> bool:
    """Route pypdf's content-stream parsing through the fast path (idempotent).

    Returns whether the fast path is active: False on a pypdf version it was not checked
    against, where pypdf stays untouched.
    """
    original: Callable[[ContentStream, Any], None] = ContentStream._parse_content_stream
    if getattr(original, "_vitae_fast_path", False):
        return True
    if pypdf.__version__ not in VERIFIED_PYPDF_VERSIONS:
        log.info("pypdf %s not verified for the fast content-stream path; using pypdf as is", pypdf.__version__)
        return False

    @functools.wraps(original)
    def parse_content_stream(self: ContentStream, stream: Any) -> None:
        getvalue = getattr(stream, "getvalue", None)
        operations = parse_operations(getvalue(), self.forced_encoding) if getvalue is not None else None
        if operations is None:
            original(self, stream)
        else:
            self._operations.extend(operations)

    parse_content_stream._vitae_fast_path = True  # type: ignore[attr-defined]
    ContentStream._parse_content_stream = parse_content_stream  # type: ignore[method-assign]
    return True
