"""network-consistency for a remote cluster whose network is named only in its primary's meshNetworks.

The older multi-network way (istio.io content/en/docs/setup/install/multicluster/shared/index.md, "Shared control
plane (single and multiple networks)"): the primary's `values.global.meshNetworks` gives the remote's network as
`<network>: {endpoints: [{fromRegistry: <remote cluster name>}]}`, the name `istioctl x create-remote-secret --name`
gives the remote (the remote secret's data key is the registry's cluster ID: addRemoteConfig,
pkg/kube/multicluster/secretcontroller.go @1.30.3; the primary's istiod puts a registry's endpoints on the network whose
fromRegistry names it: reloadMeshNetworks / networkFromMeshNetworks, pilot/pkg/serviceregistry/kube/controller/
network.go @1.30.3, after the pod label and the remote's istio-system label: Controller.Network, controller.go).
The chart renders it as the mesh ConfigMap's `meshNetworks` key (istio-discovery/templates/configmap.yaml @1.30.3).

What of the remote names it: its injector webhook's path `/inject/cluster/<name>` (istiodRemote.injectionPath, as the
primary-remote guides write it: istio.io content/en/docs/setup/install/multicluster/primary-remote_multi-network/
index.md), which gives the pods injected through it ISTIO_META_CLUSTER_ID (URLParameterToEnv, pkg/kube/inject/
webhook.go @1.30.3); their proxies present it to istiod, which authenticates them only against the registry of that
cluster ID (KubeJWTAuthenticator.getKubeClient, security/pkg/server/ca/authenticate/kubeauth/kube_jwt.go @1.30.3) or
an alias of it (--clusterAliases, pilot/cmd/pilot-discovery/app/cmd.go @1.30.3).

Main said WARN AA1920 for such a remote when ASM gives it a network (Istio "gives it none"): a GO whatever ASM's
network, also one that differs from the primary's meshNetworks entry; and N/A AA1940 when ASM gives it none.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import factory as f
from tests.checks.test_remote import fleet, primary_cluster, remote_cluster, rows

CHECK = "network-consistency"
MESH_NETWORKS = """networks:
  network1:
    endpoints:
    - fromRegistry: cluster1
    gateways:
    - registryServiceName: istio-eastwestgateway.istio-system.svc.cluster.local
      port: 15443
  network2:
    endpoints:
    - fromRegistry: {remote}
    gateways:
    - registryServiceName: istio-eastwestgateway.istio-system.svc.cluster.local
      port: 15443
"""


def primary_with_mesh_networks(remote_name: str = "cluster2", *, aliases: str | None = None,
                               external: bool = True) -> list[dict[str, Any]]:
    objs = primary_cluster("cluster1", external=external)
    cm = next(o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "istio")
    cm["data"]["meshNetworks"] = MESH_NETWORKS.format(remote=remote_name)
    if aliases:
        for obj in objs:
            if obj["kind"] == "Deployment" and obj["metadata"]["labels"].get("app") == "istiod":
                obj["spec"]["template"]["spec"]["containers"][0].setdefault("args", []).append(
                    f"--clusterAliases={aliases}")
    return objs


def remote_named(path: str = "/inject/cluster/cluster2", annotation: str | None = "cluster1"
                 ) -> list[dict[str, Any]]:
    """The remote (no istio-system network label, no network in its injection path or values): its injector
    webhook's path as `istiodRemote.injectionPath` gives it."""
    objs = remote_cluster(annotation)
    for obj in objs:
        if obj["kind"] == "MutatingWebhookConfiguration":
            for hook in obj["webhooks"]:
                hook["clientConfig"]["service"]["path"] = path
    return objs


def asm(remote_network: str) -> dict[str, Any]:
    return {**f.only_checks(CHECK), "asm": {"networks": {"primary": "network1", "remote": remote_network}}}


