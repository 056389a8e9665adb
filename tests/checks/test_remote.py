"""A primary-remote mesh audited as one fleet: the remote cluster (no istiod) is judged against the istiod of the
audited cluster that serves it, when the link is proven; otherwise it stays UNKNOWN (fail safe).

Shapes (github:istio/istio, github:istio/istio.io):
- the link: the remote's istio-system annotation topology.istio.io/controlPlaneClusters, a comma-separated list of
  istiod CLUSTER_IDs or `*` (pilot/pkg/serviceregistry/kube/controller/multicluster.go checkShouldLead @1.22.8,
  @1.30.3), written by the guide as `kubectl annotate namespace istio-system
  topology.istio.io/controlPlaneClusters=cluster1` (istio.io content/en/docs/setup/install/multicluster/
  primary-remote/index.md);
- the primary's istiod env CLUSTER_ID from global.multiCluster.clusterName (manifests/charts/istio-control/
  istio-discovery/templates/deployment.yaml @1.30.3), built by tests/checks/test_multicluster.primary;
- the remote: profile remote (manifests/helm-profiles/remote.yaml @1.30.3: no istiod, no mesh ConfigMap), its pods
  injected by the primary's istiod (tests/install_shapes.remote_shape, tests/checks/test_multicluster.remote).

Main said UNKNOWN (AA0930 / AA1034) for the remote at every gate whatever the primary showed: such a fleet could
never be GO.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor import kinds as K
from auditor import remote as R
from tests import factory as f
from tests import install_shapes as S
from tests.checks.test_multicluster import primary, remote

XDS = "mesh-config-xds-agent"
RESTARTED = "istiod-restarted"
REVISIONS = "istio-revisions"
VERSION_CHECK = "istio-version"
PARITY = "mesh-config-parity"
ASM_SAME = {"trustDomain": "cluster.local", "outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}  # asm.mesh_config
VERSION = "1.30.3"


def primary_cluster(cluster_id: str = "cluster1", *, xds_agent: bool = True, restarted: bool = True,
                    revision: str = "", external: bool = True) -> list[dict[str, Any]]:
    """A primary (istioctl, CLUSTER_ID `cluster_id`) after SetupIstioForMigrate: its mesh config with (or without)
    PROXY_CONFIG_XDS_AGENT, its istiod pod started after (or before) the ConfigMap's last change. `external`: installed
    as the primary-remote guide does, `istioctl install --set values.pilot.env.EXTERNAL_ISTIOD=true` (the chart
    renders pilot.env as the discovery container's env, value "true": istio-discovery/templates/deployment.yaml
    @1.30.3); without it, a primary of its own (multi-primary, or no multi-cluster at all)."""
    if revision:
        objs = S.helm_revision(VERSION, revision).objects
        for obj in objs:
            if obj["kind"] == "Deployment" and obj["metadata"]["labels"].get("app") == "istiod":
                obj["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "CLUSTER_ID",
                                                                                  "value": cluster_id})
    else:
        objs = primary(cluster_id, "network1", eastwest=False, version=VERSION)
    if external:
        for obj in objs:
            if obj["kind"] == "Deployment" and obj["metadata"]["labels"].get("app") == "istiod":
                obj["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "EXTERNAL_ISTIOD",
                                                                                  "value": "true"})
    inj = S.Injector(VERSION, revision=revision, xds_agent=xds_agent)
    cm = next(o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == (
        f"istio-{revision}" if revision else "istio"))
    cm["data"]["mesh"] = S.mesh_config_text(inj)
    if not restarted:  # the mesh config changed after the istiod pod started (S.T_POD)
        cm["metadata"]["managedFields"][-1]["time"] = "2026-11-13T09:00:00Z"
    return objs


def remote_cluster(annotation: str | None = "cluster1", version: str = VERSION) -> list[dict[str, Any]]:
    """A remote cluster of the guide, its istio-system annotated (or not) with the primary's CLUSTER_ID; its pods
    injected with the proxy of `version`."""
    objs = remote("cluster2", "network1", version=version)
    ns = next(o for o in objs if o["kind"] == "Namespace" and o["metadata"]["name"] == S.ISTIO_NS)
    if annotation is None:
        ns["metadata"].pop("annotations", None)
    else:
        ns["metadata"]["annotations"] = {R.CONTROL_PLANE_CLUSTERS: annotation}
    return objs


def fleet(remote_first: bool, **clusters: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The clusters in the order the engine judges them (one at a time): the remote before its primary or after."""
    names = sorted(clusters, key=lambda n: (n != "remote") if remote_first else (n == "remote"))
    return {n: clusters[n] for n in names}


