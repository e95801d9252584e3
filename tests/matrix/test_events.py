"""Kernel matrix: ring buffer (5.8) and perf buffer records from a tracepoint, on every
kernel, in the order they were made."""

from __future__ import annotations

import os
import struct

import pytest

import pybpf
from pybpf.events.perfbuf import PerfBuffer
from pybpf.events.ringbuf import RingBuffer

pytestmark = [pytest.mark.matrix, pytest.mark.kernel]

N = 5


def test_ring_and_perf_buffers_get_every_record(bpf_obj, kernel: None) -> None:  # type: ignore[no-untyped-def]
    with pybpf.load(bpf_obj("matrix_events")) as obj:
        obj.globals["mx_pid"] = os.getpid()
        ring: list[tuple[int, int]] = []
        perf: list[tuple[int, int]] = []
        with (
            obj.programs["mx_emit"].attach(),
            RingBuffer(
                obj.maps["mx_ring"], lambda b: ring.append(struct.unpack("<II", b[:8]))
            ) as rb,
            PerfBuffer(
                obj.maps["mx_perf"], lambda cpu, b: perf.append(struct.unpack("<II", b[:8]))
            ) as pb,
        ):
            for _ in range(N):
                os.getppid()
            rb.consume()
            for _ in range(50):
                pb.poll(100)
                if len(perf) >= N:
                    break
        expected = [(os.getpid(), i) for i in range(N)]
        assert ring == expected
        assert sorted(perf, key=lambda e: e[1]) == expected
