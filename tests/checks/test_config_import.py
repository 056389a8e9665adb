"""istio-config-imported through the real engine: data-plane Istio objects vs the ASM control plane."""

from __future__ import annotations

from auditor import kinds as K
from checks.config_import import spec_diff
from tests import factory as f

CHECK = "istio-config-imported"

CART_DR = {"host": "cart.shop.svc.cluster.local",
           "trafficPolicy": {"loadBalancer": {"simple": "LEAST_REQUEST"},
                             "connectionPool": {"http": {"http1MaxPendingRequests": 100}}}}
ALLOW_SHOP = {"selector": {"matchLabels": {"app": "payments-api"}}, "action": "ALLOW",
              "rules": [{"from": [{"source": {"namespaces": ["shop"]}}]}]}
CATALOG_VS = {"hosts": ["catalog"], "http": [{"route": [{"destination": {"host": "catalog", "subset": "v1"}}]}]}


def objects(side: str) -> list[dict]:
    """The same three objects as another API server returns them: other uids, resourceVersions, status."""
    salt, rv = (side, "7000") if side == "asm" else ("", "1000")
    out = [f.istio_object("DestinationRule", "cart", "shop", CART_DR, uid_salt=salt, resource_version=rv),
           f.istio_object("AuthorizationPolicy", "allow-shop", "payments", ALLOW_SHOP, uid_salt=salt,
                          resource_version=rv),
           f.virtualservice("catalog", http=CATALOG_VS["http"], hosts=CATALOG_VS["hosts"], uid_salt=salt)]
    if side == "asm":
        out[0]["status"] = {"observedGeneration": 1, "conditions": [{"type": "Reconciled", "status": "True"}]}
        out[0]["metadata"]["generation"] = 3
    return out


def test_pass_when_every_object_is_on_asm_with_equal_spec(audit):
    a = audit({"cluster-a": objects("cluster")}, "uninstall", asm=objects("asm"))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2101")
    assert row["evidence"]["by_kind"] == {"VirtualService": 1, "DestinationRule": 1, "AuthorizationPolicy": 1}
    assert row["evidence"]["source"] == "data-plane API server of cluster-a"
    assert row["evidence"]["served_from_asm"] == 0


def test_fail_per_missing_and_different_object_with_diff(audit):
    asm = objects("asm")
    asm[0]["spec"] = {"host": "cart.shop.svc.cluster.local",
                      "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}}}
    del asm[1]  # allow-shop never imported
    a = audit({"cluster-a": objects("cluster")}, "uninstall", asm=asm)
    rows = a.by_name(CHECK)
    assert set(rows) == {"cart", "allow-shop"}
    missing = rows["allow-shop"]
    assert missing["status"] == "FAIL" and missing["kind"] == "AuthorizationPolicy"
    assert missing["code"] == "AA2110"
    assert ("-n payments get authorizationpolicies.security.istio.io/allow-shop -o json | jq" in
            missing["remediation"])
    assert missing["remediation"].endswith("kubectl --kubeconfig=\"${ASM_KUBECONFIG:?}\" apply -f -")
    different = rows["cart"]
    assert (different["status"], different["code"]) == ("FAIL", "AA2112")
    paths = {d["path"]: d for d in different["evidence"]["diff"]}
    assert paths["spec.trafficPolicy.loadBalancer.simple"] == {
        "path": "spec.trafficPolicy.loadBalancer.simple", "cluster": "LEAST_REQUEST", "asm": "ROUND_ROBIN"}
    assert paths["spec.trafficPolicy.connectionPool"]["asm"] == "<absent>"
    assert different["evidence"]["source"] == "data-plane API server of cluster-a"


def test_object_seen_through_asm_is_marked(audit):
    """Data-plane KubeAPI access: the cluster's API server returns ASM's object (same uid)."""
    same = objects("cluster")
    a = audit({"cluster-a": same}, "uninstall", asm=objects("cluster"))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["evidence"]["served_from_asm"]) == ("PASS", "AA2102", 3)