def rows(a, check: str, cluster: str) -> list[tuple[str, str]]:
    return sorted((r["status"], r["code"]) for r in a.rows(check) if r["cluster"] == cluster)


@pytest.mark.parametrize("remote_first", [False, True])
def test_mesh_config_xds_agent_judges_the_remote_by_its_primary(audit, remote_first):
    """Main: UNKNOWN AA0930 for the remote, so the fleet was INCOMPLETE although the primary's mesh config is set."""
    a = audit(fleet(remote_first, primary=primary_cluster(), remote=remote_cluster()), "migrating",
              config=f.only_checks(XDS))
    assert rows(a, XDS, "primary") == [("PASS", "AA0901")]
    assert rows(a, XDS, "remote") == [("PASS", "AA0902")]
    assert a.result.verdict.value == "GO"
    [row] = [r for r in a.rows(XDS) if r["cluster"] == "remote"]
    assert row["evidence"]["primary_cluster"] == "primary" and row["evidence"]["istiods"] == "istio-system/istiod"
    assert "primary" in row["message"] and "istio-system/istiod" in row["message"]

    # The primary's mesh config lacks it: the remote's pods are injected without it too.
    a = audit(fleet(remote_first, primary=primary_cluster(xds_agent=False), remote=remote_cluster()), "migrating",
              config=f.only_checks(XDS))
    assert rows(a, XDS, "primary") == [("FAIL", "AA0910")]
    assert rows(a, XDS, "remote") == [("FAIL", "AA0915")]
    assert a.result.verdict.value == "NO-GO"


@pytest.mark.parametrize("remote_first", [False, True])
def test_istiod_restarted_judges_the_remote_by_its_primary(audit, remote_first):
    """Main: UNKNOWN AA1034 for the remote (INCOMPLETE) whatever the primary's istiod showed."""
    a = audit(fleet(remote_first, primary=primary_cluster(), remote=remote_cluster()), "migrating",
              config=f.only_checks(RESTARTED))
    assert rows(a, RESTARTED, "primary") == [("PASS", "AA1001")]
    assert rows(a, RESTARTED, "remote") == [("PASS", "AA1002")]
    assert a.result.verdict.value == "GO"

    a = audit(fleet(remote_first, primary=primary_cluster(restarted=False), remote=remote_cluster()), "migrating",
              config=f.only_checks(RESTARTED))
    assert rows(a, RESTARTED, "primary") == [("FAIL", "AA1010")]
    assert rows(a, RESTARTED, "remote") == [("FAIL", "AA1012")]
    assert a.result.verdict.value == "NO-GO"


