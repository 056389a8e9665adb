"""Outcome message templates: a finding made from one carries its params, so it can be said in another language."""

from __future__ import annotations

import pytest

from auditor.check import Check
from auditor.model import Gate, Outcome, Severity, Status


class _Probe(Check):
    id = "probe"
    title = "probe"
    gates = (Gate.ASSESSMENT,)
    severity = Severity.MAJOR
    rationale = "test"
    remediation = "test"
    LEFT = Outcome("ZZ1210", Status.FAIL, "pods left", message="{total} pod(s) left in {namespace}",
                   fix="kubectl -n {namespace} rollout restart deploy/{name}")
    FREE = Outcome("ZZ1211", Status.FAIL, "free text")
    outcomes = (LEFT, FREE)


def test_params_fill_message_and_fix_and_stay_on_the_finding() -> None:
    f = _Probe().report(_Probe.LEFT, "c1", params={"total": 3, "namespace": "shop", "name": "cart"})
    assert (f.message, f.remediation) == ("3 pod(s) left in shop", "kubectl -n shop rollout restart deploy/cart")
    assert (f.code, f.status, f.params) == ("ZZ1210", Status.FAIL, {"total": 3, "namespace": "shop", "name": "cart"})


def test_an_explicit_remediation_wins_over_the_fix_template() -> None:
    f = _Probe().report(_Probe.LEFT, "c1", params={"total": 1, "namespace": "a", "name": "b"}, remediation="do x")
    assert f.remediation == "do x"


def test_free_text_findings_have_no_params_and_params_need_a_template() -> None:
    assert _Probe().report(_Probe.FREE, "c1", "said freely").params is None
    with pytest.raises(ValueError):
        _Probe().report(_Probe.FREE, "c1", params={"x": 1})
