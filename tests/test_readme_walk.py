"""A newcomer following the README on the demo (ux16): what it says holds, and a newcomer's mistakes are one line.

- A GO that --allow-unknown let through never reads "nothing unknown": every output says how many UNKNOWNs it
  accepted, next to the verdict (product.md: nothing that changed the verdict is hidden).
- A --strict NO-GO lists the WARNs and minor FAILs it counted as blockers (the reports said "0 blocking findings
  must be fixed first" under a NO-GO).
- The README's "Writing a check" example loads as a plugin (it declared no outcomes and was refused), and its config
  example keeps ASM's own proxies ASM's (its `classification.asm_image_patterns` replaced the built-in patterns).
- A snapshot path that is no snapshot (an empty directory, one dump file, manifest.json, a text file, an empty
  archive) and a misspelt required key in a config or fleet file are one line naming the mistake, exit 2.
"""

from __future__ import annotations

import json
import re
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

from auditor import api
from auditor.cli.main import main
from auditor.config import Config, load_config
from auditor.findings import blocking_mask, records
from auditor.model import Verdict
from auditor.registry import load_registry, validate_check
from auditor.render.context import build
from auditor.render.html import html_document

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()

# The demo at its uninstall gate with every check that FAILs there disabled and mesh-config-parity (one FAIL, two
# UNKNOWNs: ASM's trust domain is in no answer the demo carries) made minor: INCOMPLETE, or GO with --allow-unknown.
ONLY_UNKNOWNS = """checks:
  disable: [istio-sidecars-remaining, istio-gateway-traffic, istio-config-imported, purge-preview, manual-injection,
            asm-proxies-ready, egress-routes-to-asm, ingress-lb-weights, envoyfilter-compatibility]
  severity: {mesh-config-parity: minor}
"""
# Every check that FAILs on the demo made minor: nothing blocks without --strict; with it, the FAILs and WARNs do.
ALL_MINOR = """checks:
  severity: {istio-sidecars-remaining: minor, istio-gateway-traffic: minor, istio-config-imported: minor,
             purge-preview: minor, manual-injection: minor, asm-proxies-ready: minor, egress-routes-to-asm: minor,
             ingress-lb-weights: minor, envoyfilter-compatibility: minor, mesh-config-parity: minor}
"""


# What is said beside the verdict of that GO, in each language.
ACCEPTED = {"en": "2 UNKNOWN accepted by --allow-unknown", "zh-CN": "--allow-unknown 接受了 2 个 UNKNOWN"}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().err.strip().splitlines()


def verdict_line(err: list[str]) -> str:
    return next(line for line in err if line.lstrip().startswith(("GO", "NO-GO", "INCOMPLETE")))


# ---------------------------------------------------------------- --allow-unknown
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_a_go_let_through_by_allow_unknown_says_so_and_never_nothing_unknown(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], demo_dir: Path, lang: str) -> None:
    config = tmp_path / "policy.yaml"
    config.write_text(ONLY_UNKNOWNS)
    out = tmp_path / "out"
    base = ["run", "--snapshot", str(demo_dir), "--phase", "uninstall", "--config", str(config), "--lang", lang]
    code, _ = run_cli(capsys, *base, "--format", "json", "--out", str(tmp_path / "without"))
    assert code == 3  # the control: without the flag, INCOMPLETE

    code, err = run_cli(capsys, *base, "--allow-unknown", "--format", "json,md,html", "--out", str(out))
    doc = json.loads((out / "findings.json").read_text())
    unknown = [r for r in doc["findings"] if r["status"] == "UNKNOWN" and not r["exempt"]]
    assert (code, doc["verdict"]) == (0, "GO") and len(unknown) == 2
    # Beside the verdict: the terminal's verdict line (first and last), summary.md's heading, the HTML badge.
    said = ACCEPTED[lang]
    assert said in verdict_line(err) and said in err[-1]
    summary = (out / "summary.md").read_text()
    assert said in summary.splitlines()[0]
    html = (out / "report.html").read_text()
    assert re.search(f'verdict-config">[^<]*{re.escape(said)}<', html)
    # The claim the evidence does not support is made nowhere.
    for text in (summary, html, "\n".join(err)):
        assert "nothing unknown" not in text and "也没有未知项" not in text
        assert "--allow-unknown to accept" not in text and "使用 --allow-unknown 可接受" not in text
        if lang == "zh-CN":  # what is said beside the verdict is said in the report's language (config's too)
            assert "by config" not in text and "accepted by" not in text


