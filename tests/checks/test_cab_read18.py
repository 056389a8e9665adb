"""A CAB reader's pass (session 18): what the operator runs for a Helm-installed Istio left at the finished gate.

Shapes: `helm install istio-base istio/base; helm install istiod istio/istiod` as Istio's charts and Helm write them
(tests/install_shapes.helm_revision: istio/istio manifests/charts/istio-control/istio-discovery/templates/
{deployment,service,configmap,mutatingwebhook}.yaml @1.30.3, operator.istio.io/component: Pilot beside Helm's
meta.helm.sh/release-name/-namespace annotations, helm/helm@v3.21.4:pkg/action/validate.go setMetadataVisitor; the base
chart's istiod-default-validator, base/templates/defaultrevision-validatingwebhookconfiguration.yaml @1.24.6).

- AA2210 / AA2212 (istio-control-plane-removed) on such an istiod: the runnable line was `kubectl delete`, which leaves
  Helm's record of the release (the next `helm upgrade` or GitOps sync installs istiod again); `helm uninstall` was in
  a comment that did not run when uncommented ("# installed by Helm release ...: instead, helm ..."), and was offered
  even when ASM's data plane runs on an object of that release (the mesh ConfigMap `istio` a gateway on ASM's proxy
  mounts: gateways.asm_data_plane_uses), which `helm uninstall` deletes. Now one way per install method: `helm
  uninstall` of a release nothing of ASM's uses (the base chart's after the others, as purge-preview AA2521 orders
  them), `kubectl delete` of the object alone otherwise.
- AA2328 (istio-residue) listed `helm uninstall istiod` even when ASM uses that release's ConfigMap, and after it
  runnable `kubectl delete` lines of the same objects.
- AA2317 said "runs ASM's proxy (its pods run ASM's proxy)": the template and its {why} said the same clause.
- Inner English in zh-CN sentences: AA0001's message was its English reason ("could not read Pod in cluster-a: ...",
  inventory's EvidenceUnavailable); AA0732's why (asm.joined_clusters, clusterid's profile states); AA2433's problem
  (mesh.parse_mesh, "not found (or it has no key mesh)..."); AA2510's gateway reason ("ASM marker/image; label istio /
  gateway name", gateways._gateway_of). Each is an i18n.Phrase now; the API's own error text stays as it was written.
- The demo, read in both languages: AA1213 / AA0610 (re-render a kube-injected template), AA2810 (edit an EnvoyFilter
  on ASM and in the cluster), AA2413 / AA2420 (ASM's UpdateMeshFeature) had their commands inside the advice: no
  command block to copy, and in zh-CN the whole advice stayed English. AA2413's effect and source, AA2420's source and
  AA2431's affected objects and reason were English inside the zh-CN sentence.

Tests assert codes, runnable lines and `bash -n`, never wording.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest

from auditor import kinds as K
from auditor.i18n import language
from auditor.render.localize import localized
from tests import factory as f
from tests import install_shapes as S
from tests.checks.test_helm_release_leftovers import _base_validator

FINISHED = [f.migration_cr("Finished")]
KUBECONFIG = '--kubeconfig="${KUBECONFIG_CLUSTER_A:?}"'


def parses(command: str) -> bool:
    return subprocess.run(["bash", "-n", "-c", command], capture_output=True).returncode == 0


def runnable(command: str) -> list[str]:
    """The lines bash runs (shell comments cut off)."""
    return [line.split("  # ")[0].strip() for line in command.splitlines() if line.strip()
            and not line.lstrip().startswith("#")]


def uncommented(command: str) -> list[str]:
    """Every line as it runs when its leading '# ' is taken off (what an operator who uncomments it runs)."""
    return [line.lstrip().removeprefix("#").split("  # ")[0].strip() for line in command.splitlines() if line.strip()]


def uninstalls(command: str, release: str) -> list[str]:
    """The lines that hold `helm ... uninstall <release>`, commented or not, inside a comment's prose too."""
    return [line for line in command.splitlines() if re.search(rf"\bhelm .* uninstall {re.escape(release)} ", line)]


