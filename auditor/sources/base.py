"""The one interface every cluster source implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from auditor.kinds import Kind


class ListRestarted:
    """Yielded by `pages()` when a list had to start over (410 Gone): drop what came before."""


LIST_RESTARTED = ListRestarted()


class ClusterSource(ABC):
    name: str
    role: str  # "data-plane" or "asm"
    cluster_id: str | None = None

    @abstractmethod
    def version(self) -> dict[str, Any]:
        """The /version answer. Raises SourceError."""

    @abstractmethod
    def pages(self, kind: Kind) -> Iterator[list[dict[str, Any]] | ListRestarted]:
        """Raw objects of a kind, page by page. Raises KindNotServed, ClusterUnreachable, SourceError."""

    def describe(self) -> str:
        return self.name

    def server(self) -> str | None:
        """The API server URL this source reads, when it reads one (a live cluster)."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


@dataclass
class SourceSet:
    """The clusters of one audit and the extra answers that no Kubernetes object holds."""

    data_planes: list[ClusterSource]
    asm: ClusterSource | None = None
    asm_openapi: dict[str, Any] = field(default_factory=dict)
    # Each cluster's network in ASM as the fleet file declares it (config asm.networks wins over it).
    networks: dict[str, str] = field(default_factory=dict)
    recorded_prometheus: dict[str, Any] | None = None
    inputs_sha256: str = ""
    origin: str = "live"  # "live" | "snapshot"
    # When a snapshot's evidence was collected: its manifest's collected_at as written (None: not recorded).
    collected_at: Any = None
    example: bool = False  # the bundled demo snapshot: its age is no staleness of anyone's cluster
    # A snapshot directory is hashed in a thread while it is parsed (hashlib releases the GIL).
    pending_sha256: Future[str] | None = None

    def digest(self) -> str:
        """inputs_sha256, waiting for the background hash of a snapshot directory when there is one."""
        if not self.inputs_sha256 and self.pending_sha256 is not None:
            self.inputs_sha256 = self.pending_sha256.result()
        return self.inputs_sha256

    def all(self) -> list[ClusterSource]:
        return [*self.data_planes, *([self.asm] if self.asm else [])]

    def close(self) -> None:
        for source in self.all():
            source.close()