def test_allow_unknown_disclosure_is_only_for_a_go_it_changed(tmp_path: Path, demo_dir: Path) -> None:
    """A NO-GO stays a NO-GO whatever the flag: nothing to disclose; neither without UNKNOWNs."""
    result = api.run_audit(api.Target(snapshot=str(demo_dir)), "uninstall", Config(), allow_unknown=True)
    assert result.verdict is Verdict.NO_GO
    assert "allow-unknown" not in build(result)["disclosure"]


# ---------------------------------------------------------------- --strict
def test_a_strict_no_go_lists_the_findings_it_counted_as_blockers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], demo_dir: Path) -> None:
    config = tmp_path / "policy.yaml"
    config.write_text(ALL_MINOR)
    code, _ = run_cli(capsys, "run", "--snapshot", str(demo_dir), "--phase", "uninstall", "--config", str(config),
                      "--format", "json", "--out", str(tmp_path / "lenient"))
    assert code == 3  # the control: without --strict nothing blocks (two UNKNOWNs remain)

    out = tmp_path / "strict"
    code, err = run_cli(capsys, "run", "--snapshot", str(demo_dir), "--phase", "uninstall", "--config", str(config),
                        "--strict", "--format", "json,md", "--out", str(out))
    doc = json.loads((out / "findings.json").read_text())
    strict_blockers = [r for r in doc["findings"] if r["status"] in ("FAIL", "WARN") and not r["exempt"]]
    assert (code, doc["verdict"]) == (1, "NO-GO") and strict_blockers
    assert not [r for r in strict_blockers if r["severity"] in ("blocker", "major") and r["status"] == "FAIL"]
    # The terminal lists them (codes) and gives the first one's command; summary.md has them in its blockers table.
    listed = {line.split()[1] for line in err if line.split()[:1] and line.split()[0] in ("MINOR", "MAJOR", "INFO",
                                                                                        "BLOCKER")}
    assert listed and listed <= {r["code"] for r in strict_blockers}
    assert any(line.startswith("next: ") for line in err)
    summary = (out / "summary.md").read_text()
    assert any(line.startswith("### ") and f"({len(strict_blockers)})" in line for line in summary.splitlines())
    # Each row says whether it is a FAIL or a WARN: both block under --strict.
    blockers_table = summary.split("### ", 2)[1].splitlines()
    assert any(line.startswith("| WARN | ") for line in blockers_table)
    assert any(line.startswith("| FAIL | ") for line in blockers_table)

    result = api.run_audit(api.Target(snapshot=str(demo_dir)), "uninstall", load_config(config), strict=True)
    ctx = build(result)
    assert ctx["blocking_rows"] == int(blocking_mask(result.findings, True).sum()) == len(strict_blockers)
    assert ctx["warnings_all"] == 0  # each is listed once: as a blocker, not again as a warning
    html = html_document(result)
    section = html.split('id="blockers"', 1)[1].split("</section>", 1)[0]
    assert "(--strict)" in section and 'class="c-status"' in section


# ---------------------------------------------------------------- the README's examples
def readme_block(after: str, lang: str) -> str:
    return README.split(after, 1)[1].split(f"```{lang}\n", 1)[1].split("```", 1)[0]


