# PYTHON_ARGCOMPLETE_OK
"""Entry point of the ``pybpf`` command: one subcommand module per area.

Each module in ``COMMANDS`` exposes ``register(subparsers)`` which adds its
subcommand(s) and sets ``func`` on the parsed namespace. Errors from pybpf become
one clear line plus a hint; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from pybpf.errors import BPFError

# Modules under pybpf.cli that register subcommands, in help order.
COMMANDS = (
    "inspect",
    "disasm",
    "explain",
    "btf",
    "run",
    "prog",
    "map",
    "link",
    "gen",
    "build",
    "tracepoint",
    "export",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="pybpf", description="A pure-Python eBPF toolchain.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    from pybpf import __version__

    parser.add_argument("-V", "--version", action="version", version=f"pybpf {__version__}")
    parser.add_argument(
        "-j", "--json", dest="json_all", action="store_true", help="JSON output (any command)"
    )
    parser.add_argument(
        "-p", "--pretty", action="store_true", help="indented JSON output (implies --json)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"pybpf.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"pybpf.cli.{name}":
                continue  # area not built yet
            raise
        module.register(sub)
    for child in sub.choices.values():
        _add_output_options(child)
    _complete(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit status (quietly 141 when stdout's reader
    went away, as with ``pybpf ... | head``)."""
    from pybpf.cli._epipe import closed_pipe_exit

    try:
        rc = _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        return closed_pipe_exit()
    return rc


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = args.func(args)
    except BrokenPipeError:
        raise
    except BPFError as exc:
        if args.debug:
            raise
        print(f"pybpf: error: {exc}", file=sys.stderr)
        hint = getattr(exc, "hint", None)
        if hint and hint not in str(exc):
            print(f"hint: {hint}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        if args.debug:
            raise
        print(f"pybpf: error: {exc}", file=sys.stderr)
        print("hint: run with --debug for the full traceback", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return int(rc or 0)


def _with_output(func: Any, args: argparse.Namespace) -> Any:
    """Run a command under the output options: JSON as asked (``-j``/``--json``), indented
    with ``-p``/``--pretty``; a command that prints text gives ``{"output", "status"}``."""
    import contextlib
    import io

    from pybpf.cli._output import emit_json

    _json_options(args)
    if not (args.json and getattr(args, "json_wrap", False)):
        return func(args)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = int(func(args) or 0)
    emit_json({"output": buf.getvalue(), "status": rc})
    return rc


def _json_options(args: argparse.Namespace) -> None:
    """``-j``/``-p`` before the command and ``--json``/``--pretty`` after it mean the same."""
    from pybpf.cli import _output

    pretty = bool(getattr(args, "pretty", False) or getattr(args, "pretty_cmd", False))
    _output.PRETTY = pretty
    args.json = bool(getattr(args, "json", False) or getattr(args, "json_all", False) or pretty)


def _complete(parser: argparse.ArgumentParser) -> None:
    """Shell completion through argcomplete, when it is installed (the ``completion``
    extra): ``eval "$(register-python-argcomplete pybpf)"`` in bash."""
    try:
        import importlib

        argcomplete = importlib.import_module("argcomplete")
    except ImportError:
        return
    argcomplete.autocomplete(parser)


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    """Give every leaf command ``--json`` (if it lacks it) and ``--pretty``."""
    sub = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not sub:
        opts = {s for a in parser._actions for s in a.option_strings}
        if "--json" not in opts:  # a text command: its output becomes {"output": text}
            parser.add_argument("--json", action="store_true", help="JSON output")
            parser.set_defaults(json_wrap=True)
        if "--pretty" not in opts:
            parser.add_argument(
                "--pretty", dest="pretty_cmd", action="store_true", help="indented JSON output"
            )
        func = parser.get_default("func")
        if func is not None:
            parser.set_defaults(func=functools.partial(_with_output, func))
        return
    for child in sub[0].choices.values():
        _add_output_options(child)


if __name__ == "__main__":
    sys.exit(main())
