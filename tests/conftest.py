"""Shared fixtures: a fake API server per test, and helpers to audit a list of objects.

Every test also has a budget of child processes: a new interpreter costs ~0.5-1.5 s of CPU, and one test that
started `asm-audit explain` for each of 259 codes cost minutes of CI. Loop in process (`auditor.cli.main.main`
with capsys); keep a subprocess for what only a real process shows (the installed script, exit codes, crashes).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakeapi import FakeApiServer

MAX_CHILD_PROCESSES_PER_TEST = 20
# Audit events (PEP 578) raised when this process starts another program.
_CHILD_PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.posix_spawn", "os.exec", "os.spawn"})
_children = [0]


def _count_children(event: str, _args: tuple) -> None:
    if event in _CHILD_PROCESS_EVENTS:
        _children[0] += 1


sys.addaudithook(_count_children)  # once per process (conftest is imported once); hooks cannot be removed


def children_started() -> int:
    """Child processes this process has started so far."""
    return _children[0]


@pytest.fixture(autouse=True)
def child_process_budget() -> Iterator[None]:
    # Function scope: processes of module/session fixtures (set up before this one) are not the test's.
    before = children_started()
    yield
    started = children_started() - before
    assert started <= MAX_CHILD_PROCESSES_PER_TEST, (
        f"this test started {started} child processes (budget {MAX_CHILD_PROCESSES_PER_TEST}): "
        "run the CLI in process (auditor.cli.main.main) or share one run's outputs in a module fixture")


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
