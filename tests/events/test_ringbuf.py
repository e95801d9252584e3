"""RingBuffer against the real kernel: records produced by events_ringbuf.bpf.c."""

from __future__ import annotations

import asyncio
import struct
import threading
from typing import Any

import numpy as np
import pytest
from events_helpers import (
    MODE_16,
    MODE_128,
    MODE_VAR,
    RING_RB,
    RING_RB2,
    RING_SMALL,
    RingProducer,
    bpf_mappings,
    open_fds,
)

from pybpf.errors import EventError, MapError
from pybpf.events import RingBuffer, RingBufferPoller

EVENT = struct.Struct("<QII")  # struct event { u64 seq; u32 cpu; u32 tag; }
EVENT_DTYPE = np.dtype([("seq", "<u8"), ("cpu", "<u4"), ("tag", "<u4")])
BIG_DTYPE = np.dtype([("seq", "<u8"), ("words", "<u8", (15,))])


def check_words(rec: bytes | memoryview) -> int:
    """Check a big/variable record's words against its seq; returns the seq."""
    n = len(rec) // 8
    values = struct.unpack(f"<{n}Q", rec)
    seq = values[0]
    assert list(values[1:]) == [seq * 31 + j for j in range(n - 1)], f"record {seq} corrupt"
    return int(seq)


def test_million_records_all_received(ringobj: Any, produce: RingProducer) -> None:
    expected = 0
    received = 0

    def on_event(rec: bytes) -> None:
        nonlocal expected, received
        seq, _cpu, tag = EVENT.unpack(rec)
        assert seq == expected and tag == 7
        expected += 1
        received += 1

    total = 1_000_000
    chunk = 100_000  # 2.4 MB of records per run: fits the 4 MiB ring
    with RingBuffer(ringobj.maps["rb"].fd, on_event) as rb:
        sent = 0
        while sent < total:
            out = produce(chunk, tag=7)
            assert out.failed == 0, "the ring overflowed although it had room"
            sent += out.produced
            assert rb.poll(1000) == out.produced
        assert rb.consume() == 0
    assert received == total == sent


def test_overflow_is_reported_and_nothing_else_lost(ringobj: Any, produce: RingProducer) -> None:
    seqs: list[int] = []
    with RingBuffer(ringobj.maps["rb"].fd, lambda r: seqs.append(EVENT.unpack(r)[0])) as rb:
        out = produce(300_000)  # 7.2 MB into a 4 MiB ring, nobody consuming meanwhile
        assert out.failed > 0 and out.produced + out.failed == 300_000
        assert rb.consume() == out.produced == len(seqs)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # the first ones fit
        # the program also counts failed reservations in a global, read through .bss
        assert ringobj.globals["failed_total"] == out.failed
        again = produce(10)
        assert again.failed == 0 and rb.consume() == 10


def test_poll_times_out_when_empty(ringobj: Any) -> None:
    with RingBuffer(ringobj.maps["rb"].fd, lambda r: None) as rb:
        assert rb.poll(20) == 0
        assert not rb.wait(0)


def test_callback_true_stops_early(ringobj: Any, produce: RingProducer) -> None:
    seen: list[int] = []

    def stop_at_five(rec: bytes) -> bool:
        seen.append(EVENT.unpack(rec)[0])
        return len(seen) == 5

    with RingBuffer(ringobj.maps["rb"].fd, stop_at_five) as rb:
        produce(20)
        assert rb.consume() == 5
        assert rb.available() == 15 * 24
        rb.callback = lambda rec: seen.append(EVENT.unpack(rec)[0])
        assert rb.consume() == 15
    assert seen == list(range(seen[0], seen[0] + 20))


