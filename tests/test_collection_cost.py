"""Collection's work is counted, not timed (issue 18).

The pod summary: a cluster has few proxy builds and settings and few distinct port names, but tens of thousands
of pods: the marks of a proxy container (image kind, CA service, ASM env, xDS agent value, exit on zero) are
decided once per distinct (image, env read), a port name's long-lived answer once per name, and a pod's summary
makes a bounded number of Python calls. The rows themselves are compared with the dict reader's
(tests/test_pod_structs.py).

ReplicaSets and Jobs: a file of owned ones is decoded in one pass, not item by item.

Scanning a snapshot: a file of pods is freed before the next one is decoded (one page of Structs in memory, not
two), and a big file is mapped, not read into a buffer of its own, and unmapped once parsed. An audit of a given phase
reads each of the ASM cluster's files once (the gate is known: its migration state is read with the rest).
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec
import orjson
import pytest
import yaml

from auditor import api, inventory, mesh, podwire
from auditor import collect as collect_module
from auditor import kinds as K
from auditor.collect import Collector
from auditor.inventory import POD_COLUMNS, Inventory, summarise_pod
from auditor.sources import snapshot as snapshot_module
from auditor.sources.snapshot import open_snapshot
from tests import factory as f
from tests.test_podwire import owner_objects

PODS = 40


def same_workload_pods(port_name: str) -> list[dict[str, Any]]:
    """Pods of one ReplicaSet as the injector leaves them (`istio.io/rev` set, as in the bench clusters)."""
    return [f.pod(f"cart-5d8f7c9b6-{i:05d}", owner=("ReplicaSet", "cart-5d8f7c9b6"),
                  annotations={"istio.io/rev": "default"},
                  ports=[{"containerPort": 8080, "name": port_name, "protocol": "TCP"}]) for i in range(PODS)]


def as_structs(pods: list[dict[str, Any]]) -> list[podwire.Pod]:
    structs = podwire.pod_structs(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    assert structs is not None
    return structs


class Counting:
    """Stands in for an object (a compiled pattern, a decoder), counting the calls of one of its methods."""

    def __init__(self, wrapped: Any, method: str) -> None:
        self.wrapped, self.method, self.calls = wrapped, method, 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.wrapped, name)
        if name != self.method:
            return attribute

        def counted(*args: Any) -> Any:
            self.calls += 1
            return attribute(*args)

        return counted


@pytest.mark.parametrize("reader", ["struct", "dict"])
def test_a_proxy_s_marks_are_decided_once_per_distinct_proxy(monkeypatch: pytest.MonkeyPatch, reader: str):
    pods = same_workload_pods("http")
    rules = mesh.ProxyRules()
    calls = {"has_asm_env": 0, "xds_agent_value": 0}
    has_asm_env, xds_agent_value = rules.has_asm_env, mesh.xds_agent_value

    def counted_has_asm_env(env: dict[str, str]) -> bool:
        calls["has_asm_env"] += 1
        return has_asm_env(env)

    def counted_xds_agent_value(env: dict[str, str]) -> str | None:
        calls["xds_agent_value"] += 1
        return xds_agent_value(env)

    monkeypatch.setattr(rules, "has_asm_env", counted_has_asm_env)
    monkeypatch.setattr(mesh, "xds_agent_value", counted_xds_agent_value)
    rows = [dict(zip(POD_COLUMNS, summarise_pod(pod, rules), strict=True))
            for pod in (as_structs(pods) if reader == "struct" else pods)]
    assert calls == {"has_asm_env": 1, "xds_agent_value": 1}
    assert {(row["proxy_image"], row["xds_agent"], row["asm_env"], row["role"]) for row in rows} == {
        (f.ISTIO_PROXY_IMAGE, "true", False, "sidecar")}


def test_a_proxy_with_other_env_values_gets_its_own_marks():
    rules = mesh.ProxyRules()
    istio, asm = f.pod("web-1"), f.pod("web-2", proxy="asm")
    gateway = f.pod("gw-1", gateway=True, proxy_env={"EXIT_ON_ZERO_ACTIVE_CONNECTIONS": "TRUE"}, xds_agent=None)
    rows = [dict(zip(POD_COLUMNS, summarise_pod(pod, rules), strict=True))
            for pod in as_structs([istio, asm, gateway, istio, asm, gateway])]
    assert [(row["asm_env"], row["xds_agent"], row["exit_on_zero"], row["role"]) for row in rows] == [
        (False, "true", False, "sidecar"), (True, "true", False, "sidecar"), (False, "<absent>", True, "gateway")] * 2


def test_a_port_name_is_searched_once_for_many_pods(monkeypatch: pytest.MonkeyPatch):
    counting = Counting(inventory._LONG_LIVED_PORT, "search")
    monkeypatch.setattr(inventory, "_LONG_LIVED_PORT", counting)
    rules = mesh.ProxyRules()
    # Names no other test summarises, so the answers remembered per name start here.
    grpc_rows = [summarise_pod(pod, rules) for pod in as_structs(same_workload_pods("grpc-summary-cost"))]
    http_rows = [summarise_pod(pod, rules) for pod in as_structs(same_workload_pods("http-summary-cost"))]
    long_lived = POD_COLUMNS.index("long_lived")
    assert [row[long_lived] for row in grpc_rows] == [True] * PODS
    assert [row[long_lived] for row in http_rows] == [False] * PODS
    assert counting.calls == 2


def python_calls(work: Callable[[], Any]) -> int:
    """Python function calls made while `work()` runs (its own call included)."""
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        work()
    finally:
        sys.setprofile(None)
    return calls


def test_a_struct_pod_s_summary_makes_few_python_calls():
    """Per pod with a sidecar, one pod at a time: summarise_pod, the page loop, the summary state, its ports and the
    env comprehension: 5 (main: 14, with the proxy's columns and role, the row and its five own copies in calls of
    their own; 26 before the marks and port names were remembered); nothing per env var, annotation or port."""
    pods = as_structs(same_workload_pods("http"))
    rules = mesh.ProxyRules()
    summarise_pod(pods[0], rules)  # the first pod decides the proxy marks and the port name
    assert python_calls(lambda: [summarise_pod(pod, rules) for pod in pods[1:]]) <= 2 + (PODS - 1) * 5


def test_a_page_of_struct_pods_is_summarised_in_one_loop():
    """Per pod with a sidecar: its ports and the env comprehension, 2 calls; the summary state, the reader, the
    proxy's columns and role, the row and its copies of text are no call per pod (main: 14 per pod, one
    summarise_pod each)."""
    pods = as_structs(same_workload_pods("http"))
    rules = mesh.ProxyRules()
    summarise_pod(pods[0], rules)  # the first pod decides the proxy marks and the port name
    collector = SimpleNamespace(inv=SimpleNamespace(rules=rules))
    summaries = inventory.PodSummaries.empty()
    calls = python_calls(lambda: Collector._summarise(collector, pods, summaries))  # type: ignore[arg-type]
    assert len(summaries) == PODS
    assert calls <= 4 + PODS * 2


def test_pods_listed_together_reuse_the_answers_for_the_pod_before(monkeypatch: pytest.MonkeyPatch):
    """A workload's pods are listed one after the other: a pod whose app ports and proxy image, env and args are the
    pod's before takes its answers (long-lived ports, proxy marks and role) without asking again. Per pod: the env
    comprehension only (48028bb: and its ports, 84 calls for the page)."""
    pods = as_structs(same_workload_pods("http"))
    rules = mesh.ProxyRules()
    summarise_pod(pods[0], rules)  # the proxy's marks and the port name decided once
    collector = SimpleNamespace(inv=SimpleNamespace(rules=rules))
    summaries = inventory.PodSummaries.empty()
    assert python_calls(lambda: Collector._summarise(collector, pods, summaries)) <= 5 + PODS  # type: ignore[arg-type]
    asked: list[str] = []
    marks = inventory._proxy_marks
    monkeypatch.setattr(inventory, "_proxy_marks", lambda env, image, *args: asked.append(image) or marks(env, image,
                                                                                                          *args))
    other = [f.pod("web-1"), f.pod("web-2", proxy="asm"), f.pod("web-3", proxy="asm"), f.pod("web-4")]
    inventory.summarise_pods(as_structs(other), mesh.ProxyRules(), summaries)  # new rules: nothing remembered
    assert asked == [f.ISTIO_PROXY_IMAGE, f.ASM_PROXY_IMAGE]  # web-3: web-2's marks; web-4: the cache's
    assert summaries.whole_rows()[-4:] == [summarise_pod(pod, mesh.ProxyRules()) for pod in other]  # the dict reader's


class CountingEnvDecoder:
    """Stands in for podwire.ENV_VARS (the decoder of a container's env), counting the envs it decodes and the EnvVar
    Structs it builds."""

    decoder = msgspec.json.Decoder(list[podwire.EnvVar] | None)

    def __init__(self) -> None:
        self.envs = self.env_vars = 0

    def decode(self, raw: Any) -> Any:
        decoded = self.decoder.decode(raw)
        self.envs += 1
        self.env_vars += len(decoded or ())
        return decoded


def env_vars_built(counter: CountingEnvDecoder, decode: Callable[[], list[podwire.Pod]]) -> tuple[list[podwire.Pod],
                                                                                                   int]:
    """The pods `decode` gives, and the EnvVar Structs built for them: by the env decoder, or in the pods themselves
    (main: every container's env decoded with its pod, a list of EnvVars)."""
    before = counter.env_vars
    pods = decode()
    in_pods = sum(len(c.env) for pod in pods for c in pod.spec.containers if isinstance(c.env, list))
    return pods, counter.env_vars - before + in_pods


def test_a_workload_s_env_is_decoded_once_per_page(monkeypatch: pytest.MonkeyPatch):
    """40 pods of one workload, the env of their proxy (6 vars) and of their app (2) the same bytes in each pod: a page
    of them (a snapshot file or a live page) builds EnvVar Structs once per container to check their types, not for
    every pod (main: 320 for each page); the summary reads the proxy's from there (pods handed in as a plain list:
    decoded once)."""
    pods = same_workload_pods("http")
    for pod in pods:
        pod["spec"]["containers"][0]["env"] = [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}}]
    counter = CountingEnvDecoder()
    monkeypatch.setattr(podwire, "ENV_VARS", counter, raising=False)
    structs, built = env_vars_built(counter, lambda: as_structs(pods))
    assert (len(structs), built) == (PODS, 8)
    body = orjson.dumps({"apiVersion": "v1", "kind": "PodList", "items": pods})
    live, built = env_vars_built(counter, lambda: podwire.decode_pod_list(body)["items"])
    assert (len(live), built) == (PODS, 8)
    rules = mesh.ProxyRules()
    for page, decoded in ((structs, (0, 0)), (live, (0, 0)), (list(structs), (1, 6))):
        summaries = inventory.PodSummaries.empty()
        envs, built = counter.envs, counter.env_vars
        inventory.summarise_pods(page, rules, summaries)
        assert (counter.envs - envs, counter.env_vars - built) == decoded
        assert summaries.whole_rows() == [summarise_pod(pod, rules) for pod in pods]  # the dict reader's


