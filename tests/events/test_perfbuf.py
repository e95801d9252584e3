"""PerfBuffer against the real kernel: samples from events_perf.bpf.c on each CPU."""

from __future__ import annotations

import asyncio
import os
import struct
from collections import Counter
from typing import Any

import pytest
from events_helpers import Emitter, bpf_mappings, open_fds, sample_seq

from pybpf.errors import MapError
from pybpf.events import PerfBuffer
from pybpf.sys.cpus import online_cpus


def test_samples_from_every_cpu(perfobj: Any, emit: Emitter) -> None:
    got: list[tuple[int, int]] = []

    def on_sample(cpu: int, data: bytes) -> None:
        assert len(data) == 20  # 16 bytes + the kernel's padding to 8-byte alignment
        got.append((cpu, sample_seq(data, 16)))

    cpus = online_cpus()
    with PerfBuffer(perfobj.maps["events"].fd, on_sample) as pb:
        assert pb.cpus == cpus
        for cpu in cpus:
            emit(10 + cpu, cpu=cpu)
        n = 0
        while n < sum(10 + c for c in cpus):
            step = pb.poll(1000)
            assert step > 0
            n += step
        assert pb.poll(10) == 0 and pb.lost == 0
    assert Counter(c for c, _ in got) == {c: 10 + c for c in cpus}
    seqs = sorted(s for _, s in got)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_lost_samples_are_reported(perfobj: Any, emit: Emitter) -> None:
    lost_calls: list[tuple[int, int]] = []
    got: list[bytes] = []
    with PerfBuffer(
        perfobj.maps["events"].fd,
        lambda cpu, d: got.append(d),
        lambda cpu, n: lost_calls.append((cpu, n)),
        page_cnt=1,
    ) as pb:
        emit(500, cpu=0)  # 32-byte records into a 4 KiB ring: most are dropped
        fit = pb.consume()
        assert 0 < fit < 500
        emit(1, cpu=0)  # the kernel reports the loss before the next sample
        assert pb.consume() == 1
        assert pb.lost == 500 - fit
        assert lost_calls == [(0, 500 - fit)]
        assert perfobj.globals["failed"] == 500 - fit  # the program saw the same refusals
    assert len(got) == fit + 1


def test_wrapped_records_are_reassembled(perfobj: Any, emit: Emitter) -> None:
    seqs: list[int] = []

    def on_sample(cpu: int, data: bytes) -> None:
        assert len(data) == 132  # 128 bytes + 4 of padding
        seqs.append(sample_seq(data, 128))

    with PerfBuffer(perfobj.maps["events"].fd, on_sample, page_cnt=1, cpus=[0]) as pb:
        for _ in range(40):  # 144-byte records in a 4096-byte ring: many straddle the end
            emit(20, size=128, cpu=0)
            assert pb.consume() == 20
        assert pb.wrapped > 0 and pb.lost == 0
    assert seqs == list(range(seqs[0], seqs[0] + 800))


def test_variable_sizes_and_decoder(perfobj: Any, emit: Emitter) -> None:
    def decode(view: memoryview) -> tuple[int, int]:
        seq = struct.unpack_from("<Q", view)[0]
        size = 8 * (1 + seq % 16)
        return sample_seq(view, size), len(view)

    with PerfBuffer(perfobj.maps["events"].fd, decoder=decode, page_cnt=1) as pb:
        out: list[tuple[int, int]] = []
        for _ in range(30):
            emit(15, size=0, cpu=0)
            out += pb.drain()
        assert len(out) == 450
        for seq, size in out:
            assert size == ((8 * (1 + seq % 16) + 4 + 7) & ~7) - 4


