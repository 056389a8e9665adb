"""asm-proxies-ready: a workload labelled for ASM's proxy whose pods run none (red20i).

The seed moves a workload by patching its template with label sidecar.asm.aliyun.com/inject=true; the rolling
restart then re-creates every pod, and whether the new pods get ASM's proxy is up to ASM's injector at admission. When
it does not take them (an injection policy that asks for more, a webhook whose failurePolicy Ignore lets the API server
admit the pod unmutated: kubernetes/api admissionregistration/v1 types.go FailurePolicyType "Ignore"; an opt-out label
that Istio-derived injectors read first: istio/istio@1.30.3 pkg/kube/inject/inject.go injectRequired, label
sidecar.istio.io/inject "false" wins), the new pods run no proxy at all. Nothing Istio's is left of the workload
(istio-sidecars-remaining PASS), none of its pods is an unready ASM pod, its Deployment has every pod available: main
said PASS AA1301 (or NOT_APPLICABLE AA1340) at the uninstall gate, a GO while the workload left the mesh.
"""

from __future__ import annotations

from tests import factory as f

ASM_LABEL = "sidecar.asm.aliyun.com/inject"


def moved(name: str, replicas: int = 2) -> tuple[dict, dict]:
    """A Deployment after the seed's `kubectl patch ... {"spec":{"template":{"metadata":{"labels":
    {"sidecar.asm.aliyun.com/inject":"true"}}}}}` (the label on its template, so on every new pod)."""
    return f.deployment(name, replicas=replicas, template_labels={"app": name, ASM_LABEL: "true"})


def test_labelled_pods_without_a_proxy_fail_beside_healthy_asm_pods(audit):
    cart, web = moved("cart"), moved("web")
    pods = [*f.workload_pods(cart, 2, proxy=None), *f.workload_pods(web, 2, proxy="asm")]
    run = audit({"c1": [*cart, *web, *pods]}, "uninstall")
    rows = run.rows("asm-proxies-ready")
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [
        ("FAIL", "AA1314", "Deployment", "cart")]  # main: [("PASS", "AA1301", "", "")]
    [row] = rows
    assert row["severity"] == "major"
    assert row["evidence"]["pods"] == 2 and len(row["evidence"]["unproxied"]) == 2
    assert "rollout restart deployment/cart" in row["remediation"]
    assert run.statuses("istio-sidecars-remaining") == ["PASS"]  # nothing Istio's left: no other check sees it


def test_the_only_moved_workload_without_a_proxy_is_not_not_applicable(audit):
    cart = moved("cart", replicas=1)
    [row] = audit({"c1": [*cart, *f.workload_pods(cart, 1, proxy=None)]}, "uninstall").rows("asm-proxies-ready")
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA1314", "cart")  # main: NOT_APPLICABLE AA1340


def test_unlabelled_pods_without_a_proxy_and_terminating_ones_are_not_judged(audit):
    plain = f.deployment("plain")  # never asked for a proxy: not this check's business
    cart = moved("cart")
    going = f.workload_pods(cart, 1, proxy=None)
    going[0]["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"  # its controller counts it no more
    pods = [*f.workload_pods(plain, 2, proxy=None), *going, *f.workload_pods(cart, 2, first=1, proxy="asm")]
    [row] = audit({"c1": [*plain, *cart, *pods]}, "uninstall").rows("asm-proxies-ready")
    assert (row["status"], row["code"]) == ("PASS", "AA1301")


def test_workloads_no_injector_ever_injects_are_left_alone(audit):
    """hostNetwork templates and the namespaces injectRequired ignores (istio/istio@1.30.3 pkg/kube/inject/inject.go,
    initializer.go IgnoredNamespaces): their pods ran no proxy under Istio either; the label changes nothing."""
    agent = moved("agent")
    agent[0]["spec"]["template"]["spec"]["hostNetwork"] = True
    agent[1]["spec"]["template"]["spec"]["hostNetwork"] = True
    system = f.deployment("dns", "kube-system", template_labels={"app": "dns", ASM_LABEL: "true"})
    web = moved("web")
    pods = [*f.workload_pods(agent, 2, proxy=None), *f.workload_pods(system, 2, proxy=None),
            *f.workload_pods(web, 2, proxy="asm")]
    [row] = audit({"c1": [*agent, *system, *web, *pods]}, "uninstall").rows("asm-proxies-ready")
    assert (row["status"], row["code"]) == ("PASS", "AA1301")
