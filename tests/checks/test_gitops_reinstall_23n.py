"""gitops-reinstall (fix23n, after review23b): Fleet Bundles kept in OCI, umbrella charts, KubeVela topologies that
include the hub.

Shapes as the controllers write them (read from upstream, not copied):
- Fleet Bundle with OCI storage: rancher/fleet@v0.16.1 internal/cmd/cli/apply/apply.go saveOCIBundle sets
  spec.resources nil and spec.contentsId to the manifest id (with an OCI registry secret; internal/ocistorage/
  ociwrapper.go OCIIsEnabled: on unless OCI_STORAGE is false); reconciler/bundle_controller.go sets
  status.ociReference and status.resourceKey nil (v0.13 and later).
- Umbrella chart: Chart.yaml dependencies[]{name, version, repository, alias, condition} (helm/helm@v3.18.4
  pkg/chart/dependency.go); `helm dependency update` (fleet apply runs it in a chart's directory: fleet@v0.16.1
  internal/bundlereader/loaddirectory.go) writes charts/<name>-<version>.tgz (helm pkg/chartutil/save.go), and Helm
  loads every chart under charts/ as a subchart (pkg/chart/loader/load.go).
- Fleet manifests: a `kind: List` document (v1 List, items[]), JSON files (bundle resources keep the file names).
- KubeVela topology: kubevela/kubevela@v1.10.9 pkg/policy/topology.go GetPlacementsFromTopologyPolicies (clusters
  first, else clusterLabelSelector, else local; every topology policy adds its placements), the selector listing
  through oam-dev/cluster-gateway pkg/apis/cluster/v1alpha1/virtualcluster_client.go List, which starts from the
  local cluster (labelled cluster.core.oam.dev/control-plane=true: virtualcluster_types.go newVirtualCluster).
"""

from __future__ import annotations

import json
from typing import Any

from tests import factory as f
from tests.checks.test_gitops_reinstall_23e import ISTIO_CHARTS, ISTIOD_OBJECTS, bundle, gz, rows, vela


def finished_verdict(audit, objects: list[dict[str, Any]]) -> str:
    run = audit({"c1": objects}, "finished", asm=[f.migration_cr("Finished", "Finished")],
                config={"snapshot": {"max_age": None}})
    return run.result.verdict.value


# --- 1. a Bundle whose contents are in an OCI registry -----------------------------------------------------------
def oci_bundle(name: str, namespace: str = "fleet-local", **kw: Any) -> dict[str, Any]:
    obj = bundle(name, namespace, **kw)
    obj["spec"].pop("resources")  # saveOCIBundle: bundle.Spec.Resources = nil (omitempty)
    obj["spec"]["contentsId"] = "s-5c1e0d7b9a3f"
    obj["status"]["ociReference"] = "oci://registry.example.com/fleet/s-5c1e0d7b9a3f"
    return obj


def test_a_bundle_kept_in_oci_is_unknown_not_a_go(audit):
    assert rows(audit, [oci_bundle("mesh-istiod")]) == [("UNKNOWN", "AA3037", "mesh-istiod")]  # main: N/A AA3040
    assert finished_verdict(audit, [oci_bundle("mesh-istiod")]) == "INCOMPLETE"  # main: GO
    # A downstream workspace's: its contents and its clusters are both unknown here.
    assert rows(audit, [oci_bundle("mesh-istiod", "fleet-default")]) == [("UNKNOWN", "AA3037", "mesh-istiod")]
    # spec.helm stays on the Bundle (only the resources move to OCI): istiod named there still fails.
    assert rows(audit, [oci_bundle("mesh", helm={"chart": "istiod", "repo": ISTIO_CHARTS})]) == [
        ("FAIL", "AA3014", "mesh")]
    # Contents in the Bundle and none of Istio's: a pass, as before.
    assert rows(audit, [bundle("web", resources=[{"name": "web/deploy.yaml", "content": "kind: Deployment\n"}])]) \
        == [("PASS", "AA3001", "")]


# --- 2. an umbrella chart -----------------------------------------------------------------------------------------
def umbrella(name: str, dependencies: str, extra: list[dict[str, str]] | None = None) -> dict[str, Any]:
    chart = f"apiVersion: v2\nname: {name}\nversion: 1.0.0\ndependencies:\n{dependencies}"
    return bundle(name, resources=[{"name": f"{name}/Chart.yaml", "content": gz(chart), "encoding": "base64+gz"},
                                   {"name": f"{name}/values.yaml", "content": gz("istiod:\n  enabled: true\n"),
                                    "encoding": "base64+gz"}, *(extra or [])])


def archive(path: str) -> dict[str, str]:
    return {"name": path, "content": gz("not read"), "encoding": "base64+gz"}


