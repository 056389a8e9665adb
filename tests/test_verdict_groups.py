"""The per-gate verdicts and the fleet rows, counted over the whole findings frame (findings.verdicts_by_group), say
what slicing the frame per gate and per cluster and asking verdict_of / blocking_mask of each slice says: random
frames with exempt findings, --strict, --allow-unknown, gates without findings, gates outside the audit, mesh-wide
findings and --fail-on-new's relieved blockers."""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.findings import blocking_mask, findings_frame, verdict_of, verdicts_by_gate, worst
from auditor.fleet import overview
from auditor.inventory import ClusterInventory, Inventory
from auditor.model import Finding, Gate, Severity, Status, Verdict

CLUSTERS = ["a", "b", "asm", "mesh", "stray"]

findings_st = st.lists(st.builds(
    Finding, status=st.sampled_from(list(Status)), cluster=st.sampled_from(CLUSTERS), message=st.just("m"),
    severity=st.sampled_from(list(Severity)), gate=st.sampled_from([g.value for g in Gate]),
    check_id=st.sampled_from(["c1", "c2"]), exempt=st.booleans()), max_size=40)
gates_st = st.lists(st.sampled_from([g.value for g in Gate]), max_size=5, unique=True)


def _sliced_verdicts(frame: pd.DataFrame, gates: list[str], allow_unknown: bool, strict: bool) -> dict[str, Verdict]:
    """The old rule, one slice per gate."""
    return {g: verdict_of(frame[frame["gate"] == g], allow_unknown=allow_unknown, strict=strict) for g in gates}


def _relieved(sub: pd.DataFrame, relieved: pd.Series | None) -> tuple[pd.DataFrame, int]:
    if relieved is None or sub.empty:
        return sub, 0
    mask = relieved.reindex(sub.index, fill_value=False)
    return sub.assign(exempt=sub["exempt"] | mask), int(mask.sum())


def _sliced_row(sub: pd.DataFrame, gates: list[str], allow_unknown: bool, strict: bool,
                relieved: pd.Series | None, mesh_wide: pd.DataFrame | None = None) -> dict[str, Any]:
    """The fleet row, from the cluster's slice (blockers counted as its verdict counts them: --strict too). A data
    plane's (`mesh_wide`: the findings of no data plane) is judged per gate audited: its own slice of the gate
    (INCOMPLETE when empty: nothing proven of it there) and the mesh-wide slice of the gate (when not empty), the
    worse; the mesh row's over the gates it has findings of."""
    judged, accepted = _relieved(sub, relieved)
    if mesh_wide is None:
        present = [g for g in gates if (judged["gate"] == g).any()]
        by_gate = _sliced_verdicts(judged, present, allow_unknown, strict)
    else:
        mesh_judged = _relieved(mesh_wide, relieved)[0]
        by_gate = {}
        for g in gates:
            mine, theirs = judged[judged["gate"] == g], mesh_judged[mesh_judged["gate"] == g]
            by_gate[g] = worst([verdict_of(mine, allow_unknown=allow_unknown, strict=strict)] + (
                [verdict_of(theirs, allow_unknown=allow_unknown, strict=strict)] if not theirs.empty else []))
    verdict = worst(by_gate.values())
    status = sub["status"].astype(str)
    return {"verdict": verdict.value, "gate_verdicts": {g: v.value for g, v in by_gate.items()},
            "counts": {s.value: int((status == s.value).sum()) for s in Status},
            "blockers": int(blocking_mask(sub, strict).sum()) if not sub.empty else 0,
            "unknown": int(((status == "UNKNOWN") & ~sub["exempt"]).sum()),
            "exempt": int(sub["exempt"].sum()), "accepted_from_baseline": accepted}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(findings=findings_st, gates=gates_st, allow_unknown=st.booleans(), strict=st.booleans())
