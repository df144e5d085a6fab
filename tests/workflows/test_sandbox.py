"""The sandbox re-imports workflow modules for every workflow instance: their bytecode must exist."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import workflows.enrichment
import workflows.resume_inference
from workflows.sandbox import compile_workflow_modules


def test_workflow_modules_get_bytecode_where_imports_look_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty cache folder and no bytecode writing on import, as with PYTHONDONTWRITEBYTECODE.
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    modules = [workflows.enrichment.__file__, workflows.resume_inference.__file__]
    cached = [Path(importlib.util.cache_from_source(str(module))) for module in modules]
    assert not any(path.exists() for path in cached)

    assert compile_workflow_modules.__wrapped__() is True

    assert all(path.exists() for path in cached)
