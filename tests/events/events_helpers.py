"""Helpers of the event tests: run the producer programs, check what they wrote, count
fds and mappings."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

MODE_16, MODE_128, MODE_VAR = 0, 1, 2
RING_RB, RING_RB2, RING_SMALL = 0, 1, 2
_ARGS = struct.Struct("<8Q")  # struct args of events_ringbuf.bpf.c


@dataclass
class Produced:
    produced: int
    discarded: int
    failed: int


RUN_ON_CPU = 1  # BPF_F_TEST_RUN_ON_CPU


class Emitter:
    """Runs events_perf.bpf.c's ``produce`` (raw_tp) on a CPU: ``count`` samples of
    ``size`` bytes (0: 8..128)."""

    def __init__(self, obj: Any) -> None:
        self.fd = obj.programs["produce"].fd

    def __call__(self, count: int, size: int = 16, cpu: int = 0) -> None:
        from pybpf.sys.progs import prog_test_run

        prog_test_run(
            self.fd,
            ctx_in=struct.pack("<QQ", count, size),
            ctx_out_size=0,
            flags=RUN_ON_CPU,
            cpu=cpu,
        )


def sample_seq(data: bytes | memoryview, size: int) -> int:
    """Check a perf sample's words (its first ``size`` bytes) against its seq; returns
    the seq."""
    n = size // 8
    values = struct.unpack_from(f"<{n}Q", data)
    assert list(values[1:]) == [values[0] * 31 + j for j in range(n - 1)]
    return int(values[0])


class RingProducer:
    """Runs events_ringbuf.bpf.c's ``produce`` program."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.prog = obj.programs["produce"]

    def __call__(
        self,
        count: int,
        *,
        mode: int = MODE_16,
        ring: int = RING_RB,
        discard_every: int = 0,
        tag: int = 0,
    ) -> Produced:
        ctx = _ARGS.pack(count, mode, ring, discard_every, tag, 0, 0, 0)
        fields = _ARGS.unpack(self.prog.test_run(ctx=ctx).ctx_out)
        return Produced(*fields[5:8])


def open_fds() -> int:
    """How many fds this process has open."""
    import os

    return len(os.listdir("/proc/self/fd"))


def bpf_mappings() -> int:
    """How many memory mappings of BPF maps this process has."""
    with open("/proc/self/maps") as f:
        return sum("bpf-map" in line or "bpf_ringbuf" in line for line in f)
