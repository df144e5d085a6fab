"""deploy/azureml: the endpoint, environment and blue/green deployment YAML pass azure-ai-ml's
own schema validation (offline), and the scoring script serves a trained model with the same
predictor and the same response shape as the local scoring server."""

from __future__ import annotations

import importlib.util
import json
import shutil
import warnings
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from model_runtime.predictor import ResumePredictor
from model_runtime.serving import payload
from model_runtime.training import TrainResult

from .scoring_support import RESUME

with warnings.catch_warnings():  # azure-ai-ml's schemas use marshmallow 3 APIs that warn about 4.0
    warnings.simplefilter("ignore")
    from azure.ai.ml import load_environment, load_online_deployment, load_online_endpoint
    from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint

pytestmark = [
    pytest.mark.filterwarnings("ignore::marshmallow.warnings.RemovedInMarshmallow4Warning"),
    pytest.mark.filterwarnings("ignore::marshmallow.warnings.ChangedInMarshmallow4Warning"),
]

REPO = Path(__file__).resolve().parents[2]
AZUREML = REPO / "deploy" / "azureml"


def test_endpoint_yaml_is_a_key_auth_managed_online_endpoint() -> None:
    endpoint = load_online_endpoint(AZUREML / "endpoint.yml")
    assert isinstance(endpoint, ManagedOnlineEndpoint)
    assert endpoint.name == "vitae-scoring" and endpoint.auth_mode == "key"


@pytest.mark.parametrize("color", ["blue", "green"])
def test_deployment_yaml_references_a_registry_model_and_the_scoring_script(color: str) -> None:
    deployment = load_online_deployment(AZUREML / f"{color}.yml")
    assert isinstance(deployment, ManagedOnlineDeployment)
    assert deployment.name == color
    assert deployment.endpoint_name == load_online_endpoint(AZUREML / "endpoint.yml").name
    raw = yaml.safe_load((AZUREML / f"{color}.yml").read_text())
    assert raw["model"].startswith("azureml:vitae-resume-ner:")  # a registered version, never a local path
    assert str(deployment.model).endswith(raw["model"].rsplit(":", 1)[1])
    code = (AZUREML / str(deployment.code_configuration.code)).resolve()
    assert code == REPO
    assert (code / deployment.code_configuration.scoring_script).resolve() == AZUREML / "score.py"
    assert deployment.environment_variables["VITAE_DEPLOYMENT_NAME"] == color
    assert deployment.liveness_probe is not None and deployment.readiness_probe is not None
    assert deployment.readiness_probe.failure_threshold == 3
    assert deployment.instance_type and deployment.instance_count >= 1
    assert deployment.request_settings.request_timeout_ms == 20000
    assert raw["environment"] == "azureml:vitae-scoring-env:1" and str(deployment.environment) == "vitae-scoring-env:1"


def test_environment_pins_the_inference_path_like_the_lock_file() -> None:
    environment = load_environment(AZUREML / "environment.yml")
    assert environment.name == "vitae-scoring-env" and environment.version == "1"
    conda = yaml.safe_load((AZUREML / "conda.yml").read_text())
    pins = dict(line.split("==") for item in conda["dependencies"] if isinstance(item, dict) for line in item["pip"])
    lock = dict(
        line.strip().split("==") for line in (REPO / "requirements.lock").read_text().splitlines() if "==" in line
    )
    for package in ("numpy", "onnxruntime"):
        assert pins[package] == lock[package], package


def test_the_schema_validation_is_real(tmp_path: Path) -> None:
    from azure.ai.ml.exceptions import ValidationException
    from marshmallow.exceptions import ValidationError

    broken = yaml.safe_load((AZUREML / "blue.yml").read_text())
    broken["instance_count"] = "two"
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises((ValidationError, ValidationException)):
        load_online_deployment(path)


def _score_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vitae_azureml_score", AZUREML / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_score_init_and_run_serve_a_trained_model(
    tmp_path: Path, tiny_result: TrainResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What Azure ML mounts: AZUREML_MODEL_DIR=.../azureml-models/<name>/<version>/<registered folder>.
    model_dir = tmp_path / "azureml-models" / "vitae-resume-ner" / "7"
    shutil.copytree(tiny_result.model_dir, model_dir / "model")
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("VITAE_DEPLOYMENT_NAME", "green")
    monkeypatch.delenv("VITAE_MODEL_NAME", raising=False)
    monkeypatch.delenv("VITAE_MODEL_VERSION", raising=False)
    score = _score_module()
    score.init()

    body = score.run(json.dumps({"text": RESUME}))
    assert (body["deployment"], body["modelName"], body["modelVersion"]) == ("green", "vitae-resume-ner", "7")
    local = ResumePredictor.load(tiny_result.model_dir, name="vitae-resume-ner", version="7")
    expected = payload.score(local, [RESUME], False, "green")
    expected.pop("inferenceMs")
    body.pop("inferenceMs")
    assert json.loads(json.dumps(body)) == json.loads(json.dumps(expected))
    assert "asha.rao@example.com" in body["fields"]["contact"]["emails"]

    batch = score.run({"input_data": [RESUME, "x@example.com"]})
    assert len(batch["predictions"]) == 2
    assert score.run("not json")["error"]["code"] == "BadRequest"
    assert score.run(json.dumps({"nothing": 1}))["error"]["code"] == "BadRequest"
