"""The test suite's own budget (CI has 15 minutes): the child interpreters every test is held to."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import interpreters_started


def test_each_child_interpreter_is_counted_once_and_other_programs_not_at_all() -> None:
    before = interpreters_started()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    subprocess.run(["asm-audit", "--version"], check=True, capture_output=True)
    subprocess.run(["true"], check=True)
    assert interpreters_started() - before == 2


def test_ci_runs_the_readme_test_command_on_every_core() -> None:
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    block = readme.split("Run the tests", 1)[1].split("```bash\n", 1)[1].split("\n```", 1)[0]
    assert block == "pip install -e '.[test]' && python -m pytest -n auto --dist loadfile"
    ci_last = (root / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci_last == "pip install -q -e '.[test]' && python -m pytest -n auto --dist loadfile"
    test_extra = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    assert "pytest-xdist>=3.5" in test_extra  # what -n needs
