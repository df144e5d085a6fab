"""Deterministic extractors: contact fields (the rules win over the model for these), years of
experience and graduation years. Resume-builder entry layouts are in ``layout.py``."""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator

from .features import header_section
from .lexicon import DEGREE_WORDS
from .text import line_starts

_EMAIL_RE = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")

# Candidate phone numbers: digits with common separators, optional country code / parentheses.
_PHONE_RE = re.compile(r"(?<![\w/.])(?:\+\s?\d{1,3}[\s.\-]?)?(?:\(\d{1,5}\)[\s.\-]?)?\d[\d\s.\-]{6,16}\d(?![\w/])")
_DATE_LIKE = re.compile(r"^(?:19|20)\d{2}\s*[-–.]\s*(?:19|20)\d{2}$")

KNOWN_HOSTS = (
    "linkedin.com",
    "github.com",
    "gitlab.com",
    "bitbucket.org",
    "indeed.com",
    "stackoverflow.com",
    "behance.net",
    "dribbble.com",
    "medium.com",
    "kaggle.com",
    "twitter.com",
    "x.com",
    "github.io",
)
_TLDS = r"(?:com|org|net|io|in|co|me|dev|ai|app|edu|gov|info|biz|uk|de|us|ca|au|tech|xyz)"
_LINK_RE = re.compile(
    r"(?<![@\w.])(?:"
    r"https?://[^\s<>\"'()]+"
    r"|www\.[^\s<>\"'()]+"
    # A bare host with a path needs a 2+ character label before the TLD: "B.Tech/B.E" and
    # "B.Com/BBA" are degrees, not URLs.
    r"|(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]{2,}\." + _TLDS + r"/[^\s<>\"'()]*"
    r"|(?:[A-Za-z0-9-]+\.)*(?:" + "|".join(re.escape(h) for h in KNOWN_HOSTS) + r")\b(?:/[^\s<>\"'()]*)?"
    r")",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}>'\""
# Extracted PDF text often wraps a long URL after "-" or "/": "indeed.com/r/John-\nSmith/abc".
_WRAP_RE = re.compile(r"[-/]\n[A-Za-z0-9][^\s<>\"'()]*")
_STRIP_QUERY_HOSTS = ("indeed.com", "linkedin.com")
# The domain after an e-mail's "@" ("jane@my-site.com/cv"): never the start of a link.
_AT_DOMAIN_RE = re.compile(r"@[A-Za-z0-9.-]+")
# A scheme (or "www.") before what is otherwise an e-mail address, with nothing after it.
_EMAIL_AS_URL_RE = re.compile(r"(?:https?://|www\.)+[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}[.,;:!?)\]}>'\"/]*")

Match = tuple[str, int, int]  # label, start, end


