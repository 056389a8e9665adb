"""Entry point: builds the Typer app and maps every failure to one line and a documented exit code."""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import traceback

import typer

from auditor import __version__
from auditor.errors import UsageError
from auditor.model import EXIT_INTERNAL, EXIT_USAGE


def build_app() -> typer.Typer:
    from typer import rich_utils

    from auditor.cli import checks, demo, explain, run, snapshot

    # --help at 80 columns: one space between option columns (not two) leaves the longest option name
    # (--prometheus-insecure-skip-verify) whole instead of cut to "--prometheus-insecure-skip-v…".
    rich_utils.STYLE_OPTIONS_TABLE_PADDING = (0, 1, 0, 0)

    app = typer.Typer(name="asm-audit", no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False,
                      help="Read-only go/no-go auditor for Istio -> Alibaba Cloud ASM migrations.")
    app.command(epilog=run.RUN_EXAMPLES)(run.run)
    app.command()(snapshot.snapshot)
    app.command(epilog=demo.DEMO_EXAMPLES)(demo.demo)
    app.command()(checks.checks)
    app.command()(explain.explain)
    for optional in ("diff", "rbac", "history"):
        try:
            module = __import__(f"auditor.cli.{optional}", fromlist=[optional])
        except ImportError:
            continue
        app.command(name=optional)(getattr(module, optional))

    @app.callback(invoke_without_command=True)
    def _root(version: bool = typer.Option(False, "--version", help="Print the version.")) -> None:
        if version:
            print(f"asm-audit {__version__}")
            raise typer.Exit(0)

    return app


def _fail(message: str, code: int) -> int:
    print(f"asm-audit: error: {message}", file=sys.stderr)
    return code


def _internal(exc: Exception) -> int:
    # A private new file (mkstemp: O_CREAT|O_EXCL, mode 0600, random name): a predictable path in a shared /tmp
    # could be a planted symlink that makes us overwrite another file, or let others read the traceback.
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        fd, path = tempfile.mkstemp(prefix=f"asm-audit-crash-{stamp}-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(traceback.format_exc())
        where = f"details in {path}"
    except OSError:
        where = "details could not be written"
    return _fail(f"internal error: {type(exc).__name__}: {str(exc)[:200]} ({where})", EXIT_INTERNAL)


def main(argv: list[str] | None = None) -> int:
    app = build_app()
    try:
        result = app(args=argv, prog_name="asm-audit", standalone_mode=False)
        code = result if isinstance(result, int) else 0
        if code == 130:  # Typer turns Ctrl-C into a silent exit code 130; no command returns 130 itself
            code = _fail("interrupted; no report was written", 130)
    except typer.Exit as exc:
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        code = _fail("interrupted; no report was written", 130)
    except UsageError as exc:
        code = _fail(str(exc).splitlines()[0] if str(exc) else "bad input", EXIT_USAGE)
    except Exception as exc:
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            # Typer's (vendored Click) usage errors: one line, exit 2; help requests exit 0.
            message = (exc.format_message() or "").strip()
            code = _fail(message.splitlines()[0], EXIT_USAGE) if message and exc.exit_code else exc.exit_code
        else:
            code = _internal(exc)
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
