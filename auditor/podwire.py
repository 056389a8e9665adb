"""Pods decoded straight into what the pod summary reads, skipping everything else (msgspec).

Also ReplicaSets and Jobs that have an owner: `inventory.slim` keeps only their metadata and a few status
counts, so their pod template (nearly all of their bytes) is skipped too.

Why: a real pod is ~10 KB of JSON (managedFields, volumes, probes, env, statuses) of which
`inventory.summarise_pod` reads a few hundred bytes. Building Python objects for all of it
(`orjson.loads`) costs ~0.3 ms and thousands of allocations per pod: at 150,000 pods, most of an
audit. msgspec decodes into the types declared below and skips undeclared fields in C (~10x faster on this
machine): TypedDicts (plain dicts, the shape summarise_pod reads of a full pod) for mixed snapshot files;
Structs (`Pod`, read by attribute, no dict per object) for live PodList pages and snapshot files of pods only,
the bulk of an audit. Both readers of summarise_pod hand the same values to one row builder.

Contract: every pod field summarise_pod reads is declared here (tests/test_podwire.py and
tests/test_pod_structs.py compare the summaries of full and decoded pods). A decode or type error falls back to
the full parse, so malformed input meets exactly the checks and errors it met before.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Required, TypedDict

import msgspec
import orjson

from auditor import wire

# The full parse (auditor.wire) reads a whole number outside int64/uint64 as an exact int, which the shape rules
# refuse: the types below refuse it too (and the uint64-only range, which then takes the full parse).
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


# TypedDicts: msgspec decodes straight into plain dicts holding only the declared keys.
class _Object(TypedDict, total=False):
    """Any JSON object, contents skipped (managedFields entries must still be objects)."""


# Required[...]: what the API server always sends. A pod without it is malformed: it falls back to the
# full parse, where the snapshot reader refuses it by name (auditor.sources.shapes._REQUIRED).
class _EnvVar(TypedDict, total=False):
    name: Required[str]
    value: str
    valueFrom: _Object  # must be an object (as the full parse checks); its contents are not read


class _Port(TypedDict, total=False):
    name: str


class _Lifecycle(TypedDict, total=False):
    preStop: dict[str, Any]


class _Container(TypedDict, total=False):
    name: Required[str]
    image: str
    args: list[str]
    command: list[str]
    env: list[_EnvVar]
    ports: list[_Port]
    lifecycle: _Lifecycle
    restartPolicy: str


class _OwnerReference(TypedDict, total=False):
    apiVersion: str
    kind: Required[str]
    name: Required[str]
    uid: str
    controller: bool
    blockOwnerDeletion: bool


class _Metadata(TypedDict, total=False):
    name: Required[str]
    namespace: str
    uid: str
    resourceVersion: str
    creationTimestamp: str
    deletionTimestamp: str  # only its presence is read: a pod being deleted (inventory's `deleting` column)
    labels: dict[str, str]
    annotations: dict[str, str]
    ownerReferences: list[_OwnerReference]
    managedFields: list[_Object]  # validated as a list of objects; only empty dicts are kept


class _Spec(TypedDict, total=False):
    containers: Required[list[_Container]]
    initContainers: list[_Container]
    terminationGracePeriodSeconds: Int64
    restartPolicy: str


class _Condition(TypedDict, total=False):
    type: str
    status: str


class _ContainerState(TypedDict, total=False):
    terminated: _Object  # only its presence is read


class _ContainerStatus(TypedDict, total=False):
    name: str
    restartCount: Int64
    state: _ContainerState


class _Status(TypedDict, total=False):
    phase: str
    startTime: str
    conditions: list[_Condition]
    containerStatuses: list[_ContainerStatus]
    initContainerStatuses: list[_ContainerStatus]


class _Pod(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: _Metadata
    spec: Required[_Spec]
    status: _Status


class _OwnedStatus(TypedDict, total=False):
    """What inventory.slim keeps of a ReplicaSet's or Job's status."""
    replicas: Int64
    readyReplicas: Int64
    active: Int64
    succeeded: Int64
    failed: Int64


class _Owned(TypedDict, total=False):
    """A ReplicaSet or Job as inventory.slim keeps it when a Deployment or CronJob owns it: no spec."""
    apiVersion: str
    kind: str
    metadata: Required[_Metadata]
    status: _OwnedStatus


OWNED_KINDS = frozenset({"ReplicaSet", "Job"})
# The owners whose own template the auditor reads (a Deployment's, a CronJob's): a ReplicaSet or Job they own is judged
# through them, so its template is not kept. One owned by anything else (an Argo Rollout's ReplicaSets, a KEDA
# ScaledJob's Jobs: kinds not read) is the only template of its pods the auditor can see: kept whole.
TEMPLATE_OWNER_KINDS = frozenset({"Deployment", "CronJob"})


def judged_through_owner(metadata: Any) -> bool:
    """Whether a ReplicaSet's or Job's metadata names an owner whose template is read (TEMPLATE_OWNER_KINDS)."""
    refs = metadata.get("ownerReferences") if isinstance(metadata, dict) else None
    if not refs or not isinstance(refs, list):
        return False
    return any(isinstance(ref, dict) and ref.get("kind") in TEMPLATE_OWNER_KINDS for ref in refs)

_ListMeta = TypedDict("_ListMeta", {"resourceVersion": str, "continue": str, "remainingItemCount": int},
                      total=False)


class _TypeMeta(msgspec.Struct):
    apiVersion: str | None = None
    kind: str | None = None


class _RawPage(msgspec.Struct):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: _ListMeta | None = None
    items: list[msgspec.Raw] | msgspec.UnsetType | None = msgspec.UNSET  # UNSET: no items key at all
    status: str | None = None  # of a Status sent in place of the list, kept for the message
    reason: str | None = None
    message: str | None = None


# What msgspec may raise on input it cannot take. RecursionError: nesting deeper than the interpreter's
# recursion limit (msgspec counts its depth there); orjson then refuses it with a JSONDecodeError (depth limit).
_REFUSED = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


class _PodFile(TypedDict, total=False):
    """A snapshot List file in the shape `asm-audit snapshot` writes pods: every item a Pod."""
    apiVersion: str
    kind: Required[str]
    metadata: _ListMeta | None  # kept: one page of a longer list is not read as the whole (snapshot._page_of_more)
    items: Required[list[_Pod]]


_POD_FILE = msgspec.json.Decoder(_PodFile)
_POD = msgspec.json.Decoder(_Pod)
_TYPE_META = msgspec.json.Decoder(_TypeMeta)
_RAW_PAGE = msgspec.json.Decoder(_RawPage)
_OWNED = msgspec.json.Decoder(_Owned)


# ---------------------------------------------------------------- pods as Structs (pod files, live pages)
# A snapshot file of pods, or a live PodList page, is decoded into these Structs and summarised by attribute
# (inventory.summarise_pod): no dict per object and no `.get` per field. gc=False: they hold no cycles.
# The types enforce every rule auditor.sources.shapes checks for a Pod, never laxer (null is absent for optional
# keys, never a list item or a map value; bool is not a whole number): a file they refuse takes the dict path,
# where the usual checks name the problem. Fields no summary reads and no shape rule checks are not declared.


class Obj(msgspec.Struct, gc=False):
    """Any JSON object, contents skipped."""


class EnvVar(msgspec.Struct, gc=False):
    name: str
    value: str | None = None
    valueFrom: Obj | None = None  # must be an object (a shape rule); contents not read


class Port(msgspec.Struct, gc=False):
    name: str | None = None


class Lifecycle(msgspec.Struct, gc=False):
    preStop: dict[str, Any] | None = None  # an empty preStop is no preStop: its contents are needed


class Container(msgspec.Struct, gc=False):
    name: str
    image: str | None = None
    # args and command: their JSON as it came (null when absent), typed by STRINGS, as the env is (below): a proxy's and
    # its init containers' args were ~12 strings and 2 lists per pod (10% of a pod's objects), the same in every pod
    # of a workload. Only a proxy's args are read (its role).
    args: msgspec.Raw = msgspec.Raw(b"null")
    command: msgspec.Raw = msgspec.Raw(b"null")
    # The env's JSON as it came (null when absent), typed by ENV_VARS: ~25 EnvVars per pod were most of the objects a
    # pod's decode made, yet a workload's pods have the same env bytes (downward API values are valueFrom, not
    # inlined). Its types are still enforced, once per distinct bytes (_checked_page); a Raw cannot be in a union. A
    # Raw holds the file's (or the answer's) bytes: they live as long as the page of pods does; a summary keeps none.
    env: msgspec.Raw = msgspec.Raw(b"null")
    ports: list[Port] | None = None
    lifecycle: Lifecycle | None = None
    restartPolicy: str | None = None


class OwnerReference(msgspec.Struct, gc=False):
    kind: str
    name: str
    controller: bool | None = None


class Metadata(msgspec.Struct, gc=False):
    name: str
    namespace: str | None = None
    uid: str | None = None
    resourceVersion: str | None = None
    creationTimestamp: str | None = None
    deletionTimestamp: str | None = None  # only its presence is read (the dict summary tests it for truth)
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    ownerReferences: list[OwnerReference] | None = None
    managedFields: list[Obj] | None = None


class PodSpec(msgspec.Struct, gc=False):
    containers: list[Container]
    initContainers: list[Container] | None = None
    terminationGracePeriodSeconds: Int64 | None = None
    restartPolicy: str | None = None


class Condition(msgspec.Struct, gc=False):
    type: str | None = None
    status: str | None = None


class ContainerState(msgspec.Struct, gc=False):
    # Only its presence is read, and a null one is present (the dict summary tests `"terminated" in state`).
    terminated: Obj | msgspec.UnsetType | None = msgspec.UNSET


class ContainerStatus(msgspec.Struct, gc=False):
    name: str | None = None
    restartCount: Int64 | None = None
    state: ContainerState | None = None


class PodStatus(msgspec.Struct, gc=False):
    phase: str | None = None
    startTime: str | None = None
    conditions: list[Condition] | None = None
    containerStatuses: list[ContainerStatus] | None = None
    initContainerStatuses: list[ContainerStatus] | None = None


class Pod(msgspec.Struct, gc=False, kw_only=True):
    """A Pod as far as the summary reads: of a snapshot file (apiVersion v1 and kind Pod: see pod_structs) or of
    a live PodList page (whose items omit both)."""
    # UNSET, not None: a null kind or apiVersion is refused, as by the TypedDicts live pages were decoded with.
    apiVersion: str | msgspec.UnsetType = msgspec.UNSET
    kind: str | msgspec.UnsetType = msgspec.UNSET
    metadata: Metadata
    spec: PodSpec
    status: PodStatus | None = None


class _PodStructFile(msgspec.Struct, gc=False):
    kind: str
    items: list[Pod]
    metadata: _ListMeta | None = None  # one page of a longer list (continue, remainingItemCount) takes the dict path


_POD_STRUCT_FILE = msgspec.json.Decoder(_PodStructFile)
# A Container's env as EnvVar Structs, None when absent or null; its args or command as a list, None alike. They raise
# what msgspec raises for JSON that does not fit, never for a container of a pod pod_structs or decode_pod_list gave
# (_checked_page checked it).
ENV_VARS = msgspec.json.Decoder(list[EnvVar] | None)
STRINGS = msgspec.json.Decoder(list[str] | None)


class PodPage(list[Pod]):
    """The pods of a snapshot file or a live page, every container's env, args and command checked (_checked_page).
    `decoded`: the envs and args decoded to check them, by the id of their Raw (which the page keeps alive): the summary
    reads a proxy's from here instead of decoding them again. A pod whose containers (or init containers) equal the
    pod before's holds that pod's list (_checked_page): the summary decides what a pod's containers say once per list,
    not per pod."""

    decoded: dict[int, Any]


def _checked_page(pods: list[Pod]) -> PodPage:
    """The pods, every container's env decoded as EnvVar Structs and its args and command as lists of text (and so
    type-checked), raising what msgspec raises for one that does not fit. Equal bytes fit equally: what has the bytes
    of what was last checked for a container of the same name (the pod before's, mostly: a workload's pods are listed
    together) is not decoded again.

    A pod's containers (its init containers) equal to the pod before's, compared in C, were checked with them: none is
    looked at again, and the pod takes that list (the same values) in place of its own, which is freed here. The pods
    of a workload then share one list, which the summary knows by identity."""
    decoded: dict[int, Any] = {}
    checked: dict[str, list[msgspec.Raw | None]] = {}
    last_containers: list[Container] | None = None
    last_inits: list[Container] | None = None
    for pod in pods:
        spec = pod.spec
        containers, inits = spec.containers, spec.initContainers
        if containers == last_containers:
            spec.containers = last_containers
        else:
            last_containers = containers
            _check_containers(containers, checked, decoded)
        if inits is not None:
            if inits == last_inits:
                spec.initContainers = last_inits
            else:
                last_inits = inits
                _check_containers(inits, checked, decoded)
    page = PodPage(pods)
    page.decoded = decoded
    return page


def _check_containers(containers: list[Container], checked: dict[str, list[msgspec.Raw | None]],
                      decoded: dict[int, Any]) -> None:
    """Each container's env, args and command decoded (env and args into `decoded`, by the id of their Raw) unless it
    has the bytes of the one last checked for a container of its name (`checked`: name -> [env, args, command],
    updated)."""
    for container in containers:
        last = checked.get(container.name)
        if last is None:
            last = checked[container.name] = [None, None, None]
        env, args, command = container.env, container.args, container.command
        if env != last[0]:
            decoded[id(env)] = ENV_VARS.decode(env)
            last[0] = env
        if args != last[1]:
            decoded[id(args)] = STRINGS.decode(args)
            last[1] = args
        if command != last[2]:
            STRINGS.decode(command)
            last[2] = command


def pod_structs(raw: bytes) -> PodPage | None:
    """The pods of a snapshot List file holding only Pods that each say `apiVersion: v1, kind: Pod` (what
    `asm-audit snapshot` writes), decoded in one pass; None for any other file (it takes the dict path).
    """
    try:
        doc = _POD_STRUCT_FILE.decode(raw)
    except _REFUSED:
        return None
    if doc.kind not in ("List", "PodList") or (doc.metadata and (
            doc.metadata.get("continue") or doc.metadata.get("remainingItemCount"))):
        return None  # not a file of pods only, or one page of a longer list (snapshot._page_of_more tells the reader)
    for pod in doc.items:
        if pod.kind != "Pod" or pod.apiVersion != "v1":
            return None
    try:
        return _checked_page(doc.items)
    except _REFUSED:
        return None


class _PodListStructs(msgspec.Struct, gc=False):
    """A live PodList page, its items as Pod Structs. UNSET for an absent key (null is refused, as before)."""
    apiVersion: str | msgspec.UnsetType = msgspec.UNSET
    kind: str | msgspec.UnsetType = msgspec.UNSET
    metadata: _ListMeta | msgspec.UnsetType = msgspec.UNSET  # continue token, remainingItemCount, resourceVersion
    items: list[Pod] | msgspec.UnsetType = msgspec.UNSET
    # A Status sent in place of the list (HTTP 200 or not) says why: kept for the message.
    status: str | msgspec.UnsetType = msgspec.UNSET
    reason: str | msgspec.UnsetType = msgspec.UNSET
    message: str | msgspec.UnsetType = msgspec.UNSET


_POD_LIST_STRUCTS = msgspec.json.Decoder(_PodListStructs)


class CheckedPodList(dict[str, Any]):
    """A PodList answer whose pods msgspec decoded as Pod Structs, and so type-checked (auditor.sources.shapes
    need not): its keys as in the JSON, its items Pods."""


def decode_pod_list(body: bytes) -> Any:
    """A PodList answer (`GET /api/v1/pods`) with each pod decoded as a Pod Struct (what the summary reads).

    Anything msgspec refuses (malformed JSON, unexpected types) is parsed by orjson instead, so the
    caller sees the same answer, or the same orjson.JSONDecodeError, as without this decoder.
    """
    try:
        page = _POD_LIST_STRUCTS.decode(body)
        if page.items is not msgspec.UNSET:
            page.items = _checked_page(page.items)
    except _REFUSED:
        return wire.loads(body)
    return CheckedPodList((key, value) for key in _PodListStructs.__struct_fields__
                          if (value := getattr(page, key)) is not msgspec.UNSET)


def _reduce_owned(raw_item: bytes) -> dict[str, Any]:
    """A ReplicaSet or Job without its spec when a Deployment or CronJob owns it; whole (template and all) otherwise.

    An ownerless one is a workload of its own, and one of another owner (judged_through_owner) the only template of
    its pods that is read: both are parsed, and so validated, exactly as without this decoder.
    """
    item = _OWNED.decode(raw_item)
    return item if judged_through_owner(item["metadata"]) else wire.loads(memoryview(raw_item))


def decode_owned_list(body: bytes) -> Any:
    """A ReplicaSetList or JobList answer with the items a Deployment or CronJob owns reduced (see _reduce_owned).

    Anything msgspec refuses is parsed by orjson instead: the caller sees the same answer, or the same
    orjson.JSONDecodeError, as without this decoder.
    """
    try:
        page = _RAW_PAGE.decode(body)
        answer: dict[str, Any] = {"apiVersion": page.apiVersion, "kind": page.kind, "metadata": page.metadata or {}}
        answer.update((k, v) for k in ("status", "reason", "message") if (v := getattr(page, k)) is not None)
        if page.items is not msgspec.UNSET:  # null stays null: an empty list, as Go encodes it
            answer["items"] = None if page.items is None else [_reduce_owned(raw) for raw in page.items]
        return answer
    except (*_REFUSED, orjson.JSONDecodeError):
        return wire.loads(body)


_REDUCED_KIND = re.compile(rb'"kind"\s*:\s*"(?:Pod|ReplicaSet|Job)(?:List)?"')


def may_reduce(raw: bytes) -> bool:
    """Cheap test before the fast path: a file without Pods, ReplicaSets or Jobs is parsed whole at once."""
    return _REDUCED_KIND.search(raw) is not None


def reduced_list(raw: bytes) -> dict[str, Any] | None:
    """A snapshot file holding a List, with its pods and owned ReplicaSets/Jobs reduced, others parsed whole.

    None when the file is not a flat List this fast path understands (a single object, nested
    Lists, anything msgspec refuses): the caller then reads it the usual way.
    """
    pods = _pod_file(raw)
    if pods is not None:
        return pods
    owned = _owned_file(raw)
    if owned is not None:
        return owned
    try:
        doc = _RAW_PAGE.decode(raw)
    except _REFUSED:
        return None
    if not isinstance(doc.items, list) or not doc.kind or not doc.kind.endswith("List"):
        return None
    typed_items = doc.kind[:-4] if doc.kind != "List" else None  # typed List items may omit kind
    items: list[Any] = []
    try:
        for raw_item in doc.items:
            meta = _TYPE_META.decode(raw_item)
            kind = meta.kind or typed_items
            if kind == "Pod":  # every Pod is decoded (and so type-checked) by msgspec: see _objects_in
                items.append(_POD.decode(raw_item))
            elif kind in OWNED_KINDS:
                items.append(_reduce_owned(raw_item))
            elif kind and kind.endswith("List"):
                return None
            else:
                items.append(wire.loads(memoryview(raw_item)))
    except (*_REFUSED, orjson.JSONDecodeError):
        return None
    return _list_of(doc.apiVersion, doc.kind, doc.metadata, items)


def _list_of(api_version: Any, kind: str, metadata: Any, items: list[Any]) -> dict[str, Any]:
    """A reduced List file as a dict, its metadata kept when it has any: one page of a longer list (continue,
    remainingItemCount) is not read as the whole (auditor.sources.snapshot._page_of_more)."""
    doc = {"apiVersion": api_version, "kind": kind, "items": items}
    if metadata:
        doc["metadata"] = metadata
    return doc


class _OwnedFile(TypedDict, total=False):
    """A snapshot List file in the shape `asm-audit snapshot` writes ReplicaSets or Jobs, each decoded as _OWNED does;
    the List's own keys typed as _RawPage types them."""
    apiVersion: str | None
    kind: Required[str]
    metadata: _ListMeta | None
    items: Required[list[_Owned]]
    status: str | None
    reason: str | None
    message: str | None


