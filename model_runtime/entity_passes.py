"""Passes over the tagger's entities that need the whole document in view.

A token tagger sees a few words around each token. Lists, sections, education and experience
entries, and resume-builder layouts need more: these passes repair the tagger's entities with
them. Each takes the document text, its tokenisation and the entities so far, and returns the
new list; :func:`repair_entities` runs them in order. Each docstring gives the measurement that
earned the pass its place (5-fold CV on the DataTurks training split, ``python -m
model_runtime.cv``, or the LiveCareer PDF checks).
"""

from __future__ import annotations

import itertools
import re

from .data import split_skill_block
from .entities import Entity
from .features import header_section
from .layout import DATE_RE, layout_entries, section_of_line
from .lexicon import (
    COLLEGE_WORDS,
    COMPANY_WORDS,
    DEGREE_WORDS,
    HEADLINE_WORDS,
    LOCATION_WORDS,
    OCCUPATION_WORDS,
)
from .rules import (
    GRAD_YEAR_RE,
    education_lines,
    find_graduation_years,
    is_school_entry,
    is_school_level,
    line_sections,
    section_lines,
)
from .skills_taxonomy import canonical_skill
from .text import Document, normalize_value

# Share of a line's list items the tagger must call skills before the rest of the line follows.
SKILL_LIST_MIN_SHARE = 0.25
# Rows of a "Category: items" table the tagger must find skills on, in number and share of rows
# (3 rows: SKILL F1 .7847, 2 rows: .7827, 1 row: .7797 in 5-fold CV).
SKILL_TABLE_MIN_ROWS = 3
SKILL_TABLE_MIN_SHARE = 0.5
SKILL_BULLET_MAX_WORDS = 4
# A skills section's paragraph: its list lines (two items or more) are all skill lists when at
# least this many, and this share, of them are (2 and 0.5: SKILL F1 0.8009 -> 0.8120; 3: 0.8103,
# 4: 0.8086; share 0.67: 0.8094, 0.25: 0.8096, measured in any section).
SKILL_PARAGRAPH_MIN_LISTS = 2
SKILL_PARAGRAPH_MIN_SHARE = 0.5
# The separators of a list line ("Java, SQL", "• Git • Jira"): not a spaced dash ("College - Town").
_LIST_SEPARATOR_RE = re.compile(r"[,;|•●▪■◦·\u2022\uf0b7\uf0a7]")
# "JavaScript etc.", "Git and so on": the words that end a list, after its last skill.
_SKILL_LIST_END_RE = re.compile(
    r"(?P<skill>.*?)(?:[\s,]+(?:etc\.?|and\s+so\s+on|and\s+more))?", re.IGNORECASE | re.DOTALL
)
# "Databases: Oracle", "• Testing Tools: - QTP, LoadRunner": a short label, a colon, then items.
_CATEGORY_ROW_RE = re.compile(
    r"[\s•●▪■◦·*\-–—>➢❖✓○\uf0b7\uf0a7]*[^\W\d][^\s:]*(?:[ \t]+[^\s:]+){0,3}[ \t]*:(?!//)\s*\S"
)


def _line_end(text: str, starts: list[int], line: int) -> int:
    return starts[line + 1] - 1 if line + 1 < len(starts) else len(text)


# Labels whose spans grow to the whole line segment they mostly cover (see ``expand_to_segments``).
SEGMENT_LABELS = frozenset({"COLLEGE", "COMPANY", "DESIGNATION", "DEGREE"})
SEGMENT_MIN_SHARE = 0.5
SEGMENT_MAX_WORDS = 8
_SEGMENT_SPLIT_RE = re.compile(r"\s+[-–—|]\s+|\s[-–—]$|\t|\s{3,}|[|•]")

# Labels a layout field (``entry_fields``) may replace, and the confidence it gets: below the
# tagger's usual confidence on clear entities, as it comes from position, not content.
_LAYOUT_REPLACES = frozenset({"DESIGNATION", "COMPANY", "LOCATION", "COLLEGE", "DEGREE"})
LAYOUT_CONFIDENCE = 0.6
_LAYOUT_EDUCATION = frozenset({"DEGREE", "COLLEGE", "GRADUATION_YEAR"})

# Place names: at most this many words ("Spring Valley", "New York City"),
# delimited by commas, dashes, bars or the line's ends.
PLACE_MAX_WORDS = 3
_PLACE_SPLIT_RE = re.compile(r",|\s[-–—|]\s|\s[-–—]$|\t|\s{3,}|[|•(]")

# An education entry's institution line: "Name - City, Region" ("Riverside College -  Springfield,
# Illinois"), the name at most :data:`SEGMENT_MAX_WORDS` words without digits.
_INSTITUTION_LINE_RE = re.compile(
    r"^[ \t•*]*(?P<name>[^\W\d][^\d\n|,]*?)\s+[-–—]\s+"
    r"(?P<place>[A-Z][\w.'’ ]*(?:,\s*[A-Z][\w.'’ ]*){1,2})[ \t]*-?[ \t]*$"
)

# The contact header: a resume's first lines.
HEADER_LINES = 6
_PLACE_WORDS = r"[A-Z][A-Za-z.'’]*(?:[ -][A-Z][A-Za-z.'’]*){0,2}"
# "Springfield, Illinois", "Lakeview B.O, Kerala - Email me ...", "Pune, MH, 411001, IN".
_HEADER_PLACE_RE = re.compile(
    rf"^\s*(?P<place>{_PLACE_WORDS})(?:\s*,\s*(?:{_PLACE_WORDS}|\d{{5,6}}))+\s*(?:[-–—|]\s.*)?$"
)

# Characters that open a bulleted line: a new item, not the wrapped rest of the line before.
_BULLET_CHARS = "•●▪■◦·*-–—>➢❖✓○\uf0b7\uf0a7"


def _segment_around(text: str, doc: Document, ent: Entity, separators: re.Pattern[str]) -> tuple[int, int]:
    """The part of ``ent``'s line between the separators around it (``ent``'s own span when a
    separator falls inside it, so a span across separators is left alone)."""
    line = doc.line_of(ent.start)
    seg_start, seg_end = doc.line_starts[line], _line_end(text, doc.line_starts, line)
    for m in separators.finditer(text, seg_start, seg_end):
        if m.end() <= ent.start:
            seg_start = m.end()
        elif m.start() >= ent.end:
            return seg_start, m.start()
        else:
            return ent.start, ent.end
    return seg_start, seg_end


def _grow_to_item(a: int, b: int, entities: list[Entity]) -> list[Entity]:
    """The predicted skills strictly inside list item ``[a, b)`` ("Microsoft" of "Microsoft Visual
    Studio"), when nothing else overlaps the item: they become the whole item."""
    inside = [e for e in entities if e.start < b and e.end > a]
    if not inside:
        return []
    if any(e.label != "SKILL" or e.start < a or e.end > b for e in inside):
        return []
    if len(inside) == 1 and (inside[0].start, inside[0].end) == (a, b):
        return []
    return inside


def _skill_table_rows(
    text: str,
    starts: list[int],
    first: int,
    last: int,
    items_by_line: dict[int, list[tuple[int, int]]],
    skill_lines: set[int],
) -> set[int]:
    """The rows of the skill tables in paragraph ``first..last``: "Category: items" rows
    ("Databases: Oracle, MySQL") or one-item bullet rows ("• Manual testing"), when the tagger
    found skills on at least :data:`SKILL_TABLE_MIN_ROWS` of them and on
    :data:`SKILL_TABLE_MIN_SHARE` of them."""
    category_rows: set[int] = set()
    bullet_rows: set[int] = set()
    for ln in range(first, last + 1):
        line_start, line_end = starts[ln], _line_end(text, starts, ln)
        if _CATEGORY_ROW_RE.match(text, line_start, line_end):
            category_rows.add(ln)
        line_items = items_by_line.get(ln, [])
        if (
            len(line_items) == 1
            and text[line_start:line_end].strip()[:1] in _BULLET_CHARS
            and len(text[line_items[0][0] : line_items[0][1]].split()) <= SKILL_BULLET_MAX_WORDS
        ):
            bullet_rows.add(ln)
    rows: set[int] = set()
    for table in (category_rows, bullet_rows):
        with_skills = table & skill_lines
        if len(with_skills) >= SKILL_TABLE_MIN_ROWS and len(with_skills) >= SKILL_TABLE_MIN_SHARE * len(table):
            rows |= table
    return rows


# A blank line between two pieces of text (spaces allowed on it).
_BLANK_LINE_RE = re.compile(r"\n[ \t\r]*\n\s*")


# Words of a name, also where a dot joins them without a space ("Narayana Jr.College").
_NAME_WORD_SPLIT_RE = re.compile(r"[\s.,()]+")


def _names_institution(value: str) -> bool:
    """Whether ``value`` has an institution word (:data:`model_runtime.lexicon.COLLEGE_WORDS`),
    also one a dot joins to the word before ("Jr.College"; 5-fold CV COLLEGE .8062 -> .8095,
    micro .8224 -> .8226; order seed 1: COLLEGE .8047 -> .8079, micro .8135 -> .8138)."""
    return any(w.lower() in COLLEGE_WORDS for w in _NAME_WORD_SPLIT_RE.split(value))


