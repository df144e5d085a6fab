from __future__ import annotations

import json

from model_runtime.entities import Entity
from model_runtime.structure import structure_entities


def ent(
    label: str,
    text: str,
    line: int,
    start: int = 0,
    conf: float = 0.9,
    source: str = "model",
) -> Entity:
    return Entity(label, text, start, start + len(text), line, conf, source)


def test_structure_groups_entities() -> None:
    entities = [
        ent("NAME", "Jane Doe", 1, 0),
        ent("EMAIL", "Jane@Example.com", 2, 10, 1.0, "rule"),
        ent("EMAIL", "jane@example.com", 9, 300, 1.0, "rule"),
        ent("PHONE", "+1 415 555 0132", 2, 30, 1.0, "rule"),
        ent("LINK", "https://linkedin.com/in/jane", 3, 50, 1.0, "rule"),
        ent("LINK", "linkedin.com/in/jane/", 20, 900, 1.0, "rule"),
        ent("LOCATION", "Pune", 1, 9),
        ent("DESIGNATION", "Data Analyst", 6, 100),
        ent("COMPANY", "Orion Systems", 7, 120),
        ent("COMPANY", "Maple Analytics", 15, 400),
        ent("DEGREE", "B.Tech", 11, 200),
        ent("COLLEGE", "Lakeview University", 11, 210),
        ent("GRADUATION_YEAR", "2014", 12, 240),
        ent("SKILL", "Python", 14, 500),
        ent("SKILL", "python", 16, 600),
        ent("SKILL", "ReactJS", 16, 610),
        ent("YEARS_OF_EXPERIENCE", "5 years", 4, 80),
    ]
    out = structure_entities(entities)
    json.dumps(out)  # JSON-ready
    assert out["contact"] == {
        "name": "Jane Doe",
        "emails": ["jane@example.com"],
        "phones": ["+1 415 555 0132"],
        "links": ["https://linkedin.com/in/jane"],
        "location": "Pune",
    }
    assert out["titles"] == ["Data Analyst"]
    assert out["companies"] == ["Orion Systems", "Maple Analytics"]
    assert out["experience"] == [
        {"title": "Data Analyst", "company": "Orion Systems", "dates": None},
        {"title": None, "company": "Maple Analytics", "dates": None},
    ]
    assert out["education"] == [{"degree": "B.Tech", "college": "Lakeview University", "year": "2014"}]
    assert out["skills"] == ["Python", "ReactJS"]
    assert out["skillsNormalized"] == ["python", "react"]
    assert out["yearsOfExperience"] == "5 years"


def test_structure_empty() -> None:
    out = structure_entities([])
    assert out["contact"]["name"] is None and out["skills"] == [] and out["education"] == [] and out["experience"] == []
    assert set(out["contact"]) == {"name", "emails", "phones", "links", "location"}
    assert set(out) == {
        "contact",
        "titles",
        "companies",
        "experience",
        "education",
        "skills",
        "skillsNormalized",
        "skillCategories",
        "yearsOfExperience",
    }


def test_skill_taxonomy_normalises_aliases() -> None:
    from model_runtime.structure import normalize_skill

    assert normalize_skill("JS") == "javascript"
    assert normalize_skill("JavaScript") == "javascript"
    assert normalize_skill("k8s") == "kubernetes"
    assert normalize_skill("Kubernetes,") == "kubernetes"
    assert normalize_skill("MS-Excel") == "excel"
    assert normalize_skill("Scikit-Learn") == "scikit-learn"
    assert normalize_skill("Postgres") == "postgresql"
    assert normalize_skill("Some Inhouse Tool") == "some inhouse tool"  # unknown: normalised mention
    ents = [Entity("SKILL", t, i * 10, i * 10 + len(t), 1, 0.9, "model") for i, t in enumerate(["JS", "k8s", "Foo"])]
    out = structure_entities(ents)
    assert out["skillsNormalized"] == ["javascript", "kubernetes", "foo"]
    assert out["skillCategories"] == {"language": ["javascript"], "devops": ["kubernetes"]}


def test_layout_education_pairs_by_order() -> None:
    # Resume-builder layout, degree under the school: "MBA" (line 10) is nearer the next school
    # (line 13) than its own (line 2); the layout's entities (source "rule") pair by order.
    entities = [
        ent("GRADUATION_YEAR", "2015", 1, 0, 0.6, "rule"),
        ent("COLLEGE", "Lakemont University", 2, 10, 0.6, "rule"),
        ent("DEGREE", "MBA", 10, 80, 0.6, "rule"),
        ent("GRADUATION_YEAR", "2011", 12, 100, 0.6, "rule"),
        ent("COLLEGE", "Brightwater State University", 13, 110, 0.6, "rule"),
        ent("DEGREE", "Bachelor of Science", 21, 200, 0.6, "rule"),
        ent("COLLEGE", "Fernhill Institute", 40, 400),  # the tagger's, elsewhere
    ]
    assert structure_entities(entities)["education"] == [
        {"degree": "MBA", "college": "Lakemont University", "year": "2015"},
        {"degree": "Bachelor of Science", "college": "Brightwater State University", "year": "2011"},
        {"degree": None, "college": "Fernhill Institute", "year": None},
    ]
    # Degree above the school: the degree leads each entry, a school without one stands alone.
    above = [
        ent("DEGREE", "Master of Science", 1, 0, 0.6, "rule"),
        ent("GRADUATION_YEAR", "2011", 6, 40, 0.6, "rule"),
        ent("COLLEGE", "Hollowbrook University", 8, 50, 0.6, "rule"),
        ent("GRADUATION_YEAR", "2008", 14, 90, 0.6, "rule"),
        ent("COLLEGE", "Pine Ridge College", 16, 100, 0.6, "rule"),
    ]
    assert structure_entities(above)["education"] == [
        {"degree": "Master of Science", "college": "Hollowbrook University", "year": "2011"},
        {"degree": None, "college": "Pine Ridge College", "year": "2008"},
    ]


def test_layout_experience_pairs_by_order() -> None:
    # Company, location, title, dates: each title sits 7 lines below its own company, too far
    # for nearest-line pairing; the layout's entities pair by order. The headline title (the
    # tagger's, line 1) stays an entry of its own, first in text order.
    entities = [
        ent("DESIGNATION", "STORE MANAGER", 1, 0),
        ent("COMPANY", "Company Name", 10, 100, 0.6, "rule"),
        ent("DESIGNATION", "Store Manager", 17, 170, 0.6, "rule"),
        ent("COMPANY", "Company Name", 30, 300, 0.6, "rule"),
        ent("DESIGNATION", "Assistant Manager", 37, 370, 0.6, "rule"),
    ]
    assert structure_entities(entities)["experience"] == [
        {"title": "STORE MANAGER", "company": None, "dates": None},
        {"title": "Store Manager", "company": "Company Name", "dates": None},
        {"title": "Assistant Manager", "company": "Company Name", "dates": None},
    ]
