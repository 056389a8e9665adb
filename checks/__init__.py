"""Built-in checks, one small class per catalogue id (product.md).

Registered through the `asm_audit.checks` entry point (`builtin = "checks:BUILTIN_CHECKS"`), exactly like
third-party checks; nothing registers as a side effect of import.
"""

from __future__ import annotations

from checks.config_import import IstioConfigImported
from checks.gateways import (
    AsmGatewaysPresent,
    CrossClusterGatewayFirst,
    EastwestGatewayOptions,
    EgressRoutesToAsm,
    IngressLbWeights,
)
from checks.migration import MigrationResource
from checks.network import NetworkConsistency
from checks.residue import IstioControlPlaneRemoved, IstioResidue
from checks.sidecars import IstioSidecarsRemaining
from checks.versions import AsmVersion, IstioVersion, KubernetesVersion
from checks.xds_agent import PodsXdsAgent

BUILTIN_CHECKS = (
    KubernetesVersion,
    IstioVersion,
    AsmVersion,
    MigrationResource,
    PodsXdsAgent,
    IstioSidecarsRemaining,
    EastwestGatewayOptions,
    EgressRoutesToAsm,
    AsmGatewaysPresent,
    IngressLbWeights,
    CrossClusterGatewayFirst,
    NetworkConsistency,
    IstioConfigImported,
    IstioControlPlaneRemoved,
    IstioResidue,
)
