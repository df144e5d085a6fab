"""Replay checked-in histories (recorded from the real stack) against the current workflow code.

A change that alters the command sequence of ``ResumeInferenceWorkflow`` fails here with a
nondeterminism error: give such a change a new workflow version (``workflow.patched``).
Regenerate a history with ``vitae replay WORKFLOW_ID --save tests/histories/NAME.json``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.workflows.changed_workflow import SkipsLedger
from workflows.resume_inference import ResumeInferenceWorkflow
from workflows.sandbox import workflow_runner

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").glob("*.json"))


def test_histories_cover_the_current_and_the_previous_workflow_version() -> None:
    names = {p.stem for p in HISTORIES}
    # ``*_before_local_extraction``: recorded when extraction was a regular activity (before
    # LOCAL_EXTRACTION_PATCH); ``*_before_local_inference``: when inference was one (before
    # LOCAL_INFERENCE_PATCH). Jobs in flight across those deploys must keep replaying.
    for version in ("", "_before_local_inference", "_before_local_extraction"):
        assert {f"succeeded{version}", f"failed_encrypted{version}"} <= names


@pytest.mark.asyncio
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_deterministically(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=[ResumeInferenceWorkflow], workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


@pytest.mark.asyncio
async def test_a_changed_workflow_is_caught() -> None:
    """The replay test can fail: a different command sequence is a nondeterminism error."""
    history = WorkflowHistory.from_json("x", HISTORIES[0].read_text())
    with pytest.raises(Exception, match=r"[Nn]ondeterminism"):
        await Replayer(workflows=[SkipsLedger], workflow_runner=workflow_runner()).replay_workflow(history)