def helm_istio(version: str = "1.30.3") -> list[dict[str, Any]]:
    return [*S.moved_to_asm(S.helm_revision(version, "")).objects, _base_validator("1.24.6")]


def asm_gateway_reading_the_mesh_configmap() -> list[dict[str, Any]]:
    """ASM's ingress gateway (IstioGateway controller marks) in istio-system mounting the mesh config `istio`, as a
    gateway applied from a copy of Istio's manifest does (manifests/charts/gateways/istio-ingress/templates/
    deployment.yaml @1.24.6, config-volume)."""
    gateway = f.gateway_deployment("istio-ingressgateway-asm", asm=True, gateway_type="ingress")
    gateway["spec"]["template"]["spec"]["volumes"] = [{"name": "config-volume", "configMap": {"name": "istio"}}]
    return [gateway]


def rows(a, check: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["code"], r["name"]): r for r in a.rows(check)}


def test_a_helm_installed_istiod_and_its_webhooks_go_with_helm_uninstall_alone(audit):
    """main: AA2210/AA2212 ran `kubectl delete deployment/istiod` (Helm's record stays) with `helm uninstall` in a
    comment that was not a command. Now the one runnable line is `helm uninstall` of the release; the base chart's
    (istio-base) after istiod's, which it names commented out above it."""
    a = audit({"cluster-a": helm_istio()}, "finished", asm=FINISHED)
    found = rows(a, "istio-control-plane-removed")
    istiod_release = f"helm {KUBECONFIG} uninstall istiod -n istio-system"
    base_release = f"helm {KUBECONFIG} uninstall istio-base -n istio-system"
    for key, expected in ((("AA2210", "istiod"), [istiod_release]),
                          (("AA2212", "istio-sidecar-injector"), [istiod_release]),
                          (("AA2212", "istiod-default-validator"), [base_release])):
        row = found[key]
        assert row["status"] == "FAIL"
        assert runnable(row["remediation"]) == expected, key
        assert parses(row["remediation"])
    validator = found[("AA2212", "istiod-default-validator")]["remediation"]
    assert uncommented(validator).index(istiod_release) < uncommented(validator).index(base_release)
    assert found[("AA2210", "istiod")]["evidence"]["helm_release"] == "istio-system/istiod"
    assert (a.result.verdict, a.result.exit_code) == ("NO-GO", 1)


def test_no_helm_uninstall_of_a_release_whose_configmap_asm_s_gateway_reads(audit):
    """ASM's gateway mounts ConfigMap istio-system/istio of release istiod: `helm uninstall istiod` deletes it. main
    offered it in AA2210's and AA2212's comment ("instead, helm uninstall istiod") and ran it in AA2328's command. Now
    istiod and its webhook go by `kubectl delete`, the release is named kept in the evidence, and nothing of the
    remediation (uncommented or not) uninstalls it."""
    a = audit({"cluster-a": [*helm_istio(), *asm_gateway_reading_the_mesh_configmap()]}, "finished", asm=FINISHED)
    found = rows(a, "istio-control-plane-removed")
    injector = "mutatingwebhookconfiguration/istio-sidecar-injector"
    for key, resource in ((("AA2210", "istiod"), "deployment/istiod"),
                          (("AA2212", "istio-sidecar-injector"), injector)):
        row = found[key]
        assert row["status"] == "FAIL"
        [line] = runnable(row["remediation"])
        assert line.startswith("kubectl ") and line.endswith(f"delete {resource}")
        assert not uninstalls(row["remediation"], "istiod")
        assert "istio-system/istiod" in row["evidence"]["helm_release"]
        assert row["evidence"]["helm_release_kept"].startswith("ConfigMap istio-system/istio")
        assert parses(row["remediation"])
    # The ConfigMap ASM reads is kept (AA2329: its purge label goes); the batch does not uninstall its release.
    residue = a.rows("istio-residue")
    assert ("WARN", "AA2329", "istio") in {(r["status"], r["code"], r["name"]) for r in residue}
    for row in residue:
        assert not uninstalls(row["remediation"] or "", "istiod"), row["code"]


