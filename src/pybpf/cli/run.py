"""``pybpf run OBJ``: load any compiled object, attach what it can, stream its ring and
perf buffer events (decoded from BTF) and bpf_printk output, and show its maps at exit."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``run`` subcommand."""
    p = subparsers.add_parser(
        "run", help="load, attach and watch any BPF object (events, printk, maps)"
    )
    p.add_argument("object", metavar="OBJ", help="BPF ELF object (.bpf.o)")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="VAR=VALUE",
        help="set a global (const volatile) variable before load; repeatable",
    )
    p.add_argument("--event", metavar="STRUCT", help="struct of ring/perf buffer records")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--json", action="store_true", help="JSON lines output")
    p.add_argument("-v", "--verbose", action="store_true", help="loader debug output")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pybpf.runner.run import RunOptions, run

    return run(
        RunOptions(
            path=args.object,
            sets=args.sets,
            event=args.event,
            duration=args.duration,
            json=args.json,
            verbose=args.verbose,
        )
    )
