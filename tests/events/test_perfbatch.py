"""PerfBuffer batches against the real kernel: samples from events_perf.bpf.c per CPU.

Each batch is checked against what the per-event path reads from the same ring
memory (a batch not yet released leaves its samples in the ring for drain()).
"""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pytest
from events_helpers import Emitter, open_fds, sample_seq

from pybpf.errors import BPFError, EventError, KernelError, UsageError
from pybpf.events import PerfBatch, PerfBuffer
from pybpf.sys.cpus import online_cpus

SEQ16 = np.dtype([("seq", "<u8"), ("w0", "<u8")])  # the first 16 bytes of struct event


def perf_mappings() -> int:
    """How many perf ring mappings this process has."""
    with open("/proc/self/maps") as f:
        return sum("perf_event" in line for line in f)


def contiguous(seqs: list[int]) -> bool:
    return bool(seqs) and seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_raw_batches_equal_per_event_samples_on_every_cpu(perfobj: Any, emit: Emitter) -> None:
    cpus = online_cpus()
    with PerfBuffer(perfobj.maps["events"].fd) as pb:
        for cpu in cpus:
            emit(10 + 7 * cpu, cpu=cpu)
        held = [pb.batch(cpu) for cpu in pb.cpus]
        batches: list[bytes] = []
        for cpu, b in zip(pb.cpus, held, strict=True):
            assert isinstance(b, PerfBatch) and b.cpu == cpu
            recs = [bytes(r) for r in b]
            assert len(recs) == b.count == 10 + 7 * cpu
            assert all(len(r) == 20 for r in recs)  # 16 bytes + the kernel's padding
            assert contiguous([sample_seq(r, 16) for r in recs])
            batches += recs
        # not released: the same samples are still in the rings for the per-event path
        assert pb.drain() == batches
        for b in held:
            with pytest.raises(BPFError, match="released out of order"):
                b.release()  # drain() moved the tail past it
        assert pb.batch().count == 0 and pb.drain() == []


def test_consume_batch_numpy_per_cpu_in_order(perfobj: Any, emit: Emitter) -> None:
    cpus = online_cpus()
    got: dict[int, list[int]] = {c: [] for c in cpus}

    def on_batch(cpu: int, arr: Any) -> None:
        assert arr.dtype == SEQ16 and not arr.flags.writeable
        assert (arr["w0"] == arr["seq"] * 31).all()
        got[cpu] += arr["seq"].tolist()

    with PerfBuffer(perfobj.maps["events"].fd) as pb:
        for _ in range(3):
            for cpu in cpus:
                emit(100 + cpu, cpu=cpu)
        assert pb.consume_batch(on_batch, numpy_dtype=SEQ16) == sum(300 + 3 * c for c in cpus)
        assert pb.consume_batch(on_batch, numpy_dtype=SEQ16) == 0
        assert pb.lost == 0
    for cpu in cpus:
        seqs = got[cpu]
        assert len(seqs) == 300 + 3 * cpu
        assert seqs == sorted(seqs)  # each CPU's samples in the order they were written
        runs = [seqs[i : i + 100 + cpu] for i in range(0, len(seqs), 100 + cpu)]
        assert all(contiguous(r) for r in runs)


def test_btf_decoded_batch_matches_decoded_samples(perfobj: Any, emit: Emitter) -> None:
    with perfobj.perfbuf("events", event_type="event") as pb:
        emit(25, size=128, cpu=0)
        held = pb.batch(0, numpy_dtype="event")
        arr = held.array
        assert arr.dtype.names == ("seq", "words") and arr["words"].shape == (25, 15)
        assert held.count == len(held) == 25
        decoded = pb.drain()  # the per-event path, BTF-decoded, over the same memory
        assert [d.seq for d in decoded] == arr["seq"].tolist()
        assert [list(d.words) for d in decoded] == arr["words"].tolist()
        assert (arr["words"] == arr["seq"][:, None] * 31 + np.arange(15)).all()

        emit(4, size=128, cpu=0)
        with pb.batch(numpy_dtype="event") as b:
            df = b.to_pandas()
            assert [len(r) for r in b.records] == [128] * 4
        assert b.released
        assert list(df.columns[:1]) == ["seq"] and len(df) == 4
        assert df["seq"].tolist() == list(range(arr["seq"][-1] + 1, arr["seq"][-1] + 5))

        emit(2, size=128, cpu=0)
        with pb.batch(0) as b:  # the records form: decoded by the reader's event_type
            assert b.array is None and len(b) == 2
            df2 = b.to_pandas()
        assert df2["seq"].tolist() == [df["seq"].iloc[-1] + 1, df["seq"].iloc[-1] + 2]
        with pytest.raises(EventError, match="released"):
            b.to_pandas()


