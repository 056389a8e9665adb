"""mesh-config-parity's trust-domain acceptance (AA2415) across a primary-remote fleet, and at the uninstall gate.

While pods run Istio's proxy they must accept ASM's trust domain: Istio's server proxies accept a peer whose SAN is
spiffe://<td>/ for td in trustDomain, trustDomainAliases and caCertificates' trustDomains (pilot/pkg/networking/plugin/
authn/util.go TrustDomainsForValidation; pilot/pkg/security/model/authentication.go ApplyToCommonTLSContext), and its
clients expect a server's SANs in Istio's trust domain or its aliases (pilot/pkg/model/push_context.go
addServiceAccounts, spiffe.ExpandWithTrustDomains), github:istio/istio @1.22.0 and @1.30.3.

1. A remote cluster's proxies take the mesh config of the primary's istiod serving them (the remote has none:
   manifests/helm-profiles/remote.yaml @1.30.3), so they reject ASM's trust domain when the primary's mesh config
   does, whatever pods the primary runs itself. The link is auditor/remote.py's (the remote's istio-system annotation
   topology.istio.io/controlPlaneClusters naming the CLUSTER_ID of an istiod running with EXTERNAL_ISTIOD, as
   istio.io content/en/docs/setup/install/multicluster/primary-remote/index.md sets them up; the fixtures are
   tests/checks/test_remote.py's). Main judged a remote only by its primary's own findings: a primary whose workloads
   had all moved to ASM passed, and so did the remote whose pods still ran Istio's proxy: a false GO.
2. At the uninstall gate every workload is on ASM; Istio gateways still running are the ones the purge removes, and
   istio-gateway-traffic proves each carries no traffic (a gateway carrying none originates no mTLS). Istio's gateway
   listeners do not check a client's trust domain at all (an ISTIO_MUTUAL Gateway server is given no trust domains:
   pilot/pkg/networking/core/listener.go ApplyToCommonTLSContext(..., []string{}, ...) @1.22.0, @1.30.3). Main failed
   AA2415 for such gateways alone at the uninstall gate: a false NO-GO. While workloads move (migrating gate) a gateway
   still counts: it originates mTLS to moved workloads and expects their SANs in Istio's trust domain or aliases.

Istio's mesh config is the istio-discovery chart's (trustDomain cluster.local: templates/configmap.yaml @1.30.3, as
tests/install_shapes.mesh_config_text renders it); the Istio ingress gateway is istioctl's (charts/gateways/
istio-ingress @1.22.8, `proxy router`: tests/install_shapes.iop_gateway); the moved workloads are ASM-injected
(tests/install_shapes.asm_workload).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import factory as f
from tests import install_shapes as S
from tests.checks.test_mesh_config_parity import MESH_1_22, mesh_cm
from tests.checks.test_remote import fleet, primary_cluster, remote_cluster, rows

CHECK = "mesh-config-parity"
# ASM trusts Istio's identities (Istio's trust domain is an alias of ASM's: no AA2410), but Istio's proxies do not
# accept ASM's trust domain: only AA2415 (AA2416 for a remote) tells.
ASM_OTHER_TD = {"trustDomain": "asm.local", "trustDomainAliases": ["cluster.local"],
                "outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}
CONFIG = {**f.only_checks(CHECK), "asm": {"mesh_config": ASM_OTHER_TD}}
GATES = ("migrating", "uninstall")


def moved(objs: list[dict[str, Any]], *names: str) -> list[dict[str, Any]]:
    """The cluster with its bookinfo workloads moved to ASM: Istio's injected Deployments, ReplicaSets and pods gone,
    ASM-injected ones (and ASM's headless istiod-<rev> Service) in their place."""
    kept = [o for o in objs if (o["metadata"].get("namespace") != "bookinfo" or o["kind"] not in (
        "Deployment", "ReplicaSet", "Pod"))]
    asm = [o for name in names for o in S.asm_workload(name, "bookinfo")]
    return [*kept, S.asm_istiod_service(), *asm]


def ingress_gateway(version: str = "1.22.8") -> list[dict[str, Any]]:
    """istioctl's istio-ingressgateway (never injected, `proxy router`)."""
    return S.iop_gateway(S.Injector(version), "istio-ingressgateway", "IngressGateways",
                         istio_label="ingressgateway")


def by_gate(a: Any, cluster: str) -> dict[str, list[tuple[str, str]]]:
    return {gate: sorted((r["status"], r["code"]) for r in a.rows(CHECK, gate) if r["cluster"] == cluster)
            for gate in GATES}


# ---------------------------------------------------------------- 1. the remote's proxies, under the primary's config
@pytest.mark.parametrize("remote_first", [False, True])
def test_a_remote_on_istios_proxy_rejects_asms_trust_domain_though_its_primary_runs_none(audit, remote_first):
    """The primary's workloads moved to ASM (no Istio proxy left there), the remote's still run Istio's proxy under
    the primary's mesh config, which does not accept asm.local. Main: primary AA2401, remote AA2402 only: GO."""
    clusters = fleet(remote_first, primary=moved(primary_cluster(), "productpage", "reviews"),
                     remote=remote_cluster())
    a = audit(clusters, "all", asm=[f.migration_cr("Migrating")], config=CONFIG)
    assert by_gate(a, "primary") == {gate: [("PASS", "AA2401")] for gate in GATES}
    assert by_gate(a, "remote") == {gate: [("FAIL", "AA2416"), ("PASS", "AA2402")] for gate in GATES}
    assert {g: a.result.gate_verdicts[g] for g in GATES} == {"migrating": "NO-GO", "uninstall": "NO-GO"}
    for gate in GATES:
        [row] = [r for r in a.rows(CHECK, gate) if r["code"] == "AA2416"]
        assert row["cluster"] == "remote"
        assert (row["evidence"]["primary"], row["evidence"]["istiod"], row["evidence"]["proxies"]) == (
            "primary", "istio-system/istiod", "4")
        assert (row["evidence"]["asm_value"], row["evidence"]["istio_value"]) == ("asm.local", "cluster.local")
        assert row["remediation"].startswith("Add asm.local to Istio's trustDomainAliases in cluster primary")
    # Each gate alone: the same.
    for gate in GATES:
        a = audit(fleet(remote_first, primary=moved(primary_cluster(), "productpage", "reviews"),
                        remote=remote_cluster()), gate, config=CONFIG)
        assert rows(a, CHECK, "remote") == [("FAIL", "AA2416"), ("PASS", "AA2402")], gate
        assert a.result.verdict.value == "NO-GO", gate


def test_a_remote_passes_once_istio_accepts_asms_trust_domain_or_its_proxies_are_gone(audit):
    """Istio aliasing ASM's trust domain (meshConfig.trustDomainAliases): the remote's proxies accept ASM's workloads.
    The remote's workloads moved too: nothing there to reject them (N/A)."""
    primary = moved(primary_cluster(), "productpage", "reviews")
    for obj in primary:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "istio":
            obj["data"]["mesh"] += "trustDomainAliases:\n- asm.local\n"
    a = audit({"primary": primary, "remote": remote_cluster()}, "migrating", config=CONFIG)
    assert rows(a, CHECK, "remote") == [("PASS", "AA2402")]
    assert a.result.verdict.value == "GO"
    a = audit({"primary": moved(primary_cluster(), "productpage", "reviews"),
               "remote": moved(remote_cluster(), "ratings", "details")}, "migrating", config=CONFIG)
    assert rows(a, CHECK, "remote") == [("NOT_APPLICABLE", "AA2440")]
    assert a.result.verdict.value == "GO"


@pytest.mark.parametrize("annotation", [None, "cluster9", "*"])
def test_a_remote_whose_link_is_not_proven_stays_unknown(audit, annotation):
    """Which istiod serves the remote's proxies not proven (the guide's annotation step skipped, a CLUSTER_ID no
    audited istiod has, `*`): whether they accept ASM's trust domain cannot be told (UNKNOWN, never a pass)."""
    a = audit({"primary": moved(primary_cluster(), "productpage", "reviews"), "remote": remote_cluster(annotation)},
              "migrating", config=CONFIG)
    assert rows(a, CHECK, "remote") == [("UNKNOWN", "AA2434" if annotation is None else "AA2436")]
    assert a.result.verdict.value == "INCOMPLETE"


def test_a_remote_is_linked_beside_a_cluster_without_istio(audit):
    """A third cluster with no istiod and no Istio proxy (all on ASM): its Deployments were read, so no istiod there
    can carry the CLUSTER_ID named. Main never recorded it and left the remote UNKNOWN (AA2436): INCOMPLETE."""
    a = audit({"asm-only": moved(remote_cluster(None), "ratings", "details"),
               "primary": moved(primary_cluster(), "productpage", "reviews"), "remote": remote_cluster()},
              "migrating", config={**f.only_checks(CHECK), "asm": {"mesh_config": {
                  "trustDomain": "cluster.local", "outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}}})
    assert rows(a, CHECK, "asm-only") == [("NOT_APPLICABLE", "AA2440")]
    assert rows(a, CHECK, "remote") == [("PASS", "AA2402")]
    assert a.result.verdict.value == "GO"


# ---------------------------------------------------------------- 2. gateways at the uninstall gate
def single(*extra: dict[str, Any], istio_sidecars: int = 0) -> dict[str, list[dict[str, Any]]]:
    """One cluster: istiod, its mesh config, workloads on ASM (and `istio_sidecars` pods still on Istio's)."""
    objs = [f.istiod(), mesh_cm(MESH_1_22), S.asm_istiod_service(), *S.asm_workload("cart", "shop")]
    if istio_sidecars:
        app = f.deployment("legacy", "shop")
        objs += [*app, *f.workload_pods(app, istio_sidecars, proxy="istio")]
    return {"cluster-a": [*objs, *extra]}


def test_istio_gateways_alone_do_not_fail_acceptance_at_the_uninstall_gate(audit):
    """Every workload on ASM, Istio's ingress gateway still running: it must accept ASM's trust domain while workloads
    move (it calls them), not at the uninstall gate (istio-gateway-traffic judges it). Main: FAIL AA2415 in both."""
    a = audit(single(*ingress_gateway()), "all", asm=[f.migration_cr("Migrating")], config=CONFIG)
    assert by_gate(a, "cluster-a") == {"migrating": [("FAIL", "AA2415")], "uninstall": [("PASS", "AA2401")]}
    [row] = a.rows(CHECK, "migrating")
    assert (row["evidence"]["proxies"], row["evidence"]["gateways_counted"]) == ("1", True)
    assert a.result.gate_verdicts["uninstall"] == "GO"
    assert a.result.gate_verdicts["migrating"] == "NO-GO"
    # Judged for the uninstall gate alone: the same.
    a = audit(single(*ingress_gateway()), "uninstall", config=CONFIG)
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("PASS", "AA2401")]
    assert a.result.verdict.value == "GO"


def test_istio_sidecars_left_still_fail_acceptance_at_the_uninstall_gate(audit):
    """Istio sidecars left beside the gateway: FAIL at the uninstall gate too, counting the sidecars only."""
    a = audit(single(*ingress_gateway(), istio_sidecars=2), "all", asm=[f.migration_cr("Migrating")], config=CONFIG)
    assert by_gate(a, "cluster-a") == {gate: [("FAIL", "AA2415")] for gate in GATES}
    proxies = {r["gate"]: r["evidence"]["proxies"] for r in a.rows(CHECK)}
    assert proxies == {"migrating": "3", "uninstall": "2"}
    assert {g: a.result.gate_verdicts[g] for g in GATES} == {"migrating": "NO-GO", "uninstall": "NO-GO"}


def test_a_remote_with_only_istio_gateways_left_fails_only_while_workloads_move(audit):
    """The remote's workloads moved, its Istio ingress gateway (the gateway chart's, injected by the primary's istiod)
    still runs: AA2416 at the migrating gate, not at the uninstall gate."""
    gateway = S.helm_gateway(S.Injector("1.30.3"), "istio-ingressgateway", "istio-ingress")
    remote = [*moved(remote_cluster(), "ratings", "details"), *gateway]
    a = audit({"primary": moved(primary_cluster(), "productpage", "reviews"), "remote": remote}, "all",
              asm=[f.migration_cr("Migrating")], config=CONFIG)
    assert by_gate(a, "remote") == {"migrating": [("FAIL", "AA2416"), ("PASS", "AA2402")],
                                    "uninstall": [("PASS", "AA2402")]}


def test_finished_pods_reject_nobody(audit):
    """A finished Job's pod on Istio's native sidecar (phase Succeeded: the kubelet ends a native sidecar once the app
    containers are done, tests/factory.job_pod) runs no proxy: it rejects nobody. Main counted it: FAIL AA2415 at
    both gates (a false NO-GO). A classic-sidecar Job pod held Running by its proxy still counts."""
    done = f.job_pod("backup-28894560-x7k2p", "shop", "backup-28894560", native=True)
    a = audit(single(done), "all", asm=[f.migration_cr("Migrating")], config=CONFIG)
    assert by_gate(a, "cluster-a") == {gate: [("PASS", "AA2401")] for gate in GATES}
    held = f.job_pod("backup-28894560-x7k2p", "shop", "backup-28894560")
    a = audit(single(held), "all", asm=[f.migration_cr("Migrating")], config=CONFIG)
    assert by_gate(a, "cluster-a") == {gate: [("FAIL", "AA2415")] for gate in GATES}
