"""The workflow sandbox configuration shared by the worker, the replayer and tests."""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions


def workflow_runner() -> SandboxedWorkflowRunner:
    # Our contracts are plain dataclasses; passing them through avoids re-importing them in
    # every workflow sandbox (faster, and keeps isinstance checks consistent). Only modules
    # free of I/O and heavy imports may be listed here.
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("vitae.contracts"))
