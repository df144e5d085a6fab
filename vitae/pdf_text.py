"""PDF bytes -> normalised plain text, with stable error codes for every bad input.

``extract_text(data, limits)`` is the only entry point. It either returns an
:class:`ExtractedText` or raises :class:`ExtractionError` whose ``code`` is one of
:class:`ErrorCode`. Codes are part of the public contract: they are stored in the job
ledger and returned by the API, so never rename or reuse one.

Order of checks (cheapest first, each one short-circuits)::

    PDF_EMPTY (0 bytes) -> PDF_TOO_LARGE -> NOT_A_PDF (no "%PDF-" in the first 1024 bytes)
    -> PDF_MALFORMED (pypdf cannot parse) -> PDF_ENCRYPTED (a user password is needed)
    -> PDF_EMPTY (no pages) -> PDF_TOO_MANY_PAGES -> per page: EXTRACTION_TIMEOUT
    -> PDF_NO_TEXT / PDF_GARBLED_TEXT (quality of the text layer)

Decisions:

* Text longer than ``max_chars`` is **truncated**, not refused: ``truncated=True`` says so
  (extraction stops reading pages once the limit is reached).
* A PDF encrypted with only an owner password (empty user password) opens in every
  reader without a prompt, so it is extracted normally. One that needs a user password
  fails with ``PDF_ENCRYPTED``.
* pypdf runs in the calling thread, so a hard timeout is impossible here: ``max_seconds``
  is checked between pages, which bounds the damage of a slow document to one page. The
  hard backstop is the Temporal activity's ``start_to_close_timeout`` (run the activity
  in a thread or process pool executor so that a stuck page does not block the worker's
  event loop).
* Messages never contain document content or pypdf's own messages (which may quote
  bytes of the file): only the exception class name and counts.
* Plain extraction mode, not layout mode: layout mode lost two-column reading order. A page
  whose two columns are written row by row is read column by column (``vitae/pdf_columns.py``).
"""

from __future__ import annotations

import io
import logging
import re
import time
import unicodedata
import warnings
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import ftfy
from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadWarning

from vitae import pdf_content
from vitae.pdf_columns import PieceCollector, reading_order

if TYPE_CHECKING:
    from vitae.settings import Settings

__all__ = [
    "ERROR_DESCRIPTIONS",
    "ErrorCode",
    "ExtractedText",
    "ExtractionError",
    "ExtractionLimits",
    "TextQuality",
    "assess_quality",
    "extract_text",
]

# pypdf logs every structural oddity (wrong xref offsets, odd fonts...) as a warning on
# the "pypdf" logger hierarchy; real resumes trigger many. Silence them unless an
# operator configured that logger explicitly before this import.
_pypdf_logger = logging.getLogger("pypdf")
if _pypdf_logger.level == logging.NOTSET:
    _pypdf_logger.setLevel(logging.ERROR)
warnings.filterwarnings("ignore", category=PdfReadWarning)

# pypdf's content-stream tokenizer is over half of extraction time on real resumes; the fast
# path builds the identical operations (see vitae/pdf_content.py).
FAST_CONTENT_PARSER = pdf_content.install()


class ErrorCode(StrEnum):
    """Stable error codes (ledger + API). Add new ones; never rename or reuse."""

    NOT_A_PDF = "NOT_A_PDF"
    PDF_MALFORMED = "PDF_MALFORMED"
    PDF_ENCRYPTED = "PDF_ENCRYPTED"
    PDF_EMPTY = "PDF_EMPTY"
    PDF_NO_TEXT = "PDF_NO_TEXT"
    PDF_GARBLED_TEXT = "PDF_GARBLED_TEXT"
    PDF_TOO_LARGE = "PDF_TOO_LARGE"
    PDF_TOO_MANY_PAGES = "PDF_TOO_MANY_PAGES"
    EXTRACTION_TIMEOUT = "EXTRACTION_TIMEOUT"

    @property
    def retryable(self) -> bool:
        """Whether retrying the same bytes can succeed.

        Every code is a property of the input except the timeout, which also depends
        on the machine's load (so one retry, ideally on another worker, is reasonable).
        """
        return self is ErrorCode.EXTRACTION_TIMEOUT


