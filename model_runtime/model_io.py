"""The on-disk model format: ``model.onnx`` (emission scorer) + ``metadata.json`` (decoder, features).

The ONNX graph maps hashed feature ids ``int64 [n_tokens, n_features]`` to tag emissions
``float32 [n_tokens, n_tags]``: ``Gather(weights, ids) -> ReduceSum(axis=1) -> Add(bias)``.
Transitions, the tag list and the feature configuration live in ``metadata.json`` (and a short
pointer to it in the ONNX ``metadata_props``).

Weights are stored as float32 or as int8 (``weights_dtype`` in the metadata): int8 weights with
one float32 scale per feature bucket (row), dequantized inside the graph:
``Gather(Wq, ids) -> Cast(float) -> Mul(Unsqueeze(Gather(scale, ids))) -> ReduceSum -> Add(bias)``.
Both graphs have the same input and output, so the predictor runs either unchanged (and models
written before int8 existed load as they are).
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


WEIGHT_DTYPES = ("float32", "int8")


def quantize_rows(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per row (feature bucket): ``weights ~= q * scale[:, None]``."""
    w = np.asarray(weights, dtype=np.float32)
    scale = np.abs(w).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def dequantize_rows(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return q.astype(np.float32) * scale[:, None]


def export_onnx(
    path: Path,
    weights: np.ndarray,
    bias: np.ndarray,
    meta_props: dict[str, str],
    weights_dtype: str = "float32",
) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if weights_dtype not in WEIGHT_DTYPES:
        raise ValueError(f"weights_dtype must be one of {WEIGHT_DTYPES}, not {weights_dtype!r}")
    n_tags = weights.shape[1]
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")
    bias_init = numpy_helper.from_array(bias.astype(np.float32), "bias")
    if weights_dtype == "float32":
        nodes = [
            helper.make_node("Gather", ["W", INPUT_NAME], ["gathered"], axis=0),
            helper.make_node("ReduceSum", ["gathered", "axes"], ["summed"], keepdims=0),
            helper.make_node("Add", ["summed", "bias"], [OUTPUT_NAME]),
        ]
        initializer = [numpy_helper.from_array(weights.astype(np.float32), "W"), bias_init, axes]
    else:
        q, scale = quantize_rows(weights)
        nodes = [
            helper.make_node("Gather", ["Wq", INPUT_NAME], ["gathered_q"], axis=0),
            helper.make_node("Cast", ["gathered_q"], ["gathered_f"], to=TensorProto.FLOAT),
            helper.make_node("Gather", ["W_scale", INPUT_NAME], ["row_scale"], axis=0),
            helper.make_node("Unsqueeze", ["row_scale", "scale_axes"], ["row_scale3"]),
            helper.make_node("Mul", ["gathered_f", "row_scale3"], ["gathered"]),
            helper.make_node("ReduceSum", ["gathered", "axes"], ["summed"], keepdims=0),
            helper.make_node("Add", ["summed", "bias"], [OUTPUT_NAME]),
        ]
        initializer = [
            numpy_helper.from_array(q, "Wq"),
            numpy_helper.from_array(scale, "W_scale"),
            numpy_helper.from_array(np.array([2], dtype=np.int64), "scale_axes"),
            bias_init,
            axes,
        ]
    graph = helper.make_graph(
        nodes=nodes,
        name="vitae_resume_tagger",
        inputs=[helper.make_tensor_value_info(INPUT_NAME, TensorProto.INT64, ["n_tokens", "n_features"])],
        outputs=[helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["n_tokens", n_tags])],
        initializer=initializer,
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


def write_model_dir(
    model_dir: Path,
    weights: np.ndarray,
    bias: np.ndarray,
    metadata: dict[str, Any],
    weights_dtype: str = "float32",
) -> Path:
    model_dir.mkdir(parents=True, exist_ok=True)
    export_onnx(
        model_dir / MODEL_FILE,
        weights,
        bias,
        {
            "vitae.format_version": str(FORMAT_VERSION),
            "vitae.metadata_file": METADATA_FILE,
            "vitae.weights_dtype": weights_dtype,
        },
        weights_dtype=weights_dtype,
    )
    metadata = dict(metadata)
    metadata["format_version"] = FORMAT_VERSION
    metadata["weights_dtype"] = weights_dtype
    metadata["model_sha256"] = sha256_file(model_dir / MODEL_FILE)
    (model_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=1, sort_keys=True), encoding="utf-8")
    return model_dir


def read_metadata(model_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((model_dir / METADATA_FILE).read_text(encoding="utf-8"))
    if int(data.get("format_version", 0)) != FORMAT_VERSION:
        raise ValueError(f"unsupported model format {data.get('format_version')!r} in {model_dir}")
    return data


def read_weights(model_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(float32 weights [n_buckets, n_tags], bias [n_tags]) of a model directory, either dtype."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(model_dir / MODEL_FILE)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    weights = init["W"] if "W" in init else dequantize_rows(init["Wq"], init["W_scale"])
    return np.asarray(weights, dtype=np.float32), np.asarray(init["bias"], dtype=np.float32)


def convert_model_dir(src: Path, dst: Path, weights_dtype: str) -> Path:
    """Re-export a model directory with its weights in ``weights_dtype`` (same metadata otherwise)."""
    weights, bias = read_weights(src)
    metadata = read_metadata(src)
    for key in ("model_sha256", "format_version", "weights_dtype"):
        metadata.pop(key, None)
    return write_model_dir(Path(dst), weights, bias, metadata, weights_dtype=weights_dtype)
