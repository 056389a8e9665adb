"""Istio proxies on VMs at the migrating gate (pods-xds-agent AA1113 FAIL, AA1131/AA1132/AA1133 UNKNOWN).

Before desiredState -> Migrating every Istio proxy must run with PROXY_CONFIG_XDS_AGENT=true. Main judged pods only: a
mesh whose VMs took xDS from Istio's istiod passed the gate (GO), though no VM takes the setting by itself:

- pilot-agent reads the variable once, at start, from its own environment: istio/istio@1.22.0, 1.26.0, 1.30.3:
  pilot/cmd/pilot-agent/options/options.go (enableProxyConfigXdsEnv = env.Register("PROXY_CONFIG_XDS_AGENT", false,
  ...).Get(), a package variable), options/agent.go (EnableDynamicProxyConfig); nothing in pilot-agent copies the
  mesh file's proxyMetadata into its environment (pilot/cmd/pilot-agent/config/config.go ConstructProxyConfig reads
  the file, PROXY_CONFIG and the annotation into a ProxyConfig only). Started without it, the agent never asks istiod
  for ProxyConfig (pkg/istio-agent/xds_proxy.go: the PCDS handler and request exist only then), the channel of the
  extra trust anchors (pilot/pkg/xds/pcds.go: CaCertificatesPem only): istiod's mesh config never reaches it.
- On a VM that environment is cluster.env, sourced with `set -a` by tools/packaging/common/istio-start.sh (run by
  istio.service), written once by `istioctl x workload entry configure` from the mesh config's
  defaultConfig.proxyMetadata of that moment overlaid by the WorkloadGroup's proxy.istio.io/config (istio/istio@1.22.0,
  1.26.0, 1.30.3: istioctl/pkg/workload/workload.go createMeshConfig, createClusterEnv). A VM onboarded before
  SetupIstioForMigrate, or not re-onboarded and restarted since, runs without it; the cluster cannot show which.

Shapes: WorkloadGroups, istiod's auto-registered and health-checked WorkloadEntries as in tests/checks/
test_vm_proxies.py (istio/istio@1.30.3:pilot/pkg/autoregistration/controller.go workloadEntryFromGroup, setConnectMeta;
istio/api@1.30.3:networking/v1alpha3/workload_group.proto, workload_entry.proto). The group's proxy.istio.io/config is
ProxyConfig YAML, read by istioctl from metadata.annotations and spec.metadata.annotations (workload.go
createMeshConfig: `for _, annotations := range []map[string]string{wg.Annotations, wg.Spec.Metadata.Annotations}`).
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_vm_proxies import (
    ASM_ISTIOD_POD,
    asm_workloads,
    database,
    details_vm,
    istio_control_plane,
    registered,
    workload_entry,
    workload_group,
)

CHECK = "pods-xds-agent"
ONLY = f.only_checks(CHECK)
OFF = 'proxyMetadata:\n  PROXY_CONFIG_XDS_AGENT: "false"\n'  # ProxyConfig YAML, as proxy.istio.io/config holds it


def restarted_workloads() -> list[dict[str, Any]]:
    """A workload on Istio's sidecar restarted after SetupIstioForMigrate: every pod carries the setting."""
    cart = f.deployment("cart")
    return [*cart, *f.workload_pods(cart, 2, xds_agent="true")]


def codes(run) -> list[tuple[str, str, str]]:
    return sorted((r["status"], r["code"], r["name"]) for r in run.rows(CHECK))


def with_proxy_config(group: dict[str, Any], config: str, *, on_spec: bool = True) -> dict[str, Any]:
    """The group with proxy.istio.io/config on spec.metadata (what auto-registered entries inherit) or metadata."""
    group = {**group, "metadata": dict(group["metadata"]), "spec": dict(group["spec"])}
    if on_spec:
        group["spec"]["metadata"] = {**group["spec"]["metadata"],
                                     "annotations": {"proxy.istio.io/config": config}}
    else:
        group["metadata"]["annotations"] = {"proxy.istio.io/config": config}
    return group