_OWNED_FILE = msgspec.json.Decoder(_OwnedFile)


def _owned_file(raw: bytes) -> dict[str, Any] | None:
    """A List file of ReplicaSets and Jobs only, decoded in one pass (what reduced_list makes of it item by item);
    None otherwise: any item of another kind takes the item-by-item path. One not judged through its owner (ownerless,
    or owned by a kind whose template is not read) must be parsed whole (see _reduce_owned): its own bytes, found by a
    second pass over the file that keeps each item's raw bytes.
    """
    try:
        doc = _OWNED_FILE.decode(raw)
    except _REFUSED:
        return None
    kind = doc["kind"]
    if not kind or not kind.endswith("List"):
        return None
    typed_items = kind[:-4] if kind != "List" else None
    items = doc["items"]
    ownerless: list[int] = []  # and owned by a kind whose template is not read: parsed whole
    first = items[0] if items else {}
    kind_of_first, api_version = first.get("kind"), first.get("apiVersion")
    # Each item names its kind (items of a typed List may omit it) and its apiVersion, the same for all.
    uniform = kind_of_first in OWNED_KINDS and isinstance(api_version, str)
    owners = TEMPLATE_OWNER_KINDS
    for index, item in enumerate(items):
        item_kind = item.get("kind")
        if (item_kind or typed_items) not in OWNED_KINDS:
            return None
        # judged_through_owner, inline (the types make metadata a dict, ownerReferences a list of dicts with a kind).
        refs = item["metadata"].get("ownerReferences")
        if not refs or not (refs[0]["kind"] in owners or any(ref["kind"] in owners for ref in refs)):
            ownerless.append(index)
        if uniform and (item_kind != kind_of_first or item.get("apiVersion") != api_version):
            uniform = False
    if ownerless:
        try:
            raw_items = _RAW_PAGE.decode(raw).items  # decoded as _OWNED_FILE was: a list of as many objects
            if not isinstance(raw_items, list) or len(raw_items) != len(items):
                return None
            for index in ownerless:
                items[index] = wire.loads(memoryview(raw_items[index]))
        except (*_REFUSED, orjson.JSONDecodeError):
            return None
        return _list_of(doc.get("apiVersion"), kind, doc.get("metadata"), items)
    if uniform:
        items = OwnedItems(items)
    return _list_of(doc.get("apiVersion"), kind, doc.get("metadata"), items)


class OwnedItems(list[dict[str, Any]]):
    """The items of a snapshot file of owned ReplicaSets or Jobs (_owned_file), each naming the same kind and
    apiVersion: auditor.sources.shapes.all_fit holds for them, so it need not check them again. Their types
    (_Owned) are the shape rules' or stricter for all that is kept, and the rules read nothing else of these kinds
    but their spec, which is not kept."""


def _pod_file(raw: bytes) -> dict[str, Any] | None:
    """A List file of Pods only, decoded in one pass (half the time of decoding item by item); None otherwise.

    An item of another kind either fails the Pod types (then None) or is seen here by its kind (None): such
    files take the item-by-item path.
    """
    try:
        doc = _POD_FILE.decode(raw)
    except _REFUSED:
        return None
    kind = doc["kind"]
    typed_items = "Pod" if kind == "PodList" else None
    if kind not in ("List", "PodList") or not all(item.get("kind", typed_items) == "Pod" for item in doc["items"]):
        return None
    return dict(doc)
