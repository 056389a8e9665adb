"""A fake ASM OpenAPI endpoint on 127.0.0.1 for the real SDK (alibabacloud-servicemesh20200111).

RPC style as the SDK sends it: POST /, the action in the `x-acs-action` header (and `Action` when the
signature-v1 path puts it in the query), parameters in the query and the form body. Answers are JSON bodies
shaped like the SDK's response models (the demo snapshot's saved answers, which follow them). Every request
is logged (action, parameters, AccessKey id, whether it was signed); faults on demand per action:

    fake.fault("DescribeServiceMeshDetail", "forbidden")     # 403 Forbidden.RAM
    fake.fault("*", "bad_key")                               # 404 InvalidAccessKeyId.NotFound
    fake.fault("DescribeMeshMultiClusterNetwork", "throttle", times=2)   # 400 Throttling.User twice
    fake.fault("DescribeServiceMeshDetail", "timeout")       # answers after `slow_s` seconds
    fake.fault("DescribeServiceMeshDetail", "region", region="cn-beijing")  # the mesh lives elsewhere
A mesh id the fake does not hold is 404 ServiceMesh.NotFound, as ASM's error-code table says.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEMO_MANIFEST = Path(__file__).resolve().parent.parent / "auditor" / "demo" / "snapshot" / "manifest.json"
ACCESS_KEY_ID = "LTAI5tFakeAuditKeyId000"
ACCESS_KEY_SECRET = "fake-secret-9f3c2b7a1d6e4c80b5a2"  # a test greps every output for this
ERRORS = {
    "forbidden": (403, "Forbidden.RAM", "User not authorized to operate on the specified resource, or this API "
                  "doesn't support RAM."),
    "bad_key": (404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."),
    "throttle": (400, "Throttling.User", "Request was denied due to user flow control."),
    "not_found": (404, "ServiceMesh.NotFound", "The Service Mesh cluster does not exist."),
}


def demo_answers() -> tuple[str, dict[str, dict[str, Any]]]:
    """(mesh id, action -> body) of the demo's ASM instance, plus the clusters joined to it."""
    saved = json.loads(DEMO_MANIFEST.read_text())["asm_openapi"]
    detail = saved["DescribeServiceMeshDetail"]
    info = detail["ServiceMesh"]["ServiceMeshInfo"]
    clusters = [{"ClusterId": cid, "Name": f"ack-{i}", "RegionId": info["RegionId"], "State": "running",
                 "ClusterType": "ManagedKubernetes", "Version": "1.30.1-aliyun.1", "VpcId": "vpc-bp1k2j3h4g5f6d7s8a9q0",
                 "SgId": "sg-bp1w2e3r4t5y6u7i8o9p", "ClusterDomain": "cluster.local",
                 "CreationTime": "2026-11-09T07:02:11Z", "UpdateTime": "2026-11-09T07:02:11Z", "ErrorMessage": ""}
                for i, cid in enumerate(detail["ServiceMesh"]["Clusters"], start=1)]
    answers = {"DescribeServiceMeshDetail": detail,
               "DescribeMeshMultiClusterNetwork": saved["DescribeMeshMultiClusterNetwork"],
               "DescribeClustersInServiceMesh": {"RequestId": "2A4C6E80-1B3D-5F70-9E8C-7A6B5C4D3E2F",
                                                 "Clusters": clusters}}
    return info["ServiceMeshId"], answers


@dataclass
class Call:
    action: str
    params: dict[str, str]
    access_key_id: str | None
    signed: bool


@dataclass
class Fault:
    kind: str
    times: int | None = None  # None: every time
    region: str | None = None


@dataclass
class FakeAsmOpenApi:
    meshes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    slow_s: float = 3.0
    calls: list[Call] = field(default_factory=list)
    raw_requests: list[bytes] = field(default_factory=list)
    _faults: dict[str, Fault] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.meshes:
            mesh_id, answers = demo_answers()
            self.meshes = {mesh_id: answers}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-asm-openapi")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def mesh_id(self) -> str:
        return next(iter(self.meshes))

    def actions(self) -> list[str]:
        return [c.action for c in self.calls]

    def fault(self, action: str, kind: str, *, times: int | None = None, region: str | None = None) -> None:
        self._faults[action] = Fault(kind, times, region)

    def __enter__(self) -> FakeAsmOpenApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _take_fault(self, action: str) -> Fault | None:
        with self._lock:
            fault = self._faults.get(action) or self._faults.get("*")
            if fault is None:
                return None
            if fault.times is not None:
                if fault.times <= 0:
                    return None
                fault.times -= 1
            return fault

    def _answer(self, call: Call) -> tuple[int, dict[str, Any], float]:
        request_id = str(uuid.uuid4()).upper()
        fault = self._take_fault(call.action)
        if not call.signed or call.access_key_id != ACCESS_KEY_ID or (fault and fault.kind == "bad_key"):
            return _error("bad_key", request_id)
        if fault and fault.kind in ("forbidden", "throttle"):
            return _error(fault.kind, request_id)
        mesh = self.meshes.get(call.params.get("ServiceMeshId", ""))
        if mesh is None:
            return _error("not_found", request_id)
        if call.action not in mesh:
            return 404, {"RequestId": request_id, "Code": "InvalidAction.NotFound",
                         "Message": f"Specified api {call.action} is not found."}, 0.0
        body = copy.deepcopy(mesh[call.action])
        body["RequestId"] = request_id
        if fault and fault.kind == "region" and call.action == "DescribeServiceMeshDetail":
            body["ServiceMesh"]["ServiceMeshInfo"]["RegionId"] = fault.region
        return 200, body, (self.slow_s if fault and fault.kind == "timeout" else 0.0)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                fake.raw_requests.append(self.requestline.encode() + b"\n" + str(self.headers).encode() + raw)
                params = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
                params.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
                action = self.headers.get("x-acs-action") or params.get("Action", "")
                auth = self.headers.get("authorization") or ""
                key = re.search(r"Credential=([^,\s]+)", auth)
                call = Call(action, params, key.group(1) if key else params.get("AccessKeyId"),
                            signed="Signature=" in auth or "Signature" in params)
                fake.calls.append(call)
                status, body, delay = fake._answer(call)
                if delay:
                    time.sleep(delay)
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json;charset=utf-8")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout test)
                    pass

            do_POST = _serve
            do_GET = _serve

        return Handler


def _error(kind: str, request_id: str) -> tuple[int, dict[str, Any], float]:
    status, code, message = ERRORS[kind]
    return status, {"RequestId": request_id, "HostId": "servicemesh.aliyuncs.com", "Code": code,
                    "Message": message, "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}"}, 0.0
