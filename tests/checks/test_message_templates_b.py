"""Message templates of the checks in part B of issue 13 (the other part is t13a's): every outcome carries an English
template with named fields only, and every finding is made from one (report with params), so a renderer can say it
in another language. An AST scan of the modules: a free-text finding helper or a report without params fails here."""

from __future__ import annotations

import ast
import importlib
import inspect
import string
from pathlib import Path

import pytest

from auditor.check import Check

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("migration", "mesh_config", "workloads", "sidecars", "xds_agent", "restart_risk", "residue", "topology",
           "config_import", "cni", "gitops", "stuck_jobs")
FREE_TEXT_HELPERS = {"fail", "warn", "unknown", "passed", "not_applicable", "finding"}


def checks_of(module_name: str) -> list[type[Check]]:
    module = importlib.import_module(f"checks.{module_name}")
    return [cls for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, Check) and cls.__module__ == module.__name__ and getattr(cls, "id", None)]


def fields(template: str) -> list[str | None]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


@pytest.mark.parametrize("module_name", MODULES)
def test_every_outcome_has_a_template_with_named_fields_only(module_name):
    checks = checks_of(module_name)
    assert checks, module_name
    for check in checks:
        for outcome in check.outcomes:
            assert outcome.message.strip(), (check.id, outcome.code)
            for name in fields(outcome.message) + fields(outcome.fix):
                assert name and name.isidentifier(), (check.id, outcome.code, name)  # no {}, {0}, {a.b}, {a[0]}


@pytest.mark.parametrize("module_name", MODULES)
def test_every_finding_is_reported_from_a_template(module_name):
    tree = ast.parse((ROOT / "checks" / f"{module_name}.py").read_text())
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)]
    free = [(node.lineno, node.func.attr) for node in calls if node.func.attr in FREE_TEXT_HELPERS]
    assert free == [], f"checks/{module_name}.py makes free-text findings"
    reports = [node for node in calls if node.func.attr == "report"]
    without_params = [node.lineno for node in reports if not any(k.arg == "params" for k in node.keywords)]
    assert without_params == [], f"checks/{module_name}.py: report() without params"
    # The message is the template: a positional message after the cluster would be free text again.
    assert [node.lineno for node in reports if len(node.args) > 2] == []

