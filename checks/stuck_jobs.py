"""Job pods held Running by a classic sidecar after their application containers ended (domain.md, "Beyond the
seed"): the proxy never exits by itself, so such a pod never completes and never moves at its next run. The same holds
for every pod that runs to completion (restartPolicy Never/OnFailure: inventory._RUN_POLICIES), whoever made it:
Argo Workflows' and Tekton's step pods, `kubectl run --restart=Never`, Airflow's pods."""

from __future__ import annotations

from collections.abc import Iterable

from auditor import kinds as K
from auditor import mesh
from auditor.check import ClusterCheck, Context, same_in_every_gate
from auditor.i18n import N_
from auditor.inventory import WORKLOAD_KEY, ClusterInventory, workload_rows
from auditor.istio import among, pod_columns
from auditor.model import Finding, Gate, Outcome, Severity, Status

RUN_TO_COMPLETION = ("Job", "CronJob")
PODS_LISTED = 10
# What ends a classic sidecar without a pod restart (mesh.quit_proxy_command): pilot-agent asks Envoy to quit, the
# agent exits with it, and the pod completes with its application's exit code (Istio's documented Job workaround is
# the same /quitquitquit call made from the application).
# Argo Workflows ends an injected sidecar by exec'ing `/bin/sh -c "kill -15 1"` in it unless the pod names the command
# (argoproj/argo-workflows@v3.7.18:workflow/signal/signal.go, common.AnnotationKeyKillCmd; docs/sidecar-injection.md
# suggests pilot-agent's quitquitquit for istio-proxy): without /bin/sh (distroless proxyv2) it fails.
_ARGO_KILL_CMD = N_("Argo Workflows: add the pod annotation workflows.argoproj.io/kill-cmd-istio-proxy: "
                    "'[\"pilot-agent\", \"request\", \"POST\", \"quitquitquit\"]' (spec.podMetadata.annotations) "
                    "so Argo ends the proxy when the step is done.")
_RECURRENCE = N_("A classic sidecar (Istio's or ASM's) holds every run: have the job call "
                 "POST http://localhost:15020/quitquitquit when it ends, or use native sidecars "
                 "(Kubernetes 1.29+, sidecar.istio.io/nativeSidecar / ENABLE_NATIVE_SIDECARS).")
# A held pod's remediation is its advice, one line each (said in the reader's language), then its commands, one a
# line: a command never ends a sentence (`... POST quitquitquit.` asked the agent for "quitquitquit.").
_END = N_("End each held pod's proxy with the commands below; the pod then completes.")
_THEN_MOVE = N_("Then move the CronJob (the last command), so its next runs start on ASM's proxy.")