def one_template_pods(native: bool = False) -> list[dict[str, Any]]:
    """Pods of one ReplicaSet as its template makes them: their containers the same in each (the factory names an app's
    image after its pod); the app has a command, the proxy its args."""
    pods = [f.pod(f"cart-5d8f7c9b6-{i:05d}", owner=("ReplicaSet", "cart-5d8f7c9b6"), native=native,
                  annotations={"istio.io/rev": "default"}) for i in range(PODS)]
    for pod in pods:
        app = pod["spec"]["containers"][0]
        app["image"], app["command"] = "registry.example.com/shop/cart:1.0", ["/cart", "--port=8080"]
    return pods


class CountingStringsDecoder:
    """Stands in for podwire.STRINGS (the decoder of a container's args or command), counting the lists it builds."""

    decoder = msgspec.json.Decoder(list[str] | None)

    def __init__(self) -> None:
        self.lists = 0

    def decode(self, raw: Any) -> Any:
        decoded = self.decoder.decode(raw)
        self.lists += decoded is not None
        return decoded


def test_a_workload_s_args_and_commands_are_lists_once_per_page(monkeypatch: pytest.MonkeyPatch):
    """40 pods of one template: the proxy's args, the app's command and istio-init's args are the same bytes in each
    pod. A page of them (a snapshot file or a live page) builds each list once to check its types, not one per pod
    (main: 80 lists of text, 40 of each, in the pods); the summary reads the proxy's args from there (pods handed in as
    a plain list: decoded once, not per pod)."""
    pods = one_template_pods()
    counter = CountingStringsDecoder()
    monkeypatch.setattr(podwire, "STRINGS", counter, raising=False)

    def lists_in(page: list[podwire.Pod]) -> int:
        return sum(isinstance(value, list) for pod in page for c in pod.spec.containers
                   for value in (c.args, c.command))

    structs = as_structs(pods)
    assert (lists_in(structs), counter.lists) == (0, 3)
    live = podwire.decode_pod_list(orjson.dumps({"apiVersion": "v1", "kind": "PodList", "items": pods}))["items"]
    assert (lists_in(live), counter.lists) == (0, 6)
    rules = mesh.ProxyRules()
    for page, built in ((structs, 0), (live, 0), (list(structs), 1)):
        summaries = inventory.PodSummaries.empty()
        before = counter.lists
        inventory.summarise_pods(page, rules, summaries)
        assert counter.lists - before == built
        assert summaries.whole_rows() == [summarise_pod(pod, rules) for pod in pods]  # the dict reader's


