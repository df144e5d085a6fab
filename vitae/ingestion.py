"""How a blob in ``incoming-resumes`` becomes an inference job.

Naming convention: ``incoming-resumes/<tenant>/<fileId>.pdf``. The API writes exactly that;
blobs written directly by other clients are accepted when their first path segment is a
tenant id, and get a file id derived from the rest of the name.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from vitae.contracts import ResumeInferenceInput, job_id_for_blob, workflow_id_for_job
from workflows.resume_inference import ResumeInferenceWorkflow, initial_search_attributes

TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_FILE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


@dataclass(frozen=True)
class IncomingBlob:
    tenant_id: str
    file_id: str


def incoming_blob_name(tenant_id: str, file_id: str) -> str:
    return f"{tenant_id}/{file_id}.pdf"


def parse_incoming_name(name: str) -> IncomingBlob | None:
    """Tenant and file id of an incoming blob, or ``None`` if it is not a tenant's upload."""
    tenant, sep, rest = name.partition("/")
    if not sep or not rest or not TENANT_ID.match(tenant):
        return None
    stem = rest[:-4] if rest.lower().endswith(".pdf") else None
    if stem is not None and "/" not in stem and _FILE_ID.match(stem):
        return IncomingBlob(tenant, stem)
    # Any other name (folders, odd characters, another extension) still gets a stable id.
    return IncomingBlob(tenant, "f-" + hashlib.sha256(rest.encode()).hexdigest()[:24])


async def start_inference(client: Client, task_queue: str, inp: ResumeInferenceInput) -> bool:
    """Start the job's workflow; ``False`` when it was already started (a duplicate)."""
    try:
        await client.start_workflow(
            ResumeInferenceWorkflow.run,
            inp,
            id=workflow_id_for_job(inp.job_id),
            task_queue=task_queue,
            # A workflow id is one blob version: never run it twice, even after it finished.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=initial_search_attributes(inp),
            static_summary=f"tenant `{inp.tenant_id}` · file `{inp.file_id}` · {inp.trigger}",
            execution_timeout=timedelta(hours=24),
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


def job_input_for_blob(url: str, etag: str, blob: IncomingBlob) -> ResumeInferenceInput:
    return ResumeInferenceInput(
        job_id=job_id_for_blob(url, etag), tenant_id=blob.tenant_id, file_id=blob.file_id, blob_url=url, etag=etag
    )
