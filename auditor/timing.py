"""Where an audit's time goes: reading the clusters, the inventory's views, each check's own work, the engine's.

The inventory builds its views (the pod frame, the name indexes, the gateway scan, the label walks...) on first read,
so the first check to ask pays for a view every later reader shares: timed alone, that check looks slow for work
that is not its own. Each part here is its own time, what it spent inside another part taken out (`Clock.part`
nests), so the parts add up to the audit and a view is charged to the views, not to whichever check asked first.

bench/run.py reports these shares (issue 18's "checks <= 10% of audit time"); nothing else reads them to decide.
A clock is kept per audit in a context variable: a view built in a reader thread (live collection) is not timed.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

# The groups, in the order they are reported: reading the clusters, the inventory's views, the checks' own work, the
# engine's stamping of the findings (the rest of the audit is the engine's too: see Clock.summary).
COLLECT, VIEW, CHECK, STAMP = "collect", "view", "check", "stamp"


@dataclass
class Clock:
    """Seconds per (group, name), each part's own: the time of the parts begun inside it is not in it."""

    seconds: dict[tuple[str, str], float] = field(default_factory=dict)
    _inner: list[float] = field(default_factory=list)  # per open part: the time spent in parts begun inside it

    @contextlib.contextmanager
    def part(self, group: str, name: str) -> Iterator[None]:
        inner = self._inner
        inner.append(0.0)
        start = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - start
            own = spent - inner.pop()
            if inner:
                inner[-1] += spent
            key = (group, name)
            self.seconds[key] = self.seconds.get(key, 0.0) + own

    def group(self, group: str) -> float:
        return sum(s for (g, _), s in self.seconds.items() if g == group)

    def summary(self, audit_s: float) -> dict[str, object]:
        """Seconds per group (`engine_s`: the rest of `audit_s`), and per check and per view, slowest first."""
        groups = {f"{g}_s": round(self.group(g), 6) for g in (COLLECT, VIEW, CHECK, STAMP)}
        timed = sum(groups.values())
        return {"audit_s": round(audit_s, 6), **groups, "engine_s": round(max(audit_s - timed, 0.0), 6),
                "checks": _slowest(self.seconds, CHECK), "views": _slowest(self.seconds, VIEW)}


def _slowest(seconds: dict[tuple[str, str], float], group: str) -> dict[str, float]:
    parts = sorted(((s, n) for (g, n), s in seconds.items() if g == group), reverse=True)
    return {name: round(s, 6) for s, name in parts}


_CLOCK: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("asm_audit_clock", default=None)


@contextlib.contextmanager
def audit_clock() -> Iterator[Clock]:
    """A clock for the audit run inside the block (part() times into it)."""
    clock = Clock()
    token = _CLOCK.set(clock)
    try:
        yield clock
    finally:
        _CLOCK.reset(token)


def part(group: str, name: str) -> contextlib.AbstractContextManager[None]:
    """Time the block as `name` of `group` on the current audit's clock; nothing without one."""
    clock = _CLOCK.get()
    return clock.part(group, name) if clock is not None else contextlib.nullcontext()
