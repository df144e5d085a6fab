"""The document-level passes over the tagger's entities (model_runtime/entity_passes.py), on
invented resume text."""

from __future__ import annotations

from collections.abc import Callable

from model_runtime import entity_passes as P
from model_runtime.entities import Entity
from model_runtime.text import Document, tokenize


def _entities_of(text: str) -> tuple[Document, Callable[..., Entity]]:
    """The tokenised ``text`` and a maker of model entities over the ``nth`` occurrence of a value."""
    doc = tokenize(text)

    def ent(label: str, value: str, nth: int = 0) -> Entity:
        start = -1
        for _ in range(nth + 1):
            start = text.index(value, start + 1)
        return Entity(label, value, start, start + len(value), doc.line_of(start) + 1, 0.8, "model")

    return doc, ent


def test_skill_lists_are_completed_and_spans_grow_to_segments() -> None:
    text = (
        "SKILLS\nJava (5 years), Kafka (Less\nthan 1 year), Zuul, Python\n"
        "Rajiv Gandhi Institute of Technology -  Pune\n"
    )
    doc, ent = _entities_of(text)

    # Each line the tagger found a skill on is completed (the wrapped duration stays out of it).
    found = P.complete_skill_lists(text, doc, [ent("SKILL", "Java")])
    assert sorted(e.text for e in found) == ["Java", "Kafka"]
    found = P.complete_skill_lists(text, doc, [ent("SKILL", "Java"), ent("SKILL", "Python")])
    assert sorted(e.text for e in found) == ["Java", "Kafka", "Python", "Zuul"]
    grown = P.expand_to_segments(text, doc, [ent("COLLEGE", "Gandhi Institute of Technology")])
    assert [e.text for e in grown] == ["Rajiv Gandhi Institute of Technology"]
    # A span covering too little of its segment stays as predicted.
    kept = P.expand_to_segments(text, doc, [ent("COLLEGE", "Technology")])
    assert [e.text for e in kept] == ["Technology"]


def test_skill_fragments_grow_to_their_list_item() -> None:
    text = "SKILLS\nTools: Microsoft Visual Studio, Eclipse, Oracle 10g\nJava Developer at Acme\n"
    doc, ent = _entities_of(text)

    # "Microsoft" of "Microsoft Visual Studio" and "Oracle" + "10g" become the whole items.
    found = P.complete_skill_lists(text, doc, [ent("SKILL", "Microsoft"), ent("SKILL", "Oracle"), ent("SKILL", "10g")])
    assert sorted(e.text for e in found) == ["Eclipse", "Microsoft Visual Studio", "Oracle 10g"]
    # An item holding another label's entity is left alone.
    found = P.complete_skill_lists(text, doc, [ent("SKILL", "Java"), ent("DESIGNATION", "Developer")])
    assert sorted((e.label, e.text) for e in found) == [("DESIGNATION", "Developer"), ("SKILL", "Java")]


def test_only_the_first_location_is_the_candidates() -> None:
    text = "Jane Doe\nPune, Maharashtra\nEngineer at Acme - Mumbai\nLead at Beta - Pune\n"
    doc, ent = _entities_of(text)

    entities = [ent("LOCATION", "Pune"), ent("LOCATION", "Mumbai"), ent("LOCATION", "Pune", 1), ent("NAME", "Jane Doe")]
    kept = P.candidate_location(text, doc, entities)
    assert [(e.label, e.text, e.start) for e in kept] == [
        ("LOCATION", "Pune", text.index("Pune")),
        ("LOCATION", "Pune", text.rindex("Pune")),
        ("NAME", "Jane Doe", 0),
    ]


def test_companies_in_tool_sections_are_products() -> None:
    text = (
        "EXPERIENCE\nAnalyst\nNorthwind Traders -  Springfield -\n\n"
        "SKILLS\nDatabases: Contoso DB 11g, Fabrikam Office\nContoso Ltd -\n"
    )
    doc, ent = _entities_of(text)
    found = P.no_companies_in_tool_sections(
        text, doc, [ent("COMPANY", "Northwind Traders"), ent("COMPANY", "Contoso"), ent("COMPANY", "Contoso Ltd")]
    )
    # The vendor in the skills list goes; employers, and an entry line under the skills header, stay.
    assert [e.text for e in found] == ["Northwind Traders", "Contoso Ltd"]


def test_edges_are_trimmed_and_truncated_titles_completed() -> None:
    text = (
        "Principal Engineer Technical Staff\nLead: Principal Engineer Technical Staff\n\n"
        "Principal Engineer\n\nworked as Security Analyst in Contoso\n"
    )
    doc, ent = _entities_of(text)
    trimmed = P.trim_edges(text, doc, [ent("DESIGNATION", "as Security Analyst in")])
    assert [e.text for e in trimmed] == ["Security Analyst"]
    # "Principal Engineer" on line 2 goes on with the rest of the title found on line 1: it grows;
    # the same words on a line of their own (another job's title) stay as they are.
    found = P.complete_truncated_titles(
        text,
        doc,
        [
            ent("DESIGNATION", "Principal Engineer Technical Staff"),
            ent("DESIGNATION", "Principal Engineer", 1),
            ent("DESIGNATION", "Principal Engineer", 2),
        ],
    )
    assert sorted(e.text for e in found) == [
        "Principal Engineer",
        "Principal Engineer Technical Staff",
        "Principal Engineer Technical Staff",
    ]
    # Two title spans of one title merge into one.
    text = "Contoso Dynamics AX Consultant\nContoso Dynamics AX Consultant - Remote\n"
    doc, ent = _entities_of(text)
    found = P.complete_truncated_titles(
        text,
        doc,
        [
            ent("DESIGNATION", "Contoso Dynamics AX Consultant"),
            ent("DESIGNATION", "Contoso Dynamics", 1),
            ent("DESIGNATION", "AX Consultant", 1),
        ],
    )
    assert sorted((e.text, e.line) for e in found) == [
        ("Contoso Dynamics AX Consultant", 1),
        ("Contoso Dynamics AX Consultant", 2),
    ]


def test_place_names_grow_and_the_header_gives_a_missing_location() -> None:
    text = "Jane Example\nSpring Valley, Examplestate - Email me: jane@example.org\nEXPERIENCE\nAnalyst\n"
    doc, ent = _entities_of(text)
    grown = P.complete_place_names(text, doc, [ent("LOCATION", "Spring")])
    assert [e.text for e in grown] == ["Spring Valley"]
    found = P.header_location(text, doc, [ent("NAME", "Jane Example")])
    assert [(e.label, e.text) for e in found] == [("NAME", "Jane Example"), ("LOCATION", "Spring Valley")]
    # The tagger's own location wins; a comma line past the header is not the candidate's.
    assert P.header_location(text, doc, [ent("LOCATION", "Spring Valley")]) == [ent("LOCATION", "Spring Valley")]
    # The place line wins over a location the tagger found on the lines above it.
    found = P.header_location(text, doc, [ent("LOCATION", "Jane")])
    assert [(e.label, e.text) for e in found] == [("LOCATION", "Spring Valley")]
    found = P.header_location(text, doc, [ent("LOCATION", "Jane"), ent("LOCATION", "Spring Valley")])
    assert [(e.label, e.text) for e in found] == [("LOCATION", "Spring Valley")]
    headline = "Jane Example\nSenior Manager, Operations\n"
    assert P.header_location(headline, tokenize(headline), []) == []
    late = "Jane Example\nAnalyst\n\nSUMMARY\nJava, Python\nSpring Valley, Examplestate\n"
    late_doc, _ = _entities_of(late)
    assert P.header_location(late, late_doc, []) == []