def test_iteration_and_asyncio(perfobj: Any, emit: Emitter) -> None:
    with PerfBuffer(perfobj.maps["events"].fd) as pb:
        emit(5, cpu=0)
        first = []
        for rec in pb:
            first.append(rec)
            if len(first) == 5:
                break

        async def main() -> int:
            loop = asyncio.get_running_loop()
            n = 0

            async def collect() -> None:
                nonlocal n
                async for _rec in pb:
                    n += 1
                    if n == 50:
                        return

            task = asyncio.create_task(collect())
            await asyncio.sleep(0.01)
            await loop.run_in_executor(None, emit, 50)
            await asyncio.wait_for(task, 5)
            return n

        assert asyncio.run(main()) == 50


def test_attached_program_samples_getpid(perfobj: Any) -> None:
    perfobj.globals["target_pid"] = os.getpid()
    got: list[int] = []
    with PerfBuffer(perfobj.maps["events"].fd, lambda cpu, d: got.append(sample_seq(d, 16))) as pb:
        link = perfobj.programs["on_sys_enter"].attach()
        try:
            for _ in range(25):
                os.getpid()
        finally:
            link.close()
        n = 0
        while n < 25 and pb.poll(1000):
            n = len(got)
        os.getpid()
        assert pb.poll(50) == 0  # detached: no more samples
    assert len(got) == 25


def test_close_clears_slots_and_unmaps(perfobj: Any) -> None:
    fds, maps = open_fds(), bpf_mappings()
    pb = PerfBuffer(perfobj.maps["events"].fd)
    assert open_fds() >= fds + 2 * len(online_cpus())
    pb.close()
    pb.close()
    assert open_fds() == fds and bpf_mappings() == maps
    from pybpf.sys.maps import map_delete_elem

    for cpu in online_cpus():  # the slots were already cleared: nothing left to delete
        assert map_delete_elem(perfobj.maps["events"].fd, struct.pack("<I", cpu)) is False


def test_bad_arguments(perfobj: Any) -> None:
    with pytest.raises(ValueError, match="power of two"):
        PerfBuffer(perfobj.maps["events"].fd, page_cnt=3)
    with pytest.raises(MapError, match="not PERF_EVENT_ARRAY"):
        PerfBuffer(perfobj.maps["scratch"].fd)


def test_typed_decoding_from_btf(perfobj: Any, emit: Emitter) -> None:
    with perfobj.perfbuf("events", event_type="event") as pb:
        emit(3, size=128, cpu=0)
        samples = pb.read(3, timeout_ms=1000)
    assert len(samples) == 3
    for s in samples:
        assert list(s.words) == [s.seq * 31 + j for j in range(15)]


def test_callback_true_stops_early_and_keeps_the_rest(perfobj: Any, emit: Emitter) -> None:
    seqs: list[int] = []

    def stop_at_seven(cpu: int, data: bytes) -> bool:
        seqs.append(sample_seq(data, 16))
        return len(seqs) == 7

    with PerfBuffer(perfobj.maps["events"].fd, stop_at_seven, cpus=[0]) as pb:
        emit(20, cpu=0)
        assert pb.consume() == 7
        pb.sample_cb = lambda cpu, data: seqs.append(sample_seq(data, 16))
        assert pb.consume() == 13
    assert seqs == list(range(seqs[0], seqs[0] + 20))


def test_callback_error_consumes_its_sample_and_keeps_the_rest(perfobj: Any, emit: Emitter) -> None:
    seqs: list[int] = []

    def fail_at_five(cpu: int, data: bytes) -> None:
        seqs.append(sample_seq(data, 16))
        if len(seqs) == 5:
            raise RuntimeError("callback failed")

    with PerfBuffer(perfobj.maps["events"].fd, fail_at_five, cpus=[0]) as pb:
        emit(40, cpu=0)
        with pytest.raises(RuntimeError, match="callback failed"):
            pb.consume()
        pb.sample_cb = lambda cpu, data: seqs.append(sample_seq(data, 16))
        assert pb.consume() == 35
    assert seqs == list(range(seqs[0], seqs[0] + 40))
