"""restart-risk: a Deployment whose rolling update may stop every pod at once (red20i).

The seed's label patch rolls the Deployment with its own strategy. The Deployment controller resolves maxSurge
(rounded up) and maxUnavailable (rounded down) against spec.replicas, making maxUnavailable 1 when both come to 0,
capped at the replica count (kubernetes/kubernetes@00bdb3fade2e pkg/controller/deployment/util/deployment_util.go
ResolveFenceposts, MaxUnavailable; unchanged since), and scales the old ReplicaSet down to replicas - maxUnavailable
available pods without waiting for a new pod to be ready (kubernetes/kubernetes@03e060242dcb
pkg/controller/deployment/rolling.go reconcileOldReplicaSets and scaleDownOldReplicaSetsForRollingUpdate: minAvailable
= spec.replicas - maxUnavailable). With maxUnavailable at or above the replica count that floor is 0: every Istio pod
stops at once, as with strategy Recreate. The defaults the API server writes (pkg/apis/apps/v1/defaults.go
SetDefaults_Deployment: RollingUpdate, 25%/25%) never do. main scored such a workload 0 (preStop, a PDB, grace above
the drain): PASS AA1401, "can restart without expected traffic loss".
"""

from __future__ import annotations

import pytest

from tests import factory as f


def pdb(name: str) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": f.meta(f"{name}-pdb", "shop"),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": name}}}}


def rolled(name: str, replicas: int, rolling: dict | None) -> list[dict]:
    """A Deployment as kubectl returns it (strategy defaulted by the API server, rollingUpdate as written), its pods
    otherwise safe: preStop, grace 30s above the 5s drain, a PodDisruptionBudget, plain HTTP."""
    dep = f.deployment(name, replicas=replicas)
    dep[0]["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": rolling or {"maxSurge": "25%",
                                                                                       "maxUnavailable": "25%"}}
    return [*dep, *f.workload_pods(dep, replicas, prestop=True), pdb(name)]


@pytest.mark.parametrize(("replicas", "rolling"), [
    (3, {"maxSurge": "25%", "maxUnavailable": "100%"}),
    (2, {"maxSurge": 0, "maxUnavailable": 2}),
    (4, {"maxSurge": 1, "maxUnavailable": 5}),  # capped at replicas (MaxUnavailable)
])
def test_every_pod_at_once_is_high_enough_to_warn(audit, replicas, rolling):
    run = audit({"c1": rolled("cart", replicas, rolling)}, "migrating")
    rows = run.by_name("restart-risk")
    cart = rows["cart"]  # main: no finding of cart, and the plan PASS AA1401
    assert (cart["status"], cart["code"], cart["evidence"]["score"]) == ("WARN", "AA1420", 3)
    assert cart["evidence"]["reasons"][0].startswith("+3 rolling update with maxUnavailable")
    assert "maxUnavailable below the replica count" in cart["remediation"]
    assert (rows[""]["status"], rows[""]["code"]) == ("WARN", "AA1422")


def test_defaults_and_partial_rolls_stay_low_risk(audit):
    objects = [*rolled("cart", 3, None),  # 25%/25% of 3: surge 1, unavailable 0
               *rolled("web", 4, {"maxSurge": "25%", "maxUnavailable": "50%"})]  # 2 of 4 stop: 2 serve
    [plan] = audit({"c1": objects}, "migrating").rows("restart-risk")
    assert (plan["status"], plan["code"]) == ("PASS", "AA1401")


@pytest.mark.parametrize(("spec", "expected"), [
    ({"replicas": 1, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}},
     (1, 1)),
    # Both resolve to 0 (10% of 1 rounded down, surge 0): ResolveFenceposts makes maxUnavailable 1.
    ({"replicas": 1, "strategy": {"rollingUpdate": {"maxSurge": "0%", "maxUnavailable": "10%"}}}, ("10%", 1)),
    ({"replicas": 1, "strategy": {"type": "RollingUpdate"}}, None),  # 25%/25%: surge 1 first, then the old one
    ({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "100%"}}}, ("100%", 1)),
    ({"replicas": 3, "strategy": {"type": "Recreate"}}, None),  # scored as Recreate
    ({"replicas": 3, "strategy": {"rollingUpdate": {"maxUnavailable": "lots"}}}, None),  # no number: not judged
])
def test_all_at_once_resolves_as_the_deployment_controller(spec, expected):
    from checks.restart_risk import all_at_once  # (new in red20i: imported here, so the audits above run on main)

    assert all_at_once(spec) == expected