def test_institution_lines_in_education_are_colleges() -> None:
    text = (
        "EXPERIENCE\nNorthwind Traders -  Springfield, Illinois -\n\n"
        "EDUCATION\nB.Sc in Physics\n\nLakeview Public School -  Riverside, Oregon\n\n2010\n"
        "Hill Valley College -  Springfield, Illinois\n"
        "B.Sc -  Springfield, Illinois\n"
        "Spring 2014 - Fall 2016\n"
    )
    doc, ent = _entities_of(text)
    found = P.institution_lines(text, doc, [ent("DEGREE", "B.Sc in Physics"), ent("COLLEGE", "Hill Valley College")])
    added = [(e.label, e.text) for e in found[2:]]
    # The untagged "Name - City, Region" line of the education section becomes a college; not a
    # line the tagger already has, a degree line, a date range or an employer line elsewhere.
    assert added == [("COLLEGE", "Lakeview Public School")]


def test_colleges_lose_a_trailing_town() -> None:
    text = (
        "Riverside College of Engineering, Lakeview\n"
        "Hill Valley High School,Springfield\n"
        "Contoso State University, Northridge\n"
        "University of Fabrikam, Eastside\n"
        "Riverside College, Fabrikam University\n"
        "Lakeview Institute of Technology, Spring Valley Road Campus\n"
    )
    doc = tokenize(text)
    entities = [
        Entity("COLLEGE", line, text.index(line), text.index(line) + len(line), n + 1, 0.8, "model")
        for n, line in enumerate(text.splitlines())
    ]
    found = P.college_without_place(text, doc, entities)
    assert [e.text for e in found] == [
        "Riverside College of Engineering",
        "Hill Valley High School",
        # Campuses of universities, an affiliating university and long tails stay.
        "Contoso State University, Northridge",
        "University of Fabrikam, Eastside",
        "Riverside College, Fabrikam University",
        "Lakeview Institute of Technology, Spring Valley Road Campus",
    ]
    assert all(text[e.start : e.end] == e.text for e in found)


def test_the_line_under_the_name_is_the_headline_title() -> None:
    def headline(text: str, *taken: tuple[str, str]) -> list[tuple[str, str]]:
        doc, ent = _entities_of(text)
        entities = [ent("NAME", "Dana Whitfield"), *(ent(label, value) for label, value in taken)]
        return [(e.label, e.text) for e in P.headline_title(text, doc, entities)[len(entities) :]]

    assert headline("Dana Whitfield\nHead of Field Services and Stores\nLakeview, Oregon\n") == [
        ("DESIGNATION", "Head of Field Services and Stores")
    ]
    # The title before ":" or " with ": the rest of the line is about the candidate.
    assert headline("Dana Whitfield\n\nDance Instructor :Diploma in Performing Arts\n") == [
        ("DESIGNATION", "Dance Instructor")
    ]
    assert headline("Dana Whitfield\nProcess engineer with 5+ years of experience in plastics\n") == [
        ("DESIGNATION", "Process engineer")
    ]
    # Students and support roles are occupations too.
    assert headline("Dana Whitfield\nStudent\n") == [("DESIGNATION", "Student")]
    assert headline("Dana Whitfield\nIT SUPPORT\n") == [("DESIGNATION", "IT SUPPORT")]
    # No occupation word, a line the tagger already has, a sentence or a section header: nothing.
    assert headline("Dana Whitfield\nLakeview Gardens\n") == []
    assert headline("Dana Whitfield\nSenior Analyst - Contoso\n", ("DESIGNATION", "Senior Analyst")) == []
    assert headline("Dana Whitfield\nWorked as an analyst.\n") == []
    assert headline("Dana Whitfield\nWork Experience\n") == []
    # Without the sentence's verb, and before the employer (which the tagger may have found).
    assert headline("Dana Whitfield\nWorking as bookkeeper @ Contoso\n", ("COMPANY", "Contoso")) == [
        ("DESIGNATION", "bookkeeper")
    ]


def test_title_lists_are_split_and_dash_tails_dropped() -> None:
    text = (
        "Network Engineer ,Storage Engineer\n"
        "Tutor, Lab Instructor, & Course Coordinator\n"
        "Test Engineer - Payments & Billing\n"
        "Coordinator III, Events\n"
        "Support Analyst - Field Engineer\n"
    )
    doc = tokenize(text)
    entities = [
        Entity("DESIGNATION", line, text.index(line), text.index(line) + len(line), n + 1, 0.8, "model")
        for n, line in enumerate(text.splitlines())
    ]
    found = P.split_title_lists(text, doc, entities)
    assert [e.text for e in found] == [
        "Network Engineer",
        "Storage Engineer",
        "Tutor",
        "Lab Instructor",
        "Course Coordinator",
        "Test Engineer",
        # A comma part without an occupation word, and a dash part with one, stay.
        "Coordinator III, Events",
        "Support Analyst - Field Engineer",
    ]
    assert all(text[e.start : e.end] == e.text for e in found)
    assert [e.line for e in found[:5]] == [1, 1, 2, 2, 2]


def _skills(found: list[Entity]) -> list[str]:
    return sorted(e.text for e in found if e.label == "SKILL")


def test_a_skill_list_wrapped_over_lines_is_completed_on_every_line() -> None:
    text = "SKILLS\nJava, Kotlin, Gradle,\nQuarkus, Helm\nLed a team of four\n"
    doc, ent = _entities_of(text)
    found = P.complete_skill_lists(text, doc, [ent("SKILL", "Java"), ent("SKILL", "Kotlin")])
    assert _skills(found) == ["Gradle", "Helm", "Java", "Kotlin", "Quarkus"]


def test_a_wrapped_list_runs_on_only_forwards_and_not_into_a_new_bullet() -> None:
    # The line before the list, and a bullet after a trailing comma, are not its continuation.
    text = "SKILLS\nPlanning, budgeting,\nJava, Kotlin, Gradle,\n• Mentored interns, ran demos\n"
    doc, ent = _entities_of(text)
    found = P.complete_skill_lists(text, doc, [ent("SKILL", "Java"), ent("SKILL", "Kotlin")])
    assert _skills(found) == ["Gradle", "Java", "Kotlin"]


def test_a_list_without_a_trailing_comma_ends_at_its_line() -> None:
    text = "SKILLS\nJava, Kotlin, Gradle\nQuarkus, Helm\n"
    doc, ent = _entities_of(text)
    found = P.complete_skill_lists(text, doc, [ent("SKILL", "Java"), ent("SKILL", "Kotlin")])
    assert _skills(found) == ["Gradle", "Java", "Kotlin"]


