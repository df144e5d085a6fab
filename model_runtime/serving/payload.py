"""The scoring request and response shape, shared by the local scoring server
(``model_runtime.serving.endpoint``) and the Azure ML scoring script (``deploy/azureml/score.py``).

Request (JSON), one resume or a small batch::

    {"text": "Asha Rao\\nasha@example.com ..."}
    {"input_data": ["resume one ...", "resume two ..."]}

Response: the deployment and the model version that served it, then the prediction(s)::

    {"deployment": "blue", "modelName": "vitae-resume-ner", "modelVersion": "3",
     "entities": [...], "fields": {...}, "inferenceMs": 4.1}
    {"deployment": "blue", "modelName": ..., "modelVersion": ..., "predictions": [{...}, ...]}

``entities`` are ``Entity.to_dict()`` and ``fields`` are ``structure_entities(...)``: exactly
what the in-process path (Option A) computes, so the worker's output is the same either way.
Imports only the inference path (numpy, onnxruntime through the predictor).
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from model_runtime.entities import Entity, Prediction
from model_runtime.structure import structure_entities

# Azure ML sets this response header to the deployment that served a request, and honours it
# on requests to pin one deployment.
DEPLOYMENT_HEADER = "azureml-model-deployment"
MAX_BATCH = 32
# Per text; the worker already truncates extracted text to ``VITAE_MAX_TEXT_CHARS`` (200,000).
MAX_TEXT_CHARS = 1_000_000


class Predicts(Protocol):
    name: str
    version: str

    def predict(self, text: str) -> Prediction: ...


class ScoringRequestError(ValueError):
    """The request body is not a scoring request (HTTP 400 / 413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def parse_request(payload: Any) -> tuple[list[str], bool]:
    """The texts to score and whether the caller sent a batch (``input_data``)."""
    if not isinstance(payload, dict):
        raise ScoringRequestError('expected a JSON object: {"text": ...} or {"input_data": [...]}')
    if "text" in payload:
        text = payload["text"]
        if not isinstance(text, str):
            raise ScoringRequestError('"text" must be a string')
        texts, batch = [text], False
    elif "input_data" in payload:
        items = payload["input_data"]
        if not isinstance(items, list) or not items:
            raise ScoringRequestError('"input_data" must be a non-empty list of texts')
        if len(items) > MAX_BATCH:
            raise ScoringRequestError(f"at most {MAX_BATCH} texts per request", status=413)
        texts = []
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                item = item["text"]
            if not isinstance(item, str):
                raise ScoringRequestError('"input_data" items must be strings (or {"text": ...})')
            texts.append(item)
        batch = True
    else:
        raise ScoringRequestError('expected "text" or "input_data"')
    for text in texts:
        if len(text) > MAX_TEXT_CHARS:
            raise ScoringRequestError(f"text longer than {MAX_TEXT_CHARS} characters", status=413)
    return texts, batch


def predict_one(predictor: Predicts, text: str) -> dict[str, Any]:
    started = time.perf_counter()
    prediction = predictor.predict(text)
    elapsed_ms = (time.perf_counter() - started) * 1000
    return {
        "entities": [entity.to_dict() for entity in prediction.entities],
        "fields": structure_entities(prediction.entities, text),
        "inferenceMs": round(elapsed_ms, 3),
    }


def score(predictor: Predicts, texts: list[str], batch: bool, deployment: str | None) -> dict[str, Any]:
    """The response body for ``texts`` (CPU-bound: call it off the event loop)."""
    body: dict[str, Any] = {
        "deployment": deployment,
        "modelName": predictor.name,
        "modelVersion": predictor.version,
    }
    if batch:
        body["predictions"] = [predict_one(predictor, text) for text in texts]
    else:
        body.update(predict_one(predictor, texts[0]))
    return body


def entities_from(items: list[dict[str, Any]]) -> list[Entity]:
    """Entities back from their JSON form (the client side of ``Entity.to_dict``)."""
    return [
        Entity(
            label=str(item["label"]),
            text=str(item["text"]),
            start=int(item["start"]),
            end=int(item["end"]),
            line=int(item["line"]),
            confidence=float(item["confidence"]),
            source=str(item["source"]),
        )
        for item in items
    ]
