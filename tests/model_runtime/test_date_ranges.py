from __future__ import annotations

from model_runtime.date_ranges import find_date_ranges
from model_runtime.entities import Entity
from model_runtime.structure import structure_entities


def ranges(text: str) -> list[tuple[str, str | None, bool]]:
    return [(r.start, r.end, r.current) for r in find_date_ranges(text)]


def test_date_range_formats() -> None:
    assert ranges("June 2018 to December 2018") == [("2018-06", "2018-12", False)]
    assert ranges("Aug. 2016 – Present") == [("2016-08", None, True)]
    assert ranges("Jan'15 - till date") == [("2015-01", None, True)]
    assert ranges("07/2015 - 6/2016") == [("2015-07", "2016-06", False)]
    assert ranges("2012-2014") == [("2012", "2014", False)]
    assert ranges("2017 to 2017") == [("2017", "2017", False)]
    assert ranges("March, 2010 until Current") == [("2010-03", None, True)]
    # A resume builder's PDF: one piece a line, blank and comma-only lines between.
    assert ranges("Advocate\n\n,\n01/2011\n\nto\n\n01/2013\n\nCompany Name") == [("2011-01", "2013-01", False)]


def test_what_is_not_a_date_range() -> None:
    assert ranges("2016 - 2012") == []  # ends before it starts
    assert ranges("call +91 98450-2012 now") == []  # a phone number's pieces
    assert ranges("B.Tech 2012, MBA 2014") == []  # two dates, no range
    assert ranges("ISO 9001-2015 audits") == []


def ent(label: str, text: str, doc: str, source: str = "model", after: int = 0) -> Entity:
    """The entity of ``text``'s first occurrence in ``doc`` at or after offset ``after``."""
    start = doc.index(text, after)
    return Entity(label, text, start, start + len(text), doc.count("\n", 0, start) + 1, 0.9, source)


def test_experience_entries_get_their_dates() -> None:
    # Indeed's export: title, company, then the dates; the second entry is current.
    doc = (
        "Jane Doe\n\nWORK EXPERIENCE\n\nSoftware Developer\n\nOrion Systems - Pune, Maharashtra -\n\n"
        "August 2016 to Present\n\nBuilt services.\n\nIntern\n\nMaple Analytics - Pune -\n\n"
        "June 2015 to December 2015\n\nEDUCATION\n\nB.Tech\n\n2011 to 2015\n"
    )
    entities = [
        ent("DESIGNATION", "Software Developer", doc),
        ent("COMPANY", "Orion Systems", doc),
        ent("DESIGNATION", "Intern", doc),
        ent("COMPANY", "Maple Analytics", doc),
    ]
    experience = structure_entities(entities, doc)["experience"]
    assert [e["dates"] for e in experience] == [
        {"text": "August 2016 to Present", "start": "2016-08", "end": None, "current": True},
        {"text": "June 2015 to December 2015", "start": "2015-06", "end": "2015-12", "current": False},
    ]
    # The course's "2011 to 2015" dates no job, not even one without dates of its own.
    undated_last = doc.replace("June 2015 to December 2015", "")
    assert [e["dates"] and e["dates"]["start"] for e in structure_entities(entities, undated_last)["experience"]] == [
        "2016-08",
        None,
    ]
    # Without the text there are no dates, and the entries are otherwise the same.
    assert [{**e, "dates": None} for e in experience] == structure_entities(entities)["experience"]


def test_dates_before_the_fields_belong_to_the_entry_below() -> None:
    # A template that prints the dates first: each range opens its entry. Read forwards, the
    # first entry would take the second entry's dates; the backward reading dates both.
    doc = "EXPERIENCE\n2016 - 2018\nAnalyst\nOrion Systems\n\n2012 - 2015\nClerk\nMaple Analytics\n"
    entities = [
        ent("DESIGNATION", "Analyst", doc),
        ent("COMPANY", "Orion Systems", doc),
        ent("DESIGNATION", "Clerk", doc),
        ent("COMPANY", "Maple Analytics", doc),
    ]
    experience = structure_entities(entities, doc)["experience"]
    assert [(e["title"], e["dates"]["start"], e["dates"]["end"]) for e in experience] == [
        ("Analyst", "2016", "2018"),
        ("Clerk", "2012", "2015"),
    ]


def test_dates_between_the_fields_and_far_dates() -> None:
    # LiveCareer: title, the date pieces, then the company (an entry of the layout pass, source
    # "rule"). A headline title far above the first entry gets no dates of its own.
    doc = (
        "STORE MANAGER\nSummary\nRan stores.\n\n\n\n\n\n\n\n\n\nExperience\nStore Manager\n\n,\n04/2016\n\nto\n\n"
        "Current\n\nCompany Name\n"
    )
    entities = [
        ent("DESIGNATION", "STORE MANAGER", doc),
        ent("DESIGNATION", "Store Manager", doc, "rule"),
        ent("COMPANY", "Company Name", doc, "rule"),
    ]
    experience = structure_entities(entities, doc)["experience"]
    assert [(e["title"], e["dates"] and e["dates"]["start"]) for e in experience] == [
        ("STORE MANAGER", None),
        ("Store Manager", "2016-04"),
    ]


def test_an_entry_repeated_in_the_headline_takes_the_dates_of_its_repetition() -> None:
    # Indeed's headline "Title - Employer" repeats the first entry; the entry keeps its first
    # (headline) place and takes the dates found under its repetition.
    doc = (
        "Jane Doe\nApp Developer - Orion Systems\nPune, Maharashtra\n\nSUMMARY\nBuilds apps.\nLikes tests.\n"
        "Ships weekly.\nMentors juniors.\n\nWORK EXPERIENCE\n\nApp Developer\n\nOrion Systems - Pune -\n\n"
        "August 2016 to Present\n"
    )
    repeated = doc.index("WORK EXPERIENCE")
    entities = [
        ent("DESIGNATION", "App Developer", doc),
        ent("COMPANY", "Orion Systems", doc),
        ent("DESIGNATION", "App Developer", doc, after=repeated),
        ent("COMPANY", "Orion Systems", doc, after=repeated),
    ]
    experience = structure_entities(entities, doc)["experience"]
    assert experience == [
        {
            "title": "App Developer",
            "company": "Orion Systems",
            "dates": {"text": "August 2016 to Present", "start": "2016-08", "end": None, "current": True},
        }
    ]
