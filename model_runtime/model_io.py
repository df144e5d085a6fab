"""The on-disk model format: ``model.onnx`` (emission scorer) + ``metadata.json`` (decoder, features).

The ONNX graph maps hashed feature ids ``int64 [n_tokens, n_features]`` to tag emissions
``float32 [n_tokens, n_tags]``: ``Gather(weights, ids) -> ReduceSum(axis=1) -> Add(bias)``.
Transitions, the tag list and the feature configuration live in ``metadata.json`` (and a short
pointer to it in the ONNX ``metadata_props``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
FORMAT_VERSION = 1
INPUT_NAME = "features"
OUTPUT_NAME = "emissions"


def export_onnx(path: Path, weights: np.ndarray, bias: np.ndarray, meta_props: dict[str, str]) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n_tags = weights.shape[1]
    graph = helper.make_graph(
        nodes=[
            helper.make_node("Gather", ["W", INPUT_NAME], ["gathered"], axis=0),
            helper.make_node("ReduceSum", ["gathered", "axes"], ["summed"], keepdims=0),
            helper.make_node("Add", ["summed", "bias"], [OUTPUT_NAME]),
        ],
        name="vitae_resume_tagger",
        inputs=[helper.make_tensor_value_info(INPUT_NAME, TensorProto.INT64, ["n_tokens", "n_features"])],
        outputs=[helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["n_tokens", n_tags])],
        initializer=[
            numpy_helper.from_array(weights.astype(np.float32), "W"),
            numpy_helper.from_array(bias.astype(np.float32), "bias"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
        ],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="vitae-model-runtime",
    )
    model.ir_version = 8
    for key, value in meta_props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_model_dir(model_dir: Path, weights: np.ndarray, bias: np.ndarray, metadata: dict[str, Any]) -> Path:
    model_dir.mkdir(parents=True, exist_ok=True)
    export_onnx(
        model_dir / MODEL_FILE,
        weights,
        bias,
        {
            "vitae.format_version": str(FORMAT_VERSION),
            "vitae.metadata_file": METADATA_FILE,
        },
    )
    metadata = dict(metadata)
    metadata["format_version"] = FORMAT_VERSION
    metadata["model_sha256"] = sha256_file(model_dir / MODEL_FILE)
    (model_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=1, sort_keys=True), encoding="utf-8")
    return model_dir


def read_metadata(model_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((model_dir / METADATA_FILE).read_text(encoding="utf-8"))
    if int(data.get("format_version", 0)) != FORMAT_VERSION:
        raise ValueError(f"unsupported model format {data.get('format_version')!r} in {model_dir}")
    return data