def test_every_row_of_a_category_table_lists_skills() -> None:
    text = (
        "TECHNICAL SKILLS\n"
        "Languages: Zig, Elm\n"
        "Databases: Rethink, Cassandra\n"
        "• Testing Tools: Pactum, Gatling, Karate, Selenide, Wiremock\n"
        "Build Tools: Bazel\n"
    )
    doc, ent = _entities_of(text)
    # Rows 1, 2 and 4 have predicted skills; row 3 has one of five items (below the line share).
    found = P.complete_skill_lists(
        text, doc, [ent("SKILL", "Zig"), ent("SKILL", "Cassandra"), ent("SKILL", "Gatling"), ent("SKILL", "Bazel")]
    )
    assert _skills(found) == [
        "Bazel",
        "Cassandra",
        "Elm",
        "Gatling",
        "Karate",
        "Pactum",
        "Rethink",
        "Selenide",
        "Wiremock",
        "Zig",
    ]


def test_a_category_table_needs_skills_on_enough_rows() -> None:
    text = "TECHNICAL SKILLS\nLanguages: Zig, Elm\nDatabases: Rethink, Cassandra\nBuild Tools: Bazel\nMethods: Kanban\n"
    doc, ent = _entities_of(text)
    # Two of four rows: too few rows to call the block a table; the lines alone are completed.
    found = P.complete_skill_lists(text, doc, [ent("SKILL", "Zig"), ent("SKILL", "Bazel")])
    assert _skills(found) == ["Bazel", "Elm", "Zig"]


def test_every_row_of_a_bulleted_one_skill_table_is_a_skill() -> None:
    text = (
        "SKILLS\n• Manual testing\n• Load testing\n• Test planning\n• Defect triage\n"
        "• Worked closely with the whole product team\n"
    )
    doc, ent = _entities_of(text)
    found = P.complete_skill_lists(
        text, doc, [ent("SKILL", "Manual testing"), ent("SKILL", "Load testing"), ent("SKILL", "Defect triage")]
    )
    # The long sentence row is no table row.
    assert _skills(found) == ["Defect triage", "Load testing", "Manual testing", "Test planning"]


def test_a_list_end_marker_is_no_part_of_the_skill() -> None:
    text = "Web: HTML, CSS, TypeScript etc.\n"
    doc, ent = _entities_of(text)
    tidy = P.tidy_skill_items(text, doc, [ent("SKILL", "TypeScript etc."), ent("SKILL", "CSS"), ent("NAME", "Web")])
    assert [(e.label, e.text, text[e.start : e.end]) for e in tidy] == [
        ("SKILL", "TypeScript", "TypeScript"),
        ("SKILL", "CSS", "CSS"),
        ("NAME", "Web", "Web"),
    ]


def test_entity_edges_lose_function_words_and_field_labels() -> None:
    def trimmed(value: str) -> str:
        s, e = P.trim_entity_span(value, 0, len(value))
        return value[s:e]

    assert trimmed("Security Analyst in") == "Security Analyst"
    assert trimmed("as a Test Analyst at") == "Test Analyst"
    assert trimmed("from Lakeview Institute of Technology,") == "Lakeview Institute of Technology"
    assert trimmed("Company: Northwind Traders") == "Northwind Traders"
    assert trimmed("Employer 2: Contoso Ltd") == "Contoso Ltd"
    # Inner function words stay, and a title before a colon is not a field label.
    assert trimmed("Bank of Examples") == "Bank of Examples"
    assert trimmed("Event Coordinator: Spring Fundraiser") == "Event Coordinator: Spring Fundraiser"
    # Nothing but function words: nothing left.
    assert trimmed("at the") == ""


def test_a_paragraph_of_skill_lists_completes_its_other_list_lines() -> None:
    text = (
        "SKILLS\n"
        "Languages: Zig, Elm, Nim\n"
        "• Release planning • Quarkus, Helm, Pulumi\n"
        "Stores: Rethink, Cassandra\n"
        "Mentored two interns\n"
    )
    doc, ent = _entities_of(text)
    # Two of the three list lines are skill lists: the third (nothing found on it) is one too;
    # the one-item sentence line is no list line.
    found = P.complete_skill_lists(text, doc, [ent("SKILL", "Zig"), ent("SKILL", "Cassandra")])
    expected = ["Cassandra", "Elm", "Helm", "Nim", "Pulumi", "Quarkus", "Release planning", "Rethink", "Zig"]
    assert _skills(found) == expected
    # A spaced dash alone makes no list line: an institution line stays out of the paragraph's lists.
    text2 = "SKILLS\nJava, Kafka\nZuul, Python\nRiverside Institute of Technology - Pune\n"
    doc2, ent2 = _entities_of(text2)
    found = P.complete_skill_lists(text2, doc2, [ent2("SKILL", "Java"), ent2("SKILL", "Python")])
    assert _skills(found) == ["Java", "Kafka", "Python", "Zuul"]
    # One skill list of three list lines is not enough.
    found = P.complete_skill_lists(text, doc, [ent("SKILL", "Zig")])
    assert _skills(found) == ["Elm", "Nim", "Zig"]
    # Outside a skills section (the duty bullets of a job) the rule does not apply.
    text3 = text.replace("SKILLS", "EXPERIENCE")
    doc3, ent3 = _entities_of(text3)
    found = P.complete_skill_lists(text3, doc3, [ent3("SKILL", "Zig"), ent3("SKILL", "Cassandra")])
    assert "Release planning" not in _skills(found)


def test_skills_outside_the_skill_sections_are_dropped() -> None:
    text = (
        "Data engineer fluent in Kotlin\n"
        "SKILLS\nZig, Elm\n"
        "EXPERIENCE\nBuilt pipelines on Flink\n"
        "PROJECTS\nA Rust parser\n"
        "LANGUAGES\nEsperanto\n"
    )
    doc, ent = _entities_of(text)
    ents = [ent("SKILL", v) for v in ("Kotlin", "Zig", "Elm", "Flink", "Rust", "Esperanto")]
    kept = P.skills_from_skill_sections(text, doc, [*ents, ent("COMPANY", "Flink")])
    assert _skills(kept) == ["Elm", "Esperanto", "Zig"]
    assert [e.text for e in kept if e.label == "COMPANY"] == ["Flink"]
    # Without a skills section, the lines before the first header keep their skills.
    text = "Data engineer fluent in Kotlin\nEXPERIENCE\nBuilt pipelines on Flink\n"
    doc, ent = _entities_of(text)
    kept = P.skills_from_skill_sections(text, doc, [ent("SKILL", "Kotlin"), ent("SKILL", "Flink")])
    assert _skills(kept) == ["Kotlin"]


