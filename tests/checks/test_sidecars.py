"""istio-sidecars-remaining: one finding per workload still on Istio's sidecar, owners resolved."""

from __future__ import annotations

from auditor import kinds as K
from tests import factory as f


def cronjob_with_job(name: str, namespace: str = "batch", template: dict | None = None) -> tuple[dict, dict]:
    """A CronJob and the Job it created (ownerReference to the CronJob, as the controller writes it)."""
    template = template or {"metadata": {"labels": {"app": name}},
                            "spec": {"containers": [{"name": "main", "image": f"registry.example.com/{name}:1"}],
                                     "restartPolicy": "OnFailure"}}
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": f.meta(name, namespace),
            "spec": {"schedule": "*/30 * * * *", "jobTemplate": {"spec": {"template": template}}}}
    job_meta = f.meta(f"{name}-29000000", namespace, {"app": name})
    job_meta["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "CronJob", "name": name,
                                    "uid": cron["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": job_meta, "spec": {"template": template},
           "status": {"active": 1}}
    return cron, job


def test_one_finding_per_workload_with_the_seed_patch_command(audit):
    cart = f.deployment("cart")
    pods = f.workload_pods(cart, 3)
    pods[0] = f.workload_pods(cart, 1, native=True)[0]
    run = audit({"c1": [*cart, *pods]}, "uninstall")
    [row] = run.rows("istio-sidecars-remaining")
    assert (row["status"], row["code"], row["kind"], row["namespace"], row["name"]) == (
        "FAIL", "AA1210", "Deployment", "shop", "cart")
    assert (row["evidence"]["pod_count"], row["evidence"]["native"]) == (3, 1)
    assert row["severity"] == "blocker"
    assert row["remediation"] == (
        "kubectl --kubeconfig=\"${KUBECONFIG_C1:?}\" -n shop patch deployment/cart --type='merge' -p "
        '\'{"spec":{"template":{"metadata":{"labels":{"sidecar.asm.aliyun.com/inject":"true"}}}}}\'')


def test_owner_chain_job_to_cronjob_and_bare_pods(audit):
    cron, job = cronjob_with_job("backup")
    job_pod = f.pod("backup-29000000-x7k2p", "batch", owner=("Job", job["metadata"]["name"]))
    bare = f.pod("debug", "ops", owner=None)
    run = audit({"c1": [cron, job, job_pod, bare]}, "finished")
    rows = {(r["kind"], r["name"]): r for r in run.rows("istio-sidecars-remaining")}
    assert set(rows) == {("CronJob", "backup"), ("Pod", "debug")}
    assert '"jobTemplate"' in rows[("CronJob", "backup")]["remediation"]


def test_without_replicasets_the_deployment_comes_from_the_pod_template_hash(audit):
    cart = f.deployment("cart")
    run = audit({"c1": [cart[0], *f.workload_pods(cart, 2)]}, "uninstall",
                unreadable={"c1": {K.REPLICASET: "403 Forbidden"}})
    [row] = [r for r in run.rows("istio-sidecars-remaining") if r["code"] != "AA1238"]  # AA1238: Rollouts unseen
    assert (row["kind"], row["name"]) == ("Deployment", "cart")


def test_restart_pending_when_labelled_but_still_istio(audit):
    cart = f.deployment("cart", template_labels={"app": "cart", "sidecar.asm.aliyun.com/inject": "true"})
    [row] = audit({"c1": [*cart, *f.workload_pods(cart, 2)]}, "uninstall").rows("istio-sidecars-remaining")
    assert (row["status"], row["code"]) == ("FAIL", "AA1211")
    assert row["remediation"].endswith("-n shop rollout restart deployment/cart")
    assert row["evidence"]["restart_pending"] is True


def test_partly_labelled_workload_is_not_called_pending(audit):
    cart = f.deployment("cart")
    pods = [*f.workload_pods(cart, 1, labels={"sidecar.asm.aliyun.com/inject": "true"}),
            *f.workload_pods(cart, 2)[1:]]
    [row] = audit({"c1": [*cart, *pods]}, "uninstall").rows("istio-sidecars-remaining")
    assert (row["code"], row["evidence"]["labelled_for_asm"]) == ("AA1212", 1)
    assert "patch deployment/cart" in row["remediation"]


def test_kube_injected_template_gets_the_rerender_remediation(audit):
    injected = f.pod("tmp", "shop")  # a rendered pod: its spec is what kube-inject writes into a template
    dep, rs = f.deployment("legacy", containers=injected["spec"]["containers"],
                           template_annotations={"sidecar.istio.io/status": injected["metadata"]["annotations"][
                               "sidecar.istio.io/status"]})
    [row] = audit({"c1": [dep, rs, *f.workload_pods((dep, rs), 1)]}, "uninstall").rows("istio-sidecars-remaining")
    assert (row["code"], row["evidence"]["manual_injection"]) == ("AA1213", True)
    assert row["remediation"].startswith("Re-render it")
    assert " -n shop get deployment/legacy -o yaml | grep " in row["remediation"].splitlines()[1]


def test_asm_proxies_gateways_and_finished_pods_do_not_count(audit):
    moved = f.deployment("cart")
    gateway = f.pod("istio-ingressgateway-7c9d-abcde", "istio-system", gateway=True,
                    labels={"app": "istio-ingressgateway", "istio": "ingressgateway"})
    done = f.pod("report-1", "batch", owner=None, phase="Succeeded")
    run = audit({"c1": [*moved, *f.workload_pods(moved, 2, proxy="asm"), gateway, done,
                        f.pod("plain", "default", proxy=None, owner=None)]}, "uninstall")
    [row] = run.rows("istio-sidecars-remaining")
    assert (row["status"], row["code"], row["name"]) == ("PASS", "AA1201", "")
    assert row["evidence"]["asm_proxy_pods"] == 2 and row["evidence"]["gateway_pods"] == 1


def test_unreadable_pods_are_unknown(audit):
    run = audit({"c1": [f.pod("a", owner=None)]}, "uninstall",
                unreadable={"c1": {K.POD: "Unauthorized: token expired"}})
    [row] = run.rows("istio-sidecars-remaining")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0001")
    assert "token expired" in row["message"]  # the recorded error, verbatim

