"""Reader of a BPF ring buffer (``BPF_MAP_TYPE_RINGBUF``) over its shared memory.

The kernel maps the ring as a read-write consumer page, then a read-only producer
page and the data area mapped twice in a row, so a record that wraps around the
end of the ring is contiguous from the reader's side. Records start with an 8-byte
header (``u32 len`` with BUSY/DISCARD bits, ``u32 pg_off``) and are 8-byte aligned.
The reader walks records between the consumer and producer positions and then
publishes the new consumer position, which frees the space for producers.
"""

from __future__ import annotations

import errno
import mmap
import select
import struct
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Generic, TypeVar, overload

from pybpf.errors import KernelError, UsageError
from pybpf.events._lifetime import Closing, Guard, unmap
from pybpf.events._mapinfo import HasFileno, dup_map_fd
from pybpf.events.batch import RingBatch, equal_run, scan_fixed, scan_records
from pybpf.uapi.enums import MapType

__all__ = ["BUSY_BIT", "DISCARD_BIT", "HDR_SIZE", "LOST_MAP", "RingBuffer"]

T = TypeVar("T")

BUSY_BIT = 1 << 31  # record reserved but not yet committed
DISCARD_BIT = 1 << 30  # record discarded by the producer: skip it
HDR_SIZE = 8  # struct bpf_ringbuf_hdr { u32 len; u32 pg_off; }
_LEN_MASK = DISCARD_BIT - 1
_PAGE = mmap.PAGESIZE
_ITER_RECHECK_MS = 50  # see __iter__
LOST_MAP = "pybpf_rb_lost"  # per-CPU counters of pybpf_ringbuf_reserve/output (pybpf.h)
_NONE = object()

Callback = Callable[[Any], object]


def _run_struct(size: int) -> struct.Struct:
    """Cuts a run of ``size``-byte records into payloads: skip header, take, skip padding."""
    pad = ((size + 15) & ~7) - 8 - size
    return struct.Struct(f"<8x{size}s{pad}x" if pad else f"<8x{size}s")


