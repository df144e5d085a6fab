"""A workflow whose payloads cross every serialisation context the enrichment workflows use
(workflow input and result, a local activity, an update), for ``test_sandbox`` (its own
module: the sandbox re-imports a workflow's module, which must stay free of I/O)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="context-echo")
async def echo(value: str) -> str:
    return value.upper()


@workflow.defn(name="ContextWorkflow")
class ContextWorkflow:
    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self, value: str) -> str:
        echoed = await workflow.execute_local_activity(echo, value, start_to_close_timeout=timedelta(seconds=10))
        await workflow.wait_condition(lambda: self._done)
        return echoed

    @workflow.update
    async def finish(self, value: str) -> str:
        self._done = True
        return value + "!"
