"""The exported MiniLM graph against an independent numpy forward pass, and embedding sanity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from enrichers.minilm import MAX_TOKENS, MiniLmEncoder, export_onnx, model_dir
from tests.enrichers import numpy_bert

SENTENCES = [
    "A man is eating food.",
    "Senior backend engineer: Python, PostgreSQL, Kubernetes and Temporal workflows.",
    "ok",
]


def test_onnx_matches_numpy_forward_pass_including_padding(encoder: MiniLmEncoder) -> None:
    weights = load_file(str(model_dir() / "model.safetensors"))
    # One batch: the shorter sentences are padded, which exercises the attention mask and pooling.
    batch = encoder.embed(SENTENCES)
    assert batch.shape == (3, 384)
    for row, sentence in zip(batch, SENTENCES, strict=True):
        reference = numpy_bert.embed(weights, encoder.tokenizer.encode(sentence).ids)
        assert float(row @ reference) >= 0.9999
        assert abs(float(np.linalg.norm(row)) - 1.0) < 1e-5


def test_related_texts_are_closer_than_unrelated_ones(encoder: MiniLmEncoder) -> None:
    job, close, far = encoder.embed(
        [
            "Backend developer building REST APIs in Python with PostgreSQL.",
            "Software engineer who wrote Python web services backed by a Postgres database.",
            "Pastry chef baking croissants and sourdough bread every morning.",
        ]
    )
    assert float(job @ close) > float(job @ far) + 0.3


def test_long_texts_are_windowed_and_the_export_is_cached(encoder: MiniLmEncoder, onnx_cache: Path) -> None:
    long_text = "Data engineer maintaining Kafka pipelines and Airflow jobs for analytics. " * 80
    assert len(encoder.window_tokenizer.encode(long_text).overflowing) >= 2  # more than one window
    assert len(encoder.tokenizer.encode(long_text).ids) == MAX_TOKENS
    vector = encoder.embed_document(long_text)
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    first = export_onnx(onnx_cache)
    mtime = first.stat().st_mtime_ns
    assert export_onnx(onnx_cache) == first and first.stat().st_mtime_ns == mtime  # built once
