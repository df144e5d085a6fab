"""Fixtures for the local stack supervisor's tests: one real infra stack per module.

Infra only (``apps=False``) and no provisioning hook: these tests are about the
supervisor, so they skip the model bootstrap that ``vitae.provision`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vitae.stack import StackInfo, down, up


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="module")
def stack(stack_dir: Path) -> Iterator[StackInfo]:
    try:
        info = up(stack_dir, apps=False, provision=False, quiet=True)
        yield info
    finally:
        down(stack_dir, purge=True)
