"""Resume-builder entry layout: experience and education entries laid out one field per line.

Resume builders (LiveCareer-style templates) lay an experience entry out as short lines, one
field per line, with the location split around a lone comma:

    07/2015 / to / Current / HR Specialist / Acme Corp / - / Austin / , / TX / <bullet sentences>

The tagger, trained on DataTurks (title and company on one "Title - Company - City" line),
finds almost none of these. The location is the anchor: the short name line right before it is
the company (school in the education section); the title is the short line between the dates
and the company or, depending on the template, the line just above the dates or the line just
after the location. Entries are recognised only with that anchor, so DataTurks-style
"Company - City, State" lines (location on the company's own line) are left to the tagger.
"""

from __future__ import annotations

import re

from .date_ranges import MONTH_PATTERN
from .features import header_section
from .lexicon import COLLEGE_WORDS, COMPANY_WORDS, DEGREE_WORDS, OCCUPATION_WORDS
from .rules import GRAD_YEAR_RE, Match
from .text import line_starts

_DATE = rf"(?:{MONTH_PATTERN},?\s*(?:19|20)\d{{2}}|\d{{1,2}}\s*/\s*(?:19|20)?\d{{2}}|(?:19|20)\d{{2}})"
_DATE_END = r"(?:current|present|now|today|till\s+date|to\s+date|date)"
_DATE_CONN = r"(?:to|till|until|-|–|—)"
# A line made only of date pieces: "July 2015", "to", "Current", "07/2015 - 06/2016".
_DATE_PIECE_RE = re.compile(
    rf"^(?:{_DATE}|{_DATE_CONN}|{_DATE_END})(?:\s*{_DATE_CONN}\s*(?:{_DATE}|{_DATE_END}))?$", re.IGNORECASE
)
DATE_RE = re.compile(_DATE, re.IGNORECASE)
_PUNCT_LINE_RE = re.compile(r"^[^\w]*$")
_BULLET_START = "•●▪■◦·*-–—>"
# Title and company lines are short: longer lines are sentences (DataTurks title lines: 1-8 words).
ENTRY_FIELD_MAX_WORDS = 8
ENTRY_FIELD_MAX_CHARS = 70
_EXPERIENCE_WORDS = frozenset({"experience", "history", "employment"})
# Last words of other template headers ("Executive Profile", "Career Highlights"): not fields.
_HEADER_TAIL_WORDS = frozenset(
    {"profile", "summary", "highlights", "qualifications", "skills", "overview", "focus", "objective"}
)


def _is_separator(line: str) -> bool:
    """A line of punctuation only, or a short glyph run with no ASCII letter or digit: separators
    and icons between fields, often mis-decoded by PDF extraction ("â€“" for an en dash)."""
    return bool(_PUNCT_LINE_RE.match(line)) or (
        len(line) <= 3 and not any(ch.isascii() and ch.isalnum() for ch in line)
    )


def _is_date_piece(line: str) -> bool:
    return bool(_DATE_PIECE_RE.match(line))


def _is_field_line(line: str) -> bool:
    """A short name-like line: could be a title, a company, a school or a degree."""
    if not line or len(line) > ENTRY_FIELD_MAX_CHARS or _is_separator(line):
        return False
    if line[0] in _BULLET_START or line[0].isdigit() or line[-1] in ".:;!?":
        return False
    if len(line.split()) > ENTRY_FIELD_MAX_WORDS or _is_date_piece(line):
        return False
    return section_of_line(line) is None


def section_of_line(line: str) -> str | None:
    """The section a header line opens (``header_section``, plus template headers the lexicon
    does not list, such as "Executive Experience" or "Core Qualifications"), else ``None``."""
    section = header_section(line)
    if section is not None:
        return section
    words = line.lower().split()
    if 1 < len(words) <= 3 and line[0].isupper():
        if words[-1] in _EXPERIENCE_WORDS:
            return "experience"
        if words[-1] in _HEADER_TAIL_WORDS:
            return "other"
    return None