def test_readme_check_example_loads_as_a_plugin_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         demo_dir: Path) -> None:
    code = readme_block("## Writing a check", "python")
    toml = readme_block("## Writing a check", "toml")
    entry = toml.split("\n", 1)[1].split("#", 1)[0].strip()  # acme = "acme_checks:NoHostNetworkSidecars"
    name, target = (part.strip().strip('"') for part in entry.split("=", 1))
    module, cls_name = target.split(":")
    site = tmp_path / "site"
    (site / module).mkdir(parents=True)
    (site / module / "__init__.py").write_text(code)
    dist = site / "acme_checks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-checks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[asm_audit.checks]\n{name} = {target}\n")
    monkeypatch.syspath_prepend(str(site))
    try:
        registry = load_registry()
        assert registry.broken == {}
        cls = sys.modules[module].__dict__[cls_name]
        assert validate_check(cls) is None and cls.id in registry.checks
        result = api.run_audit(api.Target(snapshot=str(demo_dir)), "migrating")
        rows = [r for r in records(result.findings) if r["check_id"] in (cls.id, f"plugin:{name}")]
        assert [(r["check_id"], r["status"], r["code"]) for r in rows] == [
            (cls.id, "PASS", cls.outcomes[0].code)] * 2  # one per data-plane cluster
    finally:
        sys.modules.pop(module, None)


def test_readme_config_example_keeps_asms_own_proxies_asm(tmp_path: Path, demo_dir: Path) -> None:
    """Its classification block replaces the built-in image patterns: written as the README shows it, ASM's own
    images of the demo must still be ASM's (no AA1230 'contradicting marks' for every ASM workload)."""
    path = tmp_path / "asm-audit.yaml"
    path.write_text(readme_block("## Config file", "yaml"))
    config = load_config(path)
    config.prometheus.url = None  # the example's Prometheus does not exist here
    result = api.run_audit(api.Target(snapshot=str(demo_dir)), "uninstall", config)
    plain = api.run_audit(api.Target(snapshot=str(demo_dir)), "uninstall", Config())
    sidecars = {(r["cluster"], r["name"], r["code"]) for r in records(result.findings)
                if r["check_id"] == "istio-sidecars-remaining"}
    assert sidecars == {(r["cluster"], r["name"], r["code"]) for r in records(plain.findings)
                        if r["check_id"] == "istio-sidecars-remaining"}
    assert not [r for r in records(result.findings) if r["code"] == "AA1230"]


# ---------------------------------------------------------------- mistakes: one line, exit 2
def _empty_archive(root: Path) -> Path:
    path = root / "empty.tar.gz"
    with tarfile.open(path, "w:gz"):
        pass
    return path


def _one_dump(root: Path) -> Path:
    path = root / "objects.yaml"
    path.write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Namespace
          metadata: {name: shop}
        """))
    return path


SNAPSHOT_MISTAKES = {
    "empty directory": lambda root: (root / "empty").mkdir() or root / "empty",
    "directory of empty directories": lambda root: (root / "d" / "cluster-a").mkdir(parents=True) or root / "d",
    "one dump file": _one_dump,
    "manifest.json": lambda root: (root / "manifest.json").write_text("{}") and root / "manifest.json",
    "a text file": lambda root: (root / "notes.txt").write_text("hello\n") and root / "notes.txt",
    "empty archive": _empty_archive,
}


@pytest.mark.parametrize("mistake", list(SNAPSHOT_MISTAKES))
def test_a_snapshot_path_that_is_no_snapshot_is_one_line_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], mistake: str) -> None:
    path = SNAPSHOT_MISTAKES[mistake](tmp_path)
    out = tmp_path / "out"
    code, err = run_cli(capsys, "run", "--snapshot", str(path), "--format", "json", "--out", str(out))
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("asm-audit: error: snapshot ") and str(path) in err[0], err
    assert "Traceback" not in err[0] and "could not be opened successfully" not in err[0]
    assert not out.exists()


def test_a_dump_file_in_its_own_directory_is_a_snapshot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The control: what the refusal asks for works (README: a directory of kubectl dumps is a snapshot)."""
    (tmp_path / "snap").mkdir()
    dump = _one_dump(tmp_path / "snap")
    code, err = run_cli(capsys, "run", "--snapshot", str(dump.parent), "--format", "json", "--out",
                        str(tmp_path / "out"), "-q")
    assert code == 3, err  # read, and INCOMPLETE: one Namespace proves nothing else


