"""``compatibility.v1``: how well a CV fits a job, as a 0–100 score and a short summary.

Two signals, both cheap enough for well under 100 ms per pair (``python -m bench.enrichment``):

* **Semantic similarity**: cosine of the MiniLM embeddings of the job text (title +
  description) and the CV text (each the mean of its 128-token windows). all-MiniLM-L6-v2
  cosines are not probabilities: unrelated texts land around 0.0–0.2, same-field job/CV pairs
  around 0.4–0.65 and near-paraphrases above 0.7. ``calibrate_cosine`` maps that linearly from
  ``COS_FLOOR`` (→ 0) to ``COS_CEILING`` (→ 1), clipped, so a typical same-field pair lands
  mid-scale and the score is not dominated by the model's positive bias. (The bounds were
  0.15/0.65 with 256-token windows; 128-token windows give cosines ~0.04 higher at every
  quantile over SkillSpan postings × dataturks CVs, so both moved up by 0.04.)
* **Skill coverage**: skills of the job that the CV also has. Skills come from the production
  resume extraction model (SKILL entities) plus a scan for the taxonomy's unambiguous aliases
  (the model is trained on CVs and misses skills in job-ad prose), all normalised to the
  taxonomy's canonical names so "k8s" matches "Kubernetes".

``score = 100 × (SEMANTIC_WEIGHT × semantic + SKILL_WEIGHT × coverage)``; with no skill found in
the job only the semantic part counts. The summary names only skills found in the *job* text
(matched and missing), never CV-only content, so it carries no personal data from the CV.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from enrichers.minilm import MiniLmEncoder
from enrichers.worker import Result
from model_runtime.skills_taxonomy import ALIASES
from model_runtime.structure import normalize_skill
from vitae.settings import Settings

ENRICHER_TYPE = "compatibility.v1"

COS_FLOOR = 0.19
COS_CEILING = 0.69
SEMANTIC_WEIGHT = 0.5
SKILL_WEIGHT = 0.5
# How many skill names the summary lists (the rest are counted).
_LIST_LIMIT = 8

# Taxonomy aliases that are also everyday English (or single letters): in prose they would be
# false hits ("ready to go", "excel at", "a REST day"), so the scan leaves them to the model,
# which tags skills from context.
_SCAN_SKIP = frozenset(
    {
        "c", "r", "go", "sh", "ts", "py", "dl", "vb", "net", "ppt", "word", "rest", "shell", "spring", "express",
        "swift", "rust", "node", "elastic", "torch", "outlook", "excel", "spark", "rails", "hive", "oracle", "kube",
    }
)  # fmt: skip


class Encoder(Protocol):
    def embed_document(self, text: str) -> np.ndarray: ...


SkillExtractor = Callable[[str], set[str]]


def _scan_text(text: str) -> str:
    # The same folding as the taxonomy's canonical_key, applied to running text.
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"(?<=\w)[-_](?=\w)", " ", text)
    return " ".join(text.split())


def _build_scanner() -> re.Pattern[str]:
    aliases = sorted((a for a in ALIASES if a not in _SCAN_SKIP), key=len, reverse=True)
    alternation = "|".join(re.escape(a) for a in aliases)
    return re.compile(rf"(?<![\w+#./])(?:{alternation})(?![\w+#])")


_SCANNER = _build_scanner()


def taxonomy_skills(text: str) -> set[str]:
    """Canonical names of the taxonomy skills mentioned in ``text`` (unambiguous aliases only)."""
    return {ALIASES[m.group(0)] for m in _SCANNER.finditer(_scan_text(text))}


def model_skill_extractor(predictor: Callable[[], Any]) -> SkillExtractor:
    """Skills from the production model (``predictor()`` → ``ResumePredictor``, e.g.
    ``ProductionModel.get``: called per text so an alias move is picked up) plus the scan."""

    def extract(text: str) -> set[str]:
        entities = predictor().predict(text).entities
        found = {normalize_skill(e.text) for e in entities if e.label == "SKILL"}
        return {s for s in found if s} | taxonomy_skills(text)

    return extract


def calibrate_cosine(cosine: float, floor: float = COS_FLOOR, ceiling: float = COS_CEILING) -> float:
    return float(np.clip((cosine - floor) / (ceiling - floor), 0.0, 1.0))


@dataclass(frozen=True)
class Compatibility:
    score: float  # 0–100, one decimal
    summary: str
    cosine: float
    semantic: float  # calibrated 0–1
    coverage: float | None  # matched / job skills; None when the job names no skill
    matched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _listing(skills: Iterable[str]) -> str:
    names = sorted(skills)
    shown = ", ".join(names[:_LIST_LIMIT])
    return shown + (f" and {len(names) - _LIST_LIMIT} more" if len(names) > _LIST_LIMIT else "")


def _relatedness(semantic: float) -> str:
    if semantic >= 0.7:
        return "closely related to"
    if semantic >= 0.4:
        return "moderately related to"
    if semantic > 0.1:
        return "only loosely related to"
    return "largely unrelated to"


def summarise(score: float, semantic: float, matched: list[str], missing: list[str], cv_extra: int) -> str:
    sentences = [f"Compatibility {score:.0f}/100."]
    total = len(matched) + len(missing)
    if total:
        if matched:
            sentences.append(f"Matched {len(matched)} of {total} job skills: {_listing(matched)}.")
        else:
            sentences.append(f"None of the {total} job skills were found in the CV.")
        if missing:
            sentences.append(f"Missing: {_listing(missing)}.")
    else:
        sentences.append("The job description names no recognised skills; the score rests on overall similarity.")
    sentences.append(f"The CV's content is {_relatedness(semantic)} the job description.")
    if cv_extra:
        plural = "s" if cv_extra != 1 else ""
        sentences.append(f"The CV lists {cv_extra} further skill{plural} the job does not ask for.")
    return " ".join(sentences)


def combine(
    cosine: float, job_skills: set[str], cv_skills: set[str], *, bounds: tuple[float, float] = (COS_FLOOR, COS_CEILING)
) -> Compatibility:
    """The score and summary from the two signals (no model call: the cheap, final step).
    ``bounds``: the cosine calibration (another one only to compare configurations)."""
    semantic = calibrate_cosine(cosine, *bounds)
    matched = sorted(job_skills & cv_skills)
    missing = sorted(job_skills - cv_skills)
    coverage = len(matched) / len(job_skills) if job_skills else None
    raw = semantic if coverage is None else SEMANTIC_WEIGHT * semantic + SKILL_WEIGHT * coverage
    score = round(100.0 * min(max(raw, 0.0), 1.0), 1)
    summary = summarise(score, semantic, matched, missing, len(cv_skills - job_skills))
    return Compatibility(score, summary, cosine, semantic, coverage, matched, missing)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class TextFeatureCache:
    """LRU of (embedding, skills) by the text's sha256, safe to share between threads.

    The key is the content hash, not an id: the same job text in many runs (one job, many
    users' CVs; reruns) or the same CV text against many jobs hits, and a changed text never
    reads a stale entry. A miss is computed outside the lock; two threads missing the same
    text at once both compute it (same result), which is cheaper than serialising all misses.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.stats = CacheStats()
        self._entries: OrderedDict[str, tuple[np.ndarray, frozenset[str]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, text: str, compute: Callable[[str], tuple[np.ndarray, frozenset[str]]]
    ) -> tuple[np.ndarray, frozenset[str]]:
        key = hashlib.sha256(text.encode()).hexdigest()
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.stats.hits += 1
                return found
            self.stats.misses += 1
        value = compute(text)
        if self.size > 0:
            with self._lock:
                self._entries[key] = value
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class CompatibilityScorer:
    """Scores (job, CV) pairs, caching each text's embedding and skills.

    Embedding is nearly all of a pair's cost, and both sides repeat: one job is scored against
    many users' CVs (and again on reruns), one CV against many jobs. A pair with both texts
    cached costs a dot product and the summary.
    """

    def __init__(
        self, encoder: Encoder, skills: SkillExtractor, *, job_cache_size: int = 256, cv_cache_size: int = 1024
    ) -> None:
        self.encoder = encoder
        self.skills = skills
        self.jobs = TextFeatureCache(job_cache_size)
        self.cvs = TextFeatureCache(cv_cache_size)

    def _features(self, text: str) -> tuple[np.ndarray, frozenset[str]]:
        return self.encoder.embed_document(text), frozenset(self.skills(text))

    def score(self, job_text: str, cv_text: str) -> Compatibility:
        job_vec, job_skills = self.jobs.get(job_text, self._features)
        cv_vec, cv_skills = self.cvs.get(cv_text, self._features)
        return combine(float(np.dot(job_vec, cv_vec)), set(job_skills), set(cv_skills))


def job_text(snapshot: dict[str, Any]) -> str:
    """Title and description of the input snapshot's job (``vitae.enrichment.input/v1``)."""
    job = snapshot["job"]
    return f"{job.get('title') or ''}\n{job.get('description') or ''}".strip()


def compute(scorer: CompatibilityScorer) -> Callable[[dict[str, Any]], Result]:
    """The worker's ``Compute`` for this enricher."""

    def run(snapshot: dict[str, Any]) -> Result:
        result = scorer.score(job_text(snapshot), snapshot["cv"]["text"])
        return Result(result.score, result.summary)

    return run


def build_scorer(settings: Settings, *, threads: int = 2, quantized: bool = False) -> CompatibilityScorer:
    """The scorer as a worker process runs it: MiniLM from ``<state_dir>/enrichers`` and the
    registry's production extraction model (following its alias, like the resume worker).

    The encoder is int8 unless ``VITAE_COMPATIBILITY_ENCODER=fp32`` (``quantized`` forces int8:
    the ``--int8`` flag of ``vitae enrich-worker`` from before int8 became the default).
    """
    from model_runtime.registry import ProductionModel, registry_from_settings

    int8 = quantized or settings.compatibility_encoder == "int8"
    encoder = MiniLmEncoder.load(Path(settings.state_dir) / "enrichers", quantized=int8, threads=threads)
    model = ProductionModel(registry_from_settings(settings), settings.model_alias, settings.model_refresh_seconds)
    return CompatibilityScorer(encoder, model_skill_extractor(model.get))