class StuckSidecarJobs(ClusterCheck):
    id = "stuck-sidecar-jobs"
    title = "No Job pod is held Running by a classic sidecar"
    gates = (Gate.MIGRATING, Gate.UNINSTALL)
    severity = Severity.MAJOR
    rationale = ("A Job pod whose application containers ended stays Running while its classic istio-proxy runs: "
                 "the proxy never exits unless the job calls /quitquitquit. Such a pod never completes, so it "
                 "never moves to ASM's proxy at its next run, and at uninstall it loses its control plane.")
    remediation = ("End each held pod's proxy (kubectl exec POD -c istio-proxy -- pilot-agent request POST "
                   "quitquitquit); move the CronJobs that produce them.")
    _HELD = "{count} pod(s) held Running by %s classic sidecar after their application ended: {pods}"
    CLEAN = Outcome("AA2901", Status.PASS, "Job pods run a classic sidecar, none is held Running after its "
                    "application ended", message="{classic} Running Job pod(s) run a classic sidecar; none is held "
                                                 "after its application ended")
    HELD = Outcome("AA2910", Status.FAIL, "pods of a Job are held Running by Istio's classic sidecar after their "
                   "application ended: they never complete nor move; end each proxy",
                   message=_HELD % "Istio's")
    CRONJOB_HELD = Outcome("AA2911", Status.FAIL, "pods of a CronJob are held Running by Istio's classic sidecar "
                           "after their application ended; the CronJob keeps producing such pods until it moves",
                           message=_HELD % "Istio's" + "; the CronJob keeps producing such pods until it "
                                                                  "moves")
    RUN_HELD = Outcome("AA2913", Status.FAIL, "pods that run to completion, not a Job's (Argo Workflows, Tekton, "
                       "bare pods), are held Running by Istio's classic sidecar after their application ended: they "
                       "never complete nor move; end each proxy",
                       message=_HELD % "Istio's" + "; they run to completion (restartPolicy Never/OnFailure), no Job "
                                                         "owns them")
    HELD_UNCLASSIFIED = Outcome("AA2912", Status.FAIL, "Job pods are held Running by a classic sidecar whose proxy "
                                "marks contradict each other (judged as Istio's: a held pod blocks either way)",
                                message=_HELD % "a")
    ASM_HELD = Outcome("AA2920", Status.WARN, "Job pods already on ASM's proxy are held Running by its classic "
                       "sidecar: not a migration blocker, but they never complete", Severity.MINOR,
                       message=_HELD % "ASM's")
    OWNER_UNREAD = Outcome("AA2930", Status.UNKNOWN, "Jobs could not be read: whether a CronJob keeps producing "
                           "the held pods cannot be told",
                           message="Jobs could not be read ({reason}): whether a CronJob keeps producing the held pods "
                                   "of {jobs} Job(s) cannot be told")
    NO_SIDECAR_JOBS = Outcome("AA2940", Status.NOT_APPLICABLE, "no active Job pod runs a classic sidecar",
                              message="no Running Job pod runs a classic sidecar ({job_pods} Job pod(s) with a proxy "
                                      "in all), and no other pod that runs to completion is held by one")
    NO_PODS = Outcome("AA2941", Status.NOT_APPLICABLE, "the cluster has no pod at all", message="no pod in the cluster")
    outcomes = (CLEAN, HELD, CRONJOB_HELD, HELD_UNCLASSIFIED, RUN_HELD, ASM_HELD, OWNER_UNREAD, NO_SIDECAR_JOBS,
                NO_PODS)
    needs = (K.POD,)
    uses = (K.JOB,)  # a Job's owner reference names the CronJob behind it

    @same_in_every_gate
    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        pods = cluster.pods()
        if pods.empty:
            yield self.report(self.NO_PODS, cluster.name, params={})
            return
        # Masks over the whole frame, and only the held pods' columns read taken: each selection of rows copies
        # every column of the frame (~30), and most clusters have no held pod at all.
        with_proxy = ~among(pods["proxy"], (mesh.PROXY_NONE,))
        job_pods = among(pods["workload_kind"], RUN_TO_COMPLETION) & with_proxy
        classic = job_pods & ~pods["native"].to_numpy().astype(bool) & among(pods["phase"], ("Running",))
        # Held, whoever owns the pod: the summary says held only of a Running pod that runs to completion (restart
        # policy Never/OnFailure), with a classic istio-proxy, every app container ended.
        held_rows = with_proxy & pods["held_by_proxy"].to_numpy().astype(bool)
        held = pod_columns(pods, held_rows, [*WORKLOAD_KEY, "name", "proxy", "owner_kind", "owner_name"])
        for (namespace, kind, name), group in workload_rows(held, ("name", "proxy", "owner_kind", "owner_name")):
            yield self._held(cluster.name, namespace, kind, name, group)
        job_owned = [(ns, job) for ns, okind, job in zip(held["namespace"], held["owner_kind"], held["owner_name"],
                                                          strict=True) if okind == "Job"]
        if job_owned and not cluster.available(K.JOB):
            jobs = sorted({f"{ns}/{job}" for ns, job in job_owned})
            yield self.report(self.OWNER_UNREAD, cluster.name,
                              params={"reason": cluster.unread_reason(K.JOB), "jobs": len(jobs)},
                              evidence={"jobs": jobs[:PODS_LISTED]},
                              remediation="Grant get/list on batch/jobs to the audit identity and audit again.")
        if held.empty:
            if not classic.any():
                with_proxy = int(job_pods.sum())
                yield self.report(self.NO_SIDECAR_JOBS, cluster.name, params={"job_pods": with_proxy},
                                  evidence={"job_pods_with_proxy": with_proxy})
            else:
                classic_pods = int(classic.sum())
                yield self.report(self.CLEAN, cluster.name, params={"classic": classic_pods},
                                  evidence={"classic_job_pods": classic_pods})

    def _held(self, cluster: str, namespace: str, kind: str, name: str, group: dict[str, list]) -> Finding:
        names = sorted(str(p) for p in group["name"])
        listed = names[:PODS_LISTED]
        on_asm = all(p == mesh.PROXY_ASM for p in group["proxy"])
        quits = [mesh.quit_proxy_command(cluster, namespace, p) for p in listed]
        evidence: dict[str, object] = {"pods": listed, "pod_count": len(names)}
        job_pods = kind in RUN_TO_COMPLETION
        if job_pods:
            evidence["jobs"] = sorted({str(j) for j in group["owner_name"]})
        else:  # an owner no Job is (a Workflow, a TaskRun), or none: the pod itself
            evidence["owners"] = sorted({f"{k}/{n}" for k, n in zip(group["owner_kind"], group["owner_name"],
                                                                     strict=True) if k})
        # The count is in the message: the names listed are enough, the rest is "...".
        params = {"count": len(names), "pods": ", ".join(listed) + (" ..." if len(names) > len(listed) else "")}
        if on_asm:
            return self.report(self.ASM_HELD, cluster, params=params, kind=kind, namespace=namespace, name=name,
                               remediation="\n".join([_END, _RECURRENCE, *quits]), evidence=evidence)
        if kind == "CronJob":
            remediation = "\n".join([_END, _THEN_MOVE, _RECURRENCE, *quits,
                                     mesh.asm_inject_command(cluster, kind, namespace, name)])
        elif kind == "Workflow":
            remediation = "\n".join([_END, _ARGO_KILL_CMD, _RECURRENCE, *quits])
        else:
            remediation = "\n".join([_END, _RECURRENCE, *quits])
        # Contradicting proxy marks (mesh.PROXY_UNKNOWN) are judged as Istio's: a held pod blocks either way.
        if not all(p == mesh.PROXY_ISTIO for p in group["proxy"]):
            outcome = self.HELD_UNCLASSIFIED
        else:
            outcome = self.CRONJOB_HELD if kind == "CronJob" else self.HELD if job_pods else self.RUN_HELD
        return self.report(outcome, cluster, params=params, kind=kind, namespace=namespace, name=name,
                           remediation=remediation, evidence=evidence)
