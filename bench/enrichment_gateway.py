"""Worker gateway benchmark: lease → complete through the real local stack, scoring excluded.

    .venv/bin/python -m bench.enrichment_gateway [--subjects 1000] [--workers 4] [--state-dir .vitae-bench]

Brings the stack up like ``bench.pipeline`` (``vitae up`` in ``--state-dir``; an already
running stack there is reused) and, under an enricher type of its own:

1. creates ``--subjects`` open subjects through the tenant API (a CV per user, a run per
   (job, user)), and waits until every run is queued;
2. runs ``--workers`` reference workers (``enrichers.worker.EnrichmentWorker``, the code
   ``vitae enrich-worker`` runs) with a no-op score against the gateway, as fast as they can,
   until all but ``--paced-runs`` + ``--latency-runs`` runs have completed: lease → complete
   round trip per run (from sending the lease request to the complete answer, through the
   gateway's HTTP API), end-to-end runs/s, and the CPU that Temporal, the Temporal worker, the
   gateway, PostgreSQL, Azurite (input snapshots) and the reference workers themselves spent
   per run. Flat out, the round trip is the workers' queueing (Little's law: workers / runs
   per second), so the same workers then complete ``--paced-runs`` runs started at a steady
   ``--paced-rate`` runs/s between them: the round trip at that throughput. Last, one worker
   alone completes the rest (latency without any other load);
3. sends ``--repeat-requests`` requests to each of ``--repeat-subjects`` subjects (each one
   supersedes the last), so their workflows continue-as-new: the executions of each subject
   and their history lengths, and how many events a completed run's history has.

The Temporal server's RSS is reported before and after each phase, and after every 1,000
subjects created (``--subjects 5000`` shows whether it grows with the open subjects). Prints a
summary and a JSON line. Absolute numbers on a shared 2-core machine are noisy; the load average
is shown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

from bench.proc import cpu_seconds, rss_mb, stat_fields
from enrichers.worker import EnrichmentWorker, Result, WorkerConfig
from vitae.enrichment_contracts import run_workflow_id, subject_key, subject_workflow_id
from vitae.settings import Settings
from vitae.stack import up
from vitae.stack.state import StatePaths, load_record
from vitae.stores.worker_keys import WorkerKeys
from vitae.temporal import connect_temporal

T = TypeVar("T")
SERVICES = ("temporal", "worker", "gateway", "postgres", "azurite")


def _pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return round(values[0], 1) if values else float("nan")
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


def _service_pids(paths: StatePaths, service: str) -> list[int]:
    """The service's processes: its process group, or for PostgreSQL (which pg_ctl starts
    as a daemon in a group of its own) the postmaster and its backends."""
    record = load_record(paths, service)
    if record is None:
        return []
    group, parent = record.pgid, None
    if service == "postgres":
        pidfile = Path(str(record.extra.get("data_dir", ""))) / "postmaster.pid"
        try:
            parent = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := stat_fields(int(entry.name))):
            pid, ppid, pgid = int(entry.name), int(fields[1]), int(fields[2])
            if (parent is None and pgid == group) or pid == parent or ppid == parent:
                pids.append(pid)
    return pids


def _cpu_seconds(paths: StatePaths, service: str) -> float:
    """User + system CPU of the service's processes (of those alive now)."""
    return sum(cpu_seconds(fields) for pid in _service_pids(paths, service) if (fields := stat_fields(pid)))


def _rss_mb(paths: StatePaths, service: str) -> float:
    record = load_record(paths, service)
    if record is None:
        return float("nan")
    return round(rss_mb(record.pid), 1)


async def _bounded(items: Iterable[T], concurrency: int, fn: Callable[[T], Awaitable[Any]]) -> list[Any]:
    sem = asyncio.Semaphore(concurrency)

    async def one(item: T) -> Any:
        async with sem:
            return await fn(item)

    return await asyncio.gather(*(one(i) for i in items))


