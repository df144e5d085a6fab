from __future__ import annotations

from model_runtime.rules import find_rule_entities
from model_runtime.text import canonical_link, normalize_value, tokenize

SAMPLE = (
    "Jane Q. Example\n"
    "Contact: jane.example+cv@mail.example.org | +91 98765 43210 | (415) 555-0132\n"
    "https://www.linkedin.com/in/jane-example-123/ and github.com/janeex.\n"
    "Indeed: indeed.com/r/Jane-\nExample/0a1b2c3d4e?isid=rex-download\n"
    "Worked 2015 - 2019 on ASP.NET and Node.js; id 20151234.\n"
)


def by_label(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for label, s, e in find_rule_entities(text):
        out.setdefault(label, []).append(text[s:e])
    return out


def test_tokens_have_exact_offsets_and_lines() -> None:
    doc = tokenize(SAMPLE)
    assert doc.tokens
    for tok in doc.tokens:
        assert SAMPLE[tok.start : tok.end] == tok.text
        assert doc.line_of(tok.start) == tok.line
    words = [t.text for t in doc.tokens]
    assert "ASP.NET" in words and "Node.js" in words


def test_rules_find_contacts() -> None:
    found = by_label(SAMPLE)
    assert found["EMAIL"] == ["jane.example+cv@mail.example.org"]
    assert found["PHONE"] == ["+91 98765 43210", "(415) 555-0132"]
    links = found["LINK"]
    assert "https://www.linkedin.com/in/jane-example-123/" in links
    assert "github.com/janeex" in links
    # A URL wrapped over two lines is one link, and Indeed's tracking query is dropped.
    assert "indeed.com/r/Jane-\nExample/0a1b2c3d4e" in links
    # Not phones: a year range, an id; not links: ASP.NET, Node.js.
    assert all("2015" not in p for p in found["PHONE"])
    assert not any("ASP" in link or "Node" in link for link in links)


def test_rule_offsets_exact_and_disjoint() -> None:
    spans = find_rule_entities(SAMPLE)
    for i, (_, s, e) in enumerate(spans):
        assert 0 <= s < e <= len(SAMPLE)
        for _, s2, e2 in spans[i + 1 :]:
            assert e <= s2 or e2 <= s


def test_normalisation() -> None:
    assert normalize_value("  Java, ") == "java"
    assert normalize_value("Senior\n  Engineer") == "senior engineer"
    assert canonical_link("https://www.Indeed.com/r/a-\nb/") == "indeed.com/r/a-b"
    assert normalize_value("+91 98765-43210", "PHONE") == "9876543210"


def test_graduation_years_next_to_education_lines() -> None:
    from model_runtime.rules import find_graduation_years
    from model_runtime.text import line_starts

    text = "EDUCATION\nB.Tech in CS\nSome College\n\n2012 to 2016\nExperience 2018\n"
    found = find_graduation_years(text, line_starts(text), {1, 2})
    assert [text[s:e] for _, s, e in found] == ["2016"]  # end of the range; 2018 is not education


def test_graduation_years_anywhere_in_the_education_section() -> None:
    from model_runtime.rules import find_graduation_years
    from model_runtime.text import line_starts

    text = (
        "Summary 2010\n\nEDUCATION\nM.Tech\n\nSome University\n\nCity\n\n2014\n\n"
        "WORK EXPERIENCE\nEngineer\n2015 to 2018\n"
    )
    starts = line_starts(text)
    found = find_graduation_years(text, starts, {3})
    # 2014 is five lines below the degree but still in the education section; 2010 (before it)
    # and 2018 (the next section) are not graduation years.
    assert [text[s:e] for _, s, e in found] == ["2014"]
    # Without any degree or college found, the rule finds nothing (the tagger's years stay).
    assert find_graduation_years(text, starts, set()) == []


def test_years_of_experience_only_in_header_or_summary() -> None:
    top = "Jane Example\nData Engineer with 5+ years of experience in ETL\n\nWORK EXPERIENCE\nX\n"
    assert by_label(top)["YEARS_OF_EXPERIENCE"] == ["5+ years"]
    summary = "Jane Example\n\nSUMMARY\nOver 3.5 years of IT experience\n\nSKILLS\nJava (4 years of experience)\n"
    assert by_label(summary)["YEARS_OF_EXPERIENCE"] == ["3.5 years"]
    # Per-skill or per-job durations further down are not the candidate's total experience.
    later = "Jane Example\n\nSKILLS\nJava: 4 years of experience\n"
    assert "YEARS_OF_EXPERIENCE" not in by_label(later)


def test_degrees_with_a_slash_are_not_links() -> None:
    text = "B.TECH/B.E in Mechanical, B.Com/BBA; see example.com/profile and x.io\n"
    assert by_label(text)["LINK"] == ["example.com/profile"]


def test_graduation_year_ranges_with_months() -> None:
    from model_runtime.rules import find_graduation_years
    from model_runtime.text import line_starts

    text = "EDUCATION\nB.E, Some University\nJune 2005 to May 2009\n"
    found = find_graduation_years(text, line_starts(text), {1})
    assert [text[s:e] for _, s, e in found] == ["2009"]


def test_school_leaving_years_count_only_without_a_degree_year() -> None:
    from model_runtime.rules import find_graduation_years, is_school_entry, is_school_level
    from model_runtime.text import line_starts

    text = (
        "EDUCATION\nB.Sc in Physics\n\nLakeview College\n\n2016\n\n"
        "HSC\n\nState Board\n\n2013\n\nSSC\n\n2011\n\nSKILLS\nExcel\n"
    )
    starts = line_starts(text)
    assert is_school_entry(text, starts, text.count("\n", 0, text.index("2013")))
    assert not is_school_entry(text, starts, text.count("\n", 0, text.index("2016")))
    assert is_school_level("Class XII") and is_school_level("H.S.C") and not is_school_level("B.Sc in Physics")
    found = find_graduation_years(text, starts, {1})
    assert [text[s:e] for _, s, e in found] == ["2016"]
    # A resume whose only education is school keeps its school-leaving year.
    school_only = "EDUCATION\nHigh School Diploma\nRiverside High School\nJune 2012\n"
    found = find_graduation_years(school_only, line_starts(school_only), {1})
    assert [school_only[s:e] for _, s, e in found] == ["2012"]


def test_years_of_experience_after_the_word_keeps_months() -> None:
    text = "Jane Example\nTotal IT experience 5 Years 6 Months\n"
    assert by_label(text)["YEARS_OF_EXPERIENCE"] == ["5 Years 6 Months"]


def test_years_of_experience_as_a_count_with_a_plus() -> None:
    # "6+ Exp": annotators select the count alone; without the plus a bare number is no duration.
    assert by_label("Jane Example\n6+ Exp in retail banking operations\n")["YEARS_OF_EXPERIENCE"] == ["6+"]
    assert "YEARS_OF_EXPERIENCE" not in by_label("Jane Example\n2 experience letters attached\n")


def test_an_email_domain_is_never_a_link() -> None:
    from model_runtime.rules import find_links

    # A slash after an e-mail address, with a hyphenated domain or a known host inside it.
    for text in ("jane@my-site.com/cv", "jane@mail-github.com/x", "Mail: jane.doe@example.com/ resume"):
        assert list(find_links(text)) == [], text
        assert "LINK" not in by_label(text)
        assert by_label(text)["EMAIL"]
    # An address given a scheme is an e-mail address, not a link.
    assert "LINK" not in by_label("Jane Example\nhttp://jane89@example.com\n")
    assert by_label("Jane Example\nhttp://jane89@example.com\n")["EMAIL"] == ["jane89@example.com"]
    # A link after the address is still one; a link with an "@" in its path too.
    text = "jane@my-site.com/ github.com/janeex medium.com/@janeex/post\n"
    assert by_label(text)["LINK"] == ["github.com/janeex", "medium.com/@janeex/post"]


def test_work_sections_keep_only_profile_links() -> None:
    text = (
        "Jane Example\n"
        "janeexample.dev/portfolio\n"
        "WORK EXPERIENCE\n"
        "Web Developer\n"
        "Acme Corp (acme-widgets.com)\n"
        "• janeexample.dev/shop: an e-commerce portal\n"
        "www.linkedin.com/in/jane-example\n"
        "PROJECTS\n"
        "Bus booking - busdemo.example.org/book\n"
        "https://github.com/janeex/bus\n"
        "PERSONAL DETAILS\n"
        "Blog: https://janeexample.wordpress.com\n"
    )
    # The header's and the personal section's links are the candidate's; in the work sections
    # only the profile sites are, not a project demo or the employer's site.
    assert by_label(text)["LINK"] == [
        "janeexample.dev/portfolio",
        "www.linkedin.com/in/jane-example",
        "https://github.com/janeex/bus",
        "https://janeexample.wordpress.com",
    ]


def test_school_entries_by_school_names_and_board_spellings() -> None:
    from model_runtime.rules import find_graduation_years, is_school_level
    from model_runtime.text import line_starts

    # A school named without a qualification ("... Grammar School"), a junior / PU college and a
    # dotted board name are school-leaving entries: a degree's year wins over theirs.
    text = (
        "EDUCATION\nB.Sc in Chemistry\n\nLakeview University\n\n2014 to 2017\n\n"
        "Riverside Junior College\n\n2012 to 2014\n\nC.B.S.E.\n\nHill Valley Academy\n\n2010\n\n"
        "St Example Grammar School\n\n2008 to 2009\n\nSKILLS\nExcel\n"
    )
    found = find_graduation_years(text, line_starts(text), {1})
    assert [text[s:e] for _, s, e in found] == ["2017"]
    assert is_school_level("Hill Valley Public School") and is_school_level("Lakeview PU College")
    # A school of a university is no school-leaving entry.
    assert not is_school_level("Lakeview School of Engineering") and not is_school_level("Example Business School")


def test_a_degree_line_makes_a_school_named_entry_a_degree_entry() -> None:
    from model_runtime.rules import find_graduation_years
    from model_runtime.text import line_starts

    # A degree taken at a junior college keeps its year; the school-leaving one does not count.
    text = (
        "EDUCATION\nB.B.A in Retail Management\n\nRiverside Junior College - Springfield, Illinois\n\n2016\n\n"
        "S.S.C\n\nHill Valley High School\n\n2012\n"
    )
    found = find_graduation_years(text, line_starts(text), {1})
    assert [text[s:e] for _, s, e in found] == ["2016"]


def test_skills_subheaders_open_a_skills_section() -> None:
    from model_runtime.rules import line_sections

    text = (
        "ADDITIONAL INFORMATION\nWilling to relocate\n\nERP Skills\n• Reports, Forms\n\n"
        "Technical skillset:\n• Manual testing\n• Excellent communication skills\n"
    )
    sections = line_sections(text)
    assert sections[1] == "additional"
    # "ERP Skills" and "Technical skillset:" are headers (None); a bullet naming skills is not.
    assert sections[3] is None and sections[4] == "skills"
    assert sections[6] is None and sections[7] == "skills" and sections[8] == "skills"
