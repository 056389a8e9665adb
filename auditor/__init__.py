"""asm-audit: read-only go/no-go auditor for Istio -> Alibaba Cloud Service Mesh migrations."""

__version__ = "0.1.0"
