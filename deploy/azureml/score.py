"""Azure ML scoring script of the ``vitae-scoring`` managed online endpoint (blue.yml, green.yml).

``init()`` loads the deployment's registered model from ``AZUREML_MODEL_DIR`` with the
worker's own predictor (``model_runtime.predictor.ResumePredictor``, which checks the ONNX
file against its recorded sha256); ``run()`` answers with the same request and response shape
as the local scoring server (``model_runtime.serving.payload``), so ``EndpointScorer`` talks to
either. Azure ML itself adds the ``azureml-model-deployment`` response header.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

# The deployment's code is the repository (code: ../.., see blue.yml): make model_runtime importable.
_REPO = Path(__file__).resolve().parents[2]
if (_REPO / "model_runtime").is_dir() and str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from model_runtime.model_io import MODEL_FILE  # noqa: E402
from model_runtime.predictor import ResumePredictor  # noqa: E402
from model_runtime.serving import payload  # noqa: E402

log = logging.getLogger("vitae.score")

predictor: ResumePredictor | None = None
deployment: str | None = None


def _model_folder(root: Path) -> Path:
    """The folder holding the ONNX file: AZUREML_MODEL_DIR keeps the registered folder layout."""
    if (root / MODEL_FILE).is_file():
        return root
    found = sorted(root.rglob(MODEL_FILE))
    if not found:
        raise FileNotFoundError(f"no {MODEL_FILE} under {root}")
    return found[0].parent


def _name_and_version(root: Path) -> tuple[str, str]:
    """``.../azureml-models/<name>/<version>`` unless VITAE_MODEL_NAME / VITAE_MODEL_VERSION say otherwise."""
    name = os.environ.get("VITAE_MODEL_NAME") or root.parent.name or "vitae-resume-ner"
    version = os.environ.get("VITAE_MODEL_VERSION") or root.name
    return name, version


def init() -> None:
    global predictor, deployment
    root = Path(os.environ["AZUREML_MODEL_DIR"])
    name, version = _name_and_version(root)
    threads = int(os.environ.get("VITAE_ORT_THREADS", "1"))
    predictor = ResumePredictor.load(_model_folder(root), name=name, version=version, threads=threads)
    deployment = os.environ.get("VITAE_DEPLOYMENT_NAME") or None
    log.info("loaded %s v%s for deployment %s", name, version, deployment)


def _bad_request(message: str, status: int) -> Any:
    body = {"error": {"code": "BadRequest", "message": message}}
    try:  # inside Azure ML's inference server: answer with the real status code
        from azureml_inference_server_http.api.aml_response import AMLResponse
    except ImportError:
        return body
    return AMLResponse(body, status, json_str=True)


def run(raw_data: str | bytes | dict[str, Any]) -> Any:
    if predictor is None:
        raise RuntimeError("init() has not run")
    try:
        data = json.loads(raw_data) if isinstance(raw_data, str | bytes) else raw_data
        texts, batch = payload.parse_request(data)
    except payload.ScoringRequestError as exc:
        return _bad_request(str(exc), exc.status)
    except ValueError:
        return _bad_request("the body is not JSON", 400)
    return payload.score(predictor, texts, batch, deployment)
