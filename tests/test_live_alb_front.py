"""asm-gateways-present reads AlbConfigs live (fix23i): an ALB Ingress in front of ASM's gateway is reached as its
AlbConfig says. Through the real kubernetes client and tests/fakeapi.py: AlbConfig is the ALB Ingress controller's
cluster-scoped custom resource (alibabacloud.com/v1 albconfigs; alibaba/alibaba-load-balancer-controller@v1.2.0
pkg/controller/ingress/register.go), served only where the controller installed its CRD. Shapes:
tests/checks/test_asm_gateway_reach_alb.py."""

from __future__ import annotations

from pathlib import Path

from auditor import api
from auditor.config import Config
from auditor.findings import records
from tests.checks.test_asm_gateway_reach import CHECK, ONLY, asm_gateway, asm_side, cr, istio_gateway
from tests.checks.test_asm_gateway_reach_alb import alb_class, alb_ingress, albconfig
from tests.fakeapi import FakeApiServer
from tests.test_readonly import NOW

ALBCONFIGS = "/apis/alibabacloud.com/v1/albconfigs"


def audit(tmp_path: Path, dp: FakeApiServer, asm: FakeApiServer, *extra: dict) -> list[tuple[str, str]]:
    """Istio's internet CLB gateway, ASM's ClusterIP gateway and `extra` on cluster-a (context of that name, the
    cluster id c-a its IstioGateway targets)."""
    dp.load([*istio_gateway(), *asm_gateway("ClusterIP"), *extra])
    asm.register_kind("istio.alibabacloud.com", "v1beta1", "IstioGateway", "istiogateways")  # not the guessed plural
    asm.load(asm_side(cr("ClusterIP")))
    kc = dp.write_kubeconfig(tmp_path / "dp.kubeconfig", context="cluster-a")
    asm_kc = asm.write_kubeconfig(tmp_path / "asm.kubeconfig", context="asm")
    target = api.Target(kubeconfig=str(kc), context="cluster-a", asm_kubeconfig=str(asm_kc))
    result = api.run_audit(target, "uninstall", Config.model_validate(ONLY), now=NOW)
    return sorted((r["status"], r["code"]) for r in records(result.findings) if r["check_id"] == CHECK)


def crd(server: FakeApiServer) -> None:
    server.register_kind("alibabacloud.com", "v1", "AlbConfig", "albconfigs", namespaced=False)


def test_an_intranet_albconfig_read_live_fails(tmp_path, fake_api, fake_asm):
    """Fix23c: UNKNOWN AA1754 (INCOMPLETE) whatever the AlbConfig said."""
    crd(fake_api)
    assert audit(tmp_path, fake_api, fake_asm, alb_class(), albconfig(address_type="Intranet"), alb_ingress()) == [
        ("FAIL", "AA1728")]
    assert any(r.path == ALBCONFIGS for r in fake_api.requests)


def test_an_internet_albconfig_read_live_passes(tmp_path, fake_api, fake_asm):
    crd(fake_api)
    assert audit(tmp_path, fake_api, fake_asm, alb_class(), albconfig(), alb_ingress()) == [("PASS", "AA1701")]


def test_albconfigs_forbidden_or_not_served_leave_the_front_untold(tmp_path, fake_api, fake_asm):
    """Forbidden: not read, UNKNOWN. No CRD (an IngressClass naming an AlbConfig no API serves): none found, UNKNOWN;
    neither is a PASS."""
    crd(fake_api)
    fake_api.add_fault(ALBCONFIGS.replace(".", r"\."), 403, times=None)
    assert audit(tmp_path, fake_api, fake_asm, alb_class(), albconfig(), alb_ingress()) == [("UNKNOWN", "AA1754")]


def test_without_the_crd_the_front_is_untold(tmp_path, fake_api, fake_asm):
    assert audit(tmp_path, fake_api, fake_asm, alb_class(), alb_ingress()) == [("UNKNOWN", "AA1754")]
    assert not any(r.path == ALBCONFIGS for r in fake_api.requests)
