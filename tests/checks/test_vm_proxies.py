"""Istio proxies on VMs (istio-sidecars-remaining AA1214/AA1215/AA1231-AA1233; istio-config-imported's skip).

A VM runs Istio's proxy bootstrapped against the cluster's istiod; the cluster shows it only through WorkloadGroups and
WorkloadEntries. Main counted Istio proxies from pods alone: a mesh whose pods were all on ASM passed the uninstall gate
(GO) while its VMs still took xDS and certificates from the istiod `istioctl uninstall --purge` removes.

Shapes, as istiod and the API write them:
- WorkloadGroup: istio/api@1.30.3:networking/v1alpha3/workload_group.proto (the `reviews` example).
- Auto-registered WorkloadEntry: istio/istio@1.30.3 (same at 1.22.0, 1.26.0):pilot/pkg/autoregistration/controller.go
  workloadEntryFromGroup (name `<group>-<ip>`, the group's template spec with the proxy's address, labels of the
  group's metadata, annotation istio.io/autoRegistrationGroup, proxy.istio.io/health-checks-enabled when the proxy has
  a readiness probe, ownerReference to the WorkloadGroup with controller: true; its apiVersion is gvk.WorkloadGroup's,
  networking.istio.io/v1alpha3 at 1.22.0, v1 at 1.26.0 and 1.30.3: pkg/config/schema/gvk/resources.gen.go) and
  setConnectMeta (istio.io/workloadController = istiod's POD_NAME, istio.io/connectedAt RFC3339Nano) /
  changeWorkloadEntryStateToDisconnected (connectedAt removed, istio.io/disconnectedAt written).
- User-written WorkloadEntry for a VM with a sidecar: istio/api@1.30.3:networking/v1alpha3/workload_entry.proto (the
  `details-svc` example: "use of the service account indicates that the workload has a sidecar proxy"); istiod's
  rule for a proxy: pilot/pkg/serviceregistry/serviceentry/conversion.go getTLSModeFromWorkloadEntry.
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f

CHECK = "istio-sidecars-remaining"
IMPORTED = "istio-config-imported"
ONLY = f.only_checks(CHECK)
CONNECTED_AT = "2026-11-15T09:41:07.123456789Z"  # time.RFC3339Nano, as setConnectMeta writes it
DISCONNECTED_AT = "2026-11-15T11:02:44.5Z"
ASM_ISTIOD_POD = "istiod-1-24-6-5c7e1f0b9-q2w8x"  # a pod name no object of the data plane shows


def istio_control_plane() -> tuple[list[dict[str, Any]], str]:
    """Istio's self-built istiod (Deployment, ReplicaSet, one pod) and the pod's name: istiod's instance id."""
    dep = f.istiod()
    _, rs = f.deployment("istiod", "istio-system", replicas=1,
                         template_labels={"app": "istiod", "istio.io/rev": "default"})
    [pod] = f.workload_pods((dep, rs), 1, proxy=None, labels={"istio": "pilot"})
    return [dep, rs, pod], pod["metadata"]["name"]


def asm_workloads() -> list[dict[str, Any]]:
    """A workload whose pods all run ASM's proxy: the pod path alone finds nothing left on Istio."""
    cart = f.deployment("cart")
    return [*cart, *f.workload_pods(cart, 2, proxy="asm")]


def workload_group(name: str = "reviews", namespace: str = "bookinfo") -> dict[str, Any]:
    return {"apiVersion": "networking.istio.io/v1", "kind": "WorkloadGroup", "metadata": f.meta(name, namespace),
            "spec": {"metadata": {"labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/version": "1.3.4"}},
                     "template": {"ports": {"grpc": 3550, "http": 8080}, "serviceAccount": "default"},
                     "probe": {"initialDelaySeconds": 5, "timeoutSeconds": 3, "periodSeconds": 4,
                               "successThreshold": 3, "failureThreshold": 3,
                               "httpGet": {"path": "/foo/bar", "host": "127.0.0.1", "port": 3100}}}}