def test_installer_and_asm_objects_are_not_required(audit):
    stats = f.istio_object("EnvoyFilter", "stats-filter-1.22", "istio-system", {"configPatches": []},
                           labels={"operator.istio.io/component": "Pilot", "istio.io/rev": "default"})
    asm_owned = f.istio_object("Gateway", "asm-gw", "istio-system", {"servers": []},
                               labels={"asm.alibabacloud.com/managed-by-asm": "true"})
    a = audit({"cluster-a": [stats, asm_owned]}, "uninstall", asm=[])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2103")  # nothing of the user's to import
    assert len(row["evidence"]["skipped"]) == 2


def test_unknown_when_asm_missing_or_unreadable(audit):
    a = audit({"cluster-a": objects("cluster")}, "uninstall")
    assert a.statuses(CHECK) == ["UNKNOWN"]
    a = audit({"cluster-a": objects("cluster")}, "uninstall", asm=objects("asm"),
              unreadable={"asm": {K.AUTHORIZATIONPOLICY: "forbidden: cannot list authorizationpolicies"}})
    rows = a.rows(CHECK)
    assert [(r["status"], r["code"], r["kind"]) for r in rows] == [("UNKNOWN", "AA2131", "AuthorizationPolicy")]
    assert "forbidden: cannot list authorizationpolicies" in rows[0]["message"]  # the recorded error, verbatim


def test_unknown_when_data_plane_kind_unreadable(audit):
    a = audit({"cluster-a": objects("cluster")}, "uninstall", asm=objects("asm"),
              unreadable={"cluster-a": {K.DESTINATIONRULE: "the server was unable to return a response"}})
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["kind"]) == ("UNKNOWN", "AA2130", "DestinationRule")


def test_spec_diff_lists_and_limits():
    assert spec_diff({"a": [1, 2]}, {"a": [1, 3]}) == [{"path": "spec.a[1]", "cluster": 2, "asm": 3}]
    assert spec_diff({"a": [1]}, {"a": [1, 2]}) == [{"path": "spec.a", "cluster": [1], "asm": [1, 2]}]
    many = spec_diff({f"k{i}": i for i in range(50)}, {})
    assert len(many) == 20


def test_no_istio_objects_needs_no_asm_control_plane(audit):
    a = audit({"cluster-a": [f.istiod()]}, "uninstall")
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2103")


def test_installer_generated_telemetry_filters_are_not_asked_for_on_asm(audit):
    """Helm's istio-discovery chart (telemetryv2_1.16.yaml at 1.16.0) labels its stats filters istio.io/rev only, so
    the installer-label rule missed them: two FAIL AA2110 asked to import filters that match Istio 1.16's proxies alone,
    while envoyfilter-compatibility (AA2820) says to leave them to Istio. A copy without the labels is the user's."""
    from tests.checks.test_envoyfilter import stats_filter

    helm = [stats_filter("1.16"), stats_filter("1.16", tcp=True)]
    (row,) = audit({"cluster-a": helm}, "uninstall", asm=[]).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2103")
    assert row["evidence"]["skipped"] == [
        "EnvoyFilter istio-system/stats-filter-1.16 (generated by Istio 1.16's installer)",
        "EnvoyFilter istio-system/tcp-stats-filter-1.16 (generated by Istio 1.16's installer)"]

    users_copy = stats_filter("1.16")
    users_copy["metadata"].pop("labels")
    (row,) = audit({"cluster-a": [users_copy]}, "uninstall", asm=[]).rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2110", "stats-filter-1.16")