@pytest.mark.parametrize("form", ["numpy", "records"])
def test_wrap_around_in_a_one_page_ring(perfobj: Any, emit: Emitter, form: str) -> None:
    seqs: list[int] = []
    dt = np.dtype([("seq", "<u8"), ("words", "<u8", (15,))])

    def on_batch(cpu: int, b: Any) -> None:
        if form == "numpy":
            assert (b["words"] == b["seq"][:, None] * 31 + np.arange(15)).all()
            seqs.extend(b["seq"].tolist())
        else:
            assert isinstance(b, PerfBatch) and b.array is None
            seqs.extend(sample_seq(r, 128) for r in b.records)

    with PerfBuffer(perfobj.maps["events"].fd, page_cnt=1, cpus=[0]) as pb:
        for _ in range(40):  # 144-byte records in a 4096-byte ring: many straddle the end
            emit(20, size=128, cpu=0)
            assert pb.consume_batch(on_batch, numpy_dtype=dt if form == "numpy" else None) == 20
        assert pb.wrapped > 0 and pb.lost == 0
    assert len(seqs) == 800 and contiguous(seqs)


@pytest.mark.parametrize("form", ["numpy", "records"])
def test_lost_records_are_counted_exactly(perfobj: Any, emit: Emitter, form: str) -> None:
    lost_calls: list[tuple[int, int]] = []
    dt = SEQ16 if form == "numpy" else None
    with PerfBuffer(
        perfobj.maps["events"].fd, lost_cb=lambda c, n: lost_calls.append((c, n)), page_cnt=1
    ) as pb:
        emit(500, cpu=0)  # 32-byte records into a 4 KiB ring: most are dropped
        with pb.batch(0, numpy_dtype=dt, max_records=10) as first:
            assert first.count == 10
        emit(3, cpu=0)  # freed room: the kernel writes a lost record, then the 3 samples
        b = pb.batch(0, numpy_dtype=dt)
        fit = 10 + b.count if form == "numpy" else 10 + b.count - 3
        assert 10 < fit < 500
        if form == "numpy":  # the numpy batch stops before the lost record
            assert b.lost == 0
            b.release()
            b = pb.batch(0, numpy_dtype=dt)
            assert b.lost == 500 - fit  # skipped at the head of the next batch, counted
            assert lost_calls == []  # on release
            b.release()
            after = b.count
            while b.end != b.begin:  # the 3 samples (one batch, or more where the ring wraps)
                with pb.batch(0, numpy_dtype=dt) as b:
                    after += b.count
            assert after == 3
        else:
            assert b.lost == 500 - fit  # the records form walks past it, counting
            assert lost_calls == []  # on release
            b.release()
        assert pb.lost == 500 - fit == perfobj.globals["failed"]
        assert pb.batch(0).count == 0