@pytest.mark.parametrize("remote_first", [False, True])
def test_istio_revisions_covers_the_remote_by_its_primary(audit, remote_first):
    """Main: UNKNOWN AA0430 for the remote at the assessment gate (INCOMPLETE). The remote's pods come from the
    revision the primary's istiod serves, which istio-revisions reports there; a primary with two revisions is
    WARNed about there (minor) and still covers the remote."""
    a = audit(fleet(remote_first, primary=primary_cluster(), remote=remote_cluster()), "assessment",
              config=f.only_checks(REVISIONS))
    assert rows(a, REVISIONS, "primary") == [("PASS", "AA0401")]
    assert rows(a, REVISIONS, "remote") == [("PASS", "AA0402")]
    assert a.result.verdict.value == "GO"
    [row] = [r for r in a.rows(REVISIONS) if r["cluster"] == "remote"]
    assert (row["evidence"]["primary_cluster"], row["evidence"]["revision"]) == ("primary", "default")

    two = [*primary_cluster(), *[o for o in primary_cluster(revision="1-30-3") if o["kind"] != "Namespace"]]
    a = audit(fleet(remote_first, primary=two, remote=remote_cluster()), "assessment",
              config=f.only_checks(REVISIONS))
    assert rows(a, REVISIONS, "primary") == [("WARN", "AA0420")]
    assert rows(a, REVISIONS, "remote") == [("PASS", "AA0402")]
    assert a.result.verdict.value == "GO"


