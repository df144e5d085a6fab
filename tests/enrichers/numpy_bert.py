"""An independent pure-numpy forward pass of all-MiniLM-L6-v2, written from the BERT
equations rather than from the ONNX graph: the reference the exported model is checked against.
Float64 throughout, one sentence at a time (no padding), so it shares no shortcut with the graph."""

from __future__ import annotations

import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def embed(weights: dict[str, np.ndarray], ids: list[int], heads: int = 12, layers: int = 6) -> np.ndarray:
    w = {k: v.astype(np.float64) for k, v in weights.items() if v.dtype != np.int64}

    def dense(x: np.ndarray, name: str) -> np.ndarray:
        return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]

    n = len(ids)
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    hidden = x.shape[1]
    d = hidden // heads
    for i in range(layers):
        p = f"encoder.layer.{i}"
        q = dense(x, f"{p}.attention.self.query").reshape(n, heads, d).transpose(1, 0, 2)
        k = dense(x, f"{p}.attention.self.key").reshape(n, heads, d).transpose(1, 0, 2)
        v = dense(x, f"{p}.attention.self.value").reshape(n, heads, d).transpose(1, 0, 2)
        probs = _softmax(q @ k.transpose(0, 2, 1) / math.sqrt(d))
        ctx = (probs @ v).transpose(1, 0, 2).reshape(n, hidden)
        x = _layer_norm(
            dense(ctx, f"{p}.attention.output.dense") + x,
            w[f"{p}.attention.output.LayerNorm.weight"],
            w[f"{p}.attention.output.LayerNorm.bias"],
        )
        h = dense(x, f"{p}.intermediate.dense")
        h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
        x = _layer_norm(
            dense(h, f"{p}.output.dense") + x, w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"]
        )
    pooled = x.mean(axis=0)
    return pooled / np.linalg.norm(pooled)
