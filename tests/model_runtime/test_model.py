from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx

from model_runtime.entities import LABELS, Entity, Prediction
from model_runtime.model_io import convert_model_dir, quantize_rows, read_metadata, read_weights
from model_runtime.predictor import ResumePredictor
from model_runtime.synth import generate_corpus
from model_runtime.text import Document, tokenize
from model_runtime.training import TrainResult

RESUME = (
    "Ravi Kumar\n"
    "Senior Software Engineer - Pune, Maharashtra\n"
    "ravi.kumar@example.com | +91 99887 66554 | linkedin.com/in/ravi-kumar\n\n"
    "EXPERIENCE\n\n"
    "Software Engineer at Orion Systems\n"
    "• Built data pipelines using Python.\n\n"
    "EDUCATION\n\n"
    "B.Tech in Computer Science, Lakeview University - 2014\n\n"
    "SKILLS\n\n"
    "Python, Java, Docker, SQL\n"
)


def test_training_produces_onnx_model(tiny_result: TrainResult) -> None:
    model_dir = tiny_result.model_dir
    assert (model_dir / "model.onnx").is_file() and (model_dir / "metadata.json").is_file()
    onnx.checker.check_model(onnx.load(str(model_dir / "model.onnx")))
    meta = json.loads((model_dir / "metadata.json").read_text())
    assert meta["tags"][0] == "O" and len(meta["transitions"]) == len(meta["tags"])
    assert tiny_result.data_source == "generated"
    assert len(tiny_result.dataset_hash) == 64 and len(tiny_result.config_hash) == 64
    assert tiny_result.metrics["f1_micro"] > 0.8  # held-out generated resumes


def test_onnx_emissions_match_numpy(tiny_result: TrainResult) -> None:
    predictor = ResumePredictor.load(tiny_result.model_dir, name="t", version="1")
    doc = tokenize(RESUME)
    feats = predictor._features.features(doc)
    weights, _bias = read_weights(tiny_result.model_dir)  # dequantized when the model is int8
    np.testing.assert_allclose(predictor.emissions(doc), weights[feats].sum(axis=1), rtol=1e-5, atol=1e-4)


def test_predict_offsets_and_labels(tiny_result: TrainResult) -> None:
    predictor = ResumePredictor.load(tiny_result.model_dir, name="vitae-test", version="7")
    prediction = predictor.predict(RESUME)
    assert prediction.model_name == "vitae-test" and prediction.model_version == "7"
    ents = prediction.entities
    assert ents
    for ent in ents:
        assert isinstance(ent, Entity)
        assert RESUME[ent.start : ent.end] == ent.text
        assert ent.label in LABELS
        assert 0.0 <= ent.confidence <= 1.0
        assert ent.line == RESUME.count("\n", 0, ent.start) + 1
        assert set(ent.to_dict()) == {
            "label",
            "text",
            "start",
            "end",
            "line",
            "confidence",
            "source",
        }
    got = {(e.label, e.text) for e in ents}
    assert ("EMAIL", "ravi.kumar@example.com") in got
    assert ("PHONE", "+91 99887 66554") in got
    assert ("LINK", "linkedin.com/in/ravi-kumar") in got
    assert ("NAME", "Ravi Kumar") in got
    assert any(label == "SKILL" for label, _ in got)
    assert predictor.predict("").entities == []


def test_predictions_on_generated_docs_are_exact(tiny_result: TrainResult) -> None:
    predictor = ResumePredictor.load(tiny_result.model_dir, name="t", version="1")
    for doc in generate_corpus(5, seed=99):
        for ent in predictor.predict(doc.text).entities:
            assert doc.text[ent.start : ent.end] == ent.text


def test_feature_ids_are_the_hashed_feature_names() -> None:
    """The fast path (ids cached per word and per context key) hashes exactly the named features,
    so models trained before the speed-up score identically."""
    import zlib

    from model_runtime.features import FeatureConfig, FeatureExtractor

    fx = FeatureExtractor(FeatureConfig(n_buckets=1 << 14))
    doc = tokenize(RESUME + "\nCSharp developer, C# and C++ 2012 - 2016\n")
    ids = fx.features(doc)
    names = fx.feature_names(doc)
    assert ids.shape == (len(doc.tokens), fx.n_features) == (len(names), len(names[0]))
    expected = [sorted(zlib.crc32(n.encode()) % ((1 << 14) - 1) + 1 for n in row) for row in names]
    assert [sorted(row) for row in ids.tolist()] == expected
    assert np.array_equal(fx.features(doc), ids)  # warm caches give the same ids


