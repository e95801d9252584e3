"""Zero-copy batches of ring-buffer records: views into the ring, released at once.

A batch covers the committed records between the consumer position and the first
record still being written. Fixed-size records become one strided numpy view
(headers checked with vectorised numpy operations, no per-record Python work);
variable-size records become a list of memoryviews. The ring space is returned
to producers only when the batch is released.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from pybpf.errors import EventError

if TYPE_CHECKING:
    from pybpf.events.perfbuf import PerfBuffer
    from pybpf.events.ringbuf import RingBuffer

__all__ = ["PerfBatch", "RingBatch", "equal_run", "scan_fixed", "scan_records"]

_BUSY = 1 << 31
_DISCARD = 1 << 30
_LEN_MASK = _DISCARD - 1


def equal_run(heads: list[int], first: int, window: int) -> tuple[int, int]:
    """How many leading ``heads`` (record headers read with one strided slice) equal
    ``first``, and the next look-ahead window: doubled (up to 65,536) when all did,
    back to 8 when the run ended inside it. The per-record readers use it to cut
    runs of equal-size records in one go."""
    k = len(heads)
    if heads.count(first) == k:
        return k, window * 2 if window < 65536 else window
    k = 1
    while heads[k] == first:
        k += 1
    return k, 8


class _Batch:
    """What :class:`RingBatch` and :class:`PerfBatch` share: the payload views, the
    numpy view, ``with`` and the pandas frame. A subclass says which reader holds the
    batch (:meth:`_reader`, None once released), how its decoder takes a payload and
    what one item is called in messages."""

    __slots__ = ("_records", "array", "count")
    _records: list[memoryview] | None
    array: Any
    count: int
    _items = "records"  # what one item is called in messages

    def _reader(self) -> Any:
        """The reader the batch came from; None once released."""
        raise NotImplementedError

    def _decode(self, decoder: Any, payload: memoryview) -> Any:
        return decoder(bytes(payload))

    def release(self) -> None:
        raise NotImplementedError

    @property
    def records(self) -> list[memoryview]:
        """One memoryview per payload."""
        if self._records is None:
            arr = self.array
            self._records = [] if arr is None else [memoryview(r).cast("B") for r in arr]
        return self._records

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[memoryview]:
        return iter(self.records)

    @property
    def released(self) -> bool:
        """True once the ring space was given back."""
        return self._reader() is None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def to_pandas(self) -> Any:
        """The payloads as a pandas DataFrame, one row each, one column per field.

        Needs a ``numpy_dtype`` batch (``batch(numpy_dtype="event")``) or a reader
        made with ``event_type=``; the frame is a copy, valid after :meth:`release`.

        Example::

            with rb.batch(numpy_dtype="event") as b:
                df = b.to_pandas()
        """
        from pybpf.frames import dataframe, require_pandas

        if self.array is not None:
            return dataframe([(self.array, "value")])
        reader = self._reader()
        decoder = getattr(reader, "decoder", None)
        if reader is None:
            raise EventError("to_pandas: the batch was released")
        if decoder is None:
            raise EventError(
                f"to_pandas needs typed {self._items}: batch(numpy_dtype='event') or a reader "
                "made with event_type='event'"
            )
        pd = require_pandas()
        rows = [self._decode(decoder, r) for r in self.records]
        return pd.DataFrame.from_records(
            [r._asdict() if hasattr(r, "_asdict") else {"value": r} for r in rows]
        )


class RingBatch(_Batch):
    """Records available in a ring at one moment, as views into the ring's memory.

    ``records`` (memoryviews of the payloads) or ``array`` (numpy view, for
    fixed-size batches) are valid until :meth:`release`, which advances the
    consumer position; copy anything kept longer. ``discarded`` counts records the
    producer discarded inside the batch's range (skipped).
    """

    __slots__ = ("_ring", "begin", "discarded", "end", "raw")

    def __init__(
        self,
        ring: RingBuffer[Any],
        raw: memoryview,
        begin: int,
        end: int,
        count: int,
        discarded: int,
        *,
        records: list[memoryview] | None = None,
        array: Any = None,
    ) -> None:
        self._ring: RingBuffer[Any] | None = ring
        self.raw = raw
        """The batch's bytes in the ring, record headers included."""
        self.begin = begin
        self.end = end
        self.count = count
        self.discarded = discarded
        self._records = records
        self.array = array
        """numpy structured view of the records (``numpy_dtype`` batches), else None."""

    def _reader(self) -> Any:
        return self._ring

    def release(self) -> None:
        """Give the batch's ring space back to producers (idempotent)."""
        ring, self._ring = self._ring, None
        if ring is not None:
            self._records = None
            ring.advance_consumer(self.begin, self.end, self.discarded)

    def __repr__(self) -> str:
        state = "released" if self._ring is None else "held"
        return f"<RingBatch {self.count} records, {self.end - self.begin} bytes, {state}>"


