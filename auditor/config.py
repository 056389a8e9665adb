"""The optional YAML config file: check selection, severities, exemptions, ASM facts, gateways.

Validated strictly: an unknown key is a usage error naming it (exit 2), never silently ignored.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from auditor.errors import UsageError
from auditor.model import Severity

# Ids used in early drafts of the product contract, mapped to the catalogue's stable ids.
CHECK_ALIASES = {
    "graceful-shutdown-risk": "restart-risk",
    "xds-agent-proxy-metadata": "pods-xds-agent",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChecksConfig(_Strict):
    disable: list[str] = Field(default_factory=list)
    severity: dict[str, Severity] = Field(default_factory=dict)


class Exemption(_Strict):
    check: str
    cluster: str = "*"
    namespace: str = "*"
    name: str = "*"
    kind: str = "*"
    reason: str
    owner: str | None = None
    ticket: str | None = None
    expires: dt.date | None = None

    @field_validator("reason")
    @classmethod
    def _reason_required(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("every exemption needs a non-empty reason")
        return value

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def matches(self, check_id: str, cluster: str, namespace: str, name: str, kind: str) -> bool:
        return (fnmatch.fnmatchcase(check_id, CHECK_ALIASES.get(self.check, self.check))
                and fnmatch.fnmatchcase(cluster or "", self.cluster)
                and fnmatch.fnmatchcase(namespace or "", self.namespace)
                and fnmatch.fnmatchcase(name or "", self.name)
                and fnmatch.fnmatchcase(kind or "", self.kind))


class PrometheusConfig(_Strict):
    url: str | None = None
    window: str = "24h"
    timeout: float = 30.0
    bearer_token_file: str | None = None
    bearer_token: str | None = None
    username: str | None = None
    password_file: str | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    cluster_label: str = "cluster"


class AsmConfig(_Strict):
    version: str | None = None
    describe_service_mesh_detail: str | None = None
    networks: dict[str, str] = Field(default_factory=dict)
    multi_cluster_network: str | None = None
    cluster_ids: dict[str, str] = Field(default_factory=dict)


class GatewaysConfig(_Strict):
    istio_ingress: str = "istio-ingressgateway"
    istio_egress: str = "istio-egressgateway"
    istio_eastwest: str = "istio-eastwestgateway"
    asm_ingress: str | None = None
    asm_egress: str = "asm-egressgateway"
    namespace: str = "istio-system"


class ClassificationConfig(_Strict):
    asm_image_patterns: list[str] | None = None
    asm_env_names: list[str] | None = None
    asm_ca_addr_pattern: str | None = None


class ResidueConfig(_Strict):
    allow: list[str] = Field(default_factory=list)  # "Kind/name" globs that ASM or you own


class Config(_Strict):
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    exemptions: list[Exemption] = Field(default_factory=list)
    prometheus: PrometheusConfig = Field(default_factory=PrometheusConfig)
    asm: AsmConfig = Field(default_factory=AsmConfig)
    gateways: GatewaysConfig = Field(default_factory=GatewaysConfig)
    classification: ClassificationConfig = Field(default_factory=ClassificationConfig)
    residue: ResidueConfig = Field(default_factory=ResidueConfig)

    def disabled(self) -> set[str]:
        return {CHECK_ALIASES.get(c, c) for c in self.checks.disable}

    def severity_overrides(self) -> dict[str, Severity]:
        return {CHECK_ALIASES.get(k, k): v for k, v in self.checks.severity.items()}


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()))
    if error.get("type") == "extra_forbidden":
        return f"unknown key '{where}'"
    return f"'{where}': {error.get('msg')}"


def load_config(path: str | Path | None) -> Config:
    if path is None:
        return Config()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"config {path}: cannot read: {exc}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"config {path}:{line}: malformed YAML: {getattr(exc, 'problem', exc)}") from exc
    if raw is None:
        return Config()
    if not isinstance(raw, dict):
        raise UsageError(f"config {path}: expected a mapping at the top level")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise UsageError(f"config {path}: {_describe(exc.errors()[0])}") from exc
