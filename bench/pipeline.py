"""Pipeline benchmark: upload-to-result latency and throughput through the real local stack,
side by side with the same extract + infer + write work in a bare in-process loop.

    .venv/bin/python -m bench.pipeline [--n 40] [--rate 5] [--soak 0] [--state-dir .vitae-bench]

Prints one table and a JSON line. Ratios are measured in one run on the same machine, because
absolute numbers on these shared 2-core machines are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from bench.proc import cpu_seconds, rss_mb, stat_fields
from vitae.settings import Settings
from vitae.stack import up
from vitae.stack.state import StatePaths, all_records, load_record

SHARED_PDFS = Path(__file__).resolve().parents[2] / "shared" / "data" / "livecareer-pdfs"
FIXTURE_PDF = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "resume_ok.pdf"


def _pdfs(n: int) -> list[Path]:
    pdfs = sorted(SHARED_PDFS.glob("*/*.pdf"))
    if not pdfs:
        raise SystemExit("needs ../shared/data/livecareer-pdfs")
    return [pdfs[i % len(pdfs)] for i in range(n)]


def _pct(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1) if len(values) > 1 else values[0]


def _rss_mb(state_dir: Path, service: str) -> float:
    record = load_record(StatePaths.at(state_dir), service)
    if record is None:
        return float("nan")
    return rss_mb(record.pid)


def _process_tree_cpu_s(root: int) -> float:
    """User + system CPU seconds of ``root`` and its live descendants (pools, backends)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        fields = stat_fields(pid)
        if fields is None:
            continue
        parents[pid] = int(fields[1])
        cpu[pid] = cpu_seconds(fields, reaped_children=True)
    total = 0.0
    for pid in cpu:
        walk = pid
        while walk and walk != root:
            walk = parents.get(walk, 0)
        if walk == root:
            total += cpu[pid]
    return total


def _service_cpu(state_dir: Path) -> dict[str, float]:
    return {name: _process_tree_cpu_s(record.pid) for name, record in all_records(StatePaths.at(state_dir)).items()}


