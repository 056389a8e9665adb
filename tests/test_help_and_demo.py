"""--help a person can read at 80 columns (issue 17, item 3), and the demo a newcomer can steer (item 6):
options in panels, every --format value and option name whole, examples last; demo --config/--baseline/--strict
and --export-snapshot DIR."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli.main import main

REPO = Path(__file__).resolve().parent.parent
RUN_OPTIONS = (
    "--kubeconfig", "--context", "--asm-kubeconfig", "--asm-context", "--cluster", "--fleet", "--asm-mesh-id",
    "--asm-region", "--asm-endpoint", "--snapshot", "--timeout", "--run-timeout", "--prometheus", "--traffic-window",
    "--prometheus-bearer-token-file", "--prometheus-username", "--prometheus-password-file", "--prometheus-ca-file",
    "--prometheus-insecure-skip-verify", "--prometheus-timeout", "--out", "--format", "--paper", "--quiet",
    "--metrics-file", "--pushgateway", "--pushgateway-job", "--history", "--notify", "--notify-format",
    "--notify-on", "--notify-secret-file", "--phase", "--config", "--allow-unknown", "--strict", "--baseline",
    "--fail-on-new", "--lang")


def help_text(*argv: str, columns: int = 80) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH")}
    env.update(PYTHONPATH=str(REPO), COLUMNS=str(columns))
    proc = subprocess.run([sys.executable, "-m", "auditor.cli.main", *argv, "--help"], capture_output=True,
                          text=True, env=env, timeout=60, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def option_names(text: str) -> list[str]:
    """The option named first in each row of the help panels."""
    names = []
    for line in text.splitlines():
        cells = line.strip("│ ").split()
        if cells and cells[0].startswith("--"):
            names.append(cells[0])
    return names


def test_run_help_groups_the_options_in_four_panels_in_order() -> None:
    text = help_text("run")
    panels = [line.split("─ ", 1)[1].split(" ─", 1)[0] for line in text.splitlines() if line.startswith("╭─ ")]
    assert panels == ["Options", "Clusters", "Prometheus", "Outputs", "Policy"]


def test_run_help_at_80_columns_shows_every_option_name_whole() -> None:
    text = help_text("run")
    assert sorted(option_names(text)) == sorted([*RUN_OPTIONS, "--help"])
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_run_help_at_80_columns_shows_every_format_value() -> None:
    squeezed = " ".join(" ".join(line.strip("│ ") for line in help_text("run").splitlines()).split())
    assert "--format <str> Comma-separated: html, pdf, json, csv, junit, md." in squeezed


def test_run_and_demo_help_end_with_examples() -> None:
    for command, example in (("run", "asm-audit run --fleet fleet.yaml --phase all --format html,pdf,md"),
                             ("demo", "asm-audit demo --strict --config my-policy.yaml")):
        lines = [line.strip() for line in help_text(command).splitlines() if line.strip()]
        examples = lines.index("Examples:")
        assert lines[examples - 1].startswith("╰"), "the examples come after the last panel"
        assert example in lines[examples:]


def test_demo_help_lists_the_policy_options_and_export() -> None:
    names = option_names(help_text("demo"))
    for option in ("--config", "--baseline", "--strict", "--allow-unknown", "--export-snapshot", "--phase"):
        assert option in names


def test_demo_export_snapshot_writes_it_and_says_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "snap"
    assert main(["demo", "--export-snapshot", str(target)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"wrote the demo snapshot to {target}; audit it with: asm-audit run --snapshot {target}"]
    assert sorted(p.name for p in target.iterdir()) == ["asm", "cluster-a", "cluster-b", "manifest.json",
                                                        "prometheus.json"]
    # The copy audits like the bundled one: the demo's verdict (NO-GO, exit 1).
    assert main(["run", "--snapshot", str(target), "--format", "json", "--out", str(tmp_path / "out"), "-q"]) == 1
    # Never mixed into a directory that holds something.
    assert main(["demo", "--export-snapshot", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"asm-audit: error: --export-snapshot {target}: exists and is not an empty directory; "
                       "give a new one")


def test_demo_says_where_its_snapshot_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--format", "json", "--out", str(tmp_path / "out")]) == 1
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("demo snapshot: ") and first.endswith(
        "auditor/demo/snapshot (a copy: asm-audit demo --export-snapshot DIR)")


def test_demo_takes_config_strict_and_baseline(tmp_path: Path) -> None:
    first = tmp_path / "first"
    assert main(["demo", "--format", "json", "--out", str(first), "-q"]) == 1
    config = tmp_path / "policy.yaml"
    config.write_text("checks:\n  disable: [istio-gateway-traffic]\n")
    second = tmp_path / "second"
    assert main(["demo", "--format", "json", "--out", str(second), "-q", "--config", str(config), "--strict",
                 "--baseline", str(first / "findings.json")]) == 1
    doc = json.loads((second / "findings.json").read_text())
    assert doc["options"]["strict"] is True
    assert not [r for r in doc["findings"] if r["check_id"] == "istio-gateway-traffic"]
    assert doc["baseline"]["old"]["verdict"] == "NO-GO"
    assert doc["baseline"]["blockers"]["resolved"] == 3  # the 3 gateway-traffic blockers, disabled now


def test_demo_refuses_a_bad_config_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--format", "json", "--out", str(tmp_path / "out"), "--config",
                 str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"asm-audit: error: config {tmp_path / 'missing.yaml'}")
    assert not (tmp_path / "out").exists()


def test_readme_lists_every_system_package_ci_installs_and_the_test_time() -> None:
    import re
    import tomllib

    ci = (REPO / ".ci" / "run").read_text()
    install = ci[ci.index("apt-get install"):].split(">/dev/null")[0]
    packages = [w for w in install.replace("\\", " ").split() if not w.startswith("-")][2:]
    assert "libpango-1.0-0" in packages and "fonts-dejavu-core" in packages
    readme = (REPO / "README.md").read_text()
    assert [p for p in packages if f"`{p}" not in readme and f" {p}" not in readme] == []
    assert re.search(r"the whole suite\s+takes about \d+ minutes", readme)
    floor = [d for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
             if d.startswith("weasyprint")]
    assert floor == ["weasyprint>=63"]  # 62.x crashes with pydyf >= 0.12