async def _post(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    for attempt in range(5):
        response = await http.post(path, json=body)
        if response.status_code < 500:
            break
        await asyncio.sleep(0.2 * (attempt + 1))
    if response.status_code >= 300:
        raise RuntimeError(f"{path}: HTTP {response.status_code} {response.text[:300]}")
    data: dict[str, Any] = response.json()
    return data


class RoundTrips:
    """httpx event hooks timing each worker's lease → complete through the gateway."""

    def __init__(self) -> None:
        self.leased_at: dict[str, float] = {}
        self.round_trip_ms: list[float] = []
        self.lease_ms: list[float] = []
        self.complete_ms: list[float] = []
        self.empty_polls = 0
        self.refused = 0
        self.completed: list[str] = []

    async def on_request(self, request: httpx.Request) -> None:
        request.extensions["bench_started"] = time.perf_counter()

    async def on_response(self, response: httpx.Response) -> None:
        now = time.perf_counter()
        started = float(response.request.extensions["bench_started"])
        path = response.request.url.path
        if path == "/work/lease":
            if response.status_code == 204:
                self.empty_polls += 1
                return
            await response.aread()
            if response.status_code == 200:
                self.leased_at[response.json()["runId"]] = started
                self.lease_ms.append((now - started) * 1000)
        elif path == "/work/complete":
            run_id = json.loads(response.request.content)["runId"]
            if response.status_code != 200:
                self.refused += 1
                return
            self.complete_ms.append((now - started) * 1000)
            self.round_trip_ms.append((now - self.leased_at.pop(run_id)) * 1000)
            self.completed.append(run_id)


async def create_subjects(
    api: httpx.AsyncClient,
    enricher: str,
    n: int,
    users: int,
    concurrency: int,
    on_progress: Callable[[int], None] = lambda created: None,
    progress_every: int = 1000,
) -> tuple[list[tuple[str, str]], float]:
    """A CV per user, then a run per (job, user); ``on_progress`` after every ``progress_every`` runs."""
    user_ids = [f"bench-user-{i}" for i in range(users)]

    async def cv(user: str) -> str:
        body = {"userId": user, "format": "html", "content": f"<p>{user}: backend engineer, Python, PostgreSQL</p>"}
        return str((await _post(api, "/v1/cvs", body))["cvVersionId"])

    cvs = dict(zip(user_ids, await _bounded(user_ids, concurrency, cv), strict=True))
    subjects = [(f"bench-job-{i // users}", user_ids[i % users]) for i in range(n)]

    async def run(subject: tuple[str, str]) -> None:
        job, user = subject
        body = {
            "enricherType": enricher,
            "jobId": job,
            "userId": user,
            "cvVersionId": cvs[user],
            "job": {"title": "Backend engineer", "description": "Python, PostgreSQL, Temporal."},
        }
        await _post(api, "/v1/enrichment/runs", body)

    started = time.perf_counter()
    for first in range(0, n, progress_every):
        chunk = subjects[first : first + progress_every]
        await _bounded(chunk, concurrency, run)
        on_progress(first + len(chunk))
    return subjects, time.perf_counter() - started


async def wait_queued(pool: asyncpg.Pool, enricher: str, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        queued = await pool.fetchval(
            "SELECT count(*) FROM enrichment_runs WHERE enricher_type = $1 AND status = 'queued'", enricher
        )
        if queued >= n:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {queued} of {n} runs queued after {timeout} s")
        await asyncio.sleep(0.5)


async def lease_and_complete(
    gateway_url: str,
    key: str,
    enricher: str,
    workers: int,
    total: int,
    max_seconds: float = 900,
    rate: float | None = None,
) -> tuple[RoundTrips, float, int]:
    """``workers`` reference workers lease and complete ``total`` runs between them.

    Each worker takes a slot before it asks for a lease and stops when none is left, so no
    lease request is ever abandoned (a lease granted to a request its worker gave up on would
    sit out its TTL before another worker could have the run). With ``rate``, slot i starts no
    earlier than i / rate seconds in (an open-loop arrival schedule shared by the workers);
    without it, every worker starts its next run as soon as its last one completed.
    """
    timing = RoundTrips()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    slots = total

    def no_op(_: dict[str, Any]) -> Result:
        return Result(50.0, "benchmark")

    async def work(worker: EnrichmentWorker) -> None:
        nonlocal slots
        while slots > 0 and not stop.is_set():
            slot = total - slots
            slots -= 1
            if rate is not None and (delay := started + slot / rate - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            await worker.run(once=True)  # one lease → (no-op) compute → complete

    fleet = []
    for i in range(workers):
        http = httpx.AsyncClient(
            base_url=gateway_url,
            timeout=60,
            event_hooks={"request": [timing.on_request], "response": [timing.on_response]},
        )
        config = WorkerConfig(gateway_url, key, [enricher], worker_id=f"bench-{i}", wait_seconds=2)
        # Both clients injected: run(once=True) closes only the clients a worker made itself.
        input_http = httpx.AsyncClient(timeout=60)
        fleet.append(EnrichmentWorker(config, no_op, http=http, input_http=input_http, stop=stop))
    started = time.perf_counter()
    # A bound, should some run never become leasable.
    loop.call_later(max_seconds, stop.set)
    await asyncio.gather(*(work(w) for w in fleet))
    elapsed = time.perf_counter() - started
    for worker in fleet:
        await worker.http.aclose()
        await worker.input_http.aclose()
    return timing, elapsed, sum(w.stats.completed for w in fleet)


def _phase(workers: int, timing: RoundTrips, elapsed: float, completed: int) -> dict[str, Any]:
    return {
        "workers": workers,
        "completed": completed,
        "seconds": round(elapsed, 1),
        "runs_per_s": round(completed / elapsed, 1),
        "round_trip_ms": {"p50": _pct(timing.round_trip_ms, 50), "p95": _pct(timing.round_trip_ms, 95)},
        "lease_ms": {"p50": _pct(timing.lease_ms, 50), "p95": _pct(timing.lease_ms, 95)},
        "complete_ms": {"p50": _pct(timing.complete_ms, 50), "p95": _pct(timing.complete_ms, 95)},
        "empty_polls": timing.empty_polls,
        "refused_completions": timing.refused,
    }


async def repeat_requests(
    api: httpx.AsyncClient, enricher: str, subjects: list[tuple[str, str]], repeats: int, concurrency: int
) -> float:
    cvs: dict[str, str] = {}
    for _, user in subjects:
        if user not in cvs:
            body = {"userId": user, "format": "html", "content": f"<p>{user}: data engineer</p>"}
            cvs[user] = str((await _post(api, "/v1/cvs", body))["cvVersionId"])

    async def request(item: tuple[int, tuple[str, str]]) -> None:
        _, (job, user) = item
        body = {
            "enricherType": enricher,
            "jobId": job,
            "userId": user,
            "cvVersionId": cvs[user],
            "job": {"title": "Data engineer", "description": "Kafka, Airflow."},
        }
        await _post(api, "/v1/enrichment/runs", body)

    items = [(i, s) for i in range(repeats) for s in subjects]
    started = time.perf_counter()
    await _bounded(items, concurrency, request)
    return time.perf_counter() - started


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    info = up(args.state_dir, quiet=True, timeout=180)
    os.environ.update(info.env)
    settings = Settings()
    paths = StatePaths.at(args.state_dir)
    api_key = json.loads((args.state_dir / "credentials.json").read_text())["api_key"]
    enricher = f"bench{uuid.uuid4().hex[:8]}.v1"
    pool = await asyncpg.create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=2)
    temporal = await connect_temporal(settings)
    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg_1m_start": round(os.getloadavg()[0], 2)}
    rss: dict[str, float] = {"start": _rss_mb(paths, "temporal")}
    try:
        worker_key = (await WorkerKeys(pool).issue(f"bench-{enricher}", [enricher])).secret
        async with httpx.AsyncClient(
            base_url=info.env["VITAE_API_URL"], headers={"X-API-Key": api_key}, timeout=60
        ) as api:
            # The server's memory as open subjects grow: bounded, or growing with each one?
            rss_by_subjects: dict[int, float] = {}
            subjects, created_s = await create_subjects(
                api,
                enricher,
                args.subjects,
                args.users,
                args.concurrency,
                on_progress=lambda created: rss_by_subjects.__setitem__(created, _rss_mb(paths, "temporal")),
            )
            await wait_queued(pool, enricher, args.subjects)
            report["create"] = {
                "subjects": len(subjects),
                "seconds": round(created_s, 1),
                "per_s": round(len(subjects) / created_s, 1),
                "temporal_rss_mb_by_open_subjects": rss_by_subjects,
            }
            rss["after_subjects"] = _rss_mb(paths, "temporal")

            gateway = info.env["VITAE_GATEWAY_URL"]
            cpu_before = {s: _cpu_seconds(paths, s) for s in SERVICES}
            bench_cpu_before = time.process_time()
            throughput_runs = max(1, args.subjects - args.paced_runs - args.latency_runs)
            timing, elapsed, completed = await lease_and_complete(
                gateway, worker_key, enricher, args.workers, throughput_runs
            )
            cpu_ms = {
                s: round((_cpu_seconds(paths, s) - cpu_before[s]) * 1000 / max(completed, 1), 1) for s in SERVICES
            }
            # The reference workers run in this process: their HTTP clients share the cores too.
            cpu_ms["reference_workers"] = round((time.process_time() - bench_cpu_before) * 1000 / max(completed, 1), 1)
            report["lease_complete"] = _phase(args.workers, timing, elapsed, completed)
            report["lease_complete"]["cpu_ms_per_run"] = cpu_ms
            completed_runs = list(timing.completed)
            if args.paced_runs > 0:
                timing, elapsed, paced = await lease_and_complete(
                    gateway, worker_key, enricher, args.workers, args.paced_runs, rate=args.paced_rate
                )
                report["paced"] = _phase(args.workers, timing, elapsed, paced) | {"rate_per_s": args.paced_rate}
                completed += paced
                completed_runs += timing.completed
            if args.subjects - completed > 0:
                # The rest with one worker: the round trip's own latency, without queueing.
                timing, elapsed, alone = await lease_and_complete(
                    gateway, worker_key, enricher, 1, args.subjects - completed
                )
                report["one_worker"] = _phase(1, timing, elapsed, alone)
                completed_runs += timing.completed
            rss["after_lease_complete"] = _rss_mb(paths, "temporal")

            repeated = subjects[: args.repeat_subjects]
            repeat_s = await repeat_requests(api, enricher, repeated, args.repeat_requests, args.concurrency)
            rss["after_repeats"] = _rss_mb(paths, "temporal")
        chains = []
        for job, user in repeated:
            workflow_id = subject_workflow_id(enricher, subject_key(job, user))
            executions = [e async for e in temporal.list_workflows(f'WorkflowId = "{workflow_id}"')]
            lengths = []
            for execution in sorted(executions, key=lambda e: e.start_time):
                # Visibility fills history_length only when an execution closes: ask each one.
                described = await temporal.get_workflow_handle(workflow_id, run_id=execution.run_id).describe()
                lengths.append(described.raw_description.workflow_execution_info.history_length)
            chains.append(lengths)
        run_histories = []
        for run_id in completed_runs[:: max(1, len(completed_runs) // 20)][:20]:
            described = await temporal.get_workflow_handle(run_workflow_id(run_id)).describe()
            run_histories.append(described.raw_description.workflow_execution_info.history_length)
        report["repeats"] = {
            "subjects": len(repeated),
            "requests_each": args.repeat_requests,
            "seconds": round(repeat_s, 1),
            "per_s": round(len(repeated) * args.repeat_requests / repeat_s, 1),
            "subject_executions_history_lengths": chains,
            "completed_run_history_lengths": sorted(run_histories),
        }
        report["temporal_rss_mb"] = rss
        report["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    finally:
        await pool.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=1000, help="open subjects (queued runs) to create")
    parser.add_argument("--users", type=int, default=100, help="users (one CV each) the subjects are spread over")
    parser.add_argument("--workers", type=int, default=4, help="concurrent gateway workers")
    parser.add_argument(
        "--latency-runs", type=int, default=100, help="of the subjects, leased by one worker alone at the end"
    )
    parser.add_argument(
        "--paced-runs", type=int, default=300, help="of the subjects, leased by the workers at --paced-rate"
    )
    parser.add_argument("--paced-rate", type=float, default=30.0, help="runs/s started in the paced phase")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent API requests while creating")
    parser.add_argument("--repeat-subjects", type=int, default=2, help="subjects that get many requests")
    parser.add_argument(
        "--repeat-requests", type=int, default=600, help="requests per such subject (continue-as-new after 500)"
    )
    parser.add_argument("--state-dir", type=Path, default=Path(".vitae-bench"))
    args = parser.parse_args()
    args.state_dir = args.state_dir.resolve()
    report = asyncio.run(main_async(args))
    c, lc, r = report["create"], report["lease_complete"], report["repeats"]
    print(f"{report['cpus']} cores, load {report['load_avg_1m_start']} → {report['load_avg_1m_end']}")
    print(f"created {c['subjects']} open subjects through the API in {c['seconds']} s ({c['per_s']}/s)")
    print(f"  Temporal server RSS (MB) by open subjects: {c['temporal_rss_mb_by_open_subjects']}")
    print(
        f"{lc['workers']} workers, {lc['completed']} runs leased and completed in {lc['seconds']} s:"
        f" {lc['runs_per_s']} runs/s; lease → complete round trip p50 {lc['round_trip_ms']['p50']} ms,"
        f" p95 {lc['round_trip_ms']['p95']} ms (lease {lc['lease_ms']}, complete {lc['complete_ms']})"
    )
    print(f"  CPU ms per run: {lc['cpu_ms_per_run']}")
    if paced := report.get("paced"):
        print(
            f"{paced['workers']} workers paced at {paced['rate_per_s']} runs/s, {paced['completed']} runs:"
            f" {paced['runs_per_s']} runs/s; round trip p50 {paced['round_trip_ms']['p50']} ms,"
            f" p95 {paced['round_trip_ms']['p95']} ms (lease {paced['lease_ms']}, complete {paced['complete_ms']})"
        )
    if one := report.get("one_worker"):
        print(
            f"1 worker alone, {one['completed']} runs: {one['runs_per_s']} runs/s; round trip p50"
            f" {one['round_trip_ms']['p50']} ms, p95 {one['round_trip_ms']['p95']} ms"
            f" (lease {one['lease_ms']}, complete {one['complete_ms']})"
        )
    print(
        f"{r['subjects']} subjects × {r['requests_each']} requests in {r['seconds']} s ({r['per_s']}/s);"
        f" history lengths per subject execution (continue-as-new): {r['subject_executions_history_lengths']}"
    )
    print(f"  completed run histories: {r['completed_run_history_lengths']} events")
    print(f"Temporal server RSS (MB): {report['temporal_rss_mb']}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
