"""Skill-list post-processing of predictions (invented resume text)."""

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