def _strip_trailing(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in _TRAILING:
        end -= 1
    return end


def find_emails(text: str) -> Iterator[Match]:
    for m in _EMAIL_RE.finditer(text):
        yield "EMAIL", m.start(), m.end()


def find_phones(text: str) -> Iterator[Match]:
    for m in _PHONE_RE.finditer(text):
        raw = m.group()
        digits = sum(ch.isdigit() for ch in raw)
        if not 10 <= digits <= 15:
            continue
        if _DATE_LIKE.match(raw.strip()):
            continue
        # A run of separators-free digits longer than 13 is an id, not a phone.
        if "\n" in raw:
            continue
        yield "PHONE", m.start(), m.end()


def find_links(text: str) -> Iterator[Match]:
    """URLs and bare hosts with a path or of a known site; never an e-mail's domain, even one
    followed by a slash ("jane@my-site.com/cv", "jane@mail-github.com/x")."""
    domains = [(m.start(), m.end()) for m in _AT_DOMAIN_RE.finditer(text)] if "@" in text else []
    for m in _LINK_RE.finditer(text):
        start, end = m.start(), m.end()
        if any(at < start < stop for at, stop in domains):
            continue
        if "/" in m.group():
            wrap = _WRAP_RE.match(text, end - 1)
            if wrap:
                end = wrap.end()
        lowered = text[start:end].lower()
        if _EMAIL_AS_URL_RE.fullmatch(lowered):
            continue  # "http://jane89@gmail.com": an e-mail address that was given a scheme
        if any(host in lowered for host in _STRIP_QUERY_HOSTS) and "?" in lowered:
            end = start + lowered.index("?")
        end = _strip_trailing(text, start, end)
        if end - start >= 6:
            yield "LINK", start, end


_YOE_RE = re.compile(
    r"(?<![\w.])(\d{1,2}(?:\.\d{1,2})?\s*\+?\s*(?:years?|yrs?\.?)(?:\s+(?:and\s+)?\d{1,2}\s*months?)?)"
    r"(?=\s+(?:of\s+)?(?:\w+\s+){0,3}?(?:experience|exp\b))",
    re.IGNORECASE,
)
_YOE_AFTER_RE = re.compile(
    r"experience\s*(?:of|:|-)?\s*(?:about|around|over|nearly|more than)?\s*"
    r"(\d{1,2}(?:\.\d{1,2})?\s*\+?\s*(?:years?|yrs?)(?:\s+(?:and\s+)?\d{1,2}\s*months?)?)",
    re.IGNORECASE,
)

# "6+ Exp in banking", "10+ experience": a count with a plus and no unit, right before the word.
# Only with the plus: "2 experience letters" is no duration. Annotators select the count alone.
# 5-fold CV YEARS_OF_EXPERIENCE F1 0.430 -> 0.448, micro 0.8024 -> 0.8027 (order seed 1: same
# YEARS_OF_EXPERIENCE change, micro 0.7901 -> 0.7903).
_YOE_BARE_RE = re.compile(r"(?<![\w.])(\d{1,2}(?:\.\d{1,2})?\s*\+)(?=\s*(?:experience|exp)\b)", re.IGNORECASE)


# Sections that describe work: a link there names a project demo or an employer's site.
_WORK_SECTIONS = frozenset({"experience", "projects"})


OTHER_SITE = "other"


def link_site(url: str) -> str:
    """The profile site a link is on ("linkedin.com" for "in.linkedin.com/in/jane"), else
    :data:`OTHER_SITE` (personal sites, project demos, employers' sites)."""
    host = url.lower().split("://", 1)[-1].split("/", 1)[0]
    for site in KNOWN_HOSTS:
        if host == site or host.endswith("." + site):
            return site
    return OTHER_SITE


def _not_the_candidates(text: str, links: list[Match]) -> set[Match]:
    """The links that are not the candidate's own: under an experience or projects header a
    link counts only on a profile site (LinkedIn, GitHub, Indeed, ...), because there
    "jane.dev/shop: an e-commerce portal" or "(acme.com)" is a project's or an employer's
    address. On the training split's 126 resumes the annotated links lose none (110 of 111
    found either way) and the false ones go from 37 to 27 (F1 .853 -> .887); the rest are
    LinkedIn, GitHub and Behance profiles the annotators did not mark (see :mod:`.link_sites`)
    and Indeed profiles of resumes without any link marked."""
    if not links:
        return set()
    sections, starts = line_sections(text), line_starts(text)
    return {
        link
        for link in links
        if sections[bisect.bisect_right(starts, link[1]) - 1] in _WORK_SECTIONS
        and link_site(text[link[1] : link[2]]) == OTHER_SITE
    }


def find_years_of_experience(text: str) -> Iterator[Match]:
    """ "5 years of experience", "3.5+ yrs of IT experience", "total experience of 4 years",
    "6+ Exp"."""
    for regex in (_YOE_RE, _YOE_AFTER_RE, _YOE_BARE_RE):
        for m in regex.finditer(text):
            yield "YEARS_OF_EXPERIENCE", m.start(1), m.end(1)


def find_rule_entities(text: str) -> list[Match]:
    """Non-overlapping (label, start, end) matches; e-mails first, then links, then phones."""
    taken: list[tuple[int, int]] = []
    out: list[Match] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    def first_years_of_experience(text: str) -> Iterator[Match]:
        # Resumes state their total experience once, early (header or summary); later "N years
        # of X" mentions are mostly per-skill or per-job. First-only: train-split F1 0.35 -> 0.42;
        # and only before the first other section (5-fold CV 0.42 -> 0.45: of 12 first matches
        # past the summary in the training split none was the annotated total).
        found = sorted(find_years_of_experience(text), key=lambda m: m[1])
        if not found:  # most resumes: skip the section scan
            return
        top = top_lines(text)
        starts = line_starts(text)
        yield from [m for m in found if bisect.bisect_right(starts, m[1]) - 1 in top][:1]

    for finder in (find_emails, find_links, find_phones, first_years_of_experience):
        for label, start, end in finder(text):
            if free(start, end):
                taken.append((start, end))
                out.append((label, start, end))
    # Dropped only now: a project's link still keeps its digits from being read as a phone.
    dropped = _not_the_candidates(text, [m for m in out if m[0] == "LINK"])
    out = [m for m in out if m not in dropped]
    out.sort(key=lambda m: m[1])
    return out


def find_candidate_links(text: str) -> list[Match]:
    """The candidate's own links, as :func:`find_rule_entities` finds them (whichever site
    they are on)."""
    return [m for m in find_rule_entities(text) if m[0] == "LINK"]


GRAD_YEAR_RE = re.compile(r"(?<![\d/.\-])(?:19[5-9]\d|20[0-4]\d)(?![\d/])")
# The start of a range ("2012 - 2016", "June 2005 to May 2009": a month may precede the end year).
_YEAR_RANGE_RE = re.compile(
    r"(?<!\d)(?:19[5-9]\d|20[0-4]\d)\s*(?:-|–|—|to|till|until)\s*(?:[A-Za-z]{3,9}\.?,?\s+)?"
    r"(?=(?:19[5-9]\d|20[0-4]\d)(?!\d))",
    re.IGNORECASE,
)
# The start of an open range ("2016 to Present", "January 2017 - till date"): a course still under
# way, not a graduation.
_OPEN_RANGE_RE = re.compile(
    r"(?<!\d)(?:19[5-9]\d|20[0-4]\d)\s*(?:-|–|—|to|till|until)\s*"
    r"(?:present|current(?:ly)?|now|(?:till\s+)?date|ongoing|pursuing)\b",
    re.IGNORECASE,
)
# A year belongs to the education entry when it is on the anchor's line or on one of the next two
# (DataTurks-style "Degree\nCollege\n\n2012 to 2016"); measured on the training split.
GRAD_YEAR_LINES_AFTER = 2


# "SAP Skills", "Technical skillset:", "Computer Skills": a short line naming a kind of skills heads
# a skills list, also inside another section (Indeed's "ADDITIONAL INFORMATION").
_SKILLS_SUBHEADER_RE = re.compile(
    r"[ \t]*(?:[A-Za-z/&.+#-]+[ \t]+){0,3}(?:skills?|skill[ \t]?sets?)[ \t]*:?[ \t]*\r?\n?", re.IGNORECASE
)


def _skills_subheader(line: str) -> str | None:
    """ "skills" when ``line`` is a skills sub-header (:data:`_SKILLS_SUBHEADER_RE`; not a bullet:
    "• Good communication skills" is an item). The skills passes then treat the list under it
    as a skills section's. 5-fold CV SKILL F1 0.8190 -> 0.8189, COLLEGE 0.7640 -> 0.7677 (an
    education section ends at such a line), micro 0.8134 -> 0.8138 (order seed 1: SKILL 0.8031
    -> 0.8084, COLLEGE 0.7608 -> 0.7645, micro 0.8030 -> 0.8061): per seed 3-13 true skills more
    for 2-4 false ones (skills of resumes annotators labelled none of)."""
    return "skills" if _SKILLS_SUBHEADER_RE.fullmatch(line) else None


@functools.lru_cache(maxsize=16)
def line_sections(text: str) -> tuple[str | None, ...]:
    """The section of each line of ``text``: ``None`` for a section header, "top" before the
    first one. Cached: a document's passes ask for its sections again and again, and finding
    the headers is most of the work (a str's hash is kept on the object, so a hit is cheap)."""
    sections: list[str | None] = []
    section = "top"
    starts = line_starts(text)
    n = len(starts)
    for line, start in enumerate(starts):
        end = starts[line + 1] if line + 1 < n else len(text)
        header = header_section(text[start:end]) or _skills_subheader(text[start:end])
        if header is not None:
            section = header
        sections.append(None if header is not None else section)
    return tuple(sections)


def section_lines(text: str, wanted: frozenset[str]) -> set[int]:
    """Indices of the lines (headers excluded) in a section named in ``wanted``; the lines
    before the first section header are section "top"."""
    return {line for line, section in enumerate(line_sections(text)) if section in wanted}


def education_lines(text: str) -> set[int]:
    """Lines under an education section header, up to the next section header."""
    return section_lines(text, frozenset({"education"}))


def top_lines(text: str) -> set[int]:
    """Lines of the resume's header and summary (before any other section)."""
    return section_lines(text, frozenset({"top", "summary"}))


# School-leaving qualifications (10th / 12th standard and their Indian board names): their years
# are not graduation years.
_SCHOOL_LEVEL_RE = re.compile(
    r"\b(?:ssc|hsc|sslc|s\.s\.c|h\.s\.c|10th|12th|class|matric\w*|secondary|high school|intermediate"
    r"|puc|cbse|icse|state board|hss|secondry|c\.b\.s\.e|i\.c\.s\.e|s\.s\.l\.c|pre[- ]?university"
    r"|pu college|junior college|jr\.? college)(?!\w)|\+2"
    r"|(?<!business )(?<!law )(?<!medical )(?<!graduate )\bschool\b(?!\s+of\b)",
    re.IGNORECASE,
)


def is_school_level(value: str) -> bool:
    """Whether ``value`` names a school-leaving qualification or school ("SSC", "Class XII")."""
    return bool(_SCHOOL_LEVEL_RE.search(value))


# How far above its year an education entry's degree / school line may be.
_ENTRY_LINES_ABOVE = 6


def is_school_entry(text: str, starts: list[int], year_line: int) -> bool:
    """Whether the education entry a year on ``year_line`` dates is a school-leaving one ("SSC",
    "12th, State Board", "Higher Secondary School"): the year's own line and the lines above it
    up to the previous dated line or section header."""
    n = len(starts)

    def line_text(line: int) -> str:
        return text[starts[line] : starts[line + 1] if line + 1 < n else len(text)]

    parts = [GRAD_YEAR_RE.sub(" ", line_text(year_line))]
    for line in range(year_line - 1, max(-1, year_line - 1 - _ENTRY_LINES_ABOVE), -1):
        content = line_text(line)
        if GRAD_YEAR_RE.search(content) or header_section(content) is not None:
            break
        parts.append(content)
    # A degree's line ("B.B.A in Retail" at a junior college) makes the entry a degree's.
    if any(_is_degree_line(part) for part in parts):
        return False
    return bool(_SCHOOL_LEVEL_RE.search(" ".join(parts)))


_DEGREE_KEYS = frozenset(w.replace(".", "").replace("-", "") for w in DEGREE_WORDS)


def _is_degree_line(line: str) -> bool:
    """Whether ``line`` starts with a degree word ("B.B.A in ...", "MSc") and names no
    school-leaving qualification."""
    words = line.strip(" \t\r\n•*-–·").split()
    if not words or is_school_level(line):
        return False
    return words[0].lower().strip(",;:()'’").replace(".", "").replace("-", "") in _DEGREE_KEYS


def find_graduation_years(text: str, line_starts: list[int], anchor_lines: set[int]) -> list[Match]:
    """Years on education lines: the line of a degree / college entity and the two after it, and
    every line of the education section.

    Of a range ("2012 - 2016", "2012 to 2016") only the end year is a graduation year. Adding the
    education section (its dates often sit 3+ lines below the predicted degree or college, or
    belong to an entry the tagger missed): 5-fold CV GRADUATION_YEAR F1 0.62 -> 0.68 (recall
    0.72 -> 0.98); keeping only the first 2 or 3 years measured the same. Years of school-leaving
    entries (:func:`is_school_entry`: SSC, HSC, 12th, ...) count only when there is no other:
    annotators date degrees, and a resume's "graduation year" is its highest qualification's
    (5-fold CV 0.663 -> 0.693). The start of an open range ("2016 to Present") is a course still
    under way: no graduation year (5-fold CV 0.7041 -> 0.7079, micro 0.7960 -> 0.7962; order seed
    1: 0.7071 -> 0.7109, micro 0.7849 -> 0.7851; no true year lost). A school's entry is a
    school-leaving one also without its qualification ("... Grammar School", not "School of
    Engineering" or "Business School"): 5-fold CV 0.7141 -> 0.7316, micro 0.8122 -> 0.8129
    (order seed 1: 0.7181 -> 0.7361, micro 0.8018 -> 0.8025), 6 false years less for 1 true
    (a school year annotated beside a school-leaving year left out already). So are junior / PU
    colleges and dotted board names ("C.B.S.E."), unless a line of the entry starts with a degree
    word ("B.B.A in ..." at a junior college): 5-fold CV 0.7316 -> 0.7429, micro 0.8129 -> 0.8134
    (order seed 1: 0.7361 -> 0.7477, micro 0.8025 -> 0.8030), 3 false years less, none gained.
    """
    lines: set[int] = set()
    for line in anchor_lines:
        lines.update(range(line, line + GRAD_YEAR_LINES_AFTER + 1))
    if anchor_lines:
        lines |= education_lines(text)
    degree_years: list[Match] = []
    school_years: list[Match] = []
    n = len(line_starts)
    for line in sorted(lines):
        if line >= n:
            continue
        start = line_starts[line]
        end = line_starts[line + 1] if line + 1 < n else len(text)
        segment = text[start:end]
        range_starts = {m.start() for m in _YEAR_RANGE_RE.finditer(segment)}
        range_starts |= {m.start() for m in _OPEN_RANGE_RE.finditer(segment)}
        years = [
            ("GRADUATION_YEAR", start + m.start(), start + m.end())
            for m in GRAD_YEAR_RE.finditer(segment)
            if m.start() not in range_starts
        ]
        if years and is_school_entry(text, line_starts, line):
            school_years += years
        else:
            degree_years += years
    return degree_years or school_years