class PerfBatch(_Batch):
    """Samples available in one CPU's perf ring at one moment: :class:`RingBatch`'s
    twin for :class:`~pybpf.events.perfbuf.PerfBuffer`.

    ``array`` (numpy view, ``numpy_dtype`` batches) or ``records`` (memoryviews of
    the raw payloads, padding included) are valid until :meth:`release`, which
    moves the CPU ring's tail past the batch; copy anything kept longer. ``lost``
    is the number of samples the kernel reported dropped inside the batch's range
    (added to the reader's ``lost`` on release). A sample that ran past the end of
    the ring is a copy, so views and copies may mix in one batch.

    Example::

        with pb.batch(numpy_dtype="event") as b:
            print(b.cpu, len(b), b.array["seq"][:3])
    """

    __slots__ = ("_lost_counts", "_owner", "_ring", "begin", "cpu", "end", "wrapped")

    _items = "samples"

    def __init__(
        self,
        owner: PerfBuffer[Any],
        ring: Any,
        begin: int,
        end: int,
        count: int,
        *,
        lost: list[int],
        wrapped: int = 0,
        records: list[memoryview] | None = None,
        array: Any = None,
    ) -> None:
        self._owner: PerfBuffer[Any] | None = owner
        self._ring = ring
        self.cpu: int = ring.cpu
        """The CPU whose ring the samples came from."""
        self.begin = begin
        self.end = end
        self.count = count
        self._lost_counts = lost
        self.wrapped = wrapped
        self._records = records
        self.array = array
        """numpy structured view of the samples (``numpy_dtype`` batches), else None."""

    @property
    def lost(self) -> int:
        """Samples the kernel dropped, as reported by lost records inside the batch."""
        return sum(self._lost_counts)

    def _reader(self) -> Any:
        return self._owner

    def _decode(self, decoder: Any, payload: memoryview) -> Any:
        return decoder(memoryview(bytes(payload)))

    def release(self) -> None:
        """Give the batch's ring space back to the kernel (idempotent)."""
        owner, self._owner = self._owner, None
        if owner is not None:
            self._records = None
            owner.advance_tail(self._ring, self.begin, self.end, self._lost_counts, self.wrapped)

    def __repr__(self) -> str:
        state = "released" if self._owner is None else "held"
        return f"<PerfBatch CPU {self.cpu}: {self.count} samples, lost {self.lost}, {state}>"