def _location_at(lines: list[str], i: int) -> int:
    """Number of lines the location starting at ``lines[i]`` spans (0: no location there).

    Split form only: "Austin" / "," / "TX" (and more ", part" pairs)."""
    n = len(lines)
    if i + 2 < n and lines[i + 1] == "," and _is_place(lines[i]) and _is_place(lines[i + 2]):
        j = i + 3
        while j + 1 < n and lines[j] == "," and _is_place(lines[j + 1]):
            j += 2
        return j - i
    # The one-line form ("Pune, Maharashtra") also follows DataTurks "Company -" lines, where it
    # cost 5-fold CV DESIGNATION 0.663 -> 0.651 and COMPANY 0.596 -> 0.574: split form only.
    return 0


def _field_before_location(lines: list[str], end: int) -> int | None:
    """Index of the field line before a split location ending just above ``lines[end]``."""
    e = end - 1
    if e < 2 or lines[e - 1] != "," or not _is_place(lines[e]):
        return None
    s = e - 2
    while s >= 2 and lines[s - 1] == "," and _is_place(lines[s - 2]):
        s -= 2
    if not _is_place(lines[s]):
        return None
    c = s - 1
    while c >= 0 and _is_separator(lines[c]):
        c -= 1
    return c if c >= 0 and _is_field_line(lines[c]) else None


def _words(line: str) -> list[str]:
    return re.findall(r"[a-z]+", line.lower())


def _has_title_word(line: str) -> bool:
    return any(w in OCCUPATION_WORDS for w in _words(line))


def _title_score(line: str) -> int:
    """+1 for a job-title word, -1 for a company word ("Inc", "Company")."""
    return int(_has_title_word(line)) - int(any(w in COMPANY_WORDS for w in _words(line)))


def _is_place(line: str) -> bool:
    return 0 < len(line.split()) <= 4 and not any(ch.isdigit() for ch in line) and line[0].isalpha()


def find_entry_fields(text: str) -> list[Match]:
    """DESIGNATION / COMPANY of experience entries and DEGREE / COLLEGE / GRADUATION_YEAR of
    education entries laid out one field per line around a split location (see the comment
    above)."""
    return layout_entries(text)[0]


def layout_entries(text: str) -> tuple[list[Match], list[tuple[int, int]]]:
    """:func:`find_entry_fields`, plus the ``(start, end)`` character span of each education entry
    found (its degree, school, date and location lines, and the field-of-study lines between)."""
    starts = line_starts(text)
    # Non-blank lines (blank lines are extraction artefacts in these templates): (text, start).
    rows: list[tuple[str, int]] = []
    for k, start in enumerate(starts):
        end = starts[k + 1] - 1 if k + 1 < len(starts) else len(text)
        raw = text[start:end]
        stripped = raw.strip()
        if stripped:
            rows.append((stripped, start + raw.index(stripped)))
    lines = [r[0] for r in rows]
    sections: list[str | None] = []
    section: str | None = None
    for line in lines:
        header = section_of_line(line) if len(line) <= 40 else None
        section = header or section
        sections.append(None if header else section)
    out: list[Match] = []

    def emit(label: str, i: int) -> None:
        out.append((label, rows[i][1], rows[i][1] + len(rows[i][0])))

    def emit_pair(title: int, company: int) -> None:
        # Templates also put the company above the dates and the title before the location; the
        # order alone cannot tell, so a job-title word on the company line only swaps them.
        if _has_title_word(lines[company]) and not _has_title_word(lines[title]):
            title, company = company, title
        emit("DESIGNATION", title)
        emit("COMPANY", company)

    n = len(lines)
    i = 0
    title_above: bool | None = None  # decided by the first entry of the experience section
    stacked: list[tuple[int, int, int]] = []  # fields all above the dates: (above, upper, out index)
    while i < n:
        if sections[i] not in ("experience", "education") or not _is_date_piece(lines[i]):
            i += 1
            continue
        # A run of date pieces with at least one date: the entry's dates.
        j = i
        while j < n and _is_date_piece(lines[j]) and sections[j] == sections[i]:
            j += 1
        if not any(DATE_RE.search(line) for line in lines[i:j]):
            i = j
            continue
        # The fields after the dates, up to the location.
        fields: list[int] = []
        k = j
        loc = 0
        while k < n and sections[k] == sections[i] and len(fields) < 3:
            loc = _location_at(lines, k) if fields else 0
            if loc:
                break
            if _is_separator(lines[k]):
                k += 1
                continue
            if not _is_field_line(lines[k]):
                break
            fields.append(k)
            k += 1
        if sections[i] == "experience":
            above = i - 1
            while above >= 0 and _is_separator(lines[above]):
                above -= 1
            above_ok = above >= 0 and sections[above] == "experience" and _is_field_line(lines[above])
            if loc and len(fields) in (1, 2):
                company = fields[-1]
                if title_above is None:
                    title_above = above_ok
                after = k + loc
                if len(fields) == 2:
                    emit_pair(fields[0], company)
                elif title_above and above_ok:
                    emit_pair(above, company)
                elif (
                    not title_above
                    and after < n
                    and sections[after] == "experience"
                    and _is_field_line(lines[after])
                    and not _location_at(lines, after)
                ):
                    emit_pair(after, company)
                else:
                    emit("COMPANY", company)
            elif not fields and above_ok:
                # Company / location / title / dates: the fields all sit above the dates.
                upper = _field_before_location(lines, above)
                if upper is not None and sections[upper] == "experience":
                    stacked.append((above, upper, len(out)))
                    emit_pair(above, upper)
        i = max(j, k)
    # Templates also stack title / location / company / dates, which the entries alone cannot
    # tell from company / location / title / dates. A document keeps one template, so its
    # entries vote with their words (title words up and company words down: title first); a
    # tie keeps the per-entry choice above.
    vote = sum(_title_score(lines[upper]) - _title_score(lines[above]) for above, upper, _ in stacked)
    if vote > 0:
        for above, upper, pos in stacked:
            out[pos] = ("DESIGNATION", rows[upper][1], rows[upper][1] + len(lines[upper]))
            out[pos + 1] = ("COMPANY", rows[above][1], rows[above][1] + len(lines[above]))
    edu_fields, edu_spans = _education_fields(rows, sections)
    return out + edu_fields, edu_spans


