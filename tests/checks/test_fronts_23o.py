"""asm-gateways-present at the uninstall gate (fix23o): fronts of the gateways, two defects.

1. The AlbConfig `default`. The ALB Ingress controller serves an Ingress without spec.ingressClassName whose
   kubernetes.io/ingress.class annotation is `alb` even when no IngressClass of that name exists (alibaba/
   alibaba-load-balancer-controller@v1.2.0: pkg/controller/ingress/reconcile/store/common.go IsValid, IngressKey,
   IngressClassName "alb"); it puts it on the ALB of the AlbConfig its alb.ingress.kubernetes.io/albconfig.name
   annotation names, else its IngressClass's spec.parameters.name, and when IngressClass finds no such object the
   AlbConfig named `default` (builder/albconfig_manager/group_loader.go LoadGroupID, IngressClass returning "" on a
   Get error, DefaultGroupName = "default"). Main read no AlbConfig for it: UNKNOWN AA1754, INCOMPLETE, whatever the
   `default` ALB was.
2. AA1741's patch and the backend's port: see the second half.
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests.checks.test_asm_gateway_reach import ONLY, asm_gateway, asm_side, cr, istio_gateway, rows
from tests.checks.test_asm_gateway_reach_alb import alb_class, albconfig
from tests.checks.test_asm_gateway_reach_fronts import ALB_DNS, front


def annotated_alb_ingress(**annotations: str) -> dict[str, Any]:
    """An ALB Ingress of the annotation's class (no spec.ingressClassName), as before IngressClasses existed."""
    ing = front("alb", [{"hostname": ALB_DNS}])
    del ing["spec"]["ingressClassName"]
    ing["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "alb", **annotations}
    return ing


def audit_alb(audit, *extra: dict[str, Any], unreadable=None):
    return audit({"cluster-a": [*istio_gateway(), *asm_gateway("ClusterIP"), *extra]}, "uninstall",
                 config=ONLY, asm=asm_side(cr("ClusterIP")), unreadable=unreadable)


def test_an_alb_ingress_without_an_ingressclass_is_on_the_default_albconfig(audit):
    """Main: UNKNOWN AA1754 (INCOMPLETE) for both; now the AlbConfig `default` tells."""
    a = audit_alb(audit, albconfig("default"), annotated_alb_ingress())
    assert rows(a) == [("PASS", "AA1701")]
    assert a.result.verdict == "GO"
    b = audit_alb(audit, albconfig("default", "Intranet"), annotated_alb_ingress())
    assert rows(b) == [("FAIL", "AA1728")]
    assert b.result.verdict == "NO-GO"


def test_the_default_albconfig_is_read_only_where_upstream_uses_it(audit):
    """The annotation's AlbConfig wins over `default`; an IngressClass `alb` naming another AlbConfig wins too."""
    named = annotated_alb_ingress(**{"alb.ingress.kubernetes.io/albconfig.name": "internal"})
    a = audit_alb(audit, albconfig("default"), albconfig("internal", "Intranet"), named)
    assert rows(a) == [("FAIL", "AA1728")]
    b = audit_alb(audit, alb_class(albconfig="internal"), albconfig("default"), albconfig("internal", "Intranet"),
                  annotated_alb_ingress())
    assert rows(b) == [("FAIL", "AA1728")]


def test_the_default_albconfig_not_readable_stays_unknown(audit):
    """`default` not found, AlbConfigs forbidden, or IngressClasses forbidden (one named `alb` may name another
    AlbConfig): UNKNOWN AA1754 as before."""
    cases = {
        "not found": ([albconfig("another")], None),
        "albconfigs unread": ([albconfig("default")], {"cluster-a": {K.ALBCONFIG: "albconfigs is forbidden"}}),
        "ingressclasses unread": ([albconfig("default")],
                                  {"cluster-a": {K.INGRESSCLASS: "ingressclasses is forbidden"}}),
    }
    for case, (objects, unreadable) in cases.items():
        a = audit_alb(audit, *objects, annotated_alb_ingress(), unreadable=unreadable)
        assert rows(a) == [("UNKNOWN", "AA1754")], case
        assert a.result.verdict == "INCOMPLETE", case