def test_all_at_once_answers_each_value_for_itself_whatever_was_asked_before():
    """speed21 resolves each distinct (maxUnavailable, maxSurge, replicas) once: 1, True and 1.0 hash alike, and only 1
    is a count (_int_or_percent); an unhashable value is resolved as before (not kept), whichever came first."""
    from checks.restart_risk import all_at_once

    def spec(unavailable: object) -> dict:
        return {"replicas": 1, "strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": unavailable}}}

    for order in ([1, True, 1.0, [1]], [[1], 1.0, True, 1]):
        answers = {repr(value): all_at_once(spec(value)) for value in order}
        assert answers == {"1": (1, 1), "True": None, "1.0": None, "[1]": None}


# ------------------------------------------------------------------ DaemonSets (red22f)
# kubernetes/api@v0.31.0 apps/v1/types.go RollingUpdateDaemonSet: maxUnavailable "a percentage of total number of
# DaemonSet pods at the start of the update ... calculated from percentage by rounding up", of
# status.desiredNumberScheduled (default 1); maxSurge (default 0) ... "cannot be 0 if MaxUnavailable is 0". With
# maxUnavailable at or above desiredNumberScheduled every node's pod stops at once. main read only Deployments'.
def rolled_daemonset(name: str, nodes: int, rolling: dict | None) -> list[dict]:
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": f.meta(name, "shop", {"app": name}),
          "spec": {"selector": {"matchLabels": {"app": name}},
                   "updateStrategy": {"type": "RollingUpdate",
                                      "rollingUpdate": rolling or {"maxUnavailable": 1, "maxSurge": 0}},
                   "template": {"metadata": {"labels": {"app": name}},
                                "spec": {"terminationGracePeriodSeconds": 30,
                                         "containers": [{"name": "agent", "image": "registry.example.com/agent:1"}]}}},
          "status": {"desiredNumberScheduled": nodes, "currentNumberScheduled": nodes, "numberReady": nodes,
                     "numberAvailable": nodes, "updatedNumberScheduled": nodes, "observedGeneration": 1}}
    pods = [f.pod(f"{name}-{i}", "shop", owner=("DaemonSet", name), labels={"app": name}, prestop=True)
            for i in range(nodes)]
    return [ds, *pods, pdb(name)]


@pytest.mark.parametrize("rolling", [{"maxUnavailable": "100%", "maxSurge": 0}, {"maxUnavailable": 3},
                                     {"maxUnavailable": "90%"}])  # 90% of 3 rounded up: 3
def test_a_daemonset_stopping_every_pod_at_once_warns(audit, rolling):
    run = audit({"c1": rolled_daemonset("node-agent", 3, rolling)}, "migrating")
    rows = run.by_name("restart-risk")
    agent = rows["node-agent"]  # main: no finding, the plan PASS AA1401
    assert (agent["status"], agent["code"], agent["evidence"]["score"]) == ("WARN", "AA1420", 3)


def test_daemonsets_rolling_some_nodes_at_a_time_or_on_one_node_stay_low_risk(audit):
    objects = [*rolled_daemonset("node-agent", 3, None), *rolled_daemonset("log-agent", 4, {"maxUnavailable": "50%"}),
               *rolled_daemonset("surge-agent", 3, {"maxUnavailable": 0, "maxSurge": "100%"}),
               *rolled_daemonset("one-node", 1, {"maxUnavailable": "100%"})]
    [plan] = audit({"c1": objects}, "migrating").rows("restart-risk")
    assert (plan["status"], plan["code"]) == ("PASS", "AA1401")
