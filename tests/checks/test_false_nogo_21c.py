"""False NO-GOs on healthy installs (red21c): each healthy shape no longer blocks, its broken twin still does.

1. kubernetes-version: an API server built without version stamping answers /version with Kubernetes' own fallback,
   gitVersion "v0.0.0-master+$Format:%H$" and gitMajor/gitMinor "" (kubernetes/kubernetes@0abf1fc0
   staging/src/k8s.io/component-base/version/base.go; the shape below is that answer as /version serves it). Main read
   it as Kubernetes 0.0: FAIL AA0110 "older than 1.21", a NO-GO on a cluster of any age. Now UNKNOWN AA0133.
"""

from __future__ import annotations

import pytest

from tests import factory as f

UNSTAMPED = {"major": "", "minor": "", "gitVersion": "v0.0.0-master+$Format:%H$", "gitCommit": "$Format:%H$",
             "gitTreeState": "", "buildDate": "1970-01-01T00:00:00Z", "goVersion": "go1.22.5", "compiler": "gc",
             "platform": "linux/amd64"}


# ---------------------------------------------------------------- kubernetes-version
@pytest.mark.parametrize("git_version", ["v0.0.0-master+$Format:%H$", "v0.0.0", "v0.0.0-master+4f3e1a2b"])
def test_an_unstamped_version_is_unknown_not_kubernetes_0_0(audit, git_version):
    run = audit({"c1": []}, "assessment", versions={"c1": {**UNSTAMPED, "gitVersion": git_version}})
    [row] = run.rows("kubernetes-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0133")  # main: FAIL AA0110 "Kubernetes 0.0"
    assert row["severity"] == "blocker" and run.result.verdict != "GO"  # not told is not a pass


def test_major_minor_zero_is_no_release_either(audit):
    [row] = audit({"c1": []}, "assessment", versions={"c1": {**UNSTAMPED, "major": "0", "minor": "0"}}).rows(
        "kubernetes-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0133")  # main: FAIL AA0110


@pytest.mark.parametrize(("major", "minor", "status", "code"), [("1", "29+", "PASS", "AA0101"),
                                                              ("1", "20", "FAIL", "AA0110")])
def test_an_unstamped_git_version_falls_back_to_stamped_major_minor(audit, major, minor, status, code):
    info = {**UNSTAMPED, "major": major, "minor": minor}
    [row] = audit({"c1": []}, "assessment", versions={"c1": info}).rows("kubernetes-version")
    assert (row["status"], row["code"]) == (status, code)


@pytest.mark.parametrize(("git_version", "code"), [("v1.20.15", "AA0110"), ("v0.21.4", "AA0110"),
                                                   ("v1.30.4-aliyun.1", "AA0101")])
def test_real_releases_are_judged_as_before(audit, git_version, code):
    """A stamped old release still blocks (v0.21.4 was a real 2015 release: older than 1.21)."""
    [row] = audit({"c1": []}, "assessment", versions={"c1": f.version_info(git_version)}).rows("kubernetes-version")
    assert row["code"] == code