def with_istiod_image(objs: list[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    for obj in objs:
        if obj["kind"] == "Deployment" and obj["metadata"]["labels"].get("app") == "istiod":
            container = obj["spec"]["template"]["spec"]["containers"][0]
            container["image"] = container["image"].rsplit(":", 1)[0] + f":{tag}"
    return objs


@pytest.mark.parametrize("remote_first", [False, True])
def test_istio_version_judges_the_remote_by_its_primary_in_every_gate(audit, remote_first):
    """Main: UNKNOWN AA0230 for the remote at the assessment and setup gates (INCOMPLETE). Now the version of the
    istiod serving it, and its own proxies' skew against that istiod (judged once for both gates)."""
    a = audit(fleet(remote_first, primary=primary_cluster(), remote=remote_cluster()), "all",
              asm=[f.migration_cr("Init")], config=f.only_checks(VERSION_CHECK))
    for gate in ("assessment", "setup"):
        assert sorted((r["status"], r["code"]) for r in a.rows(VERSION_CHECK, gate) if r["cluster"] == "remote") == [
            ("PASS", "AA0202"), ("PASS", "AA0204")], gate
        assert sorted((r["status"], r["code"]) for r in a.rows(VERSION_CHECK, gate) if r["cluster"] == "primary") == [
            ("PASS", "AA0201"), ("PASS", "AA0202")], gate
        assert a.result.gate_verdicts[gate] == "GO"  # (the gates this check is not in have nothing: INCOMPLETE)

    # The serving istiod is older than Istio 1.10: the remote cannot migrate either.
    a = audit(fleet(remote_first, primary=with_istiod_image(primary_cluster(), "1.9.9"), remote=remote_cluster()),
              "assessment", config=f.only_checks(VERSION_CHECK))
    assert ("FAIL", "AA0210") in rows(a, VERSION_CHECK, "primary")
    assert ("FAIL", "AA0211") in rows(a, VERSION_CHECK, "remote")
    assert a.result.verdict.value == "NO-GO"

    # The remote's proxies (1.28.10) two minors behind the istiod serving them (1.30.3): the skew WARN (minor).
    behind = remote_cluster(version="1.28.10")
    a = audit(fleet(remote_first, primary=primary_cluster(), remote=behind), "assessment",
              config=f.only_checks(VERSION_CHECK))
    assert rows(a, VERSION_CHECK, "remote") == [("PASS", "AA0204"), ("WARN", "AA0220")]
    [row] = [r for r in a.rows(VERSION_CHECK) if r["code"] == "AA0220"]
    assert row["evidence"]["istiod_cluster"] == "primary"
    assert a.result.verdict.value == "GO"


def parity(asm_mesh_config: dict[str, Any] | None) -> dict[str, Any]:
    return {**f.only_checks(PARITY), **({"asm": {"mesh_config": asm_mesh_config}} if asm_mesh_config else {})}


PARITY_CASES = {
    # ASM's mesh config agrees with the primary's: the remote's pods run under that mesh config
    "same": (ASM_SAME, ("PASS", "AA2401"), ("PASS", "AA2402"), {"migrating": "GO", "uninstall": "GO"}),
    # ASM's trust domain is not Istio's: the primary fails (neither side accepts the other's: AA2410 and AA2415), so
    # does the remote (AA2414), whose own Istio proxies, under the primary's mesh config, reject ASM's (AA2416)
    "trust domain": ({**ASM_SAME, "trustDomain": "asm.local"}, [("FAIL", "AA2410"), ("FAIL", "AA2415")],
                     [("FAIL", "AA2414"), ("FAIL", "AA2416")],
                     {"migrating": "NO-GO", "uninstall": "NO-GO"}),
    # a proxy default differs (holdApplicationUntilProxyStarts, Istio's default false): a WARN there and here
    "proxy default": ({**ASM_SAME, "defaultConfig": {"holdApplicationUntilProxyStarts": True}}, ("WARN", "AA2420"),
                      ("WARN", "AA2422"), {"migrating": "GO", "uninstall": "GO"}),
    # ASM's side not given: UNKNOWN there, and so here
    "no ASM side": (None, ("UNKNOWN", "AA2430"), ("UNKNOWN", "AA2435"),
                    {"migrating": "INCOMPLETE", "uninstall": "INCOMPLETE"}),
}


@pytest.mark.parametrize("remote_first", [False, True])
@pytest.mark.parametrize("case", list(PARITY_CASES))
def test_mesh_config_parity_judges_the_remote_by_its_primary_in_both_gates(audit, case, remote_first):
    """Main: UNKNOWN AA2434 for the remote at the migrating and uninstall gates (INCOMPLETE) whatever the primary's
    mesh config and ASM's said. Judged once for both gates: the remote's finding comes in each."""
    asm_side, at_primary, at_remote, verdicts = PARITY_CASES[case]
    a = audit(fleet(remote_first, primary=primary_cluster(), remote=remote_cluster()), "all",
              asm=[f.migration_cr("Migrating")], config=parity(asm_side))
    for gate, verdict in verdicts.items():
        assert sorted((r["status"], r["code"]) for r in a.rows(PARITY, gate) if r["cluster"] == "primary") == (
            at_primary if isinstance(at_primary, list) else [at_primary])
        assert sorted((r["status"], r["code"]) for r in a.rows(PARITY, gate) if r["cluster"] == "remote") == (
            at_remote if isinstance(at_remote, list) else [at_remote])
        assert a.result.gate_verdicts[gate] == verdict, gate


def test_a_remote_with_its_own_principals_stays_unknown_for_parity(audit):
    """The remote holds an AuthorizationPolicy naming principals: the primary's findings do not judge it (main's
    UNKNOWN AA2434 stays)."""
    policy = {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
              "metadata": {"name": "payments", "namespace": "bookinfo"},
              "spec": {"rules": [{"from": [{"source": {"principals": ["other.local/ns/shop/sa/checkout"]}}]}]}}
    a = audit({"primary": primary_cluster(), "remote": [*remote_cluster(), policy]}, "migrating",
              config=parity(ASM_SAME))
    assert rows(a, PARITY, "remote") == [("UNKNOWN", "AA2434")]


def test_the_remote_is_linked_also_when_the_fleet_is_read_whole(audit):
    """--phase auto reads every cluster before judging (no cluster-by-cluster release): the same link, the same
    findings."""
    a = audit({"remote": remote_cluster(), "primary": primary_cluster()}, "auto",
              asm=[f.migration_cr("SetupIstioForMigrate")], config=f.only_checks(XDS, RESTARTED))
    assert a.result.gates == ["migrating"]
    assert rows(a, XDS, "remote") == [("PASS", "AA0902")]
    assert rows(a, RESTARTED, "remote") == [("PASS", "AA1002")]


def test_the_remote_and_its_primary_pass_together_in_the_migrating_gate(audit):
    """Both checks in one audit of the gate (each with its own record of the fleet)."""
    a = audit({"primary": primary_cluster(), "remote": remote_cluster()}, "migrating",
              config=f.only_checks(XDS, RESTARTED))
    assert rows(a, XDS, "remote") == [("PASS", "AA0902")]
    assert rows(a, RESTARTED, "remote") == [("PASS", "AA1002")]
    assert a.result.verdict.value == "GO"


def test_two_remotes_one_linked_one_not(audit):
    """A remote that names no control plane neither blocks nor borrows the link of one that does."""
    a = audit({"other": remote_cluster(None), "primary": primary_cluster(), "remote": remote_cluster()},
              "migrating", config=f.only_checks(XDS, RESTARTED))
    assert rows(a, XDS, "remote") == [("PASS", "AA0902")]
    assert rows(a, RESTARTED, "remote") == [("PASS", "AA1002")]
    assert rows(a, XDS, "other") == [("UNKNOWN", "AA0930")]
    assert rows(a, RESTARTED, "other") == [("UNKNOWN", "AA1034")]
    a = audit({"other": remote_cluster(None), "primary": primary_cluster(), "remote": remote_cluster()},
              "assessment", config=f.only_checks(REVISIONS))
    assert rows(a, REVISIONS, "remote") == [("PASS", "AA0402")]
    assert rows(a, REVISIONS, "other") == [("UNKNOWN", "AA0430")]


# main's UNKNOWN of mesh-config-xds-agent, istiod-restarted, istio-revisions, istio-version; then the link named but
# not proven, with the reason
MAIN = ("AA0930", "AA1034", "AA0430", "AA0230", "AA2434")
UNPROVEN = ("AA0933", "AA1036", "AA0433", "AA0234", "AA2436")
UNLINKED = {
    # the guide's annotation step skipped: nothing names the control plane (main's UNKNOWN, unchanged)
    "no annotation": (lambda: {"primary": primary_cluster(), "remote": remote_cluster(None)}, MAIN),
    # the annotation names a CLUSTER_ID no audited istiod has (its primary is not in the audit)
    "other control plane": (lambda: {"primary": primary_cluster(), "remote": remote_cluster("cluster9")}, UNPROVEN),
    # `*`: any istiod may lead the remote
    "any control plane": (lambda: {"primary": primary_cluster(), "remote": remote_cluster("*")}, UNPROVEN),
    # two entries, one of them not audited
    "two control planes": (lambda: {"primary": primary_cluster(), "remote": remote_cluster("cluster1,cluster3")},
                           UNPROVEN),
    # two audited clusters' istiods carry the CLUSTER_ID named
    "ambiguous": (lambda: {"primary": primary_cluster(), "primary-b": primary_cluster(),
                           "remote": remote_cluster()}, UNPROVEN),
    # the named istiod serves revision 1-30-3, the remote's pods came from the default revision
    "other revision": (lambda: {"primary": primary_cluster(revision="1-30-3"), "remote": remote_cluster()},
                       UNPROVEN),
    # the remote audited alone: its primary is not there (main's UNKNOWN, unchanged)
    "alone": (lambda: {"remote": remote_cluster()}, MAIN),
}


@pytest.mark.parametrize("case", list(UNLINKED))
def test_a_remote_not_provably_linked_stays_unknown(audit, case):
    clusters, (xds_code, restarted_code, revisions_code, version_code, parity_code) = UNLINKED[case]
    a = audit(clusters(), "all", asm=[f.migration_cr("SetupIstioForMigrate")],
              config={**f.only_checks(XDS, RESTARTED, REVISIONS, VERSION_CHECK, PARITY),
                      "asm": {"mesh_config": ASM_SAME}})
    assert rows(a, XDS, "remote") == [("UNKNOWN", xds_code)]
    assert rows(a, RESTARTED, "remote") == [("UNKNOWN", restarted_code)]
    assert rows(a, REVISIONS, "remote") == [("UNKNOWN", revisions_code)]
    for gate in ("assessment", "setup"):
        assert [(r["status"], r["code"]) for r in a.rows(VERSION_CHECK, gate) if r["cluster"] == "remote"] == [
            ("UNKNOWN", version_code)], gate
    for gate in ("migrating", "uninstall"):
        assert [(r["status"], r["code"]) for r in a.rows(PARITY, gate) if r["cluster"] == "remote"] == [
            ("UNKNOWN", parity_code)], gate
    assert a.result.verdict.value == "INCOMPLETE"


def test_a_primary_whose_mesh_config_cannot_be_read_leaves_the_remote_unknown(audit):
    """The linked istiod's mesh ConfigMap unread: neither the primary nor the remote can pass."""
    a = audit({"primary": primary_cluster(), "remote": remote_cluster()}, "migrating", config=f.only_checks(XDS),
              unreadable={"primary": {K.CONFIGMAP: "forbidden: cannot list configmaps"}})
    assert rows(a, XDS, "primary") == [("UNKNOWN", "AA0001")]
    assert rows(a, XDS, "remote") == [("UNKNOWN", "AA0932")]
    assert a.result.verdict.value == "INCOMPLETE"


def test_a_remote_left_to_conclude_is_never_silent(audit, monkeypatch):
    """A check that defers a cluster to conclude and then says nothing of it (here: conclude crashes): the engine
    says UNKNOWN for that cluster, never nothing."""
    def crash(self, check, ctx, outcomes):
        raise RuntimeError("boom")

    monkeypatch.setattr(R.Links, "conclude", crash)
    a = audit({"primary": primary_cluster(), "remote": remote_cluster()}, "migrating", config=f.only_checks(XDS))
    assert rows(a, XDS, "remote") == [("UNKNOWN", "AA0003")]
    assert a.result.verdict.value == "INCOMPLETE"


def test_a_cluster_whose_istiods_cannot_be_read_may_hold_the_named_one(audit):
    """Another audited cluster's Deployments unread: an istiod there may carry the CLUSTER_ID named too."""
    a = audit({"primary": primary_cluster(), "unread": primary_cluster(), "remote": remote_cluster()}, "migrating",
              config=f.only_checks(XDS), unreadable={"unread": {K.DEPLOYMENT: "forbidden: cannot list deployments"}})
    assert rows(a, XDS, "remote") == [("UNKNOWN", "AA0933")]
    assert a.result.verdict.value == "INCOMPLETE"


def test_a_primary_istiod_of_unreadable_version_leaves_the_remote_unknown(audit):
    """The serving istiod pinned by digest: its version, and so the remote's, cannot be told (no skew either)."""
    a = audit({"primary": with_istiod_image(primary_cluster(), "latest"), "remote": remote_cluster()}, "assessment",
              config=f.only_checks(VERSION_CHECK))
    assert ("UNKNOWN", "AA0230") in rows(a, VERSION_CHECK, "primary")
    assert rows(a, VERSION_CHECK, "remote") == [("UNKNOWN", "AA0233")]
    assert a.result.verdict.value == "INCOMPLETE"


def test_an_istiod_that_reads_no_remote_annotation_is_no_link(audit):
    """The remote names the chart's default CLUSTER_ID `Kubernetes` (its primary installed without
    global.multiCluster.clusterName), and the audited cluster's istiod is a primary of its own: the chart's default
    CLUSTER_ID too (CLUSTER_ID "Kubernetes" when clusterName is unset: istio-discovery/templates/deployment.yaml
    @1.30.3), but no EXTERNAL_ISTIOD, so it never reads the remote's annotation (checkShouldLead is false without it:
    pilot/pkg/serviceregistry/kube/controller/multicluster.go @1.22.8, @1.30.3) nor leads the remote: the remote's
    istiod is another, not audited. Main linked them by the CLUSTER_ID alone: PASS AA0902 and AA1002, a GO."""
    a = audit({"primary": primary_cluster("Kubernetes", external=False), "remote": remote_cluster("Kubernetes")},
              "migrating", config=f.only_checks(XDS, RESTARTED))
    assert rows(a, XDS, "primary") == [("PASS", "AA0901")]
    assert rows(a, XDS, "remote") == [("UNKNOWN", "AA0933")]
    assert rows(a, RESTARTED, "remote") == [("UNKNOWN", "AA1036")]
    [row] = [r for r in a.rows(XDS) if r["cluster"] == "remote"]
    assert "EXTERNAL_ISTIOD" in row["message"]
    assert a.result.verdict.value == "INCOMPLETE"
    # The same CLUSTER_ID on an istiod that serves remotes (the guide's primary) and on one that does not: the one
    # that reads the annotation is the link (main: UNKNOWN, two clusters carry it).
    a = audit({"primary": primary_cluster("Kubernetes"), "other": primary_cluster("Kubernetes", external=False),
               "remote": remote_cluster("Kubernetes")}, "migrating", config=f.only_checks(XDS, RESTARTED))
    assert rows(a, XDS, "remote") == [("PASS", "AA0902")]
    assert rows(a, RESTARTED, "remote") == [("PASS", "AA1002")]
    assert a.result.verdict.value == "GO"


def test_an_istiod_whose_external_setting_cannot_be_read_is_no_link(audit):
    """EXTERNAL_ISTIOD given by valueFrom (a ConfigMap key): whether that istiod reads the annotation is not known."""
    objs = primary_cluster(external=False)
    for obj in objs:
        if obj["kind"] == "Deployment" and obj["metadata"]["labels"].get("app") == "istiod":
            obj["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "EXTERNAL_ISTIOD", "valueFrom": {
                "configMapKeyRef": {"name": "istiod-env", "key": "EXTERNAL_ISTIOD"}}})
    a = audit({"primary": objs, "remote": remote_cluster()}, "migrating", config=f.only_checks(XDS))
    assert rows(a, XDS, "remote") == [("UNKNOWN", "AA0933")]
    assert a.result.verdict.value == "INCOMPLETE"


