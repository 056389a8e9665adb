"""The test suite's own budget (CI has 15 minutes): the child interpreters every test is held to."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import interpreters_started


def test_each_child_interpreter_is_counted_once_and_other_programs_not_at_all() -> None:
    before = interpreters_started()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    subprocess.run(["asm-audit", "--version"], check=True, capture_output=True)
    subprocess.run(["true"], check=True)
    assert interpreters_started() - before == 2