def test_no_helm_uninstall_when_what_asm_uses_of_the_release_is_not_read(audit):
    """ConfigMaps unreadable: whether ASM's data plane reads the release's mesh ConfigMap cannot be told. main offered
    `helm uninstall istiod` in the comment all the same; now `kubectl delete` of istiod alone, the reason in the
    evidence."""
    a = audit({"cluster-a": helm_istio()}, "finished", asm=FINISHED,
              unreadable={"cluster-a": {K.CONFIGMAP: "configmaps is forbidden"}})
    row = rows(a, "istio-control-plane-removed")[("AA2210", "istiod")]
    assert row["status"] == "FAIL"
    assert not uninstalls(row["remediation"], "istiod")
    assert "ConfigMap" in row["evidence"]["helm_release_unread"]
    assert parses(row["remediation"])


def test_the_purge_batch_of_a_helm_release_is_its_helm_uninstall_alone(audit):
    """istiod's Deployment, Service and injector deleted by name; its ConfigMaps left (release istiod). main: `helm
    uninstall istiod`, then `# or: istioctl uninstall --purge`, then runnable `kubectl delete` of the same ConfigMaps
    (NotFound after the uninstall; before it, Helm's record stays). Now the uninstall alone."""
    shape = S.moved_to_asm(S.helm_revision("1.30.3", ""))
    gone = {("Deployment", "istiod"), ("Service", "istiod"), ("MutatingWebhookConfiguration", "istio-sidecar-injector")}
    objs = [o for o in shape.objects if (o["kind"], o["metadata"]["name"]) not in gone
            and not (o["kind"] in ("ReplicaSet", "Pod") and o["metadata"]["name"].startswith("istiod-"))]
    a = audit({"cluster-a": objs}, "finished", asm=FINISHED)
    [row] = [r for r in a.rows("istio-residue") if r["code"] == "AA2328"]
    assert row["status"] == "WARN"
    assert runnable(row["remediation"]) == [f"helm {KUBECONFIG} uninstall istiod -n istio-system"]
    assert parses(row["remediation"])


# ---------------------------------------------------------------- AA2317: a clause said twice
def repeated_clauses(text: str) -> list[tuple[str, ...]]:
    """Runs of three words said twice in one sentence ("runs ASM's proxy (its pods run ASM's proxy)"), compared
    without case, possessive or plural endings."""
    words = [re.sub(r"('s|s)$", "", w.lower()) for w in re.findall(r"[A-Za-z][A-Za-z'-]*", text)]
    grams = [tuple(words[i:i + 3]) for i in range(len(words) - 2)]
    return sorted({g for g in grams if grams.count(g) > 1})


def test_a_gateway_partly_on_asm_s_proxy_says_why_once(audit):
    """One pod of an east-west gateway (templates/injected-deployment.yaml @1.24.6, `image: auto`) restarted under
    ASM's injector, one still on Istio's. main: "Deployment istio-system/istio-eastwestgateway runs ASM's proxy (its
    pods run ASM's proxy), but ..." (the template's clause and its {why} said the same)."""
    from tests.checks.test_residue_in_use import finished, injected_gateway

    dep_rs = injected_gateway(purge_label=False)
    pods = f.workload_pods(dep_rs, 1, proxy="asm", gateway=True, xds_agent=None)
    pods += f.workload_pods(dep_rs, 1, first=1, proxy="istio", gateway=True, xds_agent=None)
    a = finished(audit, [*dep_rs, *pods])
    [row] = a.rows("istio-residue")
    assert (row["status"], row["code"]) == ("FAIL", "AA2317")
    assert repeated_clauses(row["message"]) == []


