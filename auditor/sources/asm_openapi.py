"""ASM's facts from ASM itself: the Service Mesh OpenAPI through Alibaba Cloud's official SDK.

Only the read actions in ALLOWED_ACTIONS are ever called (never DescribeServiceMeshKubeconfig, a credential,
nor gateway secret details). Each answer is stored exactly as a saved answer is (`asm_openapi[action] = the
JSON body`), so checks read live, snapshot and config answers the same way. An action that fails is recorded
under `asm_openapi["_errors"][action]` as one line naming the action and the error code; the checks that
needed it say UNKNOWN with that line. Credentials come from the SDK's default chain and never leave it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from auditor.errors import UsageError

# action -> (SDK request model, SDK client method); what each serves is in README "Giving the tool ASM access".
ACTIONS: dict[str, tuple[str, str]] = {
    # version (asm-version); MeshConfig (OutboundTrafficPolicy, SidecarInjector.InitCNIConfiguration, LocalityLB)
    "DescribeServiceMeshDetail": ("DescribeServiceMeshDetailRequest", "describe_service_mesh_detail_with_options"),
    # per-cluster Network, EnableGateway, GatewayName (network-consistency, cluster table)
    "DescribeMeshMultiClusterNetwork": ("DescribeMeshMultiClusterNetworkRequest",
                                        "describe_mesh_multi_cluster_network_with_options"),
    # the clusters joined to the mesh (cluster table: joined or not, instead of a guess)
    "DescribeClustersInServiceMesh": ("DescribeClustersInServiceMeshRequest",
                                      "describe_clusters_in_service_mesh_with_options"),
}
ALLOWED_ACTIONS: tuple[str, ...] = tuple(ACTIONS)
# Never called, whatever a caller asks: a kubeconfig is a credential, gateway secrets hold private keys.
FORBIDDEN_ACTIONS = frozenset({"DescribeServiceMeshKubeconfig", "DescribeGatewaySecretDetails"})
ERRORS_KEY = "_errors"
READ_FROM_KEY = "_read_from"

THROTTLING_ATTEMPTS = 4
_MESH_ID = re.compile(r"^[a-z0-9]{8,64}$")
_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")


@dataclass(frozen=True)
class AsmOpenApiTarget:
    mesh_id: str
    region: str
    endpoint: str | None = None  # https://host, http://127.0.0.1:port, or a bare host (HTTPS)
    timeout_s: float = 30.0
    backoff_s: float = 0.5       # first wait after Throttling; doubles each retry

    def __post_init__(self) -> None:
        if not _MESH_ID.match(self.mesh_id):
            raise UsageError(f"--asm-mesh-id {self.mesh_id!r}: not an ASM instance id (lowercase letters and digits)")
        if not _REGION.match(self.region):
            raise UsageError(f"--asm-region {self.region!r}: not a region id such as cn-hangzhou")
        if self.endpoint is not None:
            endpoint_parts(self.endpoint)


def endpoint_parts(endpoint: str) -> tuple[str, str]:
    """(protocol, host[:port]) of --asm-endpoint; a bare host means HTTPS."""
    if "://" not in endpoint:
        endpoint = f"https://{endpoint}"
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or (
            parts.query or parts.username or parts.password):
        raise UsageError(f"--asm-endpoint {endpoint!r}: expected https://HOST[:PORT] (or http:// for a local test "
                         "endpoint), no path, no credentials")
    return parts.scheme, parts.netloc


def settings_from(config: Any, timeout_s: float) -> AsmOpenApiTarget | None:
    """The live OpenAPI target from config asm.mesh_id / region / endpoint (the CLI flags write there)."""
    asm = config.asm
    if not asm.mesh_id:
        if asm.region or asm.endpoint:
            raise UsageError("--asm-region/--asm-endpoint need --asm-mesh-id (config asm.mesh_id)")
        return None
    if not asm.region:
        raise UsageError("--asm-mesh-id needs --asm-region (config asm.region), the region of the ASM instance")
    return AsmOpenApiTarget(asm.mesh_id, asm.region, asm.endpoint, timeout_s)


class OpenApiFailure(Exception):
    def __init__(self, action: str, code: str, detail: str) -> None:
        super().__init__(f"ASM OpenAPI {action}: {code} ({detail})" if detail else f"ASM OpenAPI {action}: {code}")
        self.action, self.code = action, code


def _client(target: AsmOpenApiTarget) -> Any:
    from alibabacloud_credentials.client import Client as CredentialClient
    from alibabacloud_servicemesh20200111.client import Client
    from alibabacloud_tea_openapi import models as open_api_models

    # The credential providers print tracebacks through their own stderr handler while they try the chain;
    # a missing credential is reported once, as one line, by _failure.
    logging.getLogger("credentials").disabled = True
    timeout_ms = max(1, int(target.timeout_s * 1000))
    config = open_api_models.Config(credential=CredentialClient(), region_id=target.region,
                                    read_timeout=timeout_ms, connect_timeout=timeout_ms)
    if target.endpoint:
        config.protocol, config.endpoint = endpoint_parts(target.endpoint)
    return Client(config)


def _clean(text: str, limit: int = 160) -> str:
    """An SDK message fit for one line: no URL query (signatures, key ids), no newlines, bounded."""
    text = re.sub(r"\?\S*", "", str(text)).replace("\n", " ").strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _failure(action: str, exc: BaseException) -> OpenApiFailure:
    """One line for whatever the SDK raised (it reports HTTP errors, credentials and timeouts differently)."""
    code = getattr(exc, "code", None)
    if code and str(code) not in ("None", ""):
        message = getattr(exc, "message", "") or ""
        message = re.sub(r"^code: \d+, ", "", str(message))
        message = re.sub(r" request id: \S+$", "", message)
        return OpenApiFailure(action, str(code), _clean(message))
    inner = getattr(exc, "inner_exception", None) or exc
    name = type(inner).__name__
    if "timeout" in name.lower() or "timed out" in str(inner).lower():
        return OpenApiFailure(action, "Timeout", "no answer within the timeout")
    if "credential" in name.lower() or "credential" in str(inner).lower():
        return OpenApiFailure(action, "NoCredentials", "no Alibaba Cloud credentials found by the default chain "
                              "(env ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET, profile, ECS RAM role, OIDC)")
    return OpenApiFailure(action, name, _clean(str(inner)))


def _is_throttling(exc: BaseException) -> bool:
    return str(getattr(exc, "code", "") or "").startswith("Throttling")


class AsmOpenApi:
    """The one way the tool calls ASM's OpenAPI: allow-listed read actions, throttling retried with backoff."""

    def __init__(self, target: AsmOpenApiTarget, *, client: Any = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.target = target
        self._client = client
        self._sleep = sleep

    def describe(self, action: str) -> dict[str, Any]:
        """The answer body of one allowed action, as the SDK's model maps it. Raises OpenApiFailure."""
        if action in FORBIDDEN_ACTIONS or action not in ACTIONS:
            raise PermissionError(f"ASM OpenAPI action {action} is not allowed (read-only allow-list: "
                                  f"{', '.join(ALLOWED_ACTIONS)})")
        from alibabacloud_servicemesh20200111 import models
        from alibabacloud_tea_util import models as util_models

        request_model, method = ACTIONS[action]
        wait = self.target.backoff_s
        for attempt in range(1, THROTTLING_ATTEMPTS + 1):
            try:
                if self._client is None:
                    self._client = _client(self.target)
                request = getattr(models, request_model)(service_mesh_id=self.target.mesh_id)
                sent: dict[str, Any] = {}
                response = _recording(self._client, sent, getattr(self._client, method), request,
                                      util_models.RuntimeOptions())
                body = response.body.to_map() if response.body is not None else {}
                if "body" in sent:
                    error = _recorded_error(action, sent["body"]) if isinstance(sent["body"], dict) else None
                    if error:
                        # An error body the SDK let through (its status not 4xx/5xx): its models would keep only the
                        # RequestId, an answer that says nothing, and the checks would fall back to weaker sources.
                        code = str(sent["body"]["Code"]).strip()
                        raise OpenApiFailure(action, code, _clean(str(sent["body"].get("Message") or "")))
                    body = _as_sent(body, sent["body"])
                if not isinstance(body, dict):
                    raise OpenApiFailure(action, "MalformedAnswer", "the answer is not a JSON object")
                # The SDK's models declare the fields' types but from_map/to_map copy whatever the server sent: the
                # checks read a live answer by the rules a saved one must meet (auditor/sources/shapes.py). One that
                # breaks them is not kept (a snapshot of it would be refused): the checks needing it are UNKNOWN.
                from auditor.sources.shapes import openapi_answer_problem

                problem = openapi_answer_problem(action, body)
                if problem:
                    raise OpenApiFailure(action, "MalformedAnswer", problem)
                return body
            except OpenApiFailure:
                raise
            except Exception as exc:
                if _is_throttling(exc) and attempt < THROTTLING_ATTEMPTS:
                    retry_after = getattr(exc, "retry_after", None)
                    self._sleep(min(10.0, max(wait, (retry_after or 0) / 1000)))
                    wait *= 2
                    continue
                failure = _failure(action, exc)
                if _is_throttling(exc):
                    failure = OpenApiFailure(action, failure.code, f"still throttled after {attempt} attempts")
                raise failure from None
        raise AssertionError("unreachable")


def _recording(client: Any, sent: dict[str, Any], call: Callable[..., Any], *args: Any) -> Any:
    """`call(*args)` (one SDK describe_*_with_options), keeping in `sent["body"]` the JSON body the server sent, as the
    SDK's call_api returned it before its models mapped it."""
    through = getattr(client, "call_api", None)
    if through is None:
        return call(*args)

    def call_api(params: Any, request: Any, runtime: Any) -> Any:
        result = through(params, request, runtime)
        if isinstance(result, dict):
            sent["body"] = result.get("body")
        return result

    client.call_api = call_api
    try:
        return call(*args)
    finally:
        del client.call_api


def _as_sent(mapped: Any, sent: Any) -> Any:
    """The SDK's mapping of an answer without the empty lists and maps its models write where the server sent none.

    The models' to_map always writes some containers (alibabacloud-servicemesh20200111 3.4.0 models.py:
    DescribeClustersInServiceMeshResponseBody.to_map `result['Clusters'] = []`,
    DescribeMeshMultiClusterNetworkResponseBody.to_map `result['MultiClusterNetworks'] = {}`): an answer that carries no
    list of the mesh's clusters (a RequestId alone) read as ASM saying no cluster is joined, and the audited clusters
    without a known id passed migration-resource's coverage of the instance (PASS AA0701 where ASM's detail lists two
    joined clusters). What the server sent decides; the models still filter it to the fields they declare."""
    if isinstance(mapped, dict) and isinstance(sent, dict):
        return {key: _as_sent(value, sent.get(key)) for key, value in mapped.items()
                if key in sent or not (isinstance(value, (list, dict)) and not value)}
    if isinstance(mapped, list) and isinstance(sent, list) and len(mapped) == len(sent):
        return [_as_sent(m, s) for m, s in zip(mapped, sent, strict=True)]
    return mapped


def read_asm_openapi(target: AsmOpenApiTarget, progress: Callable[[str], None] | None = None,
                     api: AsmOpenApi | None = None) -> dict[str, Any]:
    """Every allowed action's answer, keyed by action, plus `_errors` (action -> line) and `_read_from`."""
    api = api or AsmOpenApi(target)
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for action in ALLOWED_ACTIONS:
        if progress:
            progress(f"ASM OpenAPI {action} ({target.mesh_id}, {target.region})")
        try:
            answers[action] = api.describe(action)
        except OpenApiFailure as exc:
            errors[action] = str(exc)
    mismatch = _wrong_mesh(target, answers.get("DescribeServiceMeshDetail"))
    if mismatch:
        # The instance answering is not the one asked for: none of its answers may stand for it.
        errors = {action: mismatch for action in ALLOWED_ACTIONS}
        answers = {}
    answers[READ_FROM_KEY] = {"mesh_id": target.mesh_id, "region": target.region,
                              "read_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if errors:
        answers[ERRORS_KEY] = errors
    return answers


def _wrong_mesh(target: AsmOpenApiTarget, detail: dict[str, Any] | None) -> str | None:
    says_mesh, says_region = _mesh_of(detail) if isinstance(detail, dict) else (None, None)
    if says_mesh and says_mesh != target.mesh_id:
        return (f"ASM OpenAPI DescribeServiceMeshDetail: MeshIdMismatch (asked for {target.mesh_id}, the answer is "
                f"for {says_mesh})")
    if says_region and says_region != target.region:
        return (f"ASM OpenAPI DescribeServiceMeshDetail: RegionMismatch (mesh {target.mesh_id} is in "
                f"{says_region}, --asm-region is {target.region}): fix --asm-region")
    return None


# The keys of Alibaba Cloud's error answer (the body ASM's OpenAPI sends with an HTTP 4xx/5xx: RequestId, HostId, Code,
# Message, Recommend; the fake endpoint of tests/fake_asm_openapi.py answers the same). The SDK raises on the status;
# a recording that kept the body anyway (a proxy log, a copy from OpenAPI Explorer, `curl > detail.json`) holds one.
_ERROR_KEYS = frozenset({"RequestId", "HostId", "Code", "Message", "Recommend", "AccessDeniedDetail"})


def _recorded_error(action: str, answer: dict[str, Any]) -> str | None:
    """The one line of a failed read when `answer` is an error body (a Code, a Message, nothing else), else None."""
    code = answer.get("Code")
    if not (isinstance(code, str) and code.strip()) or not set(answer) <= _ERROR_KEYS:
        return None
    return str(OpenApiFailure(action, code.strip(), _clean(str(answer.get("Message") or ""))))


def _mesh_of(answer: dict[str, Any]) -> tuple[str | None, str | None]:
    """(ServiceMeshId, RegionId) a DescribeServiceMeshDetail answer says it is for (None where it does not say)."""
    mesh_detail = answer.get("ServiceMesh")
    info = mesh_detail.get("ServiceMeshInfo") if isinstance(mesh_detail, dict) else None
    info = info if isinstance(info, dict) else {}
    mesh_id, region = info.get("ServiceMeshId"), info.get("RegionId")
    return (mesh_id if isinstance(mesh_id, str) and mesh_id else None,
            region if isinstance(region, str) and region else None)


def vet_answers(openapi: dict[str, Any], mesh_id: str | None = None, region: str | None = None) -> dict[str, Any]:
    """The OpenAPI answers of one audit (live, snapshot, or files named in the config) with those that cannot stand for
    the instance audited moved to `_errors`, each as the one line of a failed read (the checks needing it are UNKNOWN):

    - an error body recorded as an answer (`{"RequestId", "HostId", "Code": "Forbidden.RAM", "Message"}`): a failed
      read, as when it was read live; it was taken for an answer that says nothing, and the checks fell back to a weaker
      source (asm-version PASS on an istiod-<rev> Service name) where the failed read is UNKNOWN;
    - an answer of another instance or region than the one audited: the config's asm.mesh_id / asm.region, else the
      instance the answers were read from (`_read_from`, written by read_asm_openapi: live or a snapshot). A
      DescribeServiceMeshDetail answer names its own (ServiceMesh.ServiceMeshInfo.ServiceMeshId, RegionId); recorded
      answers are the `_read_from` instance's. Such an answer passed asm-version on another instance's version (a
      staging mesh already on 1.24 in a snapshot audited with the config of production's)."""
    out = dict(openapi)
    errors = dict(out.get(ERRORS_KEY) or {}) if isinstance(out.get(ERRORS_KEY), dict) else {}
    read = out.get(READ_FROM_KEY) if isinstance(out.get(READ_FROM_KEY), dict) else {}
    named = out.get("_origins") if isinstance(out.get("_origins"), dict) else {}
    read_mesh = read.get("mesh_id") if isinstance(read.get("mesh_id"), str) else None
    read_region = read.get("region") if isinstance(read.get("region"), str) else None
    want_mesh, want_region = mesh_id or read_mesh, region or read_region
    for action in [a for a in out if not str(a).startswith("_")]:
        answer = out[action]
        if not isinstance(answer, dict):
            continue
        line = _recorded_error(action, answer)
        if line is None:
            says_mesh, says_region = _mesh_of(answer) if action == "DescribeServiceMeshDetail" else (None, None)
            if action not in named:  # recorded with the others: read from the `_read_from` instance
                says_mesh, says_region = says_mesh or read_mesh, says_region or read_region
            if want_mesh and says_mesh and says_mesh != want_mesh:
                line = (f"ASM OpenAPI {action}: MeshIdMismatch (the answer is for mesh {says_mesh}; "
                        + (f"config asm.mesh_id is {want_mesh})" if mesh_id else
                           f"the other answers were read from mesh {want_mesh})"))
            elif want_region and says_region and says_region != want_region:
                line = (f"ASM OpenAPI {action}: RegionMismatch (the answer is for region {says_region}; "
                        + (f"config asm.region is {want_region})" if region else
                           f"the other answers were read in {want_region})"))
        if line:
            del out[action]
            errors[action] = line
    if errors:
        out[ERRORS_KEY] = errors
    return out
