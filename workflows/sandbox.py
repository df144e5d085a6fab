"""The workflow sandbox configuration shared by the worker, the replayer and tests."""

from __future__ import annotations

import compileall
import functools
import logging
from pathlib import Path
from types import CodeType
from typing import Any

from temporalio.converter import SerializationContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox._runner import _Instance

log = logging.getLogger(__name__)


# Our contracts are plain dataclasses; passing them through avoids re-importing them in every
# workflow sandbox (faster, and keeps isinstance checks consistent). Only modules free of I/O
# and heavy imports may be listed here.
RESTRICTIONS = SandboxRestrictions.default.with_passthrough_modules("vitae.contracts")


def workflow_runner() -> SandboxedWorkflowRunner:
    compile_workflow_modules()
    return CompiledCodeSandboxedWorkflowRunner(restrictions=RESTRICTIONS)


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> CodeType:
    # What ``exec(source)`` compiles, with the same file name.
    return compile(source, "<string>", "exec")


class _CompiledCodeInstance(_Instance):
    """The SDK's sandboxed instance, with each snippet it runs compiled once per process.

    The SDK enters the sandbox by ``exec``-ing a short source string: for every activation,
    and for every payload it converts (each asks the sandbox for its serialisation context).
    ``exec`` of a string compiles it each time, which was ~1/5 of the worker's CPU per
    enrichment run (py-spy --gil, bench.enrichment_gateway). The strings are a handful of
    constants, so their code objects are cached; what runs, and under which sandbox
    restrictions, is unchanged.
    """

    def _run_code(self, code: str, **extra_globals: Any) -> None:
        compiled: Any = _compiled(code)
        super()._run_code(compiled, **extra_globals)

    def get_serialization_context(self, command_info: CommandInfo | None) -> SerializationContext | None:
        # The SDK enters the sandbox (importer swapped in, restrictions on) for every payload
        # it converts, to ask the instance which context the payload's command has: a read of
        # the instance's own fields (workflow id, pending activity), no workflow code and no
        # imports. Asked directly, with the same answer.
        in_sandbox: Any = self.globals_and_locals["__temporal_in_sandbox"]
        context: SerializationContext | None = in_sandbox.get_serialization_context(command_info)
        return context


class CompiledCodeSandboxedWorkflowRunner(SandboxedWorkflowRunner):
    """``SandboxedWorkflowRunner`` whose instances cache their compiled snippets.

    It subclasses the SDK's private ``_Instance``: temporalio is pinned (pyproject.toml), and
    tests/workflows/test_sandbox.py checks that payloads get the same serialisation contexts as
    under the SDK's own runner, so an SDK upgrade that changes these internals fails there.
    Worker CPU per enrichment run (``python -m bench.workflow_runner``, side by side): 12.8 ms
    with the SDK's runner, 11.6 with cached snippets, 10.5 with the contexts asked directly too.
    """

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _CompiledCodeInstance(det, self.runner_class, self.restrictions)


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