def test_companies_grow_to_the_employer_line_name() -> None:
    text = (
        "EXPERIENCE\nNorthwind Financial Services -  Springfield, Illinois -\n"
        "Tailspin, Contoso, Fabrikam -\nAnalyst - Acme Corp -\nWorked for Northwind on billing\n"
    )
    doc, ent = _entities_of(text)
    entities = [
        ent("COMPANY", "Northwind"),
        ent("LOCATION", "Springfield"),
        ent("SKILL", "Tailspin"),
        ent("COMPANY", "Contoso"),
        ent("COMPANY", "Fabrikam"),
        ent("DESIGNATION", "Analyst"),
        ent("COMPANY", "Acme"),
        ent("COMPANY", "Northwind", 1),
    ]
    found = P.employer_line_companies(text, doc, entities)
    # The name before the first spaced dash, skills and other company parts absorbed; a name
    # holding a title, and a company outside an employer line, stay as they are.
    assert sorted((e.label, e.text) for e in found) == [
        ("COMPANY", "Acme"),
        ("COMPANY", "Northwind"),
        ("COMPANY", "Northwind Financial Services"),
        ("COMPANY", "Tailspin, Contoso, Fabrikam"),
        ("DESIGNATION", "Analyst"),
        ("LOCATION", "Springfield"),
    ]


def test_vendor_products_are_not_companies() -> None:
    text = (
        "Contoso certified Developer\nTools: Contoso 11g, Fabrikam Excel, Fabrikam 9i\n"
        "Tailspin 2015 - 2018\nWorked at Tailspin on Contoso products\n"
    )
    doc, ent = _entities_of(text)
    entities = [
        ent("COMPANY", "Contoso"),
        ent("COMPANY", "Contoso", 1),
        ent("COMPANY", "Fabrikam"),
        ent("COMPANY", "Fabrikam", 1),
        ent("COMPANY", "Tailspin"),
        ent("COMPANY", "Tailspin", 1),
        ent("COMPANY", "Contoso", 2),
    ]
    kept = P.no_vendor_products(text, doc, entities)
    # Versions, "certified" and office products go; a company before a year range stays.
    assert [(e.text, e.start) for e in kept] == [
        ("Tailspin", text.index("Tailspin")),
        ("Tailspin", text.rindex("Tailspin")),
        ("Contoso", text.rindex("Contoso")),
    ]


def test_a_skill_table_one_row_per_paragraph_completes_its_other_rows() -> None:
    text = (
        "TECHNICAL SKILLS\n\nLanguages Zig, Nim, Crystal\n\nDatabases Cassandra, Neo4j\n\n"
        "Build Tools Bazel, Buck\n\nA long paragraph on my career, with plenty of\n"
        "detail on each team, over many lines, and more, and\nyet more of it, once again, and\n"
        "a last line, here\n\nEXPERIENCE\nEngineer at Acme, Pune\n"
    )
    doc, ent = _entities_of(text)
    # Two of the three rows hold skills: the third is completed, its category word kept ("Build
    # Tools Bazel"), and the other items of the first two; the long paragraph is no table row,
    # and a list line outside the skills section is left alone.
    found = P.complete_skill_sections(text, doc, [ent("SKILL", "Zig"), ent("SKILL", "Cassandra")])
    assert _skills(found) == ["Buck", "Build Tools Bazel", "Cassandra", "Crystal", "Neo4j", "Nim", "Zig"]
    # One row with skills is not enough.
    found = P.complete_skill_sections(text, doc, [ent("SKILL", "Zig")])
    assert _skills(found) == ["Zig"]


def test_the_start_of_an_open_range_is_no_graduation_year() -> None:
    text = (
        "EDUCATION\n"
        "M.Sc in Botany\nLakeview University -  Springfield, Illinois\n2019 to Present\n\n"
        "B.Sc in Botany\nRiverside College -  Springfield, Illinois\n2015 to 2018\n"
    )
    doc, ent = _entities_of(text)
    found = P.graduation_years(text, doc, [ent("DEGREE", "M.Sc in Botany"), ent("DEGREE", "B.Sc in Botany")], [])
    assert [e.text for e in found if e.label == "GRADUATION_YEAR"] == ["2018"]


def test_a_degree_cut_short_grows_to_its_whole_line() -> None:
    text = (
        "EDUCATION\n"
        "Diploma in Marine Engineering\n"
        "Post Graduate Diploma in Harbour Management and\n"
        "Coastal Logistics\n"
        "Lakeview Institute -  Springfield, Illinois\n"
        "B.Sc in Botany 2015\n"
    )
    doc, ent = _entities_of(text)
    found = P.whole_degree_lines(
        text,
        doc,
        [
            ent("DEGREE", "Diploma"),
            ent("DEGREE", "Post Graduate Diploma in Harbour Management"),
            ent("COLLEGE", "Lakeview Institute"),
            ent("DEGREE", "B.Sc"),
        ],
    )
    assert [e.text for e in found if e.label == "DEGREE"] == [
        "Diploma in Marine Engineering",
        "Post Graduate Diploma in Harbour Management and\nCoastal Logistics",
        # The rest of the line holds a year: the degree stays as found.
        "B.Sc",
    ]


def test_titles_lose_their_verb_and_employer() -> None:
    text = (
        "Trainer-Core Banking-Northwind Ltd\n"
        "Support Executive at Contoso\n"
        "Working as bookkeeper @ Fabrikam\n"
        "Officer-HR & Administration\n"
        "Analyst at Large\n"
        "Contoso -  Springfield\n"
    )
    doc, ent = _entities_of(text)
    entities = [
        ent("DESIGNATION", "Trainer-Core Banking-Northwind Ltd"),
        ent("DESIGNATION", "Support Executive at Contoso"),
        ent("DESIGNATION", "Working as bookkeeper @ Fabrikam"),
        ent("DESIGNATION", "Officer-HR & Administration"),
        ent("DESIGNATION", "Analyst at Large"),
        ent("COMPANY", "Contoso", 1),
    ]
    found = P.titles_without_employers(text, doc, entities)
    assert sorted((e.label, e.text) for e in found) == [
        # The employer: a company word ("Ltd") or a company the tagger found ("Contoso").
        ("COMPANY", "Contoso"),
        ("COMPANY", "Contoso"),
        ("COMPANY", "Northwind Ltd"),
        ("DESIGNATION", "Analyst at Large"),
        ("DESIGNATION", "Officer-HR & Administration"),
        ("DESIGNATION", "Support Executive"),
        ("DESIGNATION", "Trainer-Core Banking"),
        # "Fabrikam" is no known company: the title loses only its verb.
        ("DESIGNATION", "bookkeeper @ Fabrikam"),
    ]
    assert all(text[e.start : e.end] == e.text for e in found)


def test_a_skills_section_item_absorbs_its_vendor_and_version() -> None:
    text = "SKILLS\nTools: Acme Server 2019, Zeta Cloud DBA, Kite\nEDUCATION\nB.Sc. Physics, Hill College 2019\n"
    doc, ent = _entities_of(text)
    entities = [
        ent("SKILL", "Acme Server"),
        ent("GRADUATION_YEAR", "2019"),
        ent("COMPANY", "Zeta"),
        ent("SKILL", "Cloud DBA"),
        ent("SKILL", "Kite"),
        ent("GRADUATION_YEAR", "2019", 1),
    ]
    found = P.whole_skill_section_items(text, doc, entities)
    # The version and the vendor join their skill; the education section's year stays.
    assert sorted((e.label, e.text, e.line) for e in found) == [
        ("GRADUATION_YEAR", "2019", 4),
        ("SKILL", "Acme Server 2019", 2),
        ("SKILL", "Kite", 2),
        ("SKILL", "Zeta Cloud DBA", 2),
    ]
    # A year in a skills section is no graduation year even on an item without a skill.
    found = P.whole_skill_section_items(text, doc, [ent("GRADUATION_YEAR", "2019"), ent("SKILL", "Kite")])
    assert [(e.label, e.text) for e in found] == [("SKILL", "Kite")]


