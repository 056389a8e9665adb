"""Reading a secret (a token, a password, a webhook URL with its token) from a file the user names."""

from __future__ import annotations

from pathlib import Path

from auditor.errors import UsageError


def read_secret_file(path: str | Path, what: str) -> str:
    """The file's text without surrounding whitespace; UsageError naming `what` and the path (never the content)
    when it cannot be read or is empty."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what} {path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    if not text:
        raise UsageError(f"{what} {path} is empty")
    return text
