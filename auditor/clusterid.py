"""Which ACK cluster an audited data plane is: the id the user gave it, and the id the cluster writes of itself.

The user names a cluster's id (fleet file `cluster_id`, config `asm.cluster_ids`, snapshot manifest); nothing checked
that the kubeconfig/context read is that cluster. ACK writes each cluster's own id into ConfigMap
`kube-system/ack-cluster-profile`, key `clusterid` (beside `uid`, the account, `vpcid`, `vsw-zone`, `serviceCIDR`,
`timezone`...); Alibaba Cloud's own components read it there, with a GET of that one ConfigMap
(kubernetes-sigs/alibaba-cloud-csi-driver@v1.6.3: pkg/cloud/metadata/ack_cluster_profile.go `Data["clusterid"]`,
pkg/ens/ens.go). A cluster without it is not an ACK cluster (or one whose ConfigMaps were not read).

The rule, one place for every reader (migration-resource's coverage, the fleet overview, the clusters table, and
through `used_id`/`identity` the readers of ASM's per-cluster settings: asm-gateways-present, ingress-lb-weights,
cross-cluster-gateway-first, network-consistency, the clusters table's ASM network):
- the id used is the cluster's own (the profile's) when it has one, else the id given;
- a given id the profile contradicts is a conflict: the kubeconfig/context reads another cluster than the one named;
- a profile that is there but holds no readable id (no `clusterid`, not a string, empty, two different copies in a
  hand-made snapshot) is no id: never guessed from, and not taken for "no profile" either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor import kinds as K
from auditor import mesh
from auditor.errors import EvidenceUnavailable
from auditor.i18n import N_, Phrase

if TYPE_CHECKING:
    from auditor.inventory import ClusterInventory

PROFILE_NAMESPACE, PROFILE_NAME, PROFILE_KEY = "kube-system", "ack-cluster-profile", "clusterid"
PROFILE = f"ConfigMap {PROFILE_NAMESPACE}/{PROFILE_NAME}"
# The memo key of a cluster's profile (ClusterInventory.memo): kept when a fleet's clusters are released once judged
# (engine.KEPT_VIEWS), as its readers (migration-resource, the clusters table) run after every cluster was judged.
PROFILE_VIEW = "ack_cluster_profile"

# What reading the profile found.
# Msgids too: a message says the state in the reader's language (Phrase(state)); evidence keeps these words.
READ = N_("read")                # a clusterid
ABSENT = N_("absent")            # ConfigMaps read, no ack-cluster-profile: not an ACK cluster
ILL_SHAPED = N_("ill-shaped")    # there, but no readable clusterid
NOT_READ = N_("not read")        # ConfigMaps not read (forbidden, unreachable, not collected): nothing known

# Where the id used came from (Identity.source).
SOURCE_GIVEN = "given"                       # fleet file, config asm.cluster_ids or snapshot manifest
SOURCE_PROFILE = PROFILE_NAME                # the cluster's own, the user gave none (or another: see conflict)
SOURCE_BOTH = f"given, confirmed by {PROFILE_NAME}"


def profile_keeps(meta: dict[str, Any]) -> bool:
    """Whether a ConfigMap is the ACK profile, whose `clusterid` inventory.slim keeps (ConfigMap data outside
    istio-system is dropped otherwise; the profile's other keys, the account id among them, are not read)."""
    return meta.get("name") == PROFILE_NAME and meta.get("namespace") == PROFILE_NAMESPACE


def slim_profile(obj: dict[str, Any]) -> None:
    """Keep only the profile's `clusterid` (when its data is a mapping holding one)."""
    data = obj.get("data")
    if isinstance(data, dict):
        obj["data"] = {PROFILE_KEY: data[PROFILE_KEY]} if PROFILE_KEY in data else {}
    obj.pop("binaryData", None)


@dataclass(frozen=True)
class Profile:
    state: str
    cluster_id: str | None = None
    why: str = ""  # what was found, for ILL_SHAPED and NOT_READ


def profile(cluster: ClusterInventory) -> Profile:
    """The cluster's ack-cluster-profile as far as its id goes (memoised: kept when the cluster is released)."""
    if cluster.unreachable:
        return Profile(NOT_READ, why=Phrase(N_("cluster {cluster} unreachable"), cluster=cluster.name))
    return cluster.memo(PROFILE_VIEW, lambda: _profile(cluster))


def _profile(cluster: ClusterInventory) -> Profile:
    if not cluster.available(K.CONFIGMAP):
        return Profile(NOT_READ, why=Phrase(N_("ConfigMaps of {cluster} not read ({reason})"), cluster=cluster.name,
                                            reason=cluster.unread_reason(K.CONFIGMAP)))
    try:
        found = cluster.get(K.CONFIGMAP, PROFILE_NAME, PROFILE_NAMESPACE)
        if found is None:
            return Profile(ABSENT)
        copies = [found]
        if cluster.unique_index(K.CONFIGMAP) is None:  # some (namespace, name) twice: look for copies of this one
            copies = [cm for cm in cluster.objects(K.CONFIGMAP) if isinstance(cm.get("metadata"), dict)
                      and profile_keeps(cm["metadata"])]
    except EvidenceUnavailable as exc:
        return Profile(NOT_READ, why=exc.reason)
    ids = {_id_of(cm) for cm in copies}
    if len(ids) > 1:
        shown = ", ".join(sorted(repr(i) if isinstance(i, str) else i[1] for i in ids))
        return Profile(ILL_SHAPED, why=Phrase(N_("{profile} is in the input {count} times with different {key}s "
                                                 "({ids})"), profile=PROFILE, count=len(copies), key=PROFILE_KEY,
                                              ids=shown))
    [one] = ids
    if isinstance(one, str):
        return Profile(READ, one)
    return Profile(ILL_SHAPED, why=Phrase(N_("{profile}: {problem}"), profile=PROFILE, problem=one[1]))


def _id_of(cm: dict[str, Any]) -> str | tuple[None, str]:
    """The profile's clusterid, stripped, or (None, what is wrong)."""
    data = cm.get("data")
    if not isinstance(data, dict):
        return None, Phrase(N_("data is not a mapping of strings")) if data is not None else Phrase(N_("no data"))
    value = data.get(PROFILE_KEY)
    if value is None:
        return None, Phrase(N_("data holds no {key}"), key=PROFILE_KEY)
    if not isinstance(value, str):
        return None, Phrase(N_("data.{key} is not a string ({type})"), key=PROFILE_KEY, type=type(value).__name__)
    if not value.strip():
        return None, Phrase(N_("data.{key} is empty"), key=PROFILE_KEY)
    return value.strip()


@dataclass(frozen=True)
class Identity:
    """One audited data plane's id: `given` by the user (stripped, None when none), `own` as its profile says."""

    name: str
    given: str | None
    profile: Profile

    @property
    def own(self) -> str | None:
        return self.profile.cluster_id

    @property
    def cluster_id(self) -> str | None:
        """The id the audit matches against ASM's: the cluster's own where it says one (what was read), else the
        given one."""
        return self.own or self.given

    @property
    def conflict(self) -> bool:
        """The given id is not the cluster's own: the kubeconfig/context reads another cluster than the one named."""
        return bool(self.given and self.own and self.given != self.own)

    @property
    def source(self) -> str | None:
        if self.own:
            return SOURCE_BOTH if self.given == self.own else SOURCE_PROFILE
        return SOURCE_GIVEN if self.given else None

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cluster_id": self.cluster_id, "cluster_id_source": self.source,
                               "ack_cluster_profile": self.profile.state}
        if self.conflict:
            out["cluster_id_given"] = self.given
        if self.profile.why:
            out["ack_cluster_profile_why"] = self.profile.why
        return out


def identity(cluster: ClusterInventory) -> Identity:
    given = cluster.cluster_id.strip() if isinstance(cluster.cluster_id, str) and cluster.cluster_id.strip() else None
    return Identity(cluster.name, given, profile(cluster))


def profile_command(cluster: str) -> str:
    """The command that prints the id a cluster writes of itself (read-only)."""
    return (f"kubectl --kubeconfig={mesh.kubeconfig_var(cluster)} get configmap -n {PROFILE_NAMESPACE} {PROFILE_NAME} "
            f"-o jsonpath='{{.data.{PROFILE_KEY}}}'")


def used_id(cluster: ClusterInventory) -> str | None:
    """The id a data plane's judgements match against ASM's (IstioGateways' clusterIds and overrides, ASM's network
    entries, its joined clusters): its own where its profile says one, else the one given. A reader that calls it
    lists K.CONFIGMAP in its `uses`; ConfigMaps not read, the profile is NOT_READ and the given id is used."""
    return identity(cluster).cluster_id