def scan_records(
    ring: RingBuffer[Any],
    data: memoryview,
    hdr: memoryview,
    start: int,
    cons: int,
    prod: int,
    max_records: int,
) -> RingBatch:
    """Walk the headers from ``cons`` and collect payload views (variable-size records).

    Runs of equal-size records are recognised from one strided read of their
    headers and sliced in a comprehension instead of record by record.
    """
    mask = ring.size - 1
    base = start - (cons & mask)
    records: list[memoryview] = []
    discarded = 0
    pos = cons
    window = 8
    while pos < prod and len(records) != max_records:
        off = pos & mask
        ln = hdr[off >> 2]
        if ln & _BUSY:
            break
        size = ln & _LEN_MASK
        stride = (size + 15) & ~7
        if ln & _DISCARD:
            pos += stride
            discarded += 1
            continue
        k = min((prod - pos) // stride, window)
        if max_records >= 0:
            k = min(k, max_records - len(records))
        if k >= 4:
            step = stride >> 2
            lens = hdr[off >> 2 : (off >> 2) + k * step : step].tolist()
            if lens.count(ln) == k:
                window = min(window * 2, 1 << 16)
            else:
                k = 1
                while lens[k] == ln:
                    k += 1
                window = 8
            at = base + off + 8
            records += [data[a : a + size] for a in range(at, at + k * stride, stride)]
            pos += k * stride
            continue
        at = base + off + 8
        records.append(data[at : at + size])
        pos += stride
    raw = data[start : start + (pos - cons)]
    return RingBatch(ring, raw, cons, pos, len(records), discarded, records=records)


def scan_fixed(
    ring: RingBuffer[Any],
    data: memoryview,
    start: int,
    cons: int,
    prod: int,
    dtype_like: Any,
    max_records: int,
) -> RingBatch:
    """Expose the leading run of ``dtype.itemsize``-byte records as one strided numpy view.

    Discarded records of any size at the head are skipped; the batch ends before
    a busy record or one of another size. A head record of another size raises
    :class:`EventError` after being skipped, so the reader can go on.
    """
    import numpy as np

    dt = np.dtype(dtype_like)
    rec = dt.itemsize
    stride = (rec + 15) & ~7
    mask = ring.size - 1
    base = start - (cons & mask)
    hdr_dt = np.dtype("<u4")
    pos = cons
    head_discarded = 0
    # skip discarded records (any size) at the head, and fail on a foreign size
    while pos < prod:
        off = base + (pos & mask)
        ln = int(np.frombuffer(data, hdr_dt, 1, off)[0])
        if ln & _BUSY or (ln & _LEN_MASK == rec and not ln & _DISCARD):
            break
        size = ln & _LEN_MASK
        at = pos
        pos += (size + 15) & ~7
        if ln & _DISCARD:
            head_discarded += 1
            continue
        ring.advance_consumer(cons, pos, head_discarded)
        raise EventError(
            f"ring buffer {ring.name!r}: a record of {size} bytes does not match "
            f"numpy_dtype of {rec} bytes (record at position {at} skipped)"
        )
    first = base + (pos & mask)
    n = (prod - pos) // stride
    if max_records >= 0:
        n = min(n, max_records)
    # views of the ring's numpy array, which holds the mapping for as long as they live
    # (an array made on the memoryview itself would not keep the ring mapped after close)
    region = ring.data_array()
    hdrs = np.ndarray((n,), hdr_dt, buffer=region, offset=first, strides=(stride,))
    arr = np.ndarray((n,), dt, buffer=region, offset=first + 8, strides=(stride,))
    discarded = 0
    k = n
    if n and not (hdrs == rec).all():  # one pass in the common case: all committed, kept
        lens = hdrs & np.uint32(~_DISCARD & 0xFFFFFFFF)  # keeps BUSY: a busy one mismatches
        bad = lens != rec
        if bad.any():
            k = int(bad.argmax())
            hdrs, arr = hdrs[:k], arr[:k]
        dropped = (hdrs & np.uint32(_DISCARD)) != 0
        discarded = int(dropped.sum())
        if discarded:
            arr = arr[~dropped]  # a compacted copy; the common case stays zero-copy
    end = pos + k * stride
    raw = data[start : start + (end - cons)]
    return RingBatch(ring, raw, cons, end, k - discarded, head_discarded + discarded, array=arr)
