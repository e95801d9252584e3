"""Entry point of the ``pybpf`` command: one subcommand module per area.

Each module in ``COMMANDS`` exposes ``register(subparsers)`` which adds its
subcommand(s) and sets ``func`` on the parsed namespace. Errors from pybpf become
one clear line plus a hint; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

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
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="pybpf", description="A pure-Python eBPF toolchain.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"pybpf.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"pybpf.cli.{name}":
                continue  # area not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = args.func(args)
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


if __name__ == "__main__":
    sys.exit(main())
