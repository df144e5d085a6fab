"""The activity that runs the production model (Option A: in-process predictor)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from temporalio import activity

from model_runtime.registry import ProductionModel
from model_runtime.structure import structure_entities
from vitae.contracts import ActivityName, EntityRecord, InferenceInput, InferenceOutput
from vitae.telemetry import ModelMetrics


class InferenceActivities:
    def __init__(
        self, model: ProductionModel, read_text: Callable[[str], Awaitable[str]], metrics: ModelMetrics
    ) -> None:
        self._model = model
        self._read_text = read_text
        self._metrics = metrics

    @activity.defn(name=ActivityName.RUN_INFERENCE)
    async def run_inference(self, inp: InferenceInput) -> InferenceOutput:
        text = await self._read_text(inp.text_uri)
        # The first call (or an alias move) loads a model version: do it off the event loop.
        predictor = await asyncio.to_thread(self._model.get)
        started = time.perf_counter()
        prediction = await asyncio.to_thread(predictor.predict, text)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._metrics.prediction(
            prediction.model_name,
            prediction.model_version,
            elapsed_ms,
            len(text),
            [e.label for e in prediction.entities],
        )
        return InferenceOutput(
            model_name=prediction.model_name,
            model_version=prediction.model_version,
            entities=[
                EntityRecord(e.label, e.text, e.start, e.end, e.line, round(e.confidence, 4), e.source)
                for e in prediction.entities
            ],
            fields=structure_entities(prediction.entities),
            inference_ms=elapsed_ms,
            produced_at=datetime.now(UTC),
        )