# ---------------------------------------------------------------- UNKNOWN: VMs on Istio's istiod
def test_vms_on_istios_istiod_are_not_a_silent_pass(audit):
    """Every pod restarted with the setting, two VMs of WorkloadGroup reviews connected to Istio's istiod: main said
    PASS AA1101 alone and GO; whether the VMs' agents started with it is on the VMs."""
    control, istiod_pod = istio_control_plane()
    group = workload_group()
    objects = [*control, *restarted_workloads(), group, registered(group, "10.128.0.7", istiod_pod),
               registered(group, "10.128.0.8", istiod_pod)]
    run = audit({"c1": objects}, "migrating", config=ONLY)
    assert codes(run) == [("PASS", "AA1101", ""), ("UNKNOWN", "AA1131", "reviews")]
    row = run.by_name(CHECK)["reviews"]
    assert (row["kind"], row["namespace"], row["severity"]) == ("WorkloadGroup", "bookinfo", "blocker")
    assert row["evidence"]["on_istio_istiod"] == {"reviews-10.128.0.7": istiod_pod, "reviews-10.128.0.8": istiod_pod}
    assert row["evidence"]["onboarding_xds_agent"] is None
    fix = row["remediation"]
    # istiod lists what each connection watches: an agent started with the setting watches ProxyConfig (PCDS)
    assert f"pod/{istiod_pod} -c discovery -- pilot-discovery request GET /debug/adsz" in fix
    assert "type.googleapis.com/istio.mesh.v1alpha1.ProxyConfig" in fix
    assert "/proc/$(pgrep -o -f 'pilot-agent proxy')/environ" in fix  # on the VM
    # pilot-agent runs as istio-proxy (istio-start.sh: exec sudo -E -u "${EXEC_USER}" ..., EXEC_USER defaults to
    # istio-proxy @1.30.3): its environ is readable by root only, so sudo must open it, not the operator's shell
    # (read15: `sudo tr ... < /proc/...` was refused for a non-root operator)
    assert "sudo cat /proc/$(pgrep -o -f 'pilot-agent proxy')/environ | tr '\\0' '\\n'" in fix
    assert "< /proc/" not in fix
    assert "x workload entry configure --name reviews --namespace bookinfo --autoregister -o vm-files" in fix
    # the fix keeps the rest of the VM's cluster.env (ISTIO_SVC_IP from --internalIP...): one line added, a restart
    assert ("echo 'PROXY_CONFIG_XDS_AGENT=true' | sudo tee -a /var/lib/istio/envoy/cluster.env && "
            "sudo systemctl restart istio") in fix
    assert run.result.verdict.value == "INCOMPLETE"


def test_with_every_pod_on_asm_nothing_to_restart_is_not_said_over_a_vm(audit):
    """No pod on Istio's proxy: main said PASS AA1102 "nothing to restart" and GO while a VM still used Istio's
    istiod."""
    control, istiod_pod = istio_control_plane()
    group = workload_group()
    run = audit({"c1": [*control, *asm_workloads(), group, registered(group, "10.128.0.7", istiod_pod)]},
                "migrating", config=ONLY)
    assert codes(run) == [("UNKNOWN", "AA1131", "reviews")]
    assert run.result.verdict.value == "INCOMPLETE"


def test_a_health_checked_entry_on_istios_istiod_is_unknown(audit):
    """A user-written WorkloadEntry with health checks, stamped connected by Istio's istiod pod (becomeControllerOf):
    its VM was onboarded from a WorkloadGroup file the cluster does not name."""
    control, istiod_pod = istio_control_plane()
    entry = workload_entry("ratings-vm", "bookinfo", {"address": "10.128.0.9", "serviceAccount": "ratings",
                                                      "labels": {"app": "ratings"}},
                           annotations={"proxy.istio.io/health-checks-enabled": "true",
                                        "istio.io/workloadController": istiod_pod,
                                        "istio.io/connectedAt": "2026-11-15T09:41:07.123456789Z"})
    run = audit({"c1": [*control, *restarted_workloads(), entry]}, "migrating", config=ONLY)
    assert codes(run) == [("PASS", "AA1101", ""), ("UNKNOWN", "AA1131", "ratings-vm")]
    row = run.by_name(CHECK)["ratings-vm"]
    assert row["kind"] == "WorkloadEntry" and row["evidence"]["connected_at"] == "2026-11-15T09:41:07.123456789Z"
    assert "x workload entry configure -f \"${WORKLOADGROUP_FILE:?" in row["remediation"]