def test_shorter_company_names_yield_to_the_full_name() -> None:
    text = "Zentrix\nZentrix Labs Pvt Ltd -  Pune -\nSkills: Zentrix DB\nNorthwind Traders\n"
    doc, ent = _entities_of(text)
    entities = [
        ent("COMPANY", "Zentrix"),
        ent("COMPANY", "Zentrix Labs Pvt Ltd"),
        ent("COMPANY", "Northwind Traders"),
        ent("SKILL", "Zentrix DB"),
    ]

    found = P.prefer_full_company_names(text, doc, entities)
    # The bare "Zentrix" goes (a word-prefix of the full name); a name sharing no prefix and
    # other labels stay.
    assert sorted((e.label, e.text) for e in found) == [
        ("COMPANY", "Northwind Traders"),
        ("COMPANY", "Zentrix Labs Pvt Ltd"),
        ("SKILL", "Zentrix DB"),
    ]
    # Not a prefix at a word boundary ("Zen" of "Zentrix Labs"): both stay.
    alone = [ent("COMPANY", "Zentrix Labs Pvt Ltd"), ent("COMPANY", "Zen")]
    assert P.prefer_full_company_names(text, doc, alone) == alone


def test_the_first_experience_entry_gets_its_employer() -> None:
    text = (
        "Jane Roe\nPlatform Engineer\n\nWORK EXPERIENCE\n\nSite Reliability Engineer\n\n"
        "Quillfeather -  Springfield, Oregon -\n\nMarch 2019 to Present\n\n"
        "Support Analyst\n\nBramblecode -\n\n2016 to 2019\n"
    )
    doc, ent = _entities_of(text)
    titles = [ent("DESIGNATION", "Site Reliability Engineer"), ent("DESIGNATION", "Support Analyst")]

    found = P.first_employer_line(text, doc, titles)
    # The first entry's employer line gives its name; the later entry's is left alone.
    assert [(e.label, e.text) for e in found if e.label == "COMPANY"] == [("COMPANY", "Quillfeather")]
    # Nothing when the tagger has the employer already (or anything else on its name).
    has = [*titles, ent("LOCATION", "Quillfeather")]
    assert P.first_employer_line(text, doc, has) == has
    # A title outside the experience section ("Platform Engineer", the headline) is no entry.
    headline = [ent("DESIGNATION", "Platform Engineer")]
    assert P.first_employer_line(text, doc, headline) == headline


def test_a_bare_employer_line_counts_but_not_a_sentence_or_a_named_vendor() -> None:
    bare = "WORK EXPERIENCE\n\nData Analyst\n\nLumen Ridge Group\n\nBuilt reports for the sales team.\n"
    doc, ent = _entities_of(bare)
    found = P.first_employer_line(bare, doc, [ent("DESIGNATION", "Data Analyst")])
    assert [e.text for e in found if e.label == "COMPANY"] == ["Lumen Ridge Group"]

    sentence = "WORK EXPERIENCE\n\nData Analyst\n\nBuilt reports for the sales team.\n"
    doc, ent = _entities_of(sentence)
    assert [e.label for e in P.first_employer_line(sentence, doc, [ent("DESIGNATION", "Data Analyst")])] == [
        "DESIGNATION"
    ]

    # The title names a company the tagger found: annotators label that one, not the line below.
    vendor = "WORK EXPERIENCE\n\nZentrix Apps Consultant\n\nLumen Ridge Group -\n\n2018 to 2020\n\nZentrix\n"
    doc, ent = _entities_of(vendor)
    entities = [ent("DESIGNATION", "Zentrix Apps Consultant"), ent("COMPANY", "Zentrix", 1)]
    assert P.first_employer_line(vendor, doc, entities) == entities

    # Resume-builder PDFs split "City, State" over lines under the title: a place, no employer.
    place = "WORK EXPERIENCE\n\nData Analyst\n\nSpringfield\n\n,\nOregon\n"
    doc, ent = _entities_of(place)
    assert [e.label for e in P.first_employer_line(place, doc, [ent("DESIGNATION", "Data Analyst")])] == ["DESIGNATION"]


def test_first_entry_title_is_the_line_under_the_experience_header() -> None:
    text = (
        "Jane Example\nSUMMARY\nReliable analyst.\n\nWORK EXPERIENCE\n\nInventory Control Analyst\n\n"
        "Northwind Traders -  Springfield, Illinois -\n\nMay 2016 to Present\n\n"
        "Store Clerk\n\nContoso -\n\n2012 to 2016\n\nEDUCATION\nB.Sc\n"
    )
    doc, ent = _entities_of(text)
    found = P.first_entry_title(text, doc, [ent("COMPANY", "Northwind Traders")])
    # Only the first entry: annotators label the current title, often not the older ones.
    assert [e.text for e in found if e.label == "DESIGNATION"] == ["Inventory Control Analyst"]
    # The tagger's own entity on the line stays as it is.
    found = P.first_entry_title(text, doc, [ent("DESIGNATION", "Control Analyst")])
    assert [e.text for e in found] == ["Control Analyst"]


def test_first_entry_title_needs_a_title_line() -> None:
    for first in ("Working in Northwind as a developer", "Northwind Traders", "• Store Manager"):
        text = f"Jane Example\n\nEXPERIENCE\n\n{first}\n\n2012 to 2016\n"
        doc = tokenize(text)
        assert P.first_entry_title(text, doc, []) == [], first


def test_a_dated_entry_opens_with_its_title_even_without_an_occupation_word() -> None:
    text = "Jane Example\n\nWORK EXPERIENCE\n\nTeam Member\n\nNorthwind Traders -\n\nMay 2016 to Present\n"
    doc = tokenize(text)
    assert [e.text for e in P.first_entry_title(text, doc, [])] == ["Team Member"]
    # Without the employer and date lines under it, a line with no occupation word is no title.
    for rest in ("Northwind Traders -\n\nBuilt reports.\n", "Built reports.\n"):
        text = f"Jane Example\n\nWORK EXPERIENCE\n\nTeam Member\n\n{rest}"
        assert P.first_entry_title(text, tokenize(text), []) == [], rest
    # A page link in the entry's place is no title.
    text = "Jane Example\n\nEXPERIENCE\n\nhttps://example.org/r/jane\n\nNorthwind -\n\nMay 2016 to Present\n"
    assert P.first_entry_title(text, tokenize(text), []) == []


