"""BIO tag set, gold-tag alignment and constrained Viterbi decoding (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .text import Token

NEG = -1e9


def build_tags(labels: Sequence[str]) -> list[str]:
    tags = ["O"]
    for label in labels:
        tags += [f"B-{label}", f"I-{label}"]
    return tags


def transition_mask(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Additive masks forbidding ``O -> I-X``, ``B-Y -> I-X`` (X != Y) and starting with ``I-X``."""
    n = len(tags)
    trans = np.zeros((n, n), dtype=np.float32)
    start = np.zeros(n, dtype=np.float32)
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            start[j] = NEG
            label = tag[2:]
            for i, prev in enumerate(tags):
                if prev[2:] != label:
                    trans[i, j] = NEG
    return trans, start


def viterbi(
    emissions: np.ndarray,
    trans: np.ndarray,
    start: np.ndarray,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Best tag sequence for ``emissions [n, T]``; ``allowed [n, T]`` (bool) restricts tags per token."""
    n, n_tags = emissions.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    em = emissions if allowed is None else np.where(allowed, emissions, NEG)
    back = np.empty((n, n_tags), dtype=np.int64)
    score = start + em[0]
    cols = np.arange(n_tags)
    for i in range(1, n):
        cand = score[:, None] + trans
        best = cand.argmax(axis=0)
        back[i] = best
        score = cand[best, cols] + em[i]
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(score.argmax())
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def spans_to_tags(
    tokens: Sequence[Token],
    spans: Sequence[tuple[str, int, int]],
    tag_index: dict[str, int],
) -> np.ndarray:
    """Gold tag ids: a token belongs to a span when it overlaps it; unknown labels stay O."""
    tags = np.zeros(len(tokens), dtype=np.int64)
    if not tokens:
        return tags
    starts = np.array([t.start for t in tokens])
    ends = np.array([t.end for t in tokens])
    for label, s, e in spans:
        if f"B-{label}" not in tag_index:
            continue
        idx = np.nonzero((starts < e) & (ends > s))[0]
        if idx.size == 0 or np.any(tags[idx] != 0):
            continue
        tags[idx[0]] = tag_index[f"B-{label}"]
        tags[idx[1:]] = tag_index[f"I-{label}"]
    return tags


def tags_to_spans(tag_ids: Sequence[int] | np.ndarray, tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(label, first token, last token exclusive) for each B/I run."""
    out: list[tuple[str, int, int]] = []
    current: str | None = None
    begin = 0
    for i, t in enumerate(tag_ids):
        tag = tags[int(t)]
        if tag == "O" or tag.startswith("B-") or (current is not None and tag[2:] != current):
            if current is not None:
                out.append((current, begin, i))
                current = None
            if tag != "O":
                current, begin = tag[2:], i
    if current is not None:
        out.append((current, begin, len(tag_ids)))
    return out
