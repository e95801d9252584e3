"""Several threads reading one ring or perf buffer: each record reaches exactly one of
them (the readers take turns); a callback that re-enters its reader gets a UsageError."""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pybpf.errors import UsageError
from pybpf.sys.cpus import online_cpus
from pybpf.sys.progs import prog_test_run

pytestmark = pytest.mark.usefixtures("kernel")

THREADS = 4
_ARGS = struct.Struct("<8Q")  # struct args of events_ringbuf.bpf.c


@pytest.fixture()
def ringobj(bpf_obj: Any) -> Iterator[Any]:
    import pybpf

    with pybpf.load(bpf_obj("events_ringbuf")) as obj:
        yield obj


@pytest.fixture()
def perfobj(bpf_obj: Any) -> Iterator[Any]:
    import pybpf

    with pybpf.load(bpf_obj("events_perf")) as obj:
        yield obj


def _in_threads(step: Callable[[], object], stop: threading.Event) -> list[threading.Thread]:
    errors: list[BaseException] = []

    def loop() -> None:
        try:
            while not stop.is_set():
                step()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=loop) for _ in range(THREADS)]
    for t in threads:
        t.start()
    threads[0].errors = errors  # type: ignore[attr-defined]
    return threads


def _wait_for(count: Callable[[], int], total: int) -> None:
    deadline = time.monotonic() + 20
    while count() < total and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize("how", ["poll", "drain", "read", "consume"])
def test_ringbuf_threads_no_duplicate_no_loss(ringobj: Any, how: str) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def record(data: Any) -> None:
        with lock:
            seen.append(struct.unpack_from("<Q", data)[0])

    prog = ringobj.programs["produce"]
    with ringobj.ringbuf("rb", record) as rb:
        steps: dict[str, Callable[[], object]] = {
            "poll": lambda: rb.poll(5),
            "drain": lambda: [record(r) for r in rb.drain(64)],
            "read": lambda: [record(r) for r in rb.read(100, 5)],
            "consume": rb.consume,
        }
        stop = threading.Event()
        threads = _in_threads(steps[how], stop)
        total = 0
        for _ in range(20):
            out = prog.test_run(ctx=_ARGS.pack(5000, 0, 0, 0, 0, 0, 0, 0)).ctx_out
            produced, _, failed = _ARGS.unpack(out)[5:8]
            assert failed == 0
            total += produced
        _wait_for(lambda: len(seen), total)
        stop.set()
        for t in threads:
            t.join(10)
        assert not threads[0].errors  # type: ignore[attr-defined]
        assert rb.lost == 0
    assert len(seen) == total
    assert len(set(seen)) == total  # no record handed to two threads


def test_ringbuf_threads_iterating(ringobj: Any) -> None:
    """Four iterators on one ring share the records between them; each stops at the
    first record tagged 1 (four of them come last)."""
    parts: list[list[int]] = [[] for _ in range(THREADS)]
    prog = ringobj.programs["produce"]
    total = 20_000

    def take(rb: Any, i: int) -> None:
        for rec in rb:
            seq, _cpu, tag = struct.unpack_from("<QII", rec)
            if tag == 1:
                return
            parts[i].append(seq)

    with ringobj.ringbuf("rb") as rb:
        threads = [threading.Thread(target=take, args=(rb, i)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for _ in range(4):
            prog.test_run(ctx=_ARGS.pack(total // 4, 0, 0, 0, 0, 0, 0, 0))
        prog.test_run(ctx=_ARGS.pack(THREADS, 0, 0, 0, 1, 0, 0, 0))  # the stop records
        for t in threads:
            t.join(20)
        assert not any(t.is_alive() for t in threads)
    got = [s for p in parts for s in p]
    assert len(got) == total and len(set(got)) == total


def test_perfbuf_threads_no_duplicate_no_loss(perfobj: Any) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def sample(cpu: int, data: Any) -> None:
        with lock:
            seen.append(struct.unpack_from("<Q", data)[0])

    fd = perfobj.programs["produce"].fd
    with perfobj.perfbuf("events", sample, page_cnt=64) as pb:
        stop = threading.Event()
        threads = _in_threads(lambda: pb.poll(5), stop)
        cpus = online_cpus()
        for i in range(40):
            prog_test_run(
                fd,
                ctx_in=struct.pack("<QQ", 500, 16),
                ctx_out_size=0,
                flags=1,  # BPF_F_TEST_RUN_ON_CPU
                cpu=cpus[i % len(cpus)],
            )
            time.sleep(0.005)
        total = perfobj.globals["sent"]
        _wait_for(lambda: len(seen), total)
        stop.set()
        for t in threads:
            t.join(10)
        assert not threads[0].errors  # type: ignore[attr-defined]
        assert pb.lost == 0 and perfobj.globals["failed"] == 0
    assert len(seen) == total == 20_000
    assert len(set(seen)) == total


@pytest.mark.parametrize("kind", ["ring", "perf"])
def test_callback_reentering_its_reader_is_a_usage_error(
    ringobj: Any, perfobj: Any, kind: str
) -> None:
    errors: list[BaseException] = []
    reader: Any = None

    def cb(*_: Any) -> bool:
        try:
            reader.poll(0)
        except UsageError as exc:
            errors.append(exc)
        return True

    if kind == "ring":
        reader = ringobj.ringbuf("rb", cb)
        ringobj.programs["produce"].test_run(ctx=_ARGS.pack(3, 0, 0, 0, 0, 0, 0, 0))
    else:
        reader = perfobj.perfbuf("events", cb)
        prog_test_run(
            perfobj.programs["produce"].fd,
            ctx_in=struct.pack("<QQ", 3, 16),
            ctx_out_size=0,
            flags=1,
            cpu=online_cpus()[0],
        )
    with reader:
        assert reader.poll(1000) == 1
    assert len(errors) == 1 and "return True from the callback" in str(errors[0])
