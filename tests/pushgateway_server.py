"""A real Prometheus Pushgateway (Debian `prometheus-pushgateway`) on 127.0.0.1 for tests.

    with PushgatewayServer(tmp_path) as gateway:
        ... gateway.url, gateway.metrics_text() ...

Started on a free port with its own persistence file, stopped afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from pathlib import Path

from tests.prometheus_server import free_port, stop_process, wait_ready

PUSHGATEWAY = shutil.which("prometheus-pushgateway") or "/usr/bin/prometheus-pushgateway"


class PushgatewayServer:
    def __init__(self, workdir: Path, ready_timeout: float = 20.0) -> None:
        self.workdir = Path(workdir)
        self.ready_timeout = ready_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> PushgatewayServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "pushgateway.log").open("wb")
        for _attempt in range(3):  # another process may take the free port first
            self.port = free_port()
            self.process = subprocess.Popen(
                [PUSHGATEWAY, f"--web.listen-address={self.address}",
                 f"--persistence.file={self.workdir / 'pushgateway.store'}", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT)
            if self._wait_ready():
                return self
            self.stop()
        raise RuntimeError(f"pushgateway did not become ready; see {self.workdir / 'pushgateway.log'}")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self) -> bool:
        assert self.process is not None
        return wait_ready(self.process, urllib.request.Request(f"{self.url}/-/ready"), self.ready_timeout)

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as answer:
            return answer.read().decode()

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process(process)
