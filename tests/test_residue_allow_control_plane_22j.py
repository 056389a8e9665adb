"""residue.allow may not keep Istio's control plane out of the residue checks (fix22j).

red22c refused a pattern matching every object (`*`, `*/*`), but `*istio*` and `*/istio*` passed that test and still
matched istiod, Istio's injector and validator webhooks and the mesh ConfigMap `istio`: the finished gate said GO with
Istio's control plane there, only a note saying so. The residue checks match a pattern against "Kind/name" and, for a
namespaced object, "Kind/namespace/name" (checks/residue.py allow_reason, fnmatch: `*` and `?` cross '/'). Now a
pattern matching one of these objects is refused (exit 2, one line); narrower globs stay allowed, with their note.

Names as Istio writes them (istio/istio@1.24.6 manifests/charts/istio-control/istio-discovery/templates:
deployment.yaml istiod[-<rev>], mutatingwebhook.yaml istio-sidecar-injector[-<rev>], validatingwebhookconfiguration
.yaml istio-validator[-<rev>]-<namespace>, configmap.yaml istio[-<rev>]; manifests/charts/base/templates
defaultrevision-validatingwebhookconfiguration.yaml istiod-default-validator; istioctl tag set:
istio-revision-tag-<tag>).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.cli.main import main
from auditor.config import Config

REFUSED = {
    # the brief's two: each matches istiod's Deployment (and the rest)
    "*istio*": "Deployment/istio-system/istiod",
    "*/istio*": "Deployment/istio-system/istiod",
    # istiod's Deployment, by each form allow_reason matches, and a revision's
    "Deployment/istio-system/istiod": "Deployment/istio-system/istiod",
    "Deployment/istiod": "Deployment/istiod",
    "*/istio-system/istiod": "Deployment/istio-system/istiod",
    "Deployment/*": "Deployment/istiod",
    "Deployment/istiod-1-24-6": "Deployment/istiod-1-24-6",
    "Deployment/istio-system/istiod-*": "Deployment/istio-system/istiod-canary",
    # the injector webhooks
    "MutatingWebhookConfiguration/istio-sidecar-injector": "MutatingWebhookConfiguration/istio-sidecar-injector",
    "MutatingWebhookConfiguration/istio-sidecar-injector*":
        "MutatingWebhookConfiguration/istio-sidecar-injector-1-24-6",
    "MutatingWebhookConfiguration/istio-revision-tag-*": "MutatingWebhookConfiguration/istio-revision-tag-default",
    # the validators
    "ValidatingWebhookConfiguration/istio-validator-*": "ValidatingWebhookConfiguration/istio-validator-istio-system",
    "ValidatingWebhookConfiguration/istiod-default-*": "ValidatingWebhookConfiguration/istiod-default-validator",
    "*Webhook*/istio*": "MutatingWebhookConfiguration/istio-sidecar-injector",
    # the mesh ConfigMap istio / istio-<rev>
    "ConfigMap/istio": "ConfigMap/istio",
    "ConfigMap/istio-system/istio": "ConfigMap/istio-system/istio",
    "ConfigMap/istio-system/istio-1-24-6": "ConfigMap/istio-system/istio-1-24-6",
    "ConfigMap/istio-*": "ConfigMap/istio-canary",
    "ConfigMap/istio-system/*": "ConfigMap/istio-system/istio",
}


@pytest.mark.parametrize(("pattern", "matched"), sorted(REFUSED.items()))
def test_a_pattern_matching_istios_control_plane_is_refused(pattern, matched):
    from checks.residue import allow_reason

    kind, _, rest = matched.partition("/")
    namespace, _, name = rest.rpartition("/")
    meta = {"name": name, "namespace": namespace} if namespace else {"name": name}
    assert allow_reason(kind, meta, [pattern])  # the checks would keep that object: what the refusal is about
    with pytest.raises(ValueError, match=r"residue\.allow"):
        Config.model_validate({"residue": {"allow": [pattern]}})


@pytest.mark.parametrize("pattern", [
    "ClusterRole/istio-reader-*", "ClusterRoleBinding/istio-reader-*", "Deployment/istio-operator/istio-operator",
    "Deployment/istio-system/istio-ingressgateway", "Service/istio-system/istiod", "ConfigMap/istio-ca-root-cert",
    "ConfigMap/istio-system/istio-sidecar-injector*", "ConfigMap/shop/istio", "CustomResourceDefinition/*.istio.io",
    "Gateway.gateway.networking.k8s.io/edge/internal", "MutatingWebhookConfiguration/asm-*"])
def test_narrower_patterns_stay_allowed(pattern):
    Config.model_validate({"residue": {"allow": [pattern]}})


def test_the_brief_pattern_in_a_config_file_is_a_usage_error(tmp_path: Path, capsys):
    """Was: accepted, the finished gate GO with istiod still installed (a note naming the pattern)."""
    config = tmp_path / "asm.yaml"
    config.write_text("residue:\n  allow: ['*istio*']\n")
    code = main(["run", "--snapshot", str(tmp_path), "--config", str(config), "-q"])
    assert code == 2
    err = capsys.readouterr().err
    assert "residue.allow" in err