# ---------------------------------------------------------------- inner English in zh-CN sentences
def zh_message(result: Any, code: str) -> tuple[str, dict[str, Any] | None, str]:
    """(English message, params, zh-CN message) of the first finding of `code`."""
    frame = result.findings
    index = next(iter(frame.index[frame["code"] == code]))
    with language("zh-CN"):
        said = localized(result).findings
    return str(frame.loc[index, "message"]), frame.loc[index, "params"], str(said.loc[index, "message"])


def engine_unreadable(audit):
    """Pods forbidden at the uninstall gate: the checks that need them are AA0001, the reason their message."""
    from tests.checks.test_purge_in_use import istio_install

    return audit({"cluster-a": istio_install()}, "uninstall", asm=[f.migration_cr("Migrating")],
                 unreadable={"cluster-a": {K.POD: "pods is forbidden"}}).result


def coverage_unreadable(audit):
    """DescribeClustersInServiceMesh answered Forbidden.RAM (a saved error): which clusters joined cannot be told."""
    from tests.checks.test_migration_coverage import ID_A

    return audit({"cluster-a": [f.istiod()]}, "finished", asm=[f.migration_cr("Migrating")],
                 config={"asm": {"cluster_ids": {"cluster-a": ID_A}}},
                 asm_openapi={"_errors": {"DescribeClustersInServiceMesh": "Forbidden.RAM: no permission"}}).result


def coverage_by_count(audit):
    """Two joined ids, one audited cluster with no id given and its ConfigMaps forbidden (no ack-cluster-profile
    read): AA0732 names each unnamed cluster's profile state and why."""
    from tests.checks.test_migration_coverage import ID_A, ID_B, clusters_in_mesh

    return audit({"cluster-a": [f.istiod()]}, "migrating", asm=[f.migration_cr("SetupIstioForMigrate")],
                 asm_openapi=clusters_in_mesh(ID_A, ID_B),
                 unreadable={"cluster-a": {K.CONFIGMAP: "configmaps is forbidden"}}).result


def mesh_config_missing(audit):
    """istiod-stable runs without its mesh ConfigMap istio-stable (mesh-config-parity AA2433)."""
    from tests.checks.test_mesh_config_parity import ASM_EQUAL, MESH_1_22, asm, cluster

    return audit({"cluster-a": cluster(MESH_1_22, f.istiod("stable"))}, "migrating", config=asm(ASM_EQUAL)).result


def service_fronting_asm_gateway(audit):
    """istioctl's istio-ingressgateway Service re-pointed at ASM's gateway: AA2510 says why, with the gateway's
    reason (what made it ASM's gateway and its role)."""
    from tests.checks.test_purge_in_use import asm_gateway, istio_install

    cluster = istio_install()
    cluster[2]["spec"]["selector"] = {"app": "istio-ingressgateway-asm", "istio": "ingressgateway-asm"}
    return audit({"cluster-a": [*cluster, asm_gateway()]}, "uninstall", asm=[f.migration_cr("Migrating")]).result


def no_asm_control_plane(audit):
    """No ASM control plane given at the uninstall gate: the checks that need ASM's side are AA0001 with why."""
    from tests.checks.test_purge_in_use import istio_install

    return audit({"cluster-a": istio_install()}, "uninstall").result


@pytest.mark.parametrize(("scenario", "code", "clause"), [
    (engine_unreadable, "AA0001", "reason"),
    (no_asm_control_plane, "AA0001", "reason"),
    (coverage_unreadable, "AA0732", "why"),
    (coverage_by_count, "AA0732", "ConfigMaps of cluster-a not read"),  # inside the why, as main said it
    (mesh_config_missing, "AA2433", "problem"),
    (service_fronting_asm_gateway, "AA2510", "ASM marker/image"),  # the gateway's reason inside the owner
])
def test_the_reason_inside_a_zh_cn_message_is_said_in_zh_cn(audit, scenario, code, clause):
    """main kept these clauses English inside the zh-CN sentence (AA0001's whole message was its English reason). The
    English clause (a param, or a clause nested in one) is no longer in the zh-CN message; the English message keeps
    it."""
    message, params, zh = zh_message(scenario(audit), code)
    if " " not in clause:  # a param's name
        clause = str(params[clause]) if params else message  # main: AA0001 carried its reason as the message alone
    assert clause and clause in message
    assert clause not in zh, zh


