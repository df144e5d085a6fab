from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_runtime.data import (
    DataFormatError,
    RepairStats,
    load_dataturks,
    propagate,
    relocate,
    resolve_overlaps,
    split_skill_block,
)


def test_split_skill_block() -> None:
    text = "SKILLS: Java (5 years), Python\n• SQL; Machine Learning | Docker"
    pieces = [text[s:e] for s, e in split_skill_block(text, 0, len(text))]
    assert pieces == ["Java", "Python", "SQL", "Machine Learning", "Docker"]


def test_relocate_and_overlaps() -> None:
    text = "xx Acme Corp yy Acme Corp"
    assert relocate(text, "Acme Corp", 14) == 16
    assert relocate(text, "Nope", 0) is None
    kept = resolve_overlaps([("COMPANY", 3, 12), ("SKILL", 0, 20), ("COMPANY", 3, 12)])
    assert kept == [("COMPANY", 3, 12)]


def test_propagate_labels_other_occurrences() -> None:
    text = "Acme Corp then Acme Corp again, Acme Corporation"
    spans = propagate(text, [("COMPANY", 0, 9)])
    assert [(text[s:e], s) for _, s, e in spans] == [
        ("Acme Corp", 0),
        ("Acme Corp", 15),
    ]


def test_dataturks_defects_repaired(tmp_path: Path) -> None:
    content = "Jane Doe\nEngineer at Acme Corp\nSkills: Java, Python\n"
    row = {
        "content": content,
        "annotation": [
            {
                "label": ["Name"],
                "points": [{"start": 0, "end": 7, "text": "Jane Doe"}],
            },  # end inclusive
            # shifted offsets: must be re-found near the given position
            {
                "label": ["Companies worked at"],
                "points": [{"start": 18, "end": 26, "text": "Acme Corp"}],
            },
            {
                "label": ["Skills"],
                "points": [{"start": 39, "end": 50, "text": "Java, Python"}],
            },
            {
                "label": ["Email Address"],
                "points": [{"start": 0, "end": 3, "text": "nowhere!"}],
            },  # dropped
        ],
    }
    path = tmp_path / "resumes.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")  # duplicate doc is dropped
    docs = load_dataturks(path)
    assert len(docs) == 1
    got = sorted((label, content[s:e]) for label, s, e in docs[0].spans)
    assert got == [
        ("COMPANY", "Acme Corp"),
        ("NAME", "Jane Doe"),
        ("SKILL", "Java"),
        ("SKILL", "Python"),
    ]


def test_dataturks_bad_rows_fail_with_their_line_and_bad_points_are_dropped(tmp_path: Path) -> None:
    good = {
        "content": "Jane Doe\n",
        "annotation": [{"label": ["Name"], "points": [{"start": 0, "end": 7, "text": "Jane Doe"}]}],
    }
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(good) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"bad.jsonl:3: not a JSON object"):
        load_dataturks(path)
    path.write_text(json.dumps(good) + "\n[1, 2]\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="row 2 is a list"):
        load_dataturks(path)

    # One JSON array is read like JSON lines; points without usable offsets are dropped and
    # counted, annotations of another shape are skipped.
    odd = {
        "content": "Ann Lee\nAcme\n",
        "annotation": [
            {"label": "Name", "points": [{"start": 0, "end": 6, "text": "Ann Lee"}]},
            {"label": ["Companies worked at"], "points": [{"start": "x", "end": 11, "text": "Acme"}, {"end": 3}]},
            "stray",
        ],
    }
    path = tmp_path / "array.json"
    path.write_text(json.dumps([good, odd, {"content": None}]), encoding="utf-8")
    stats = RepairStats()
    docs = load_dataturks(path, stats)
    assert [sorted(d.text[s:e] for _, s, e in d.spans) for d in docs] == [["Jane Doe"], ["Ann Lee"]]
    assert stats.dropped == 2


def test_cross_validation_reports_per_label_mean_and_std(tmp_path: Path) -> None:
    from model_runtime.cv import cross_validate

    from .conftest import TINY

    out = cross_validate(tmp_path / "no-shared-data", folds=2, seed=3, config=TINY)
    assert out["folds"] == 2 and out["data_source"] == "generated"
    assert set(out["labels"]) >= {"NAME", "SKILL"}
    for row in [*out["labels"].values(), out["micro"]]:
        assert 0.0 <= row["mean"] <= 1.0 and row["std"] >= 0.0
    assert 0.0 < out["micro_pooled"] <= 1.0


def test_split_skill_block_repairs_dataturks_blocks() -> None:
    text = (
        "HR (10+ years), SAP (10+ years), BUYING/PROCUREMENT (Less\nthan 1 year), DNS (Less […]\n\n"
        "ADDITIONAL INFORMATION\n❖ Database: Oracle 10g\nProgramming Languages: C++, .NET, C#\n"
        "http://www.linkedin.com/in/someone\nMS Office (Word, Excel)"
    )
    pieces = [text[s:e] for s, e in split_skill_block(text, 0, len(text))]
    assert pieces == [
        "HR",
        "SAP",
        "BUYING/PROCUREMENT",
        "DNS",
        "Oracle 10g",
        "C++",
        ".NET",
        "C#",
        "MS Office (Word",
        "Excel)",
    ]
