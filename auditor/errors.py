"""Exceptions with a meaning for the exit code or for a check's status."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user (flags, kubeconfig, snapshot, config): one line, exit 2."""


def unknown_phase(phase: str, choices: list[str]) -> UsageError:
    """`unknown phase 'unintsall'; choose one of: ...; did you mean 'uninstall'?` (a near miss or another case)."""
    import difflib

    near = difflib.get_close_matches(str(phase).strip().lower(), choices, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return UsageError(f"unknown phase {phase!r}; choose one of: {', '.join(choices)}{hint}")


class EvidenceUnavailable(Exception):
    """What a check needs could not be read. The engine turns it into UNKNOWN with this reason."""

    def __init__(self, reason: str, *, kind: str = "", cluster: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.cluster = cluster


class SourceError(Exception):
    """A source failed to read a kind or a whole cluster; recorded, then surfaced as EvidenceUnavailable."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class ClusterUnreachable(SourceError):
    """The cluster's API server did not answer at all."""


class KindNotServed(SourceError):
    """The API server does not serve this kind (its CRD is not installed): an empty, known answer."""
