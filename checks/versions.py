"""Version prerequisites of the seed: Kubernetes >= 1.21, Istio >= 1.10, ASM >= 1.24."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from auditor import kinds as K
from auditor import mesh, rollouts
from auditor.asm import (
    CONFIG_SOURCE,
    SERVICE_SOURCE,
    answered_version,
    asm_proxy_versions,
    asm_service_versions,
    asm_version,
)
from auditor.check import Check, ClusterCheck, Context, same_in_every_gate
from auditor.config import Config
from auditor.errors import EvidenceUnavailable
from auditor.gateways import SCAN_KINDS, eastwest_signals
from auditor.i18n import N_, Phrase
from auditor.inventory import ACTIVE_PHASES, ClusterInventory
from auditor.istio import among, istiod_pinned_version
from auditor.model import Finding, Gate, Outcome, Severity, Status
from auditor.remote import Istiod, Links, Remote, remote_outcomes

MIN_KUBERNETES = (1, 21)
MIN_ISTIO = (1, 10)
MIN_ASM = (1, 24)
MIN_ASM_CROSS_CLUSTER = (1, 22)
# Istio's policy: the control plane may be one minor ahead of the data plane, never behind it.
MAX_PROXY_LAG_MINORS = 1
# The comment after AA0230's `rollout status` (advice to the reader: said in the report's language).
ROLLOUT_COMMENT = N_("finish (or undo) the rollout, then audit again")


# Parts of message templates (istio-version's data-plane skew).
UNTAGGED = "{untagged} proxy pod(s) run images without a version tag (not compared)"
SKEWED_MESSAGE = ("{pods} Istio proxy pod(s) are outside the supported skew (istiod may be at most {max_lag} minor "
                  "ahead, never behind)")
SKEW_FIX = ("Restart the workloads on old proxies (kubectl rollout restart) so they are injected with their "
            "revision's proxy before migrating.")
# Parts of message templates (asm-version).
EASTWEST_NEED = ("east-west gateway in use ({eastwest}): the cross-cluster mesh proxy that replaces it needs "
                 "ASM >= {cross_cluster_min}")
NO_SOURCE_FIX = ("pass --asm-mesh-id/--asm-region to read it from ASM, set asm.version (or "
                 "asm.describe_service_mesh_detail with a saved DescribeServiceMeshDetail answer) in the config, or "
                 "join a cluster so ASM's istiod-<rev> Service appears")


def _fmt(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


# What to do when the /version answer cannot be read as one version (AA0131, AA0132): ask the server again; a snapshot's
# version.json (`kubectl version -o json`: clientVersion, serverVersion) edited or assembled by hand is collected anew.
_VERSION_AGAIN = ("Read the server's version again (kubectl version -o json: its serverVersion) and audit again; a "
                  "snapshot whose version.json was edited or assembled by hand is collected again with asm-audit "
                  "snapshot.")


def _placeholder(version: mesh.Version) -> bool:
    """Kubernetes 0.0: what an unstamped build reports (KubernetesVersion.PLACEHOLDER), never a release."""
    return (version.major, version.minor) == (0, 0)


class KubernetesVersion(ClusterCheck):
    id = "kubernetes-version"
    title = "Kubernetes is 1.21 or later"
    gates = (Gate.ASSESSMENT, Gate.SETUP)
    severity = Severity.BLOCKER
    rationale = "ASM only migrates clusters running Kubernetes 1.21 or later."
    remediation = "Upgrade the cluster to Kubernetes >= 1.21 (ACK: Clusters > Upgrade) before joining it to ASM."
    SUPPORTED = Outcome("AA0101", Status.PASS, "the cluster runs Kubernetes 1.21 or later",
                        message="Kubernetes {version} (>= 1.21), from {source}")
    TOO_OLD = Outcome("AA0110", Status.FAIL, "the cluster runs Kubernetes older than 1.21",
                      message="Kubernetes {version} is older than 1.21 (from {source})")
    UNREAD = Outcome("AA0130", Status.UNKNOWN, "the Kubernetes version could not be read (/version did not answer)",
                     message="Kubernetes version unknown: {reason}",
                     fix="Check that the cluster's API server answers with the kubeconfig given (kubectl version -o "
                         "json shows a serverVersion), then audit again.")
    UNPARSED = Outcome("AA0131", Status.UNKNOWN, "the /version answer holds no readable version (gitVersion and "
                       "major/minor are not versions)",
                       message="cannot read a Kubernetes version from the /version answer (gitVersion {git_version}, "
                               "major {major}, minor {minor})",
                       fix=_VERSION_AGAIN)
    DISAGREE = Outcome("AA0132", Status.UNKNOWN, "the /version answer's gitVersion and major/minor name Kubernetes "
                       "versions on both sides of 1.21 (a server derives both from one version string)",
                       message="gitVersion {git_version} says Kubernetes {git}, major/minor {major}.{minor} say "
                               "{major_minor}: one of them is not this server's version",
                       fix=_VERSION_AGAIN)
    # Kubernetes' own fallback when a build sets no version (kubernetes/kubernetes@0abf1fc0 staging/src/k8s.io/
    # component-base/version/base.go: gitVersion "v0.0.0-master+$Format:%H$", gitMajor and gitMinor ""), which `go
    # build` without the release ldflags, dev clusters and some vendor builds serve: no release, so not "Kubernetes 0.0
    # is older than 1.21" (a FAIL, NO-GO, on a cluster of any age).
    PLACEHOLDER = Outcome("AA0133", Status.UNKNOWN, "the /version answer carries Kubernetes' placeholder version "
                          "v0.0.0 (a build without version stamping) and no major/minor: which release runs is not "
                          "told",
                          message="gitVersion {git_version} is Kubernetes' placeholder for a build without version "
                                  "stamping, and major/minor ({major}, {minor}) name no release: the Kubernetes "
                                  "version is not told",
                          fix="Find which Kubernetes release the API server was built from (its vendor, or the "
                              "source it was built from); if it is 1.21 or later, exempt AA0133 for this cluster with "
                              "that reason, or rebuild it with the release's version stamped, then audit again.")
    outcomes = (SUPPORTED, TOO_OLD, UNREAD, UNPARSED, DISAGREE, PLACEHOLDER)

    @same_in_every_gate
    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        if cluster.unreachable:
            raise EvidenceUnavailable(f"cluster unreachable: {cluster.unreachable}")
        if cluster.version_info is None:
            yield self.report(self.UNREAD, cluster.name, params={"reason": cluster.version_error})
            return
        info = cluster.version_info
        git_version = info.get("gitVersion")
        raw = git_version if isinstance(git_version, str) else repr(git_version)
        evidence = {"gitVersion": git_version, "major": info.get("major"), "minor": info.get("minor")}
        # gitVersion carries vendor suffixes (v1.28.3-aliyun.1, v1.27.8-eks-...); major/minor ("1", "28+")
        # are the fallback when it is not a version at all. A non-string gitVersion is malformed: not read.
        version = mesh.parse_version(git_version) if isinstance(git_version, str) else None
        try:
            major_minor = mesh.kubernetes_version({"major": info.get("major"), "minor": info.get("minor")})
        except ValueError:  # digits beyond int()'s limit are no version either
            major_minor = None
        # 0.0 is no release on either side (PLACEHOLDER): gitVersion v0.0.0[-master+...], or major/minor "0"/"0".
        placeholder = version is not None and _placeholder(version)
        if placeholder:
            version = None
        if major_minor is not None and _placeholder(major_minor):
            major_minor = None
        source = f"gitVersion {raw}"
        if version is None:
            version = major_minor
            source = f"major/minor {info.get('major')}.{info.get('minor')} (gitVersion {raw!r} unreadable)"
        elif major_minor is not None and major_minor.at_least(*MIN_KUBERNETES) != version.at_least(*MIN_KUBERNETES):
            # Kubernetes' build (hack/lib/version.sh) sets gitMajor/gitMinor from the gitVersion it stamps: an answer
            # where they fall on both sides of the minimum was not written by one server build (edited, assembled).
            evidence["source"] = "gitVersion and major/minor disagree"
            yield self.report(self.DISAGREE, cluster.name, params={
                "git_version": repr(raw), "git": f"{version.major}.{version.minor}", "major": repr(info.get("major")),
                "minor": repr(info.get("minor")), "major_minor": f"{major_minor.major}.{major_minor.minor}"},
                evidence=evidence)
            return
        evidence["source"] = source
        if version is None and placeholder:
            evidence["source"] = "Kubernetes' placeholder version (a build without version stamping)"
            yield self.report(self.PLACEHOLDER, cluster.name, params={
                "git_version": repr(raw), "major": repr(info.get("major")), "minor": repr(info.get("minor"))},
                evidence=evidence)
        elif version is None:
            yield self.report(self.UNPARSED, cluster.name, params={
                "git_version": repr(raw), "major": repr(info.get("major")), "minor": repr(info.get("minor"))},
                evidence=evidence)
        else:
            params = {"version": f"{version.major}.{version.minor}", "source": source}
            if version.at_least(*MIN_KUBERNETES):
                yield self.report(self.SUPPORTED, cluster.name, params=params, evidence=evidence)
            else:
                yield self.report(self.TOO_OLD, cluster.name, params=params, evidence=evidence,
                                  remediation=self.remediation)


class IstioVersion(ClusterCheck):
    id = "istio-version"
    title = "Every istiod revision is Istio 1.10 or later; data-plane skew is supported"
    gates = (Gate.ASSESSMENT, Gate.SETUP)
    severity = Severity.BLOCKER
    rationale = ("ASM migrates self-built Istio 1.10 or later, every revision of it; proxies more than one minor "
                 "behind (or ahead of) their istiod are outside Istio's supported skew during the move.")
    remediation = "Upgrade Istio to >= 1.10 with istioctl upgrade (revision by revision) before migrating."
    REVISION_SUPPORTED = Outcome("AA0201", Status.PASS, "an istiod revision runs Istio 1.10 or later",
                                 message="istiod revision {revision} runs Istio {version} (from {source})")
    SKEW_SUPPORTED = Outcome("AA0202", Status.PASS, "the Istio proxies are within the supported skew of their istiod",
                             message="{pods} Istio proxy pod(s) within the supported skew of their istiod")
    SKEW_SUPPORTED_SOME_UNTAGGED = Outcome(
        "AA0203", Status.PASS, "the Istio proxies compared are within the supported skew of their istiod; some run "
        "images without a version tag (not compared)",
        message="{pods} Istio proxy pod(s) within the supported skew of their istiod; " + UNTAGGED)
    REVISION_TOO_OLD = Outcome("AA0210", Status.FAIL, "an istiod revision is older than Istio 1.10",
                               message="istiod revision {revision} runs Istio {version} (< 1.10)")
    SKEWED = Outcome("AA0220", Status.WARN, "data-plane proxies are outside Istio's supported version skew of their "
                     "istiod", Severity.MINOR, fix=SKEW_FIX, message=SKEWED_MESSAGE)
    SKEWED_SOME_UNTAGGED = Outcome("AA0221", Status.WARN, "data-plane proxies are outside Istio's supported version "
                                   "skew of their istiod; some run images without a version tag (not compared)",
                                   Severity.MINOR, fix=SKEW_FIX, message=SKEWED_MESSAGE + "; " + UNTAGGED)
    REVISION_UNREAD = Outcome("AA0230", Status.UNKNOWN,
                              "an istiod's version cannot be read (digest, `latest`, a tag that numbers no Istio "
                              "release, a rollout still under way), or Istio proxies run without a local istiod",
                              message="istiod revision {revision}: version unknown ({reason})")
    SKEW_PODS_UNREAD = Outcome("AA0231", Status.UNKNOWN, "data-plane skew unknown: the pods could not be read",
                               Severity.MINOR, message="data-plane skew unknown: pods not readable ({reason})")
    SKEW_ALL_UNTAGGED = Outcome("AA0232", Status.UNKNOWN, "data-plane skew unknown: every Istio proxy image lacks a "
                                "version tag", Severity.MINOR, message="data-plane skew unknown; " + UNTAGGED)
    NO_ISTIO = Outcome("AA0240", Status.NOT_APPLICABLE, "no istiod Deployment and no pod running Istio's proxy")
    # A remote cluster (no istiod) judged against the audited istiod serving its proxies (auditor/remote.py): the
    # version of that istiod, and its proxies' skew against it. Last: a free-text UNKNOWN is still REVISION_UNREAD.
    REMOTE = remote_outcomes(passed="AA0204", failed="AA0211", unjudged="AA0233", unlinked="AA0234")
    outcomes = (REVISION_SUPPORTED, SKEW_SUPPORTED, SKEW_SUPPORTED_SOME_UNTAGGED, REVISION_TOO_OLD, SKEWED,
                SKEWED_SOME_UNTAGGED, REVISION_UNREAD, SKEW_PODS_UNREAD, SKEW_ALL_UNTAGGED, NO_ISTIO, *REMOTE)
    needs = (K.DEPLOYMENT,)
    # Namespace: istio-system's annotation naming a remote's istiod cluster; ConfigMap: a remote's Helm values record,
    # the one place an IP global.remotePilotAddress shows among the kinds read (auditor/remote.remote_addresses).
    uses = (K.POD, K.NAMESPACE, K.CONFIGMAP)

    def prepare(self, ctx: Context) -> None:
        # check_cluster is judged once for every gate: every gate reads the one record its first run kept.
        self.links = Links.shared(ctx, type(self))

    def deferred(self) -> frozenset[str]:
        return super().deferred() | self.links.deferred()

    def conclude(self, ctx: Context) -> Iterable[Finding]:
        return self.links.conclude(self, ctx, self.REMOTE, then=self._remote_skew)

    @same_in_every_gate
    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        istiods = cluster.istiod_deployments()
        if not istiods:
            yield from self.links.no_istiod(self, cluster, ctx, keep=_proxy_images)
            return
        self.links.primary(cluster, istiods)
        by_revision: dict[str, mesh.Version] = {}
        unread: set[str] = set()  # revisions whose istiod runs a version nobody can read
        for dep in istiods:
            meta = dep["metadata"]
            version, source = istiod_pinned_version(dep)
            revision = mesh.istiod_revision(dep)
            common = {"kind": "Deployment", "namespace": meta.get("namespace", ""), "name": meta["name"],
                      "evidence": {"revision": revision, "source": source, "labels": meta.get("labels") or {}}}
            if version is None:
                yield self.links.judged(cluster, dep, self.report(
                    self.REVISION_UNREAD, cluster.name, params={"revision": revision, "reason": source}, **common))
                unread.add(revision)
                continue
            pending = rollouts.rollout_pending(dep) if version.at_least(*MIN_ISTIO) else ""
            if pending:
                # The template pins a supported release, but pods of an earlier template still serve: the version they
                # run is not read (a template below the minimum fails whatever runs beside it).
                status = dep.get("status") or {}
                common["evidence"].update(template_version=str(version), rollout={
                    k: status.get(k) for k in ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas")})
                yield self.links.judged(cluster, dep, self.report(
                    self.REVISION_UNREAD, cluster.name,
                    params={"revision": revision, "reason": Phrase(N_("{source} pins {version}, but {pending}"),
                                                                   source=source, version=str(version),
                                                                   pending=pending)},
                    remediation=f"{mesh.kubectl_in(cluster.name, meta.get('namespace') or '')} rollout status "
                                f"{mesh.object_ref('deployment', meta['name'])}  # {ROLLOUT_COMMENT}", **common))
                unread.add(revision)
                continue
            by_revision[revision] = version
            params = {"revision": revision, "version": str(version), "source": source}
            if version.at_least(*MIN_ISTIO):
                finding = self.report(self.REVISION_SUPPORTED, cluster.name, params=params, **common)
            else:
                finding = self.report(self.REVISION_TOO_OLD, cluster.name, params=params,
                                      remediation=self.remediation, **common)
            yield self.links.judged(cluster, dep, finding, fact=version)
        if by_revision:
            yield from self._skew(cluster, by_revision, unread)

    def _skew(self, cluster: ClusterInventory, by_revision: dict[str, mesh.Version],
              unread: set[str]) -> Iterable[Finding]:
        """Proxy image versions against the istiod of their revision (one row per image and revision). The one
        readable istiod stands in for a pod that records no revision only when no other istiod is there: beside an
        unreadable canary it would be the wrong istiod. A pod recording a revision no istiod here has is detached."""
        if not cluster.available(K.POD):
            # The revisions were judged; only the data-plane half is missing, and it says so.
            reason = cluster.unread_reason(K.POD)
            yield self.report(self.SKEW_PODS_UNREAD, cluster.name, params={"reason": reason})
            return
        pods = cluster.pods()
        proxies = among(pods["proxy"], (mesh.PROXY_ISTIO,)) & among(pods["phase"], ACTIVE_PHASES)
        if not proxies.any():
            return
        yield from self._skew_of(cluster.name, _pods_per_revision_and_image(pods, proxies), by_revision, unread)

    def _remote_skew(self, remote: Remote, serving: dict[str, list[Istiod]]) -> Iterable[Finding]:
        """A linked remote's proxies against the version of the istiod serving their revision (in its cluster)."""
        by_revision: dict[str, mesh.Version] = {}
        unread: set[str] = set()
        for revision, istiods in serving.items():
            versions = {self.links.fact_of(i) for i in istiods}
            version = versions.pop() if len(versions) == 1 else None
            if version is None:
                unread.add(revision)
            else:
                by_revision[revision] = version
        if by_revision and remote.kept:
            yield from self._skew_of(remote.cluster, remote.kept, by_revision, unread,
                                     {"istiod_cluster": next(iter(serving.values()))[0].cluster})

    def _skew_of(self, cluster: str, counts: Iterable[tuple[tuple[Any, Any], int]],
                 by_revision: dict[str, mesh.Version], unread: set[str],
                 about: dict[str, Any] | None = None) -> Iterable[Finding]:
        """The skew finding of the proxy pods counted by (revision, image) against the istiods' versions."""
        only = next(iter(by_revision.values())) if len(by_revision) == 1 and not unread else None
        skewed: list[dict[str, Any]] = []
        unpinned: dict[str, int] = {}
        unmatched: dict[str, int] = {}
        compared = 0
        for (revision, image), count in counts:
            if not count:
                continue
            proxy_version = mesh.parse_version(mesh.image_tag(str(image)))
            if proxy_version is None:
                unpinned[str(image)] = unpinned.get(str(image), 0) + int(count)
                continue
            control = by_revision.get(str(revision) or "default")
            if control is None and revision and str(revision) not in unread:
                # The revision that injected it is recorded (annotation istio.io/rev from 1.18: "the actual revision,
                # not the requested revision", aliyun/alibabacloud-servicemesh-api annotation/annotations.yaml as
                # istio/api's; sidecar.istio.io/status from 1.12) and has no istiod here, read or not: it was
                # uninstalled before its pods were restarted, its Service (istiod-<rev>, the proxies' discoveryAddress)
                # with it, and "these proxies will become detached from any control plane" (istio/istio@1.24.6
                # operator/cmd/mesh/uninstall.go preCheckWarnings). Main compared them with the one istiod left or,
                # beside several, left them out unsaid (no skew finding when no other proxy was compared, PASS "within
                # the supported skew" beside those that were). A pod recording none (1.10/1.11 put it in a label only,
                # which may name a requested tag) is matched as before.
                skewed.append({"image": str(image), "pods": int(count), "proxy": str(proxy_version),
                               "istiod": None, "revision": str(revision),
                               "problem": f"no istiod of revision {revision} here: detached from any "
                                          "control plane"})
                continue
            control = control or only
            if control is None:
                unmatched[f"{revision or '?'} {image}"] = int(count)
                continue
            compared += int(count)
            lag = (control.major - proxy_version.major) * 1000 + control.minor - proxy_version.minor
            if lag > MAX_PROXY_LAG_MINORS or lag < 0:
                skewed.append({"image": str(image), "pods": int(count), "proxy": str(proxy_version),
                               "istiod": str(control), "revision": str(revision),
                               "problem": "ahead of istiod" if lag < 0 else f"{lag} minor versions behind"})
        evidence = {"skewed": skewed, "unpinned_images": unpinned, "unmatched_revisions": unmatched,
                    "compared_pods": compared, **(about or {})}
        params = {"untagged": sum(unpinned.values())}
        if skewed:
            params.update(pods=sum(s["pods"] for s in skewed), max_lag=MAX_PROXY_LAG_MINORS)
            yield self.report(self.SKEWED_SOME_UNTAGGED if unpinned else self.SKEWED, cluster, params=params,
                              evidence=evidence, remediation=SKEW_FIX)
        elif compared:
            yield self.report(self.SKEW_SUPPORTED_SOME_UNTAGGED if unpinned else self.SKEW_SUPPORTED, cluster,
                              params={**params, "pods": compared}, evidence=evidence)
        elif unpinned:
            yield self.report(self.SKEW_ALL_UNTAGGED, cluster, params=params, evidence=evidence)


