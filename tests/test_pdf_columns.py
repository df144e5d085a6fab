"""Two-column pages written row by row are read column by column; nothing else is touched."""

from __future__ import annotations

import io

from fpdf import FPDF
from pypdf import PdfReader

from vitae.pdf_text import ExtractionLimits, extract_text

LIMITS = ExtractionLimits(max_bytes=10_000_000, max_pages=10, max_seconds=30, max_chars=100_000)

SIDEBAR = [
    "jane@example.com",
    "+1 555 010 0199",
    "",
    "SKILLS",
    "Python",
    "Kubernetes",
    "PostgreSQL",
    "Terraform",
    "",
    "EDUCATION",
    "BSc Computer Science",
    "State University, 2014",
    "",
    "LANGUAGES",
    "English, Spanish",
]
MAIN = [
    "EXPERIENCE",
    "Senior Software Engineer",
    "Acme Analytics, 2019 - Present",
    "Built data pipelines serving forty teams",
    "and cut the cloud bill by a third.",
    "",
    "Software Engineer",
    "Globex Corporation, 2014 - 2019",
    "Maintained the billing platform and its",
    "PostgreSQL clusters through two migrations.",
]


def _pdf(rows: list[tuple[float, str]], *, header: str | None = None) -> bytes:
    """One page; ``rows`` are (x, text) written in this order, a new line when x goes back."""
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    y = 20.0
    if header:
        pdf.text(60, y, header)
        y += 10
    last_x = None
    for x, text in rows:
        if last_x is not None and x <= last_x:
            y += 6
        if text:
            pdf.text(x, y, text)
        last_x = x
    return bytes(pdf.output())


def _row_by_row(left: list[str], right: list[str]) -> list[tuple[float, str]]:
    rows: list[tuple[float, str]] = []
    for i in range(max(len(left), len(right))):
        rows.append((15, left[i] if i < len(left) else ""))
        rows.append((80, right[i] if i < len(right) else ""))
    return rows


def _plain(data: bytes) -> str:
    return PdfReader(io.BytesIO(data)).pages[0].extract_text(extraction_mode="plain")


def test_columns_written_row_by_row_are_read_column_by_column() -> None:
    data = _pdf(_row_by_row(SIDEBAR, MAIN), header="Jane Example - Data Engineer and Team Lead, Open to Relocation")
    # What plain extraction alone gives: the phone on the job title's line.
    assert "+1 555 010 0199 Senior Software Engineer" in _plain(data)
    lines = extract_text(data, LIMITS).text.split("\n")
    assert lines[0].startswith("Jane Example")  # the full-width header stays first
    assert "+1 555 010 0199" in lines
    assert "Senior Software Engineer" in lines
    assert "Python" in lines and "Kubernetes" in lines
    # The whole sidebar, then the whole main column, each in its own order.
    assert lines.index("State University, 2014") < lines.index("EXPERIENCE")
    assert [line for line in lines if line in MAIN and line] == [line for line in MAIN if line]
    assert [line for line in lines if line in SIDEBAR and line] == [line for line in SIDEBAR if line]


def test_one_column_with_right_aligned_dates_is_left_alone() -> None:
    rows: list[tuple[float, str]] = []
    for title, company, dates in [
        ("Senior Software Engineer", "Acme Analytics", "Jan 2019 - Present"),
        ("Software Engineer", "Globex Corporation", "Mar 2014 - Dec 2018"),
        ("Junior Developer", "Initech", "Jun 2012 - Feb 2014"),
    ]:
        rows += [(15, title), (150, dates), (15, company), (15, "Built internal tools."), (15, "Ran the on-call rota.")]
    data = _pdf(rows)
    assert extract_text(data, LIMITS).text == _plain(data).strip("\n")


def test_a_label_value_table_keeps_each_label_on_its_value_line() -> None:
    # Europass-like: dates and field names on the left, each beside its value's first line.
    rows = _row_by_row(
        ["WORK EXPERIENCE", "2019 - Present", "", "", "2014 - 2019", "", "", "EDUCATION", "2010 - 2014"],
        [
            "",
            "Senior Software Engineer, Acme Analytics",
            "Built data pipelines serving forty teams and",
            "cut the cloud bill by a third in two years.",
            "Software Engineer, Globex Corporation",
            "Maintained the billing platform and its",
            "PostgreSQL clusters through two migrations.",
            "",
            "BSc Computer Science, State University",
        ],
    )
    data = _pdf(rows)
    text = extract_text(data, LIMITS).text
    assert text == _plain(data).strip("\n")
    assert "2019 - Present Senior Software Engineer, Acme Analytics" in text


def test_columns_written_one_after_the_other_are_left_alone() -> None:
    rows = [(15, text) for text in SIDEBAR]
    data_rows = [(80, text) for text in MAIN]
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for column in (rows, data_rows):
        y = 20.0
        for x, text in column:
            if text:
                pdf.text(x, y, text)
            y += 6
    data = bytes(pdf.output())
    assert extract_text(data, LIMITS).text == _plain(data).strip("\n")