def split_colleges_at_blank_lines(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A college the tagger ran across a blank line ("Riverside Institute of Technology" / "" /
    "Fabrikam University") is one college per part: a blank line ends an institution's name (a
    wrapped one goes on on the very next line). When some parts name an institution
    (:data:`model_runtime.lexicon.COLLEGE_WORDS`), the others are a field of study or a
    certificate ("Networking Technology", "Certificate of Achievement") and are dropped.
    5-fold CV COLLEGE F1 0.7677 -> 0.7737, micro 0.8138 -> 0.8143 (order seed 1: COLLEGE 0.7645
    -> 0.7703, micro 0.8061 -> 0.8067): per seed two colleges of one education section the
    tagger had run together become the two true ones. Degrees are not split: resume-builder
    PDFs put "MBA" / "" / "Accounting" (degree and field) in one field, and their parts are no
    degree each."""
    out: list[Entity] = []
    for e in entities:
        if e.label != "COLLEGE" or not _BLANK_LINE_RE.search(e.text):
            out.append(e)
            continue
        parts: list[tuple[int, int]] = []
        pos = 0
        for m in [*_BLANK_LINE_RE.finditer(e.text), None]:
            s = e.start + pos
            t = e.start + (m.start() if m else len(e.text))
            while t > s and text[t - 1].isspace():
                t -= 1
            if s < t:
                parts.append((s, t))
            if m:
                pos = m.end()
        named = [(s, t) for s, t in parts if _names_institution(text[s:t])]
        for s, t in named or parts:
            out.append(Entity(e.label, text[s:t], s, t, doc.line_of(s) + 1, e.confidence, e.source))
    return out


def graduation_years(text: str, doc: Document, entities: list[Entity], taken: list[tuple[int, int]]) -> list[Entity]:
    """Graduation years by rule: years next to the predicted degrees and colleges.

    When the rule finds any, they replace the tagger's GRADUATION_YEAR spans (5-fold CV F1
    0.14 -> 0.50, ``python -m model_runtime.cv``); otherwise the tagger's are kept.
    """
    anchors = [e for e in entities if e.label in ("DEGREE", "COLLEGE")]
    if not anchors:
        return entities
    conf: dict[int, float] = {}
    for anchor in anchors:
        line = anchor.line - 1
        conf[line] = max(conf.get(line, 0.0), anchor.confidence)
    years = [
        (ys, ye)
        for _, ys, ye in find_graduation_years(text, doc.line_starts, set(conf))
        if all(ye <= a or ys >= b for a, b in taken)
    ]
    if not years:
        return entities
    kept = [e for e in entities if e.label != "GRADUATION_YEAR" and all(e.end <= s or e.start >= t for s, t in years)]
    for ys, ye in years:
        line = doc.line_of(ys)
        near = max((c for a, c in conf.items() if a <= line <= a + 2), default=0.5)
        kept.append(Entity("GRADUATION_YEAR", text[ys:ye], ys, ye, line + 1, near, "rule"))
    return kept


def expand_to_segments(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """Grow a span that covers most of a line segment ("Rajiv Gandhi Institute of Technology -
    Bangalore": the tagger's "Gandhi Institute of Technology") to the whole segment."""
    occupied = [(e.start, e.end, e) for e in entities]
    out: list[Entity] = []
    for ent in entities:
        if ent.label not in SEGMENT_LABELS:
            out.append(ent)
            continue
        seg_start, seg_end = _segment_around(text, doc, ent, _SEGMENT_SPLIT_RE)
        while seg_start < seg_end and text[seg_start].isspace():
            seg_start += 1
        while seg_end > seg_start and (text[seg_end - 1].isspace() or text[seg_end - 1] in "-–—|,;:"):
            seg_end -= 1
        seg_words = len(text[seg_start:seg_end].split())
        ent_words = len(ent.text.split())
        if (
            (seg_start, seg_end) != (ent.start, ent.end)
            and seg_start <= ent.start
            and seg_end >= ent.end
            and seg_words <= SEGMENT_MAX_WORDS
            and ent_words >= SEGMENT_MIN_SHARE * seg_words
            and all(o is ent or o_end <= seg_start or o_start >= seg_end for o_start, o_end, o in occupied)
        ):
            ent = Entity(ent.label, text[seg_start:seg_end], seg_start, seg_end, ent.line, ent.confidence, ent.source)
        out.append(ent)
    return out


# An employer line of Indeed exports: "Company -  City, Region -" or "Company -": the name is the
# part before the first spaced dash, at most :data:`SEGMENT_MAX_WORDS` words.
_EMPLOYER_LINE_RE = re.compile(r"[ \t•*]*(?P<name>\S.*?)[ \t]+-(?:[ \t]+\S.*?[ \t]+-)?[ \t]*$")


def employer_line_companies(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A company the tagger found part of on an employer line ("Oracle" of "Oracle Financial
    Software Services -  Pune, Maharashtra -", "Microsoft" of "Teleperformance for Microsoft -")
    grows to the line's whole name, taking in the skills the tagger split it into ("Apple ,
    Google, Microsoft -"); not when another label is on the name. Annotators label the whole
    name (5-fold CV COMPANY F1 0.6087 -> 0.6379, micro 0.7795 -> 0.7816; order seed 1: COMPANY
    0.6101 -> 0.6371, micro 0.7665 -> 0.7684; the absorbed skills were false ones, SKILL F1
    0.7855 -> 0.7866)."""
    out: list[Entity] = []
    absorbed: set[int] = set()
    starts = doc.line_starts
    for ent in entities:
        if ent.label != "COMPANY" or id(ent) in absorbed:
            out.append(ent)
            continue
        line = doc.line_of(ent.start)
        ls, le = starts[line], _line_end(text, starts, line)
        m = _EMPLOYER_LINE_RE.match(text, ls, le)
        if not m or not (m.start("name") <= ent.start and ent.end <= m.end("name")):
            out.append(ent)
            continue
        a, b = m.start("name"), m.end("name")
        inside = [x for x in entities if x is not ent and x.start < b and x.end > a]
        if (
            (a, b) == (ent.start, ent.end)
            or len(text[a:b].split()) > SEGMENT_MAX_WORDS
            or any(x.label not in ("COMPANY", "SKILL") for x in inside)
        ):
            out.append(ent)
            continue
        absorbed.update(id(x) for x in inside)
        out.append(Entity(ent.label, text[a:b], a, b, ent.line, ent.confidence, ent.source))
    return [e for e in out if id(e) not in absorbed]


# Labels a skills-section list item may hold besides its skill: a vendor ("Oracle" of "Oracle Apps
# DBA") or a version the tagger or the year rule took for a graduation year ("Biztalk Server 2013").
_SKILL_ITEM_PARTS = frozenset({"SKILL", "COMPANY", "GRADUATION_YEAR"})


def whole_skill_section_items(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """In a skills section (outside the education section), a year is a version, not a
    graduation year ("SQL Server 2000"): dropped. A list item holding a predicted skill and a
    vendor name or such a year ("Oracle" + "Apps DBA", "Biztalk Server" + "2013") is one skill:
    the whole item; the item of a year that held no skill is left to :func:`complete_skill_lists`,
    which no longer finds it occupied. Annotators label the whole item. 5-fold CV SKILL F1 0.8166
    -> 0.8190, GRADUATION_YEAR 0.7079 -> 0.7141, micro 0.7999 -> 0.8015 (order seed 1: SKILL
    0.8010 -> 0.8031, GRADUATION_YEAR 0.7109 -> 0.7181, micro 0.7873 -> 0.7888): per seed 3 true
    skills more, 2-3 false ones and 2 false years less; no true year lost."""
    starts = doc.line_starts
    skill_lines = section_lines(text, frozenset({"skills"}))
    if not skill_lines:
        return entities
    lines = sorted({doc.line_of(e.start) for e in entities if e.label == "SKILL"} & skill_lines)
    replaced: set[int] = set()
    added: list[Entity] = []
    for line in lines:
        for a, b in split_skill_block(text, starts[line], _line_end(text, starts, line)):
            inside = [e for e in entities if e.start < b and e.end > a]
            if (
                len(inside) < 2
                or not any(e.label == "SKILL" for e in inside)
                or any(e.label not in _SKILL_ITEM_PARTS or e.start < a or e.end > b for e in inside)
            ):
                continue
            replaced.update(id(e) for e in inside)
            conf = min(e.confidence for e in inside if e.label == "SKILL")
            added.append(Entity("SKILL", text[a:b], a, b, line + 1, conf, "model"))
    kept = [
        e
        for e in entities
        if id(e) not in replaced and not (e.label == "GRADUATION_YEAR" and doc.line_of(e.start) in skill_lines)
    ]
    return kept + added


def complete_skill_lists(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """Skill lists are all skills: on a line the tagger found skills on, when at least
    :data:`SKILL_LIST_MIN_SHARE` of the line's list items are predicted skills, the other
    items become skills too (``python -m model_runtime.cv``).

    A list wrapped over lines ("Java, SQL," / "Docker, Git") is one list: the unbulleted line
    after a completed line that ends in a comma or semicolon is completed too (5-fold CV
    SKILL F1 0.764 -> 0.772, micro 0.764 -> 0.769); not backwards, onto the line before a
    completed one (SKILL 0.786 -> 0.780: 8 more true skills for 34 false ones).

    In a table of "Category: items" rows or of one-item bullet rows (at least
    :data:`SKILL_TABLE_MIN_ROWS` rows with predicted skills, and :data:`SKILL_TABLE_MIN_SHARE`
    of the rows), every row is a skill list
    (category rows: SKILL 0.772 -> 0.785, micro 0.769 -> 0.776; bullet rows: SKILL 0.7847 ->
    0.7852, micro 0.7756 -> 0.7759).

    A predicted skill strictly inside a list item ("Microsoft" of "Microsoft Visual Studio",
    "Oracle" + "10g" of "Oracle 10g") grows to the whole item, on any line, when only skills
    overlap the item (5-fold CV SKILL F1 0.725 -> 0.761, micro 0.729 -> 0.750).

    A paragraph of lists in a skills section is a skill paragraph: when at least
    :data:`SKILL_PARAGRAPH_MIN_LISTS` of its lines with two or more items, and
    :data:`SKILL_PARAGRAPH_MIN_SHARE` of them, are completed lists, every such line is (the
    lines the tagger found nothing on, "• Project Management • IBM - TOCP, Mediaroom"). 5-fold
    CV SKILL F1 0.8009 -> 0.8120, micro 0.7883 -> 0.7944 (order seed 1: SKILL 0.7779 ->
    0.7988, micro 0.7718 -> 0.7831). In any section it measured the same in CV (0.8110 /
    0.8027) but completed comma-separated duty bullets of experience entries on the LiveCareer
    PDFs ("Answer phones"). A list line has a comma, semicolon, bar or bullet: an institution
    line in the paragraph ("Riverside College - Pune") is none (same CV numbers)."""
    skills = [e for e in entities if e.label == "SKILL"]
    if not skills:
        return entities
    lines = sorted({doc.line_of(e.start) for e in skills})
    starts = doc.line_starts
    n_lines = len(starts)
    occupied = sorted((e.start, e.end) for e in entities)
    in_skills_section = section_lines(text, frozenset({"skills"}))
    added: list[Entity] = []
    replaced: set[int] = set()
    done: set[int] = set()
    for line in lines:
        if line in done:
            continue
        # The paragraph around the line: wrapped durations ("(Less\nthan 1 year)") stay whole.
        first = line
        while first > 0 and text[starts[first - 1] : starts[first]].strip():
            first -= 1
        last = line
        while last + 1 < n_lines and text[starts[last + 1] : _line_end(text, starts, last + 1)].strip():
            last += 1
        done.update(range(first, last + 1))
        para_start, para_end = starts[first], _line_end(text, starts, last)
        items = split_skill_block(text, para_start, para_end)
        para_entities = [e for e in entities if e.start < para_end and e.end > para_start]
        by_line: dict[int, list[tuple[int, int]]] = {}
        for s, e in items:
            by_line.setdefault(doc.line_of(s), []).append((s, e))
        line_text = {ln: text[starts[ln] : _line_end(text, starts, ln)].strip() for ln in range(first, last + 1)}
        skills_by_line: dict[int, list[Entity]] = {}
        for ent in skills:
            if para_start <= ent.start < para_end:
                skills_by_line.setdefault(doc.line_of(ent.start), []).append(ent)
        hits: dict[int, list[bool]] = {
            ln: [any(e.start < b and e.end > a for e in skills_by_line.get(ln, [])) for a, b in line_items]
            for ln, line_items in by_line.items()
        }
        complete = {
            ln
            for ln, hit in hits.items()
            if len(hit) >= 2 and sum(hit) >= SKILL_LIST_MIN_SHARE * len(hit) and ln in skills_by_line
        }
        complete |= _skill_table_rows(text, starts, first, last, by_line, set(skills_by_line))
        # A list wrapped over lines: the lines joined by a trailing comma are one list.
        runs: list[list[int]] = [[first]]
        for ln in range(first + 1, last + 1):
            if line_text[ln - 1].endswith((",", ";")) and line_text[ln][:1] not in _BULLET_CHARS:
                runs[-1].append(ln)
            else:
                runs.append([ln])
        for run in runs:
            for prev, ln in itertools.pairwise(run):
                if prev in complete:
                    complete.add(ln)
        # A paragraph of lists: when enough of its list lines are skill lists, all of them are.
        list_lines = {
            ln
            for ln, its in by_line.items()
            if len(its) >= 2 and ln in in_skills_section and _LIST_SEPARATOR_RE.search(line_text[ln])
        }
        done_lists = complete & list_lines
        done_share = len(done_lists) / len(list_lines) if list_lines else 0.0
        if len(done_lists) >= SKILL_PARAGRAPH_MIN_LISTS and done_share >= SKILL_PARAGRAPH_MIN_SHARE:
            complete |= list_lines
        run_of = {ln: run for run in runs for ln in run}
        para_conf = min(e.confidence for x in skills_by_line.values() for e in x)
        for ln, line_items in by_line.items():
            if ln not in skills_by_line and ln not in complete:
                continue
            # Confidence: the line's own skills, else its wrapped list's, else the table's.
            own = skills_by_line.get(ln) or [e for x in run_of[ln] for e in skills_by_line.get(x, [])]
            conf = min((e.confidence for e in own), default=para_conf)
            for (a, b), h in zip(line_items, hits[ln], strict=True):
                if h:
                    grow = _grow_to_item(a, b, para_entities)
                    if grow:
                        replaced.update(id(e) for e in grow)
                        grown_conf = min(e.confidence for e in grow)
                        added.append(Entity("SKILL", text[a:b], a, b, ln + 1, grown_conf, "model"))
                    continue
                if ln not in complete or any(s < b and e > a for s, e in occupied):
                    continue
                added.append(Entity("SKILL", text[a:b], a, b, ln + 1, conf, "model"))
    return [e for e in entities if id(e) not in replaced] + added


# A skills section's table rows: the list lines (two items or more) of its paragraphs of at most
# this many lines are all skill lists when at least this many, and this share, of them hold
# predicted skills (paragraphs of any length: SKILL F1 0.8257 in 5-fold CV but 0.7927 on order
# seed 1, sentence bullets; 2 lines: 0.8141 / 0.8017; 6: 0.8180 / 0.7996).
SKILL_ROW_MAX_LINES = 3
SKILL_SECTION_MIN_LISTS = 2
SKILL_SECTION_MIN_SHARE = 0.5


def _skill_sections(text: str) -> list[list[int]]:
    """The lines (headers excluded) of each skills section, one list per section header."""
    out: list[list[int]] = []
    current: list[int] | None = None
    for line, section in enumerate(line_sections(text)):
        if section is None:  # a header: the next skills line starts a new section
            current = None
        elif section == "skills":
            if current is None:
                current = []
                out.append(current)
            current.append(line)
    return out


def complete_skill_sections(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A skills section's table rows are all skill lists: a table laid out one row per
    paragraph ("Development Tools MVC, Singleton, DAO" between blank lines) escapes the
    paragraph rules of :func:`complete_skill_lists`. When at least
    :data:`SKILL_SECTION_MIN_LISTS`, and :data:`SKILL_SECTION_MIN_SHARE`, of the list lines
    (two items or more, and a comma, semicolon, bar or bullet) of the section's short paragraphs
    (at most :data:`SKILL_ROW_MAX_LINES` lines) hold predicted skills, the items of the others
    become skills too, where no entity is; the category word stays on the first item without a
    colon, as annotators keep it ("Development Tools MVC"). 5-fold CV SKILL F1 0.8120 -> 0.8166,
    micro 0.7960 -> 0.7989 (order seed 1: SKILL 0.7988 -> 0.8010, micro 0.7849 -> 0.7860).
    Completing one-item lines ("Maven 3") in such sections too measured nothing more."""
    skills = [e for e in entities if e.label == "SKILL"]
    if not skills:
        return entities
    starts = doc.line_starts
    skill_lines = {doc.line_of(e.start) for e in skills}
    occupied = [(e.start, e.end) for e in entities]
    added: list[Entity] = []
    for section in _skill_sections(text):
        list_lines: dict[int, list[tuple[int, int]]] = {}
        blank = [not text[starts[ln] : _line_end(text, starts, ln)].strip() for ln in section]
        for is_blank, group in itertools.groupby(zip(section, blank, strict=True), key=lambda x: x[1]):
            para = [ln for ln, _ in group]
            if is_blank or len(para) > SKILL_ROW_MAX_LINES:
                continue
            # Split the whole paragraph: a duration wrapped over a line ("(Less\nthan 1 year)")
            # is no item.
            by_line: dict[int, list[tuple[int, int]]] = {}
            for a, b in split_skill_block(text, starts[para[0]], _line_end(text, starts, para[-1])):
                by_line.setdefault(doc.line_of(a), []).append((a, b))
            for ln, items in by_line.items():
                if len(items) >= 2 and _LIST_SEPARATOR_RE.search(text, starts[ln], _line_end(text, starts, ln)):
                    list_lines[ln] = items
        with_skills = set(list_lines) & skill_lines
        if len(with_skills) < SKILL_SECTION_MIN_LISTS or len(with_skills) < SKILL_SECTION_MIN_SHARE * len(list_lines):
            continue
        conf = min(e.confidence for e in skills if doc.line_of(e.start) in with_skills)
        for ln, items in list_lines.items():
            for a, b in items:
                if not any(s < b and t > a for s, t in occupied):
                    added.append(Entity("SKILL", text[a:b], a, b, ln + 1, conf, "model"))
    return entities + added


# A skills section's "Category: items" rows are all skill lists when at least this many, and this
# share, of them hold predicted skills, wherever the rows stand in the section (5-fold CV SKILL
# F1, order seeds 0 / 1: 2 rows and 0.34: 0.8253 / 0.8137; 2 and 0.5: 0.8253 / 0.8114; 3 and 0.5:
# 0.8228 / 0.8107; 1 and 0.34: 0.8253 / 0.8147; 2 and 0.25: 0.8233 / 0.8137).
SKILL_CATEGORY_MIN_ROWS = 2
SKILL_CATEGORY_MIN_SHARE = 0.34


def complete_category_rows(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A skills section's "Category: items" rows ("• Office tools: Word, Excel", "Reporting:
    Crystal Reports") are all skill lists when :data:`SKILL_CATEGORY_MIN_ROWS`, and
    :data:`SKILL_CATEGORY_MIN_SHARE`, of the section's category rows hold predicted skills, even
    where the rows are spread over short paragraphs that the paragraph rules of
    :func:`complete_skill_lists` see too few of, or hold one item: the items of the others
    become skills where no entity is. 5-fold CV SKILL F1 0.8214 -> 0.8253, micro 0.8151 ->
    0.8174 (order seed 1: SKILL 0.8092 -> 0.8137, micro 0.8066 -> 0.8093); no change on the
    LiveCareer PDFs."""
    skills = [e for e in entities if e.label == "SKILL"]
    if not skills:
        return entities
    starts = doc.line_starts
    skill_lines = {doc.line_of(e.start) for e in skills}
    occupied = [(e.start, e.end) for e in entities]
    added: list[Entity] = []
    for section in _skill_sections(text):
        rows = [ln for ln in section if _CATEGORY_ROW_RE.match(text, starts[ln], _line_end(text, starts, ln))]
        with_skills = [ln for ln in rows if ln in skill_lines]
        if len(with_skills) < SKILL_CATEGORY_MIN_ROWS or len(with_skills) < SKILL_CATEGORY_MIN_SHARE * len(rows):
            continue
        conf = min(e.confidence for e in skills if doc.line_of(e.start) in with_skills)
        for ln in rows:
            if ln in skill_lines:
                continue
            for a, b in split_skill_block(text, starts[ln], _line_end(text, starts, ln)):
                if not any(s < b and t > a for s, t in occupied):
                    added.append(Entity("SKILL", text[a:b], a, b, ln + 1, conf, "model"))
    return entities + added


def tidy_skill_items(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A list's end marker is no part of its last skill: "JavaScript etc." -> "JavaScript"
    (5-fold CV: one false positive less, SKILL F1 0.7852 -> 0.7855). A leading "and"
    ("and Docker") stays: annotators include it as often as not (cutting it: SKILL -0.003)."""
    out: list[Entity] = []
    for ent in entities:
        if ent.label == "SKILL":
            m = _SKILL_LIST_END_RE.fullmatch(ent.text)
            if m and m.group("skill"):
                a, b = ent.start + m.start("skill"), ent.start + m.end("skill")
                ent = Entity(ent.label, text[a:b], a, b, ent.line, ent.confidence, ent.source)
        out.append(ent)
    return out


# Sections that tell a candidate's history, not their skill list: annotators label no skills there.
NO_SKILL_SECTIONS = frozenset({"experience", "projects", "education", "certifications", "awards"})


def skills_from_skill_sections(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A SKILL in an experience, projects, education, certifications or awards section
    (:data:`NO_SKILL_SECTIONS`) is dropped, and one before the first section header too when the
    resume has a skills section: the annotators label the skills a resume lists, rarely the
    tools its job and project descriptions mention. 5-fold CV SKILL F1 0.7855 -> 0.8009, micro
    0.7795 -> 0.7883 (order seed 1: SKILL 0.7683 -> 0.7779, micro 0.7665 -> 0.7718): 58 false
    skills less for 3 true ones; run before the entry passes, the freed text also lifts COMPANY
    0.6087 -> 0.6157. Before the first header, only with a skills section: a resume without
    section headers is all "top" (same CV numbers). Dropping skills in languages (SKILL -0.008)
    or additional-information sections (-0.021) lost."""
    if not any(e.label == "SKILL" for e in entities):
        return entities
    sections = NO_SKILL_SECTIONS
    if section_lines(text, frozenset({"skills"})):
        sections = sections | {"top"}
    lines = section_lines(text, sections)
    return [e for e in entities if e.label != "SKILL" or doc.line_of(e.start) not in lines]


def entry_fields(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """Titles and companies of resume-builder entries laid out one field per line
    (:func:`model_runtime.layout.layout_entries`). The tagger, trained on DataTurks'
    one-line entries, finds almost none of them (17 of 96 LiveCareer PDFs had any title).
    A layout field replaces the tagger's overlapping entry / location spans (the layout says
    which line is which); it yields to any other label.

    Education entries: the layout's degree and college always replace the tagger's (their
    ``"rule"`` source tells :func:`model_runtime.structure.structure_entities` to pair them
    by layout order), its graduation year is added where no other entity is, and the tagger's
    other degrees and colleges overlapping the entry (a field of study called a college)
    are dropped. LiveCareer PDFs: documents with a degree-and-college entry 28 -> 67 of 96."""
    fields, edu_spans = layout_entries(text)
    if not fields:
        return entities
    replaced: set[int] = set()
    added: list[Entity] = []
    for label, s, e in fields:
        overlapping = [x for x in entities if x.start < e and x.end > s]
        if any(x.label not in _LAYOUT_REPLACES for x in overlapping):
            continue
        education = label in _LAYOUT_EDUCATION
        if not education and any(x.label == label and x.start <= s and x.end >= e for x in overlapping):
            continue  # the tagger already has it
        replaced.update(id(x) for x in overlapping)
        added.append(Entity(label, text[s:e], s, e, doc.line_of(s) + 1, LAYOUT_CONFIDENCE, "rule"))
    for x in entities:
        # Overlapping, not only inside: the tagger glues a neighbour line on ("ST / History").
        if x.label in ("DEGREE", "COLLEGE") and any(x.start < b and x.end > a for a, b in edu_spans):
            replaced.add(id(x))
    return [x for x in entities if id(x) not in replaced] + added


def headings_are_not_names(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A NAME that is a section header ("Career Focus") is dropped, and one with a word of a
    job title or line of work ("ACCOUNTANT", "Director of Business Development",
    "INFORMATION TECHNOLOGY") becomes a DESIGNATION: resume-builder templates put the
    target title where a name usually is, and anonymised ones have no name at all. Changes
    nothing on DataTurks (checked on all 157 documents), where that line is the name."""
    designations = [e for e in entities if e.label == "DESIGNATION"]
    out: list[Entity] = []
    for e in entities:
        if e.label == "NAME":
            if section_of_line(e.text.strip()) is not None:
                continue
            if any(w in HEADLINE_WORDS for w in re.findall(r"[a-z]+", e.text.lower())):
                if not any(d.start < e.end and d.end > e.start for d in designations):
                    out.append(Entity("DESIGNATION", e.text, e.start, e.end, e.line, e.confidence, e.source))
                continue
        out.append(e)
    return out


def candidate_location(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """The candidate's location is the first one mentioned (the header; later ones are where
    jobs and schools were): other values are dropped, as the structured result keeps only the
    first. Nearly every training resume has exactly one (5-fold CV LOCATION F1 0.85 -> 0.91)."""
    locations = [e for e in entities if e.label == "LOCATION"]
    if len(locations) < 2:
        return entities
    first = min(locations, key=lambda e: e.start)
    value = normalize_value(first.text, "LOCATION")
    return [e for e in entities if e.label != "LOCATION" or normalize_value(e.text, "LOCATION") == value]


# Labels whose predicted spans get their edges cleaned (:func:`trim_entity_span`): names of
# titles, organisations and qualifications, which never start or end with a function word.
EDGE_TRIMMED_LABELS = frozenset({"DESIGNATION", "COMPANY", "COLLEGE", "DEGREE"})
# "as a Test Analyst", "from ABC Institute": words that glue an entity to its sentence.
_LEADING_GLUE = frozenset({"a", "an", "from", "at", "in", "as", "with", "by", "for", "to", "of", "and", "&", "on"})
# "Security Analyst in", "Senior Engineer at", "B.Tech. in": the tagger stopped before the rest.
_TRAILING_GLUE = frozenset(
    {"a", "an", "the", "from", "at", "in", "as", "with", "by", "for", "to", "of", "and", "&", "on"}
)
# "Company: Acme Corp", "Employer 2: X", "Job Title: Y": a field's label before its value. Only
# the names of fields: in "Event Coordinator: Spring Fundraiser" the part before the colon is the
# title itself.
_FIELD_LABEL_RE = re.compile(
    r"(?:(?:current|present|previous|last)\s+)?(?:company|employer|organi[sz]ation|client|designation"
    r"|(?:job\s+)?title|role|position|institute|institution|college|university|school|degree"
    r"|qualification|course)(?:\s+name)?(?:\s*\d{1,2})?\s*:\s*(?=\S)",
    re.IGNORECASE,
)
_EDGE_JUNK = " \t\r\n,;:-–—|•*"


def trim_entity_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` without a leading field label ("Company: "), leading / trailing function
    words ("as a", "at", "in") and the separators they leave; ``(start, start)`` when nothing is
    left. Only whole words are removed, so "Bank of India" keeps its inner "of"."""
    m = _FIELD_LABEL_RE.match(text, start, end)
    if m:
        start = m.end()
    changed = True
    while changed and start < end:
        changed = False
        while start < end and text[start] in _EDGE_JUNK:
            start += 1
        while end > start and text[end - 1] in _EDGE_JUNK:
            end -= 1
        first = re.match(r"\S+", text[start:end])
        if first and first.group().lower() in _LEADING_GLUE and first.end() < end - start:
            start += first.end()
            changed = True
            continue
        last = re.search(r"\S+$", text[start:end])
        if last and last.group().lower() in _TRAILING_GLUE and last.start() > 0:
            end = start + last.start()
            changed = True
    if text[start:end].lower() in _LEADING_GLUE | _TRAILING_GLUE:
        return start, start
    return start, end


def trim_edges(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """Titles, companies, colleges and degrees without a leading field label or edge function
    words (:func:`trim_entity_span`): "Security Analyst in" -> "Security
    Analyst", "Company: Acme" -> "Acme". An entity with nothing left is dropped."""
    out: list[Entity] = []
    for e in entities:
        if e.label in EDGE_TRIMMED_LABELS:
            s, t = trim_entity_span(text, e.start, e.end)
            if s >= t:
                continue
            if (s, t) != (e.start, e.end):
                e = Entity(e.label, text[s:t], s, t, doc.line_of(s) + 1, e.confidence, e.source)
        out.append(e)
    return out


# Sections that list tools, products and projects rather than employers.
TOOL_SECTIONS = frozenset({"skills", "projects", "certifications", "awards", "languages", "additional"})


def no_companies_in_tool_sections(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A company name in a skills, projects, certifications, awards, languages or additional
    information section is a product or vendor ("Oracle 11g", "Microsoft Excel", "certified by
    Cisco"), not an employer, unless its line is an employer entry ("Acme Corp -  Pune -",
    "Company: Acme"): those are dropped (5-fold CV COMPANY F1 0.596 -> 0.609).

    Run (with :func:`no_vendor_products`) before the skill passes: a vendor the tagger called a
    company ("Oracle" of "Databases: Oracle 10g, MySQL") otherwise holds its list item while the
    lists are completed, and the item ends up neither skill nor company. 5-fold CV SKILL F1
    0.8189 -> 0.8214, micro 0.8138 -> 0.8151 (order seed 1: SKILL 0.8084 -> 0.8092, micro
    0.8061 -> 0.8066); COMPANY unchanged."""
    tool_lines = section_lines(text, TOOL_SECTIONS)
    if not tool_lines:
        return entities
    starts = doc.line_starts

    def employer_entry(line: int) -> bool:
        content = text[starts[line] : _line_end(text, starts, line)].strip()
        return content.endswith(" -") or "company" in content.lower()

    return [
        e
        for e in entities
        if not (e.label == "COMPANY" and e.line - 1 in tool_lines and not employer_entry(e.line - 1))
    ]


# What follows a vendor's name when it names a product or a certificate, not an employer: a
# version ("Oracle 11g", "SAP ABAP 7.4"), "certified" ("Cisco Certified ..."), an office product.
_PRODUCT_AFTER_RE = re.compile(
    r"[ \t]+(?:\d+(?:[ \t]?[a-z]\b|\.\d)"
    r"|(?:certified|certification|excel|word|power\s*point|outlook|office|access|bi)\b)",
    re.IGNORECASE,
)


def no_vendor_products(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A company followed by a version, "certified" or an office product ("Oracle 11g", "Oracle
    certified Java Programmer", "Microsoft Excel, Microsoft Word", "Microsoft BI") names a product
    or a certificate, not an employer: dropped. 5-fold CV COMPANY F1 0.6379 -> 0.6451, micro
    0.7816 -> 0.7821 (order seed 1: COMPANY 0.6371 -> 0.6474, micro 0.7684 -> 0.7691), no true
    company lost."""
    return [e for e in entities if not (e.label == "COMPANY" and _PRODUCT_AFTER_RE.match(text, e.end))]


def complete_truncated_titles(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A title the tagger stopped early on ("Principal Engineer" of "Principal Engineer
    Technical Staff" while it found the whole title elsewhere in the resume) grows to the
    whole title where the text goes on with it (5-fold CV DESIGNATION F1 0.671 -> 0.683; the
    same for companies, colleges or degrees measured no gain). A shorter title that is not
    followed by the rest ("Accountant" and, at another job, "Accountant II") is left alone."""
    titles = [e for e in entities if e.label == "DESIGNATION"]
    values = {normalize_value(e.text, "DESIGNATION") for e in titles}
    longer = {v: [w for w in values if w.startswith(v + " ")] for v in values}
    if not any(longer.values()):
        return entities
    merged: set[int] = set()
    out: list[Entity] = []
    for e in entities:
        if e.label != "DESIGNATION" or id(e) in merged:
            out.append(e)
            continue
        wanted = longer[normalize_value(e.text, "DESIGNATION")]
        line = doc.line_of(e.start)
        # The rest may wrap onto the next line.
        limit = _line_end(text, doc.line_starts, min(line + 1, len(doc.line_starts) - 1))
        for m in re.finditer(r"\S(?=\s|$)", text[e.end : limit]):
            end = e.end + m.end()
            inside = [x for x in entities if x is not e and x.start < end and x.end > e.end]
            # The rest may be another title span of the tagger's ("Contoso Dynamics" +
            # "AX Consultant"), but no other entity.
            if any(x.label != "DESIGNATION" or x.end > end for x in inside):
                if any(x.label != "DESIGNATION" for x in inside):
                    break
                continue
            if normalize_value(text[e.start : end], "DESIGNATION") in wanted:
                merged.update(id(x) for x in inside)
                e = Entity(e.label, text[e.start : end], e.start, end, e.line, e.confidence, e.source)
                break
        out.append(e)
    return [e for e in out if id(e) not in merged]


def complete_place_names(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A location the tagger cut inside a place name ("Tamil" of "Tamil Nadu, India",
    "Spring" of "Spring Valley, Nevada") grows to the whole comma- or dash-delimited part of its
    line, when that part is at most :data:`PLACE_MAX_WORDS` capitalised words and holds no
    other entity (5-fold CV LOCATION F1 0.917 -> 0.926)."""
    out: list[Entity] = []
    for e in entities:
        if e.label == "LOCATION":
            seg_start, seg_end = _segment_around(text, doc, e, _PLACE_SPLIT_RE)
            part = text[seg_start:seg_end]
            seg_start += len(part) - len(part.lstrip())
            seg_end -= len(part) - len(part.rstrip())
            words = text[seg_start:seg_end].split()
            if (
                (seg_start, seg_end) != (e.start, e.end)
                and seg_start <= e.start
                and seg_end >= e.end
                and len(words) <= PLACE_MAX_WORDS
                and all(w[0].isupper() for w in words)
                and not any(o is not e and o.start < seg_end and o.end > seg_start for o in entities)
            ):
                e = Entity(e.label, text[seg_start:seg_end], seg_start, seg_end, e.line, e.confidence, e.source)
        out.append(e)
    return out


def header_location(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A "Place, Region[, Postcode, Country]" line among the first :data:`HEADER_LINES` lines of
    the resume (its contact header) gives the candidate's location: the first part
    ("Springfield" of "Springfield, Illinois, 62701, US"). When the tagger found no location,
    small towns it does not know (5-fold CV LOCATION F1 0.926 -> 0.944, no new false positive).
    The place line also wins over the tagger's locations on the lines above it (an employer
    or a word of the headline, "Software Engineer - Contoso"), which would otherwise be the
    first location and so the candidate's (:func:`candidate_location`): 5-fold CV LOCATION
    0.9442 -> 0.9533, micro 0.8156 -> 0.8158 (order seed 1: LOCATION 0.9446 -> 0.9530, micro
    0.8075 -> 0.8080); on order seed 0 the headline a false location had held then gives a
    title cut at the wrong place (DESIGNATION 0.7811 -> 0.7779, one false title)."""
    for line in range(min(HEADER_LINES, len(doc.line_starts))):
        start = doc.line_starts[line]
        content = text[start : _line_end(text, doc.line_starts, line)]
        if header_section(content) is not None:
            break
        m = _HEADER_PLACE_RE.match(content)
        if not m:
            continue
        a, b = start + m.start("place"), start + m.end("place")
        # "Senior Manager, Operations" is a headline, not a place.
        if any(w in HEADLINE_WORDS for w in re.findall(r"[a-z]+", content.lower())):
            continue
        on_place = [e for e in entities if e.start < b and e.end > a]
        if any(e.label != "LOCATION" for e in on_place):
            continue
        kept = [e for e in entities if e.label != "LOCATION" or e.start >= start]
        if on_place:
            return kept
        return [*kept, Entity("LOCATION", text[a:b], a, b, line + 1, LAYOUT_CONFIDENCE, "rule")]
    return entities


def institution_lines(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """In the education section, a "Name - City, Region" line the tagger found nothing on is
    an entry's institution line: its name is a college (``_INSTITUTION_LINE_RE``; not when
    it starts with a degree word: "B.Sc - Springfield, Illinois"). Education entries put the
    institution on such a line, and the tagger misses most schools there (5-fold CV COLLEGE
    F1 0.683 -> 0.703, micro 0.7760 -> 0.7768)."""
    lines = education_lines(text)
    if not lines:
        return entities
    added: list[Entity] = []
    for line in sorted(lines):
        start = doc.line_starts[line]
        end = _line_end(text, doc.line_starts, line)
        m = _INSTITUTION_LINE_RE.match(text[start:end])
        if not m:
            continue
        a, b = start + m.start("name"), start + m.end("name")
        words = text[a:b].split()
        if len(words) > SEGMENT_MAX_WORDS or words[0].lower().strip(".,") in DEGREE_WORDS:
            continue
        if any(e.start < end and e.end > start and e.label != "LOCATION" for e in entities):
            continue
        if any(e.start < b and e.end > a for e in entities):
            continue
        added.append(Entity("COLLEGE", text[a:b], a, b, line + 1, LAYOUT_CONFIDENCE, "model"))
    return entities + added


# A line that is only an institution's name: words, dots, apostrophes, "&", parentheses, no digit.
_NAME_LINE_RE = re.compile(r"[^\W\d][\w.'’&()\- ]*")


# A name line right under a degree's line is its college even without an institution word ("DAVV",
# "Hill Valley"), when this short.
COLLEGE_AFTER_DEGREE_MAX_WORDS = 4


def _previous_nonblank(text: str, starts: list[int], line: int) -> int | None:
    for ln in range(line - 1, -1, -1):
        if text[starts[ln] : _line_end(text, starts, ln)].strip():
            return ln
    return None


def _entry_has_college(
    text: str, doc: Document, entities: list[Entity], section: set[int], first: int, last: int
) -> bool:
    """Whether the education entry around lines ``first..last`` holds a college: the lines of
    ``section`` up from ``first`` to the previous dated line and down from ``last`` to the next
    one. In layouts that put the school first ("School / Town / Field / Degree / Field") the
    line under a degree is a field of study, not a college."""
    starts = doc.line_starts
    college_lines = {doc.line_of(e.start) for e in entities if e.label == "COLLEGE"}

    def dated(ln: int) -> bool:
        return bool(GRAD_YEAR_RE.search(text, starts[ln], _line_end(text, starts, ln)))

    ln = first
    while ln in section and not (ln < first and dated(ln)):
        if ln in college_lines:
            return True
        ln -= 1
    ln = last
    while ln in section:
        if ln in college_lines:
            return True
        if dated(ln):
            break
        ln += 1
    return False


def _starts_split_place(text: str, starts: list[int], line: int) -> bool:
    """Whether ``line`` is the town of a place split over lines ("City" / "," / "State", as
    resume-builder PDFs lay out "City, State"): the next non-blank line starts with a comma."""
    after = _next_nonblank(text, starts, line)
    return after is not None and text[starts[after] : _line_end(text, starts, after)].lstrip().startswith(",")


def institution_name_lines(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """In the education section, a line the tagger found nothing on that is only a name with
    an institution word ("Riverside Junior College", "Hill Valley University", "Riverside
    Jr.College": :func:`_names_institution`) is a college:
    education entries give the institution a line of its own, and the tagger misses some
    (those followed by a town are :func:`institution_lines`). So is a short name line under a
    degree's line, past a blank line ("B.Tech" / "" / "DAVV": the Indeed entry layout; a line
    right under the degree is its wrapped rest). Schools count: annotators label most of them.
    Not under a degree whose entry has a college already (:func:`_entry_has_college`). 5-fold
    CV pooled COLLEGE F1 0.715 -> 0.763, micro 0.8053 -> 0.8085 (order seed 1: 0.718 -> 0.761,
    micro 0.7924 -> 0.7953); the name lines alone 0.745 / 0.746, and dropping school entries'
    colleges instead measured 0.723 / 0.722."""
    lines = education_lines(text)
    if not lines:
        return entities
    added: list[Entity] = []
    degree_lines = {doc.line_of(e.start) for e in entities if e.label == "DEGREE"}
    for line in sorted(lines):
        start = doc.line_starts[line]
        end = _line_end(text, doc.line_starts, line)
        a, b = _line_text_bounds(text, start, end)
        if a >= b or not _NAME_LINE_RE.fullmatch(text, a, b):
            continue
        words = [w.strip(".,()").lower() for w in text[a:b].split()]
        if len(words) > SEGMENT_MAX_WORDS or words[0] in DEGREE_WORDS:
            continue
        above = _previous_nonblank(text, doc.line_starts, line)
        if not _names_institution(text[a:b]) and not (
            len(words) <= COLLEGE_AFTER_DEGREE_MAX_WORDS
            and above in degree_lines
            and above != line - 1
            and not _entry_has_college(text, doc, entities, lines, above, line)
            and not _starts_split_place(text, doc.line_starts, line)
        ):
            continue
        if any(e.start < end and e.end > start for e in entities):
            continue
        added.append(Entity("COLLEGE", text[a:b], a, b, line + 1, LAYOUT_CONFIDENCE, "model"))
    return entities + added


def college_without_place(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A college ending in its town ("Riverside College, Springfield", "Hill High School,
    Lakeview") is the name before the comma: the tail is at most two words, none of them
    an institution word, after a name that has one. A university keeps its tail: "State
    University, Northridge" and "University of X, Y" name a campus (5-fold CV COLLEGE F1
    0.703 -> 0.713, micro 0.7768 -> 0.7776)."""
    out: list[Entity] = []
    for e in entities:
        if e.label == "COLLEGE" and "," in e.text:
            head, _, tail = e.text.rpartition(",")
            head_words = {w.strip(".()").lower() for w in head.split()}
            tail_words = tail.split()
            if (
                1 <= len(tail_words) <= 2
                and all(w[:1].isupper() for w in tail_words)
                and not any(w.strip(".()").lower() in COLLEGE_WORDS for w in tail_words)
                and head_words & COLLEGE_WORDS
                and not head.lower().lstrip().startswith("university of")
                and head.split()[-1].strip(".()").lower() != "university"
            ):
                b = e.start + len(head.rstrip())
                e = Entity(e.label, text[e.start : b], e.start, b, e.line, e.confidence, e.source)
        out.append(e)
    return out


# An institution's name line: at most this many words ("Riverside Institute for Home Science &
# Higher Education for Women").
COLLEGE_LINE_MAX_WORDS = 12


def whole_college_lines(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """In the education section, a college the tagger found at the start of a line that is
    only a name (words, dots, "&", parentheses; no digit or comma) and stopped early on
    ("Riverside Institute" of "Riverside Institute for Home Science & Higher Education") grows
    to the whole line, when nothing else is on it: an entry gives its institution a line of
    its own, and annotators label the name whole. Longer names than
    :func:`expand_to_segments` grows (at most :data:`COLLEGE_LINE_MAX_WORDS` words, any
    share); not past a spaced dash ("University of Lakeview - Business School": a campus or
    school of its own), into a second institution word (two names on one line of a PDF) or to
    a line ending in "of", "and", "in" (the name goes on on the next line).
    5-fold CV COLLEGE F1 0.7725 -> 0.7846, micro 0.8142 -> 0.8150 (order seed 1: COLLEGE
    0.7692 -> 0.7812, micro 0.8066 -> 0.8074): per seed two true colleges more, two false
    ones less; nothing lost."""
    lines = education_lines(text)
    if not lines:
        return entities
    starts = doc.line_starts
    out: list[Entity] = []
    for e in entities:
        line = doc.line_of(e.start)
        if e.label != "COLLEGE" or line not in lines:
            out.append(e)
            continue
        a, b = _line_text_bounds(text, starts[line], _line_end(text, starts, line))
        if (
            e.start == a
            and e.end < b
            and _NAME_LINE_RE.fullmatch(text, a, b)
            and not _SEGMENT_SPLIT_RE.search(text, a, b)
            and not _DEGREE_WRAP_RE.search(text, a, b)
            and len(text[a:b].split()) <= COLLEGE_LINE_MAX_WORDS
            and not _names_institution(text[e.end : b])
            and not any(o is not e and o.start < b and o.end > a for o in entities)
        ):
            e = Entity(e.label, text[a:b], a, b, e.line, e.confidence, e.source)
        out.append(e)
    return out


# "B.Tech in" + "Information Technology": a degree, "in", then its field (also on the wrapped rest).
_FIELD_JOIN_RE = re.compile(r"[ \t]+in\s+", re.IGNORECASE)


def fields_of_study_in_degrees(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A college without an institution word right after a degree and "in" ("B.Tech. in" +
    "Information Technology") is the degree's field of study, not a school: the degree grows
    over it, as annotators label "Degree in Field" whole. 5-fold CV COLLEGE F1 0.7846 -> 0.7893,
    DEGREE 0.7889 -> 0.7962, micro 0.8150 -> 0.8156 (order seed 1: COLLEGE 0.7812 -> 0.7834,
    DEGREE unchanged, micro 0.8074 -> 0.8075): one true degree more, two false colleges less
    (one on order seed 1, where the tagger had the degree whole already)."""
    degrees = [e for e in entities if e.label == "DEGREE"]
    if not degrees:
        return entities
    absorbed: set[int] = set()
    grown: dict[int, Entity] = {}
    for c in entities:
        if c.label != "COLLEGE" or _names_institution(c.text):
            continue
        for d in degrees:
            if d.end <= c.start and id(d) not in grown and _FIELD_JOIN_RE.fullmatch(text, d.end, c.start):
                grown[id(d)] = Entity(d.label, text[d.start : c.end], d.start, c.end, d.line, d.confidence, d.source)
                absorbed.add(id(c))
                break
    return [grown.get(id(e), e) for e in entities if id(e) not in absorbed]


# A degree line's words: at most this many ("Post Graduate Diploma in Business Administration in
# Marketing and Human Resource").
DEGREE_LINE_MAX_WORDS = 16
# A degree line that ends in one of these words goes on on the next line ("... Marketing and" /
# "Human Resource").
_DEGREE_WRAP_RE = re.compile(r"\s(?:and|in|of|&|with|for)$", re.IGNORECASE)
_DEGREE_LINE_EDGES = " \t\r-–—|,;:"


def _line_text_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """``text[start:end]`` (one line) without its bullet in front and its separators behind:
    the span an education line's name or degree may fill."""
    content = text[start:end]
    return start + len(content) - len(content.lstrip(" \t•*-–·")), start + len(content.rstrip(_DEGREE_LINE_EDGES))


def whole_degree_lines(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """In the education section, a degree the tagger found at the start of a line and stopped
    early on ("Diploma" of "Diploma in Marine Engineering", "Bachelor (B" of "Bachelor (B Tech)
    in Name of the Establishment") grows to the whole line: the degree lines of Indeed exports
    are "Degree in Field", and annotators label them whole. A line ending in "and", "in", "of"
    goes on on the next line when that holds no entity and no digit. Not when the rest of the
    line holds a digit (a year) or another entity, nor past :data:`DEGREE_LINE_MAX_WORDS`
    words. 5-fold CV DEGREE F1 0.7539 -> 0.7668, micro 0.7962 -> 0.7969 (order seed 1: DEGREE
    0.7248 -> 0.7437, micro 0.7851 -> 0.7863); without the wrapped line 0.7595 / 0.7363."""
    if not any(e.label == "DEGREE" for e in entities):
        return entities
    starts = doc.line_starts
    lines = education_lines(text)
    out: list[Entity] = []
    for e in entities:
        line = doc.line_of(e.start)
        if e.label != "DEGREE" or line not in lines:
            out.append(e)
            continue
        a, b = _line_text_bounds(text, starts[line], _line_end(text, starts, line))
        if _DEGREE_WRAP_RE.search(text, a, b) and line + 1 < len(starts):
            ns, ne = starts[line + 1], _line_end(text, starts, line + 1)
            rest = text[ns:ne]
            if rest.strip() and not re.search(r"\d", rest) and not any(o.start < ne and o.end > ns for o in entities):
                b = ns + len(rest.rstrip(_DEGREE_LINE_EDGES))
        a, b = trim_entity_span(text, a, b)
        if (
            a == e.start
            and b > e.end
            and len(text[a:b].split()) <= DEGREE_LINE_MAX_WORDS
            and not re.search(r"\d", text[e.end : b])
            and not any(o is not e and o.start < b and o.end > a for o in entities)
        ):
            e = Entity(e.label, text[a:b], a, b, e.line, e.confidence, e.source)
        out.append(e)
    return out


# Degree words without dots or dashes: "B-TECH", "B.C.A" and "H.S.C" are "btech", "bca", "hsc".
_DEGREE_KEYS = frozenset(w.replace(".", "").replace("-", "") for w in DEGREE_WORDS)


# Degree abbreviations ("BE", "B.Tech", "MCA"): the degree words that are no English word or title
# ("Engineering Systems", "Associate", "MD" for a managing director).
_DEGREE_ABBREVIATIONS = _DEGREE_KEYS - {
    "associate",
    "bachelor",
    "bachelor's",
    "bachelors",
    "degree",
    "diploma",
    "doctorate",
    "engineering",
    "graduate",
    "graduation",
    "intermediate",
    "master",
    "master's",
    "masters",
    "matriculation",
    "secondary",
    "postgraduate",
    "ma",
    "md",
    "me",
    "ms",
}


def _degree_key(word: str) -> str:
    return word.lower().strip(",;:()'’").replace(".", "").replace("-", "")


# A degree abbreviation written apart: "B. Tech", "B- Tech", "M. Sc" ("btech", "msc").
_SPACED_DEGREE_RE = re.compile(r"([A-Za-z])\s*[.-]\s+([A-Za-z]+)\.?(?![\w.])")


def degree_word_lines(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """In the education section, a line the tagger found nothing on that starts with a degree
    word ("B.C.A", "B-TECH", "BSc in Physics") and holds no digit is a degree line, whole (as
    :func:`whole_degree_lines`): Indeed exports give the degree a line of its own, and the
    tagger misses the short ones. Not a school-leaving line ("SSC", "H.S.C in State Board":
    annotators skip most of them; with them 4 of 16 added were annotated). 5-fold CV pooled
    DEGREE F1 0.768 -> 0.791, micro 0.8085 -> 0.8099 (order seed 1: 0.747 -> 0.791, micro
    0.7953 -> 0.7980); with school lines 0.777 / 0.783. Runs before the institution passes, so
    that :func:`institution_name_lines` sees the degrees it adds ("BE" / "" / "HVU": the short
    name under a degree is its college): 5-fold CV COLLEGE 0.7893 -> 0.7936, micro 0.8158 ->
    0.8161 (order seed 1: COLLEGE 0.7834 -> 0.7877, micro 0.8080 -> 0.8082).

    A degree abbreviation written apart ("B. Tech in ...", "B- Tech", "M. Sc": the two parts
    join to a degree word) starts a degree line too, and the tagger's fragments of it ("B" a
    college and "Tech" a degree, or "B- Tech" a college) give way to the whole line: 5-fold CV
    DEGREE .7962 -> .8015, COLLEGE .8095 -> .8117, micro .8226 -> .8232 (order seed 1: DEGREE
    .7906 -> .7973, COLLEGE .8079 -> .8101, micro .8138 -> .8144)."""
    lines = education_lines(text)
    if not lines:
        return entities
    added: list[Entity] = []
    for line in sorted(lines):
        start = doc.line_starts[line]
        end = _line_end(text, doc.line_starts, line)
        a, b = _line_text_bounds(text, start, end)
        words = text[a:b].split()
        if not words or len(words) > DEGREE_LINE_MAX_WORDS or re.search(r"\d", text[a:b]):
            continue
        spaced = _SPACED_DEGREE_RE.match(text, a, b)
        if spaced and (spaced.group(1) + spaced.group(2)).lower() not in _DEGREE_KEYS:
            spaced = None
        if (not spaced and _degree_key(words[0]) not in _DEGREE_KEYS) or is_school_level(text[a:b]):
            continue
        if spaced:
            # The tagger's fragments of a spaced abbreviation ("B" / "Tech" of "B- Tech").
            fragments = {
                id(e) for e in entities if e.label in ("DEGREE", "COLLEGE") and e.start < spaced.end() and e.end > a
            }
            entities = [e for e in entities if id(e) not in fragments]
        if any(e.start < end and e.end > start for e in entities):
            continue
        a, b = trim_entity_span(text, a, b)
        if a < b:
            added.append(Entity("DEGREE", text[a:b], a, b, line + 1, LAYOUT_CONFIDENCE, "model"))
    return entities + added


# A headline goes on after its title: "Dance Instructor: Diploma in ...", "Process engineer
# with 5+ years of ...", "Accountant @ Acme", "Engineer at Acme".
_HEADLINE_CUT_RE = re.compile(r"\s+(?:with|having|at)\s|\s*[:@]")
TITLE_LINE_MAX_WORDS = 8
# "Working as Accountant @ Acme": a sentence's verb before the title.
_TITLE_VERB_RE = re.compile(r"(?:currently\s+)?(?:working|worked|work)\s+as\s+(?:an?\s+)?", re.IGNORECASE)
_TITLE_COMMA_RE = re.compile(r"\s*,\s*(?:(?:&|and)\s+)?")
_TITLE_DASH_RE = re.compile(r"\s+[-–—]\s+")


def _has_title_word(value: str) -> bool:
    return any(w in OCCUPATION_WORDS for w in re.findall(r"[a-z]+", value.lower()))


def _next_nonblank(text: str, starts: list[int], line: int) -> int | None:
    for ln in range(line + 1, len(starts)):
        if text[starts[ln] : _line_end(text, starts, ln)].strip():
            return ln
    return None


def _headline_line(text: str, doc: Document, entities: list[Entity]) -> int | None:
    """The headline: the first non-blank line under the candidate's name (a NAME in the
    header), if there is one."""
    names = [e for e in entities if e.label == "NAME" and doc.line_of(e.start) < HEADER_LINES]
    if not names:
        return None
    return _next_nonblank(text, doc.line_starts, doc.line_of(min(names, key=lambda e: e.start).end))


def _first_experience_line(text: str, starts: list[int]) -> int | None:
    """The first non-blank line under the first experience header, if it is still in that
    section (a header followed at once by another header has none)."""
    sections = line_sections(text)
    header = next(
        (ln for ln, sec in enumerate(sections[:-1]) if sec is None and sections[ln + 1] == "experience"),
        None,
    )
    if header is None:
        return None
    line = _next_nonblank(text, starts, header)
    return line if line is not None and sections[line] == "experience" else None


def headline_title(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """The line right under the candidate's name is their headline: when the tagger found
    nothing on it and it names an occupation (:data:`model_runtime.lexicon.OCCUPATION_WORDS`:
    "Head of Field Services", "Client Support (Billing Analyst)"), it becomes a DESIGNATION.
    Only its part before ":", " with " or " having " ("Dance Instructor :Diploma in ..."), at most
    :data:`TITLE_LINE_MAX_WORDS` words, without a bullet or sentence end, not a section header.
    5-fold CV DESIGNATION F1 0.683 -> 0.701, micro 0.7776 -> 0.7786 (order seed 1: DESIGNATION
    0.661 -> 0.670, micro 0.7650 -> 0.7655). Without the occupation word: 2 more true titles
    for 7 false ones (DESIGNATION -0.009). A sentence's verb and the employer go too ("Working
    as accountant @ Acme", "Engineer at Acme": :func:`titles_without_employers`; DESIGNATION
    0.7260 -> 0.7312, micro 0.8006 -> 0.8008, order seed 1 unchanged)."""
    line = _headline_line(text, doc, entities)
    if line is None:
        return entities
    starts = doc.line_starts
    ls, le = starts[line], _line_end(text, starts, line)
    if m := _HEADLINE_CUT_RE.search(text, ls, le):
        le = m.start()
    if m := _TITLE_VERB_RE.match(text, ls + len(text[ls:le]) - len(text[ls:le].lstrip()), le):
        ls = m.end()
    title = _title_line(text, ls, le, line, entities)
    return entities if title is None else [*entities, title]


_URL_IN_LINE_RE = re.compile(r"://|\bwww\.", re.IGNORECASE)


def _title_line(
    text: str,
    ls: int,
    le: int,
    line: int,
    entities: list[Entity],
    *,
    allow_job_sentence: bool = True,
    need_title_word: bool = True,
) -> Entity | None:
    """``text[ls:le]`` (one line, or its start) as a DESIGNATION when it reads as a title line:
    an occupation word (unless ``need_title_word`` is false: the layout alone tells it is a title),
    at most :data:`TITLE_LINE_MAX_WORDS` words, no bullet or sentence end, not a section header,
    nothing the tagger found on it; with ``allow_job_sentence=False`` also not a sentence about a
    job ("Working in Acme as ...")."""
    content = text[ls:le]
    stripped = content.strip()
    if (
        not stripped
        or stripped[0] in _BULLET_CHARS
        or stripped[-1] in ".:;!?,"
        or len(stripped.split()) > TITLE_LINE_MAX_WORDS
        or section_of_line(stripped) is not None
        or (not allow_job_sentence and _JOB_SENTENCE_RE.match(stripped))
        or (need_title_word and not _has_title_word(stripped))
        # A link the rules hold (passes see only the tagger's entities): Indeed's page URL.
        or _URL_IN_LINE_RE.search(stripped)
    ):
        return None
    a = ls + len(content) - len(content.lstrip())
    b = a + len(stripped)
    if any(e.start < b and e.end > a for e in entities):
        return None
    return Entity("DESIGNATION", text[a:b], a, b, line + 1, LAYOUT_CONFIDENCE, "rule")


def split_title_lists(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """Two titles in one span ("Network Engineer ,Storage Engineer": every comma part holds an
    occupation word) are two titles; a title, a spaced dash and a part without an occupation
    word ("Test Engineer - Payments & Billing": a line of work, a team, a client) is the
    title before the dash. 5-fold CV DESIGNATION F1 0.701 -> 0.718, micro 0.7786 -> 0.7795
    (order seed 1: DESIGNATION 0.670 -> 0.687, micro 0.7655 -> 0.7665); the comma and the
    dash rules each gained alone."""
    out: list[Entity] = []
    for e in entities:
        if e.label != "DESIGNATION":
            out.append(e)
            continue
        pieces: list[tuple[int, int]] = []
        pos = 0
        for sep in _TITLE_COMMA_RE.finditer(e.text):
            pieces.append((pos, sep.start()))
            pos = sep.end()
        pieces.append((pos, len(e.text)))
        if len(pieces) > 1 and all(_has_title_word(e.text[a:b]) for a, b in pieces):
            for a, b in pieces:
                s, t = e.start + a, e.start + b
                out.append(Entity(e.label, text[s:t], s, t, doc.line_of(s) + 1, e.confidence, e.source))
            continue
        dash = _TITLE_DASH_RE.search(e.text)
        if dash and _has_title_word(e.text[: dash.start()]) and not _has_title_word(e.text[dash.end() :]):
            t = e.start + dash.start()
            e = Entity(e.label, text[e.start : t], e.start, t, e.line, e.confidence, e.source)
        out.append(e)
    return out


# "Trainer-Core Banking-Acme", "Support Executive at Acme", "Accountant @ Acme": the employer
# after the title (its last part).
_TITLE_EMPLOYER_RE = re.compile(r"(?:\s+(?:at|@)\s+|\s*@\s*|(?<=\w)-(?=[A-Z]))(?P<company>[^-@\n]+?)\s*$")


def titles_without_employers(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A title glued to its sentence's verb or to its employer ("Working as accountant @ Acme",
    "Trainer-Core Banking-Acme Ltd", "Support Executive at Acme") is the title alone; the
    employer (a company the tagger found in the document, or a part with a company word:
    :data:`model_runtime.lexicon.COMPANY_WORDS`) becomes a COMPANY where no other entity is.
    The title left must name an occupation. 5-fold CV DESIGNATION F1 0.7182 -> 0.7260, COMPANY
    0.6451 -> 0.6502, micro 0.7999 -> 0.8006 (order seed 1: DESIGNATION 0.6896 -> 0.7064, COMPANY
    0.6474 -> 0.6526, micro 0.7873 -> 0.7886); every title it changed became a true one."""
    companies = {normalize_value(e.text, "COMPANY") for e in entities if e.label == "COMPANY"}
    out: list[Entity] = []
    for e in entities:
        if e.label != "DESIGNATION":
            out.append(e)
            continue
        s, t = e.start, e.end
        if m := _TITLE_VERB_RE.match(text, s, t):
            s = m.end()
        employer: Entity | None = None
        if m := _TITLE_EMPLOYER_RE.search(text, s, t):
            name = m.group("company")
            words = re.findall(r"[a-z.]+", name.lower())
            if normalize_value(name, "COMPANY") in companies or any(w in COMPANY_WORDS for w in words):
                cs, t = m.start("company"), m.start()
                ct = cs + len(name)
                if not any(o is not e and o.start < ct and o.end > cs for o in entities):
                    employer = Entity("COMPANY", name, cs, ct, doc.line_of(cs) + 1, e.confidence, e.source)
        if (s, t) != (e.start, e.end) and s < t and _has_title_word(text[s:t]):
            e = Entity(e.label, text[s:t], s, t, doc.line_of(s) + 1, e.confidence, e.source)
            if employer is not None:
                out.append(employer)
        out.append(e)
    return out


# "Working in Acme as a developer": a sentence about the job, not a title line ("Working as
# accountant" is one: :func:`titles_without_employers` keeps its title).
_JOB_SENTENCE_RE = re.compile(r"\s*(?:currently\s+)?(?:working|worked|work)\b(?!\s+as\b)", re.IGNORECASE)


def first_entry_title(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """The first line under the experience section's header opens its first entry, in the
    common "Title / Company - Place / Dates" layout the title: when the tagger found nothing on
    it and it is a title line (an occupation word, at most :data:`TITLE_LINE_MAX_WORDS` words,
    no bullet or sentence end, not a job sentence), it becomes a DESIGNATION. The tagger misses
    it where the entry is laid out one field per line, and annotators label the current title
    even when they skip the older ones (for later entries the same rule added 4 true titles for
    24 false ones in the training split). 5-fold CV DESIGNATION F1 0.7312 -> 0.7668, micro
    0.8027 -> 0.8047 (order seed 1: DESIGNATION 0.7064 -> 0.7515, micro 0.7903 -> 0.7930);
    requiring a date line within the next 3 lines gained less (0.7496). When the line opens a
    dated entry (the next lines are an employer line and a date: :func:`_opens_dated_entry`) the
    layout alone makes it the title, occupation word or not ("Team Member", "Product
    Development", "SMTS"): with :func:`first_employer_line` skipping place-only employer lines,
    5-fold CV DESIGNATION F1 0.7811 -> 0.7895, COMPANY 0.6905 -> 0.7028 (the employer of the
    title found), micro 0.8138 -> 0.8149 (order seed 1: DESIGNATION 0.7654 -> 0.7678, COMPANY
    0.7018 -> 0.7067, micro 0.8061 -> 0.8065)."""
    starts = doc.line_starts
    line = _first_experience_line(text, starts)
    if line is None:
        return entities
    title = _title_line(
        text,
        starts[line],
        _line_end(text, starts, line),
        line,
        entities,
        allow_job_sentence=False,
        need_title_word=not _opens_dated_entry(text, starts, line),
    )
    return entities if title is None else [*entities, title]


def _opens_dated_entry(text: str, starts: list[int], line: int) -> bool:
    """Whether ``line`` is followed by an employer line ("Acme -  Pune, MH -", "Acme -") and then
    a line holding a date ("May 2016 to Present"): the "Title / Company - Place / Dates" layout."""
    employer = _next_nonblank(text, starts, line)
    if employer is None or not _EMPLOYER_LINE_RE.match(text, starts[employer], _line_end(text, starts, employer)):
        return False
    dates = _next_nonblank(text, starts, employer)
    return dates is not None and bool(DATE_RE.search(text, starts[dates], _line_end(text, starts, dates)))


def names_are_not_titles(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A DESIGNATION reading the same as a NAME the tagger found is the candidate's name on a
    headline line ("Jane Doe - BE Computer Science - ..." split at its dashes), and one with no
    occupation word that is a known skill (:func:`model_runtime.skills_taxonomy.canonical_skill`:
    "MS Office", "Microsoft Excel") is a tool from a list: neither is a title. 5-fold CV
    DESIGNATION F1 0.7668 -> 0.7748, micro 0.8047 -> 0.8052 (order seed 1: 0.7515 -> 0.7593,
    micro 0.7930 -> 0.7934). Relabelling the skills as SKILL instead measured 0.0001 lower.

    A title in a skills, projects or other tool section (:data:`TOOL_SECTIONS`: a project's role
    line, a stray line among the skills) is no title either: annotators label the headline's
    and the experience entries' titles. 5-fold CV DESIGNATION F1 0.7951 -> 0.7981, micro 0.8215
    -> 0.8217 (order seed 1: DESIGNATION 0.7763 -> 0.7819, micro 0.8123 -> 0.8126); no true
    title lost. Not under a template experience header the section lexicon misses ("Military
    Experience" after the skills: one LiveCareer title kept).

    One without an occupation word that opens with a degree abbreviation (``_DEGREE_ABBREVIATIONS``:
    "BE Computer Science" of a "Name - Degree - Experience" headline) is the candidate's
    qualification: dropped. 5-fold CV DESIGNATION F1 0.7981 -> 0.8011, micro 0.8217 -> 0.8218
    (order seed 1: DESIGNATION 0.7819 -> 0.7849, micro 0.8126 -> 0.8128); every degree word
    instead also dropped a LiveCareer title ("Engineering ...").

    Nor is one without an occupation word on a list line (two list separators or more:
    "Excel, Power Point, Word, ...", "Partner sites A, B, C and D"): an item of a list. 5-fold CV
    DESIGNATION F1 0.8011 -> 0.8073, micro 0.8219 -> 0.8222 (order seed 1: DESIGNATION 0.7849 ->
    0.7908, micro 0.8129 -> 0.8132): two false titles less per seed, no true one lost."""
    names = {normalize_value(e.text, "NAME") for e in entities if e.label == "NAME"}
    tool_lines = section_lines(text, TOOL_SECTIONS)
    starts = doc.line_starts

    def in_tool_section(line: int) -> bool:
        # Not under a template experience header the section lexicon does not know ("Military
        # Experience" after the skills: the section goes on as skills for the other passes).
        ln = line
        while ln in tool_lines:
            if section_of_line(text[starts[ln] : _line_end(text, starts, ln)].strip()) == "experience":
                return False
            ln -= 1
        return line in tool_lines

    def is_title(e: Entity) -> bool:
        if normalize_value(e.text, e.label) in names or in_tool_section(doc.line_of(e.start)):
            return False
        if _has_title_word(e.text):
            return True
        line = doc.line_of(e.start)
        if len(_LIST_SEPARATOR_RE.findall(text, starts[line], _line_end(text, starts, line))) >= 2:
            return False
        return canonical_skill(e.text) is None and _degree_key(e.text.split()[0]) not in _DEGREE_ABBREVIATIONS

    return [e for e in entities if e.label != "DESIGNATION" or is_title(e)]


# "• Worked as Senior Engineer in Acme from 2011", "1) Working as Sales Consultant": a past or
# present job told in a description, not an entry's title line.
_JOB_PROSE_RE = re.compile(r"\b(?:working|worked)\s+as\b", re.IGNORECASE)


def no_titles_in_job_prose(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """The tagger's titles on a "worked / working as" line under a section header (entry
    descriptions) are dropped: annotators label entries' title lines and the headline, not the
    jobs a description mentions. The headline and summary (section "top") keep theirs ("Working
    as accountant @ Acme": :func:`titles_without_employers`). 5-fold CV DESIGNATION F1 0.7748 ->
    0.7811, micro 0.8052 -> 0.8056 (order seed 1: 0.7593 -> 0.7654, micro 0.7934 -> 0.7938);
    no true title lost. Dropping titles on long bullet lines (8+ words) instead gained less
    (0.7779)."""
    sections = line_sections(text)
    starts = doc.line_starts
    out: list[Entity] = []
    for e in entities:
        if e.label == "DESIGNATION" and e.source == "model":
            line = doc.line_of(e.start)
            if sections[line] not in ("top", None) and _JOB_PROSE_RE.search(
                text, starts[line], _line_end(text, starts, line)
            ):
                continue
        out.append(e)
    return out


# The headline's employer part ("Software Engineer - Acme"): a few words, no digits, no link.
HEADLINE_EMPLOYER_MAX_WORDS = 5


def headline_company(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """The headline under the candidate's name reads "Title - Employer" (the job-board layout:
    "Software Engineer - Acme"): when a title the tagger (or :func:`headline_title`) found fills
    the part before the line's only spaced dash and nothing was found after it, that part is a
    COMPANY. Annotators label the headline's employer as they label its title; the tagger misses
    names it has no word evidence for. The part must be at most
    :data:`HEADLINE_EMPLOYER_MAX_WORDS` words without digits, a link, an email or a sentence end.
    5-fold CV COMPANY F1 0.7028 -> 0.7079, micro 0.8213 -> 0.8215 (order seed 1: COMPANY 0.7067 ->
    0.7119, micro 0.8121 -> 0.8123): one true company more per seed, no false one."""
    line = _headline_line(text, doc, entities)
    if line is None:
        return entities
    starts = doc.line_starts
    ls, le = starts[line], _line_end(text, starts, line)
    dashes = list(_TITLE_DASH_RE.finditer(text, ls, le))
    if len(dashes) != 1:
        return entities
    dash = dashes[0]
    left = text[ls : dash.start()]
    a = ls + len(left) - len(left.lstrip())
    right = text[dash.end() : le]
    b0 = dash.end() + len(right) - len(right.lstrip())
    b1 = dash.end() + len(right.rstrip())
    name = text[b0:b1]
    if (
        not name
        or len(name.split()) > HEADLINE_EMPLOYER_MAX_WORDS
        or re.search(r"\d|@|://|\bwww\.|\bindeed\b", name, re.IGNORECASE)
        or name[-1] in ".:;,!?"
        or name[0] in _BULLET_CHARS
        or any(e.start < b1 and e.end > b0 for e in entities)
    ):
        return entities
    titles = [e for e in entities if e.label == "DESIGNATION" and e.start >= a and e.end <= dash.start()]
    if not titles or min(e.start for e in titles) != a or max(e.end for e in titles) != a + len(left.strip()):
        return entities
    return [*entities, Entity("COMPANY", name, b0, b1, line + 1, LAYOUT_CONFIDENCE, "rule")]


def prefer_full_company_names(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A company whose name starts another company of the same resume ("Oracle" and "Oracle India
    Pvt Ltd", "SAP" and "SAP Basis") is dropped: the bare name is mostly the vendor or product
    ("Oracle" databases, "SAP" modules), and annotators label the employer's full name. 5-fold CV
    (with :func:`first_employer_line`) COMPANY F1 0.6784 -> 0.6913, micro 0.8034 -> 0.8046
    (order seed 1: COMPANY 0.6962 -> 0.7028, micro 0.7919 -> 0.7926): per seed 11 false and 3
    true companies less."""
    values = {normalize_value(e.text, "COMPANY") for e in entities if e.label == "COMPANY"}
    shorter = {v for v in values if any(w.startswith(v + " ") for w in values)}
    if not shorter:
        return entities
    return [e for e in entities if e.label != "COMPANY" or normalize_value(e.text, "COMPANY") not in shorter]


# A whole-line employer name without place or dates ("Acme Systems" under "Engineer"): a few
# words, no digits.
EMPLOYER_NAME_MAX_WORDS = 5
# Share of its line a title must cover to be an entry's title line.
TITLE_LINE_MIN_SHARE = 0.6


def first_employer_line(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """The employer of a resume's first experience entry: the first title in the experience
    section that (nearly) fills its line, and the next non-blank line, "Acme -  Pune, MH -"
    (its name part) or a bare name ("Acme Systems"). When the tagger found nothing there, the
    name becomes a COMPANY. Annotators label the current employer far more often than the
    earlier ones (first entry's employer 59% of the time, second 20%, later ones almost never),
    and the tagger misses names it has no word evidence for ("Shuttl", "Tavant"). Not when the
    title line names a company the tagger found ("Oracle Apps consultant"): annotators then
    label that one. 5-fold CV COMPANY F1 0.6502 -> 0.6784, micro 0.8024 -> 0.8034 (order seed 1:
    COMPANY 0.6526 -> 0.6962, micro 0.7901 -> 0.7919): per seed 10-12 true companies more, 9-7
    false ones. For every entry's employer: COMPANY 0.6625 (seed 1: 0.6763). A line that is
    only place words ("Pune, Maharashtra -": an entry without its employer's name) gives none."""
    starts = doc.line_starts
    sections = line_sections(text)
    known = {normalize_value(e.text, "COMPANY") for e in entities if e.label == "COMPANY"}
    titles = sorted((e for e in entities if e.label == "DESIGNATION"), key=lambda e: e.start)
    for title in titles:
        line = doc.line_of(title.start)
        ls, le = starts[line], _line_end(text, starts, line)
        if sections[line] != "experience" or len(title.text.strip()) < TITLE_LINE_MIN_SHARE * len(text[ls:le].strip()):
            continue
        # Only the first entry: whatever its employer line holds, later entries are not looked at.
        title_line = f" {normalize_value(text[ls:le])} "
        nxt = _next_nonblank(text, starts, line)
        if nxt is None or any(v and f" {v} " in title_line for v in known):
            return entities
        ns, ne = starts[nxt], _line_end(text, starts, nxt)
        if m := _EMPLOYER_LINE_RE.match(text, ns, ne):
            a, b = m.start("name"), m.end("name")
        else:
            content = text[ns:ne]
            a = ns + len(content) - len(content.lstrip())
            b = ns + len(content.rstrip())
            name = text[a:b]
            after = _next_nonblank(text, starts, nxt)
            if (
                len(name.split()) > EMPLOYER_NAME_MAX_WORDS
                or re.search(r"\d", name)
                or name[-1] in ".:;,"
                or name[0] in _BULLET_CHARS
                # "City / , / State": a place split over lines (resume-builder PDFs), no employer.
                or (after is not None and text[starts[after] : _line_end(text, starts, after)].lstrip().startswith(","))
            ):
                return entities
        if (
            len(text[a:b].split()) > SEGMENT_MAX_WORDS
            or any(e.start < b and e.end > a for e in entities)
            # "Pune, Maharashtra -": an entry without an employer, its place alone.
            or all(w in LOCATION_WORDS for w in re.findall(r"[a-z]+", text[a:b].lower()))
        ):
            return entities
        # The title's source: :func:`model_runtime.structure.structure_entities` then pairs the two
        # as one entry (a tagger title by nearest line, a layout one by layout order).
        return [*entities, Entity("COMPANY", text[a:b], a, b, nxt + 1, LAYOUT_CONFIDENCE, title.source)]
    return entities


def first_entry_employer(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """An experience section whose first line is an employer line and the next a date ("Acme -",
    "Acme -  Pune, MH -" / "2016 to 2018": an entry without a title line) opens with its
    employer: when the tagger found nothing there, the name becomes a COMPANY (annotators label
    the first entry's employer most often, see :func:`first_employer_line`). A name that is only
    place words gives none. 5-fold CV COMPANY F1 0.7079 -> 0.7103, micro 0.8218 -> 0.8219 (order
    seed 1: COMPANY 0.7119 -> 0.7141, micro 0.8128 -> 0.8129): per seed one true company more and
    one false one, in a resume whose companies annotators left unlabelled."""
    starts = doc.line_starts
    line = _first_experience_line(text, starts)
    if line is None:
        return entities
    m = _EMPLOYER_LINE_RE.match(text, starts[line], _line_end(text, starts, line))
    dates = _next_nonblank(text, starts, line)
    if m is None or dates is None or not DATE_RE.search(text, starts[dates], _line_end(text, starts, dates)):
        return entities
    a, b = m.start("name"), m.end("name")
    if (
        len(text[a:b].split()) > EMPLOYER_NAME_MAX_WORDS
        or any(e.start < b and e.end > a for e in entities)
        or all(w in LOCATION_WORDS for w in re.findall(r"[a-z]+", text[a:b].lower()))
    ):
        return entities
    return [*entities, Entity("COMPANY", text[a:b], a, b, line + 1, LAYOUT_CONFIDENCE, "rule")]


# A summary sentence's length: more words than a title or an employer line holds.
SUMMARY_SENTENCE_MIN_WORDS = 9


def no_entries_in_summary_sentences(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """The tagger's titles and companies in a summary sentence below the headline ("Automation
    engineer in Acme Ltd, Pune.", "• Consultant in Acme Ltd from 2013 till date (...)": a line
    of the top or summary section ending in a full stop or longer than a title line) are
    dropped: annotators label the headline's title and employer and the experience entries',
    not the ones the summary retells. 5-fold CV DESIGNATION F1 0.8073 -> 0.8104, micro 0.8222 ->
    0.8224 (order seed 1: DESIGNATION 0.7908 -> 0.7940, micro 0.8132 -> 0.8134): one false title
    less per seed (the companies it drops are named elsewhere in those resumes too; COMPANY
    unchanged)."""
    headline = _headline_line(text, doc, entities)
    if headline is None:
        return entities
    starts = doc.line_starts
    sections = line_sections(text)

    def in_summary_sentence(e: Entity) -> bool:
        line = doc.line_of(e.start)
        if line <= headline or sections[line] not in ("top", "summary"):
            return False
        content = text[starts[line] : _line_end(text, starts, line)].strip()
        return content.endswith(".") or len(content.split()) >= SUMMARY_SENTENCE_MIN_WORDS

    return [
        e
        for e in entities
        if not (e.label in ("DESIGNATION", "COMPANY") and e.source == "model" and in_summary_sentence(e))
    ]


# An examining board, not an institution ("U.P. Board", "Board of Intermediate Education",
# "Senior Secondary"); "... State" counts only in a school-leaving entry (:func:`no_board_colleges`).
_BOARD_RE = re.compile(r"\bboard\b|^\W*(?:(?:senior|higher)\s+)?secondary\W*$", re.IGNORECASE)
_STATE_RE = re.compile(r"\bstate\W*$", re.IGNORECASE)
_TECHNICAL_RE = re.compile(r"\btechnical\b", re.IGNORECASE)


def _names_board(text: str, doc: Document, e: Entity) -> bool:
    if _TECHNICAL_RE.search(e.text):
        return False
    if _BOARD_RE.search(e.text):
        return True
    return bool(_STATE_RE.search(e.text)) and is_school_entry(text, doc.line_starts, doc.line_of(e.start))


def no_board_colleges(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """A college naming a school examining board ("U.P. Board", "Board of Intermediate
    Education", "Senior Secondary", "Maharashtra State" under an "HSC" line) is dropped when the
    resume names another college: Indeed exports put the board where a school-leaving entry's
    institution goes, and annotators mostly leave it out (out-of-fold, per order seed 5-6
    false colleges less for 2 true ones; a board that is the only institution named was
    annotated more often than not). Technical boards ("Board of Technical Education") award
    diplomas, and annotators name them as the institution: kept. Runs before
    :func:`one_school_college`, so that a board ("Bihar School Examination Board") is not
    counted as the first school (one true school more per seed). 5-fold CV COLLEGE .7998 ->
    .8062, micro .8218 -> .8224 (order seed 1: COLLEGE .7963 -> .8047, micro .8128 -> .8135).
    Measured run after the school pass: without "... State" COLLEGE .8013 / .7998, with it
    in school-leaving entries .8034 / .8019, with it anywhere .8034 / .8040 (not taken: it
    would drop universities called "<Name> State"). LiveCareer PDFs: one false college (a
    certification board) less."""
    boards = {id(e) for e in entities if e.label == "COLLEGE" and _names_board(text, doc, e)}
    if not boards or not any(e.label == "COLLEGE" and id(e) not in boards for e in entities):
        return entities
    return [e for e in entities if id(e) not in boards]


# A qualification, not an institution ("High School Diploma" the tagger called a college).
_QUALIFICATION_RE = re.compile(r"\b(?:diploma|certificate|certification|degree|ged)\b", re.IGNORECASE)


def one_school_college(text: str, doc: Document, entities: list[Entity]) -> list[Entity]:
    """Of the colleges naming a school (:func:`model_runtime.rules.is_school_level`: "... High
    School", "... Junior College", "... PU College"; not a qualification the tagger called a
    college: "High School Diploma"), only the first in the document is kept.
    Annotators label a resume's school-leaving institutions at most once, the latest (12th)
    one; the 10th-standard school under it is left out. In the training split's out-of-fold
    predictions, of the school colleges after a first one 2 of 8-9 were annotated. 5-fold CV
    COLLEGE .7936 -> .7998, micro .8213 -> .8218 (order seed 1: COLLEGE .7877 -> .7963, micro
    .8121 -> .8128): 6-7 false colleges less for 2 true ones. Degrees are not thinned alike:
    a second school-leaving degree ("SSC" under "HSC") measured worse (DEGREE .7962 -> .7947,
    order seed 1 .7906 -> .7863)."""
    school_seen = False
    drop: set[int] = set()
    for e in sorted(entities, key=lambda e: e.start):
        if e.label == "COLLEGE" and is_school_level(e.text) and not _QUALIFICATION_RE.search(e.text):
            if school_seen:
                drop.add(id(e))
            school_seen = True
    return [e for e in entities if id(e) not in drop] if drop else entities


def repair_entities(text: str, doc: Document, entities: list[Entity], taken: list[tuple[int, int]]) -> list[Entity]:
    """The tagger's entities after every pass, in order. ``taken``: spans the deterministic
    extractors (emails, phones, links, years of experience) already hold."""
    entities = graduation_years(text, doc, entities, taken)
    for repair in (
        # Vendors named in tool sections are products: freed before the skill lists are completed.
        no_companies_in_tool_sections,
        no_vendor_products,
        whole_skill_section_items,
        complete_skill_lists,
        complete_skill_sections,
        complete_category_rows,
        tidy_skill_items,
        skills_from_skill_sections,
        entry_fields,
        split_colleges_at_blank_lines,
        expand_to_segments,
        employer_line_companies,
        trim_edges,
        complete_truncated_titles,
        degree_word_lines,
        institution_lines,
        institution_name_lines,
        college_without_place,
        whole_college_lines,
        fields_of_study_in_degrees,
        whole_degree_lines,
        complete_place_names,
        header_location,
        candidate_location,
        headings_are_not_names,
        headline_title,
        first_entry_title,
        titles_without_employers,
        split_title_lists,
        names_are_not_titles,
        no_titles_in_job_prose,
        no_entries_in_summary_sentences,
        headline_company,
        prefer_full_company_names,
        first_employer_line,
        first_entry_employer,
        no_board_colleges,
        one_school_college,
    ):
        entities = repair(text, doc, entities)
    return entities