def test_mixed_sizes_fall_back(perfobj: Any, emit: Emitter) -> None:
    with PerfBuffer(perfobj.maps["events"].fd, page_cnt=4, cpus=[0]) as pb:
        emit(10, size=16)
        emit(3, size=128)
        emit(10, size=16)
        emit(20, size=0)  # 8, 16, ..., 128 bytes by seq
        with pb.batch(0) as b:  # the records form takes every size
            sizes = [len(r) for r in b.records]
            seqs = [sample_seq(r, len(r) - len(r) % 8) for r in b.records]
        assert sizes[:23] == [20] * 10 + [132] * 3 + [20] * 10
        assert sizes[23:] == [((8 * (1 + s % 16) + 4 + 7) & ~7) - 4 for s in seqs[23:]]
        assert contiguous(seqs) and len(seqs) == 43

        emit(10, size=16)
        emit(1, size=128)
        emit(10, size=16)
        with pb.batch(0, numpy_dtype=SEQ16) as b:  # numpy: stops at the size change
            assert b.count == 10
            last = int(b.array["seq"][-1])
        with pytest.raises(EventError, match=r"132 bytes .* does not match numpy_dtype of 16"):
            pb.batch(0, numpy_dtype=SEQ16)  # the foreign sample is skipped
        with pb.batch(0, numpy_dtype=SEQ16) as b:
            assert b.array["seq"].tolist() == list(range(last + 2, last + 12))
        assert pb.batch(0, numpy_dtype=SEQ16).count == 0


def test_bad_calls(perfobj: Any, emit: Emitter) -> None:
    with PerfBuffer(perfobj.maps["events"].fd, lambda c, d: pb.batch()) as pb:
        with pytest.raises(UsageError, match="no ring for CPU 999"):
            pb.batch(999)
        with pytest.raises(EventError, match="no bytes"):
            pb.batch(numpy_dtype=np.dtype([]))
        from pybpf.errors import BTFError

        with pytest.raises(BTFError, match="numpy_dtype 'event'"):
            pb.batch(numpy_dtype="event")  # no BTF: made from a bare map fd
        emit(1, cpu=0)
        with pb.batch(0) as b, pytest.raises(EventError, match="needs typed samples"):
            b.to_pandas()  # bytes, no decoder
        emit(1, cpu=0)
        with pytest.raises(UsageError, match="callback read from or closed its own reader"):
            pb.consume()


def test_close_while_a_batch_is_held_leaks_nothing(perfobj: Any, emit: Emitter) -> None:
    fds, maps = open_fds(), perf_mappings()
    pb = PerfBuffer(perfobj.maps["events"].fd, cpus=[0])
    emit(8, cpu=0)
    b = pb.batch(0, numpy_dtype=SEQ16)
    arr = b.array
    pb.close()
    # the ring stays mapped (with the mmap's own fd) while the array views it
    assert pb.closed and open_fds() == fds + 1 and perf_mappings() == maps + 1
    assert arr["seq"].tolist() == list(range(arr["seq"][0], arr["seq"][0] + 8))
    b.release()  # after close: nothing to give back, no error
    with pytest.raises(KernelError, match="closed"):
        pb.batch()
    del arr, b
    gc.collect()
    assert open_fds() == fds and perf_mappings() == maps
    for _ in range(3):
        with PerfBuffer(perfobj.maps["events"].fd) as pb2:
            emit(5, cpu=0)
            assert pb2.consume_batch(lambda c, a: None, numpy_dtype=SEQ16) == 5
    assert open_fds() == fds and perf_mappings() == maps


def test_batches_and_callbacks_in_two_threads_take_turns(perfobj: Any, emit: Emitter) -> None:
    import threading

    from_batches: list[int] = []
    from_poll: list[int] = []
    done = threading.Event()

    def on_batch(cpu: int, arr: Any) -> None:
        from_batches.extend(arr["seq"].tolist())

    def batch_reader() -> None:
        while not done.is_set():
            pb.consume_batch(on_batch, numpy_dtype=SEQ16)

    with PerfBuffer(
        perfobj.maps["events"].fd, lambda cpu, d: from_poll.append(sample_seq(d, 16)), page_cnt=64
    ) as pb:
        t = threading.Thread(target=batch_reader)
        t.start()
        try:
            for i in range(200):
                emit(20, cpu=pb.cpus[i % len(pb.cpus)])
                pb.poll(0)
        finally:
            done.set()
            t.join()
        pb.consume()
        assert pb.lost == 0
    seqs = from_batches + from_poll
    assert len(seqs) == 4000 and sorted(seqs) == list(range(min(seqs), min(seqs) + 4000))
