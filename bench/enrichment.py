"""compatibility.v1 benchmark: MiniLM export, embedding and per-pair scoring cost, fp32 vs int8.

    .venv/bin/python -m bench.enrichment [--repeats 20] [--json]

Reports the ONNX export time (into a fresh temp cache), milliseconds per embedded text (a short
sentence and a full 256-token window), milliseconds per scored (job, CV) pair with 1 and 2
onnxruntime threads, and the int8 model's cosine to fp32 over the benchmark texts. Skills come
from a tiny extraction model trained on the generated corpus (the production model's cost per
token is the same order). Only numbers are printed, never text. Timings depend on machine load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from enrichers.compatibility import CompatibilityScorer, model_skill_extractor
from enrichers.minilm import MiniLmEncoder, export_onnx, load_tokenizer
from model_runtime.predictor import ResumePredictor
from model_runtime.training import TrainConfig, train_model

JOB = (
    "Senior Backend Engineer\n"
    "We are a payments company building reliable, observable services. You will design and run REST APIs "
    "in Python (FastAPI) on PostgreSQL, operate them on Kubernetes in AWS, and own event-driven flows on Kafka. "
    "You care about testing, code review and mentoring; experience with Temporal, Terraform and Docker helps. "
    "We value clear communication, pragmatic design and a calm on-call rotation. "
) * 2
CV = (
    "SUMMARY\nBackend engineer with eight years of experience in Python services, data modelling and cloud "
    "operations. Led a team of four engineers and ran the on-call rotation.\n"
    "EXPERIENCE\nSenior Software Engineer, 2020 – present. Built FastAPI microservices on PostgreSQL; moved "
    "batch jobs to Kafka consumers; deployed with Docker and Helm on Kubernetes (EKS, AWS); Terraform for "
    "infrastructure; cut p95 latency by 40 percent. Software Engineer, 2016 – 2020. Django applications, "
    "Celery workers, Redis caching, PostgreSQL tuning and Jenkins pipelines; mentored two interns.\n"
    "SKILLS\nPython, Django, FastAPI, PostgreSQL, Redis, Kafka, Docker, Kubernetes, AWS, Terraform, Git, Linux\n"
    "EDUCATION\nBSc Computer Science, 2016\n"
) * 2
SENTENCES = [
    "Backend engineer, Python and PostgreSQL.",
    "ok",
    "Pastry chef baking bread every morning.",
    "Led a team of four engineers and ran the on-call rotation.",
    JOB,
    CV,
]


def _ms(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    fn()  # warm-up
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"p50": round(statistics.median(samples), 1), "p90": round(samples[int(0.9 * (len(samples) - 1))], 1)}


def _fresh_score(encoder: MiniLmEncoder, extract: Callable[[str], set[str]]) -> object:
    return CompatibilityScorer(encoder, extract).score(JOB, CV)


def run(repeats: int) -> dict[str, Any]:
    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        started = time.perf_counter()
        export_onnx(cache)
        report["export_fp32_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        export_onnx(cache, quantized=True)
        report["export_int8_s"] = round(time.perf_counter() - started, 2)
        tiny = train_model(
            cache / "tiny",
            data_dir=cache / "no-data",
            config=TrainConfig(epochs=3, n_buckets=1 << 16, generated_docs=120),
        )
        predictor = ResumePredictor.load(tiny.model_dir, name="bench", version="1")
        extract = model_skill_extractor(lambda: predictor)
        report["extract_ms_per_pair"] = _ms(lambda: (extract(JOB), extract(CV)), repeats)
        tokenizer = load_tokenizer()
        report["tokens"] = {"job": len(tokenizer.encode(JOB).ids), "cv_first_window": len(tokenizer.encode(CV).ids)}
        vectors: dict[str, np.ndarray] = {}
        for variant, quantized in (("fp32", False), ("int8", True)):
            for threads in (1, 2):
                encoder = MiniLmEncoder(export_onnx(cache, quantized=quantized), tokenizer, threads=threads)
                scorer = CompatibilityScorer(encoder, extract)
                key = f"{variant}_t{threads}"
                report[key] = {
                    "embed_short_ms": _ms(partial(encoder.embed, [SENTENCES[0]]), repeats),
                    "embed_256_ms": _ms(partial(encoder.embed, [CV]), repeats),
                    # A fresh scorer per call: nothing cached, the full cost of a new job.
                    "score_pair_ms": _ms(partial(_fresh_score, encoder, extract), repeats),
                    # The job seen before (its embedding and skills cached): the common case.
                    "score_pair_cached_job_ms": _ms(partial(scorer.score, JOB, CV), repeats),
                }
                vectors[variant] = np.stack([encoder.embed_document(t) for t in SENTENCES])
        cosines = np.sum(vectors["fp32"] * vectors["int8"], axis=1)
        report["int8_vs_fp32_cosine"] = {"min": round(float(cosines.min()), 4), "mean": round(float(cosines.mean()), 4)}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run(args.repeats)
    if args.json:
        print(json.dumps(report))
        return
    for key, value in report.items():
        print(f"{key:24} {value}")


if __name__ == "__main__":
    main()
