"""Reader of a BPF perf event array (``BPF_MAP_TYPE_PERF_EVENT_ARRAY``): one perf ring per CPU.

For each online CPU the reader opens a ``bpf-output`` software perf event that
samples raw data, maps its metadata page and data pages, stores the event fd in
the map slot of that CPU (where ``bpf_perf_event_output`` looks it up) and waits on
all of them with one epoll. Records are ``perf_event_header``-framed: samples carry
``u32 size`` + raw bytes, lost records the number of samples the kernel dropped.
A record that runs past the end of the ring is reassembled from its two pieces.

:meth:`PerfBuffer.batch` and :meth:`PerfBuffer.consume_batch` hand out many samples
of one CPU's ring at once (like the ring buffer's batches): runs of fixed-size samples
become one strided numpy view, their headers checked by vectorised numpy operations.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import select
import struct
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any, Generic, TypeVar, overload

from pybpf.errors import AttachError, BPFError, EventError, KernelError, MapError, UsageError
from pybpf.events._lifetime import Closing, Guard, unmap
from pybpf.events._mapinfo import HasFileno, dup_map_fd
from pybpf.events.batch import PerfBatch, equal_run
from pybpf.sys.fd import FD
from pybpf.uapi.enums import MapType, PerfReadFormat, PerfRecordType, PerfSampleFormat, PerfSwId

__all__ = ["PerfBuffer"]

T = TypeVar("T")

_PAGE = mmap.PAGESIZE
_HEAD = 1024 // 8  # perf_event_mmap_page.data_head, as an index of u64s
_TAIL = 1032 // 8  # data_tail: written by the reader to free space
_SAMPLE = int(PerfRecordType.SAMPLE)
_LOST = int(PerfRecordType.LOST)
_HDR = struct.Struct("<IHHI")  # perf_event_header + the sample's u32 raw size
_LOST_REC = struct.Struct("<QQ")  # id, lost
_LOST_COUNT = struct.Struct("<QQ")  # read() with PERF_FORMAT_LOST: value, lost
_first = itemgetter(0)
_TYPE_SIZE = 0xFFFF_0000_FFFF_FFFF  # a header word without misc: type (u32) and size (u16)

SampleCallback = Callable[[int, Any], object]
LostCallback = Callable[[int, int], object]


class _CpuRing:
    """The mapped perf ring of one CPU."""

    __slots__ = ("cpu", "fd", "meta", "mm", "region", "size", "view", "words")

    def __init__(self, cpu: int, fd: FD, page_cnt: int) -> None:
        self.cpu = cpu
        self.fd = fd
        self.size = page_cnt * _PAGE
        self.mm = mmap.mmap(
            fd.fileno(), _PAGE + self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE
        )
        self.view = memoryview(self.mm)
        self.meta = self.view[:_PAGE].cast("Q")
        self.words = self.view[_PAGE:].cast("Q")  # the data as u64s, for record headers
        self.region: Any = None  # the data as a numpy u8 array, made by the first batch

    def data_array(self) -> Any:
        """The data pages as one numpy u8 array: batch arrays are views of it, and it
        keeps the mapping alive while any of them does."""
        region = self.region
        if region is None:
            import numpy as np

            region = self.region = np.frombuffer(self.view[_PAGE:], np.uint8)
        return region

    def close(self) -> None:
        self.region = None  # batch arrays still held keep their own reference
        unmap((self.meta, self.words, self.view), (self.mm,))
        self.fd.close()


class PerfBuffer(Closing, Generic[T]):
    """Consumer of a perf event array map, one ring per online CPU.

    ``sample_cb(cpu, data)`` receives each sample: ``bytes`` or, with a decoder,
    ``decoder(memoryview)`` (valid only during the call). The raw bytes include the
    kernel's padding to 8-byte alignment, so they can be up to 4 bytes longer than
    what the program sent. ``lost_cb(cpu, count)`` reports samples the kernel
    dropped because the ring was full; :attr:`lost` is the running total.
    ``page_cnt`` (a power of two) sets each CPU's ring size in pages.

    :attr:`lost` is exact: on kernels with ``PERF_FORMAT_LOST`` (5.19+) it is the
    kernel's own count of samples each CPU's event dropped, including those whose lost
    record was not written or read yet; after :meth:`close`, the count at close.

    Several threads may poll, consume, drain, read or iterate one reader: they take
    turns (a lock), so each sample goes to exactly one of them. Zero-copy
    :meth:`batch` readers must stay in one thread.

    Example::

        with obj.perfbuf("events", lambda cpu, data: print(cpu, data)) as pb:
            pb.poll(100)
            print(pb.lost, "events lost")
    """

    #: BTF of the object the map belongs to (set by ``obj.perfbuf``): type names as dtypes
    btf: Any = None

    @overload
    def __init__(
        self: PerfBuffer[bytes],
        map_fd: int | HasFileno,
        sample_cb: SampleCallback | None = None,
        lost_cb: LostCallback | None = None,
        *,
        page_cnt: int = 8,
        decoder: None = None,
        cpus: Sequence[int] | None = None,
        wakeup_events: int = 1,
    ) -> None: ...

    @overload
    def __init__(
        self: PerfBuffer[T],
        map_fd: int | HasFileno,
        sample_cb: SampleCallback | None = None,
        lost_cb: LostCallback | None = None,
        *,
        page_cnt: int = 8,
        decoder: Callable[[memoryview], T],
        cpus: Sequence[int] | None = None,
        wakeup_events: int = 1,
    ) -> None: ...

    def __init__(
        self,
        map_fd: int | HasFileno,
        sample_cb: SampleCallback | None = None,
        lost_cb: LostCallback | None = None,
        *,
        page_cnt: int = 8,
        decoder: Callable[[memoryview], Any] | None = None,
        cpus: Sequence[int] | None = None,
        wakeup_events: int = 1,
    ) -> None:
        if page_cnt <= 0 or page_cnt & (page_cnt - 1):
            raise EventError(f"page_cnt must be a power of two (1, 2, 4, 8...), not {page_cnt}")
        self._map, info = dup_map_fd(map_fd, MapType.PERF_EVENT_ARRAY, "perf buffer")
        self.name = info.name
        self.sample_cb = sample_cb
        self.lost_cb = lost_cb
        self.decoder = decoder
        self.page_cnt = page_cnt
        self._guard = Guard(f"perf buffer {info.name!r}")
        self._lost_seen = 0  # sum of the lost records read
        self._lost_final: int | None = None
        self._lost_format = True  # read_format PERF_FORMAT_LOST accepted
        self.wrapped = 0
        """Records that ran past the end of their ring and were reassembled."""
        self._rings: dict[int, _CpuRing] = {}
        self._pending: deque[tuple[int, Any]] = deque()  # taken, not yet handed out
        self._runs: dict[int, Callable[[Any], Any]] = {}
        self._dtype_cache: dict[str, Any] = {}  # numpy_dtype names, looked up in self.btf
        self._epoll = select.epoll()
        try:
            self._open_rings(cpus, info.max_entries, wakeup_events)
        except BaseException:
            self.close()
            raise

    def _open_rings(self, cpus: Sequence[int] | None, slots: int, wakeup: int) -> None:
        from pybpf.sys.cpus import online_cpus
        from pybpf.sys.maps import map_update_elem
        from pybpf.sys.perf import perf_event_enable, perf_event_open, software_event_attr

        wanted = list(cpus) if cpus is not None else online_cpus()
        usable = [c for c in wanted if c < slots]
        if not usable:
            raise MapError(
                f"open perf buffer {self.name!r}",
                errno.EINVAL,
                f"the map has {slots} slots, none for CPUs {wanted}",
                hint="create the map with max_entries 0 (= number of CPUs) or >= the CPU count",
            )
        for cpu in usable:
            attr = software_event_attr(PerfSwId.BPF_OUTPUT, sample_period=1)
            attr.sample_type = int(PerfSampleFormat.RAW)
            attr.wakeup_events = max(1, wakeup)
            op = f"open bpf-output perf event on CPU {cpu}"
            if self._lost_format:
                attr.read_format = int(PerfReadFormat.LOST)
                try:
                    fd = perf_event_open(attr, -1, cpu, op=op)
                except AttachError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
                    self._lost_format = False  # before 5.19: count the lost records
            if not self._lost_format:
                attr.read_format = 0
                fd = perf_event_open(attr, -1, cpu, op=op)
            try:
                ring = _CpuRing(cpu, fd, self.page_cnt)
            except OSError as exc:
                fd.close()
                raise MapError(
                    f"mmap perf ring of CPU {cpu}",
                    exc.errno or 0,
                    f"{self.page_cnt} pages",
                    hint="lower page_cnt, or raise /proc/sys/kernel/perf_event_mlock_kb",
                ) from exc
            self._rings[fd.fileno()] = ring
            perf_event_enable(fd)
            map_update_elem(self._map, struct.pack("<I", cpu), struct.pack("<I", fd.fileno()))
            self._epoll.register(fd.fileno(), select.EPOLLIN)

    @property
    def lost(self) -> int:
        """Samples the kernel dropped because a CPU's ring was full (exact, see above)."""
        if self._lost_final is not None:
            return self._lost_final
        if not self._lost_format:
            return self._lost_seen
        total = 0
        for ring in self._rings.values():
            total += _LOST_COUNT.unpack(os.read(ring.fd.fileno(), _LOST_COUNT.size))[1]
        return max(total, self._lost_seen)

    @property
    def cpus(self) -> list[int]:
        """The CPUs this reader has a ring for."""
        return [r.cpu for r in self._rings.values()]

    # -- consumption -------------------------------------------------------------

    def _process(self, ring: _CpuRing, cb: SampleCallback, limit: int = -1) -> int:
        """Hand each record of one CPU's ring to the callbacks; publish the new tail."""
        meta, mm, size = ring.meta, ring.mm, ring.size
        mask = size - 1
        cpu = ring.cpu
        dec = self.decoder
        unpack_hdr = _HDR.unpack_from
        runs = self._runs
        window = 8
        n = 0
        tail = meta[_TAIL]
        try:
            head = meta[_HEAD]
            while tail < head:
                off = tail & mask
                at = _PAGE + off
                if off + 16 <= size:
                    typ, _misc, rsize, raw = unpack_hdr(mm, at)
                    wrapped = off + rsize > size
                else:
                    wrapped = True
                if wrapped:  # the record runs past the end: join its two pieces
                    first = mm[at : _PAGE + size]
                    _, _, rsize = struct.unpack_from("<IHH", first + mm[_PAGE : _PAGE + 8])
                    rec = first + mm[_PAGE : _PAGE + rsize - len(first)]
                    self.wrapped += rsize > len(first)
                    typ, _misc, rsize, raw = _HDR.unpack_from(rec)
                    tail += rsize
                    if typ == _SAMPLE:
                        n += 1
                        data: Any = rec[12 : 12 + raw]
                        ret = cb(cpu, data if dec is None else dec(memoryview(data)))
                        if ret or n == limit:
                            break
                    elif typ == _LOST:
                        self._lost(cpu, _LOST_REC.unpack_from(rec, 8)[1])
                    continue
                if rsize < 8:
                    raise self._corrupt(ring, rsize, tail)
                if typ == _SAMPLE:
                    k = min(head - tail, size - off) // rsize
                    if k > window:
                        k = window
                    if 0 <= limit - n < k:
                        k = limit - n
                    if k >= 4:  # a run of equal-size samples: cut in C
                        step = rsize >> 3
                        firsts = ring.words[off >> 3 : (off >> 3) + k * step : step].tolist()
                        k, window = equal_run(firsts, firsts[0], window)
                        unpack: Callable[[Any], Any] | None = runs.get(rsize)
                        if unpack is None:
                            unpack = runs[rsize] = struct.Struct(f"<12x{raw}s").iter_unpack
                        # The callback runs from C (any/map) and stops at the first
                        # truthy return; the records it took are those the unpacker
                        # no longer holds.
                        recs: Any = unpack(ring.view[at : at + k * rsize])
                        items = map(_first, recs)
                        stop = False
                        try:
                            stop = any(
                                map(cb, repeat(cpu), items if dec is None else map(dec, items))
                            )
                        finally:
                            taken = k - recs.__length_hint__()
                            n += taken
                            tail += taken * rsize
                            del recs, items
                        if stop or n == limit:
                            break
                        if tail >= head:
                            head = meta[_HEAD]
                        continue
                tail += rsize
                if typ == _SAMPLE:
                    n += 1
                    start = at + 12
                    if dec is None:
                        ret = cb(cpu, mm[start : start + raw])
                    else:
                        ret = cb(cpu, dec(ring.view[start : start + raw]))
                    if ret or n == limit:
                        break
                elif typ == _LOST:
                    self._lost(cpu, _LOST_REC.unpack_from(mm, at + 8)[1])
                if tail >= head:
                    head = meta[_HEAD]
        finally:
            meta[_TAIL] = tail
        return n

    def _lost(self, cpu: int, count: int) -> None:
        self._lost_seen += count
        if self.lost_cb is not None:
            self.lost_cb(cpu, count)

    def _all(self, cb: SampleCallback, limit: int = -1) -> int:
        n = 0
        pend = self._pending
        while pend:
            n += 1
            if cb(*pend.popleft()) or n == limit:
                return n
        for ring in self._rings.values():
            n += self._process(ring, cb, limit - n if limit >= 0 else -1)
            if n == limit:
                break
        return n

    def consume(self) -> int:
        """Process every CPU's records without waiting; returns the number of samples."""
        cb = self._need_cb()
        with self._guard:
            return self._all(cb)

    def poll(self, timeout_ms: int = -1) -> int:
        """Wait up to ``timeout_ms`` (-1: forever) for samples, then process the CPUs that
        have data; returns the number of samples."""
        cb = self._need_cb()
        n = 0
        ready = self._epoll.poll(-1 if timeout_ms < 0 else timeout_ms / 1000.0)
        with self._guard:
            self._check()
            pend = self._pending
            while pend:  # samples taken by an abandoned iteration come first
                n += 1
                if cb(*pend.popleft()):
                    return n
            for fd, _ in ready:
                ring = self._rings.get(fd)
                if ring is not None:
                    n += self._process(ring, cb)
        return n

    def _need_cb(self) -> SampleCallback:
        self._check()
        if self.sample_cb is None:
            raise UsageError(
                "PerfBuffer.poll()/consume() need a sample callback: pass one to "
                "PerfBuffer(map, sample_cb) or obj.perfbuf(name, callback), or use "
                "read()/drain()/iterate instead"
            )
        return self.sample_cb

    def _check(self) -> None:
        if self._map.closed:
            raise KernelError(
                f"use perf buffer {self.name!r}",
                errno.EBADF,
                "it was closed",
                hint="open a new reader (obj.perfbuf(name, callback)) to read again",
            )

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until some CPU's ring has data (or the timeout); True if one has."""
        self._check()
        return bool(self._epoll.poll(-1 if timeout_ms < 0 else timeout_ms / 1000.0))

    def drain(self, limit: int = -1) -> list[T]:
        """Samples available now (decoded, or bytes), consumed; at most ``limit``."""
        out: list[T] = []
        self._check()
        with self._guard:
            self._all(lambda _cpu, rec: out.append(rec), limit)
        return out

    def read(self, count: int, timeout_ms: int = -1) -> list[T]:
        """Wait for up to ``count`` samples; returns early (fewer) when ``timeout_ms``
        passes with nothing new."""
        out: list[T] = []
        self._check()
        while len(out) < count:
            with self._guard:
                got = self._all(lambda _c, r: out.append(r), count - len(out))
            if not got and not self.wait(timeout_ms):
                break
        return out

    def _take(self, limit: int) -> int:
        """Move up to ``limit`` samples from the rings into the pending queue."""
        pend = self._pending
        n = 0
        for ring in self._rings.values():
            n += self._process(ring, lambda cpu, rec: pend.append((cpu, rec)), limit - n)
            if n == limit:
                break
        return n

    def __iter__(self) -> Iterator[T]:
        """Yield samples forever, blocking while every ring is empty.

        Samples not yet yielded when the loop is left are kept and handed out first
        by the next read of any kind.
        """
        pend = self._pending
        guard = self._guard
        self._check()
        while True:
            with guard:
                if not pend:
                    self._take(4096)
                item = pend.popleft() if pend else None
            if item is None:
                self.wait(-1)
                continue
            yield item[1]

    # -- batches -----------------------------------------------------------------

    def batch(
        self, cpu: int | None = None, *, numpy_dtype: Any = None, max_records: int = -1
    ) -> PerfBatch:
        """The samples available now in one CPU's ring as a :class:`PerfBatch`.

        ``cpu`` picks the ring (None: the first one with data). As with
        :meth:`RingBuffer.batch`, the space goes back to the kernel only on release
        (use ``with``), and views must not be used afterwards. With ``numpy_dtype``
        (a numpy dtype, or a BTF type name such as ``"event"`` for readers from
        ``obj.perfbuf``) each sample must be ``dtype.itemsize`` bytes (up to the
        kernel's padding to 8 bytes) and :attr:`PerfBatch.array` is one strided numpy
        view of them. The batch ends before a lost record or a sample of another
        size; a sample that wraps around the end of the ring comes as a one-sample
        batch (a copy). Without ``numpy_dtype``, :attr:`PerfBatch.records` has every
        available sample (memoryviews; wrapped ones copied) and lost records are
        counted on the way. Samples kept by an abandoned iteration are not in batches.

        Example::

            with pb.batch(numpy_dtype="event") as b:
                print(b.cpu, b.array["seq"])
        """
        self._check()
        dt = self._dtype(numpy_dtype)
        with self._guard:
            self._check()
            return self._scan(self._ring_of(cpu), dt, max_records)

    def consume_batch(self, fn: Callable[[int, Any], object], *, numpy_dtype: Any = None) -> int:
        """Call ``fn(cpu, batch)`` for each batch of available samples, CPU by CPU,
        until every ring is empty; returns the number of samples.

        ``fn`` gets the numpy array view when ``numpy_dtype`` is given, else the
        :class:`PerfBatch`; each batch is released after ``fn`` returns, and a true
        return from ``fn`` stops. Lost records count into :attr:`lost` as usual.

        Example::

            n = pb.consume_batch(lambda cpu, a: print(cpu, a["seq"].max()), numpy_dtype="event")
        """
        self._check()
        dt = self._dtype(numpy_dtype)
        total = 0
        with self._guard:
            self._check()
            for ring in list(self._rings.values()):
                meta = ring.meta
                cpu = ring.cpu
                while meta[_TAIL] != meta[_HEAD]:
                    if dt is None:
                        b = self._scan(ring, None, -1)
                        if b.end == b.begin:
                            break
                        try:
                            ret = fn(cpu, b) if b.count else None
                        finally:
                            b.release()
                        total += b.count
                    else:  # no batch object: the tail is published here
                        begin = meta[_TAIL]
                        end, count, lost, wrapped, arr = self._cut(ring, dt, -1)
                        if end == begin:
                            break
                        try:
                            ret = fn(cpu, arr) if count else None
                        finally:
                            meta[_TAIL] = end
                            self.wrapped += wrapped
                            for c in lost:
                                self._lost(cpu, c)
                        total += count
                    if ret:
                        return total
        return total

    def advance_tail(
        self, ring: Any, begin: int, end: int, lost: Sequence[int], wrapped: int
    ) -> None:
        """Publish ``end`` as the tail of ``ring`` for a batch read from ``begin``
        (package-internal: :class:`~pybpf.events.batch.PerfBatch` calls it on release)."""
        if self.closed:
            return
        meta = ring.meta
        if meta[_TAIL] != begin:
            raise BPFError(
                f"perf buffer {self.name!r}: a batch of CPU {ring.cpu} was released out of "
                f"order (tail at {meta[_TAIL]}, batch starts at {begin})"
            )
        meta[_TAIL] = end
        self.wrapped += wrapped
        for count in lost:
            self._lost(ring.cpu, count)

    def _dtype(self, spec: Any) -> Any:
        """``numpy_dtype`` as a numpy dtype (BTF names looked up once), or None."""
        if spec is None:
            return None
        if not isinstance(spec, str):
            import numpy as np

            dt = np.dtype(spec)
        else:
            cache = self._dtype_cache
            dt = cache.get(spec)
            if dt is None:
                from pybpf.btf.named import numpy_dtype_by_name

                dt = cache[spec] = numpy_dtype_by_name(spec, self.btf, owner=self.name)
        if dt.itemsize == 0:
            raise EventError(f"perf buffer {self.name!r}: numpy_dtype {spec!r} has no bytes")
        return dt

    def _ring_of(self, cpu: int | None) -> _CpuRing:
        rings = list(self._rings.values())
        if cpu is None:
            for ring in rings:
                if ring.meta[_TAIL] != ring.meta[_HEAD]:
                    return ring
            return rings[0]
        for ring in rings:
            if ring.cpu == cpu:
                return ring
        raise UsageError(
            f"perf buffer {self.name!r} has no ring for CPU {cpu}: it reads CPUs {self.cpus}"
        )

    def _corrupt(self, ring: _CpuRing, rsize: int, pos: int) -> EventError:
        return EventError(
            f"perf buffer {self.name!r}: corrupt record of {rsize} bytes "
            f"on CPU {ring.cpu} at position {pos}"
        )

    @staticmethod
    def _joined(ring: _CpuRing, off: int, rsize: int) -> bytes:
        """The record at ``off`` that runs past the end of the ring, in one piece."""
        view = ring.view
        first = bytes(view[_PAGE + off : _PAGE + ring.size])
        return first + bytes(view[_PAGE : _PAGE + rsize - len(first)])

    def _scan(self, ring: _CpuRing, dt: Any, max_records: int) -> PerfBatch:
        """One batch of ``ring`` from its tail: numpy view (``dt``) or payload views."""
        meta, words, view = ring.meta, ring.words, ring.view
        size = ring.size
        mask = size - 1
        wmask = (size >> 3) - 1
        begin = pos = int(meta[_TAIL])
        head = int(meta[_HEAD])
        lost: list[int] = []
        if dt is None:
            records: list[memoryview] = []
            wrapped = 0
            window = 8
            while pos < head and len(records) != max_records:
                off = pos & mask
                word = words[off >> 3]
                rsize = word >> 48
                if rsize < 8:
                    raise self._corrupt(ring, rsize, pos)
                typ = word & 0xFFFFFFFF
                if typ != _SAMPLE:
                    if typ == _LOST:
                        lost.append(int(words[((off >> 3) + 2) & wmask]))
                    pos += rsize
                    continue
                if off + rsize > size:  # runs past the end: a copy of its two pieces
                    records.append(memoryview(self._joined(ring, off, rsize))[12:])
                    wrapped += 1
                    pos += rsize
                    continue
                at = _PAGE + off + 12
                raw = rsize - 12  # the sample carries only PERF_SAMPLE_RAW: u32 size + data
                k = min((head - pos), size - off) // rsize
                if k > window:
                    k = window
                if max_records >= 0:
                    k = min(k, max_records - len(records))
                if k >= 4:  # a run of equal-size samples: one strided read of the headers
                    step = rsize >> 3
                    firsts = words[off >> 3 : (off >> 3) + k * step : step].tolist()
                    k, window = equal_run(firsts, word, window)
                    records += [view[a : a + raw] for a in range(at, at + k * rsize, rsize)]
                    pos += k * rsize
                    continue
                records.append(view[at : at + raw])
                pos += rsize
            return PerfBatch(
                self, ring, begin, pos, len(records), lost=lost, wrapped=wrapped, records=records
            )

        end, count, lost, wrapped, arr = self._cut(ring, dt, max_records)
        return PerfBatch(self, ring, begin, end, count, lost=lost, wrapped=wrapped, array=arr)

    def _cut(
        self, ring: _CpuRing, dt: Any, max_records: int
    ) -> tuple[int, int, list[int], int, Any]:
        """The leading run of ``dt``-sized samples of ``ring`` as one numpy view:
        (end position, samples, lost counts, wrapped samples, array)."""
        import numpy as np

        meta, words = ring.meta, ring.words
        size = ring.size
        mask = size - 1
        wmask = (size >> 3) - 1
        begin = pos = int(meta[_TAIL])
        head = int(meta[_HEAD])
        lost: list[int] = []
        # lost (and other non-sample) records at the head of the batch
        while pos < head:
            off = pos & mask
            word = words[off >> 3]
            rsize = word >> 48
            if rsize < 8:
                raise self._corrupt(ring, rsize, pos)
            typ = word & 0xFFFFFFFF
            if typ == _SAMPLE:
                break
            if typ == _LOST:
                lost.append(int(words[((off >> 3) + 2) & wmask]))
            pos += rsize
        want = 8 + ((dt.itemsize + 4 + 7) & ~7)  # header + u32 size + the padded sample
        if pos >= head or max_records == 0:
            return pos, 0, lost, 0, np.empty(0, dt)
        off = pos & mask
        if rsize != want:
            self.advance_tail(ring, begin, pos + rsize, lost, 0)
            raise EventError(
                f"perf buffer {self.name!r}: a sample of {rsize - 12} bytes (padded) on CPU "
                f"{ring.cpu} does not match numpy_dtype of {dt.itemsize} bytes (sample at "
                f"position {pos} skipped); read mixed sizes with batch() without numpy_dtype"
            )
        if off + rsize > size:  # runs past the end: a one-sample batch, copied
            arr = np.frombuffer(self._joined(ring, off, rsize), dt, 1, 12)
            return pos + rsize, 1, lost, 1, arr
        n = min(head - pos, size - off) // rsize
        if max_records >= 0:
            n = min(n, max_records)
        if n == 0:
            return pos, 0, lost, 0, np.empty(0, dt)
        # views of the ring's numpy array, which keeps it mapped after close()
        region = ring.data_array()
        hdrs = np.ndarray((n,), "<u8", region, off, (rsize,))
        if (hdrs == word).all():  # the common case: misc equal too, one pass
            k = n
        else:
            same = (hdrs & np.uint64(_TYPE_SIZE)) == np.uint64(_SAMPLE | rsize << 48)
            k = n if same.all() else int(same.argmin())
        arr = np.ndarray((k,), dt, region, off + 12, (rsize,))
        arr.flags.writeable = False
        return pos + k * rsize, k, lost, 0, arr

    # -- asyncio -----------------------------------------------------------------

    def fileno(self) -> int:
        """The epoll fd: readable when some CPU's ring has data."""
        return self._epoll.fileno()

    async def events(self, *, chunk: int = 4096) -> AsyncIterator[T]:
        """Yield samples as they arrive, waiting in the running asyncio loop."""
        import asyncio  # only asyncio users pay for importing it

        loop = asyncio.get_running_loop()
        fd = self.fileno()
        ready = asyncio.Event()
        loop.add_reader(fd, ready.set)
        pend = self._pending
        try:
            while True:
                ready.clear()
                with self._guard:
                    got = pend or self._take(chunk)
                if got:
                    while pend:
                        yield pend.popleft()[1]
                    continue
                await ready.wait()
        finally:
            loop.remove_reader(fd)

    def __aiter__(self) -> AsyncIterator[T]:
        return self.events()

    # -- lifetime ----------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._map.closed

    def close(self) -> None:
        """Clear this reader's map slots, unmap the rings, close the events (idempotent)."""
        if self._map.closed:
            return
        with self._guard:
            self._close()

    def _close(self) -> None:
        if self._map.closed:
            return
        from pybpf.sys.maps import map_delete_elem

        try:
            self._lost_final = self.lost
        except OSError:
            self._lost_final = self._lost_seen

        for ring in self._rings.values():
            with contextlib.suppress(MapError):
                map_delete_elem(self._map, struct.pack("<I", ring.cpu))
            ring.close()
        self._rings.clear()
        self._epoll.close()
        self._map.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self._rings)} CPUs, lost={self.lost}"
        return f"<PerfBuffer {self.name!r} {state}>"