# ---------------------------------------------------------------- the demo, read as a CAB reader reads it
@pytest.fixture(scope="module")
def demo() -> Any:
    from auditor.api import demo_snapshot_path, run_audit
    from auditor.sources.snapshot import open_snapshot

    return run_audit(sources=open_snapshot(demo_snapshot_path()), phase="auto")


def rows_of(result: Any, code: str) -> list[dict[str, Any]]:
    frame = result.findings
    return [{"remediation": str(r), "params": p} for r, p in zip(frame.loc[frame["code"] == code, "remediation"],
                                                                 frame.loc[frame["code"] == code, "params"],
                                                                 strict=True)]


@pytest.mark.parametrize("code", ["AA1213", "AA0610", "AA2810", "AA2413", "AA2420"])
def test_a_remediation_s_commands_are_lines_of_their_own_after_its_advice(demo, code):
    """main wrote these commands inside the advice ("...; check with: kubectl ... | grep -n istio-proxy", "Fix it where
    ASM's proxies read it: kubectl ... edit ...; and in the cluster...: kubectl ...", "Make them equal before moving:
    aliyun servicemesh UpdateMeshFeature ..."): the PDF and HTML showed them as prose, nothing to copy, and in zh-CN
    the whole advice stayed English (the names in it made it no catalog sentence). Now the advice, then the commands
    as a command block; in zh-CN the advice is said in the language and the commands are the same bytes."""
    from auditor.render.context import split_remediation

    [row, *_] = rows_of(demo, code)
    advice, commands = split_remediation(row["remediation"])
    assert advice and commands, row["remediation"]
    assert not re.search(r"\b(kubectl|aliyun) ", advice)
    assert parses(commands)
    frame = demo.findings
    with language("zh-CN"):
        said = localized(demo).findings
    index = next(iter(frame.index[frame["code"] == code]))
    zh_advice, zh_commands = split_remediation(str(said.loc[index, "remediation"]))
    assert zh_advice != advice
    # The commands byte for byte, but a trailing shell comment (advice to the reader) said in the language.
    assert [c.split("  # ")[0] for c in zh_commands.splitlines()] == [c.split("  # ")[0] for c in commands.splitlines()]


@pytest.mark.parametrize(("code", "param"), [("AA2413", "effect"), ("AA2413", "asm_source"), ("AA2431", "affected"),
                                             ("AA2431", "reason"), ("AA2420", "asm_source")])
def test_mesh_config_parity_s_clauses_are_said_in_zh_cn(demo, code, param):
    """main kept AA2413's source "ASM OpenAPI DescribeServiceMeshDetail answer (snapshot) (OutboundTrafficPolicy)" and
    effect "egress to hosts outside the registry, blocked on Istio, is open on ASM" English in the zh-CN sentence;
    AA2431's "affected: 2 AuthorizationPolicy(ies) with principals ..." and "not in ASM OpenAPI ..." likewise."""
    message, params, zh = zh_message(demo, code)
    clause = str(params[param])
    assert clause in message
    assert clause not in zh, zh


