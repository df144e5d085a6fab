"""The workflow sandbox configuration shared by the worker, the replayer and tests."""

from __future__ import annotations

import compileall
import functools
import logging
from pathlib import Path

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

log = logging.getLogger(__name__)


# Our contracts are plain dataclasses; passing them through avoids re-importing them in every
# workflow sandbox (faster, and keeps isinstance checks consistent). Only modules free of I/O
# and heavy imports may be listed here.
RESTRICTIONS = SandboxRestrictions.default.with_passthrough_modules("vitae.contracts")


def workflow_runner() -> SandboxedWorkflowRunner:
    compile_workflow_modules()
    return SandboxedWorkflowRunner(restrictions=RESTRICTIONS)


@functools.cache
def compile_workflow_modules() -> bool:
    """Write bytecode for this package's modules (once per process); False if it could not.

    The sandbox imports a workflow's module afresh for every workflow instance it creates.
    Without a valid ``.pyc`` (``PYTHONDONTWRITEBYTECODE=1``, as these machines and many container
    images set) each of those imports compiles the source again: 5-7 of the worker's
    ~25 CPU-ms per enrichment run (``python -m bench.workflow_runner``). Writing bytecode
    explicitly is what ``python -m compileall`` in an image build does; stale files are
    recompiled (compileall checks timestamps).
    """
    compiled = compileall.compile_dir(str(Path(__file__).parent), maxlevels=0, quiet=2)
    if not compiled:
        log.warning("could not write bytecode for the workflow modules: each new workflow recompiles them")
    return bool(compiled)
