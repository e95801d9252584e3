"""``pybpf-hello``: seed 002's first program, "Hello, BPF World!" on every execve().

The message goes through ``bpf_trace_printk`` to the system-wide trace_pipe; this
front end keeps only the program's own message and prints who exec'ed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pybpf.events.tracepipe import TraceLine, TracePipe
from pybpf.tools._common import run_tool
from pybpf.tools.skel.hello_skel import HelloSkeleton

MESSAGE = "Hello, BPF World!"
HEADER = f"{'TIME(s)':<16} {'COMM':<16} {'PID':<7} MESSAGE"


def format_line(line: TraceLine) -> str:
    """One output line for a trace_pipe line of the program."""
    return f"{line.timestamp:<16.6f} {line.task:<16} {line.pid:<7} {line.message}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """hello's options."""
    p = argparse.ArgumentParser(
        prog="pybpf-hello",
        description='Print "Hello, BPF World!" from BPF each time a process calls execve().',
    )
    p.add_argument(
        "-a",
        "--all",
        action="store_true",
        help="show every bpf_trace_printk line, not only hello's",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="verbose loader debug output")
    p.add_argument("--object", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pybpf-hello``."""
    args = parse_args(argv)

    def body() -> int:
        with HelloSkeleton.open(args.object, verbose=args.verbose) as skel:
            skel.load()
            with TracePipe() as pipe:
                skel.attach()
                print(HEADER, flush=True)
                for line in pipe:
                    if args.all or line.message.rstrip() == MESSAGE:
                        print(format_line(line), flush=True)
        return 0

    return run_tool("pybpf-hello", body)


if __name__ == "__main__":
    sys.exit(main())