def test_asm_copy_labelled_with_a_revision_is_not_proven_served(audit):
    """istiod serves a config object labelled istio.io/rev only when the label names its own revision (REVISION env,
    `{{ .Values.revision | default "default" }}`): istio/istio@1.22.0 and @1.30.3 pkg/config/model.go LabelsInRevision,
    pilot/pkg/config/kube/crdclient/client.go inRevision (every kind but the Gateway API Gateway);
    manifests/charts/istio-control/istio-discovery/templates/deployment.yaml REVISION. A cluster whose config was
    labelled for its revisioned istiod (istiod-1-20-1) imported with the label kept (the import command kept every
    label) is served by no ASM istiod but one of revision 1-20-1: PASS AA2101 before, UNKNOWN now."""
    rev = {"istio.io/rev": "1-20-1"}

    def labelled(salt: str) -> dict:
        return f.istio_object("DestinationRule", "cart", "shop", CART_DR, labels=dict(rev), uid_salt=salt)

    plain = [f.virtualservice("catalog", http=CATALOG_VS["http"], hosts=CATALOG_VS["hosts"], uid_salt=s)
             for s in ("", "asm")]
    a = audit({"cluster-a": [f.istiod("1-20-1", "1.20.1"), labelled(""), plain[0]]}, "uninstall",
              asm=[labelled("asm"), plain[1]])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("UNKNOWN", "AA2132", "DestinationRule", "cart")
    assert row["evidence"]["asm_revision_label"] == "1-20-1"
    assert row["remediation"].endswith("label destinationrules.networking.istio.io/cart istio.io/rev-")

    # The ASM copy without the label is served by every ASM revision: PASS.
    unlabelled = labelled("asm")
    unlabelled["metadata"].pop("labels")
    (row,) = audit({"cluster-a": [f.istiod("1-20-1", "1.20.1"), labelled(""), plain[0]]}, "uninstall",
                   asm=[unlabelled, plain[1]]).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2101")

    # Not imported yet: the command that imports it drops the label.
    (row,) = audit({"cluster-a": [labelled("")]}, "uninstall", asm=[]).rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2110")
    assert 'del(.metadata.labels["istio.io/rev"])' in row["remediation"]


def test_asm_copy_being_deleted_is_not_a_copy(audit):
    """An object whose metadata.deletionTimestamp is set is being deleted: the API server removes it once its
    finalizers are (here `foregroundDeletion`, what `kubectl delete --cascade=foreground` sets: kubernetes/apimachinery
    pkg/apis/meta/v1/types.go FinalizerDeleteDependents, DeletionTimestamp). The ASM copy about to go was counted as
    imported: PASS AA2101 before, FAIL AA2110 now, with when its deletion was asked."""
    asm = objects("asm")
    asm[0]["metadata"].update(deletionTimestamp="2026-12-01T10:00:00Z", finalizers=["foregroundDeletion"])
    rows = audit({"cluster-a": objects("cluster")}, "uninstall", asm=asm).rows(CHECK)
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [
        ("FAIL", "AA2110", "DestinationRule", "cart")]
    assert rows[0]["evidence"]["asm_copy_deleted_since"] == "2026-12-01T10:00:00Z"


def test_istio_1_30_traffic_extensions_are_compared(audit):
    """Istio 1.30 adds TrafficExtension (extensions.istio.io/v1alpha1: Lua or WebAssembly filters that istiod pushes to
    the proxies it selects: istio/istio@1.30.0 manifests/charts/base/files/crd-all.gen.yaml, pilot/pkg/model/
    push_context.go initTrafficExtensions; the object below is pkg/test/datasets/validation/dataset/
    extensions-v1alpha1-TrafficExtension.yaml @1.30.3). The kind was not read: a cluster whose only configuration is a
    Lua filter the ASM control plane does not have said PASS AA2103 ("nothing to import")."""
    lua = f.istio_object("TrafficExtension", "valid", "bookinfo", {
        "selector": {"matchLabels": {"app": "productpage"}}, "phase": "AUTHN",
        "lua": {"inlineCode": 'function envoy_on_request(request_handle)\n  request_handle:headers():add('
                              '"x-lua-injected", "true")\nend\n'}})
    (row,) = audit({"cluster-a": [f.istiod(version="1.30.3"), lua]}, "uninstall", asm=[]).rows(CHECK)
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("FAIL", "AA2110", "TrafficExtension", "valid")
    assert "get trafficextensions.extensions.istio.io/valid" in row["remediation"]
