"""Where an audit's time goes (auditor/timing.py): each part its own time, a view charged to the views, not to the
check that happened to read it first. No speed is asserted here (targets live in bench/): only what is charged where,
with sleeps far longer than the bookkeeping."""

from __future__ import annotations

import time

from auditor import api, timing
from auditor import kinds as K
from auditor.check import ClusterCheck
from auditor.model import Gate, Outcome, Severity, Status
from auditor.timing import CHECK, VIEW, Clock

NAP = 0.05


def test_a_part_inside_another_is_charged_to_itself_alone():
    clock = Clock()
    with clock.part(CHECK, "outer"), clock.part(VIEW, "inner"):
        time.sleep(NAP)
    assert clock.seconds[(VIEW, "inner")] >= NAP
    assert clock.seconds[(CHECK, "outer")] < NAP / 2  # its own time only: the sleep was the view's


def test_parts_of_the_same_name_add_up():
    clock = Clock()
    for _ in range(2):
        with clock.part(CHECK, "again"):
            time.sleep(NAP / 2)
    assert clock.seconds[(CHECK, "again")] >= NAP
    assert clock.group(CHECK) == clock.seconds[(CHECK, "again")]


def test_outside_an_audit_nothing_is_timed():
    with timing.part(CHECK, "nobody"):  # no clock: a no-op, not an error
        pass
    with timing.audit_clock() as clock, timing.part(CHECK, "somebody"):
        pass
    assert list(clock.seconds) == [(CHECK, "somebody")]


class ReadsPodsSlowly(ClusterCheck):
    """Reads the pod frame (a view), then takes its time."""

    id = "test-reads-pods-slowly"
    title = "reads pods, then naps"
    gates = (Gate.ASSESSMENT,)
    severity = Severity.MINOR
    rationale = "r"
    remediation = "x"
    PASSED = Outcome("TST201", Status.PASS, "read them")
    outcomes = (PASSED,)
    needs = (K.POD,)

    def check_cluster(self, cluster, ctx):
        cluster.pods()
        time.sleep(NAP)
        yield self.report(self.PASSED, cluster.name, "read them")


def test_an_audit_says_where_its_time_went(demo_dir):
    result = api.run_audit(api.Target(snapshot=str(demo_dir)), phase="assessment", extra_checks=[ReadsPodsSlowly])
    timings = result.timings
    assert timings is not None
    groups = ("collect_s", "view_s", "check_s", "stamp_s", "engine_s")
    assert all(timings[g] >= 0 for g in groups)
    # The parts are each one's own: together they are the audit (engine_s is the rest), never more.
    assert sum(timings[g] for g in groups) <= timings["audit_s"] + 1e-6
    assert timings["collect_s"] > 0 and timings["check_s"] >= NAP
    assert timings["checks"]["test-reads-pods-slowly"] >= NAP
    # Every built-in check of the gate that ran is named, and nothing that is not a check.
    ran = set(result.findings["check_id"])
    assert ran - {"gate-selection"} <= set(timings["checks"]) <= {c["id"] for c in result.checks}
    # The pod frame is a view, built once, whichever check read it first; charged to the views.
    assert timings["views"]["pod_frame"] > 0
    assert list(timings["checks"].values()) == sorted(timings["checks"].values(), reverse=True)
