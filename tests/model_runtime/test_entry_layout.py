"""Resume-builder entry layout: one field per line, location split around a lone comma."""

from __future__ import annotations

import itertools

from model_runtime import entity_passes
from model_runtime.layout import find_entry_fields
from model_runtime.predictor import ResumePredictor
from model_runtime.text import tokenize
from model_runtime.training import TrainResult

# Crafted (invented names): dates, title, company, separator glyph, split location, bullets.
DATES_FIRST = (
    "Experience\n"
    "03/2017\n\nto\nCurrent\n"
    "Night Auditor\n\n"
    "Bluefin Lodging Group\n\n-\n"
    "Tacoma\n\n,\nWA\n"
    "Balanced the daily ledger and prepared occupancy reports.\n"
    "June 2014\n\nto\nFebruary 2017\n"
    "front desk clerk\n\n"
    "Harbor Inn Partners\n\n-\n"
    "Olympia\n\n,\nWA\n"
    "Checked in guests and handled reservations.\n"
    "Skills\n"
    "Excel, bookkeeping\n"
)

# Title above the dates: the first entry's title follows the section header directly.
TITLE_FIRST = (
    "Work History\n"
    "Warehouse Supervisor\n\n"
    "May 2012\n\nto\nPresent\n\n"
    "Copperline Freight\n\n"
    "Reno\n\n,\nNV\n"
    "Scheduled shifts for a crew of twelve.\n"
    "Forklift Operator\n\n"
    "2009\n\nto\n2012\n\n"
    "Desert Pallet Co\n\n"
    "Sparks\n\n,\nNV\n"
    "Moved inbound loads to racking.\n"
)

# Company and location first, the title after the location, then the bullets.
COMPANY_FIRST = (
    "Experience\n"
    "Jan 2016\n\nto\nDec 2018\n"
    "Maple Street Bakery\n\n"
    "Salem\n\n,\nOR\n\n"
    "Pastry Cook\n"
    "Laminated dough and plated desserts for 200 covers.\n"
)


def fields(text: str) -> list[tuple[str, str]]:
    return [(label, text[s:e]) for label, s, e in find_entry_fields(text)]


def test_dates_then_title_then_company() -> None:
    assert fields(DATES_FIRST) == [
        ("DESIGNATION", "Night Auditor"),
        ("COMPANY", "Bluefin Lodging Group"),
        ("DESIGNATION", "front desk clerk"),
        ("COMPANY", "Harbor Inn Partners"),
    ]


def test_title_above_the_dates() -> None:
    assert fields(TITLE_FIRST) == [
        ("DESIGNATION", "Warehouse Supervisor"),
        ("COMPANY", "Copperline Freight"),
        ("DESIGNATION", "Forklift Operator"),
        ("COMPANY", "Desert Pallet Co"),
    ]


def test_title_after_the_location() -> None:
    assert fields(COMPANY_FIRST) == [("DESIGNATION", "Pastry Cook"), ("COMPANY", "Maple Street Bakery")]


def test_needs_the_location_anchor_and_an_experience_section() -> None:
    # DataTurks-style entries (title and company on one line with the city) are the tagger's.
    one_line = "Experience\nSoftware Engineer\nAcme Corp - Pune, Maharashtra\nJune 2015 to Present\nBuilt APIs.\n"
    assert fields(one_line) == []
    # Outside an experience section the same lines are not entries.
    assert fields(DATES_FIRST.replace("Experience\n", "Summary\n", 1)) == []
    # Sentences are never fields.
    sentence = "Experience\n2015\n\nto\n2016\nI ran the front office for a busy hotel.\nTacoma\n\n,\nWA\n"
    assert fields(sentence) == []


def test_predictor_adds_layout_fields_with_offsets(tiny_result: TrainResult) -> None:
    predictor = ResumePredictor.load(tiny_result.model_dir, name="t", version="1")
    prediction = predictor.predict(DATES_FIRST)
    got = {(e.label, e.text) for e in prediction.entities if e.label in ("DESIGNATION", "COMPANY")}
    assert {("DESIGNATION", "Night Auditor"), ("COMPANY", "Harbor Inn Partners")} <= got
    for e in prediction.entities:
        assert DATES_FIRST[e.start : e.end] == e.text
    # No two entities overlap after the layout fields replace the tagger's spans.
    spans = sorted((e.start, e.end) for e in prediction.entities)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    doc = tokenize(DATES_FIRST)
    assert all(e.line == doc.line_of(e.start) + 1 for e in prediction.entities)


def test_headlines_and_headers_tagged_as_names_are_not_names() -> None:
    from model_runtime.entities import Entity

    def name(text: str, start: int = 0) -> Entity:
        return Entity("NAME", text, start, start + len(text), 1, 0.9, "model")

    found = entity_passes.headings_are_not_names(
        "",
        tokenize(""),
        [
            name("EXECUTIVE CHEF"),  # the template's headline: a title
            name("Director of Business Development", 20),
            name("Career Focus", 60),  # a section header: nothing
            name("Priya Raman", 80),  # a name stays a name
            name("Jordan Baker", 100),  # occupational surnames are not title words
            Entity("DESIGNATION", "Sous Chef", 120, 129, 5, 0.8, "model"),
            name("Sous Chef", 120),  # already a title: not added twice
        ],
    )
    assert [(e.label, e.text) for e in found] == [
        ("DESIGNATION", "EXECUTIVE CHEF"),
        ("DESIGNATION", "Director of Business Development"),
        ("NAME", "Priya Raman"),
        ("NAME", "Jordan Baker"),
        ("DESIGNATION", "Sous Chef"),
    ]