def test_a_revisioned_istiod_is_named_when_the_files_are_generated_again(audit):
    """istioctl reads the mesh config istio-<rev> for a revision (workload.go createMeshConfig): the command says it."""
    dep = f.istiod(revision="1-22-3")
    _, rs = f.deployment("istiod-1-22-3", "istio-system", replicas=1,
                         template_labels={"app": "istiod", "istio.io/rev": "1-22-3"})
    [pod] = f.workload_pods((dep, rs), 1, proxy=None, labels={"istio": "pilot"})
    group = workload_group()
    run = audit({"c1": [dep, rs, pod, *restarted_workloads(), group,
                        registered(group, "10.128.0.7", pod["metadata"]["name"])]}, "migrating", config=ONLY)
    row = run.by_name(CHECK)["reviews"]
    assert row["code"] == "AA1131"
    assert "--autoregister --revision 1-22-3 -o vm-files" in row["remediation"]


# ---------------------------------------------------------------- FAIL: the group's own config turns it off
def test_a_group_whose_proxy_config_turns_the_setting_off_fails(audit):
    """The group's proxy.istio.io/config overrides the mesh config in every cluster.env istioctl generates from it:
    its VMs on Istio's istiod run without the setting, and regenerating keeps it off. Main said PASS and GO."""
    control, istiod_pod = istio_control_plane()
    for on_spec in (True, False):
        group = with_proxy_config(workload_group(), OFF, on_spec=on_spec)
        run = audit({"c1": [*control, *restarted_workloads(), group, registered(group, "10.128.0.7", istiod_pod)]},
                    "migrating", config=ONLY)
        assert codes(run) == [("FAIL", "AA1113", "reviews"), ("PASS", "AA1101", "")], on_spec
        row = run.by_name(CHECK)["reviews"]
        assert row["evidence"]["onboarding_xds_agent"] == "false"
        assert "edit workloadgroups.networking.istio.io/reviews" in row["remediation"]
        assert run.result.verdict.value == "NO-GO"


def test_a_value_pilot_agent_reads_as_true_is_no_proof_either_way(audit):
    """pkg/env reads the variable with strconv.ParseBool: "1" is true for the agent. Not a FAIL; still unknown whether
    the VM's files were generated since."""
    control, istiod_pod = istio_control_plane()
    group = with_proxy_config(workload_group(), 'proxyMetadata:\n  PROXY_CONFIG_XDS_AGENT: "1"\n')
    run = audit({"c1": [*control, *restarted_workloads(), group, registered(group, "10.128.0.7", istiod_pod)]},
                "migrating", config=ONLY)
    assert codes(run) == [("PASS", "AA1101", ""), ("UNKNOWN", "AA1131", "reviews")]


def test_a_group_turning_it_off_whose_vms_are_not_shown_on_istio_is_unknown(audit):
    """Off in the group, but no VM of it connected to Istio's istiod here: which control plane they use is not
    shown (a VM on ASM's does not need it)."""
    group = with_proxy_config(workload_group(), OFF)
    run = audit({"c1": [*restarted_workloads(), group, registered(group, "10.128.0.7", ASM_ISTIOD_POD)]},
                "migrating", config=ONLY)
    assert codes(run) == [("PASS", "AA1101", ""), ("UNKNOWN", "AA1132", "reviews")]


