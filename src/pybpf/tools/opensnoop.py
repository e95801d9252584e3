"""``pybpf-opensnoop``: libbpf-tools' opensnoop, open() and openat() with their results.

Filters in BPF: ``-p PID``, ``-t TID``, ``-u UID``, ``-x`` (failed opens only);
in user space: ``-n NAME`` (comm contains) and ``--comm COMM`` (exact comm; libbpf-tools
uses ``-c`` for call stacks, so there is no short form).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from pybpf.tools._common import comm_str, poll_loop, run_tool
from pybpf.tools.skel.opensnoop_skel import OpenEvent, OpensnoopSkeleton


def header(args: argparse.Namespace) -> str:
    """The column header for the chosen options."""
    cols = ""
    if args.timestamp:
        cols += f"{'TIME':<8} "
    if args.print_uid:
        cols += f"{'UID':<7} "
    cols += f"{'PID':<6} {'COMM':<16} {'FD':>3} {'ERR':>3} "
    if args.extended_fields:
        cols += f"{'FLAGS':<8} "
    return cols + "PATH"


def format_event(e: OpenEvent, args: argparse.Namespace) -> str | None:
    """One output line, or None when the userspace filters drop the event."""
    comm = comm_str(e.comm)
    if args.comm and comm != args.comm:
        return None
    if args.name and args.name not in comm:
        return None
    fd, err = (e.ret, 0) if e.ret >= 0 else (-1, -e.ret)
    line = ""
    if args.timestamp:
        line += f"{time.strftime('%H:%M:%S'):<8} "
    if args.print_uid:
        line += f"{e.uid:<7} "
    line += f"{e.pid:<6} {comm:<16} {fd:>3} {err:>3} "
    if args.extended_fields:
        line += f"{e.flags & 0xFFFFFFFF:08o} "
    return line + comm_str(e.fname)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """opensnoop's options."""
    p = argparse.ArgumentParser(
        prog="pybpf-opensnoop", description="Trace open() family syscalls, with results."
    )
    p.add_argument("-p", "--pid", type=int, default=0, help="process ID to trace")
    p.add_argument("-t", "--tid", type=int, default=0, help="thread ID to trace")
    p.add_argument("-u", "--uid", type=int, default=None, help="user ID to trace")
    p.add_argument("-x", "--failed", action="store_true", help="failed opens only")
    p.add_argument("-T", "--timestamp", action="store_true", help="print timestamp (HH:MM:SS)")
    p.add_argument("-U", "--print-uid", action="store_true", help="print UID")
    p.add_argument("-e", "--extended-fields", action="store_true", help="print open flags (octal)")
    p.add_argument("-n", "--name", default="", help="only commands whose comm contains NAME")
    p.add_argument("--comm", default="", help="only commands whose comm is exactly COMM")
    p.add_argument("-d", "--duration", type=float, default=None, help="stop after SECONDS")
    p.add_argument("-v", "--verbose", action="store_true", help="verbose loader debug output")
    p.add_argument("--object", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pybpf-opensnoop``."""
    args = parse_args(argv)

    def body() -> int:
        with OpensnoopSkeleton.open(args.object, verbose=args.verbose) as skel:
            skel.rodata.targ_pid = args.pid
            skel.rodata.targ_tid = args.tid
            if args.uid is not None:
                skel.rodata.targ_uid = args.uid
            skel.rodata.targ_failed = args.failed
            skel.load()
            skel.attach()

            def handle(e: OpenEvent) -> None:
                line = format_event(e, args)
                if line is not None:
                    print(line, flush=True)

            with skel.ringbuf_events(handle) as rb:
                print(header(args), flush=True)
                return poll_loop(rb, args.duration, "pybpf-opensnoop")

    return run_tool("pybpf-opensnoop", body)


if __name__ == "__main__":
    sys.exit(main())
