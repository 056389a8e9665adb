"""Two data planes of a live fleet that reach one cluster are bad input, not two audited clusters (red22c).

`--cluster cluster-a=~/.kube/config@ctx-a --cluster cluster-b=~/.kube/config` (the context of cluster-b forgotten:
the kubeconfig's current context, cluster-a's) or a fleet file whose second entry copies the first's kubeconfig and
context: both names read the same API server, and the same cluster behind it. cluster-b's own pods, still on Istio's
sidecar, were never read; its row and the fleet said GO (exit 0) on cluster-a's evidence.

A cluster is known by its kube-system Namespace's uid (set once by the API server when it creates the namespace,
kubernetes/kubernetes pkg/controlplane/controller/systemnamespaces: kube-system, kube-public, kube-node-lease), the
id tools take for "which cluster" (`kubectl get namespace kube-system -o jsonpath='{.metadata.uid}'`). Two names
with the same server URL and the same kube-system uid are one cluster: exit 2 naming both. The same URL alone is no
proof (Teleport's proxy serves every cluster at one URL, telling them apart by the client certificate), nor is the
uid alone (a cluster restored from another's etcd snapshot keeps its uids).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from auditor import api
from auditor.cli.main import main
from auditor.config import Config
from auditor.errors import UsageError
from tests import factory as f
from tests.fakeapi import FakeApiServer
from tests.test_fleet import JUDGED, serve


def data_plane(proxy: str, system_uid: str) -> list[dict]:
    cart = f.deployment("cart")
    kube_system = f.namespace("kube-system")
    kube_system["metadata"]["uid"] = system_uid
    return [f.namespace("istio-system"), kube_system, f.namespace("shop"), *cart,
            *f.workload_pods(cart, 2, proxy=proxy)]


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Path]:
    """cluster-a (every pod on ASM's proxy) and cluster-b (on Istio's sidecar) on their own API servers, ASM's."""
    kdir = tmp_path / "kubeconfigs"
    with FakeApiServer() as one, FakeApiServer() as two, FakeApiServer() as asm:
        serve(one, data_plane("asm", "5b1c5a8e-3f7d-4c1e-9a0b-7e2d4c6f8a10"))
        serve(two, data_plane("istio", "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f60"))
        serve(asm, [f.migration_cr("Migrating", spec_retry=1)])
        for name, server in (("a", one), ("b", two), ("asm", asm)):
            server.write_kubeconfig(kdir / f"{name}.yaml", context=f"ctx-{name}")
        yield kdir


def run(kdir: Path, b: str) -> api.AuditResult:
    target = api.Target(clusters=[api.ClusterSpec.parse(f"cluster-a={kdir / 'a.yaml'}@ctx-a"),
                                  api.ClusterSpec.parse(f"cluster-b={b}")],
                        asm_kubeconfig=str(kdir / "asm.yaml"), asm_context="ctx-asm")
    return api.run_audit(target, "uninstall", Config.model_validate(f.only_checks(*JUDGED)))


def test_the_control_two_clusters_each_read(servers):
    result = run(servers, f"{servers / 'b.yaml'}@ctx-b")
    assert result.cluster_verdicts["cluster-a"] == "GO" and result.cluster_verdicts["cluster-b"] == "NO-GO"


@pytest.mark.parametrize("b", ["{kdir}/a.yaml@ctx-a", "{kdir}/a.yaml"], ids=["copied", "context-forgotten"])
def test_one_cluster_under_two_names_is_bad_input(servers, b):
    """Was GO (cluster-b read as cluster-a)."""
    with pytest.raises(UsageError) as caught:
        run(servers, b.format(kdir=servers))
    assert "cluster-a" in str(caught.value) and "cluster-b" in str(caught.value)


def test_one_cluster_under_two_names_exits_2(servers, tmp_path, capsys):
    config = tmp_path / "cfg.yaml"
    config.write_text(yaml.safe_dump(f.only_checks(*JUDGED)))
    code = main(["run", "--cluster", f"cluster-a={servers / 'a.yaml'}@ctx-a", "--cluster",
                 f"cluster-b={servers / 'a.yaml'}@ctx-a", "--asm-kubeconfig", str(servers / "asm.yaml"),
                 "--asm-context", "ctx-asm", "--phase", "uninstall", "--config", str(config), "--out",
                 str(tmp_path / "out"), "--format", "json", "-q"])
    assert code == 2


def test_one_server_url_with_two_clusters_behind_it_is_not_refused():
    """A proxy serving several clusters at one URL (Teleport): the kube-system uids differ, so they are two; one
    uid at two URLs (a cluster restored from another's etcd snapshot) is two as well; nothing known, nothing said."""
    from auditor.collect import one_cluster_twice

    url, uid = "https://teleport.example.com:443", "5b1c5a8e-3f7d-4c1e-9a0b-7e2d4c6f8a10"
    assert one_cluster_twice([("a", url, uid), ("b", url, "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f60")]) is None
    assert one_cluster_twice([("a", url, uid), ("b", "https://10.0.0.2:6443", uid)]) is None
    assert one_cluster_twice([("a", url, None), ("b", url, None), ("c", None, uid), ("d", None, uid)]) is None
    assert one_cluster_twice([("a", url, uid), ("b", "https://10.0.0.2:6443", uid), ("c", url + "/", uid)]) == (
        "a", "c")
