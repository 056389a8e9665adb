"""Shared fixtures: a fake API server per test, and helpers to audit a list of objects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakeapi import FakeApiServer


@pytest.fixture
def fake_api() -> Iterator[FakeApiServer]:
    with FakeApiServer() as server:
        yield server


@pytest.fixture
def fake_asm() -> Iterator[FakeApiServer]:
    """A second fake server standing in for the ASM control plane."""
    with FakeApiServer() as server:
        server.set_version("v1.31.1-aliyun.1")
        yield server


@pytest.fixture
def demo_dir() -> Path:
    from auditor.api import demo_snapshot_path

    return demo_snapshot_path()
