"""findings.json, schema_version 1 (product.md); the input of `diff` and CI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from auditor import wire
from auditor.engine import AuditResult
from auditor.findings import records
from auditor.render import write_atomic

SCHEMA_VERSION = 1


def document(result: AuditResult) -> dict[str, Any]:
    exemptions = result.exemptions
    return {
        "schema_version": SCHEMA_VERSION,
        "tool_version": result.tool_version,
        "generated_at": result.generated_at,
        # Added in 1.x (schema_version stays 1): when a snapshot's evidence was collected (null: live, read at
        # generated_at, or not recorded by the snapshot) and its age at the audit.
        "collected_at": result.collected_at,
        "evidence_age_seconds": result.evidence_age_s,
        "gate": result.gate,
        "gates": result.gates,
        "gate_reason": result.gate_reason,
        "gate_verdicts": result.gate_verdicts,
        # Added in 1.x (schema_version stays 1): the audited gates the migration is already past (--phase all audits
        # them too): their GO says their checks hold now, not that a step may be taken.
        "gates_past": result.past_gates()[1],
        "verdict": result.verdict.value,
        "exit_code": result.exit_code,
        "inputs_sha256": result.inputs_sha256,
        "options": result.options,
        "clusters": result.clusters,
        "summary": result.summary,
        "notes": result.notes,
        "exemptions": {
            "expired": [e.model_dump(mode="json") for e in exemptions.expired],
            "unused": [e.model_dump(mode="json") for e in exemptions.unused],
            # Added in 1.x (schema_version stays 1): every exemption with state applied|expired|unused,
            # matched / unknown_exempted / would_match counts, days_left, and why an unused one matched nothing.
            "entries": exemptions.entries(),
        },
        "fleet": {"verdict": result.verdict.value, "clusters": result.fleet},
        "cluster_verdicts": result.cluster_verdicts,
        "baseline": result.baseline_delta,
        "findings": records(result.findings),
    }


def dumps(result: AuditResult) -> bytes:
    return wire.dumps(document(result), default=str,
                      option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


def render(result: AuditResult, out_dir: Path) -> Path:
    return write_atomic(out_dir / "findings.json", dumps(result))
