"""``pybpf-hist``: samples/bpf tracex2, write() sizes as log2 histograms per process.

Counts every write() in a log2 slot keyed by pid, uid and comm (via the
``syscalls:sys_enter_write`` tracepoint, or a kprobe on ``ksys_write`` with
``--kprobe``) and prints one histogram per process every interval.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import pybpf
from pybpf.runner.hist import render_log2
from pybpf.tools._common import comm_str, run_tool
from pybpf.tools.skel.hist_skel import HistKey, HistSkeleton

Group = tuple[int, int, str]


def collect(
    hist_map: pybpf.Map, *, clear: bool, skip_pid: int | None
) -> dict[Group, dict[int, int]]:
    """Slot counts by (pid, uid, comm), read from the map (and removed unless cumulative)."""
    groups: dict[Group, dict[int, int]] = defaultdict(dict)
    seen: list[Any] = []
    for raw_key, count in hist_map.items():
        seen.append(raw_key)
        key = HistKey.from_record(raw_key)
        if key.pid == skip_pid:
            continue
        groups[(key.pid, key.uid, comm_str(key.comm))][key.slot] = int(count)
    if clear:
        for key in seen:
            with contextlib.suppress(KeyError):
                del hist_map[key]
    return dict(groups)


def render(groups: dict[Group, dict[int, int]]) -> list[str]:
    """Every process's histogram, ordered by pid."""
    out: list[str] = []
    for (pid, uid, comm), slots in sorted(groups.items()):
        out.append("")
        out.append(f"pid = {pid} uid = {uid} comm = {comm}")
        out.extend(render_log2(slots, "bytes"))
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """hist's options."""
    p = argparse.ArgumentParser(
        prog="pybpf-hist",
        description="Summarize write() sizes as log2 histograms per process (tracex2).",
    )
    p.add_argument("interval", nargs="?", type=float, default=2.0, help="seconds between prints")
    p.add_argument("count", nargs="?", type=int, default=0, help="number of prints (0: forever)")
    p.add_argument("-p", "--pid", type=int, default=0, help="trace this process only")
    p.add_argument(
        "-C", "--cumulative", action="store_true", help="do not clear the histograms each interval"
    )
    p.add_argument(
        "--kprobe", action="store_true", help="use a kprobe on ksys_write instead of the tracepoint"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="verbose loader debug output")
    p.add_argument("--object", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pybpf-hist``."""
    args = parse_args(argv)

    def body() -> int:
        with HistSkeleton.open(args.object, verbose=args.verbose) as skel:
            progs = skel.progs
            use, skip = (
                (progs.write_kprobe, progs.write_tp)
                if args.kprobe
                else (progs.write_tp, progs.write_kprobe)
            )
            skip.autoload = False
            skel.rodata.targ_pid = args.pid
            skel.load()
            with use.attach():
                what = "kprobe:ksys_write" if args.kprobe else "tracepoint:syscalls:sys_enter_write"
                print(f"Tracing write() sizes via {what}... Hit Ctrl-C to end.", flush=True)
                printed = 0
                while not args.count or printed < args.count:
                    time.sleep(args.interval)
                    groups = collect(
                        skel.maps.hist, clear=not args.cumulative, skip_pid=os.getpid()
                    )
                    print(time.strftime("\n%H:%M:%S"))
                    print("\n".join(render(groups)), flush=True)
                    printed += 1
        return 0

    return run_tool("pybpf-hist", body)


if __name__ == "__main__":
    sys.exit(main())