@pytest.mark.parametrize("what,text,typed", [
    ("config", "exemptions:\n  - check: pods-xds-agent\n    raeson: CHG-1\n", "exemptions[0].raeson"),
    ("fleet", "clusters:\n  - nmae: a\n    kubeconfig: a.yaml\n", "clusters[0].nmae"),
])
def test_a_misspelt_required_key_names_what_was_typed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      demo_dir: Path, what: str, text: str, typed: str) -> None:
    path = tmp_path / f"{what}.yaml"
    path.write_text(text)
    argv = ["--snapshot", str(demo_dir), "--config", str(path)] if what == "config" else ["--fleet", str(path)]
    code, err = run_cli(capsys, "run", *argv, "--format", "json", "--out", str(tmp_path / "out"))
    assert code == 2 and len(err) == 1, err
    assert f"unknown key '{typed}'" in err[0] and "did you mean" in err[0] and "Traceback" not in err[0]



@pytest.mark.parametrize("argv,meant", [
    (["run", "--phase", "unintsall"], "uninstall"),
    (["run", "--phase", "Uninstall"], "uninstall"),
    (["checks", "--phase", "Setup"], "setup"),
    (["rbac", "--phase", "migratng"], "migrating"),
])
def test_a_misspelt_phase_is_one_line_naming_the_gate_meant(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            demo_dir: Path, argv: list[str], meant: str) -> None:
    extra = ["--snapshot", str(demo_dir), "--out", str(tmp_path / "out")] if argv[0] == "run" else []
    code, err = run_cli(capsys, *argv, *extra)
    assert code == 2 and len(err) == 1, err
    assert err[0].endswith(f"did you mean {meant!r}?")
    assert not (tmp_path / "out").exists()


def test_explain_given_a_check_id_names_its_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """The catalogue and every report show check ids first: `explain <check id>` says which codes to ask about."""
    registry = load_registry()
    code, err = run_cli(capsys, "explain", "istio-sidecars-remaining")
    assert code == 2 and len(err) == 1, err
    codes = [o.code for o in registry.checks["istio-sidecars-remaining"].outcomes]
    assert err[0].endswith(" ".join(codes)) and "AA1210" in codes


@pytest.mark.parametrize("command", ["diff", "baseline"])
def test_a_report_directory_given_for_a_findings_json_names_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], demo_dir: Path, command: str) -> None:
    """`--out DIR` is where a report goes: `diff DIR1 DIR2` / `--baseline DIR` point at the file inside."""
    report = tmp_path / "last-week"
    assert main(["run", "--snapshot", str(demo_dir), "--format", "json", "--out", str(report), "-q"]) == 1
    capsys.readouterr()
    argv = (["diff", str(report), str(report / "findings.json")] if command == "diff" else
            ["run", "--snapshot", str(demo_dir), "--format", "json", "--out", str(tmp_path / "today"),
             "--baseline", str(report)])
    code, err = run_cli(capsys, *argv)
    assert code == 2 and len(err) == 1, err
    assert err[0].endswith(str(report / "findings.json")) and "Traceback" not in err[0]


def test_readme_says_which_checks_format_holds_the_rationale(capsys: pytest.CaptureFixture[str]) -> None:
    """`asm-audit checks` (table) shows no rationale or remediation; the README sent a reader there for them."""
    said = README.split("`asm-audit checks [--phase G]", 1)[1].split("\n\n", 1)[0]
    assert "`--format json` adds each check's\nrationale and remediation" in said
    check = load_registry().checks["istio-sidecars-remaining"]
    assert main(["checks"]) == 0
    table = capsys.readouterr().out
    assert check.title in table and check.rationale[:40] not in table
    assert main(["checks", "--format", "json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["id"] == check.id)
    assert (row["rationale"], row["remediation"]) == (check.rationale, check.remediation)
