"""Replay the enrichment workflows' checked-in histories against the current code.

Runs and subjects live for days (offline workers), so a change to their command sequence
must not break the ones already in flight: a change that does fails here with a
nondeterminism error; give it a ``workflow.patched`` branch. The histories were recorded with
``python -m tests.enrichment.record_histories`` (the ``*_before_local_records`` ones with the
code before ``LOCAL_RECORD_PATCH``, ``subject_requests_before_run_start_activity`` with the
code before ``START_RUN_BY_ACTIVITY_PATCH``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.enrichment import EnrichmentRunWorkflow, EnrichmentSubjectWorkflow
from workflows.enrichment_maintenance import EnrichmentMaintenanceWorkflow
from workflows.sandbox import workflow_runner

HISTORIES = sorted((Path(__file__).resolve().parent / "histories").glob("*.json"))


def test_every_enrichment_workflow_has_a_recorded_history() -> None:
    names = {p.stem for p in HISTORIES}
    current = {"subject_requests", "run_requeued_then_succeeded", "run_superseded", "maintenance"}
    # Recorded before records became local activities (LOCAL_RECORD_PATCH): runs in flight
    # across that deploy must keep replaying.
    before = {f"{n}_before_local_records" for n in current - {"maintenance"}}
    # Recorded while subjects started runs as child workflows (START_RUN_BY_ACTIVITY_PATCH).
    before.add("subject_requests_before_run_start_activity")
    assert current | before <= names


@pytest.mark.asyncio
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_deterministically(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=[EnrichmentSubjectWorkflow, EnrichmentRunWorkflow, EnrichmentMaintenanceWorkflow],
        workflow_runner=workflow_runner(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
