"""``pybpf-netrx``: samples/bpf tracex1, packets received with skb length and device.

Attaches to the ``net:netif_receive_skb`` tracepoint (or, with ``--kprobe``, a
kprobe on ``__netif_receive_skb`` as the original sample did) and prints one line
per packet handed to the stack, optionally for one device only.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from pybpf.tools._common import comm_str, poll_loop, run_tool
from pybpf.tools.skel.netrx_skel import NetrxSkeleton, RxEvent

HEADER = f"{'TIME':<8} {'DEVICE':<16} {'LEN':>6} {'CPU':>3}  SKB"
IFNAMSIZ = 16


def format_event(e: RxEvent) -> str:
    """One output line for a decoded ``struct rx_event``."""
    ts = time.strftime("%H:%M:%S")
    return f"{ts:<8} {comm_str(e.devname):<16} {e.len:>6} {e.cpu:>3}  {e.skbaddr:#x}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """netrx's options."""
    p = argparse.ArgumentParser(
        prog="pybpf-netrx",
        description="Show packets received by the network stack, with length and device (tracex1).",
    )
    p.add_argument("-i", "--interface", default="", help="only packets received on this device")
    p.add_argument("-d", "--duration", type=float, default=None, help="stop after SECONDS")
    p.add_argument(
        "--kprobe", action="store_true", help="use a kprobe on __netif_receive_skb instead"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="verbose loader debug output")
    p.add_argument("--object", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pybpf-netrx``."""
    args = parse_args(argv)
    dev = args.interface.encode()
    if len(dev) >= IFNAMSIZ:
        print(f"pybpf-netrx: device name {args.interface!r} is too long", file=sys.stderr)
        return 2

    def body() -> int:
        with NetrxSkeleton.open(args.object, verbose=args.verbose) as skel:
            progs = skel.progs
            use = progs.netif_receive_skb_kprobe if args.kprobe else progs.netif_receive_skb_tp
            for prog in skel.obj.programs.values():
                prog.autoload = prog is use
            skel.rodata.targ_dev = dev
            skel.load()
            link = use.attach()
            try:

                def handle(e: RxEvent) -> None:
                    print(format_event(e), flush=True)

                with skel.ringbuf_events(handle) as rb:
                    print(HEADER, flush=True)
                    return poll_loop(rb, args.duration, "pybpf-netrx")
            finally:
                link.close()

    return run_tool("pybpf-netrx", body)


if __name__ == "__main__":
    sys.exit(main())
