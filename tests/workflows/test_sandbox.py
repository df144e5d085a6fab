"""The sandbox re-imports workflow modules for every workflow instance: their bytecode must exist."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import workflows.enrichment
import workflows.resume_inference
from tests.workflows.context_workflow import ContextWorkflow, echo
from workflows.sandbox import RESTRICTIONS, compile_workflow_modules, workflow_runner


def test_workflow_modules_get_bytecode_where_imports_look_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty cache folder and no bytecode writing on import, as with PYTHONDONTWRITEBYTECODE.
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    modules = [workflows.enrichment.__file__, workflows.resume_inference.__file__]
    cached = [Path(importlib.util.cache_from_source(str(module))) for module in modules]
    assert not any(path.exists() for path in cached)

    assert compile_workflow_modules.__wrapped__() is True

    assert all(path.exists() for path in cached)


class _RecordingCodec(PayloadCodec, WithSerializationContext):
    """Records the serialisation context of every payload it encodes or decodes."""

    def __init__(self, seen: list[tuple[str, object]], context: SerializationContext | None = None) -> None:
        self.seen = seen
        self.context = context

    def with_context(self, context: SerializationContext) -> _RecordingCodec:
        return _RecordingCodec(self.seen, context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.append(("encode", self.context))
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.append(("decode", self.context))
        return list(payloads)


async def _contexts(env: WorkflowEnvironment, runner: WorkflowRunner, task_queue: str) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []
    config = env.client.config()
    config["data_converter"] = dataclasses.replace(DataConverter.default, payload_codec=_RecordingCodec(seen))
    client = Client(**config)
    async with Worker(
        client, task_queue=task_queue, workflows=[ContextWorkflow], activities=[echo], workflow_runner=runner
    ):
        handle = await client.start_workflow(ContextWorkflow.run, "a", id=f"ctx-{uuid.uuid4()}", task_queue=task_queue)
        assert await handle.execute_update(ContextWorkflow.finish, "b") == "b!"
        assert await handle.result() == "A"
    # Only the worker's side: the client's own payloads are outside the sandbox either way.
    return [(kind, dataclasses.replace(ctx, workflow_id="-") if ctx is not None else None) for kind, ctx in seen]


@pytest.mark.asyncio(loop_scope="session")
async def test_the_runner_gives_payloads_the_sdk_runners_serialisation_contexts(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    # workflow_runner() answers the context itself instead of entering the sandbox for it.
    # One task queue after the other (it is part of an activity's context).
    ours = await _contexts(time_skipping_env, workflow_runner(), task_queue)
    sdk = await _contexts(time_skipping_env, SandboxedWorkflowRunner(restrictions=RESTRICTIONS), task_queue)
    # As sets: how activations and updates interleave (so the order and number of payload
    # conversions) varies from run to run; which context each kind of payload gets does not.
    assert set(map(repr, ours)) == set(map(repr, sdk))
    assert any(isinstance(ctx, ActivitySerializationContext) for _, ctx in ours)