def registered(group: dict[str, Any], ip: str, controller: str, *, connected: bool = True,
               owner_api: str = "networking.istio.io/v1") -> dict[str, Any]:
    """The WorkloadEntry istiod creates when a VM's proxy with ISTIO_META_AUTO_REGISTER_GROUP connects."""
    gmeta, gspec = group["metadata"], group["spec"]
    annotations = {"istio.io/autoRegistrationGroup": gmeta["name"], "proxy.istio.io/health-checks-enabled": "true",
                   "istio.io/workloadController": controller}
    annotations["istio.io/connectedAt" if connected else "istio.io/disconnectedAt"] = (
        CONNECTED_AT if connected else DISCONNECTED_AT)
    labels = dict(gspec["metadata"]["labels"])
    meta = f.meta(f"{gmeta['name']}-{ip}", gmeta["namespace"], labels, annotations)
    meta["ownerReferences"] = [{"apiVersion": owner_api, "kind": "WorkloadGroup", "name": gmeta["name"],
                                "uid": gmeta["uid"], "controller": True}]
    return {"apiVersion": "networking.istio.io/v1", "kind": "WorkloadEntry", "metadata": meta,
            "spec": {**gspec["template"], "address": ip, "labels": labels},
            "status": {"conditions": [{"type": "Healthy", "status": "True",
                                       "lastProbeTime": "2026-11-15T11:59:30Z",
                                       "lastTransitionTime": "2026-11-15T09:41:12Z"}]}}


def workload_entry(name: str, namespace: str, spec: dict[str, Any], *, labels: dict | None = None,
                   annotations: dict | None = None) -> dict[str, Any]:
    return {"apiVersion": "networking.istio.io/v1", "kind": "WorkloadEntry",
            "metadata": f.meta(name, namespace, labels, annotations), "spec": spec}


def details_vm() -> dict[str, Any]:
    """istio/api's example of a VM with a sidecar bootstrapped with service account details-legacy."""
    return workload_entry("details-svc", "bookinfo", {"serviceAccount": "details-legacy", "address": "2.2.2.2",
                                                      "labels": {"app": "details-legacy", "instance-id": "vm1"}})


def database() -> list[dict[str, Any]]:
    """An external database a ServiceEntry selects through a WorkloadEntry: an endpoint, no proxy."""
    entry = workload_entry("orders-db-1", "shop", {"address": "10.20.0.15", "ports": {"tcp-postgres": 5432},
                                                   "labels": {"app": "orders-db"}})
    se = f.istio_object("ServiceEntry", "orders-db", "shop", {
        "hosts": ["orders-db.internal"], "location": "MESH_EXTERNAL", "resolution": "STATIC",
        "ports": [{"number": 5432, "name": "tcp-postgres", "protocol": "TCP"}],
        "workloadSelector": {"labels": {"app": "orders-db"}}})
    return [entry, se]


def codes(run, check: str = CHECK) -> list[tuple[str, str, str]]:
    return sorted((r["status"], r["code"], r["name"]) for r in run.rows(check))


# ---------------------------------------------------------------- FAIL: a VM still on Istio's istiod
def test_vm_proxies_connected_to_istios_istiod_block_the_uninstall(audit):
    """Every pod on ASM, two VMs of WorkloadGroup reviews connected to Istio's istiod pod: main said PASS AA1201 and
    GO; the uninstall would cut the VMs off."""
    control, istiod_pod = istio_control_plane()
    group = workload_group()
    objects = [*control, *asm_workloads(), group, registered(group, "10.128.0.7", istiod_pod),
               registered(group, "10.128.0.8", istiod_pod)]
    run = audit({"c1": objects}, "uninstall", config=ONLY)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"], row["kind"], row["namespace"], row["name"]) == (
        "FAIL", "AA1214", "WorkloadGroup", "bookinfo", "reviews")
    assert row["severity"] == "blocker"
    assert row["evidence"]["on_istio_istiod"] == {"reviews-10.128.0.7": istiod_pod, "reviews-10.128.0.8": istiod_pod}
    assert "proxy-status" in row["remediation"] and "workloadentries.networking.istio.io" in row["remediation"]
    assert run.result.verdict.value == "NO-GO"


def test_istio_122_owner_reference_shape_fails_the_same(audit):
    """At 1.22 istiod writes the ownerReference with networking.istio.io/v1alpha3: nothing of the judgement reads it."""
    control, istiod_pod = istio_control_plane()
    group = workload_group()
    entry = registered(group, "10.128.0.7", istiod_pod, owner_api="networking.istio.io/v1alpha3")
    run = audit({"c1": [*control, *asm_workloads(), group, entry]}, "uninstall", config=ONLY)
    assert codes(run) == [("FAIL", "AA1214", "reviews")]


