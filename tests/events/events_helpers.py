"""Helpers of the event tests: run the producer programs, count fds and mappings."""

from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass
from typing import Any

from pybpf.sys import syscall
from pybpf.sys.attrs import TestRunAttr
from pybpf.uapi.enums import Cmd

MODE_16, MODE_128, MODE_VAR = 0, 1, 2
RING_RB, RING_RB2, RING_SMALL = 0, 1, 2
_ARGS = struct.Struct("<8Q")  # struct args of events_ringbuf.bpf.c


def run_syscall(prog_fd: int, ctx: bytes) -> bytes:
    """Test-run a syscall program; returns the ctx as the program left it.

    The kernel writes a syscall program's ctx back into ``ctx_in`` (it refuses
    ``ctx_out``), which ``prog_test_run`` does not hand back, so call bpf(2) here.
    """
    buf = ctypes.create_string_buffer(ctx, len(ctx))
    attr = TestRunAttr(prog_fd=prog_fd, ctx_size_in=len(ctx), ctx_in=ctypes.addressof(buf))
    syscall.bpf(Cmd.PROG_TEST_RUN, attr, op="test-run syscall program")
    return buf.raw


@dataclass
class Produced:
    produced: int
    discarded: int
    failed: int


class RingProducer:
    """Runs events_ringbuf.bpf.c's ``produce`` program."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.fd = obj.programs["produce"].fd

    def __call__(
        self,
        count: int,
        *,
        mode: int = MODE_16,
        ring: int = RING_RB,
        discard_every: int = 0,
        tag: int = 0,
    ) -> Produced:
        out = run_syscall(self.fd, _ARGS.pack(count, mode, ring, discard_every, tag, 0, 0, 0))
        fields = _ARGS.unpack(out)
        return Produced(*fields[5:8])


def open_fds() -> int:
    """How many fds this process has open."""
    import os

    return len(os.listdir("/proc/self/fd"))


def bpf_mappings() -> int:
    """How many memory mappings of BPF maps this process has."""
    with open("/proc/self/maps") as f:
        return sum("bpf-map" in line or "bpf_ringbuf" in line for line in f)