def test_the_restart_risk_section_and_messages_are_said_in_zh_cn(demo):
    """main: section 5 of the zh-CN PDF was English but for its headings: each workload's reasons ("+1 no
    PodDisruptionBudget: node drains during the move are not limited"), the waves ("3 low risk (score 0-1)") and the
    scoring legend, all read from the check's evidence; AA1420/AA1421's {reasons} likewise. The evidence (findings.json)
    keeps the English."""
    from auditor.render.context import PDF_LIMITS, build

    english = build(demo, PDF_LIMITS)["risk"]
    with language("zh-CN"):
        zh = build(localized(demo), PDF_LIMITS)["risk"]
    assert [r["name"] for r in zh["rows"]] == [r["name"] for r in english["rows"]] and zh["rows"]
    for en_row, zh_row in zip(english["rows"], zh["rows"], strict=True):
        for reason in en_row["reasons"].split("; "):
            assert reason.startswith("+") and reason not in zh_row["reasons"], zh_row["reasons"]
    for en_plan, zh_plan in zip(english["plans"], zh["plans"], strict=True):
        assert en_plan["scoring"] != zh_plan["scoring"]
        assert [w["risk"] for w in en_plan["waves"]] != [w["risk"] for w in zh_plan["waves"]]
    for code in ("AA1420", "AA1421"):
        message, params, zh_text = zh_message(demo, code)
        assert str(params["reasons"]) in message and str(params["reasons"]) not in zh_text


def test_gateway_traffic_s_amounts_and_role_are_said_in_zh_cn(demo):
    """main kept AA1510's role ("east-west") and amounts ("259,200 TCP connections, 69.2 GiB TCP bytes") English in the
    zh-CN sentence."""
    message, params, zh = zh_message(demo, "AA1510")
    for param in ("amounts", "gateway_type"):
        assert str(params[param]) in message and str(params[param]) not in zh, zh


@pytest.mark.parametrize("code", ["AA2010", "AA2112"])
def test_a_remediation_s_comment_is_said_in_zh_cn_and_its_command_kept(demo, code):
    """main kept AA2010's "# the Service is reconciled by the Istio operator ..." and AA2112's "# decide which spec is
    right ..." English in zh-CN: advice to the reader, which bash ignores."""
    frame = demo.findings
    index = next(iter(frame.index[frame["code"] == code]))
    with language("zh-CN"):
        said = str(localized(demo).findings.loc[index, "remediation"])
    english = str(frame.loc[index, "remediation"])
    comments = [line for line in english.splitlines() if line.lstrip().startswith("#")]
    assert comments and not [c for c in comments if c in said.splitlines()]
    assert [line for line in english.splitlines() if not line.lstrip().startswith("#")] == [
        line for line in said.splitlines() if not line.lstrip().startswith("#")]
    assert parses(said)


def test_the_runbook_s_kubeconfig_comments_are_said_in_zh_cn(demo):
    """main: "export KUBECONFIG_CLUSTER_A=/path/to/kubeconfig  # cluster cluster-a" and "# the ASM control plane" in
    the zh-CN next steps."""
    from auditor.render.context import PDF_LIMITS, build

    [english] = [s["commands"] for s in build(demo, PDF_LIMITS)["runbook"][:1]]
    with language("zh-CN"):
        [said] = [s["commands"] for s in build(localized(demo), PDF_LIMITS)["runbook"][:1]]
    assert [c.split("  # ")[0] for c in said] == [c.split("  # ")[0] for c in english]
    assert not set(c.split("  # ")[1] for c in said) & set(c.split("  # ")[1] for c in english)
    assert all(parses(c) for c in said)


def test_the_next_steps_show_an_advice_s_commands_under_it(demo):
    """main listed AA1213's advice ("...; check with:") among the bullets and its command among every other blocker's
    commands further down: the sentence ending in a colon led to nothing. Each advice now carries its commands."""
    from auditor.render.context import PDF_LIMITS, build

    [fix] = [s for s in build(demo, PDF_LIMITS)["runbook"] if s.get("advice")]
    led = [a for a in fix["advice"] if a["text"].rstrip().endswith(":")]
    assert led and all(a["commands"] and parses(a["commands"]) for a in led)
    assert not any(re.search(r"\b(kubectl|aliyun) ", a["text"]) for a in fix["advice"])
