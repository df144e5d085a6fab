from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx

from model_runtime.entities import LABELS, Entity, Prediction
from model_runtime.model_io import convert_model_dir, quantize_rows, read_metadata, read_weights
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


def test_temperature_is_fitted_however_large_the_scores() -> None:
    from model_runtime.training import _Example, _fit_temperature

    # Tokens whose tag probabilities are softmax(scores / 200): the perceptron's raw scores are
    # in the hundreds, so the fit must find ~200 (a grid that stopped at 12 made every
    # confidence ~1.0).
    rng = np.random.default_rng(0)
    n_tokens, n_tags, n_features = 4000, 5, 3
    logits = rng.normal(0.0, 2.0, (n_tokens, n_tags))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    gold = np.array([rng.choice(n_tags, p=p) for p in probs])
    # One feature per token carries its scores; the others have zero weight.
    weights = np.zeros((n_tokens + 1, n_tags))
    weights[1:] = logits * 200.0
    feats = np.zeros((n_tokens, n_features), dtype=np.int64)
    feats[:, 0] = np.arange(1, n_tokens + 1)
    example = _Example(feats=feats, gold=gold, allowed=None)
    assert 150 <= _fit_temperature(weights, [example]) <= 270
