"""Producer side of a user ring buffer (``BPF_MAP_TYPE_USER_RINGBUF``).

The roles of a BPF ring buffer are swapped: user space owns the producer page
and writes records into the (double-mapped) data area, and BPF programs consume
them with ``bpf_user_ringbuf_drain``. A record is reserved with its BUSY bit set
and the producer position advanced, filled in place, then submitted (BUSY cleared)
or discarded. One producer at a time: this class is not thread-safe.
"""

from __future__ import annotations

import errno
import mmap

from pybpf.errors import MapError
from pybpf.events._lifetime import Closing, unmap
from pybpf.events._mapinfo import HasFileno, dup_map_fd
from pybpf.events.ringbuf import BUSY_BIT, DISCARD_BIT, HDR_SIZE
from pybpf.uapi.enums import MapType

__all__ = ["Reservation", "UserRingBuffer"]

_PAGE = mmap.PAGESIZE


class Reservation:
    """A reserved record: fill :attr:`data`, then :meth:`submit` or :meth:`discard`."""

    __slots__ = ("_done", "_ring", "data", "pos", "size")

    def __init__(self, ring: UserRingBuffer, pos: int, size: int, data: memoryview) -> None:
        self._ring = ring
        self.pos = pos
        self.size = size
        self.data = data
        """Writable view of the record's payload in the ring."""
        self._done = False

    def submit(self) -> None:
        """Hand the record to the BPF consumer."""
        self._ring._finish(self, self.size)

    def discard(self) -> None:
        """Drop the record (the consumer skips it)."""
        self._ring._finish(self, self.size | DISCARD_BIT)


class UserRingBuffer(Closing):
    """Writes records for BPF programs that drain a user ring buffer map."""

    def __init__(self, map_fd: int | HasFileno) -> None:
        self._fd, info = dup_map_fd(map_fd, MapType.USER_RINGBUF, "user ring buffer")
        self.name = info.name
        self.size = info.max_entries
        self._mask = self.size - 1
        fd = self._fd.fileno()
        try:
            self._cons_mm = mmap.mmap(fd, _PAGE, mmap.MAP_SHARED, mmap.PROT_READ, offset=0)
            self._prod_mm = mmap.mmap(
                fd,
                _PAGE + 2 * self.size,
                mmap.MAP_SHARED,
                mmap.PROT_READ | mmap.PROT_WRITE,
                offset=_PAGE,
            )
        except OSError as exc:
            self._fd.close()
            raise MapError(f"mmap user ring buffer {self.name!r}", exc.errno or 0) from exc
        self._cons = memoryview(self._cons_mm).cast("Q")
        self._view = memoryview(self._prod_mm)
        self._prod = self._view[:_PAGE].cast("Q")
        self._hdr = self._view[_PAGE:].cast("I")

    def free_space(self) -> int:
        """Bytes a new record may use now (headers included)."""
        return int(self.size - (self._prod[0] - self._cons[0]))

    def reserve(self, size: int) -> Reservation:
        """Reserve ``size`` payload bytes; raises :class:`MapError` (ENOSPC) when full."""
        total = (size + HDR_SIZE + 7) & ~7
        if size <= 0 or total > self.size:
            raise MapError(
                f"reserve {size} bytes in user ring buffer {self.name!r}",
                errno.E2BIG,
                f"a record must be 1..{self.size - HDR_SIZE} bytes",
            )
        prod = int(self._prod[0])
        if total > self.size - (prod - int(self._cons[0])):
            raise MapError(
                f"reserve {size} bytes in user ring buffer {self.name!r}",
                errno.ENOSPC,
                "the ring is full",
                hint="let the BPF program drain it first",
            )
        off = prod & self._mask
        self._hdr[off >> 2] = size | BUSY_BIT
        self._hdr[(off >> 2) + 1] = 0
        self._prod[0] = prod + total  # publish: the consumer stops at the BUSY record
        start = _PAGE + off + HDR_SIZE
        return Reservation(self, prod, size, self._view[start : start + size])

    def _finish(self, res: Reservation, value: int) -> None:
        if res._done:
            raise MapError(
                f"finish record at {res.pos} of {self.name!r}", errno.EINVAL, "already done"
            )
        res._done = True
        res.data.release()
        self._hdr[(res.pos & self._mask) >> 2] = value

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Reserve, copy ``data`` in and submit."""
        res = self.reserve(len(data))
        res.data[:] = data
        res.submit()

    def close(self) -> None:
        """Unmap the ring and close the fd (idempotent)."""
        if self._fd.closed:
            return
        unmap((self._hdr, self._prod, self._view, self._cons), (self._prod_mm, self._cons_mm))
        self._fd.close()
