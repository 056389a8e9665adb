"""Message templates in gateways, traffic, versions, network and purge (issue 13): every finding these checks make
goes through `report(OUTCOME, ..., params=...)`, and every outcome it names has an English template with named
fields only (gettext msgid = the template), so a renderer can say it in another language."""

from __future__ import annotations

import ast
import inspect
import string
from pathlib import Path
from types import ModuleType

import pytest

import auditor.gateways
import checks.gateways
import checks.network
import checks.purge
import checks.traffic
import checks.versions
from auditor.check import Check
from auditor.model import Outcome

MODULES: tuple[ModuleType, ...] = (checks.gateways, checks.traffic, checks.versions, checks.network, checks.purge)
# auditor/gateways.py builds the stray-gateway UNKNOWN for two of these checks.
SCANNED: tuple[ModuleType, ...] = (*MODULES, auditor.gateways)
FREE_TEXT_HELPERS = {"fail", "warn", "unknown", "passed", "not_applicable", "finding"}
# Findings not made here: ClusterCheck.no_istiod (auditor/check.py) reports istio-version's N/A, and
# gateways.per_cluster turns an unreadable cluster into an UNKNOWN with the reader's words (s13 replaces it
# by the engine's AA0001).
NOT_TEMPLATED = {"AA0240"}
FREE_TEXT_ALLOWED_IN = {"per_cluster"}


def _calls(module: ModuleType) -> list[tuple[str, ast.Call]]:
    """(enclosing function, call) for every call in the module's source."""
    tree = ast.parse(Path(inspect.getfile(module)).read_text())
    found: list[tuple[str, ast.Call]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.Call):
                found.append((function, child))
            visit(child, inner)

    visit(tree, "")
    return found


def _method(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


def _fields(template: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]


def _checks() -> list[type[Check]]:
    return [cls for module in MODULES for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, Check) and cls.__module__ == module.__name__ and getattr(cls, "outcomes", ())]


@pytest.mark.parametrize("module", SCANNED, ids=lambda m: m.__name__)
def test_every_report_passes_params(module: ModuleType) -> None:
    reports = [call for _, call in _calls(module) if _method(call) == "report"]
    assert reports, module.__name__
    missing = [call.lineno for call in reports if not any(k.arg == "params" for k in call.keywords)]
    assert missing == [], f"{module.__name__}: report() without params at lines {missing}"


@pytest.mark.parametrize("module", SCANNED, ids=lambda m: m.__name__)
def test_no_free_text_findings(module: ModuleType) -> None:
    free = [(function, call.lineno) for function, call in _calls(module)
            if _method(call) in FREE_TEXT_HELPERS and function not in FREE_TEXT_ALLOWED_IN
            and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
            and call.func.value.id in ("self", "check")]
    assert free == [], f"{module.__name__}: free-text findings at {free}"


