"""A deliberately 'changed' ResumeInferenceWorkflow for the replay test (its own module: the
sandbox re-imports a workflow's module, which must stay free of I/O)."""

from __future__ import annotations

from temporalio import workflow

from vitae.contracts import ResumeInferenceInput


@workflow.defn(name="ResumeInferenceWorkflow")
class SkipsLedger:
    """Its first command is a timer, not the ledger activity the recorded history expects."""

    @workflow.run
    async def run(self, inp: ResumeInferenceInput) -> None:
        await workflow.sleep(1)
