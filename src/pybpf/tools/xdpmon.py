"""``pybpf-xdpmon``: samples/bpf xdp_monitor, XDP tracepoint counters per second.

Counts ``xdp:xdp_redirect*``, ``xdp:xdp_exception``, ``xdp:xdp_cpumap_*`` and
``xdp:xdp_devmap_xmit`` events in per-CPU arrays and prints rates every interval.
"""

from __future__ import annotations

import argparse
import errno
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from pybpf.errors import KernelError, NotSupportedError
from pybpf.tools._common import run_tool
from pybpf.tools.skel.xdpmon_skel import Datarec, XdpmonSkeleton

ACTIONS = ("XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT")
HEADER = f"{'XDP-event':<16}{'CPU:to':<8}{'pps':<13}{'drop-pps':<13}extra-info"


@dataclass
class Rec:
    """One ``struct datarec`` summed over CPUs."""

    processed: int = 0
    dropped: int = 0
    info: int = 0
    err: int = 0
    xdp_pass: int = 0
    xdp_drop: int = 0
    xdp_redirect: int = 0

    def __sub__(self, other: Rec) -> Rec:
        return Rec(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(Rec)))


def _sum(per_cpu: Iterable[Any]) -> Rec:
    total = Rec()
    for raw in per_cpu:
        r = Datarec.from_record(raw)
        for f in fields(Rec):
            setattr(total, f.name, getattr(total, f.name) + int(getattr(r, f.name)))
    return total


def snapshot(skel: XdpmonSkeleton) -> dict[str, Rec]:
    """Every counter of the object, summed over CPUs, by a stable row key."""
    maps = skel.maps
    snap: dict[str, Rec] = {}
    for i, what in enumerate(("Success", "Error")):
        snap[f"redirect:{what}"] = _sum(maps.redirect_cnt[i])
    for i, act in enumerate(ACTIONS):
        snap[f"exception:{act}"] = _sum(maps.exception_cnt[i])
    for cpu, per_cpu in maps.cpumap_enqueue_cnt.items():
        rec = _sum(per_cpu)
        if rec.processed or rec.dropped or rec.info:
            snap[f"cpumap_enqueue:{cpu}"] = rec
    snap["cpumap_kthread"] = _sum(maps.cpumap_kthread_cnt[0])
    snap["devmap_xmit"] = _sum(maps.devmap_xmit_cnt[0])
    return snap


def _row(event: str, where: str, pps: float, drop: float, info: str) -> str:
    return f"{event:<16}{where:<8}{pps:<13.0f}{drop:<13.0f}{info}".rstrip()


def render(prev: dict[str, Rec], cur: dict[str, Rec], seconds: float) -> list[str]:
    """The rows of one interval: rates from the counters' growth over ``seconds``."""
    t = seconds or 1.0
    rows = [HEADER]
    for key, rec in cur.items():
        d = rec - prev.get(key, Rec())
        kind, _, detail = key.partition(":")
        if kind == "redirect":
            n = d.processed if detail == "Success" else d.dropped
            rows.append(
                _row(
                    "XDP_REDIRECT",
                    "total",
                    n / t if detail == "Success" else 0,
                    n / t if detail == "Error" else 0,
                    detail,
                )
            )
        elif kind == "exception" and d.dropped:
            rows.append(_row("Exception", "total", 0, d.dropped / t, detail))
        elif kind == "cpumap_enqueue" and (d.processed or d.dropped):
            bulk = d.processed / d.info if d.info else 0.0
            rows.append(
                _row(
                    "cpumap_enqueue",
                    f"to:{detail}",
                    d.processed / t,
                    d.dropped / t,
                    f"bulk-average {bulk:.2f}",
                )
            )
        elif kind == "cpumap_kthread" and (d.processed or d.dropped or d.info):
            rows.append(
                _row(
                    "cpumap_kthread",
                    "total",
                    d.processed / t,
                    d.dropped / t,
                    f"sched {d.info} pass {d.xdp_pass} drop {d.xdp_drop} redirect {d.xdp_redirect}",
                )
            )
        elif kind == "devmap_xmit" and (d.processed or d.dropped or d.info):
            bulk = d.processed / d.info if d.info else 0.0
            rows.append(
                _row(
                    "devmap_xmit",
                    "total",
                    d.processed / t,
                    d.dropped / t,
                    f"bulk-average {bulk:.2f} errors {d.err}",
                )
            )
    return rows


def monitor(skel: XdpmonSkeleton, interval: float, count: int) -> None:
    """Print the rates every ``interval`` seconds, ``count`` times (0: until stopped)."""
    prev, then = snapshot(skel), time.monotonic()
    printed = 0
    while not count or printed < count:
        time.sleep(interval)
        cur, now = snapshot(skel), time.monotonic()
        print(time.strftime("\n%H:%M:%S"))
        print("\n".join(render(prev, cur, now - then)), flush=True)
        prev, then = cur, now
        printed += 1


def attach_present(skel: XdpmonSkeleton) -> tuple[list[Any], list[str]]:
    """Attach every program whose tracepoint exists (kernels drop some, such as
    ``xdp_redirect_map`` in 6.x); returns the links and the missing tracepoints."""
    links: list[Any] = []
    missing: list[str] = []
    try:
        for prog in skel.obj.programs.values():
            try:
                links.append(prog.attach())
            except KernelError as exc:
                if exc.errno != errno.ENOENT:
                    raise
                missing.append(prog.section.rsplit("/", 1)[-1])
    except BaseException:
        for link in links:
            link.close()
        raise
    if not links:
        raise NotSupportedError("XDP tracepoints on this kernel (none of them exists)")
    return links, missing


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """xdpmon's options."""
    p = argparse.ArgumentParser(
        prog="pybpf-xdpmon",
        description="Monitor XDP redirects, exceptions, cpumap and devmap events (xdp_monitor).",
    )
    p.add_argument("interval", nargs="?", type=float, default=2.0, help="seconds between prints")
    p.add_argument("count", nargs="?", type=int, default=0, help="number of prints (0: forever)")
    p.add_argument("-v", "--verbose", action="store_true", help="verbose loader debug output")
    p.add_argument("--object", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pybpf-xdpmon``."""
    args = parse_args(argv)

    def body() -> int:
        with XdpmonSkeleton.open(args.object, verbose=args.verbose) as skel:
            skel.load()
            links, missing = attach_present(skel)
            if args.verbose and missing:
                print(f"not on this kernel: {', '.join(missing)}", file=sys.stderr)
            print(
                f"Monitoring XDP tracepoints every {args.interval:g}s... Hit Ctrl-C to end.",
                flush=True,
            )
            try:
                monitor(skel, args.interval, args.count)
            finally:
                for link in links:
                    link.close()
        return 0

    return run_tool("pybpf-xdpmon", body)


if __name__ == "__main__":
    sys.exit(main())