@pytest.mark.parametrize("native", [False, True], ids=["classic", "native"])
def test_the_pods_of_a_template_share_their_container_lists(native: bool):
    """40 pods of one template, the 21st with another app image (a rollout's pod listed among them): their containers
    are 3 lists, not 40 (the 1st to the 20th share one, the 22nd to the 40th another), their init containers one (main:
    40 of each, the same values), and the summary decides what a list says once. A pod's own state is still its own:
    the 6th pod's app has ended, its classic proxy holds it Running (the 6th runs to completion: restartPolicy Never;
    under a ReplicaSet's Always the kubelet would restart its app)."""
    pods = one_template_pods(native)
    pods[20]["spec"]["containers"][0]["image"] = "registry.example.com/shop/cart:1.1"
    pods[5]["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 0}}
    pods[5]["spec"]["restartPolicy"] = "Never"
    rules = mesh.ProxyRules()
    body = orjson.dumps({"apiVersion": "v1", "kind": "PodList", "items": pods})
    for page in (as_structs(pods), podwire.decode_pod_list(body)["items"]):
        assert len({id(pod.spec.containers) for pod in page}) == 3
        assert len({id(pod.spec.initContainers) for pod in page}) == 1  # classic: all None
        summaries = inventory.PodSummaries.empty()
        inventory.summarise_pods(page, rules, summaries)
        rows = summaries.whole_rows()
        assert rows == [summarise_pod(pod, rules) for pod in pods]  # the dict reader's
        held = POD_COLUMNS.index("held_by_proxy")
        assert [i for i, row in enumerate(rows) if row[held]] == ([] if native else [5])


# ---------------------------------------------------------------- scanning a snapshot of several pod files
POD_FILES = 4


def write_pod_files(root: Path) -> Path:
    for part in range(POD_FILES):
        pods = [f.pod(f"web-{part}-{i}", owner=("ReplicaSet", "web-5d8f7c9b6")) for i in range(30)]
        (root / f"pods-{part:04d}.json").write_bytes(
            orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    return root


class Page(list):
    """A page of pods that can be watched (a plain list takes no weak reference)."""


def collect_pods(root: Path) -> Inventory:
    inv = Inventory(data_planes=[])
    Collector(open_snapshot(root), inv).ensure([K.POD], "data-plane")
    return inv


def test_a_file_of_pods_is_freed_before_the_next_is_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pages: list[weakref.ref] = []
    alive_at_decode: list[int] = []
    decode = podwire.pod_structs

    def watched(raw: bytes) -> Page | None:
        alive_at_decode.append(sum(page() is not None for page in pages))
        pods = decode(raw)
        if pods is None:
            return None
        page = Page(pods)
        pages.append(weakref.ref(page))
        return page

    monkeypatch.setattr(podwire, "pod_structs", watched)
    inv = collect_pods(write_pod_files(tmp_path))
    assert len(inv.data_planes[0].pod_summaries) == POD_FILES * 30
    assert alive_at_decode == [0] * POD_FILES  # before: [0, 1, 1, 1] (the last page held until the next was read)


def lengths_typed(monkeypatch: pytest.MonkeyPatch, owner: Any, attribute: str) -> list[int]:
    """The length of what each call of owner.attribute made from auditor.inventory is given (pandas calls it too)."""
    lengths: list[int] = []
    original = getattr(owner, attribute)

    def counting(values: Any, *args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_globals["__name__"] == "auditor.inventory":
            lengths.append(len(values))
        return original(values, *args, **kwargs)

    monkeypatch.setattr(owner, attribute, counting)
    return lengths


def test_the_pods_of_a_workload_are_typed_once_for_what_they_share(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """120 pods of one ReplicaSet: what a workload's pods share (their profile: namespace, owner, proxy, marks...) is
    kept once, and the pod frame types it once, its workload too; only each pod's own values (name, restarts,
    created, started) are typed pod by pod."""
    pods = [f.pod(f"web-5d8f7c9b6-{i:03d}", owner=("ReplicaSet", "web-5d8f7c9b6"), restarts=i % 3) for i in range(120)]
    (tmp_path / "pods-0000.json").write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    cluster = collect_pods(tmp_path).data_planes[0]
    assert len(cluster.pod_summaries) == 120 and len(cluster.pod_summaries.profiles) == 1
    inferred = lengths_typed(monkeypatch, inventory.pd.api.types, "infer_dtype")
    factorized = lengths_typed(monkeypatch, inventory.pd, "factorize")
    frame = cluster.pods()
    # Before: 15 columns inferred and 14 factorized over all 120 pods; then (session 9) the workload's kind and name
    # still factorized over the 120 pods.
    # (session 16: xds_server, a 13th categorical column, one value per profile like the others.)
    # (session 17: cni_redirect, a 12th profile column typed once per profile; session 19: deleting, a 13th;
    # session 21: ambient, a 14th.)
    assert sorted(inferred) == [1] * 29 + [120] * 4  # 14 columns and 15 categories' distinct values; 4 own columns
    assert sorted(factorized) == [1] * 15  # the 13 categorical columns, the workload's kind and name
    assert frame["workload_name"].tolist() == ["web"] * 120 and frame["namespace"].tolist() == ["shop"] * 120
    assert frame["name"].tolist() == [f"web-5d8f7c9b6-{i:03d}" for i in range(120)]
    assert frame["restarts"].tolist() == [0, 2, 4] * 40  # the app's and the proxy's restarts


def varied_pods() -> list[dict[str, Any]]:
    """Pods of several workloads, proxies, phases and owners; a workload's pods listed together (as the API server
    lists them: by name), some of them apart."""
    pods = [f.pod(f"web-5d8f7c9b6-{i}", owner=("ReplicaSet", "web-5d8f7c9b6"), ready=i != 5, restarts=i % 4,
                  proxy=("istio", "asm", None)[i // 4], native=i == 2) for i in range(12)]
    pods += [f.pod(f"nightly-{i // 6}-{i}", namespace="batch", owner=("Job", f"nightly-{i // 6}"), phase="Succeeded",
                   grace=None if i // 6 else 5, created=f"2026-01-0{1 + i % 3}T00:00:00Z") for i in range(12)]
    pods += [f.pod("bare", proxy="istio"), f.pod("gw-1", namespace="istio-system", gateway=True, proxy="istio",
                                                 owner=("ReplicaSet", "gw-7f9d"), labels={"istio": "ingressgateway"}),
             f.pod("web-5d8f7c9b6-z", owner=("ReplicaSet", "web-5d8f7c9b6"))]
    return pods


def test_the_frame_of_pods_read_as_structs_is_the_frame_of_their_rows(tmp_path: Path):
    """Profiles are an economy, not a decision: the frame of pods collected as Structs (a profile shared by the pods
    listed together with the same) is the frame of the same pods summarised one by one and handed in whole (a profile
    each)."""
    pods = varied_pods()
    (tmp_path / "pods-0000.json").write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    collected = collect_pods(tmp_path).data_planes[0]
    assert len(collected.pod_summaries.profiles) == 12 and len(collected.pod_summaries) == len(pods) == 27
    whole = inventory.ClusterInventory(name="c1", objects_by_kind={K.POD.key: []},
                                       pod_rows=[summarise_pod(pod, mesh.ProxyRules()) for pod in pods])
    assert collected.pod_summaries.whole_rows() == whole.pod_rows
    frame, expected = collected.pods(), whole.pods()
    assert frame.equals(expected) and list(frame.columns) == list(expected.columns)
    assert [str(t) for t in frame.dtypes] == [str(t) for t in expected.dtypes]
    for column in frame.select_dtypes("category"):
        assert frame[column].cat.categories.tolist() == expected[column].cat.categories.tolist()


def test_pods_forgotten_leave_no_profile_behind():
    """A list restarted (or a kind unreadable) forgets the pods summarised since the mark, and their profiles: a
    profile no pod has would still be typed, and its text would be a category of the frame."""
    rules = mesh.ProxyRules()
    summaries = inventory.PodSummaries.empty()
    inventory.summarise_pods(as_structs([f.pod("web-1"), f.pod("web-2")]), rules, summaries)
    mark = summaries.mark()
    inventory.summarise_pods(as_structs([f.pod("api-1", namespace="other", proxy="asm")]), rules, summaries)
    summaries.truncate(mark)
    inventory.summarise_pods(as_structs([f.pod("web-3")]), rules, summaries)
    assert (len(summaries.profiles), len(summaries)) == (2, 3)  # a page's pods start a profile of their own
    cluster = inventory.ClusterInventory(name="c1", objects_by_kind={K.POD.key: []}, pod_summaries=summaries)
    frame = cluster.pods()
    assert frame["name"].tolist() == ["web-1", "web-2", "web-3"]
    assert frame["namespace"].cat.categories.tolist() == ["shop"]
    assert frame["asm_env"].tolist() == [False] * 3


def mapped_files(root: Path) -> list[str]:
    """Names of the files under `root` this process has mapped now (/proc/self/maps: one line per mapped region)."""
    names = set()
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith(f"{root}/"):
            names.add(Path(fields[5]).name)
    return sorted(names)


def record_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(file name, type of what read_snapshot_file gave) of every snapshot file read from now on."""
    reads: list[tuple[str, str]] = []
    read = snapshot_module.read_snapshot_file

    def recorded(path: Path) -> bytes | memoryview:
        raw = read(path)
        reads.append((path.name, type(raw).__name__))
        return raw

    monkeypatch.setattr(snapshot_module, "read_snapshot_file", recorded)
    return reads


def test_a_big_file_is_mapped_not_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A 50 MB file of pods read into memory cost a new buffer, faulted in and copied (~15 ms each: 10% of a 50k-pod
    audit); mapped, its bytes are decoded from the page cache."""
    reads = record_reads(monkeypatch)
    monkeypatch.setattr(snapshot_module, "MAP_BYTES", 1, raising=False)  # every file counts as big
    inv = collect_pods(write_pod_files(tmp_path))
    assert len(inv.data_planes[0].pod_summaries) == POD_FILES * 30
    assert reads == [(f"pods-{part:04d}.json", "memoryview") for part in range(POD_FILES)]  # before: bytes


def test_a_small_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Mapping a file costs more than reading a small one (a hand-made snapshot may hold thousands)."""
    reads = record_reads(monkeypatch)
    collect_pods(write_pod_files(tmp_path))  # ~30 KB each, under MAP_BYTES
    assert reads == [(f"pods-{part:04d}.json", "bytes") for part in range(POD_FILES)]


def test_a_file_is_unmapped_once_it_is_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Bounded memory, as with read bytes: while a file of pods is decoded, no file before it is still mapped."""
    monkeypatch.setattr(snapshot_module, "MAP_BYTES", 1, raising=False)
    mapped_at_decode: list[list[str]] = []
    decode = podwire.pod_structs

    def watched(raw: bytes) -> Any:
        mapped_at_decode.append(mapped_files(tmp_path))
        return decode(raw)

    monkeypatch.setattr(podwire, "pod_structs", watched)
    inv = collect_pods(write_pod_files(tmp_path))
    assert len(inv.data_planes[0].pod_summaries) == POD_FILES * 30
    assert mapped_at_decode == [[f"pods-{part:04d}.json"] for part in range(POD_FILES)]  # before: [] each time
    assert mapped_files(tmp_path) == []


def test_a_file_that_cannot_be_mapped_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A file system without mmap (some FUSE and network ones answer ENODEV): the file is read, the audit the same."""
    write_pod_files(tmp_path)
    expected = collect_pods(tmp_path).data_planes[0].pod_summaries.whole_rows()
    monkeypatch.setattr(snapshot_module, "MAP_BYTES", 1, raising=False)

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise OSError(19, "No such device")

    monkeypatch.setattr(snapshot_module.mmap, "mmap", refused)
    reads = record_reads(monkeypatch)
    assert collect_pods(tmp_path).data_planes[0].pod_summaries.whole_rows() == expected
    assert {kind for _, kind in reads} == {"bytes"}


def test_a_mapped_file_past_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    write_pod_files(tmp_path)
    monkeypatch.setattr(snapshot_module, "MAP_BYTES", 1, raising=False)
    monkeypatch.setenv(snapshot_module.FILE_LIMIT_VARIABLE, "1000")
    with pytest.raises(snapshot_module.UsageError, match=r"pods-0000\.json: larger than 1000 bytes"):
        collect_pods(tmp_path)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_mapped_file_meets_the_same_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str):
    """Malformed JSON, and YAML that is not UTF-8, named as when the file was read."""
    bad = b'{"apiVersion": "v1", "kind": "List", "items": [' if suffix == ".json" else b"kind: Pod\nname: \xff\n"
    (tmp_path / f"pods-0000{suffix}").write_bytes(bad)
    errors = []
    for map_bytes in (1 << 30, 1):  # read, then mapped
        monkeypatch.setattr(snapshot_module, "MAP_BYTES", map_bytes, raising=False)
        with pytest.raises(snapshot_module.UsageError) as caught:
            collect_pods(tmp_path)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    assert ("malformed JSON" if suffix == ".json" else "not UTF-8 text") in errors[1]


def test_a_mapped_yaml_file_gives_the_same_objects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`kubectl get pods -A -o yaml` written as one big file: parsed from its mapping as from its bytes."""
    pods = [f.pod(f"web-{i}", owner=("ReplicaSet", "web-5d8f7c9b6")) for i in range(12)]
    (tmp_path / "pods.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": pods}))
    read = collect_pods(tmp_path).data_planes[0].pod_summaries.whole_rows()
    monkeypatch.setattr(snapshot_module, "MAP_BYTES", 1, raising=False)
    reads = record_reads(monkeypatch)
    assert collect_pods(tmp_path).data_planes[0].pod_summaries.whole_rows() == read
    assert reads == [("pods.yaml", "memoryview")]


# ---------------------------------------------------------------- owned ReplicaSets and Jobs
def test_a_file_of_owned_replicasets_is_decoded_in_one_pass(monkeypatch: pytest.MonkeyPatch):
    rs, old_rs = owner_objects()[:2]
    items = [rs, old_rs] * 50
    counting = Counting(podwire._TYPE_META, "decode")  # the item-by-item path's first decode of each item
    monkeypatch.setattr(podwire, "_TYPE_META", counting)
    reduced = podwire.reduced_list(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    assert counting.calls == 0  # before: one per item (100), then _OWNED's one per item
    assert reduced is not None and len(reduced["items"]) == 100
    assert [inventory.slim(K.REPLICASET, item) for item in reduced["items"][:2]] == [
        inventory.slim(K.REPLICASET, orjson.loads(orjson.dumps(full))) for full in (rs, old_rs)]
    assert "spec" not in reduced["items"][0] and reduced["items"][1]["metadata"]["name"] == "cart-7c9d8f6b54"


def test_a_file_with_ownerless_replicasets_and_jobs_is_decoded_in_two_passes(monkeypatch: pytest.MonkeyPatch):
    """An ownerless one is a workload of its own: parsed whole, template and all, from its own bytes, which a second
    pass over the file finds; no item is decoded one by one (main: _TYPE_META and _OWNED once per item, 2 x 100).
    """
    rs, old_rs, orphan_rs, cron_job, standalone_job = owner_objects()
    for items in ([rs, orphan_rs] * 50, [cron_job, standalone_job, old_rs, rs] * 25):
        type_meta = Counting(podwire._TYPE_META, "decode")  # the item-by-item path's first decode of each item
        owned = Counting(podwire._OWNED, "decode")  # its second
        monkeypatch.setattr(podwire, "_TYPE_META", type_meta)
        monkeypatch.setattr(podwire, "_OWNED", owned)
        reduced = podwire.reduced_list(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        assert (type_meta.calls, owned.calls) == (0, 0)
        assert reduced is not None and len(reduced["items"]) == 100
        assert not isinstance(reduced["items"], podwire.OwnedItems)  # shape-checked as before (two kinds, or whole)
        for got, full in zip(reduced["items"], items, strict=True):
            if full["metadata"].get("ownerReferences"):
                assert "spec" not in got and got["metadata"]["name"] == full["metadata"]["name"]
            else:
                assert got == orjson.loads(orjson.dumps(full))
        assert reduced["apiVersion"] == "v1" and reduced["kind"] == "List"
        monkeypatch.undo()


def test_a_file_of_owned_replicasets_is_not_shape_checked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Their msgspec types (podwire._Owned) are the shape rules or stricter for all that is kept; shapes.all_fit
    would convert every item a second time (main: all 100 items)."""
    rs, old_rs = owner_objects()[:2]
    path = tmp_path / "replicasets.json"
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": [rs, old_rs] * 50}))
    checked: list[int] = []
    all_fit = snapshot_module.all_fit

    def counted(items: list[Any], raw: Any = None) -> bool:  # raw: the file's JSON text (shapes.all_fit)
        checked.append(len(items))
        return all_fit(items, raw)

    monkeypatch.setattr(snapshot_module, "all_fit", counted)
    fast = list(snapshot_module.read_object_file(path, reduce=True))
    assert checked == []
    full = list(snapshot_module.read_object_file(path))
    assert checked == [100]  # the full parse still checks them
    assert [inventory.slim(K.REPLICASET, obj) for obj in fast] == [inventory.slim(K.REPLICASET, obj) for obj in full]
    assert len(fast) == 100 and "spec" not in fast[0]


def test_a_decoded_owned_replicaset_or_job_keeps_its_status_uncopied():
    """podwire decodes an owned ReplicaSet's or Job's status to its counts only: slim takes that dict as it is (main:
    a copy per object, ~17,800 at 50k pods). A status holding more is still cut down to the counts, in its order."""
    rs, _, _, cron_job, _ = owner_objects()
    for kind, full in ((K.REPLICASET, rs), (K.JOB, cron_job)):
        decoded = podwire._OWNED.decode(orjson.dumps(full))
        slimmed = inventory.slim(kind, decoded)
        assert slimmed["status"] is decoded["status"]
        assert inventory.slim(kind, slimmed)["status"] is decoded["status"]  # idempotent, no copy either
    assert inventory.slim(K.REPLICASET, orjson.loads(orjson.dumps(rs)))["status"] == {"replicas": 2,
                                                                                     "readyReplicas": 2}
    assert list(inventory.slim(K.JOB, {"metadata": {"name": "j"}, "status": {
        "succeeded": 1, "startTime": "t", "active": 0, "failed": 2}})["status"].items()) == [
        ("succeeded", 1), ("active", 0), ("failed", 2)]
    assert inventory.slim(K.JOB, {"metadata": {"name": "j"}, "status": None})["status"] == {}


def test_a_page_of_services_is_slimmed_without_a_call_per_service(monkeypatch: pytest.MonkeyPatch):
    """Kinds kept whole but for managedFields' bodies are slimmed in one loop (main: one slim call per object)."""
    services = [f.service(f"web-{i}", "shop") for i in range(100)]
    for service in services[::2]:
        service["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:x": {}}}]
    expected = [inventory.slim(K.SERVICE, orjson.loads(orjson.dumps(service))) for service in services]
    calls = 0
    slim = inventory.slim

    def counted(kind: Any, obj: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return slim(kind, obj)

    monkeypatch.setattr(inventory, "slim", counted)
    monkeypatch.setattr(collect_module, "slim", counted, raising=False)
    kept: list[dict[str, Any]] = []
    Collector._absorb(SimpleNamespace(writer=None), None, None, K.SERVICE, services, kept)  # type: ignore[arg-type]
    assert calls == 0
    assert kept == expected and kept[0]["metadata"]["managedFields"] == [{"manager": "kubectl", "operation": "Apply"}]



DEMO_SNAPSHOT = Path(__file__).resolve().parents[1] / "auditor" / "demo" / "snapshot"


@pytest.mark.parametrize("phase", ["all", "migrating", "auto"])
def test_an_audit_of_a_phase_reads_each_asm_file_once(monkeypatch: pytest.MonkeyPatch, phase: str):
    """The ASM cluster's migration state is read in the same pass as the kinds the checks need: those of the gates
    of a phase other than auto (known before anything is read), any gate's with --phase auto, as the data planes' are
    (before: its Istio configuration parsed and shape-checked twice, once to find the migration state, once for the
    checks; with auto until session 11)."""
    reads: dict[str, int] = {}
    read = snapshot_module.read_snapshot_file

    def counted(path: Path) -> bytes | memoryview:
        if path.parent.name == "asm":
            reads[path.name] = reads.get(path.name, 0) + 1
        return read(path)

    monkeypatch.setattr(snapshot_module, "read_snapshot_file", counted)
    api.run_audit(api.Target(snapshot=str(DEMO_SNAPSHOT)), phase=phase)
    assert reads == {"asmmigratefromistio.json": 1, "crds.json": 1, "istio-config.json": 1, "istiogateways.json": 1,
                     "namespaces.json": 1, "version.json": 1}


def test_an_owned_replicaset_is_slimmed_in_two_python_calls():
    """Per owned ReplicaSet or Job: slim and its metadata comprehension (main: 3, the apiVersion and kind copied by a
    comprehension of their own; ~17,800 objects at 50k pods). What it keeps, and in which order, is unchanged."""
    rs, _, _, _, _ = owner_objects()
    page = [podwire._OWNED.decode(orjson.dumps(rs)) for _ in range(50)]
    # The lambda, slim_page and its comprehension, then two calls per object.
    assert python_calls(lambda: inventory.slim_page(K.REPLICASET, page)) == 3 + 50 * 2
    slimmed = inventory.slim(K.REPLICASET, page[0])
    assert list(slimmed) == ["apiVersion", "kind", "metadata", "status"]
    assert slimmed["apiVersion"] == "apps/v1" and slimmed["kind"] == "ReplicaSet"
    assert inventory.slim(K.REPLICASET, {"apiVersion": "", "kind": None, "metadata": {"name": "r"}}) == {
        "metadata": {"name": "r"}, "status": {}}


@pytest.mark.parametrize("variant", ["as-served", "no-status", "empty-apiversion", "status-first", "jobs"])
def test_owned_items_are_slimmed_in_one_loop_as_slim_makes_them(tmp_path: Path, variant: str):
    """A snapshot file of owned ReplicaSets (or Jobs) reaches inventory.slim_page as podwire decoded it (OwnedItems)
    and is slimmed in one loop (main: a call of slim per object, ~16,000 ReplicaSets at 50k pods): the same objects
    slim makes of the full parse, their keys in the same order."""
    rs, old_rs, _, cron_job, _ = owner_objects()
    items = [cron_job, dict(cron_job, metadata={**cron_job["metadata"], "name": "nightly-2"})] if variant == "jobs" \
        else [rs, old_rs]
    if variant == "no-status":
        del items[1]["status"]
    if variant == "empty-apiversion":
        items = [dict(item, apiVersion="") for item in items]
    if variant == "status-first":
        items = [{"status": item["status"], **{k: v for k, v in item.items() if k != "status"}} for item in items]
    path = tmp_path / "owned.json"
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": items * 3}))
    kind = K.JOB if variant == "jobs" else K.REPLICASET
    [(page, uniform)] = list(snapshot_module._file_batches(path, reduce=True, by_kind=True))
    assert uniform and type(page) is podwire.OwnedItems
    full = [obj for batch, _ in snapshot_module._file_batches(path) for obj in batch]
    expected = orjson.dumps([inventory.slim(kind, obj) for obj in full])  # orjson keeps each dict's key order
    assert orjson.dumps(inventory.slim_page(kind, page)) == expected
    assert orjson.dumps([inventory.slim(kind, obj) for obj in page]) == expected  # slim stays idempotent


def test_a_snapshot_scan_hands_a_file_of_owned_items_over_whole(tmp_path: Path):
    """SnapshotCluster.scan yields a file of owned ReplicaSets as podwire.OwnedItems (slim_page's cue), and the
    audit's ReplicaSets are those the full parse keeps."""
    rs, old_rs, orphan_rs, _, _ = owner_objects()
    cluster = tmp_path / "snap" / "c"
    cluster.mkdir(parents=True)
    (cluster / "replicasets.json").write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List",
                                                             "items": [rs, old_rs]}))
    (cluster / "more-replicasets.json").write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List",
                                                                  "items": [orphan_rs]}))
    source = snapshot_module.SnapshotCluster("c", "data-plane", cluster, {"complete": True})
    pages = [page for _, page in source.scan([K.REPLICASET], reduce=True)]
    assert [type(page) for page in pages] == [list, podwire.OwnedItems]  # sorted: more-replicasets.json first
    slimmed = [obj for page in pages for obj in inventory.slim_page(K.REPLICASET, page)]
    full = [inventory.slim(K.REPLICASET, obj) for _, page in source.scan([K.REPLICASET]) for obj in page]
    assert orjson.dumps(slimmed) == orjson.dumps(full)