def test_an_umbrella_chart_depending_on_istiod_fails(audit):
    istiod = umbrella("mesh", f"- name: istiod\n  version: 1.24.6\n  repository: {ISTIO_CHARTS}\n"
                              "  condition: istiod.enabled\n", [archive("mesh/charts/istiod-1.24.6.tgz")])
    assert rows(audit, [istiod]) == [("FAIL", "AA3014", "mesh")]  # main: N/A AA3040
    assert finished_verdict(audit, [istiod]) == "NO-GO"  # main: GO
    mirrored = umbrella("cp", "- name: istiod\n  alias: control-plane\n  version: 1.24.6\n"
                              "  repository: oci://registry.example.com/mirror/charts\n")
    assert rows(audit, [mirrored]) == [("FAIL", "AA3014", "cp")]
    # A chart archive under charts/ is rendered whether Chart.yaml lists it or not.
    vendored = bundle("vendored", resources=[
        {"name": "vendored/Chart.yaml", "content": gz("apiVersion: v2\nname: vendored\nversion: 0.1.0\n"),
         "encoding": "base64+gz"}, archive("vendored/charts/istiod-1.24.6.tgz")])
    assert rows(audit, [vendored]) == [("FAIL", "AA3014", "vendored")]
    # Istio's base chart (CRDs, no istiod) and another chart are no control plane.
    base = umbrella("crds", f"- name: base\n  version: 1.24.6\n  repository: {ISTIO_CHARTS}\n",
                    [archive("crds/charts/base-1.24.6.tgz")])
    web = umbrella("web", "- name: podinfo\n  version: 6.7.1\n  repository: https://stefanprodan.github.io/podinfo\n",
                   [archive("web/charts/podinfo-6.7.1.tgz")])
    assert rows(audit, [base, web]) == [("PASS", "AA3001", "")]


# --- 3. Fleet manifests: a List, JSON ---------------------------------------------------------------------------
def test_a_fleet_manifest_list_or_json_holding_istiod_fails(audit):
    istiod = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "istiod",
                                                                         "namespace": "istio-system"}}
    listed = "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        f"- {json.dumps(obj)}\n" for obj in ({"apiVersion": "v1", "kind": "ServiceAccount",
                                              "metadata": {"name": "istiod", "namespace": "istio-system"}}, istiod))
    as_list = bundle("mesh-list", resources=[{"name": "istio/istiod.yaml", "content": gz(listed),
                                              "encoding": "base64+gz"}])
    assert rows(audit, [as_list]) == [("FAIL", "AA3014", "mesh-list")]  # main: N/A AA3040
    as_json = bundle("mesh-json", resources=[{"name": "istio/istiod.json", "content": json.dumps(istiod)}])
    assert rows(audit, [as_json]) == [("FAIL", "AA3014", "mesh-json")]


# --- 4. KubeVela topologies that include the hub ------------------------------------------------------------------
def topology(name: str, **properties: Any) -> dict[str, Any]:
    return {"name": name, "type": "topology", "properties": properties}


def test_a_kubevela_topology_including_the_hub_fails_for_the_hubs_part(audit):
    both = [("FAIL", "AA3015", "istio"), ("UNKNOWN", "AA3031", "istio")]
    local_and_remote = vela("istio", [ISTIOD_OBJECTS], [], [topology("all", clusters=["local", "prod-hz"])])
    assert rows(audit, [local_and_remote]) == both  # main: UNKNOWN AA3031 alone
    assert finished_verdict(audit, [local_and_remote]) == "NO-GO"  # main: INCOMPLETE
    every_cluster = vela("istio", [ISTIOD_OBJECTS], [], [topology("all", clusterLabelSelector={})])
    assert rows(audit, [every_cluster]) == both
    two_policies = vela("istio", [ISTIOD_OBJECTS], [], [topology("hub", clusters=["local"]),
                                                         topology("prod", clusters=["prod-hz"])])
    assert rows(audit, [two_policies]) == both
    hub_label = vela("istio", [ISTIOD_OBJECTS], [], [
        topology("hub", clusterLabelSelector={"cluster.core.oam.dev/control-plane": "true"})])
    assert rows(audit, [hub_label]) == [("FAIL", "AA3015", "istio")]
    namespace_only = vela("istio", [ISTIOD_OBJECTS], [], [topology("ns", namespace="istio-system")])
    assert rows(audit, [namespace_only]) == [("FAIL", "AA3015", "istio")]


def test_a_kubevela_topology_of_managed_clusters_only_stays_unknown(audit):
    remote = vela("istio", [ISTIOD_OBJECTS], [], [topology("prod", clusters=["prod-hz", "prod-sh"])])
    assert rows(audit, [remote]) == [("UNKNOWN", "AA3031", "istio")]
    labelled = vela("istio", [ISTIOD_OBJECTS], [], [topology("prod", clusterLabelSelector={"env": "prod"})])
    assert rows(audit, [labelled]) == [("UNKNOWN", "AA3031", "istio")]