def test_a_health_checked_workload_entry_connected_to_istios_istiod_fails(audit):
    """A user-written WorkloadEntry with health checks: istiod stamps it controller/connectedAt when its proxy
    connects (becomeControllerOf). Main said PASS."""
    control, istiod_pod = istio_control_plane()
    entry = workload_entry("ratings-vm", "bookinfo", {"address": "10.128.0.9", "serviceAccount": "ratings",
                                                      "labels": {"app": "ratings"}},
                           annotations={"proxy.istio.io/health-checks-enabled": "true",
                                        "istio.io/workloadController": istiod_pod,
                                        "istio.io/connectedAt": CONNECTED_AT})
    run = audit({"c1": [*control, *asm_workloads(), entry]}, "uninstall", config=ONLY)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("FAIL", "AA1215", "WorkloadEntry", "ratings-vm")
    assert row["evidence"]["controller"] == istiod_pod


def test_istio_sidecar_pods_and_vms_are_reported_side_by_side(audit):
    """The pod path is unchanged: its workload finding stays, the VM's comes beside it."""
    control, istiod_pod = istio_control_plane()
    group = workload_group()
    web = f.deployment("web")
    run = audit({"c1": [*control, *web, *f.workload_pods(web, 1), group,
                        registered(group, "10.128.0.7", istiod_pod)]}, "uninstall", config=ONLY)
    assert codes(run) == [("FAIL", "AA1210", "web"), ("FAIL", "AA1214", "reviews")]


# ---------------------------------------------------------------- UNKNOWN: a proxy, its control plane not shown
def test_vm_proxies_whose_istiod_is_not_here_are_unknown(audit):
    """Connected to an istiod that is no pod of this cluster (ASM's managed one, another cluster's, a stale stamp), or
    disconnected: the cluster cannot tell which control plane they use. Main said PASS."""
    control, _ = istio_control_plane()
    group = workload_group()
    objects = [*control, *asm_workloads(), group, registered(group, "10.128.0.7", ASM_ISTIOD_POD),
               registered(group, "10.128.0.8", "istiod-7d9f8b6c4-old00", connected=False)]
    run = audit({"c1": objects}, "uninstall", config=ONLY)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("UNKNOWN", "AA1231", "reviews")
    assert row["evidence"]["connected_elsewhere"] == {"reviews-10.128.0.7": ASM_ISTIOD_POD}
    assert row["evidence"]["not_connected"] == ["reviews-10.128.0.8"]
    assert run.result.verdict.value == "INCOMPLETE"


def test_a_workload_group_alone_is_unknown_until_the_operator_exempts_it(audit):
    """Only VM proxies bootstrap from a WorkloadGroup; with no entry here their istiod is not shown (ASM's istiod writes
    its auto-registered entries on its own control plane). Main said PASS; an exemption by code lets it through."""
    objects = [*asm_workloads(), workload_group()]
    run = audit({"c1": objects}, "uninstall", config=ONLY)
    assert codes(run) == [("UNKNOWN", "AA1231", "reviews")]
    exempted = audit({"c1": objects}, "uninstall", config={
        **ONLY, "exemptions": [{"check": "AA1231", "namespace": "bookinfo", "name": "reviews",
                                "reason": "CHG-77: VMs re-bootstrapped on ASM, proxy-status checked"}]})
    [row] = exempted.rows(CHECK)
    assert row["exempt"] and exempted.result.verdict.value == "GO"


def test_workload_entries_that_stand_for_a_proxy_are_unknown(audit):
    """istiod's rule for a proxy: label security.istio.io/tlsMode=istio, or spec.serviceAccount without that label
    (istio/api's details-svc VM example). Main said PASS."""
    tls_labelled = workload_entry("legacy-vm", "bookinfo", {"address": "vm7.corp.example",
                                                            "labels": {"app": "legacy"}},
                                  labels={"security.istio.io/tlsMode": "istio"})
    # istiod merges the spec's labels with the metadata's (ConvertWorkloadEntry): the label may be in either.
    in_spec = workload_entry("batch-vm", "bookinfo", {"address": "10.128.0.12",
                                                      "labels": {"app": "batch", "security.istio.io/tlsMode": "istio"}})
    run = audit({"c1": [*asm_workloads(), details_vm(), tls_labelled, in_spec]}, "uninstall", config=ONLY)
    assert codes(run) == [("UNKNOWN", "AA1232", "batch-vm"), ("UNKNOWN", "AA1232", "details-svc"),
                          ("UNKNOWN", "AA1232", "legacy-vm")]
    row = run.by_name(CHECK)["details-svc"]
    assert row["kind"] == "WorkloadEntry" and row["evidence"]["address"] == "2.2.2.2"


