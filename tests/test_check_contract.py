"""The check contract, read from the source: checks judge the Context they are given.

They never read files (the engine loads saved answers once, before checks run), never import the engine, and never
import each other (shared domain helpers live in auditor/mesh.py, gateways.py, istio.py, asm.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

CHECKS = Path(__file__).resolve().parent.parent / "checks"
ENGINE_MODULES = ("auditor.engine", "auditor.plan", "auditor.collect", "auditor.judge")
FILE_READS = {"read_text", "read_bytes", "open"}  # Path.read_text(), Path.open(), ... and the builtin open()


def _violations(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""] if node.level == 0 else ["checks (relative import)"]
            if node.module == "auditor":
                modules += [f"auditor.{alias.name}" for alias in node.names]
        for module in modules:
            if module == "checks" or module.startswith(("checks.", "checks ")) or module.startswith(ENGINE_MODULES):
                found.append(f"{path.name}:{node.lineno} imports {module}")
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in FILE_READS:
                found.append(f"{path.name}:{node.lineno} calls {name}()")
    return found


def test_no_check_reads_files_or_imports_the_engine_or_another_check():
    modules = sorted(p for p in CHECKS.glob("*.py") if p.name != "__init__.py")  # __init__ is the registry
    assert len(modules) >= 17
    assert [v for p in modules for v in _violations(p)] == []


def test_the_scan_sees_each_kind_of_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import json\nfrom auditor.engine import x\nfrom checks.gateways import y\nfrom . import z\n"
                   "from auditor import engine\nopen('f')\nPath('f').read_text()\n")
    assert _violations(bad) == ["bad.py:2 imports auditor.engine", "bad.py:3 imports checks.gateways",
                                "bad.py:4 imports checks (relative import)", "bad.py:5 imports auditor.engine",
                                "bad.py:6 calls open()", "bad.py:7 calls read_text()"]


# The gateway scan (auditor/gateways.py) and the helpers that read it: a check calling one of them reads what the scan
# reads when it is available (gateways.SCAN_KINDS).
SCAN_READERS = {"gateway_workloads", "istio_gateways", "gateway_services", "eastwest_signals", "egress_hosts",
                "stray_gateway_findings", "unrecognised_gateway_pods"}


def _scan_reading_checks() -> set[str]:
    """The ids of the check classes whose own body calls a SCAN_READERS function, from the source."""
    found: set[str] = set()
    for path in sorted(CHECKS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ClassDef):
                continue
            ids = [stmt.value.value for stmt in node.body
                   if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant)
                   and any(isinstance(t, ast.Name) and t.id == "id" for t in stmt.targets)]
            calls = {n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
                     for n in ast.walk(node) if isinstance(n, ast.Call)}
            if ids and calls & SCAN_READERS:
                found.add(ids[0])
    return found


def test_a_check_reading_the_gateway_scan_collects_what_the_scan_reads():
    """What a check concludes from the gateway scan must not hang on which other checks of the gate were enabled:
    the scan reads DaemonSets (the gateway chart's DaemonSet) and Istio and Gateway API Gateways (a gateway's role)
    when collected, so each check reading it lists them (main: asm-gateways-present, ingress-lb-weights,
    egress-routes-to-asm, istio-gateway-traffic and pods-xds-agent listed none; with the other checks disabled, a
    gateway whose role only its Gateway tells was judged by its labels alone)."""
    import checks  # noqa: F401 - the catalogue
    from auditor.gateways import SCAN_KINDS
    from auditor.registry import load_registry

    registry = load_registry()
    readers = _scan_reading_checks()
    assert {"asm-gateways-present", "eastwest-gateway-options", "egress-routes-to-asm", "ingress-lb-weights",
            "cross-cluster-gateway-first", "istio-gateway-traffic", "pods-xds-agent", "network-consistency"} <= readers
    for check_id in readers:
        check = registry.checks[check_id]
        assert set(SCAN_KINDS) <= set(check.needs) | set(check.uses), check_id