@pytest.mark.parametrize("remote_first", [False, True])
def test_an_operator_on_a_linked_remote_is_still_reported(audit, remote_first):
    """A linked remote's istio-revisions PASS (AA0402) must not hide an in-cluster istio-operator running there
    (manifests/charts/istio-operator as `istioctl operator init` renders it, tests/factory.istio_operator_deployment):
    it reconciles what it installed and can revert the mesh config ASM sets, as on a primary (AA0421). The first cut
    of the remote link returned before the operators were looked at: no AA0421 for the remote."""
    remote_objs = [*remote_cluster(), f.istio_operator_deployment()]
    a = audit(fleet(remote_first, primary=primary_cluster(), remote=remote_objs), "assessment",
              config=f.only_checks(REVISIONS))
    assert rows(a, REVISIONS, "remote") == [("PASS", "AA0402"), ("WARN", "AA0421")]


def test_a_remote_with_other_findings_left_to_conclude_is_never_silent(audit, monkeypatch):
    """What check_cluster says of a deferred cluster beside deferring it (istio-revisions: an operator found there) is
    no judgement of it: conclude saying nothing of the cluster (it crashes) still gives the engine's UNKNOWN."""
    def crash(self, check, ctx, outcomes):
        raise RuntimeError("boom")

    monkeypatch.setattr(R.Links, "conclude", crash)
    remote_objs = [*remote_cluster(), f.istio_operator_deployment()]
    a = audit({"primary": primary_cluster(), "remote": remote_objs}, "assessment", config=f.only_checks(REVISIONS))
    assert ("UNKNOWN", "AA0003") in rows(a, REVISIONS, "remote")
    assert a.result.verdict.value == "INCOMPLETE"