def test_gate_verdicts_are_verdict_of_each_gates_slice(findings, gates, allow_unknown, strict):
    frame = findings_frame(findings)
    assert verdicts_by_gate(frame, gates, allow_unknown=allow_unknown, strict=strict) == _sliced_verdicts(
        frame, gates, allow_unknown, strict)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(findings=findings_st, gates=gates_st, allow_unknown=st.booleans(), strict=st.booleans(),
       planes=st.lists(st.sampled_from(["a", "b", "stray-plane"]), max_size=3, unique=True), asm=st.booleans(),
       relieved_bits=st.none() | st.lists(st.booleans(), min_size=40, max_size=40))
def test_fleet_rows_are_what_each_clusters_slice_says(findings, gates, allow_unknown, strict, planes, asm,
                                                      relieved_bits):
    frame = findings_frame(findings)
    relieved = pd.Series(relieved_bits[:len(frame)], index=frame.index, dtype=bool) if relieved_bits else None
    inv = Inventory(data_planes=[ClusterInventory(name=n) for n in planes],
                    asm=ClusterInventory(name="asm") if asm else None)
    rows = overview(inv, frame, gates, allow_unknown=allow_unknown, strict=strict, relieved=relieved)
    cluster = frame["cluster"].astype(str)
    rest = frame[~cluster.isin(planes)]
    expected = [{"cluster": n, "role": "data-plane", **_sliced_row(frame[cluster == n], gates, allow_unknown, strict,
                                                                   relieved, rest)} for n in planes]
    if not rest.empty or asm:
        expected.append({"cluster": "asm" if asm else "mesh", "role": "asm",
                         **_sliced_row(rest, gates, allow_unknown, strict, relieved)})
        if rest.empty:
            expected[-1]["verdict"] = None
    keys = ["cluster", "role", "verdict", "gate_verdicts", "counts", "blockers", "unknown", "exempt",
            "accepted_from_baseline"]
    assert [{k: r[k] for k in keys} for r in rows] == [{k: r[k] for k in keys} for r in expected]
    # No data plane's row is better than the mesh-wide row at any gate (the run's verdict is the worst of the rows).
    order = {"NO-GO": 0, "INCOMPLETE": 1, "GO": 2}
    if not rest.empty:
        for row in rows[:len(planes)]:
            for g, v in row["gate_verdicts"].items():
                assert order[v] <= order[rows[-1]["gate_verdicts"].get(g, "GO")]


def test_a_fleet_row_by_example():
    """Literal numbers: cluster a has a blocking FAIL in assessment (exempt in setup) and an UNKNOWN; the mesh row
    has a WARN only; a gate outside the audit (finished) does not decide."""
    findings = [Finding(Status.FAIL, "a", "m", severity=Severity.MAJOR, gate="assessment"),
                Finding(Status.FAIL, "a", "m", severity=Severity.BLOCKER, gate="setup", exempt=True),
                Finding(Status.UNKNOWN, "a", "m", severity=Severity.MINOR, gate="setup"),
                Finding(Status.FAIL, "a", "m", severity=Severity.BLOCKER, gate="finished"),
                Finding(Status.WARN, "asm", "m", severity=Severity.MINOR, gate="setup")]
    frame = findings_frame(findings)
    inv = Inventory(data_planes=[ClusterInventory(name="a"), ClusterInventory(name="b")],
                    asm=ClusterInventory(name="asm"))
    relieved = pd.Series([True, False, False, False, False], index=frame.index)
    rows = overview(inv, frame, ["assessment", "setup"], relieved=relieved)
    assert [(r["cluster"], r["verdict"], r["blockers"], r["unknown"], r["exempt"], r["accepted_from_baseline"],
             r["counts"]["FAIL"]) for r in rows] == [
        ("a", "INCOMPLETE", 2, 1, 1, 1, 3), ("b", "INCOMPLETE", 0, 0, 0, 0, 0), ("asm", "GO", 0, 0, 0, 0, 0)]
    assert verdicts_by_gate(frame, ["assessment", "setup", "uninstall"]) == {
        "assessment": Verdict.NO_GO, "setup": Verdict.INCOMPLETE, "uninstall": Verdict.INCOMPLETE}
    assert verdicts_by_gate(frame, ["setup"], allow_unknown=True) == {"setup": Verdict.GO}
    assert verdicts_by_gate(frame, ["setup"], strict=True) == {"setup": Verdict.NO_GO}  # the mesh-wide WARN
