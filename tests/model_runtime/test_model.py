from __future__ import annotations

import json

import numpy as np
import onnx

from model_runtime.entities import LABELS, Entity
from model_runtime.predictor import ResumePredictor
from model_runtime.synth import generate_corpus
from model_runtime.text import tokenize
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
    weights = onnx.numpy_helper.to_array(
        next(i for i in onnx.load(str(tiny_result.model_dir / "model.onnx")).graph.initializer if i.name == "W")
    )
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
