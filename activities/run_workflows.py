"""Activities that talk to Temporal itself: starting a run's workflow for its subject.

A subject's workflow used to start each run as a child workflow. A child's start and its
completion are each recorded in the parent and each wake it for a workflow task, although the
subject never needs a run's outcome (the read model has it). Started from a local activity,
the run costs its subject one marker event and nothing when it finishes.

The price is that the start happens before the subject's workflow task is committed. A lost
task runs its handlers again; each request derives its run id and start token from its own
Update id, so it finds the run it started and starts no second one. Only a request whose
Update the server drops and the client never sends again leaves a started run the subject does
not know: that run is not its subject's latest once a newer request exists, so the gateway
refuses it, and the maintenance sweep expires it once it is older than the stale-run age
(``VITAE_ENRICHMENT_STALE_RUN_DAYS``).
"""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from vitae.enrichment_contracts import EnrichmentActivity, StartRunInput, run_workflow_id
from workflows.enrichment import EnrichmentRunWorkflow

START_TOKEN_MEMO = "start_token"


class RunWorkflowActivities:
    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name=EnrichmentActivity.START_RUN)
    async def start_run(self, inp: StartRunInput) -> bool:
        """Start the run's workflow; False when its run id belongs to another request.

        Idempotent: a retry (the first start landed but its answer was lost, or the workflow
        task that ran this local activity failed and ran again) finds the workflow already
        started with its own token and reports success without starting anything.
        """
        workflow_id = run_workflow_id(inp.run.run_id)
        try:
            await self._client.start_workflow(
                EnrichmentRunWorkflow.run,
                inp.run,
                id=workflow_id,
                task_queue=inp.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                memo={START_TOKEN_MEMO: inp.start_token},
                static_summary=inp.summary,
            )
            return True
        except WorkflowAlreadyStartedError:
            description = await self._client.get_workflow_handle(workflow_id).describe()
            token = await description.memo_value(START_TOKEN_MEMO, default=None)
            return bool(token == inp.start_token)
