from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from model_runtime.data import LabeledDoc, default_data_dir
from model_runtime.entities import LABELS
from model_runtime.link_sites import unmarked_link_sites
from model_runtime.predictor import ResumePredictor
from model_runtime.rules import OTHER_SITE, link_site
from model_runtime.structure import structure_entities
from model_runtime.synth import generate_corpus
from model_runtime.training import TrainConfig, TrainResult, load_corpus

INDEED = "indeed.com/r/Jane-Example/0a1b2c3d"
WRAPPED_GITHUB = "github.com/jane-\nexample"
LINKEDIN = "www.linkedin.com/in/jane-example"


def _doc(
    doc_id: str, *, marked: list[str], unmarked: list[str], annotated: frozenset[str] = frozenset(LABELS)
) -> LabeledDoc:
    text = "Jane Example\n"
    spans = []
    for url in marked:
        spans.append(("LINK", len(text), len(text) + len(url)))
        text += url + "\n"
    for url in unmarked:
        text += url + "\n"
    return LabeledDoc(doc_id, text, spans, annotated, "test")


def test_link_site_is_the_profile_site_or_other() -> None:
    assert link_site("https://in.linkedin.com/in/jane") == "linkedin.com"
    assert link_site(INDEED) == "indeed.com"
    assert link_site("janeexample.dev/portfolio") == OTHER_SITE
    # A host that merely ends like a profile site is not on it.
    assert link_site("notlinkedin.com/in/jane") == OTHER_SITE


def test_sites_the_labels_leave_unmarked_are_learned() -> None:
    docs = [
        _doc("a", marked=[INDEED], unmarked=[LINKEDIN]),
        _doc("b", marked=[INDEED], unmarked=[LINKEDIN, "github.com/janeex"]),
        _doc("c", marked=[INDEED, "github.com/jex"], unmarked=["janeexample.dev/cv"]),
        # The same site twice in one document is one observation, marked if either link is.
        _doc("d", marked=["janeexample.dev/a"], unmarked=["janeexample.dev/b", INDEED]),
    ]
    # LinkedIn: 0 of 2 marked. GitHub and other sites: 1 of 2 (a tie keeps them). Indeed: 3 of 4.
    assert unmarked_link_sites(docs) == ["linkedin.com"]
    assert unmarked_link_sites([*docs, _doc("e", marked=[], unmarked=["janeexample.dev/c"])]) == [
        "linkedin.com",
        OTHER_SITE,
    ]
    # A document not annotated for links says nothing about them.
    partial = _doc("p", marked=[], unmarked=[INDEED], annotated=frozenset({"SKILL"}))
    assert unmarked_link_sites([partial] * 5 + docs) == ["linkedin.com"]


def test_generated_training_data_marks_every_link() -> None:
    assert unmarked_link_sites(generate_corpus(60, seed=13)) == []


@pytest.mark.skipif(not (default_data_dir() / "dataturks").is_dir(), reason="needs ../shared/data")
def test_the_dev_data_marks_indeed_profiles_and_not_linkedin() -> None:
    train, _extra, _test, source, *_ = load_corpus(None, TrainConfig(), 13)
    assert source == "shared-data"
    unmarked = unmarked_link_sites(train)
    assert "linkedin.com" in unmarked and "github.com" in unmarked
    assert "indeed.com" not in unmarked


def test_predictor_leaves_unmarked_sites_out_and_the_result_keeps_them(
    tiny_result: TrainResult, tmp_path: Path
) -> None:
    text = f"Jane Example\n{INDEED}\n{LINKEDIN}\njane@example.com\n\nSKILLS\nPython, SQL\n\n{WRAPPED_GITHUB}\n"
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_result.model_dir, model_dir)
    assert json.loads((model_dir / "metadata.json").read_text())["unmarked_link_sites"] == []

    def links(predictor: ResumePredictor) -> list[str]:
        return [e.text for e in predictor.predict(text).entities if e.label == "LINK"]

    assert links(ResumePredictor.load(model_dir, name="t", version="1")) == [INDEED, LINKEDIN, WRAPPED_GITHUB]
    meta = json.loads((model_dir / "metadata.json").read_text())
    unmarked = {**meta, "unmarked_link_sites": ["github.com", "linkedin.com"]}
    (model_dir / "metadata.json").write_text(json.dumps(unmarked))
    predictor = ResumePredictor.load(model_dir, name="t", version="2")
    entities = predictor.predict(text).entities
    assert [e.text for e in entities if e.label == "LINK"] == [INDEED]
    # The unmarked link's text is still taken: nothing else is read into it.
    start = text.index(LINKEDIN)
    assert not [e for e in entities if e.start < start + len(LINKEDIN) and e.end > start]
    # The result document lists all of the candidate's links, in text order, unwrapped.
    assert structure_entities(entities, text)["contact"]["links"] == [INDEED, LINKEDIN, "github.com/jane-example"]
    assert structure_entities(entities)["contact"]["links"] == [INDEED]
