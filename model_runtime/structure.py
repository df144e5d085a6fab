"""Group flat entities into the resume result document (JSON-ready, camelCase keys)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .date_ranges import DateRange, assign_date_ranges, experience_date_ranges
from .entities import Entity
from .rules import find_candidate_links
from .skills_taxonomy import canonical_skill, skill_category
from .text import canonical_link, normalize_value


def normalize_skill(skill: str) -> str:
    """Canonical skill name from the taxonomy ("JS" -> "javascript", "k8s" -> "kubernetes"), else
    the normalised mention."""
    return canonical_skill(skill) or normalize_value(skill)


def _unique(values: Sequence[str], key: Any = normalize_value) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        k = key(value)
        if k and k not in seen:
            seen.add(k)
            out.append(value.strip())
    return out


def _best(entities: Sequence[Entity]) -> str | None:
    if not entities:
        return None
    best = max(entities, key=lambda e: (e.confidence, -e.start))
    return " ".join(best.text.split())


def _clean(entity: Entity) -> str:
    return " ".join(entity.text.split())


# Resume-builder layout entries (source "rule", see ``entity_passes.entry_fields``): lines
# apart at most, for two fields to be one entry.
LAYOUT_ENTRY_MAX_LINES = 15


def _layout_groups(ordered: Sequence[Entity], labels: tuple[str, str]) -> list[dict[str, Entity]]:
    """Entries of the resume-builder layout (entities of ``labels`` with source "rule", see
    ``entity_passes.entry_fields``), in text order.

    Nearest-line pairing fails there: one field per line with blank lines between, a field sits
    as close to the next entry's as to its own (company, location, title, dates puts the title
    seven lines below its company). The layout's order is reliable instead: the label of the
    first entity leads each entry ("degree, college, degree, college" or "college, degree,
    ..."), and a repeated label starts a new one."""
    layout = [e for e in ordered if e.label in labels and e.source == "rule"]
    groups: list[dict[str, Entity]] = []
    for e in layout:
        group = groups[-1] if groups else None
        if (
            group is None
            or e.label == layout[0].label
            or e.label in group
            or e.line - max(x.line for x in group.values()) > LAYOUT_ENTRY_MAX_LINES
        ):
            groups.append({e.label: e})
        else:
            group[e.label] = e
    return groups


def _layout_education(
    ordered: Sequence[Entity], years: Sequence[Entity], used_y: set[int]
) -> list[tuple[int, dict[str, str | None]]]:
    """Education entries of the resume-builder layout (``_layout_groups``): (line, entry), in
    text order. The year is the last one above the entry's college (degree if none) and below
    the previous entry, where the templates print the dates."""
    groups = _layout_groups(ordered, ("DEGREE", "COLLEGE"))
    out: list[tuple[int, dict[str, str | None]]] = []
    previous_end = 0
    for group in groups:
        anchor = group.get("COLLEGE") or group["DEGREE"]
        year = None
        for i, y in enumerate(years):
            if i not in used_y and previous_end < y.line <= anchor.line:
                year = i
        if year is None:  # dates under the school
            year = next(
                (i for i, y in enumerate(years) if i not in used_y and 0 < y.line - anchor.line <= 3),
                None,
            )
        if year is not None:
            used_y.add(year)
        previous_end = max(x.line for x in group.values())
        degree, college = group.get("DEGREE"), group.get("COLLEGE")
        entry = {
            "degree": _clean(degree) if degree else None,
            "college": _clean(college) if college else None,
            "year": _clean(years[year]) if year is not None else None,
        }
        out.append((min(x.line for x in group.values()), entry))
    return out


def structure_entities(entities: Sequence[Entity], text: str | None = None) -> dict[str, Any]:
    """The result document of a resume's entities: ``contact`` (name, e-mails, phones, links,
    location), ``experience`` entries (title, company, dates), ``education`` entries (degree,
    college, year), ``skills`` (as written, normalised, by category), and the flat ``titles``,
    ``companies`` and ``yearsOfExperience``. With the resume's ``text``, experience
    entries also get their dates (:mod:`model_runtime.date_ranges`), and ``contact.links`` all
    of the candidate's links, the sites the model leaves unmarked included; without it
    ``dates`` is ``None`` and the links are the LINK entities."""
    ordered = sorted(entities, key=lambda e: (e.start, e.end))
    by_label: dict[str, list[Entity]] = {}
    for entity in ordered:
        by_label.setdefault(entity.label, []).append(entity)

    def texts(label: str) -> list[str]:
        return [_clean(e) for e in by_label.get(label, [])]

    # Experience: resume-builder entries by their layout order (``_layout_groups``); every other
    # designation with the nearest company within a few lines. Each entry keeps the first and
    # last line of its fields, for its dates: (line to order by, (first, last line), entry).
    Lines = tuple[int, int]
    layout_experience: list[tuple[int, Lines, dict[str, Any]]] = []
    for group in _layout_groups(ordered, ("DESIGNATION", "COMPANY")):
        title_entity, company_entity = group.get("DESIGNATION"), group.get("COMPANY")
        entry = {
            "title": _clean(title_entity) if title_entity else None,
            "company": _clean(company_entity) if company_entity else None,
        }
        fields = [x.line for x in group.values()]
        layout_experience.append((min(fields), (min(fields), max(fields)), entry))
    paired: list[tuple[int, Lines, dict[str, Any]]] = []
    companies = [e for e in by_label.get("COMPANY", []) if e.source != "rule"]
    used: set[int] = set()
    for title in [e for e in by_label.get("DESIGNATION", []) if e.source != "rule"]:
        match = None
        for i, company in enumerate(companies):
            if i in used or abs(company.line - title.line) > 3:
                continue
            if match is None or abs(company.line - title.line) < abs(companies[match].line - title.line):
                match = i
        lines = (title.line, title.line)
        if match is not None:
            used.add(match)
            lines = (min(title.line, companies[match].line), max(title.line, companies[match].line))
        company_text = _clean(companies[match]) if match is not None else None
        paired.append((title.line, lines, {"title": _clean(title), "company": company_text}))
    for i, company in enumerate(companies):
        if i not in used:
            paired.append((company.line, (company.line, company.line), {"title": None, "company": _clean(company)}))
    # Both kinds in text order (a headline title first, say; ``sorted`` is stable). Without
    # layout entries the pairs keep their own order: titles first, then unpaired companies.
    by_line = sorted(layout_experience + paired, key=lambda item: item[0]) if layout_experience else paired
    # Duplicates go, each entry keeping its first place and the lines of its repetitions.
    unique: list[tuple[Lines, dict[str, Any]]] = []
    repeated_at: dict[int, list[Lines]] = {}
    index_of_pair: dict[tuple[str | None, str | None], int] = {}
    for _, lines, item in by_line:
        pair = (item["title"], item["company"])
        if pair in index_of_pair:
            repeated_at.setdefault(index_of_pair[pair], []).append(lines)
            continue
        index_of_pair[pair] = len(unique)
        unique.append((lines, item))
    dates: list[DateRange | None] = [None] * len(unique)
    if text is not None and unique:
        ranges = experience_date_ranges(text)
        dates = assign_date_ranges([lines for lines, _ in unique], ranges)
        # Indeed's headline repeats the first entry's title and employer far above its dates:
        # an entry still undated takes a range left free near one of its repetitions.
        undated = [i for i in repeated_at if dates[i] is None]
        if undated:
            free = [r for r in ranges if r not in dates]
            for i in undated:
                found = [r for r in assign_date_ranges(repeated_at[i], free) if r is not None]
                if found:
                    dates[i] = found[0]
                    free.remove(found[0])
    experience = [
        {**item, "dates": found.to_dict() if found else None} for (_, item), found in zip(unique, dates, strict=True)
    ]

    # Education: each degree with the nearest following college and year (within a few lines).
    education: list[dict[str, str | None]] = []
    education_lines: list[int] = []  # the line of each entry, to merge with the layout's
    years = by_label.get("GRADUATION_YEAR", [])
    used_y: set[int] = set()
    layout_groups = _layout_education(ordered, years, used_y)
    colleges = [e for e in by_label.get("COLLEGE", []) if e.source != "rule"]
    used_c: set[int] = set()

    def nearest(items: list[Entity], anchor: Entity, taken: set[int], window: int) -> int | None:
        best = None
        for i, item in enumerate(items):
            if i in taken or abs(item.line - anchor.line) > window:
                continue
            if best is None or abs(item.line - anchor.line) < abs(items[best].line - anchor.line):
                best = i
        return best

    for degree in [e for e in by_label.get("DEGREE", []) if e.source != "rule"]:
        c = nearest(colleges, degree, used_c, 3)
        y = nearest(years, degree, used_y, 4)
        if c is not None:
            used_c.add(c)
        if y is not None:
            used_y.add(y)
        education_lines.append(degree.line)
        education.append(
            {
                "degree": _clean(degree),
                "college": _clean(colleges[c]) if c is not None else None,
                "year": _clean(years[y]) if y is not None else None,
            }
        )
    for i, college in enumerate(colleges):
        if i not in used_c:
            y = nearest(years, college, used_y, 3)
            if y is not None:
                used_y.add(y)
            education_lines.append(college.line)
            education.append(
                {
                    "degree": None,
                    "college": _clean(college),
                    "year": _clean(years[y]) if y is not None else None,
                }
            )

    if layout_groups:
        # Both kinds in text order (``sorted`` is stable; the key ignores the entries).
        merged = layout_groups + list(zip(education_lines, education, strict=True))
        education = [entry for _, entry in sorted(merged, key=lambda item: item[0])]

    skills = _unique(texts("SKILL"))
    skills_normalized = list(dict.fromkeys(s for s in (normalize_skill(x) for x in skills) if s))
    skill_categories: dict[str, list[str]] = {}
    for skill in skills_normalized:
        category = skill_category(skill)
        if category:
            skill_categories.setdefault(category, []).append(skill)
    # The LINK entities follow the training labels, which may leave whole sites unmarked
    # (:mod:`.link_sites`); a recruiter wants all of the candidate's links. "".join(split())
    # makes a URL wrapped over two lines one link.
    resume_text = text or ""
    links = [resume_text[s:e] for _, s, e in find_candidate_links(resume_text)]
    links += [e.text for e in by_label.get("LINK", [])]
    return {
        "contact": {
            "name": _best(by_label.get("NAME", [])),
            "emails": _unique([t.lower() for t in texts("EMAIL")]),
            "phones": _unique(texts("PHONE"), key=lambda v: normalize_value(v, "PHONE")),
            "links": _unique(["".join(link.split()) for link in links], key=canonical_link),
            "location": _best(by_label.get("LOCATION", [])[:1]) if by_label.get("LOCATION") else None,
        },
        "titles": _unique(texts("DESIGNATION")),
        "companies": _unique(texts("COMPANY")),
        "experience": experience,
        "education": education,
        "skills": skills,
        "skillsNormalized": skills_normalized,
        "skillCategories": skill_categories,  # taxonomy category -> canonical skills (known ones)
        "yearsOfExperience": _best(by_label.get("YEARS_OF_EXPERIENCE", [])),
    }