def test_a_place_only_employer_line_gives_no_company() -> None:
    text = "WORK EXPERIENCE\n\nData Analyst\n\nPune, Maharashtra -\n\nJune 2016 to Present\n"
    doc, ent = _entities_of(text)
    assert [e.label for e in P.first_employer_line(text, doc, [ent("DESIGNATION", "Data Analyst")])] == ["DESIGNATION"]


def test_names_are_not_titles() -> None:
    text = "Jane Example - B.Sc Chemistry - Lab Technician\n"
    doc, ent = _entities_of(text)
    found = P.names_are_not_titles(
        text,
        doc,
        [ent("NAME", "Jane Example"), ent("DESIGNATION", "Jane Example"), ent("DESIGNATION", "Lab Technician")],
    )
    assert [(e.label, e.text) for e in found] == [("NAME", "Jane Example"), ("DESIGNATION", "Lab Technician")]


def test_known_skills_are_not_titles() -> None:
    text = "Tools: MS Office, Microsoft Excel\nOffice Manager\n"
    doc, ent = _entities_of(text)
    entities = [
        ent("DESIGNATION", "MS Office"),
        ent("DESIGNATION", "Microsoft Excel"),
        ent("DESIGNATION", "Office Manager"),
    ]
    assert [e.text for e in P.names_are_not_titles(text, doc, entities)] == ["Office Manager"]


def test_no_titles_in_job_prose() -> None:
    text = (
        "Jane Example\nWorking as Accountant at Northwind\n\nWORK EXPERIENCE\n\nAccountant\n\n"
        "• Worked as Junior Clerk in Contoso from 2010 to 2012\n"
    )
    doc, ent = _entities_of(text)
    entities = [
        ent("DESIGNATION", "Accountant"),
        ent("DESIGNATION", "Accountant", 1),
        ent("DESIGNATION", "Junior Clerk"),
    ]
    found = P.no_titles_in_job_prose(text, doc, entities)
    # The headline's sentence and the entry's title line keep their titles; the description's goes.
    assert [(e.text, e.line) for e in found] == [("Accountant", 2), ("Accountant", 6)]


def test_institution_name_lines_in_education_are_colleges() -> None:
    text = (
        "EDUCATION\n"
        "B.Sc in Physics\n\nHill Valley Junior College\n\n2014\n\n"
        "M.Sc\n\nHVU\n\n2016\n\n"
        "Diploma in Design and\nFine Arts\n\n"
        "Robotics Club\n\n"
        "SKILLS\nLakeside Public School\n"
    )
    doc, ent = _entities_of(text)
    entities = [ent("DEGREE", "B.Sc in Physics"), ent("DEGREE", "M.Sc"), ent("DEGREE", "Diploma in Design and")]
    found = P.institution_name_lines(text, doc, entities)
    # A name line with an institution word, and a short name line under a degree's line; not
    # a degree's wrapped rest ("Fine Arts"), a line without an institution word under no degree
    # ("Robotics Club"), nor a line outside the education section.
    assert sorted(e.text for e in found if e.label == "COLLEGE") == ["HVU", "Hill Valley Junior College"]
    # A line the tagger found something on is left alone.
    found = P.institution_name_lines(text, doc, [*entities, ent("COMPANY", "Hill Valley")])
    assert sorted(e.text for e in found if e.label == "COLLEGE") == ["HVU"]
    # School first ("School / Town / Field / Degree / Field"): the line under the degree is a
    # field of study, as the entry already has its college.
    text = "EDUCATION\n2015\nLakemont Hall\n\nRiverside\n\nMBA\n\nForensic Accounting\n"
    doc, ent = _entities_of(text)
    found = P.institution_name_lines(text, doc, [ent("COLLEGE", "Lakemont Hall"), ent("DEGREE", "MBA")])
    assert [e.text for e in found if e.label == "COLLEGE"] == ["Lakemont Hall"]


def test_degree_word_lines_in_education_are_degrees() -> None:
    text = "EDUCATION\nB-TECH\n\nHill College\n\nB.C.A in Computer Applications\n\nSSC\n\nMasters 2012\n\nBachelor's\n"
    doc, ent = _entities_of(text)
    found = P.degree_word_lines(text, doc, [ent("COLLEGE", "Hill College"), ent("DEGREE", "Bachelor's")])
    # Spelled with dots or dashes, whole lines; not schooling ("SSC"), a line with a year, or
    # a line the tagger found something on.
    assert sorted(e.text for e in found if e.label == "DEGREE") == [
        "B-TECH",
        "B.C.A in Computer Applications",
        "Bachelor's",
    ]
    assert all(text[e.start : e.end] == e.text for e in found)


def test_a_vendor_in_a_skills_list_is_freed_for_its_skill_item() -> None:
    text = "TECHNICAL SKILLS\nDatabases: Zetabase 12z, Rethink\n\nEXPERIENCE\nEngineer at Acme, Pune\n"
    doc, ent = _entities_of(text)
    # The tagger calls the vendor of "Zetabase 12z" a company: the item is a skill all the same.
    found = P.repair_entities(text, doc, [ent("COMPANY", "Zetabase"), ent("SKILL", "Rethink")], [])
    in_skills = sorted((e.label, e.text) for e in found if e.line == 2)
    assert in_skills == [("SKILL", "Rethink"), ("SKILL", "Zetabase 12z")]


def test_category_rows_across_a_skills_section_are_skill_lists() -> None:
    text = (
        "TECHNICAL SKILLS\n"
        "• Frameworks: Zig, Elm\n"
        "• Hands on experience on many platforms.\n"
        "• Office tools: Quillpad, Sheetwise, Slidecraft\n"
        "\n"
        "• Databases: Rethink\n"
        "• Report tool: Crystal Lens\n"
        "\n"
        "EXPERIENCE\n"
        "Designation: Engineer\n"
    )
    doc, ent = _entities_of(text)
    # Two of the four category rows hold skills: the other rows' items become skills too; the
    # sentence bullet is no category row, and rows outside the skills section stay untouched.
    found = P.complete_category_rows(text, doc, [ent("SKILL", "Zig"), ent("SKILL", "Rethink")])
    assert _skills(found) == ["Crystal Lens", "Quillpad", "Rethink", "Sheetwise", "Slidecraft", "Zig"]
    # One row of four is too few.
    found = P.complete_category_rows(text, doc, [ent("SKILL", "Zig")])
    assert _skills(found) == ["Zig"]


def test_a_college_run_across_a_blank_line_is_split() -> None:
    text = "EDUCATION\nRiverside Institute of Technology\n\nFabrikam University\n2012\n"
    doc = tokenize(text)
    s = text.index("Riverside")
    t = text.index("University") + len("University")
    merged = Entity("COLLEGE", text[s:t], s, t, 2, 0.8, "model")
    found = P.split_colleges_at_blank_lines(text, doc, [merged])
    assert [(e.text, e.line) for e in found] == [("Riverside Institute of Technology", 2), ("Fabrikam University", 4)]
    assert all(text[e.start : e.end] == e.text for e in found)
    # A part without an institution word beside one with it is a field of study: dropped.
    text = "EDUCATION\nLakeview Community College\n\nNetworking Technology\n"
    s = text.index("Lakeview")
    merged = Entity("COLLEGE", text[s:].rstrip(), s, len(text) - 1, 2, 0.8, "model")
    found = P.split_colleges_at_blank_lines(text, tokenize(text), [merged])
    assert [e.text for e in found] == ["Lakeview Community College"]
    # Other labels and single-line colleges are left alone.
    text = "MBA\n\nAccounting\n"
    degree = Entity("DEGREE", text.rstrip(), 0, len(text) - 1, 1, 0.8, "model")
    assert P.split_colleges_at_blank_lines(text, tokenize(text), [degree]) == [degree]