def _cpu_per_resume(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    """Milliseconds of CPU per resume, by service, over one phase."""
    spent = {name: (after.get(name, 0.0) - before.get(name, 0.0)) * 1000 / n for name in after}
    ordered = dict(sorted(spent.items(), key=lambda kv: -kv[1]))
    ordered["total"] = sum(spent.values())
    return {name: round(ms, 1) for name, ms in ordered.items()}


async def _one(http: httpx.AsyncClient, path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    response = await http.post("/v1/resumes", files={"file": (path.name, path.read_bytes(), "application/pdf")})
    job_id = response.json()["jobId"]
    while True:
        # Long-poll: one request per resume, answered when the ledger records the outcome.
        job = (await http.get(f"/v1/jobs/{job_id}", params={"wait": 20})).json()
        if job["status"] in ("succeeded", "failed"):
            return (time.perf_counter() - started) * 1000, job["status"]


async def steady_rate(http: httpx.AsyncClient, pdfs: list[Path], rate: float) -> dict[str, Any]:
    """Open-loop arrivals at a fixed rate (like real uploads), latency per resume."""
    tasks = []
    started = time.perf_counter()
    for i, pdf in enumerate(pdfs):
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(_one(http, pdf)))
    results = await asyncio.gather(*tasks)
    latencies = [ms for ms, _ in results]
    return {
        "rate_per_s": rate,
        "n": len(pdfs),
        "failed": sum(s != "succeeded" for _, s in results),
        "p50_ms": _pct(latencies, 50),
        "p95_ms": _pct(latencies, 95),
    }


async def saturated(http: httpx.AsyncClient, pdfs: list[Path], concurrency: int) -> dict[str, Any]:
    sem = asyncio.Semaphore(concurrency)

    async def bounded(pdf: Path) -> tuple[float, str]:
        async with sem:
            return await _one(http, pdf)

    started = time.perf_counter()
    results = await asyncio.gather(*(bounded(p) for p in pdfs))
    elapsed = time.perf_counter() - started
    return {"n": len(pdfs), "failed": sum(s != "succeeded" for _, s in results), "per_s": round(len(pdfs) / elapsed, 2)}


async def bare_loop(settings: Settings, pdfs: list[Path]) -> dict[str, Any]:
    """The same work with no API, bridge, Temporal or ledger: extract, infer, write blob + Cosmos."""
    from model_runtime.registry import ProductionModel, registry_from_settings
    from model_runtime.structure import structure_entities
    from vitae.pdf_text import ExtractionLimits, extract_text
    from vitae.stores.blob import BlobStore
    from vitae.stores.cosmos import ResultStore

    predictor = ProductionModel(registry_from_settings(settings), settings.model_alias, 3600).get()
    limits = ExtractionLimits.from_settings(settings)
    results = await ResultStore.open(settings)
    async with BlobStore.from_settings(settings) as blobs:
        started = time.perf_counter()
        for i, pdf in enumerate(pdfs):
            data = pdf.read_bytes()
            text = extract_text(data, limits).text
            prediction = predictor.predict(text)
            doc = {
                "id": f"bench-{i}",
                "tenantId": "bench",
                "fileId": f"bench-{i}",
                "jobId": f"bench-{i}",
                "jobQueuedAt": str(time.time()),
                **structure_entities(prediction.entities, text),
            }
            await blobs.upload(
                settings.artifacts_container,
                f"bench/{i}/result.json",
                json.dumps(doc).encode(),
                content_type="application/json",
            )
            await results.upsert_latest(doc)
        elapsed = time.perf_counter() - started
    await results.close()
    return {
        "n": len(pdfs),
        "per_s": round(len(pdfs) / elapsed, 2),
        "ms_per_resume": round(elapsed / len(pdfs) * 1000, 1),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    info = up(args.state_dir, quiet=True, timeout=120)
    os.environ.update(info.env)
    settings = Settings()
    key = json.loads((args.state_dir / "credentials.json").read_text())["api_key"]
    pdfs = _pdfs(args.n)
    small = [FIXTURE_PDF] * args.n
    report: dict[str, Any] = {"cores": os.cpu_count(), "n": args.n}
    async with httpx.AsyncClient(base_url=info.env["VITAE_API_URL"], headers={"X-API-Key": key}, timeout=120) as http:
        await saturated(http, pdfs[:4], 4)  # warm-up: model loaded, pools started
        report["worker_rss_mb_start"] = round(_rss_mb(args.state_dir, "worker"), 1)
        report["steady_real"] = []
        for rate in args.rates:
            before = _service_cpu(args.state_dir)
            phase = await steady_rate(http, pdfs, rate)
            phase["cpu_ms_per_resume"] = _cpu_per_resume(before, _service_cpu(args.state_dir), len(pdfs))
            report["steady_real"].append(phase)
        before = _service_cpu(args.state_dir)
        report["steady_small"] = await steady_rate(http, small, 5.0)
        report["steady_small"]["cpu_ms_per_resume"] = _cpu_per_resume(before, _service_cpu(args.state_dir), len(small))
        report["saturated"] = await saturated(http, pdfs, args.concurrency)
        report["bare_loop"] = await bare_loop(settings, pdfs)
        report["throughput_ratio"] = round(report["saturated"]["per_s"] / report["bare_loop"]["per_s"], 2)
        if args.soak:
            # In chunks, with the worker's RSS after each: growth shows as a trend, not a point.
            chunk = max(1, args.soak // 8)
            done, per_s, rss = 0, [], []
            while done < args.soak:
                step = min(chunk, args.soak - done)
                per_s.append((await saturated(http, [FIXTURE_PDF] * step, args.concurrency))["per_s"])
                done += step
                rss.append((done, round(_rss_mb(args.state_dir, "worker"), 1)))
            report["soak"] = {"n": done, "per_s": round(statistics.fmean(per_s), 2), "worker_rss_mb": rss}
        report["worker_rss_mb_end"] = round(_rss_mb(args.state_dir, "worker"), 1)
    return report


def _fmt_cpu(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {ms:g}" for name, ms in cpu.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40, help="resumes per phase")
    parser.add_argument(
        "--rates",
        type=lambda v: [float(x) for x in v.split(",")],
        default=[1.0, 5.0],
        help="arrival rates (per second) of the steady phases with real PDFs, e.g. 1,5",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="in-flight uploads in the saturated phase")
    parser.add_argument("--soak", type=int, default=0, help="then push this many small resumes; worker RSS after")
    parser.add_argument("--state-dir", type=Path, default=Path(".vitae-bench"))
    args = parser.parse_args()
    args.state_dir = args.state_dir.resolve()
    report = asyncio.run(main_async(args))
    for s in report["steady_real"]:
        print(
            f"real PDFs, steady {s['rate_per_s']}/s x {s['n']}: upload→result p50 {s['p50_ms']} ms,"
            f" p95 {s['p95_ms']} ms ({s['failed']} failed)"
        )
        print(f"  CPU ms per resume by service: {_fmt_cpu(s['cpu_ms_per_resume'])}")
    s = report["steady_small"]
    print(f"1-page PDF, steady 5/s x {s['n']} (orchestration + stores): p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms")
    print(f"  CPU ms per resume by service: {_fmt_cpu(s['cpu_ms_per_resume'])}")
    sat, bare = report["saturated"], report["bare_loop"]
    print(
        f"throughput, {args.concurrency} in flight: {sat['per_s']} resumes/s; bare in-process loop:"
        f" {bare['per_s']} resumes/s ({bare['ms_per_resume']} ms each); ratio {report['throughput_ratio']}"
    )
    if "soak" in report:
        trend = ", ".join(f"{n}: {mb}" for n, mb in report["soak"]["worker_rss_mb"])
        soak = report["soak"]
        print(f"soak: {soak['n']} resumes at {soak['per_s']}/s; worker RSS MB after n resumes: {trend}")
    print(f"worker RSS: {report['worker_rss_mb_start']} MB → {report['worker_rss_mb_end']} MB")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
