"""Client commands: ``upload``, ``result``, ``replay``, ``tenant``, ``results restore``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from vitae.settings import get_settings

TERMINAL = {"succeeded", "failed"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    upload = subparsers.add_parser("upload", help="upload resumes and wait for their results")
    upload.add_argument("paths", nargs="+", type=Path, help="PDF files or folders (searched recursively)")
    upload.add_argument("--concurrency", type=int, default=4)
    upload.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for all results")
    upload.add_argument("--no-wait", action="store_true", help="return after uploading")
    upload.set_defaults(handler=_upload)

    result = subparsers.add_parser("result", help="print a resume's latest result as JSON")
    result.add_argument("file_id")
    result.set_defaults(handler=_result)

    replay = subparsers.add_parser("replay", help="replay a workflow history against the current code")
    source = replay.add_mutually_exclusive_group(required=True)
    source.add_argument("workflow_id", nargs="?")
    source.add_argument("--file", type=Path, help="a history JSON (temporal workflow show --output json)")
    replay.add_argument("--save", type=Path, help="also write the fetched history to this file")
    replay.set_defaults(handler=_replay)

    tenant = subparsers.add_parser("tenant", help="manage tenants")
    tenant_sub = tenant.add_subparsers(dest="tenant_command", required=True)
    create = tenant_sub.add_parser("create", help="create a tenant (if new) and issue an API key")
    create.add_argument("tenant_id")
    create.add_argument("--name")
    create.set_defaults(handler=_tenant_create)

    results = subparsers.add_parser("results", help="operate on the Cosmos results")
    results_sub = results.add_subparsers(dest="results_command", required=True)
    restore = results_sub.add_parser(
        "restore", help="rebuild every file's Cosmos result from its newest result.json artifact"
    )
    restore.set_defaults(handler=_results_restore)


# --- talking to the API -------------------------------------------------------------


@dataclass
class ApiClient:
    base_url: str
    api_key: str

    @classmethod
    def from_environment(cls) -> ApiClient:
        settings = get_settings()
        base = os.environ.get("VITAE_API_URL", "http://127.0.0.1:8000")
        key = os.environ.get("VITAE_API_KEY")
        creds = settings.state_dir / "credentials.json"
        if not key and creds.exists():
            key = json.loads(creds.read_text())["api_key"]
        if not key:
            raise SystemExit("no API key: set VITAE_API_KEY or run `vitae up` (development)")
        return cls(base.rstrip("/"), key)

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, headers={"X-API-Key": self.api_key}, timeout=30.0)


def _collect(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf"))
        elif path.is_file():
            files.append(path)
        else:
            raise SystemExit(f"no such file or folder: {path}")
    return files


@dataclass
class UploadOutcome:
    path: Path
    file_id: str | None
    job_id: str | None
    status: str
    error_code: str | None
    latency_ms: float | None


async def _upload_one(http: httpx.AsyncClient, path: Path, sem: asyncio.Semaphore) -> tuple[UploadOutcome, float]:
    async with sem:
        started = time.perf_counter()
        with path.open("rb") as fh:
            response = await http.post("/v1/resumes", files={"file": (path.name, fh, "application/pdf")})
        if response.status_code != 202:
            return UploadOutcome(path, None, None, "failed", f"HTTP_{response.status_code}", None), started
        body = response.json()
        return UploadOutcome(path, body["fileId"], body["jobId"], "queued", None, None), started


async def _wait_for(http: httpx.AsyncClient, outcome: UploadOutcome, started: float, deadline: float) -> None:
    # Long-poll: the API answers as soon as the job finishes (or after ``wait`` seconds).
    while (remaining := deadline - time.monotonic()) > 0:
        response = await http.get(f"/v1/jobs/{outcome.job_id}", params={"wait": min(20.0, max(remaining, 0.1))})
        if response.status_code == 200:
            job = response.json()
            if job["status"] in TERMINAL:
                outcome.status = job["status"]
                outcome.error_code = (job.get("error") or {}).get("code")
                outcome.latency_ms = (time.perf_counter() - started) * 1000
                return
        else:
            await asyncio.sleep(0.5)  # e.g. the API restarting: do not spin
    outcome.status = "timeout"


def _percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


async def upload_and_wait(
    paths: list[Path], *, concurrency: int, timeout: float, wait: bool, progress: bool = True
) -> tuple[list[UploadOutcome], dict[str, Any]]:
    from rich.progress import Progress

    client = ApiClient.from_environment()
    files = _collect(paths)
    sem = asyncio.Semaphore(concurrency)
    deadline = time.monotonic() + timeout
    outcomes: list[UploadOutcome] = []
    async with client.http() as http:
        with Progress(transient=False, disable=not progress) as bar:
            task = bar.add_task("processing" if wait else "uploading", total=len(files))

            async def one(path: Path) -> None:
                outcome, started = await _upload_one(http, path, sem)
                if wait and outcome.job_id:
                    await _wait_for(http, outcome, started, deadline)
                outcomes.append(outcome)
                bar.advance(task)

            await asyncio.gather(*(one(p) for p in files))
    latencies = [o.latency_ms for o in outcomes if o.latency_ms is not None]
    summary = {
        "files": len(files),
        "succeeded": sum(o.status == "succeeded" for o in outcomes),
        "failed": sum(o.status != "succeeded" for o in outcomes) if wait else sum(o.job_id is None for o in outcomes),
        "p50_ms": _percentile(latencies, 50),
        "p95_ms": _percentile(latencies, 95),
    }
    return outcomes, summary


def _upload(args: argparse.Namespace) -> int:
    outcomes, summary = asyncio.run(
        upload_and_wait(args.paths, concurrency=args.concurrency, timeout=args.timeout, wait=not args.no_wait)
    )
    for o in sorted(outcomes, key=lambda o: str(o.path)):
        if o.status != "succeeded" and not args.no_wait:
            print(f"{o.status:9} {o.error_code or '':22} {o.path}  (file {o.file_id}, job {o.job_id})", file=sys.stderr)
    print(json.dumps(summary))
    return 1 if summary["failed"] else 0


def _result(args: argparse.Namespace) -> int:
    async def fetch() -> httpx.Response:
        async with ApiClient.from_environment().http() as http:
            return await http.get(f"/v1/resumes/{args.file_id}")

    response = asyncio.run(fetch())
    if response.status_code != 200:
        print(f"error {response.status_code}: {response.json().get('detail')}", file=sys.stderr)
        return 1
    print(json.dumps(response.json(), indent=2, ensure_ascii=False))
    return 0


# --- replay -------------------------------------------------------------------------


async def replay_history(workflow_id: str | None, file: Path | None, save: Path | None) -> str:
    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer

    from vitae.temporal import connect_temporal
    from workflows.resume_inference import ResumeInferenceWorkflow
    from workflows.sandbox import workflow_runner

    if file is not None:
        history = WorkflowHistory.from_json(workflow_id or file.stem, file.read_text())
    else:
        assert workflow_id is not None
        client = await connect_temporal(get_settings())
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        if save:
            save.write_text(history.to_json())
    replayer = Replayer(workflows=[ResumeInferenceWorkflow], workflow_runner=workflow_runner())
    await replayer.replay_workflow(history)
    return f"replayed {len(history.events)} events of {history.workflow_id}: deterministic"


def _replay(args: argparse.Namespace) -> int:
    try:
        print(asyncio.run(replay_history(args.workflow_id, args.file, args.save)))
    except Exception as err:  # a nondeterminism error is the answer, not a crash
        print(f"replay failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


# --- tenants ------------------------------------------------------------------------


def _tenant_create(args: argparse.Namespace) -> int:
    from vitae.ingestion import TENANT_ID
    from vitae.stores.ledger import Ledger

    if not TENANT_ID.match(args.tenant_id):
        print("tenant id must be 2-63 chars of a-z, 0-9 and '-'", file=sys.stderr)
        return 2

    async def create() -> str:
        ledger = await Ledger.connect(get_settings().database_url.get_secret_value(), max_size=1)
        try:
            await ledger.ensure_tenant(args.tenant_id, args.name)
            return (await ledger.issue_api_key(args.tenant_id, "vitae tenant create")).secret
        finally:
            await ledger.close()

    print(json.dumps({"tenant": args.tenant_id, "api_key": asyncio.run(create())}))
    return 0


# --- results --------------------------------------------------------------------------


def _results_restore(args: argparse.Namespace) -> int:
    from vitae.results_restore import restore_results
    from vitae.stores.blob import BlobStore
    from vitae.stores.cosmos import ResultStore
    from vitae.stores.ledger import Ledger

    async def restore() -> dict[str, int]:
        settings = get_settings()
        ledger = await Ledger.connect(settings.database_url.get_secret_value(), max_size=4)
        try:
            async with BlobStore.from_settings(settings) as blobs:
                results = await ResultStore.open(settings)
                try:
                    return (await restore_results(ledger, blobs, results)).to_json()
                finally:
                    await results.close()
        finally:
            await ledger.close()

    report = asyncio.run(restore())
    print(json.dumps(report))
    return 1 if report["missing_artifacts"] else 0