def test_a_college_cut_short_on_its_name_line_grows_to_the_line() -> None:
    text = (
        "EDUCATION\nRiverside Institute for Home Science & Higher Education for Women\n2014\n"
        "Lakeview University - Northside Business School\n"
        "Hill Valley College Fabrikam University Center\n"
        "Contoso Institute, Springfield\n"
    )
    doc, ent = _entities_of(text)
    found = P.whole_college_lines(
        text,
        doc,
        [
            ent("COLLEGE", "Riverside Institute"),
            ent("COLLEGE", "Lakeview University"),
            ent("COLLEGE", "Hill Valley College"),
            ent("COLLEGE", "Contoso Institute"),
        ],
    )
    # Not past a spaced dash, into a second institution, or over a comma.
    assert [e.text for e in found] == [
        "Riverside Institute for Home Science & Higher Education for Women",
        "Lakeview University",
        "Hill Valley College",
        "Contoso Institute",
    ]
    assert all(text[e.start : e.end] == e.text for e in found)
    # Outside the education section, or with another entity on the line, nothing grows.
    plain = "Riverside Institute for Home Science\n"
    doc, ent = _entities_of(plain)
    assert [e.text for e in P.whole_college_lines(plain, doc, [ent("COLLEGE", "Riverside Institute")])] == [
        "Riverside Institute"
    ]
    text = "EDUCATION\nRiverside Institute for Home Science\n"
    doc, ent = _entities_of(text)
    found = P.whole_college_lines(text, doc, [ent("COLLEGE", "Riverside Institute"), ent("SKILL", "Science")])
    assert [e.text for e in found] == ["Riverside Institute", "Science"]


def test_a_field_of_study_after_a_degree_is_no_college() -> None:
    text = "EDUCATION\nB.Tech. in Information Technology\nM.Sc in\nApplied Physics\nMBA in Riverside College\n"
    doc, ent = _entities_of(text)
    found = P.fields_of_study_in_degrees(
        text,
        doc,
        [
            ent("DEGREE", "B.Tech."),
            ent("COLLEGE", "Information Technology"),
            ent("DEGREE", "M.Sc"),
            ent("COLLEGE", "Applied Physics"),
            ent("DEGREE", "MBA"),
            ent("COLLEGE", "Riverside College"),
        ],
    )
    # The field joins its degree, also on the wrapped rest; a college with an institution word stays.
    assert [(e.label, e.text) for e in found] == [
        ("DEGREE", "B.Tech. in Information Technology"),
        ("DEGREE", "M.Sc in\nApplied Physics"),
        ("DEGREE", "MBA"),
        ("COLLEGE", "Riverside College"),
    ]
    assert all(text[e.start : e.end] == e.text for e in found)


def test_a_short_name_under_a_degree_line_the_tagger_missed_is_its_college() -> None:
    # The degree line is found first, so the name under it is the degree's college.
    text = "Jane Example\n\nEDUCATION\n\nBE\n\nHVU\n\nSKILLS\n\nJava\n"
    found = P.repair_entities(text, tokenize(text), [], [])
    assert [(e.label, e.text) for e in found if e.label in ("DEGREE", "COLLEGE")] == [
        ("DEGREE", "BE"),
        ("COLLEGE", "HVU"),
    ]


def test_a_split_place_under_a_degree_is_no_college() -> None:
    # "City" / "," / "State": a resume-builder place split over lines, not the degree's college.
    text = "EDUCATION\nHill Valley University\n\nMay 2015\n\nDiploma\n\nSpringfield\n\n,\nIllinois\n"
    doc, ent = _entities_of(text)
    found = P.institution_name_lines(text, doc, [ent("DEGREE", "Diploma")])
    assert [e.text for e in found if e.label == "COLLEGE"] == ["Hill Valley University"]


def test_a_college_line_ending_in_a_function_word_does_not_grow() -> None:
    text = "EDUCATION\nUniversity of\nLakeview\n"
    doc, ent = _entities_of(text)
    assert [e.text for e in P.whole_college_lines(text, doc, [ent("COLLEGE", "University")])] == ["University"]


def test_the_headline_employer_after_the_title_is_a_company() -> None:
    def companies(text: str, *taken: tuple[str, str]) -> list[str]:
        doc, ent = _entities_of(text)
        entities = [ent("NAME", "Dana Whitfield"), *(ent(label, value) for label, value in taken)]
        return [e.text for e in P.headline_company(text, doc, entities) if e.label == "COMPANY"]

    title = ("DESIGNATION", "Field Engineer")
    assert companies("Dana Whitfield\nField Engineer - Brightwater Labs\nLakeview, Oregon\n", title) == [
        "Brightwater Labs"
    ]
    # Nothing without the title filling the part before the dash, or with an entity after it.
    assert companies("Dana Whitfield\nField Engineer - Brightwater Labs\n") == []
    assert companies("Dana Whitfield\nSenior Field Engineer - Brightwater Labs\n", title) == []
    assert companies("Dana Whitfield\nField Engineer - Brightwater Labs\n", title, ("COMPANY", "Brightwater")) == [
        "Brightwater"
    ]
    # A place and the job board's contact line, a second dash, digits: no employer.
    assert companies("Dana Whitfield\nField Engineer - Email me on Indeed\n", title) == []
    assert companies("Dana Whitfield\nField Engineer - Brightwater - Lakeview\n", title) == []
    assert companies("Dana Whitfield\nField Engineer - 5 years\n", title) == []


def test_titles_in_tool_sections_are_no_titles() -> None:
    text = (
        "Dana Whitfield\nWORK EXPERIENCE\nField Engineer\nBrightwater Labs\n"
        "PROJECTS\nSolar Survey\nField Engineer - Survey Team\nTECHNICAL SKILLS\nMapping tools\n"
        "Military Experience\nRadio Operator\n"
    )
    doc, ent = _entities_of(text)
    entities = [ent("DESIGNATION", "Field Engineer"), ent("DESIGNATION", "Field Engineer", 1)]
    entities += [ent("DESIGNATION", "Radio Operator")]
    kept = P.names_are_not_titles(text, doc, entities)
    # The project's role line goes; the entry's title and the one under a template experience
    # header (which the section lexicon does not know) stay.
    assert [(e.text, e.start) for e in kept] == [(e.text, e.start) for e in (entities[0], entities[2])]