def test_after_the_purge_a_vm_entry_of_the_removed_istiod_is_unknown(audit):
    """Finished gate: istiod is gone, an auto-registered entry still names its pod as connected. Either the VM lost its
    control plane or the entry is residue nobody deletes now: not a PASS (main's)."""
    group = workload_group()
    objects = [*asm_workloads(), group, registered(group, "10.128.0.7", "istiod-7d9f8b6c4-x2kq9")]
    run = audit({"c1": objects}, "finished", config=ONLY)
    assert codes(run) == [("UNKNOWN", "AA1231", "reviews")]


# ---------------------------------------------------------------- PASS: endpoints without a proxy
def test_plain_workload_entries_do_not_block(audit):
    """A database a ServiceEntry selects, and an entry whose tlsMode label says disabled (istiod sends it plain text
    whatever its serviceAccount): no proxy, nothing to move."""
    no_mtls = workload_entry("billing-legacy", "shop", {"address": "10.20.0.16", "serviceAccount": "billing",
                                                        "labels": {"app": "billing"}},
                             labels={"security.istio.io/tlsMode": "disabled"})
    in_spec = workload_entry("billing-legacy-2", "shop", {
        "address": "10.20.0.17", "serviceAccount": "billing",
        "labels": {"app": "billing", "security.istio.io/tlsMode": "disabled"}})
    run = audit({"c1": [*asm_workloads(), *database(), no_mtls, in_spec]}, "uninstall", config=ONLY)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA1201")
    assert run.result.verdict.value == "GO"


def test_the_pass_counts_the_plain_workload_entries_it_judged(audit):
    [row] = audit({"c1": [*asm_workloads(), *database()]}, "uninstall", config=ONLY).rows(CHECK)
    assert row["evidence"]["workload_entries_without_proxy"] == 1


def test_without_vms_the_pass_is_unchanged(audit):
    [row] = audit({"c1": asm_workloads()}, "uninstall", config=ONLY).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA1201")
    assert "workload_entries_without_proxy" not in row["evidence"]


def test_without_the_crds_there_is_no_vm(audit):
    """After the purge Istio's CRDs may be gone: the kinds are not served, which shows no VM entry exists."""
    [row] = audit({"c1": asm_workloads()}, "finished", config=ONLY,
                  unreadable={"c1": {K.WORKLOADENTRY: "not-served", K.WORKLOADGROUP: "not-served"}}).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA1201")


# ---------------------------------------------------------------- UNKNOWN: unreadable
def test_unreadable_workload_entries_or_groups_are_unknown_not_pass(audit):
    forbidden = "forbidden: workloadentries.networking.istio.io is forbidden: User \"audit\" cannot list"
    run = audit({"c1": asm_workloads()}, "uninstall", config=ONLY,
                unreadable={"c1": {K.WORKLOADENTRY: forbidden}})
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"], row["kind"]) == ("UNKNOWN", "AA1233", "WorkloadEntry")
    assert "forbidden" in row["message"]
    assert run.result.verdict.value == "INCOMPLETE"
    groups = audit({"c1": asm_workloads()}, "finished", config=ONLY,
                   unreadable={"c1": {K.WORKLOADGROUP: "the server could not find the requested resource (500)"}})
    assert codes(groups) == [("UNKNOWN", "AA1233", "")]


# ---------------------------------------------------------------- istio-config-imported: istiod's entries
def test_auto_registered_entries_are_not_imported_their_group_is(audit):
    """Main failed the istiod-made entry as missing on ASM (AA2110) with a command importing it: ASM would get a stale
    endpoint it never registered. The WorkloadGroup is the configuration to import."""
    group = workload_group()
    entry = registered(group, "10.128.0.7", ASM_ISTIOD_POD)
    asm = [f.migration_cr("Migrating")]
    run = audit({"c1": [group, entry]}, "uninstall", asm=asm)
    rows = run.rows(IMPORTED)
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [
        ("FAIL", "AA2110", "WorkloadGroup", "reviews")]
    on_asm = {**group, "metadata": {**group["metadata"], "uid": "asm-side-uid"}}
    [row] = audit({"c1": [group, entry]}, "uninstall", asm=[*asm, on_asm]).rows(IMPORTED)
    assert (row["status"], row["code"]) == ("PASS", "AA2101")
    assert any("reviews-10.128.0.7" in s and "auto-registered" in s for s in row["evidence"]["skipped"])