def test_every_outcome_has_a_template_with_named_fields_only() -> None:
    assert len(_checks()) == 11
    outcomes: list[tuple[str, Outcome]] = [(cls.id, o) for cls in _checks() for o in cls.outcomes]
    # 100 with network-consistency's AA1935 (meshNetworks unreadable); 107 with the gateway scan's kinds unread
    # (AA0831, AA1632, AA1732, AA2031, AA1832, AA1550, AA1936); 108 with purge-preview's Sail operator (AA2522);
    # 109 with istio-gateway-traffic's pods unread (AA1551); 111 with network-consistency's sources disagreeing
    # (AA1937) and its sources unread (AA1938); 112 with asm-gateways-present's pods unread (AA1733); 113 with its
    # gateway role resting on unread VirtualServices (AA1734); 117 with istio-version's remote cluster judged against
    # its primary (AA0204, AA0211, AA0233, AA0234); 119 with istio-gateway-traffic's metrics hidden by Telemetry or the
    # mesh config (AA1552) and Telemetry unread (AA1553); 121 with ingress-lb-weights' weight 0 that CCM does not apply
    # (AA2013) or that nothing shows applied (AA2032); 123 with kubernetes-version's /version fields disagreeing
    # (AA0132) and asm-version's data planes showing ASM versions on both sides of 1.24 (AA0333); 126 with
    # asm-gateways-present's gateways naming no cluster (AA1735) and its not-deployed one a FAIL (AA1712, was AA1721),
    # ingress-lb-weights' ASM side not serving the CLB (AA2014) or not shown serving it (AA2033); 129 with
    # egress-routes-to-asm's Gateway API routes (AA1602, AA1611) and those routes unread (AA1633); 130 with
    # purge-preview's ServiceAccount shared with a workload on ASM's proxy (AA2534); 131 with its Istio CNI plug-in
    # removed where ASM's CNI plug-in skips namespaces of ASM's pods (AA2535); 132 with its labelled webhook calling an
    # istiod not proven Istio's (AA2536); 133 with its Istio CNI plug-in removed while ASM's pods were injected in CNI
    # mode and ASM's CNI state cannot be told (AA2537); 137 with eastwest-gateway-options' injected gateways in
    # istio-system (AA0802, AA0814, AA0815, AA0816); 138 with asm-version's typed version and ASM's own answer on both
    # sides of 1.24 (AA0334); 141 with asm-gateways-present's deployed gateway with no pod available (AA1713) and
    # egress-routes-to-asm's ASM host no Service answers to (AA1612) or that could not be looked up (AA1634); 142 with
    # asm-gateways-present's ASM gateway no Istio Gateway selects (AA1714)
    # 143 with asm-gateways-present's listeners untold when the Istio Gateways are unread (AA1736); 148 with its hosts
    # (AA1715), ports (AA1716, AA1737) and certificate Secrets (AA1717, AA1738) of the Gateways; 149 with
    # cross-cluster-gateway-first's cross-network gateway deployed with no pod available (AA1812); 150 with
    # asm-gateways-present's ASM gateway being deleted (AA1718); 152 with its Ingresses on Istio's gateway (AA1739) and
    # purge-preview's names of deleted Services (AA2513); 154 with istio-gateway-traffic's recorded window not of now
    # (AA1554) and its series missing inside the window (AA1555); 156 with asm-gateways-present's Gateway API gateway
    # whose Gateway's hosts no ASM gateway takes (AA1719) or cannot be told to (AA1750); 158 with
    # istio-gateway-traffic's replica whose series end inside the window (AA1556) and unlabelled series of pods not
    # the cluster's (AA1557); 160 with purge-preview's mirrors to deleted Services (AA2523) and what may name them
    # not read (AA2538); 161 with cross-cluster-gateway-first's pod counts not given (AA1833); 163 with an ASM gateway
    # being deleted in egress-routes-to-asm (AA1613) and cross-cluster-gateway-first (AA1813); 165 with
    # eastwest-gateway-options' gateways no Istio injector selects (AA0817) or not told to (AA0832); 167 with
    # asm-gateways-present's hosts that Gateways on ASM's pods list and no bound route takes (AA1724) or whose routes
    # are unread (AA1751); 169 with asm-gateways-present's policies on Istio's gateway pods with no counterpart on
    # ASM's (AA1725) or unread (AA1752); 171 with egress-routes-to-asm's second hop on ASM's egress gateway unrouted
    # (AA1614) or unread (AA1635); 173 with its port that ASM's egress Service does not expose (AA1615) or on which
    # ASM's egress gateway routes nothing (AA1616); 174 with kubernetes-version's placeholder version v0.0.0 of an
    # unstamped build (AA0133); 175 with istio-gateway-traffic's replica never scraped in the window (AA1558); 176
    # with its series without a pod label for several replicas (AA1559); 177 with purge-preview's istiod serving
    # remote clusters none audited (AA2539); 178 with istio-gateway-traffic's zero in a partial answer (Prometheus API
    # warnings, AA1560); 180 with purge-preview's declared remote clusters not audited (AA2541) and audited ones left
    # out of the declaration (AA2542); 184 with cross-cluster-gateway-first's gateway declared and not deployed
    # (AA1814, AA1821) or without a load balancer address (AA1815, AA1834); 185 with purge-preview's workload on ASM's
    # proxy whose pod template carries the purge's label (AA2514); 186 with ingress-lb-weights' vServer groups that no
    # ASM backend with weight above 0 joins (AA2015); 188 with purge-preview's labelled ServiceAccount that ASM's data
    # plane runs as (AA2515) and ServiceAccounts not read (AA2543); 190 with the Istio configuration istioctl before
    # 1.20 purges that ASM does not hold (AA2516) or that cannot be read (AA2517); 195 with asm-gateways-present's ASM
    # gateway that clients outside the cluster do not reach as Istio's (AA1726, AA1727, AA1728, AA1729) or whose
    # Services are unread (AA1753); 200 with network-consistency's flat Istio network that ASM splits (AA1913, AA1921,
    # AA1922, AA1939) and its east-west gateway without a network that serves VMs (AA1941); 201 with purge-preview's
    # pods on ASM's proxy whose account is not read beside a labelled ServiceAccount (AA2544); 203 with asm-gateway
    # reachability's fronts whose addresses do not tell who reaches them (AA1754) and its Ingresses and Gateway API
    # routes still on Istio's gateway Service (AA1741); 204 with cross-cluster-gateway-first's east-west gateway
    # without a network that serves VMs (AA1841); 205 with asm-gateways-present's fronts on Istio's gateway Service at a
    # port ASM's gateway Service lacks (AA1742).
    assert len(outcomes) == 205
    for check_id, outcome in outcomes:
        if outcome.code in NOT_TEMPLATED:
            continue
        assert outcome.message.strip(), (check_id, outcome.code)
        for template in (outcome.message, outcome.fix):
            for field in _fields(template):
                # a name, no position ("{}", "{0}"), no attribute or index ("{a.b}", "{a[0]}")
                assert field.isidentifier(), (check_id, outcome.code, field)


def test_the_templates_say_what_the_findings_said() -> None:
    """A template filled by report() reads as the English message (spot checks of three checks)."""
    pass_ = checks.network.NetworkConsistency().report(checks.network.NetworkConsistency.SAME, "c1",
                                                       params={"network": "network-1"})
    assert (pass_.message, pass_.code, pass_.params) == ("network network-1 in Istio and ASM", "AA1901",
                                                         {"network": "network-1"})
    switch = checks.network.NetworkConsistency().report(checks.network.NetworkConsistency.SWITCH_OFF, "c1",
                                                        params={"cluster": "c1"})
    assert switch.remediation == ("ASM console > the cluster's network settings: enable 'Access Through "
                                  "Cross-cluster Mesh Proxy' for c1")
    traffic = checks.traffic.IstioGatewayTraffic()
    f = traffic.report(traffic.NO_PROMETHEUS, "c1", params={"gateway_type": "east-west"})
    assert f.message == "Istio east-west gateway: no Prometheus configured, so no proof of zero traffic"