def test_degree_abbreviations_are_no_titles() -> None:
    text = "Dana Whitfield - B.Tech Mechanical - 4 years\nEngineering Systems\nMBA Program Manager\n"
    doc, ent = _entities_of(text)
    entities = [
        ent("DESIGNATION", "B.Tech Mechanical"),
        ent("DESIGNATION", "Engineering Systems"),
        ent("DESIGNATION", "MBA Program Manager"),
    ]
    kept = P.names_are_not_titles(text, doc, entities)
    # A degree abbreviation without an occupation word goes; a line of work and a title stay.
    assert [e.text for e in kept] == ["Engineering Systems", "MBA Program Manager"]


def test_an_experience_section_opening_with_an_employer_line_gives_its_company() -> None:
    def employer(rest: str) -> list[str]:
        text = f"Dana Whitfield\n\nWORK EXPERIENCE\n\n{rest}"
        doc, _ent = _entities_of(text)
        return [e.text for e in P.first_entry_employer(text, doc, [])]

    assert employer("Brightwater Labs -\n\nMarch 2015 to 2017\n") == ["Brightwater Labs"]
    assert employer("Brightwater Labs -  Lakeview, Oregon -\n\nMarch 2015 to 2017\n") == ["Brightwater Labs"]
    # No date next, a place alone or a title line first: nothing.
    assert employer("Brightwater Labs -\n\nBuilt survey tools.\n") == []
    assert employer("Pune, Maharashtra -\n\nMarch 2015 to 2017\n") == []
    assert employer("Field Engineer\n\nBrightwater Labs -\n\nMarch 2015 to 2017\n") == []


def test_list_items_are_no_titles() -> None:
    text = "WORK EXPERIENCE\nQuill Writer, Sheet Maker, Slide Deck, Mail\nRegional Sales, Retail, Online Accounts\n"
    doc, ent = _entities_of(text)
    entities = [ent("DESIGNATION", "Sheet Maker"), ent("DESIGNATION", "Regional Sales, Retail, Online Accounts")]
    kept = P.names_are_not_titles(text, doc, entities)
    # An item of a list line without an occupation word goes; "Quill Writer" would be a title.
    assert [e.text for e in kept] == []
    kept = P.names_are_not_titles(text, doc, [ent("DESIGNATION", "Quill Writer")])
    assert [e.text for e in kept] == ["Quill Writer"]


def test_titles_and_companies_in_summary_sentences_are_dropped() -> None:
    text = (
        "Dana Whitfield\nField Engineer - Brightwater Labs\nLakeview, Oregon\n\n"
        "Survey engineer in Harbor Mapping Ltd, Lakeview.\nSurvey Lead\n"
    )
    doc, ent = _entities_of(text)
    entities = [
        ent("NAME", "Dana Whitfield"),
        ent("DESIGNATION", "Field Engineer"),
        ent("COMPANY", "Brightwater Labs"),
        ent("DESIGNATION", "Survey engineer"),
        ent("COMPANY", "Harbor Mapping Ltd"),
        ent("DESIGNATION", "Survey Lead"),
    ]
    kept = P.no_entries_in_summary_sentences(text, doc, entities)
    # The headline's and a title line's stay; the summary sentence's go.
    assert [e.text for e in kept] == ["Dana Whitfield", "Field Engineer", "Brightwater Labs", "Survey Lead"]


def test_only_the_first_school_is_a_college() -> None:
    text = (
        "EDUCATION\nB.Sc in Physics\nLakemont University\n2014\n"
        "HSC\nRiverbend Junior College\n2011\nSSC\nMaple Grove High School\n2009\n"
    )
    doc, ent = _entities_of(text)
    entities = [
        ent("COLLEGE", "Lakemont University"),
        ent("COLLEGE", "Riverbend Junior College"),
        ent("COLLEGE", "Maple Grove High School"),
        ent("DEGREE", "HSC"),
        ent("DEGREE", "SSC"),
    ]
    found = P.one_school_college(text, doc, entities)
    # The 10th-standard school under the 12th's is dropped; degrees and other colleges stay.
    assert sorted((e.label, e.text) for e in found) == [
        ("COLLEGE", "Lakemont University"),
        ("COLLEGE", "Riverbend Junior College"),
        ("DEGREE", "HSC"),
        ("DEGREE", "SSC"),
    ]
    # A single school is kept.
    assert len(P.one_school_college(text, doc, entities[1:2])) == 1


def test_an_examining_board_is_no_college_beside_an_institution() -> None:
    text = (
        "EDUCATION\nB.Sc in Physics\nLakemont University\n2014\n"
        "HSC\nNorthland State -  Riverton\n2011\nSSC\nBoard of Secondary Education\n2009\n"
        "Diploma in Mechanics\nBoard of Technical Education\n2016\n"
    )
    doc, ent = _entities_of(text)
    entities = [
        ent("COLLEGE", "Lakemont University"),
        ent("COLLEGE", "Northland State"),
        ent("COLLEGE", "Board of Secondary Education"),
        ent("COLLEGE", "Board of Technical Education"),
    ]
    found = P.no_board_colleges(text, doc, entities)
    # A school board and a state under a school-leaving line go; a technical board stays.
    assert sorted(e.text for e in found) == ["Board of Technical Education", "Lakemont University"]
    # A board that is the only institution named is kept.
    assert len(P.no_board_colleges(text, doc, entities[2:3])) == 1
    # "... State" outside a school-leaving entry is a university's name.
    text = "EDUCATION\nB.Sc in Physics\nNorthland State\n2014\n"
    doc, ent = _entities_of(text)
    entities = [ent("COLLEGE", "Northland State"), ent("COLLEGE", "Physics")]
    assert len(P.no_board_colleges(text, doc, entities)) == 2


def test_an_institution_word_joined_by_a_dot_names_a_college() -> None:
    text = "EDUCATION\nB.Sc in Physics\n\nLakemont University\n\n2014\n\nriverbend jr.college\n\n2011\n"
    doc, ent = _entities_of(text)
    entities = [ent("DEGREE", "B.Sc in Physics"), ent("COLLEGE", "Lakemont University")]
    found = P.institution_name_lines(text, doc, entities)
    assert sorted(e.text for e in found if e.label == "COLLEGE") == ["Lakemont University", "riverbend jr.college"]


def test_a_degree_abbreviation_written_apart_starts_a_degree_line() -> None:
    text = "EDUCATION\nB- Tech\n\nLakemont University\n\nM. Sc in Applied Physics\n\nHill Valley University\n"
    doc, ent = _entities_of(text)
    # The tagger's fragments of "B- Tech" give way to the whole line; "M. Sc ..." is found.
    entities = [ent("COLLEGE", "B"), ent("DEGREE", "Tech"), ent("COLLEGE", "Lakemont University")]
    found = P.degree_word_lines(text, doc, entities)
    assert sorted((e.label, e.text) for e in found) == [
        ("COLLEGE", "Lakemont University"),
        ("DEGREE", "B- Tech"),
        ("DEGREE", "M. Sc in Applied Physics"),
    ]
    # A name with an initial is no degree ("A. Lakemont" does not join to a degree word).
    text = "EDUCATION\nA. Lakemont Institute\n"
    doc, ent = _entities_of(text)
    assert P.degree_word_lines(text, doc, []) == []
