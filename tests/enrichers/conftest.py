"""Fixtures for the reference enrichers: the MiniLM encoder, built once per session into a tmp
cache, and the real gateway stack re-exported from ``tests/enrichment_api/conftest.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from enrichers.minilm import MiniLmEncoder, export_onnx, load_tokenizer
from model_runtime.predictor import ResumePredictor
from tests.enrichment_api.conftest import (  # noqa: F401  (pytest finds fixtures by name)
    blobs,
    harness,
    infra_settings,
    pool,
    temporal,
    tenants,
)
from tests.model_runtime.conftest import tiny_model


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("minilm-cache")


@pytest.fixture(scope="session")
def encoder(onnx_cache: Path) -> MiniLmEncoder:
    return MiniLmEncoder(export_onnx(onnx_cache), load_tokenizer(), threads=2)


@pytest.fixture(scope="session")
def tiny_predictor(tmp_path_factory: pytest.TempPathFactory) -> ResumePredictor:
    result = tiny_model(tmp_path_factory.mktemp("tiny-extractor") / "model")
    return ResumePredictor.load(result.model_dir, name="tiny", version="1")
