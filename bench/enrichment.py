"""compatibility.v1 benchmark: per-pair scoring cost and quality, fp32 vs int8, side by side.

    .venv/bin/python -m bench.enrichment [--repeats 8] [--jobs 6] [--cvs 20] [--json]

One run, so ratios are comparable on a noisy shared machine. Every configuration is timed in
the same rounds (round-robin, not one after the other), and both the median and the minimum are
reported: the minimum is the cost without interference from other processes.

* **cost per (job, CV) pair** for fp32 and int8 MiniLM with 1 and 2 onnxruntime threads, plus
  fp32 with the previous 256-token windows: *cold* (nothing cached: job and CV embedded,
  skills extracted), *warm* (the job seen before: its embedding and skills cached, the common
  case: one job, many users' CVs), *hot* (both cached: the same CV against another run of the
  job) and *long* (cold, a ~1,100-token CV: the window cap bounds it). The pair is a 200-token
  job ad and a 372-token CV.
* **quality**: int8 against fp32 over the benchmark texts — the cosine of each document's
  embeddings, and the score difference of every (job, CV) pair — and the default configuration
  against the previous one (fp32, 256-token windows, its cosine calibration): score difference
  and rank correlation.
  Texts: the built-in pair plus, when ``../shared/data`` is present, SkillSpan job postings and
  dataturks CVs (only numbers are printed, never text).

Skills come from a tiny extraction model trained on the generated corpus (the production
model's cost per token is the same order).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from enrichers.compatibility import COS_CEILING, COS_FLOOR, CompatibilityScorer, combine, model_skill_extractor
from enrichers.minilm import MiniLmEncoder, export_onnx, load_tokenizer
from model_runtime.predictor import ResumePredictor
from model_runtime.training import TrainConfig, train_model

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

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
LONG_CV = CV * 3
SHORT_TEXTS = [
    "Backend engineer, Python and PostgreSQL.",
    "ok",
    "Pastry chef baking bread every morning.",
    "Led a team of four engineers and ran the on-call rotation.",
]


@dataclass(frozen=True)
class Config:
    name: str
    quantized: bool
    threads: int
    window_tokens: int = 128
    window_stride: int = 16


CONFIGS = [
    Config("fp32-w256 t2 (previous)", quantized=False, threads=2, window_tokens=256, window_stride=32),
    Config("fp32 t1", quantized=False, threads=1),
    Config("fp32 t2", quantized=False, threads=2),
    Config("int8 t1", quantized=True, threads=1),
    Config("int8 t2 (default)", quantized=True, threads=2),
]
PREVIOUS, DEFAULT = CONFIGS[0].name, CONFIGS[-1].name
# The cosine calibration that went with the previous configuration's 256-token windows.
PREVIOUS_BOUNDS = (0.15, 0.65)
CASES = ("cold", "warm", "hot", "long")


def _job_postings(limit: int) -> list[str]:
    """SkillSpan test postings (MIT), rebuilt from their tokens; the longer ones first."""
    path = SHARED_DATA / "skillspan" / "json" / "test.json"
    if limit <= 0 or not path.is_file():
        return []
    postings: dict[int, list[str]] = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        postings.setdefault(row["idx"], []).append(" ".join(row["tokens"]))
    texts = ["\n".join(sentences) for sentences in postings.values()]
    texts = [t for t in texts if len(t.split()) >= 150]
    return texts[:limit]


def _cvs(limit: int) -> list[str]:
    path = SHARED_DATA / "dataturks" / "resumes.jsonl"
    if limit <= 0 or not path.is_file():
        return []
    return [json.loads(line)["content"] for line in path.read_text().splitlines()[:limit]]


def _summary(samples: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(samples), 1), "min": round(min(samples), 1)}


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), for Spearman's rho."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values), dtype=float)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


def measure_costs(
    encoders: dict[str, MiniLmEncoder], extract: Callable[[str], set[str]], repeats: int
) -> dict[str, dict[str, dict[str, float]]]:
    samples: dict[str, dict[str, list[float]]] = {name: {case: [] for case in CASES} for name in encoders}
    scorers = {name: CompatibilityScorer(encoder, extract) for name, encoder in encoders.items()}
    for scorer in scorers.values():  # warm-up: first runs allocate onnxruntime's buffers
        scorer.score(JOB, CV)
        scorer.score(JOB, LONG_CV)
    for _ in range(repeats):
        for name, scorer in scorers.items():
            scorer.jobs.clear()
            scorer.cvs.clear()
            samples[name]["cold"].append(_timed(lambda s=scorer: s.score(JOB, CV)))  # type: ignore[misc]
            scorer.cvs.clear()  # the job stays cached
            samples[name]["warm"].append(_timed(lambda s=scorer: s.score(JOB, CV)))  # type: ignore[misc]
            samples[name]["hot"].append(_timed(lambda s=scorer: s.score(JOB, CV)))  # type: ignore[misc]
            scorer.jobs.clear()
            scorer.cvs.clear()
            samples[name]["long"].append(_timed(lambda s=scorer: s.score(JOB, LONG_CV)))  # type: ignore[misc]
    return {name: {case: _summary(values) for case, values in cases.items()} for name, cases in samples.items()}


def measure_quality(
    encoders: dict[str, MiniLmEncoder], extract: Callable[[str], set[str]], n_jobs: int, n_cvs: int
) -> dict[str, Any]:
    jobs = [JOB, *_job_postings(n_jobs - 1)]
    cvs = [CV, *_cvs(n_cvs - 1)]
    texts = jobs + cvs + SHORT_TEXTS
    skills = {t: extract(t) for t in jobs + cvs}
    vectors = {
        name: np.stack([encoders[name].embed_document(t) for t in texts]) for name in (PREVIOUS, "fp32 t2", DEFAULT)
    }
    scores: dict[str, np.ndarray] = {}
    for name, matrix in vectors.items():
        job_vecs, cv_vecs = matrix[: len(jobs)], matrix[len(jobs) : len(jobs) + len(cvs)]
        cosines = job_vecs @ cv_vecs.T
        pairs = [(j, c) for j in range(len(jobs)) for c in range(len(cvs))]
        bounds = PREVIOUS_BOUNDS if name == PREVIOUS else (COS_FLOOR, COS_CEILING)
        scores[name] = np.array(
            [combine(float(cosines[j, c]), skills[jobs[j]], skills[cvs[c]], bounds=bounds).score for j, c in pairs]
        )
    doc_cosine = np.sum(vectors["fp32 t2"] * vectors[DEFAULT], axis=1)
    int8_delta = np.abs(scores[DEFAULT] - scores["fp32 t2"])
    default_delta = np.abs(scores[DEFAULT] - scores[PREVIOUS])
    return {
        "texts": {"jobs": len(jobs), "cvs": len(cvs), "short": len(SHORT_TEXTS), "pairs": len(jobs) * len(cvs)},
        "int8_vs_fp32_cosine": {"min": round(float(doc_cosine.min()), 4), "mean": round(float(doc_cosine.mean()), 4)},
        "int8_vs_fp32_score_delta": {
            "mean": round(float(int8_delta.mean()), 2),
            "p95": round(float(np.percentile(int8_delta, 95)), 2),
            "max": round(float(int8_delta.max()), 2),
        },
        "int8_vs_fp32_rank_rho": round(_spearman(scores[DEFAULT], scores["fp32 t2"]), 4),
        "default_vs_previous_score_delta": {
            "mean": round(float(default_delta.mean()), 2),
            "p95": round(float(np.percentile(default_delta, 95)), 2),
            "max": round(float(default_delta.max()), 2),
        },
        "default_vs_previous_rank_rho": round(_spearman(scores[DEFAULT], scores[PREVIOUS]), 4),
        "score_mean": {name: round(float(values.mean()), 1) for name, values in scores.items()},
    }


def run(repeats: int, n_jobs: int, n_cvs: int) -> dict[str, Any]:
    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg_1m_start": round(os.getloadavg()[0], 2)}
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
        tokenizer = load_tokenizer()
        report["tokens"] = {
            "job": len(load_tokenizer(max_tokens=100_000).encode(JOB).ids),
            "cv": len(load_tokenizer(max_tokens=100_000).encode(CV).ids),
            "long_cv": len(load_tokenizer(max_tokens=100_000).encode(LONG_CV).ids),
        }
        encoders = {
            c.name: MiniLmEncoder(
                export_onnx(cache, quantized=c.quantized),
                tokenizer,
                threads=c.threads,
                window_tokens=c.window_tokens,
                window_stride=c.window_stride,
            )
            for c in CONFIGS
        }
        report["windows"] = {
            name: {"job": len(e.windows(JOB)), "cv": len(e.windows(CV)), "long_cv": len(e.windows(LONG_CV))}
            for name, e in encoders.items()
            if name in (PREVIOUS, DEFAULT)
        }
        started = time.perf_counter()
        report["extract_ms_per_pair"] = round(
            statistics.median(_timed(lambda: (extract(JOB), extract(CV))) for _ in range(max(3, repeats))), 1
        )
        report["pair_ms"] = measure_costs(encoders, extract, repeats)
        report["quality"] = measure_quality(encoders, extract, n_jobs, n_cvs)
    report["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    return report


def print_report(report: dict[str, Any]) -> None:
    print(
        f"{report['cpus']} cores, load {report['load_avg_1m_start']} → {report['load_avg_1m_end']};"
        f" export fp32 {report['export_fp32_s']} s, int8 {report['export_int8_s']} s;"
        f" skills {report['extract_ms_per_pair']} ms/pair"
    )
    print(f"tokens {report['tokens']}; windows {report['windows']}")
    print(f"\n{'ms per (job, CV) pair: p50 / min':34}" + "".join(f"{case:>16}" for case in CASES))
    for name, cases in report["pair_ms"].items():
        print(f"{name:34}" + "".join(f"{cases[c]['p50']:>9} / {cases[c]['min']:<5}" for c in CASES))
    q = report["quality"]
    print(f"\nquality over {q['texts']}")
    print(f"  int8 vs fp32 (same windows): document cosine {q['int8_vs_fp32_cosine']},")
    print(f"    |score difference| {q['int8_vs_fp32_score_delta']}, rank rho {q['int8_vs_fp32_rank_rho']}")
    print("  default (int8, 128-token windows) vs previous (fp32, 256-token windows):")
    print(
        f"    |score difference| {q['default_vs_previous_score_delta']}, rank rho {q['default_vs_previous_rank_rho']}"
    )
    print(f"  mean score {q['score_mean']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=8, help="timing rounds (all configurations per round)")
    parser.add_argument("--jobs", type=int, default=6, help="job texts for the quality comparison")
    parser.add_argument("--cvs", type=int, default=20, help="CV texts for the quality comparison")
    parser.add_argument("--json", action="store_true", help="print only the JSON report")
    args = parser.parse_args()
    report = run(args.repeats, args.jobs, args.cvs)
    if not args.json:
        print_report(report)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