class RingBuffer(Closing, Generic[T]):
    """Consumer of one BPF ring buffer map.

    ``callback`` receives each record: the payload as ``bytes``, or
    ``decoder(memoryview)`` when a decoder is given (the view is only valid during
    the call: a decoder must copy what it keeps). A callback returning a true value
    stops the current :meth:`poll`/:meth:`consume` after that record, like libbpf.
    The reader duplicates the map fd, so closing the map does not break it; call
    :meth:`close` (or use ``with``) to unmap the ring.

    Records the producer could not write (the ring was full) are counted in
    :attr:`lost` when the BPF side writes with ``pybpf_ringbuf_reserve`` or
    ``pybpf_ringbuf_output`` from ``pybpf.h`` and ``lost_map`` is that object's
    ``pybpf_rb_lost`` map (``Object.ringbuf`` and skeletons pass it).

    Several threads may poll, consume, drain, read or iterate one reader: they take
    turns (a lock), so each record goes to exactly one of them. Zero-copy
    :meth:`batch` readers must stay in one thread.

    Example::

        with obj.ringbuf("events", print) as rb:
            rb.poll(100)
            print(rb.lost, "events lost")
    """

    @overload
    def __init__(
        self: RingBuffer[bytes],
        map_fd: int | HasFileno,
        callback: Callback | None = None,
        *,
        decoder: None = None,
        lost_map: int | HasFileno | None = None,
        lost_key: str | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self: RingBuffer[T],
        map_fd: int | HasFileno,
        callback: Callback | None = None,
        *,
        decoder: Callable[[memoryview], T],
        lost_map: int | HasFileno | None = None,
        lost_key: str | None = None,
    ) -> None: ...

    def __init__(
        self,
        map_fd: int | HasFileno,
        callback: Callback | None = None,
        *,
        decoder: Callable[[memoryview], Any] | None = None,
        lost_map: int | HasFileno | None = None,
        lost_key: str | None = None,
    ) -> None:
        self._fd, facts = dup_map_fd(map_fd, MapType.RINGBUF, "ring buffer")
        self.name = facts.name
        self._guard = Guard(f"ring buffer {facts.name!r}")
        self._lost_fd: Any = None
        self._lost_final = 0
        self._lost_key = (lost_key or facts.name).encode()[:16].ljust(16, b"\0")
        if lost_map is not None:
            try:
                self._lost_fd, _ = dup_map_fd(lost_map, MapType.PERCPU_HASH, "loss counters")
            except BaseException:
                self._fd.close()
                raise
        self.size = facts.max_entries
        self.callback = callback
        self.decoder = decoder
        self.discarded = 0
        """Records the producer discarded (skipped by this reader)."""
        self._mask = self.size - 1
        self._chunk = max(self.size // 4, 4096)  # publish the position at least this often
        self._epoll: select.epoll | None = None
        self._runs: dict[int, Callable[[Any], Iterator[tuple[bytes]]]] = {}
        self._pending: deque[Any] = deque()  # taken from the ring, not yet handed out
        fd = self._fd.fileno()
        try:
            self._cons_mm = mmap.mmap(
                fd, _PAGE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0
            )
            self._data_mm = mmap.mmap(
                fd, _PAGE + 2 * self.size, mmap.MAP_SHARED, mmap.PROT_READ, offset=_PAGE
            )
        except OSError as exc:
            self._fd.close()
            if self._lost_fd is not None:
                self._lost_fd.close()
            from pybpf.errors import MapError

            raise MapError(
                f"mmap ring buffer {self.name!r}", exc.errno or 0, "the kernel refused the mapping"
            ) from exc
        self._cons = memoryview(self._cons_mm).cast("Q")  # [0] is consumer_pos
        self._data = memoryview(self._data_mm)  # producer page, then data twice
        self._prod = self._data[:_PAGE].cast("Q")  # [0] is producer_pos
        self._hdr = self._data[_PAGE:].cast("I")  # u32 view of the data for headers
        self._region: Any = None  # the mapping as a numpy u8 array, made by the first batch

    def data_array(self) -> Any:
        """The mapping (producer page, then the data twice) as one numpy u8 array: numpy
        batch arrays are views of it, and it keeps the ring mapped while any of them is
        alive, after :meth:`close` too.

        Example::

            with obj.ringbuf("events") as rb:
                b = rb.batch(numpy_dtype="event")
                assert b.array.base is not None
        """
        region = self._region
        if region is None:
            import numpy as np

            region = self._region = np.frombuffer(self._data, np.uint8)
        return region

    # -- positions ---------------------------------------------------------------

    @property
    def consumer_pos(self) -> int:
        """Bytes consumed since the ring was created (the kernel's consumer_pos)."""
        self._check()
        return int(self._cons[0])

    @property
    def producer_pos(self) -> int:
        """Bytes produced (committed or reserved) since the ring was created."""
        self._check()
        return int(self._prod[0])

    def available(self) -> int:
        """Bytes between the consumer and producer positions (headers included)."""
        self._check()
        return int(self._prod[0] - self._cons[0])

    @property
    def lost(self) -> int:
        """Records the BPF side could not write because the ring was full (counted by the
        ``pybpf_ringbuf_*`` macros of ``pybpf.h``; 0 without them). Exact at any time;
        after :meth:`close`, the count at close."""
        if self._lost_fd is None or self._lost_fd.closed:
            return self._lost_final
        from pybpf.sys.cpus import num_possible_cpus
        from pybpf.sys.maps import map_lookup_elem

        ncpu = num_possible_cpus()
        raw = map_lookup_elem(self._lost_fd, self._lost_key, 8 * ncpu)
        self._lost_final = sum(struct.unpack(f"<{ncpu}Q", raw)) if raw else 0
        return self._lost_final

    # -- per-record consumption --------------------------------------------------

    def _process(self, cb: Callback, limit: int = -1) -> int:
        """Records left over by an abandoned iteration first, then the ring's."""
        pend = self._pending
        n = 0
        while pend:
            n += 1
            if cb(pend.popleft()) or n == limit:
                return n
        return n + self._consume_ring(cb, limit - n if limit >= 0 else -1)

    def _consume_ring(self, cb: Callback, limit: int = -1) -> int:
        """Hand each committed record to ``cb``; stop on a true return or busy record.

        Runs of records of one size are found by reading their headers with one
        strided slice and are cut into payloads by ``struct.iter_unpack`` in C; the
        run length adapts (it doubles while runs last and resets when they break).
        """
        self._check()
        cons_mv, prod_mv, hdr = self._cons, self._prod, self._hdr
        mask, chunk, base = self._mask, self._chunk, _PAGE
        dec = self.decoder
        mm = self._data_mm
        data = self._data
        runs = self._runs
        window = 8
        n = 0
        discarded = 0
        cons = cons_mv[0]
        stop = False
        try:
            while not stop:
                prod = prod_mv[0]
                if cons >= prod:
                    break
                end = prod if prod - cons <= chunk else cons + chunk
                while cons < end:
                    off = cons & mask
                    ln = hdr[off >> 2]
                    if ln & BUSY_BIT:
                        stop = True  # the next record is still being written
                        break
                    size = ln & _LEN_MASK
                    stride = (size + 15) & ~7
                    if ln & DISCARD_BIT:
                        cons += stride
                        discarded += 1
                        continue
                    k = (end - cons) // stride
                    if k > window:
                        k = window
                    if 0 <= limit - n < k:
                        k = limit - n
                    if k >= 4:
                        step = stride >> 2
                        lens = hdr[off >> 2 : (off >> 2) + k * step : step].tolist()
                        k, window = equal_run(lens, ln, window)
                        unpack = runs.get(size)
                        if unpack is None:
                            unpack = runs[size] = _run_struct(size).iter_unpack
                        at = base + off
                        records = unpack(data[at : at + k * stride])
                        if dec is None:
                            for (rec,) in records:
                                n += 1
                                cons += stride
                                if cb(rec):
                                    stop = True
                                    break
                        else:
                            for (rec,) in records:
                                n += 1
                                cons += stride
                                if cb(dec(rec)):
                                    stop = True
                                    break
                        if stop or n == limit:
                            stop = True
                            break
                        continue
                    cons += stride
                    start = base + off + 8
                    n += 1
                    if dec is None:
                        ret = cb(mm[start : start + size])
                    else:
                        ret = cb(dec(data[start : start + size]))
                    if ret or n == limit:
                        stop = True
                        break
                cons_mv[0] = cons
        finally:
            cons_mv[0] = cons
            self.discarded += discarded
        return n

    def consume(self) -> int:
        """Process every record available now, without waiting; return how many."""
        cb = self.callback
        if cb is None:
            raise UsageError(
                "RingBuffer.consume() needs a callback: pass one to RingBuffer(map, callback) "
                "or obj.ringbuf(name, callback), or use drain()/iterate instead"
            )
        with self._guard:
            return self._process(cb)

    def poll(self, timeout_ms: int = -1) -> int:
        """Wait up to ``timeout_ms`` (-1: forever) for records, then process them.

        Returns the number of records handed to the callback (0 on timeout).
        """
        cb = self.callback
        if cb is None:
            raise UsageError(
                "RingBuffer.poll() needs a callback: pass one to RingBuffer(map, callback) "
                "or obj.ringbuf(name, callback), or use read()/iterate instead"
            )
        if self.available() == 0:
            self.wait(timeout_ms)
        with self._guard:
            return self._process(cb)

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the kernel signals data (or the timeout); True if it did."""
        self._check()
        ep = self._epoll
        if ep is None:
            with self._guard:
                ep = self._epoll
                if ep is None:
                    ep = select.epoll()
                    ep.register(self._fd.fileno(), select.EPOLLIN)
                    self._epoll = ep
        return bool(ep.poll(-1 if timeout_ms < 0 else timeout_ms / 1000.0))

    def drain(self, limit: int = -1) -> list[T]:
        """Records available now (decoded, or bytes), consumed; at most ``limit``."""
        out: list[T] = []
        with self._guard:
            self._process(out.append, limit)
        return out

    def read(self, count: int, timeout_ms: int = -1) -> list[T]:
        """Wait for up to ``count`` records; returns early (fewer) when ``timeout_ms`` passes
        with nothing new."""
        out: list[T] = []
        while len(out) < count:
            with self._guard:
                got = self._process(out.append, count - len(out))
            if got == 0 and not self.wait(timeout_ms):
                break
        return out

    def __iter__(self) -> Iterator[T]:
        """Yield records forever, blocking while the ring is empty.

        Records are taken from the ring in chunks; those not yet yielded when the
        loop is left are kept and handed out first by the next read of any kind.
        """
        pend = self._pending
        guard = self._guard
        while True:
            with guard:
                if not pend:
                    self._consume_ring(pend.append, 4096)
                rec = pend.popleft() if pend else _NONE
            if rec is _NONE:
                # Bounded: records another thread's iterator moved from the ring into
                # the shared pending queue wake no epoll waiter (the ring is empty).
                self.wait(_ITER_RECHECK_MS)
                continue
            yield rec  # type: ignore[misc]

    # -- zero-copy batches -------------------------------------------------------

    def batch(self, *, numpy_dtype: Any = None, max_records: int = -1) -> RingBatch:
        """The records available now as one zero-copy :class:`RingBatch`.

        Use it as a context manager (or call :meth:`RingBatch.release`): the ring
        space is given back to producers only on release, and the views in the
        batch must not be used afterwards. With ``numpy_dtype`` every record must be
        exactly ``dtype.itemsize`` bytes and :attr:`RingBatch.array` is a strided
        numpy view of them (no per-record Python work). ``numpy_dtype`` may name a
        BTF type (``"event"``) when the reader came from ``obj.ringbuf(...)``.

        Example::

            with rb.batch(numpy_dtype="event") as b:
                df = b.to_pandas()
        """
        self._check()
        if isinstance(numpy_dtype, str):
            numpy_dtype = self._named_dtype(numpy_dtype)
        cons = int(self._cons[0])
        prod = int(self._prod[0])
        start = _PAGE + (cons & self._mask)
        if numpy_dtype is not None:
            return scan_fixed(self, self._data, start, cons, prod, numpy_dtype, max_records)
        return scan_records(self, self._data, self._hdr, start, cons, prod, max_records)

    #: BTF of the object the ring belongs to (set by ``obj.ringbuf``): type names as dtypes
    btf: Any = None

    def _named_dtype(self, name: str) -> Any:
        cache: dict[str, Any] | None = getattr(self, "_dtype_cache", None)
        if cache is None:
            cache = {}
            self._dtype_cache = cache
        if name not in cache:
            from pybpf.btf.named import numpy_dtype_by_name

            cache[name] = numpy_dtype_by_name(name, self.btf, owner=self.name)
        return cache[name]

    def consume_batch(self, fn: Callable[[Any], object], *, numpy_dtype: Any = None) -> int:
        """Call ``fn`` with each batch of available records until the ring is empty.

        ``fn`` gets the numpy array view when ``numpy_dtype`` is given, else the
        :class:`RingBatch`; each batch is released after ``fn`` returns. A true
        return from ``fn`` stops. Returns the number of records processed.
        """
        total = 0
        while True:
            b = self.batch(numpy_dtype=numpy_dtype)
            if b.end == b.begin:
                return total
            try:
                ret = fn(b.array if numpy_dtype is not None else b)
            finally:
                b.release()
            total += b.count
            if ret:
                return total

    def advance_consumer(self, begin: int, end: int, discarded: int) -> None:
        """Publish ``end`` as the consumer position, for a batch read from ``begin``
        (package-internal: :class:`~pybpf.events.batch.RingBatch` calls it on release)."""
        if self.closed:
            return
        if self._cons[0] != begin:
            from pybpf.errors import BPFError

            raise BPFError(
                f"ring buffer {self.name!r}: a batch was released out of order "
                f"(consumer at {self._cons[0]}, batch starts at {begin})"
            )
        self._cons[0] = end
        self.discarded += discarded

    # -- asyncio -----------------------------------------------------------------

    def fileno(self) -> int:
        """An fd that is readable when records are available (for selectors/asyncio)."""
        if self._epoll is None:
            self.wait(0)
        assert self._epoll is not None
        return self._epoll.fileno()

    async def events(self, *, chunk: int = 4096) -> AsyncIterator[T]:
        """Yield records as they arrive, waiting in the running asyncio loop."""
        import asyncio  # only asyncio users pay for importing it

        loop = asyncio.get_running_loop()
        fd = self.fileno()
        ready = asyncio.Event()
        loop.add_reader(fd, ready.set)
        pend = self._pending
        try:
            while True:
                with self._guard:
                    got = pend or self._consume_ring(pend.append, chunk)
                if got:
                    while pend:
                        yield pend.popleft()
                    continue
                ready.clear()
                if self._prod[0] != self._cons[0]:
                    continue
                await ready.wait()
        finally:
            loop.remove_reader(fd)

    def __aiter__(self) -> AsyncIterator[T]:
        return self.events()

    # -- lifetime ----------------------------------------------------------------

    def _check(self) -> None:
        if self._fd.closed:
            raise KernelError(
                f"use ring buffer {self.name!r}",
                errno.EBADF,
                "it was closed",
                hint="open a new reader (obj.ringbuf(name, callback)) to read again",
            )

    @property
    def map_fd(self) -> int:
        """The reader's own fd of the ring buffer map (it polls readable on new data);
        :meth:`fileno` is an epoll fd over it. Example: ``ep.register(r.map_fd)``."""
        return self._fd.fileno()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._fd.closed

    def close(self) -> None:
        """Unmap the ring and close the reader's fds (idempotent).

        If a caller still holds a view into the ring (a batch array), the mapping
        stays alive until that view is garbage collected; it is never unmapped under it.
        """
        if self._fd.closed:
            return
        with self._guard:
            self._close()

    def _close(self) -> None:
        if self._fd.closed:
            return
        if self._lost_fd is not None:
            try:
                _ = self.lost  # the final count stays readable after close
            finally:
                self._lost_fd.close()
        if self._epoll is not None:
            self._epoll.close()
        self._region = None  # numpy batch arrays still held keep their own reference
        unmap((self._hdr, self._prod, self._data, self._cons), (self._data_mm, self._cons_mm))
        self._fd.close()
        # a mapping still viewed by a caller is unmapped once the last view is gone
        del self._data_mm, self._cons_mm, self._data, self._hdr, self._prod, self._cons

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.available()} bytes pending"
        return f"<RingBuffer {self.name!r} size={self.size} {state}>"
