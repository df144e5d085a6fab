"""The fast content-stream path yields exactly pypdf's operations, or steps aside."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream

from tests.conftest import SHARED_DATA
from vitae import pdf_content, pdf_text

LIVECAREER = sorted((SHARED_DATA / "livecareer-pdfs").rglob("*.pdf"))


def _stock_parser() -> Callable[[ContentStream, Any], None]:
    parse = ContentStream._parse_content_stream
    return getattr(parse, "__wrapped__", parse)


def _stock_operations(data: bytes) -> list[tuple[Any, bytes]]:
    stream = ContentStream(None, None)
    _stock_parser()(stream, io.BytesIO(data))
    return stream._operations


def _shape(operations: list[tuple[Any, bytes]]) -> list[tuple[list[tuple[str, str]], bytes]]:
    """Operations with each operand's exact type and repr (nested arrays included)."""

    def one(value: Any) -> tuple[str, str]:
        if isinstance(value, list):
            return type(value).__name__, repr([one(v) for v in value])
        return type(value).__name__, repr(value)

    return [([one(v) for v in operands], operator) for operands, operator in operations]


def test_installed_for_the_pinned_pypdf() -> None:
    assert pdf_text.FAST_CONTENT_PARSER, "pypdf was upgraded: re-verify vitae/pdf_content.py, then add the version"
    assert getattr(ContentStream._parse_content_stream, "_vitae_fast_path", False)


@pytest.mark.skipif(not LIVECAREER, reason="../shared/data/livecareer-pdfs not present")
@pytest.mark.parametrize("path", LIVECAREER[::8], ids=lambda p: p.parent.name + "/" + p.stem)
def test_identical_operations_on_real_resumes(path: Path) -> None:
    for page in PdfReader(path).pages:
        contents = page.get_contents()
        assert contents is not None
        data = contents.get_data()
        fast = pdf_content.parse_operations(data)
        assert fast is not None, "real resume streams should take the fast path"
        assert _shape(fast) == _shape(_stock_operations(data))


@pytest.mark.parametrize(
    "data",
    [
        b"BT /F1 12 Tf 72 712 Td <48656c6c6f> Tj ET",
        b"[<41> -250 <42>] TJ [] 0 d 1,5 w -.5 .25 +3 Td",
        b"<414> Tj <> Tj /A-b_c.d Do 0.5 g q Q\r\n' \" T*",
        b"[[1 2] [3 [4]]] 0 d",
        b"  \n\t1 2 3 re f  trailing operands 7 8",
        b"12345678901234567890123 Tw",  # too long for pypdf's number peek: stock path
        b"% a comment\n1 g",
        b"(literal \\) string) Tj",
        b"<< /MCID 0 >> BDC EMC",
        b"/Name#20WithEscape gs",
        b"[true false null] 0 d",
        b"1 0 R",
        b"1 g\x00 2 G",
        b"1 g\x0c 2 G",
        b"BI /W 1 /H 1 /BPC 8 /CS /G ID \x00 EI Q",
        b"/\xc3\xa9 gs",
        b"1 g ]",
        b"[1 2",
        b"{ 1 } g",
        b"abc#def 1",
        b"<4G> Tj",
        b"a" * 150 + b" 1",
    ],
)
def test_fast_path_equals_pypdf_or_steps_aside(data: bytes) -> None:
    fast = pdf_content.parse_operations(data)
    if fast is None:
        return
    assert _shape(fast) == _shape(_stock_operations(data))


@pytest.mark.parametrize(
    "data",
    [
        b"% a comment\n1 g",
        b"(literal) Tj",
        b"<< /MCID 0 >> BDC EMC",
        b"/Name#20WithEscape gs",
        b"[true] 0 d",
        b"1 0 R",
        b"BI /W 1 /H 1 ID \x00 EI",
        b"1 g ]",
        b"[1 2",
        b"<4G> Tj",
    ],
)
def test_steps_aside_for_what_it_does_not_read(data: bytes) -> None:
    assert pdf_content.parse_operations(data) is None


def test_extracted_text_unchanged() -> None:
    """Whole-document text through the patched pypdf equals stock pypdf's, page by page."""
    if not LIVECAREER:
        pytest.skip("../shared/data/livecareer-pdfs not present")
    stock = _stock_parser()
    for path in LIVECAREER[:6]:
        data = path.read_bytes()
        fast_pages = [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]
        patched = ContentStream._parse_content_stream
        ContentStream._parse_content_stream = stock  # type: ignore[method-assign,assignment]
        try:
            stock_pages = [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]
        finally:
            ContentStream._parse_content_stream = patched  # type: ignore[method-assign]
        assert fast_pages == stock_pages