# ---------------------------------------------------------------- UNKNOWN: control plane not shown
def test_vm_proxies_whose_istiod_is_not_shown_are_unknown_until_exempted(audit):
    """A WorkloadGroup alone, and istio/api's details-svc VM entry (a service account: a sidecar is present): main
    said PASS and GO. Exempted by code once verified."""
    objects = [*restarted_workloads(), workload_group(), details_vm()]
    run = audit({"c1": objects}, "migrating", config=ONLY)
    assert codes(run) == [("PASS", "AA1101", ""), ("UNKNOWN", "AA1132", "details-svc"),
                          ("UNKNOWN", "AA1132", "reviews")]
    row = run.by_name(CHECK)["details-svc"]
    assert "proxy-status" in row["remediation"] and "/environ" in row["remediation"]
    assert run.result.verdict.value == "INCOMPLETE"
    exempted = audit({"c1": objects}, "migrating", config={
        **ONLY, "exemptions": [{"check": "AA1132", "namespace": "bookinfo", "name": "*",
                                "reason": "CHG-78: VMs re-onboarded after SetupIstioForMigrate, environ checked"}]})
    assert exempted.result.verdict.value == "GO"


def test_unreadable_workload_entries_are_unknown_not_pass(audit):
    run = audit({"c1": restarted_workloads()}, "migrating", config=ONLY,
                unreadable={"c1": {K.WORKLOADENTRY: "forbidden: cannot list workloadentries.networking.istio.io"}})
    assert codes(run) == [("PASS", "AA1101", ""), ("UNKNOWN", "AA1133", "")]
    [unread] = [r for r in run.rows(CHECK) if r["code"] == "AA1133"]
    assert unread["kind"] == "WorkloadEntry" and "asm-audit rbac" in unread["remediation"]
    assert run.result.verdict.value == "INCOMPLETE"


# ---------------------------------------------------------------- unchanged without VM proxies
def test_without_vm_proxies_the_pod_findings_are_unchanged(audit):
    """A database a ServiceEntry selects is an endpoint without a proxy; kinds not served show no VM at all."""
    [row] = audit({"c1": [*restarted_workloads(), *database()]}, "migrating", config=ONLY).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA1101")
    [row] = audit({"c1": asm_workloads()}, "migrating", config=ONLY,
                  unreadable={"c1": {K.WORKLOADENTRY: "not-served", K.WORKLOADGROUP: "not-served"}}).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA1102")


def test_pods_lacking_the_setting_still_fail_beside_the_vms(audit):
    control, istiod_pod = istio_control_plane()
    web = f.deployment("web")
    group = workload_group()
    run = audit({"c1": [*control, *web, *f.workload_pods(web, 1, xds_agent=None), group,
                        registered(group, "10.128.0.7", istiod_pod)]}, "migrating", config=ONLY)
    assert codes(run) == [("FAIL", "AA1110", "web"), ("UNKNOWN", "AA1131", "reviews")]


# ---------------------------------------------------------------- the other migrating checks: truth unchanged by VMs
def test_mesh_config_and_istiod_checks_say_the_same_with_vms_the_gate_does_not_pass(audit):
    """mesh-config-xds-agent proves the ConfigMap istioctl generates VM files from carries the setting, and
    istiod-restarted that istiod injects with it: both stay true with VMs (istioctl reads the ConfigMap itself, istiod
    injects no VM). What a VM needs beyond them is pods-xds-agent's, so the gate is not GO."""
    control, istiod_pod = istio_control_plane()
    group = workload_group()
    base = [*control, f.mesh_configmap(), *restarted_workloads()]
    checks = f.only_checks(CHECK, "mesh-config-xds-agent", "istiod-restarted")
    without = audit({"c1": base}, "migrating", config=checks)
    with_vms = audit({"c1": [*base, group, registered(group, "10.128.0.7", istiod_pod)]}, "migrating", config=checks)
    for check in ("mesh-config-xds-agent", "istiod-restarted"):
        assert [(r["status"], r["code"]) for r in with_vms.rows(check)] == [
            (r["status"], r["code"]) for r in without.rows(check)], check
    assert ("UNKNOWN", "AA1131", "reviews") in codes(with_vms)
    assert with_vms.result.verdict.value != "GO"


