"""The activity that runs the production model.

Through a :class:`model_runtime.scoring.Scorer`: in-process (Option A, the default) or a
scoring endpoint (Option B, ``VITAE_MODEL_SERVING=endpoint``). The output is the same either
way and names the model version that actually served the resume.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from model_runtime.scoring import Scorer, ScoringError
from vitae.contracts import ActivityName, EntityRecord, InferenceInput, InferenceOutput
from vitae.telemetry import ModelMetrics

log = logging.getLogger(__name__)


class InferenceActivities:
    def __init__(self, scorer: Scorer, read_text: Callable[[str], Awaitable[str]], metrics: ModelMetrics) -> None:
        self._scorer = scorer
        self._read_text = read_text
        self._metrics = metrics

    @activity.defn(name=ActivityName.RUN_INFERENCE)
    async def run_inference(self, inp: InferenceInput) -> InferenceOutput:
        text = await self._read_text(inp.text_uri)
        try:
            result = await self._scorer.score(text)
        except ScoringError as err:
            # 4xx (bad key, unknown deployment, input too large) cannot succeed on retry: the
            # job fails with that code. 5xx, timeouts and connection errors are retried.
            raise ApplicationError(err.message, type=err.code, non_retryable=not err.retryable) from err
        self._metrics.prediction(
            result.model_name,
            result.model_version,
            result.elapsed_ms,
            len(text),
            [e.label for e in result.entities],
            model_deployment=result.deployment,
        )
        if result.deployment:
            log.debug("job %s scored by %s (v%s)", inp.job_id, result.deployment, result.model_version)
        return InferenceOutput(
            model_name=result.model_name,
            model_version=result.model_version,
            entities=[
                EntityRecord(e.label, e.text, e.start, e.end, e.line, round(e.confidence, 4), e.source)
                for e in result.entities
            ],
            fields=result.fields,
            inference_ms=result.elapsed_ms,
            produced_at=datetime.now(UTC),
            model_deployment=result.deployment,
        )
