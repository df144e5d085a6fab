"""compatibility.v1 scoring on invented job ads and CVs."""

from __future__ import annotations

from enrichers.compatibility import (
    CompatibilityScorer,
    calibrate_cosine,
    compute,
    model_skill_extractor,
    taxonomy_skills,
)
from enrichers.minilm import MiniLmEncoder
from model_runtime.predictor import ResumePredictor

JOB = (
    "Senior Backend Engineer\n"
    "We build payment services in Python on PostgreSQL and Kubernetes. You will design REST APIs, "
    "run Docker containers in AWS and mentor engineers. Kafka experience is a plus."
)
STRONG_CV = (
    "Jane Roe\njane.roe@example.com\n+44 20 7946 0000\n"
    "Backend engineer, 8 years. Built Python microservices on PostgreSQL, deployed with Docker on "
    "Kubernetes in AWS; event streaming with Kafka. Mentored junior developers. Also knows Tableau."
)
PARTIAL_CV = (
    "John Smith\nFrontend developer building React and TypeScript applications; some Python scripting "
    "and Docker for local development."
)
UNRELATED_CV = "Mary Major\nPastry chef. Ten years baking bread and croissants; managed a bakery kitchen team."


def test_taxonomy_scan_finds_aliases_but_not_everyday_words() -> None:
    found = taxonomy_skills("Python 3 and k8s; CI/CD with Node.js. Ready to go, you excel at REST.")
    assert {"python", "kubernetes", "ci/cd", "node.js"} <= found
    assert not {"go", "excel", "rest"} & found


def test_scores_order_candidates_and_summary_names_job_skills_only(encoder: MiniLmEncoder) -> None:
    scorer = CompatibilityScorer(encoder, taxonomy_skills)
    strong, partial, unrelated = (scorer.score(JOB, cv) for cv in (STRONG_CV, PARTIAL_CV, UNRELATED_CV))
    for result in (strong, partial, unrelated):
        assert 0.0 <= result.score <= 100.0
    assert strong.score > partial.score > unrelated.score
    assert strong.score >= 70 and unrelated.score <= 15

    assert {"python", "postgresql", "kubernetes", "kafka", "docker", "aws"} <= set(strong.matched)
    assert "Matched" in strong.summary and "python" in strong.summary
    assert set(partial.missing) >= {"postgresql", "kubernetes"}
    assert "Missing:" in partial.summary and "kubernetes" in partial.summary
    assert "None of the" in unrelated.summary and "unrelated" in unrelated.summary
    # No personal data, and no CV-only skill, reaches the summary.
    for text in (strong.summary, partial.summary, unrelated.summary):
        for private in ("Jane", "Roe", "example.com", "7946", "John", "Mary", "tableau", "react"):
            assert private.lower() not in text.lower()


def test_job_without_known_skills_scores_on_similarity_alone(encoder: MiniLmEncoder) -> None:
    scorer = CompatibilityScorer(encoder, taxonomy_skills)
    result = scorer.score("Baker\nEarly mornings, bread and pastry.", UNRELATED_CV)
    assert result.coverage is None and "no recognised skills" in result.summary
    assert result.score == round(100 * calibrate_cosine(result.cosine), 1) > 30


def test_production_model_skills_feed_the_score(encoder: MiniLmEncoder, tiny_predictor: ResumePredictor) -> None:
    extract = model_skill_extractor(lambda: tiny_predictor)
    assert "python" in extract("SKILLS\nPython, Django, PostgreSQL")
    run = compute(CompatibilityScorer(encoder, extract))
    result = run({"job": {"title": "Backend Engineer", "description": JOB}, "cv": {"text": STRONG_CV}})
    assert 0 <= result.score <= 100 and "python" in result.summary
