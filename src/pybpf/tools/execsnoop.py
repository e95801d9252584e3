"""``pybpf-execsnoop``: libbpf-tools' execsnoop, every execve() with its arguments.

Arguments are captured at syscall entry and printed with the result at exit;
failed execs are hidden unless ``-x``. Filters: ``-u UID``, ``-n NAME`` (comm or
any argument contains it), ``--comm COMM`` (exact comm), ``-l LINE`` (an argument contains
it), ``-c CGROUP`` (only tasks in that cgroup v2 directory, in BPF; as libbpf-tools).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from pybpf.tools._common import comm_str, poll_loop, run_tool
from pybpf.tools.skel.execsnoop_skel import ExecEvent, ExecsnoopSkeleton

MAX_ARGS = 20


def header(args: argparse.Namespace) -> str:
    """The column header for the chosen options."""
    cols = ""
    if args.time:
        cols += f"{'TIME':<8} "
    if args.timestamp:
        cols += f"{'TIME(s)':<8} "
    if args.print_uid:
        cols += f"{'UID':<6} "
    return cols + f"{'PCOMM':<16} {'PID':<6} {'PPID':<6} {'RET':>3} ARGS"


def _quote(arg: str) -> str:
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def event_args(e: ExecEvent) -> list[str]:
    """The captured arguments of an event, as text."""
    return [comm_str(a) for a in e.args[: e.args_count]]


def format_event(e: ExecEvent, args: argparse.Namespace, start_ns: int) -> str | None:
    """One output line, or None when the userspace filters drop the event."""
    comm = comm_str(e.comm)
    argv = event_args(e)
    if args.comm and comm != args.comm:
        return None
    if args.name and args.name not in comm and not any(args.name in a for a in argv):
        return None
    if args.line and not any(args.line in a for a in argv):
        return None
    line = ""
    if args.time:
        line += f"{time.strftime('%H:%M:%S'):<8} "
    if args.timestamp:
        line += f"{(e.ts_ns - start_ns) / 1e9:<8.3f} "
    if args.print_uid:
        line += f"{e.uid:<6} "
    shown = [_quote(a) for a in argv] if args.quote else argv
    text = " ".join(shown) + (" ..." if e.args_truncated else "")
    return line + f"{comm:<16} {e.pid:<6} {e.ppid:<6} {e.retval:>3} {text}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """execsnoop's options."""
    p = argparse.ArgumentParser(
        prog="pybpf-execsnoop", description="Trace exec() syscalls, with arguments and results."
    )
    p.add_argument("-T", "--time", action="store_true", help="include time column (HH:MM:SS)")
    p.add_argument("-t", "--timestamp", action="store_true", help="include seconds since start")
    p.add_argument("-x", "--fails", action="store_true", help="include failed exec()s")
    p.add_argument("-u", "--uid", type=int, default=None, help="trace this UID only")
    p.add_argument("-U", "--print-uid", action="store_true", help="print UID column")
    p.add_argument("-q", "--quote", action="store_true", help='put "quotes" around arguments')
    p.add_argument("-n", "--name", default="", help="only commands whose comm or args contain NAME")
    p.add_argument("--comm", default="", help="only commands whose comm is exactly COMM")
    p.add_argument(
        "-c",
        "--cgroup",
        metavar="CGROUP",
        default=None,
        help="only processes in this cgroup v2 directory (e.g. /sys/fs/cgroup/unified/x)",
    )
    p.add_argument("-l", "--line", default="", help="only commands where an argument contains LINE")
    p.add_argument(
        "--max-args", type=int, default=MAX_ARGS, help=f"maximum arguments shown (1-{MAX_ARGS})"
    )
    p.add_argument("-d", "--duration", type=float, default=None, help="stop after SECONDS")
    p.add_argument("-v", "--verbose", action="store_true", help="verbose loader debug output")
    p.add_argument("--object", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if not 1 <= a.max_args <= MAX_ARGS:
        p.error(f"--max-args must be between 1 and {MAX_ARGS}")
    return a


def _cgroup_fd(path: str) -> int:
    """An fd of cgroup directory ``path`` (for the cgroup array), or a clear error."""
    from pybpf.errors import BPFError

    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise BPFError(
            f"-c {path}: cannot open the cgroup directory ({exc.strerror}); give a cgroup v2 "
            "directory, e.g. /sys/fs/cgroup/unified/NAME"
        ) from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pybpf-execsnoop``."""
    args = parse_args(argv)

    def body() -> int:
        with ExecsnoopSkeleton.open(args.object, verbose=args.verbose) as skel:
            if args.uid is not None:
                skel.rodata.targ_uid = args.uid
            skel.rodata.ignore_failed = not args.fails
            skel.rodata.max_args = args.max_args
            cg_fd = _cgroup_fd(args.cgroup) if args.cgroup else None
            skel.rodata.filter_cg = cg_fd is not None
            skel.load()
            if cg_fd is not None:
                try:
                    skel.maps.cgroup_map[0] = cg_fd
                finally:
                    os.close(cg_fd)
            skel.attach()
            start_ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)

            def handle(e: ExecEvent) -> None:
                line = format_event(e, args, start_ns)
                if line is not None:
                    print(line, flush=True)

            with skel.ringbuf_events(handle) as rb:
                print(header(args), flush=True)
                return poll_loop(rb, args.duration, "pybpf-execsnoop")

    return run_tool("pybpf-execsnoop", body)


if __name__ == "__main__":
    sys.exit(main())
