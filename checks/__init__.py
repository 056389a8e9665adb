"""Built-in checks, one small class per catalogue id (product.md).

Registered through the `asm_audit.checks` entry point (`builtin = "checks:BUILTIN_CHECKS"`), exactly like
third-party checks; nothing registers as a side effect of import.
"""

from __future__ import annotations

from checks.cni import CniCompatibility
from checks.config_import import IstioConfigImported
from checks.envoyfilter import EnvoyFilterCompatibility
from checks.gateways import (
    AsmGatewaysPresent,
    CrossClusterGatewayFirst,
    EastwestGatewayOptions,
    EgressRoutesToAsm,
    IngressLbWeights,
)
from checks.gitops import GitopsDrift, GitopsReinstall
from checks.mesh_config import IstiodRestarted, MeshConfigXdsAgent
from checks.mesh_config_parity import MeshConfigParity
from checks.migration import MigrationResource
from checks.network import NetworkConsistency
from checks.purge import PurgePreview
from checks.residue import IstioControlPlaneRemoved, IstioResidue
from checks.restart_risk import RestartRisk
from checks.sidecars import IstioSidecarsRemaining
from checks.stuck_jobs import StuckSidecarJobs
from checks.topology import AmbientMode, IstioRevisions
from checks.traffic import IstioGatewayTraffic
from checks.versions import AsmVersion, IstioVersion, KubernetesVersion
from checks.workloads import AsmProxiesReady, ManualInjection
from checks.xds_agent import PodsXdsAgent

BUILTIN_CHECKS = (
    KubernetesVersion,
    IstioVersion,
    AsmVersion,
    IstioRevisions,
    AmbientMode,
    ManualInjection,
    MigrationResource,
    MeshConfigXdsAgent,
    IstiodRestarted,
    PodsXdsAgent,
    IstioSidecarsRemaining,
    IstioGatewayTraffic,
    AsmProxiesReady,
    RestartRisk,
    EastwestGatewayOptions,
    EgressRoutesToAsm,
    AsmGatewaysPresent,
    IngressLbWeights,
    CrossClusterGatewayFirst,
    NetworkConsistency,
    IstioConfigImported,
    IstioControlPlaneRemoved,
    IstioResidue,
    PurgePreview,
    CniCompatibility,
    StuckSidecarJobs,
    GitopsDrift,
    GitopsReinstall,
    EnvoyFilterCompatibility,
    MeshConfigParity,
)