def _proxy_images(cluster: ClusterInventory) -> list[tuple[tuple[str, str], int]]:
    """A remote cluster's running Istio proxy pods counted by (revision, image): all its skew needs of them (a few
    pairs), kept for `conclude` once its objects are released."""
    pods = cluster.pods()
    proxies = among(pods["proxy"], (mesh.PROXY_ISTIO,)) & among(pods["phase"], ACTIVE_PHASES)
    return [((str(revision), str(image)), int(count))
            for (revision, image), count in _pods_per_revision_and_image(pods, proxies) if count]


def _pods_per_revision_and_image(pods: pd.DataFrame, rows: np.ndarray) -> Iterable[tuple[tuple[Any, Any], int]]:
    """`pods[rows].groupby(["revision", "proxy_image"], observed=True).size().items()`: the same pairs in the same
    order (category codes), counted with numpy from the codes when both columns are categorical (the pod frame's):
    pandas' selection and grouping cost ~1 ms of fixed work per cluster."""
    revision, image = pods["revision"], pods["proxy_image"]
    if not (isinstance(revision.dtype, pd.CategoricalDtype) and isinstance(image.dtype, pd.CategoricalDtype)):
        return pods.loc[rows, ["revision", "proxy_image"]].groupby(["revision", "proxy_image"],
                                                                   observed=True).size().items()
    revision_codes = revision.cat.codes.to_numpy()[rows].astype(np.int64)
    image_codes = image.cat.codes.to_numpy()[rows].astype(np.int64)
    grouped = (revision_codes >= 0) & (image_codes >= 0)  # groupby leaves missing values out
    width = len(image.cat.categories)
    counts = np.bincount(revision_codes[grouped] * width + image_codes[grouped])
    pairs = np.flatnonzero(counts)
    revisions = revision.cat.categories.to_numpy(dtype=object)[pairs // width].tolist()
    images = image.cat.categories.to_numpy(dtype=object)[pairs % width].tolist()
    return zip(zip(revisions, images, strict=True), counts[pairs].tolist(), strict=True)


class AsmVersion(Check):
    id = "asm-version"
    title = "The ASM instance is 1.24 or later"
    gates = (Gate.ASSESSMENT, Gate.SETUP)
    severity = Severity.BLOCKER
    rationale = ("The migration needs an ASM instance of 1.24 or later (1.22 at least for the cross-cluster "
                 "mesh proxy that replaces Istio's east-west gateway).")
    remediation = "Create (or upgrade to) an ASM instance of version >= 1.24 for the migration."
    SUPPORTED = Outcome("AA0301", Status.PASS, "the ASM instance is 1.24 or later",
                        message="ASM {version} (>= 1.24), from {source}")
    SUPPORTED_EASTWEST = Outcome("AA0302", Status.PASS, "the ASM instance is 1.24 or later, which also covers the "
                                 "cross-cluster mesh proxy (>= 1.22) that replaces the east-west gateway in use",
                                 message="ASM {version} (>= 1.24), from {source}; " + EASTWEST_NEED)
    AT_LEAST = Outcome("AA0303", Status.PASS, "ASM's proxies run 1.24 or later, so the instance does too (the "
                       "instance's own version was not read)",
                       message="ASM proxies run {version}, so the instance is >= {version} (from ASM proxy image "
                               "tags)")
    AT_LEAST_EASTWEST = Outcome("AA0304", Status.PASS, "ASM's proxies run 1.24 or later, so the instance does too, "
                                "which also covers the cross-cluster mesh proxy that replaces the east-west gateway",
                                message="ASM proxies run {version}, so the instance is >= {version} (from ASM proxy "
                                        "image tags); " + EASTWEST_NEED)
    TOO_OLD = Outcome("AA0310", Status.FAIL, "the ASM instance is older than the migration needs",
                      message="ASM {version} is older than 1.24 (from {source})")
    TOO_OLD_EASTWEST = Outcome("AA0311", Status.FAIL, "the ASM instance is older than the migration needs; an "
                               "east-west gateway is in use, whose replacement needs ASM 1.22 or later",
                               message="ASM {version} is older than 1.24 (from {source}); " + EASTWEST_NEED)
    NO_SOURCE = Outcome("AA0330", Status.UNKNOWN,
                        "no source tells the ASM version (config, saved DescribeServiceMeshDetail, ASM's istiod "
                        "Service)", fix=NO_SOURCE_FIX, message="ASM version unknown: " + NO_SOURCE_FIX)
    NO_SOURCE_OLD_PROXIES = Outcome("AA0331", Status.UNKNOWN, "no source tells the ASM version, and ASM's proxies "
                                    "run a version older than 1.24, which only bounds it from below",
                                    fix=NO_SOURCE_FIX,
                                    message="ASM version unknown: " + NO_SOURCE_FIX + "; ASM proxies run "
                                            "{proxy_version}, which only bounds it from below")
    UNPARSED = Outcome("AA0332", Status.UNKNOWN, "the ASM version given is not a version",
                       message="cannot read a version from {raw} ({source})")
    DATA_PLANES_DISAGREE = Outcome(
        "AA0333", Status.UNKNOWN, "the data planes' ASM istiod-<rev> Services name different ASM versions, some "
        "older than 1.24 and some not, and no config or OpenAPI answer says which is the instance's",
        # Its Services are there (joining a cluster, NO_SOURCE_FIX's last way, shows nothing new); the message says
        # what is wrong and the fix what to do, once each (the message repeated the fix word for word).
        fix="Pass --asm-mesh-id/--asm-region to read the instance's version from ASM, or set asm.version (or "
            "asm.describe_service_mesh_detail with a saved DescribeServiceMeshDetail answer) in the config; then audit "
            "again.",
        message="ASM version unknown: the data planes' ASM istiod Services disagree ({services}), and no config or "
                "OpenAPI answer says which version the instance runs")
    # The version typed in the config and ASM's own answer (given too: a saved answer, or --asm-mesh-id read live) on
    # both sides of 1.24: the config was the first source and silently won, so a stale or mistyped asm.version passed
    # an instance ASM itself says is older (the instance the cluster joins is ASM's to tell).
    CONFIG_DISAGREES = Outcome(
        "AA0334", Status.UNKNOWN, "the ASM version typed in the config (asm.version) and ASM's own "
        "DescribeServiceMeshDetail answer fall on different sides of 1.24",
        fix="Read the instance's version in the ASM console (or its DescribeServiceMeshDetail answer), correct or "
            "remove asm.version in the config, then audit again.",
        message="config asm.version {configured} says ASM {config_version}, but {origin} says {answer_version} "
                "({raw}): one of them is not the instance's version")
    outcomes = (SUPPORTED, SUPPORTED_EASTWEST, AT_LEAST, AT_LEAST_EASTWEST, TOO_OLD, TOO_OLD_EASTWEST, NO_SOURCE,
                NO_SOURCE_OLD_PROXIES, UNPARSED, DATA_PLANES_DISAGREE, CONFIG_DISAGREES)
    uses = (K.SERVICE, K.POD, K.DEPLOYMENT, *SCAN_KINDS)

    def run(self, ctx: Context) -> Iterable[Finding]:
        where = ctx.inv.asm.name if ctx.inv.asm else "asm"
        version, source, raw = asm_version(ctx)
        eastwest = self._eastwest(ctx)
        evidence: dict[str, Any] = {"source": source, "raw": raw, "eastwest": eastwest}
        # With an east-west gateway a verdict also names what its replacement needs (an UNKNOWN only in evidence).
        params: dict[str, Any] = {"eastwest": "; ".join(eastwest[:3]), "cross_cluster_min": _fmt(MIN_ASM_CROSS_CLUSTER),
                                  "source": source}
        if raw is None:
            proxies = asm_proxy_versions(ctx)
            evidence["asm_proxy_images"] = proxies
            parsed = [v for v in (mesh.parse_version(mesh.image_tag(i)) for i in proxies) if v]
            if parsed and max(parsed).at_least(*MIN_ASM):
                # The control plane is never older than the proxies it injected.
                evidence["source"] = "ASM proxy image tags (a lower bound of the instance version)"
                yield self.report(self.AT_LEAST_EASTWEST if eastwest else self.AT_LEAST, where,
                                  params={**params, "version": str(max(parsed))}, evidence=evidence)
            elif parsed:
                yield self.report(self.NO_SOURCE_OLD_PROXIES, where, params={"proxy_version": str(max(parsed))},
                                  remediation=NO_SOURCE_FIX, evidence=evidence)
            else:
                yield self.report(self.NO_SOURCE, where, params={}, remediation=NO_SOURCE_FIX, evidence=evidence)
        elif version is None:
            yield self.report(self.UNPARSED, where, params={"raw": repr(raw), "source": source}, evidence=evidence)
        elif source == CONFIG_SOURCE and (answer := self._answer_straddles(ctx, version, evidence)):
            answer_version, origin, answer_raw = answer
            yield self.report(self.CONFIG_DISAGREES, where, params={
                "configured": repr(raw), "config_version": str(version), "origin": origin,
                "answer_version": str(answer_version), "raw": answer_raw}, evidence=evidence)
        elif source.startswith(SERVICE_SOURCE) and self._straddle(ctx, evidence):
            # The newest Service was one cluster's; another shows an ASM older than the migration needs: one
            # instance's clusters would agree, so which version the instance runs is not known (a cluster joined to
            # another instance, or a Service left behind).
            yield self.report(self.DATA_PLANES_DISAGREE, where, params={"services": "; ".join(
                f"{cluster}: {name}" for cluster, name in evidence["asm_istiod_services"].items())},
                remediation=NO_SOURCE_FIX, evidence=evidence)
        elif version.at_least(*MIN_ASM):
            yield self.report(self.SUPPORTED_EASTWEST if eastwest else self.SUPPORTED, where,
                              params={**params, "version": str(version)}, evidence=evidence)
        else:
            yield self.report(self.TOO_OLD_EASTWEST if eastwest else self.TOO_OLD, where,
                              params={**params, "version": str(version)}, evidence=evidence,
                              remediation=self.remediation)

    @staticmethod
    def _answer_straddles(ctx: Context, version: mesh.Version, evidence: dict[str, Any]
                          ) -> tuple[mesh.Version, Any, str] | None:
        """ASM's own answer (kept in evidence) when it names a version on the other side of MIN_ASM than the config's
        `version`; None when none was given (or its live read failed: the config stands, as before) or it agrees."""
        try:
            answered = answered_version(ctx)
        except EvidenceUnavailable:
            return None
        if answered is None:
            return None
        answer_version, origin, raw = answered
        evidence["describe_service_mesh_detail_version"] = raw
        if answer_version is None or answer_version.at_least(*MIN_ASM) == version.at_least(*MIN_ASM):
            return None
        return answer_version, origin, raw

    @staticmethod
    def _straddle(ctx: Context, evidence: dict[str, Any]) -> bool:
        """Whether the data planes' newest ASM istiod Services fall on both sides of MIN_ASM (kept in evidence)."""
        services = asm_service_versions(ctx)
        evidence["asm_istiod_services"] = {cluster: name for cluster, (_, name) in sorted(services.items())}
        return len({version.at_least(*MIN_ASM) for version, _ in services.values()}) > 1

    @staticmethod
    def _eastwest(ctx: Context) -> list[str]:
        config: Config | None = ctx.config
        signals: list[str] = []
        for cluster in ctx.inv.data_planes:
            if cluster.available(K.DEPLOYMENT) and cluster.available(K.SERVICE):
                names = config.gateways if config else None
                signals += [f"{cluster.name}: {s}" for s in eastwest_signals(cluster, ctx.inv.rules, names)]
        return signals
