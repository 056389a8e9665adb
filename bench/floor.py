"""The typed floor: the same input decoded by msgspec into Structs holding only the fields the checks read.

`baseline_s` (orjson.loads of every byte) is a floor for a tool that builds every object; this one is the
floor for a tool that reads only what it needs, in C, with no garbage: what is left of the audit above it
is our own Python. Pods (nearly all bytes) keep the fields `inventory.summarise_pod` reads (the fields
auditor/podwire.py declares), ReplicaSets and Jobs their metadata and status counts (what `inventory.slim`
keeps of owned ones); other kinds, a small share of the bytes, keep metadata and spec/status/data whole
(checks read much of their specs).
"""

from __future__ import annotations

from typing import Any

import msgspec

from auditor import kinds as K


class _Object(msgspec.Struct):
    """Any JSON object, contents skipped."""


class _EnvVar(msgspec.Struct):
    name: str
    value: str | None = None
    valueFrom: _Object | None = None


class _Port(msgspec.Struct):
    name: str | None = None


class _Lifecycle(msgspec.Struct):
    preStop: dict[str, Any] | None = None


class _Container(msgspec.Struct):
    name: str
    image: str | None = None
    args: list[str] | None = None
    command: list[str] | None = None
    env: list[_EnvVar] | None = None
    ports: list[_Port] | None = None
    lifecycle: _Lifecycle | None = None
    restartPolicy: str | None = None


class _OwnerReference(msgspec.Struct):
    kind: str
    name: str
    apiVersion: str | None = None
    uid: str | None = None
    controller: bool | None = None


class _Metadata(msgspec.Struct):
    name: str
    namespace: str | None = None
    uid: str | None = None
    creationTimestamp: str | None = None
    deletionTimestamp: str | None = None  # the pod frame's `deleting` (session 19)
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    ownerReferences: list[_OwnerReference] | None = None


class _PodSpec(msgspec.Struct):
    containers: list[_Container]
    initContainers: list[_Container] | None = None
    terminationGracePeriodSeconds: int | None = None


class _Condition(msgspec.Struct):
    type: str | None = None
    status: str | None = None


class _ContainerState(msgspec.Struct):
    terminated: _Object | None = None


class _ContainerStatus(msgspec.Struct):
    name: str | None = None
    restartCount: int | None = None
    state: _ContainerState | None = None


class _PodStatus(msgspec.Struct):
    phase: str | None = None
    startTime: str | None = None
    conditions: list[_Condition] | None = None
    containerStatuses: list[_ContainerStatus] | None = None
    initContainerStatuses: list[_ContainerStatus] | None = None


class _OwnedStatus(msgspec.Struct):
    replicas: int | None = None
    readyReplicas: int | None = None
    active: int | None = None
    succeeded: int | None = None
    failed: int | None = None


class Pod(msgspec.Struct, tag_field="kind", tag="Pod"):
    metadata: _Metadata
    spec: _PodSpec
    status: _PodStatus | None = None


class ReplicaSet(msgspec.Struct, tag_field="kind", tag="ReplicaSet"):
    metadata: _Metadata
    status: _OwnedStatus | None = None


class Job(msgspec.Struct, tag_field="kind", tag="Job"):
    metadata: _Metadata
    status: _OwnedStatus | None = None


def _other(kind: str) -> type:
    return msgspec.defstruct(kind, [("metadata", _Metadata), ("spec", Any, None), ("status", Any, None),
                                    ("data", Any, None), ("webhooks", Any, None), ("rules", Any, None),
                                    ("subjects", Any, None), ("roleRef", Any, None)],
                             tag_field="kind", tag=kind)


_OTHERS = tuple(_other(k.kind) for k in {k.kind: k for k in K.ALL_KINDS}.values()
                if k.kind not in ("Pod", "ReplicaSet", "Job"))
# The union is built dynamically (one Struct per kind the auditor reads); each List file holds typed items.
_UNION = Pod | ReplicaSet | Job
for _cls in _OTHERS:
    _UNION = _UNION | _cls
_SNAPSHOT_FILE = msgspec.json.Decoder(msgspec.defstruct("SnapshotList", [("items", list[_UNION], [])]))
# Live list pages carry untyped items (no kind): one decoder per plural.
_PAGE_BY_PLURAL = {
    "pods": msgspec.json.Decoder(msgspec.defstruct("PodList", [("items", list[msgspec.defstruct(
        "P", [("metadata", _Metadata), ("spec", _PodSpec), ("status", _PodStatus | None, None)])] | None, None),
        ("metadata", dict[str, Any] | None, None)])),
    **{plural: msgspec.json.Decoder(msgspec.defstruct("OwnedList", [("items", list[msgspec.defstruct(
        "O", [("metadata", _Metadata), ("status", _OwnedStatus | None, None)])] | None, None),
        ("metadata", dict[str, Any] | None, None)])) for plural in ("replicasets", "jobs")},
}
_OTHER_PAGE = msgspec.json.Decoder(msgspec.defstruct("OtherList", [("items", list[msgspec.defstruct(
    "X", [("metadata", _Metadata), ("spec", Any, None), ("status", Any, None), ("data", Any, None),
          ("webhooks", Any, None), ("rules", Any, None), ("subjects", Any, None), ("roleRef", Any, None)])]
    | None, None), ("metadata", dict[str, Any] | None, None)]))


def decode_snapshot_file(raw: bytes | memoryview) -> Any:
    """A snapshot List file (typed items); version.json and manifest.json are plain objects. `raw`: the file's bytes,
    or its mapping (a memoryview of an mmap, searched through the mapping: `in` on a memoryview compares bytes)."""
    if (raw.obj if isinstance(raw, memoryview) else raw).find(b'"items"') < 0:
        return msgspec.json.decode(raw)
    return _SNAPSHOT_FILE.decode(raw)


def decode_page(path: str, body: bytes) -> tuple[Any, str | None]:
    """A live list page of `path` (…/<plural>): the decoded page and its continue token."""
    page = _PAGE_BY_PLURAL.get(path.rstrip("/").rsplit("/", 1)[-1], _OTHER_PAGE).decode(body)
    return page, (page.metadata or {}).get("continue")