def test_a_user_written_vm_entry_is_still_compared(audit):
    [row] = audit({"c1": [details_vm()]}, "uninstall", asm=[f.migration_cr("Migrating")]).rows(IMPORTED)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2110", "details-svc")


def test_a_pods_only_hand_made_snapshot_cannot_rule_out_vms(tmp_path):
    """`kubectl get pods -A -o yaml` alone: WorkloadEntries and WorkloadGroups were not collected. Main said PASS and
    GO with only this check enabled; now UNKNOWN AA1233 for each kind, naming why, and INCOMPLETE."""
    from auditor.config import Config
    from auditor.engine import run_audit
    from auditor.findings import records
    from auditor.sources.snapshot import open_snapshot

    snap = f.write_snapshot(tmp_path / "s", {"c1": asm_workloads()}, versions={"c1": f.version_info()})
    result = run_audit(open_snapshot(snap), "uninstall", Config.model_validate(ONLY))
    rows = [r for r in records(result.findings) if r["check_id"] == CHECK]
    # And the ASM pods' CA_ADDR istiod is unproven with the Services not collected either (AA1234); nor is any
    # workload scaled to zero seen with the workload kinds not collected (AA1238).
    assert sorted((r["status"], r["code"], r["kind"]) for r in rows) == [
        ("UNKNOWN", "AA1233", "WorkloadEntry"), ("UNKNOWN", "AA1233", "WorkloadGroup"), ("UNKNOWN", "AA1234", ""),
        ("UNKNOWN", "AA1238", "")]
    assert all("not collected" in r["message"] for r in rows)
    assert result.verdict.value == "INCOMPLETE"


def test_with_deployments_unreadable_a_vm_cannot_be_proven_on_istio(audit):
    """Which pods are istiod's needs the Deployments (label app=istiod): unread, the stamp proves nothing, UNKNOWN."""
    control, istiod_pod = istio_control_plane()
    group = workload_group()
    run = audit({"c1": [*control, *asm_workloads(), group, registered(group, "10.128.0.7", istiod_pod)]},
                "uninstall", config=ONLY, unreadable={"c1": {K.DEPLOYMENT: "forbidden: deployments.apps"}})
    # AA1238: the unread Deployments hide any scaled to zero too (auditor/idle.py).
    row, pods_row = [r for r in run.rows(CHECK) if r["code"] != "AA1238"]
    assert (row["status"], row["code"], row["name"]) == ("UNKNOWN", "AA1231", "reviews")
    assert "forbidden" in row["evidence"]["istiod_pods_unread"]
    assert (pods_row["status"], pods_row["code"]) == ("UNKNOWN", "AA1234")  # the pods' CA_ADDR istiod, likewise


def test_the_reports_progress_counts_vm_proxies_as_not_moved(audit):
    """The CAB pack's "% on ASM": every pod on ASM read 100% while the VMs of WorkloadGroup reviews still used Istio's
    istiod (the check above blocks). Each WorkloadGroup and proxied WorkloadEntry is a workload of its namespace, not
    proven moved (shown on Istio's), as a pod whose proxy marks contradict each other is; plain entries are not."""
    from auditor.render import context

    control, istiod_pod = istio_control_plane()
    group = workload_group()
    objects = [*control, *asm_workloads(), group, registered(group, "10.128.0.7", istiod_pod), details_vm(),
               *database()]
    run = audit({"c1": objects}, "uninstall", config=ONLY)
    progress = context.progress_section(run.result, context.PDF_LIMITS)
    assert progress["totals"] == {"istio": 2, "asm": 1, "none": 1}  # reviews + details-vm; cart; istiod's own pod
    assert progress["percent"] == 33
    bookinfo = next(r for r in progress["rows"] if r["label"] == "bookinfo")
    assert bookinfo["istio"] == 2 and bookinfo["asm"] == 0


def test_the_progress_says_when_vm_proxies_could_not_be_read(audit):
    from auditor.render import context

    run = audit({"c1": asm_workloads()}, "uninstall", config=ONLY,
                unreadable={"c1": {K.WORKLOADENTRY: "forbidden: workloadentries.networking.istio.io"}})
    progress = context.progress_section(run.result, context.PDF_LIMITS)
    assert progress["percent"] == 100
    assert any("VM proxies not counted" in m and "forbidden" in m for m in progress["missing"])
