"""Loading checks through the `asm_audit.checks` entry point group (built-ins register the same way).

An entry point names a Check subclass or an iterable of them. Nothing registers on import.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from auditor.check import ENGINE_OUTCOMES, Check
from auditor.model import CODE_PATTERN, Gate, Outcome, Severity

ENTRY_POINT_GROUP = "asm_audit.checks"


@dataclass
class Registry:
    checks: dict[str, type[Check]] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # plugin name -> why it did not load

    def ordered(self) -> list[type[Check]]:
        return list(self.checks.values())

    def codes(self) -> dict[str, tuple[str, Outcome]]:
        """Every declared finding code -> (check id, outcome); the engine's own codes under "engine"."""
        out: dict[str, tuple[str, Outcome]] = {o.code: ("engine", o) for o in ENGINE_OUTCOMES}
        for cls in self.checks.values():
            out.update({o.code: (cls.id, o) for o in cls.outcomes})
        return out


def validate_check(cls: Any) -> str | None:
    """Why a class is not a usable check, or None."""
    if not (inspect.isclass(cls) and issubclass(cls, Check)):
        return f"{cls!r} is not a Check subclass"
    for attr in ("id", "title", "gates", "severity", "rationale", "remediation"):
        if not getattr(cls, attr, None):
            return f"{cls.__name__} has no {attr}"
    if not all(isinstance(g, Gate) for g in cls.gates):
        return f"{cls.__name__}.gates must be Gate values"
    if not isinstance(cls.severity, Severity):
        return f"{cls.__name__}.severity must be a Severity"
    if not cls.outcomes:
        return f"{cls.__name__} declares no outcomes (codes)"
    for outcome in cls.outcomes:
        if not isinstance(outcome, Outcome) or not re.fullmatch(CODE_PATTERN, outcome.code):
            return f"{cls.__name__}: outcome {outcome!r} needs a code like AB1234"
        if not outcome.meaning:
            return f"{cls.__name__}: outcome {outcome.code} has no meaning"
    return None


def _add(registry: Registry, origin: str, obj: Any) -> None:
    candidates = obj if isinstance(obj, list | tuple) else [obj]
    # Every code taken so far, kept up to date as checks are added (built anew per check, it was ~0.5 ms of each audit
    # for the 29 built-in checks).
    taken = registry.codes()
    for cls in candidates:
        problem = validate_check(cls)
        if problem:
            registry.broken[origin] = problem
            continue
        if cls.id in registry.checks and registry.checks[cls.id] is not cls:
            registry.broken[f"{origin}:{cls.id}"] = f"duplicate check id {cls.id!r}"
            continue
        clash = next((o.code for o in cls.outcomes if o.code in taken and taken[o.code][0] != cls.id), None)
        if clash:
            registry.broken[f"{origin}:{cls.id}"] = f"code {clash} already belongs to {taken[clash][0]}"
            continue
        registry.checks[cls.id] = cls
        taken.update({o.code: (cls.id, o) for o in cls.outcomes})


def load_registry(extra: list[type[Check]] | None = None) -> Registry:
    registry = Registry()
    eps = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name != "builtin", e.name))
    if not any(ep.name == "builtin" for ep in eps):
        # Running from a source tree that was never installed: same list the entry point names.
        from checks import BUILTIN_CHECKS

        _add(registry, "builtin", BUILTIN_CHECKS)
    for ep in eps:
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not take the audit down
            registry.broken[ep.name] = f"failed to load {ep.value}: {type(exc).__name__}: {exc}"
            continue
        _add(registry, ep.name, obj)
    for cls in extra or ():
        _add(registry, cls.__module__, cls)
    return registry