ERROR_DESCRIPTIONS: dict[ErrorCode, str] = {
    ErrorCode.NOT_A_PDF: "The file is not a PDF (no %PDF- header in its first 1024 bytes).",
    ErrorCode.PDF_MALFORMED: "The PDF is corrupt or truncated and could not be parsed.",
    ErrorCode.PDF_ENCRYPTED: "The PDF needs a password to be opened.",
    ErrorCode.PDF_EMPTY: "The file is empty (zero bytes) or the PDF has no pages.",
    ErrorCode.PDF_NO_TEXT: "The PDF has no text layer (scanned or image-only); OCR is not supported.",
    ErrorCode.PDF_GARBLED_TEXT: "The PDF's text layer is unreadable (fonts without a Unicode mapping).",
    ErrorCode.PDF_TOO_LARGE: "The file exceeds the maximum upload size.",
    ErrorCode.PDF_TOO_MANY_PAGES: "The PDF has more pages than allowed.",
    ErrorCode.EXTRACTION_TIMEOUT: "Text extraction took longer than allowed.",
}


class ExtractionError(Exception):
    """Extraction failed for a reason named by ``code``; ``message`` holds no document content."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(code, message)  # keeps the exception picklable
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class ExtractedText:
    text: str
    page_count: int  # pages in the document (even if extraction stopped early on truncation)
    char_count: int  # == len(text)
    truncated: bool  # text was cut at ExtractionLimits.max_chars
    elapsed_ms: float


@dataclass(frozen=True)
class ExtractionLimits:
    max_bytes: int
    max_pages: int
    max_seconds: float
    max_chars: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ExtractionLimits:
        return cls(
            max_bytes=settings.max_upload_bytes,
            max_pages=settings.max_pdf_pages,
            max_seconds=settings.max_extract_seconds,
            max_chars=settings.max_text_chars,
        )


# --- text normalisation -------------------------------------------------------------

# Line breaks of every flavour -> "\n" (CR LF, CR, VT, FF, FS/GS/RS, NEL, LS, PS).
_LINE_BREAKS = re.compile("\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Unicode space separators (NBSP, en/em/thin spaces, ideographic space...) -> " ".
_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
# Removed outright: control characters other than \t and \n, lone surrogates (they
# cannot be encoded as UTF-8 and would break JSON downstream), zero-width characters,
# soft hyphens, BOMs, non-characters, private-use code points (icon fonts: phone and
# e-mail pictograms, Symbol-font bullets) and the replacement character (a glyph pypdf
# could not map).
_REMOVE = re.compile(
    "[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u00ad\u200b-\u200d\u2060\ufeff"
    "\ud800-\udfff\ue000-\uf8ff\ufffd\ufffe\uffff\U000f0000-\U0010ffff]"
)
_MULTI_SPACE = re.compile(" {2,}")
_EDGE_SPACES = re.compile("^ +|[ \t]+$", re.MULTILINE)
_MANY_NEWLINES = re.compile(r"\n{3,}")
# Some resume builders write UTF-8 text that went through Windows-1252 on the way: "â€“" for
# "–", "Â·" for "·", "Ã©" for "é", "Â" before a no-break space (45 of the 96 LiveCareer PDFs;
# 75 with the lost bytes below).
# A lead character of such a pair followed by a Windows-1252 rendering of a UTF-8 continuation
# byte is next to impossible in real text, so it gates ftfy (~3 ms on a 6,000-character resume;
# clean ones only pay for this search).
_CONTINUATION = (
    "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
    "\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)
_MOJIBAKE_PAIR = re.compile(f"[\u00c2-\u00f4][{_CONTINUATION}]")
# A three-byte character whose last byte is one of the five Windows-1252 leaves undefined comes
# out with a zero-width space for it ("ï¼" + ZWSP, a separator in 38 LiveCareer PDFs): which
# character it was cannot be known, so it goes. Except the "fi" ligature (EF AC 81), the one
# character of its block whose last byte is undefined there.
_MOJIBAKE_LOST_FI = "\u00ef\u00ac\u200b"
_MOJIBAKE_LOST_BYTE = re.compile(f"[\u00e0-\u00ef][{_CONTINUATION}]\u200b")
# What ftfy leaves of a doubly broken space, and what a page shows when the no-break space after
# "Â" came out as a plain space: a lone "Â" before white space (never a word in any language:
# "Â" only starts words).
_MOJIBAKE_LEFTOVER = re.compile(r"\u00c2(?=[\s\u200b]|$)")


def _fix_mojibake(raw: str) -> str:
    if _MOJIBAKE_PAIR.search(raw):
        raw = _MOJIBAKE_LOST_BYTE.sub("", raw.replace(_MOJIBAKE_LOST_FI, "fi"))
        raw = ftfy.fix_encoding(raw)
    # Also on its own: a page whose only trace is "Â" before a plain space has no pair.
    return _MOJIBAKE_LEFTOVER.sub("", raw)


# Typographic ligatures (TeX and many fonts map their glyphs to these code points): "ﬁnance" is
# "finance" to a reader, and must be to the model and to search.
_LIGATURES = str.maketrans({chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0xFB00, 0xFB07)})


def _normalise(raw: str) -> str:
    text = unicodedata.normalize("NFC", _fix_mojibake(raw)).translate(_LIGATURES)
    text = _LINE_BREAKS.sub("\n", text)
    text = _REMOVE.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _MULTI_SPACE.sub(" ", text)
    text = _EDGE_SPACES.sub("", text)
    text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip("\n")


# --- text-layer quality -------------------------------------------------------------

# Fewer letters than this in the whole document: there is no usable text layer (a scan
# whose only text is "Page 1 of 2" counts as no text).
MIN_LETTERS = 30
# Junk markers in pypdf output: unmappable glyphs, private-use code points, C0/C1
# control characters (raw glyph ids of a font without a ToUnicode map), pdfminer-style
# "(cid:12)" and unresolved glyph names ("/g14", "/uni0041", "/glyph7").
_JUNK_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff]")
_JUNK_TOKENS = re.compile(r"\(cid:\d+\)|/(?:g|glyph|cid|uni[0-9A-Fa-f]{0,2})\d+|/uni[0-9A-Fa-f]{4}")
_LETTER_PAIR = re.compile(r"[^\W\d_]{2}")
_ASCII_LETTERS = re.compile("[A-Za-z]")
_ASCII_VOWELS = re.compile("[AEIOUYaeiouy]")

MAX_JUNK_RATIO = 0.10  # junk chars / non-space chars of the raw text
MIN_LETTER_RATIO = 0.45  # letters / non-space chars
MIN_WORDLIKE_RATIO = 0.35  # chars in word-like tokens / non-space chars
# Latin-script text has 30-45 % vowels in every European language; text from a font
# whose glyph ids were taken for character codes (the classic "+HOOR" for "Hello")
# has ~15 %. Only judged with enough ASCII letters to be meaningful.
MIN_VOWEL_RATIO = 0.22
MIN_LETTERS_FOR_VOWELS = 200


@dataclass(frozen=True)
class TextQuality:
    """Statistics behind the PDF_NO_TEXT / PDF_GARBLED_TEXT decision (no content)."""

    letters: int
    junk_ratio: float
    letter_ratio: float
    wordlike_ratio: float
    vowel_ratio: float | None  # None: too few ASCII letters to judge

    @property
    def verdict(self) -> ErrorCode | None:
        if self.letters < MIN_LETTERS:
            return ErrorCode.PDF_NO_TEXT
        if (
            self.junk_ratio > MAX_JUNK_RATIO
            or self.letter_ratio < MIN_LETTER_RATIO
            or self.wordlike_ratio < MIN_WORDLIKE_RATIO
            or (self.vowel_ratio is not None and self.vowel_ratio < MIN_VOWEL_RATIO)
        ):
            return ErrorCode.PDF_GARBLED_TEXT
        return None


def assess_quality(raw: str, clean: str) -> TextQuality:
    """Measure how text-like ``clean`` is; ``raw`` is the same text before normalisation.

    A token (run of non-space characters) is word-like when at least half of it is
    letters and it has two letters in a row: "Python", "C++,", "résumé", "Java/J2EE",
    URLs and e-mail addresses are; "2019-2021", "$%&'(" and "K#B<?V3" are not.
    """
    raw_nonspace = len(raw) - sum(raw.count(c) for c in " \n\t\r")
    junk = sum(len(m) for m in _JUNK_CHARS.findall(raw))
    junk += sum(len(m) for m in _JUNK_TOKENS.findall(raw))
    nonspace = letters = wordlike = 0
    for token in clean.split():
        size = len(token)
        token_letters = sum(map(str.isalpha, token))
        nonspace += size
        letters += token_letters
        if 2 * token_letters >= size and _LETTER_PAIR.search(token):
            wordlike += size
    ascii_letters = len(_ASCII_LETTERS.findall(clean))
    vowels = len(_ASCII_VOWELS.findall(clean))
    return TextQuality(
        letters=letters,
        junk_ratio=junk / raw_nonspace if raw_nonspace else 0.0,
        letter_ratio=letters / nonspace if nonspace else 0.0,
        wordlike_ratio=wordlike / nonspace if nonspace else 0.0,
        vowel_ratio=vowels / ascii_letters if ascii_letters >= MIN_LETTERS_FOR_VOWELS else None,
    )


# --- extraction ---------------------------------------------------------------------

_MAGIC = b"%PDF-"
_MAGIC_WINDOW = 1024


def _percent(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.0%}"


def _fail(code: ErrorCode, message: str) -> ExtractionError:
    return ExtractionError(code, message)


def extract_text(data: bytes, limits: ExtractionLimits) -> ExtractedText:
    """Extract normalised text from PDF bytes, or raise :class:`ExtractionError`.

    Normalisation: NFC; every line break becomes ``\\n``; control characters (except
    ``\\n`` and ``\\t``), zero-width and private-use characters are removed; Unicode
    spaces become " " and runs of spaces collapse to one; spaces are stripped from both
    ends of each line (tabs only from the end); at most one blank line in a row. Pages are
    joined with a blank line; blank pages are dropped.
    """
    started = time.perf_counter()
    size = len(data)
    if size == 0:
        raise _fail(ErrorCode.PDF_EMPTY, "the file is empty (0 bytes)")
    if size > limits.max_bytes:
        raise _fail(ErrorCode.PDF_TOO_LARGE, f"the file has {size} bytes; the limit is {limits.max_bytes}")
    if _MAGIC not in data[:_MAGIC_WINDOW]:
        raise _fail(ErrorCode.NOT_A_PDF, f"no {_MAGIC.decode()} header in the first {_MAGIC_WINDOW} bytes")

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            # decrypt("") returns PasswordType.NOT_DECRYPTED (0) when the empty string is
            # neither the user nor the owner password.
            raise _fail(ErrorCode.PDF_ENCRYPTED, "the PDF needs a password to be opened")
        page_count = len(reader.pages)
    except ExtractionError:
        raise
    except FileNotDecryptedError:
        raise _fail(ErrorCode.PDF_ENCRYPTED, "the PDF needs a password to be opened") from None
    except (NotImplementedError, DependencyError) as exc:
        # pypdf raises these for encryption handlers/algorithms it does not support
        # (public-key security, unknown crypt filters); elsewhere for odd features.
        if b"/Encrypt" in data:
            raise _fail(ErrorCode.PDF_ENCRYPTED, "the PDF uses an unsupported encryption scheme") from None
        raise _fail(ErrorCode.PDF_MALFORMED, f"unsupported PDF feature ({type(exc).__name__})") from None
    except Exception as exc:
        raise _fail(ErrorCode.PDF_MALFORMED, f"the PDF could not be parsed ({type(exc).__name__})") from None

    if page_count == 0:
        raise _fail(ErrorCode.PDF_EMPTY, "the PDF has no pages")
    if page_count > limits.max_pages:
        raise _fail(ErrorCode.PDF_TOO_MANY_PAGES, f"the PDF has {page_count} pages; the limit is {limits.max_pages}")

    raw_pages: list[str] = []
    clean_pages: list[str] = []
    total_chars = 0
    for index in range(page_count):
        pieces = PieceCollector()
        try:
            page = reader.pages[index]
            raw = page.extract_text(extraction_mode="plain", visitor_text=pieces)
            width = float(page.mediabox.width)
        except Exception as exc:
            raise _fail(
                ErrorCode.PDF_MALFORMED,
                f"page {index + 1} of {page_count} could not be read ({type(exc).__name__})",
            ) from None
        raw = reading_order(pieces, width) or raw
        clean = _normalise(raw)
        raw_pages.append(raw)
        if clean:
            total_chars += len(clean) + (2 if clean_pages else 0)  # == len("\n\n".join(...))
            clean_pages.append(clean)
        if total_chars > limits.max_chars:
            break  # already truncated: the remaining pages would be cut away
        elapsed = time.perf_counter() - started
        if index + 1 < page_count and elapsed > limits.max_seconds:
            raise _fail(
                ErrorCode.EXTRACTION_TIMEOUT,
                f"stopped after {index + 1} of {page_count} pages and {elapsed:.1f} s;"
                f" the limit is {limits.max_seconds:g} s",
            )

    text = "\n\n".join(clean_pages)
    truncated = len(text) > limits.max_chars
    if truncated:
        text = text[: limits.max_chars].rstrip()

    quality = assess_quality("\n\n".join(raw_pages), text)
    verdict = quality.verdict
    if verdict is ErrorCode.PDF_NO_TEXT:
        raise _fail(
            verdict,
            f"no text layer (letters: {quality.letters}, pages: {page_count}); the PDF is probably scanned",
        )
    if verdict is ErrorCode.PDF_GARBLED_TEXT:
        raise _fail(
            verdict,
            "the text layer is unreadable"
            f" (junk {quality.junk_ratio:.0%}, letters {quality.letter_ratio:.0%},"
            f" word-like {quality.wordlike_ratio:.0%}, vowels {_percent(quality.vowel_ratio)})",
        )

    return ExtractedText(
        text=text,
        page_count=page_count,
        char_count=len(text),
        truncated=truncated,
        elapsed_ms=(time.perf_counter() - started) * 1000.0,
    )