# Education, degree above the school: degree / ":" / field / "," / date / school / location.
DEGREE_FIRST = (
    "Education\n"
    "Master of Science\n\n:\nMarine Biology\n\n,\nMay 2011\n\n"
    "Hollowbrook University\n\n-\nDenton\n\n,\nTX\n\nMarine Biology\n"
    "B.S\n\n:\nHistory\n\n,\n2008\n\n"
    "Pine Ridge College\n\n-\nOrem\n\n,\nUT\n\nHistory\n"
    "Skills\n"
    "Excel, lab safety\n"
)

# Education, school first: date / school / location / field / degree / field.
SCHOOL_FIRST = (
    "Education\n"
    "5 2015\nLakemont University\n\nCity\n\n,\nState\n\n"
    "Forensic Accounting\n\nMBA\n\nForensic Accounting\n"
    "5 2011\nBrightwater State University\n\nCity\n\n,\nState\n\n"
    "Chemistry and Biology\n\nBachelor of Science\n\nChemistry and Biology\n"
)


def test_education_degree_above_the_school() -> None:
    assert fields(DEGREE_FIRST) == [
        ("COLLEGE", "Hollowbrook University"),
        ("DEGREE", "Master of Science"),
        ("GRADUATION_YEAR", "2011"),
        ("COLLEGE", "Pine Ridge College"),
        ("DEGREE", "B.S"),
        ("GRADUATION_YEAR", "2008"),
    ]


def test_education_degree_below_the_location() -> None:
    # The degree is the first degree line after the location, not the next school's.
    assert fields(SCHOOL_FIRST) == [
        ("COLLEGE", "Lakemont University"),
        ("DEGREE", "MBA"),
        ("GRADUATION_YEAR", "2015"),
        ("COLLEGE", "Brightwater State University"),
        ("DEGREE", "Bachelor of Science"),
        ("GRADUATION_YEAR", "2011"),
    ]


def test_education_schools_and_not_schools() -> None:
    # The school as the first part of the split location; a wrapped school name is one field.
    first_part = "Education\nAssociate of Arts\n\n:\nNursing\n\n2016\n\nOrchard Valley College\n\n,\nCity\n\n,\nState\n"
    assert fields(first_part) == [
        ("COLLEGE", "Orchard Valley College"),
        ("DEGREE", "Associate of Arts"),
        ("GRADUATION_YEAR", "2016"),
    ]
    wrapped = "Education\nMBA\n\n2009\n\nNorthgate University, School of\nBusiness\n\n-\nCity\n\n,\nState\n"
    assert fields(wrapped)[0] == ("COLLEGE", "Northgate University, School of\nBusiness")
    # "BBA / , / Accounting" is a degree and its field, not a location, and the field after
    # "Degree / :" is not a school.
    assert fields("Education\nAccounting\nBBA\n\n,\nAccounting\n\nDec 2009\n") == []
    assert fields("Education\nBachelor of Science\n\n:\nBusiness Administration\nCity\n\n,\nState\n") == []
    # Outside an education section there are no education entries.
    assert fields(DEGREE_FIRST.replace("Education\n", "Interests\n", 1)) == []


def test_predictor_pairs_layout_education(tiny_result: TrainResult) -> None:
    from model_runtime.structure import structure_entities

    predictor = ResumePredictor.load(tiny_result.model_dir, name="t", version="1")
    for text in (DEGREE_FIRST, SCHOOL_FIRST):
        entities = predictor.predict(text).entities
        for e in entities:
            assert text[e.start : e.end] == e.text
        spans = sorted((e.start, e.end) for e in entities)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
        # Only the layout's degrees and colleges: fields of study are not colleges.
        edu = {(e.label, e.text) for e in entities if e.label in ("DEGREE", "COLLEGE")}
        assert edu == {(label, value) for label, value in fields(text) if label != "GRADUATION_YEAR"}
    education = structure_entities(predictor.predict(SCHOOL_FIRST).entities)["education"]
    assert education == [
        {"degree": "MBA", "college": "Lakemont University", "year": "2015"},
        {"degree": "Bachelor of Science", "college": "Brightwater State University", "year": "2011"},
    ]


def test_stacked_fields_title_or_company_first_by_document_vote() -> None:
    # Company / location / title / dates (the default) and title / location / company / dates:
    # the document's words decide, for all its entries ("Lumber Stacker" has no title word).
    company_first = (
        "Experience\n"
        "Ridgeway Tools Inc\n\nYuma\n\n,\nAZ\n\nShift Supervisor\n\n2016\n\nto\n2018\n"
        "Sanded and packed orders.\n"
    )
    assert fields(company_first) == [("DESIGNATION", "Shift Supervisor"), ("COMPANY", "Ridgeway Tools Inc")]
    title_first = (
        "Experience\n"
        "Lumber Stacker\n\nYuma\n\n,\nAZ\n\nCedar Yard LLC\n\n2016\n\nto\n2018\nStacked boards.\n"
        "Sales Associate\n\nMesa\n\n,\nAZ\n\nDesert Outfitters\n\n2014\n\nto\n2016\nRan the register.\n"
    )
    assert fields(title_first) == [
        ("DESIGNATION", "Lumber Stacker"),
        ("COMPANY", "Cedar Yard LLC"),
        ("DESIGNATION", "Sales Associate"),
        ("COMPANY", "Desert Outfitters"),
    ]