def test_callback_exception_keeps_position(ringobj: Any, produce: RingProducer) -> None:
    calls = 0

    def boom(rec: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("boom")

    with RingBuffer(ringobj.maps["rb"].fd, boom) as rb:
        produce(10)
        with pytest.raises(RuntimeError):
            rb.consume()
        assert rb.consume() == 7  # the failing record counts as consumed


def test_discarded_records_are_skipped_and_counted(ringobj: Any, produce: RingProducer) -> None:
    seqs: list[int] = []
    with RingBuffer(ringobj.maps["rb"].fd, lambda r: seqs.append(EVENT.unpack(r)[0])) as rb:
        out = produce(90, discard_every=3)
        assert out.discarded == 30 and out.produced == 60
        assert rb.consume() == 60
        assert rb.discarded == 30
    assert all(s % 3 for s in seqs) and len(seqs) == 60


def test_variable_sizes_wrap_around_small_ring(ringobj: Any, produce: RingProducer) -> None:
    small = ringobj.maps["small"]
    seqs: list[int] = []
    with RingBuffer(small.fd, lambda r: seqs.append(check_words(r))) as rb:
        assert rb.size == 4096
        for _ in range(40):  # 40 x 20 records of 16..136 bytes: the ring wraps many times
            out = produce(20, mode=MODE_VAR, ring=RING_SMALL)
            assert out.failed == 0
            assert rb.consume() == 20
        assert rb.consumer_pos > 10 * rb.size
    assert seqs == list(range(seqs[0], seqs[0] + 800))
    assert len({s % 16 for s in seqs}) == 16


def test_fixed_128_wrap_with_decoder(ringobj: Any, produce: RingProducer) -> None:
    def decode(view: memoryview) -> tuple[int, int]:
        return check_words(view), len(view)

    with RingBuffer(ringobj.maps["small"].fd, decoder=decode) as rb:
        got: list[tuple[int, int]] = []
        for _ in range(30):  # 136-byte records in a 4096-byte ring: some straddle the end
            produce(25, mode=MODE_128, ring=RING_SMALL)
            got += rb.drain()
        assert len(got) == 750 and {size for _, size in got} == {128}


def test_iteration_and_read(ringobj: Any, produce: RingProducer) -> None:
    with RingBuffer(ringobj.maps["rb"].fd, decoder=lambda v: EVENT.unpack(v)[0]) as rb:
        produce(50)
        first = []
        for seq in rb:
            first.append(seq)
            if len(first) == 30:
                break
        rest = rb.read(100, timeout_ms=50)  # only 20 left: returns after the timeout
        assert first + rest == list(range(first[0], first[0] + 50))


def test_numpy_batch_is_a_zero_copy_view(ringobj: Any, produce: RingProducer) -> None:
    with RingBuffer(ringobj.maps["rb"].fd) as rb:
        produce(1000, tag=3)
        before = rb.consumer_pos
        with rb.batch(numpy_dtype=EVENT_DTYPE) as b:
            arr = b.array
            assert len(b) == len(arr) == 1000
            assert not arr.flags.owndata and arr.strides == (24,)
            assert (np.diff(arr["seq"].astype(np.int64)) == 1).all()
            assert (arr["tag"] == 3).all()
            assert rb.consumer_pos == before  # not released yet
        assert rb.consumer_pos == before + 1000 * 24
        assert rb.available() == 0


def test_numpy_batch_with_discards_and_big_records(ringobj: Any, produce: RingProducer) -> None:
    with RingBuffer(ringobj.maps["rb"].fd) as rb:
        produce(100, mode=MODE_128, discard_every=4)
        arrays: list[Any] = []
        n = rb.consume_batch(lambda a: arrays.append(a.copy()), numpy_dtype=BIG_DTYPE)
        assert n == 75 and rb.discarded == 25
        arr = np.concatenate(arrays)
        assert (arr["seq"] % 4 != 0).all()
        assert (arr["words"][:, 5] == arr["seq"] * 31 + 5).all()


def test_numpy_batch_wrong_size_raises_and_skips(ringobj: Any, produce: RingProducer) -> None:
    with RingBuffer(ringobj.maps["rb"].fd) as rb:
        produce(2, mode=MODE_128)
        produce(3, mode=MODE_16)
        with pytest.raises(EventError, match="128 bytes does not match"):
            rb.batch(numpy_dtype=EVENT_DTYPE)
        with pytest.raises(EventError):
            rb.batch(numpy_dtype=EVENT_DTYPE)
        with rb.batch(numpy_dtype=EVENT_DTYPE) as b:
            assert len(b) == 3


def test_memoryview_batch_variable_sizes(ringobj: Any, produce: RingProducer) -> None:
    with RingBuffer(ringobj.maps["small"].fd) as rb:
        total = 0
        for _ in range(20):
            produce(16, mode=MODE_VAR, ring=RING_SMALL)
            with rb.batch() as b:
                sizes = [len(r) for r in b]
                for r in b.records:
                    check_words(r)
                total += len(b)
                assert len(b.raw) == b.end - b.begin == sum((s + 15) & ~7 for s in sizes)
        assert total == 320 and rb.available() == 0


def test_poller_several_rings(ringobj: Any, produce: RingProducer) -> None:
    got: dict[str, list[int]] = {"rb": [], "rb2": []}
    with RingBufferPoller() as poller:
        poller.add(ringobj.maps["rb"].fd, lambda r: got["rb"].append(EVENT.unpack(r)[2]))
        poller.add(ringobj.maps["rb2"].fd, lambda r: got["rb2"].append(EVENT.unpack(r)[2]))
        assert len(poller) == 2
        assert poller.poll(10) == 0
        produce(5, ring=RING_RB, tag=1)
        produce(7, ring=RING_RB2, tag=2)
        n = 0
        while n < 12:
            got_now = poller.poll(1000)
            assert got_now > 0
            n += got_now
    assert got == {"rb": [1] * 5, "rb2": [2] * 7}


def test_asyncio_events(ringobj: Any, produce: RingProducer) -> None:
    async def main() -> list[int]:
        rb = RingBuffer(ringobj.maps["rb"].fd, decoder=lambda v: EVENT.unpack(v)[0])
        loop = asyncio.get_running_loop()
        seqs: list[int] = []

        async def collect() -> None:
            async for seq in rb:
                seqs.append(seq)
                if len(seqs) == 300:
                    return

        task = asyncio.create_task(collect())
        await asyncio.sleep(0.01)  # the reader waits on an empty ring first
        for _ in range(3):
            await loop.run_in_executor(None, produce, 100)
            await asyncio.sleep(0)
        await asyncio.wait_for(task, 5)
        rb.close()
        return seqs

    seqs = asyncio.run(main())
    assert seqs == list(range(seqs[0], seqs[0] + 300))


def test_asyncio_poller_run(ringobj: Any, produce: RingProducer) -> None:
    async def main() -> int:
        got: list[bytes] = []
        done = asyncio.Event()
        with RingBufferPoller() as poller:

            def on(rec: bytes) -> None:
                got.append(rec)
                if len(got) == 40:
                    done.set()

            poller.add(ringobj.maps["rb"].fd, on)
            poller.add(ringobj.maps["rb2"].fd, on)
            runner = asyncio.create_task(poller.run())
            await asyncio.sleep(0.01)
            threading.Thread(target=produce, args=(20,), kwargs={"ring": RING_RB2}).start()
            produce(20)
            await asyncio.wait_for(done.wait(), 5)
            runner.cancel()
        return len(got)

    assert asyncio.run(main()) == 40


def test_close_unmaps_and_closes_everything(ringobj: Any, produce: RingProducer) -> None:
    fds, maps = open_fds(), bpf_mappings()
    rb = RingBuffer(ringobj.maps["rb"].fd, lambda r: None)
    rb.wait(0)  # creates the epoll too
    assert open_fds() > fds and bpf_mappings() == maps + 2
    rb.close()
    rb.close()
    assert open_fds() == fds and bpf_mappings() == maps
    assert rb.closed


def test_close_keeps_mapping_alive_for_held_views(ringobj: Any, produce: RingProducer) -> None:
    maps = bpf_mappings()
    rb = RingBuffer(ringobj.maps["rb"].fd)
    produce(4, tag=9)
    b = rb.batch(numpy_dtype=EVENT_DTYPE)
    arr = b.array
    rb.close()
    assert list(arr["tag"]) == [9] * 4  # still readable: never unmapped under a view
    del arr, b
    import gc

    gc.collect()
    assert bpf_mappings() == maps


def test_wrong_map_type_is_a_clear_error(ringobj: Any) -> None:
    with pytest.raises(MapError, match="not RINGBUF"):
        RingBuffer(ringobj.maps[".bss"].fd)


def test_reader_survives_map_close(kernel: None, bpf_obj: Any) -> None:
    import pybpf

    obj = pybpf.load(bpf_obj("events_ringbuf"))
    producer = RingProducer(obj)
    rb = RingBuffer(obj.maps["rb2"].fd)
    producer(3, ring=RING_RB2)
    obj.close()  # the reader holds its own fd and mapping
    assert len(rb.drain()) == 3
    rb.close()


def test_typed_decoding_from_btf(ringobj: Any, produce: RingProducer) -> None:
    with ringobj.ringbuf("rb", event_type="event") as rb:
        produce(3, tag=5)
        events = rb.drain()
        assert [(e.seq - events[0].seq, e.tag) for e in events] == [(0, 5), (1, 5), (2, 5)]
    with ringobj.ringbuf("rb", event_type="big_event") as rb:
        produce(1, mode=MODE_128)
        (big,) = rb.drain()
        assert list(big.words) == [big.seq * 31 + j for j in range(15)]


def test_sizes_of_modes(ringobj: Any, produce: RingProducer) -> None:
    with RingBuffer(ringobj.maps["rb"].fd) as rb:
        produce(1, mode=MODE_16)
        produce(1, mode=MODE_128)
        assert [len(r) for r in rb.drain()] == [16, 128]


def test_numpy_array_alone_keeps_the_ring_mapped(ringobj: Any, produce: RingProducer) -> None:
    """Only the array is kept: the batch released and dropped, then the reader closed.
    The array still reads the records (before, numpy's view of the memoryview did not
    hold the mapping, and reading it after close could crash)."""
    import gc

    maps = bpf_mappings()
    rb = RingBuffer(ringobj.maps["rb"].fd)
    produce(6, tag=5)
    b = rb.batch(numpy_dtype=EVENT_DTYPE)
    arr = b.array
    b.release()
    del b
    rb.close()
    gc.collect()
    assert bpf_mappings() > maps  # still mapped, for the array
    assert list(arr["tag"]) == [5] * 6
    assert (np.diff(arr["seq"].astype(np.int64)) == 1).all()
    del arr
    gc.collect()
    assert bpf_mappings() == maps
