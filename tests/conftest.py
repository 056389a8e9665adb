"""Shared fixtures: a fake API server per test, and helpers to audit a list of objects.

Every test also has a budget of child Python interpreters: each costs ~0.5-1.5 s of CPU, and one test that
started `asm-audit explain` for each of 259 codes cost minutes of CI. Loop in process (`auditor.cli.main.main`
with capsys); keep a subprocess for what only a real process shows (the installed script, exit codes, crashes).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakeapi import FakeApiServer

# Tests talk to loopback only: where no other credential is found, the Alibaba Cloud SDK's default chain asks the ECS
# metadata service (100.100.100.200) for a RAM role (alibabacloud_credentials provider/default.py; read once, at its
# import, from this variable). Children started by tests inherit it.
os.environ.setdefault("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")

MAX_CHILD_INTERPRETERS_PER_TEST = 20
_children = [0]


def _is_interpreter(program: object) -> bool:
    """A Python interpreter or the installed CLI (also Python); cheap helpers such as ldconfig do not count."""
    name = Path(str(program)).name
    return name.startswith("python") or name == "asm-audit" or str(program) == sys.executable


def _count_children(event: str, args: tuple) -> None:
    # Audit event (PEP 578) subprocess.Popen: (executable, args, cwd, env).
    if event == "subprocess.Popen":
        executable, argv = args[0], args[1]
        program = executable or (argv if isinstance(argv, str | bytes) else argv[0])
        if _is_interpreter(program):
            _children[0] += 1


sys.addaudithook(_count_children)  # once per process (conftest is imported once); hooks cannot be removed


def interpreters_started() -> int:
    """Child Python interpreters this process has started so far."""
    return _children[0]


@pytest.fixture(autouse=True)
def child_interpreter_budget() -> Iterator[None]:
    # Function scope: processes of module/session fixtures (set up before this one) are not the test's.
    before = interpreters_started()
    yield
    started = interpreters_started() - before
    assert started <= MAX_CHILD_INTERPRETERS_PER_TEST, (
        f"this test started {started} Python interpreters (budget {MAX_CHILD_INTERPRETERS_PER_TEST}): "
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


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's credentials from the environment only (no profile, role or token file of the machine), the fake ASM
    OpenAPI endpoint's keys (tests/fake_asm_openapi.py)."""
    from tests.fake_asm_openapi import ACCESS_KEY_ID, ACCESS_KEY_SECRET

    for name in ("ALIBABA_CLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_PROFILE", "ALIBABA_CLOUD_ROLE_ARN",
                 "ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALIBABA_CLOUD_CREDENTIALS_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET)
