"""``pybpf-bootstrap``: libbpf-bootstrap's bootstrap, process exec/exit with lifetimes.

Loads the shipped CO-RE object through its skeleton, sets ``min_duration_ns`` from
``-d`` before load, attaches the ``sched_process_exec``/``sched_process_exit``
tracepoints and prints ring buffer events in bootstrap's columns until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from pybpf.tools._common import poll_loop, run_tool
from pybpf.tools.skel.bootstrap_skel import BootstrapSkeleton, Event

HEADER = f"{'TIME':<8} {'EVENT':<5} {'COMM':<16} {'PID':<7} {'PPID':<7} FILENAME/EXIT CODE"


def format_event(e: Event, now: float | None = None) -> str:
    """One output line for a decoded ``struct event``, exactly as bootstrap prints it."""
    ts = time.strftime("%H:%M:%S", time.localtime(now))
    comm = e.comm.decode(errors="replace")
    if e.exit_event:
        line = f"{ts:<8} {'EXIT':<5} {comm:<16} {e.pid:<7} {e.ppid:<7} [{e.exit_code}]"
        if e.duration_ns:
            line += f" ({e.duration_ns // 1_000_000}ms)"
        return line
    filename = e.filename.decode(errors="replace")
    return f"{ts:<8} {'EXEC':<5} {comm:<16} {e.pid:<7} {e.ppid:<7} {filename}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """bootstrap's options."""
    p = argparse.ArgumentParser(
        prog="pybpf-bootstrap",
        description="Trace process start and exit, with each process's lifetime.",
        epilog="USAGE: pybpf-bootstrap [-d <min-duration-ms>] [-v]",
    )
    p.add_argument(
        "-d",
        "--duration",
        type=int,
        default=0,
        metavar="DURATION-MS",
        help="minimum process duration (ms) to report; with it, only exits are shown",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="verbose loader debug output")
    p.add_argument("--object", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pybpf-bootstrap``."""
    args = parse_args(argv)

    def body() -> int:
        with BootstrapSkeleton.open(args.object, verbose=args.verbose) as skel:
            skel.rodata.min_duration_ns = args.duration * 1_000_000
            skel.load()
            skel.attach()

            def handle(event: Event) -> None:
                print(format_event(event), flush=True)

            with skel.ringbuf_rb(handle) as rb:
                print(HEADER, flush=True)
                return poll_loop(rb, None, "pybpf-bootstrap")

    return run_tool("pybpf-bootstrap", body)


if __name__ == "__main__":
    sys.exit(main())
