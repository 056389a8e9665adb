"""The test suite's own budget (CI has 15 minutes): the child-process count every test is held to."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import children_started


def test_each_child_process_is_counted_once() -> None:
    before = children_started()
    subprocess.run(["true"], check=True)
    os.system("true")
    assert children_started() - before == 2