def test_skill_lists_become_one_entity_per_skill(tiny_result: TrainResult) -> None:
    predictor = ResumePredictor.load(tiny_result.model_dir, name="t", version="1")
    for ent in predictor.predict(RESUME).entities:
        if ent.label == "SKILL":
            assert "," not in ent.text


def _spans(prediction: Prediction) -> list[tuple[str, int, int]]:
    return [(e.label, e.start, e.end) for e in prediction.entities]


def test_served_format_is_int8_by_default(tiny_result: TrainResult) -> None:
    meta = read_metadata(tiny_result.model_dir)
    assert meta["weights_dtype"] == "int8"
    names = {i.name for i in onnx.load(str(tiny_result.model_dir / "model.onnx")).graph.initializer}
    assert {"Wq", "W_scale"} <= names and "W" not in names


def test_int8_round_trip_matches_fp32(tiny_result: TrainResult, tmp_path: Path) -> None:
    fp32_dir = convert_model_dir(tiny_result.model_dir, tmp_path / "fp32", "float32")
    int8_dir = convert_model_dir(fp32_dir, tmp_path / "int8", "int8")
    fp32 = ResumePredictor.load(fp32_dir, name="t", version="1")
    int8 = ResumePredictor.load(int8_dir, name="t", version="1")
    assert read_metadata(int8_dir)["weights_dtype"] == "int8"
    assert (int8_dir / "model.onnx").stat().st_size < 0.5 * (fp32_dir / "model.onnx").stat().st_size
    texts = [RESUME, *(d.text for d in generate_corpus(6, seed=5))]
    for text in texts:
        doc = tokenize(text)
        a, b = fp32.emissions(doc), int8.emissions(doc)
        # Per-row scales: each weight is off by at most half a quantisation step.
        np.testing.assert_allclose(a, b, atol=0.02 * float(np.abs(a).max()) + 1e-3)
        pa, pb = fp32.predict(text), int8.predict(text)
        assert _spans(pa) == _spans(pb)
        for ea, eb in zip(pa.entities, pb.entities, strict=True):
            assert abs(ea.confidence - eb.confidence) < 0.02


def test_quantize_rows_error_bound() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(50, 7)).astype(np.float32) * rng.uniform(0.01, 100, size=(50, 1)).astype(np.float32)
    w[3] = 0.0
    q, scale = quantize_rows(w)
    assert q.dtype == np.int8 and scale.shape == (50,)
    err = np.abs(q.astype(np.float32) * scale[:, None] - w)
    assert np.all(err <= scale[:, None] / 2 + 1e-6)
    assert np.all(q[3] == 0)


def test_predict_batch_equals_predict(tiny_result: TrainResult) -> None:
    predictor = ResumePredictor.load(tiny_result.model_dir, name="t", version="1")
    texts = [RESUME, "", "   ", *(d.text for d in generate_corpus(5, seed=11)), RESUME]
    batch = predictor.predict_batch(texts)
    assert [p.to_dict() for p in batch] == [predictor.predict(t).to_dict() for t in texts]
    assert predictor.predict_batch([]) == []


def test_models_saved_before_int8_and_layout_features_still_load(tiny_result: TrainResult, tmp_path: Path) -> None:
    """A version-1 model (float32 ``W``, feature version 1, no ``weights_dtype``) loads and predicts."""
    old = convert_model_dir(tiny_result.model_dir, tmp_path / "old", "float32")
    meta = json.loads((old / "metadata.json").read_text())
    del meta["weights_dtype"]
    meta["feature_config"]["version"] = 1
    (old / "metadata.json").write_text(json.dumps(meta))
    predictor = ResumePredictor.load(old, name="old", version="1")
    assert predictor._features.n_features == 29  # the version-1 feature set
    assert any(e.label == "EMAIL" for e in predictor.predict(RESUME).entities)


