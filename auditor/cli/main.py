"""Entry point: builds the Typer app and maps every failure to one line and a documented exit code."""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import os
import sys
import tempfile
import traceback
from typing import Any

# The audit does no linear algebra: OpenBLAS's thread pool (one thread per core, started when numpy loads, before any
# option is read) only adds start-up time and competes with the audit for the cores (a small CI gate's CPU time was
# 1.7x `import pandas` with it, 1.3x without). Set before anything imports numpy; a value the user set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# Nor does it load pydantic's plugins for its own config models (observability hooks found by scanning every installed
# package's entry points: ~6 ms of a small gate, and code of unrelated packages run in the audit); Typer builds its
# option adapters without them too. An empty value the user exports turns them back on.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer
from typer.core import TyperCommand, TyperGroup

from auditor import __version__
from auditor.errors import UsageError
from auditor.model import EXIT_INTERNAL, EXIT_USAGE

# Every command, in --help's order; diff, rbac and history are optional (left out when their module cannot load).
COMMANDS = ("run", "snapshot", "demo", "checks", "explain", "diff", "rbac", "history")
OPTIONAL = ("diff", "rbac", "history")


def _help_padding() -> None:
    # --help at 80 columns: one space between option columns (not two) leaves the longest option name
    # (--prometheus-insecure-skip-verify) whole instead of cut to "--prometheus-insecure-skip-v…".
    # Set when help is formatted: typer.rich_utils (Rich's markdown, syntax and traceback) costs a run ~0.1 s.
    from typer import rich_utils

    rich_utils.STYLE_OPTIONS_TABLE_PADDING = (0, 1, 0, 0)


def _value_names(command: Any, ctx: Any) -> None:
    """What --help says each option takes. Typer shows the Python type of every option without a metavar: `--strict
    <bool>`, `--allow-unknown <bool>`, `--help <bool>`, which reads as a value to give (a flag takes none: `--strict
    true` is refused), and `--cluster <list[str]>` for a repeatable option (one value each time). A flag gets no
    value name (as --prometheus-insecure-skip-verify already had), a repeatable option its element's."""
    for param in command.get_params(ctx):
        if getattr(param, "metavar", "") is not None or getattr(param, "param_type_name", "") != "option":
            continue
        if getattr(param, "is_flag", False):
            param.metavar = ""
            continue
        shown = param.display_type_rich(ctx) if hasattr(param, "display_type_rich") else None
        if isinstance(shown, str) and shown.startswith("<list[") and shown.endswith("]>"):
            param.metavar = "<" + shown[len("<list["):-len("]>")] + ">"


class _Group(TyperGroup):
    def format_help(self, ctx: Any, formatter: Any) -> None:
        _help_padding()
        _value_names(self, ctx)
        return super().format_help(ctx, formatter)


class _Command(TyperCommand):
    def format_help(self, ctx: Any, formatter: Any) -> None:
        _help_padding()
        _value_names(self, ctx)
        return super().format_help(ctx, formatter)


def build_app(only: str | None = None) -> typer.Typer:
    """The app with every command, or with `only` that one (the one argv names: the others' modules are not
    imported, and a group that dispatches to `only` parses, helps and fails exactly alike)."""
    app = typer.Typer(name="asm-audit", no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False, cls=_Group,
                      help="Read-only go/no-go auditor for Istio -> Alibaba Cloud ASM migrations.")
    for name in COMMANDS if only is None else (only,):
        try:
            module = importlib.import_module(f"auditor.cli.{name}")
        except ImportError:
            if name in OPTIONAL:
                continue
            raise
        epilog = getattr(module, f"{name.upper()}_EXAMPLES", None)
        app.command(name=name, epilog=epilog, cls=_Command)(getattr(module, name))

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
    args = sys.argv[1:] if argv is None else argv
    app = build_app(args[0] if args and args[0] in COMMANDS else None)
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
        # The process ends here. Its objects are left out of the collections that interpreter shutdown runs: they walk
        # every object pandas, pydantic and the audit left (~50 ms of a small CI gate's ~0.45 s) only to free memory
        # the exit frees anyway. Shutdown still runs atexit handlers (temporary directories), flushes and closes.
        gc.freeze()
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