def test_a_groups_unproven_clause_is_said_in_the_reports_language(audit):
    """read15: AA1132's clause on a WorkloadGroup's entries was English inside a zh-CN message (the same facts as
    istio-sidecars-remaining's AA1231, which is translated); it is an i18n.Phrase the report says in its language.
    Codes and statuses as before."""
    from auditor import i18n
    from auditor.findings import records
    from auditor.render.localize import localized

    group = workload_group()
    run = audit({"c1": [*restarted_workloads(), group, registered(group, "10.128.0.7", ASM_ISTIOD_POD), details_vm()]},
                "migrating", config=ONLY)
    assert codes(run) == [("PASS", "AA1101", ""), ("UNKNOWN", "AA1132", "details-svc"),
                          ("UNKNOWN", "AA1132", "reviews")]
    assert "1 auto-registered WorkloadEntry(ies): 1 connected" in run.by_name(CHECK)["reviews"]["message"]
    assert "spec.serviceAccount details-legacy: a sidecar is present" in run.by_name(CHECK)["details-svc"]["message"]
    with i18n.language("zh-CN"):
        rows = {r["name"]: r for r in records(localized(run.result).findings) if r["code"] == "AA1132"}
    assert "auto-registered" not in rows["reviews"]["message"]
    assert "1 个自动注册的 WorkloadEntry" in rows["reviews"]["message"]
    # the entry's proxy sign said in the language, its address and service account as written
    assert "a sidecar is present" not in rows["details-svc"]["message"]
    assert "2.2.2.2; spec.serviceAccount details-legacy" in rows["details-svc"]["message"]
    assert "存在 Sidecar" in rows["details-svc"]["message"]


def test_the_adsz_query_runs_on_istiods_answer_with_and_without_connected_proxies(audit):
    """The jq of AA1131's remediation, run on istiod's /debug/adsz answer as istiod writes it (pilot/pkg/xds/debug.go
    @1.30.3: AdsClients{totalClients, clients `json:",omitempty"`}, each AdsClient with connectionId, address,
    metadata.NAMESPACE and watches by type URL). With no proxy connected `clients` is left out: `.clients[]` failed
    ("Cannot iterate over null", exit 5); now it prints nothing. A VM that did not ask for ProxyConfig is named."""
    import json
    import shlex
    import subprocess

    control, istiod_pod = istio_control_plane()
    group = workload_group()
    run = audit({"c1": [*control, *restarted_workloads(), group, registered(group, "10.128.0.7", istiod_pod)]},
                "migrating", config=ONLY)
    [line] = [x for x in run.by_name(CHECK)["reviews"]["remediation"].splitlines() if "| jq " in x]
    jq = shlex.split(line.split("| jq ", 1)[1])
    cluster_type = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
    pcds = "type.googleapis.com/istio.mesh.v1alpha1.ProxyConfig"
    answers = {
        "none connected": ({"totalClients": 0}, ""),
        "one without the setting, one with": ({"totalClients": 2, "clients": [
            {"connectionId": "reviews-vm-1.bookinfo-1", "connectedAt": "2026-11-15T09:41:07Z",
             "address": "10.128.0.7:51234", "metadata": {"NAMESPACE": "bookinfo"}, "watches": {cluster_type: []}},
            {"connectionId": "reviews-vm-2.bookinfo-2", "connectedAt": "2026-11-15T09:41:09Z",
             "address": "10.128.0.8:40110", "metadata": {"NAMESPACE": "bookinfo"},
             "watches": {cluster_type: [], pcds: []}}]},
         "started without PROXY_CONFIG_XDS_AGENT: reviews-vm-1.bookinfo-1 10.128.0.7:51234\n"),
    }
    for case, (answer, printed) in answers.items():
        done = subprocess.run(["jq", *jq], input=json.dumps(answer), capture_output=True, text=True, timeout=30)
        assert (done.returncode, done.stdout, done.stderr) == (0, printed, ""), case