def test_skill_lists_are_completed_and_spans_grow_to_segments() -> None:
    from model_runtime import entity_passes as P

    text = (
        "SKILLS\nJava (5 years), Kafka (Less\nthan 1 year), Zuul, Python\n"
        "Rajiv Gandhi Institute of Technology -  Pune\n"
    )
    doc = tokenize(text)

    def ent(label: str, value: str) -> Entity:
        start = text.index(value)
        return Entity(label, value, start, start + len(value), doc.line_of(start) + 1, 0.8, "model")

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
    from model_runtime import entity_passes as P

    text = "SKILLS\nTools: Microsoft Visual Studio, Eclipse, Oracle 10g\nJava Developer at Acme\n"
    doc = tokenize(text)

    def ent(label: str, value: str) -> Entity:
        start = text.index(value)
        return Entity(label, value, start, start + len(value), doc.line_of(start) + 1, 0.8, "model")

    # "Microsoft" of "Microsoft Visual Studio" and "Oracle" + "10g" become the whole items.
    found = P.complete_skill_lists(text, doc, [ent("SKILL", "Microsoft"), ent("SKILL", "Oracle"), ent("SKILL", "10g")])
    assert sorted(e.text for e in found) == ["Eclipse", "Microsoft Visual Studio", "Oracle 10g"]
    # An item holding another label's entity is left alone.
    found = P.complete_skill_lists(text, doc, [ent("SKILL", "Java"), ent("DESIGNATION", "Developer")])
    assert sorted((e.label, e.text) for e in found) == [("DESIGNATION", "Developer"), ("SKILL", "Java")]


def test_only_the_first_location_is_the_candidates() -> None:
    from model_runtime import entity_passes as P

    text = "Jane Doe\nPune, Maharashtra\nEngineer at Acme - Mumbai\nLead at Beta - Pune\n"
    doc = tokenize(text)

    def ent(label: str, value: str, nth: int = 0) -> Entity:
        start = -1
        for _ in range(nth + 1):
            start = text.index(value, start + 1)
        return Entity(label, value, start, start + len(value), doc.line_of(start) + 1, 0.8, "model")

    entities = [ent("LOCATION", "Pune"), ent("LOCATION", "Mumbai"), ent("LOCATION", "Pune", 1), ent("NAME", "Jane Doe")]
    kept = P.candidate_location(text, doc, entities)
    assert [(e.label, e.text, e.start) for e in kept] == [
        ("LOCATION", "Pune", text.index("Pune")),
        ("LOCATION", "Pune", text.rindex("Pune")),
        ("NAME", "Jane Doe", 0),
    ]


def _entities_of(text: str) -> tuple[Document, Callable[..., Entity]]:
    """The tokenised ``text`` and a maker of model entities over the ``nth`` occurrence of a value."""
    doc = tokenize(text)

    def ent(label: str, value: str, nth: int = 0) -> Entity:
        start = -1
        for _ in range(nth + 1):
            start = text.index(value, start + 1)
        return Entity(label, value, start, start + len(value), doc.line_of(start) + 1, 0.8, "model")

    return doc, ent


def test_companies_in_tool_sections_are_products() -> None:
    from model_runtime import entity_passes as P

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
    from model_runtime import entity_passes as P

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
    from model_runtime import entity_passes as P

    text = "Jane Example\nSpring Valley, Examplestate - Email me: jane@example.org\nEXPERIENCE\nAnalyst\n"
    doc, ent = _entities_of(text)
    grown = P.complete_place_names(text, doc, [ent("LOCATION", "Spring")])
    assert [e.text for e in grown] == ["Spring Valley"]
    found = P.header_location(text, doc, [ent("NAME", "Jane Example")])
    assert [(e.label, e.text) for e in found] == [("NAME", "Jane Example"), ("LOCATION", "Spring Valley")]
    # The tagger's own location wins; a comma line past the header is not the candidate's.
    assert P.header_location(text, doc, [ent("LOCATION", "Spring Valley")]) == [ent("LOCATION", "Spring Valley")]
    headline = "Jane Example\nSenior Manager, Operations\n"
    assert P.header_location(headline, tokenize(headline), []) == []
    late = "Jane Example\nAnalyst\n\nSUMMARY\nJava, Python\nSpring Valley, Examplestate\n"
    late_doc, _ = _entities_of(late)
    assert P.header_location(late, late_doc, []) == []


def test_institution_lines_in_education_are_colleges() -> None:
    from model_runtime import entity_passes as P

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
    from model_runtime import entity_passes as P

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
    from model_runtime import entity_passes as P

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
    # No occupation word, a line the tagger already has, a sentence or a section header: nothing.
    assert headline("Dana Whitfield\nLakeview Gardens\n") == []
    assert headline("Dana Whitfield\nSenior Analyst - Contoso\n", ("DESIGNATION", "Senior Analyst")) == []
    assert headline("Dana Whitfield\nWorked as an analyst.\n") == []
    assert headline("Dana Whitfield\nWork Experience\n") == []


def test_title_lists_are_split_and_dash_tails_dropped() -> None:
    from model_runtime import entity_passes as P

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