# Education entries of the same templates, e.g. (one field per line, "/" between lines here):
#
#     Master of Science / : / Chemistry / , / May 2011 / Lakeside University / - / City / , / ST
#     2004 / Lakeside University / City / , / ST / Chemistry / Bachelor of Science
#
# The tagger takes the degree for the college, glues the GPA or the field of study to the school,
# or calls the field of study a college. The split location is again the anchor: the school is the
# name line just before it (or its first part, "Lakeside University / , / City / , / ST"). The
# degree is the short line with a degree word next to it: above the school or below the location,
# as the document's first entry shows (the template is the same for all). The graduation year is
# on the last date line above the school, where both layouts put it.

# Degree words that also name fields of study ("Mechanical Engineering"): not enough alone.
_FIELD_DEGREE_WORDS = frozenset({"engineering", "graduation", "secondary", "intermediate"})
# US degree names the lexicon (built on Indian resumes) lacks.
_DEGREE_TEST_WORDS = (DEGREE_WORDS - _FIELD_DEGREE_WORDS) | frozenset(
    {"ged", "aas", "bfa", "mfa", "bsn", "msn", "mph", "dnp", "jd", "juris", "edd", "ed.d"}
)
# Dotted initials are degrees ("A.A.S", "B.B.A."), except the country.
_DOTTED_DEGREE_RE = re.compile(r"^(?!u\.s\.?$)(?:[a-z]\.){1,3}[a-z]\.?$")
# Numbered month then year ("5 2015"), which templates print for "05/2015".
_MONTH_YEAR_RE = re.compile(r"^\d{1,2}\s+(?:19|20)\d{2}$")
# A school name wrapped over two lines ends its first line with a connector ("School of").
_WRAP_TAIL_WORDS = frozenset({"of", "and", "&", "for", "the", "in", "at"})


def _has_degree_word(line: str) -> bool:
    words = re.findall(r"[a-z][a-z.']*[a-z]|[a-z]", line.lower())
    return any(
        w in _DEGREE_TEST_WORDS or w.rstrip(".") in _DEGREE_TEST_WORDS or _DOTTED_DEGREE_RE.match(w) for w in words
    )


def _has_college_word(line: str) -> bool:
    return any(w in COLLEGE_WORDS for w in _words(line))