@pytest.mark.parametrize("remote_first", [False, True])
def test_remote_judged_by_its_primarys_mesh_networks(audit, remote_first):
    """Main: WARN AA1920 both times, a GO even where ASM's network differs from Istio's."""
    a = audit(fleet(remote_first, primary=primary_with_mesh_networks(), remote=remote_named()), "migrating",
              config=asm("network3"))
    assert rows(a, CHECK, "primary") == [("PASS", "AA1901")]
    assert rows(a, CHECK, "remote") == [("FAIL", "AA1910")]
    assert a.result.verdict.value == "NO-GO"

    a = audit(fleet(remote_first, primary=primary_with_mesh_networks(), remote=remote_named()), "migrating",
              config=asm("network2"))
    assert rows(a, CHECK, "remote") == [("PASS", "AA1901")]
    assert a.result.verdict.value == "GO"


def test_every_gate_judges_the_remote(audit):
    a = audit({"primary": primary_with_mesh_networks(), "remote": remote_named()}, "all", config=asm("network3"))
    remote = sorted((r["gate"], r["status"], r["code"]) for r in a.rows(CHECK) if r["cluster"] == "remote")
    assert remote == [("migrating", "FAIL", "AA1910"), ("uninstall", "FAIL", "AA1910")]


@pytest.mark.parametrize("case", ["no-cluster-in-path", "other-name", "no-annotation", "two-control-planes",
                                  "not-external", "aliases"])
def test_unproven_stays_as_today(audit, case):
    """Without the proof of the remote's Istio cluster name, or of the link to the primary, the remote stays WARN
    AA1920 as before (its Istio network is not known from what is read)."""
    primary = primary_with_mesh_networks(aliases="cluster2=cluster9" if case == "aliases" else None,
                                         external=case != "not-external")
    remote = remote_named(path={"no-cluster-in-path": "/inject", "other-name": "/inject/cluster/cluster7"}.get(
        case, "/inject/cluster/cluster2"), annotation={"no-annotation": None, "two-control-planes": "cluster1,c9"}.get(
        case, "cluster1"))
    a = audit({"primary": primary, "remote": remote}, "migrating", config=asm("network3"))
    assert rows(a, CHECK, "remote") == [("WARN", "AA1920")]


def test_a_remote_that_asm_gives_no_network(audit):
    """ASM gives the remote no network while the primary's meshNetworks gives it one: judged as a cluster with a
    network of its own (FAIL AA1911; UNKNOWN AA1930 with no ASM side at all). Main: N/A AA1940, counted toward GO.
    Unproven (the injector names no cluster): N/A as before."""
    only_primary = {**f.only_checks(CHECK), "asm": {"networks": {"primary": "network1"}}}
    a = audit({"primary": primary_with_mesh_networks(), "remote": remote_named()}, "migrating", config=only_primary)
    assert rows(a, CHECK, "remote") == [("FAIL", "AA1911")]
    assert a.result.verdict.value == "NO-GO"
    a = audit({"primary": primary_with_mesh_networks(), "remote": remote_named()}, "migrating",
              config=f.only_checks(CHECK))
    assert rows(a, CHECK, "remote") == [("UNKNOWN", "AA1930")]
    a = audit({"primary": primary_with_mesh_networks(), "remote": remote_named("/inject")}, "migrating",
              config=only_primary)
    assert rows(a, CHECK, "remote") == [("NOT_APPLICABLE", "AA1940")]


def test_two_networks_naming_the_remote(audit):
    """Two meshNetworks entries name the remote: istiod keeps the first it meets in a map (reloadMeshNetworks warns
    "multiple networks specify"), so ASM's network equal to one of them is no PASS (UNKNOWN AA1937), and one equal to
    neither is a FAIL. Main: WARN AA1920 both times."""
    primary = primary_with_mesh_networks()
    cm = next(o for o in primary if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "istio")
    cm["data"]["meshNetworks"] += "  network4:\n    endpoints:\n    - fromRegistry: cluster2\n"
    a = audit({"primary": primary, "remote": remote_named()}, "migrating", config=asm("network2"))
    assert rows(a, CHECK, "remote") == [("UNKNOWN", "AA1937")]
    a = audit({"primary": primary, "remote": remote_named()}, "migrating", config=asm("network3"))
    assert rows(a, CHECK, "remote") == [("FAIL", "AA1910")]
