"""``vitae extract`` and ``vitae model evaluate`` against a real (SQLite) MLflow registry."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from model_runtime.entities import Entity, Prediction
from model_runtime.evaluation import evaluation_report, load_eval_docs
from model_runtime.promotion import EvalSet
from model_runtime.registry import ModelRegistry, registry_from_settings
from model_runtime.training import TrainResult
from vitae.cli import main
from vitae.settings import get_settings

from .conftest import MemoryGovernance, promote_for_test, tiny_model

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

RESUME = (
    "Asha Rao\r\n"
    "Senior Software Engineer - Acme Corp\n"
    "asha.rao@example.com | +1 415 555 0100 | linkedin.com/in/asha-rao\n"
    "Skills: Python, SQL, Kubernetes\n"
    "B.Tech, Example Institute of Technology, 2015\n"
)


@pytest.fixture()
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_store: Path) -> Iterator[ModelRegistry]:
    """Settings pointing at a fresh registry under ``tmp_path`` (what every CLI command uses)."""
    for key in ("VITAE_MLFLOW_TRACKING_URI", "VITAE_MLFLOW_ARTIFACT_ROOT", "VITAE_MODEL_NAME", "VITAE_MODEL_ALIAS"):
        monkeypatch.delenv(key, raising=False)
    state = tmp_path / "state"
    (state / "mlflow").mkdir(parents=True)
    shutil.copy(empty_store, state / "mlflow" / "mlflow.db")
    monkeypatch.setenv("VITAE_STATE_DIR", str(state))
    get_settings.cache_clear()  # settings are cached per process
    yield registry_from_settings(get_settings())
    get_settings.cache_clear()


@pytest.fixture()
def served(stack: ModelRegistry, tiny_result: TrainResult, tiny_eval: EvalSet) -> ModelRegistry:
    # No PostgreSQL here: the audit trail is the in-memory store (test_promotion.py covers SQL).
    stack.governance = MemoryGovernance()
    ref = stack.register(tiny_result)
    promote_for_test(stack, ref, tiny_eval, alias=get_settings().model_alias)
    return stack


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_extract_text_offsets_are_exact(
    served: ModelRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "resume.txt"
    path.write_bytes(RESUME.encode("utf-8"))
    code, out = _run(capsys, "extract", "--format", "jsonl", str(path))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert set(obj) == {"source", "text_length", "model", "entities"}
    assert obj["source"] == str(path)
    assert obj["text_length"] == len(RESUME)  # "\r\n" kept: offsets index the file as read
    assert obj["model"] == {"name": get_settings().model_name, "version": "1"}
    assert obj["entities"]
    for ent in obj["entities"]:
        assert set(ent) == {"label", "text", "start", "end", "confidence"}
        assert RESUME[ent["start"] : ent["end"]] == ent["text"]
        assert 0.0 <= ent["confidence"] <= 1.0
    found = {(e["label"], e["text"]) for e in obj["entities"]}
    assert ("EMAIL", "asha.rao@example.com") in found
    assert ("LINK", "linkedin.com/in/asha-rao") in found
    email = next(e for e in obj["entities"] if e["label"] == "EMAIL")
    assert email["start"] == RESUME.index("asha.rao@")


def test_extract_fields_are_the_result_documents_grouping(
    served: ModelRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from model_runtime.structure import structure_entities

    path = tmp_path / "resume.txt"
    path.write_bytes(RESUME.encode("utf-8"))
    code, out = _run(capsys, "extract", "--fields", "--format", "jsonl", str(path))
    assert code == 0
    obj = json.loads(out)
    prediction = served.load(served.get_version("1")).predict(RESUME)
    assert obj["fields"] == json.loads(json.dumps(structure_entities(prediction.entities, RESUME)))
    assert "asha.rao@example.com" in obj["fields"]["contact"]["emails"]


def test_extract_pdfs_and_errors(served: ModelRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = FIXTURES / "resume_ok.pdf"
    bad = FIXTURES / "malformed.pdf"
    missing = tmp_path / "nope.txt"
    code, out = _run(capsys, "extract", str(bad), str(good), str(missing))
    assert code == 1  # some inputs failed; the others were still processed
    decoder = json.JSONDecoder()
    objs: list[dict[str, Any]] = []
    pos = 0
    while pos < len(out.rstrip()):
        obj, pos = decoder.raw_decode(out, pos)
        objs.append(obj)
        while pos < len(out) and out[pos].isspace():
            pos += 1
    assert [o["source"] for o in objs] == [str(bad), str(good), str(missing)]
    assert objs[0]["error"]["code"] == "PDF_MALFORMED" and "entities" not in objs[0]
    assert objs[2]["error"]["code"] == "FILE_NOT_FOUND"
    ok = objs[1]
    assert ok["text_length"] > 0 and ok["model"]["version"] == "1"
    assert all(0 <= e["start"] < e["end"] <= ok["text_length"] for e in ok["entities"])


def test_extract_without_production_model(stack: ModelRegistry, tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_text("x", encoding="utf-8")
    assert main(["extract", str(path)]) == 2


# --- evaluation ---------------------------------------------------------------------------------

TINY_SET = [
    # doc 1: NAME right, one of two skills found, a wrong company predicted.
    {
        "content": "Asha Rao\nSkills: Python, SQL\n",
        "annotation": [
            {"label": ["Name"], "points": [{"start": 0, "end": 7, "text": "Asha Rao"}]},
            {"label": ["Skills"], "points": [{"start": 17, "end": 27, "text": "Python, SQL"}]},
        ],
    },
    # doc 2: name missed; the company found.
    {
        "content": "Ravi Kumar\nEngineer at Globex\n",
        "annotation": [
            {"label": ["Name"], "points": [{"start": 0, "end": 9, "text": "Ravi Kumar"}]},
            {"label": ["Companies worked at"], "points": [{"start": 23, "end": 28, "text": "Globex"}]},
        ],
    },
]


class _FixedPredictor:
    """Returns canned entities per document (found by their text)."""

    def __init__(self, answers: dict[str, list[tuple[str, str]]]) -> None:
        self.answers = answers

    def predict(self, text: str) -> Prediction:
        ents = []
        for label, value in self.answers.get(text, []):
            start = text.index(value)
            ents.append(Entity(label, value, start, start + len(value), 1, 1.0, "model"))
        return Prediction("fixed", "0", ents)


def _write_set(path: Path) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in TINY_SET), encoding="utf-8")
    return path


def test_evaluation_numbers_on_hand_made_set(tmp_path: Path) -> None:
    docs, repair = load_eval_docs(_write_set(tmp_path / "tiny.jsonl"))
    assert len(docs) == 2 and repair["dropped"] == 0
    predictor = _FixedPredictor(
        {
            TINY_SET[0]["content"]: [("NAME", "Asha Rao"), ("SKILL", "Python"), ("COMPANY", "SQL")],  # type: ignore[dict-item]
            TINY_SET[1]["content"]: [("COMPANY", "Globex"), ("DESIGNATION", "Engineer")],  # type: ignore[dict-item]
        }
    )
    report = evaluation_report(predictor, docs)
    labels = report["labels"]
    assert report["documents"] == 2
    assert labels["NAME"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2, "tp": 1, "fp": 0, "fn": 1}
    assert labels["SKILL"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2, "tp": 1, "fp": 0, "fn": 1}
    assert labels["COMPANY"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1, "tp": 1, "fp": 1, "fn": 0}
    assert labels["DESIGNATION"]["fp"] == 1 and labels["DESIGNATION"]["f1"] == 0.0
    assert labels["GRADUATION_YEAR"]["support"] == 0
    # micro: tp 3, fp 2, fn 2 -> P 0.6, R 0.6
    assert report["micro"] == {"precision": 0.6, "recall": 0.6, "f1": 0.6, "support": 5, "tp": 3, "fp": 2, "fn": 2}
    assert next(iter(labels)) == "NAME"  # canonical label order


def test_model_evaluate_refuses_a_malformed_file_in_one_line(
    served: ModelRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _write_set(tmp_path / "tiny.jsonl")
    data.write_text(data.read_text(encoding="utf-8") + '{"content": "cut off\n', encoding="utf-8")
    code = main(["model", "evaluate", "--data", str(data)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "tiny.jsonl:3: not a JSON object" in err and "Traceback" not in err


def test_model_evaluate_cli(
    served: ModelRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_result: TrainResult
) -> None:
    data = _write_set(tmp_path / "tiny.jsonl")
    code, out = _run(capsys, "model", "evaluate", "--data", str(data), "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["production"] is None  # evaluating production itself: nothing to compare
    cand = summary["candidate"]
    assert cand["version"] == "1" and summary["data"]["documents"] == 2
    micro = cand["report"]["micro"]
    assert micro["support"] == 5
    totals = [sum(row[k] for row in cand["report"]["labels"].values()) for k in ("tp", "fp", "fn")]
    assert totals == [micro["tp"], micro["fp"], micro["fn"]]

    v2 = served.register(tiny_model(tmp_path / "v2" / "model", seed=5))
    code, out = _run(capsys, "model", "evaluate", "--data", str(data), "--version", v2.version, "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["candidate"]["version"] == "2"
    assert summary["production"]["version"] == "1" and summary["production"]["alias"] == "production"
    assert set(summary["production"]["report"]["labels"]) == set(summary["candidate"]["report"]["labels"])

    code, out = _run(capsys, "model", "evaluate", "--data", str(data), "--version", "2")
    assert code == 0
    lines = out.splitlines()
    assert "candidate v2 vs production v1" in lines[0]
    assert lines[1].split() == ["label", "support", "P", "R", "F1", "prodF1", "delta"]
    assert lines[-1].split()[0] == "micro"