def _is_degree_text(line: str) -> bool:
    """A degree word, and no school word unless a degree word ends the line ("High School
    Diploma" is a degree, "Hardin High School" a school)."""
    if not _has_degree_word(line):
        return False
    return not _has_college_word(line) or _has_degree_word(line.split()[-1])


def _is_degree_line(line: str) -> bool:
    return _is_field_line(line) and _is_degree_text(line)


def _date_line_year(line: str) -> re.Match[str] | None:
    """The graduation year of a date line ("May 2011", "5 2015", "2012 - 2016": the last year)."""
    if not (_is_date_piece(line) or _MONTH_YEAR_RE.match(line)):
        return None
    found = list(GRAD_YEAR_RE.finditer(line))
    return found[-1] if found else None


def _education_fields(
    rows: list[tuple[str, int]], sections: list[str | None]
) -> tuple[list[Match], list[tuple[int, int]]]:
    lines = [r[0] for r in rows]
    n = len(lines)
    # Anchors: (school line, first and last line of the split location).
    anchors: list[tuple[int, int, int]] = []
    k = 0
    while k < n:
        loc = _location_at(lines, k) if sections[k] == "education" else 0
        if not loc or any(_has_degree_word(lines[p]) for p in range(k, k + loc, 2)):
            # "BBA / , / Accounting": a degree and its field, not a place.
            k += 1
            continue
        if loc >= 5 and _has_college_word(lines[k]) and not _is_degree_text(lines[k]):
            # "Lakeside University / , / City / , / ST": the school is the first part.
            anchors.append((k, k + 2, k + loc - 1))
        else:
            c = k - 1
            while c >= 0 and _is_separator(lines[c]):
                c -= 1
            if (
                c >= 0
                and sections[c] == "education"
                and _is_field_line(lines[c])
                and not _is_degree_text(lines[c])
                and (not anchors or c > anchors[-1][2])
                # "Bachelor of Science / : / Business Administration": a field of study.
                and not (c > 0 and lines[c - 1] == ":")
            ):
                anchors.append((c, k, k + loc - 1))
        k += loc
    if not anchors:
        return [], []

    def region(a: int, above: bool) -> range:
        """Lines between entry ``a``'s school and the neighbouring anchor, nearest first."""
        school, _, loc_end = anchors[a]
        if above:
            lo = anchors[a - 1][2] + 1 if a else 0
            return range(school - 1, lo - 1, -1)
        hi = anchors[a + 1][0] if a + 1 < len(anchors) else n
        return range(loc_end + 1, hi)

    def degree_in(a: int, above: bool) -> int | None:
        for d in region(a, above):
            if sections[d] != "education":
                break
            if _is_degree_line(lines[d]):
                return d
            if not above and _date_line_year(lines[d]):
                break  # the next entry's dates
        return None

    # The first entry with a degree on one side only decides the side for the document.
    degree_above: bool | None = None
    for a in range(len(anchors)):
        up, down = degree_in(a, True), degree_in(a, False)
        if (up is None) != (down is None):
            degree_above = up is not None
            break
    out: list[Match] = []
    spans: list[tuple[int, int]] = []
    for a, (school, _, loc_end) in enumerate(anchors):
        first = school
        if school > 0 and sections[school - 1] == "education" and _is_field_line(lines[school - 1]):
            tail = lines[school - 1].split()[-1].lower()
            if tail in _WRAP_TAIL_WORDS or lines[school - 1].endswith(","):
                first = school - 1
        out.append(("COLLEGE", rows[first][1], rows[school][1] + len(lines[school])))
        lo, hi = first, loc_end
        degree = degree_in(a, degree_above) if degree_above is not None else None
        if degree is not None:
            out.append(("DEGREE", rows[degree][1], rows[degree][1] + len(lines[degree])))
            lo, hi = min(lo, degree), max(hi, degree)
        for d in region(a, True):
            if d < first and sections[d] == "education":
                year = _date_line_year(lines[d])
                if year:
                    out.append(("GRADUATION_YEAR", rows[d][1] + year.start(), rows[d][1] + year.end()))
                    lo = min(lo, d)
                    break
        spans.append((rows[lo][1], rows[hi][1] + len(lines[hi])))
    return out, spans
