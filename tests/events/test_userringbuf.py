"""UserRingBuffer: records written from Python, drained by events_userrb.bpf.c."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from pybpf.errors import MapError
from pybpf.events import UserRingBuffer

TOTALS = struct.Struct("<QQQq")  # records, sum, bytes, drained


@pytest.fixture()
def urbobj(kernel: None, bpf_obj: Any) -> Any:
    import pybpf

    with pybpf.load(bpf_obj("events_userrb")) as obj:
        yield obj


def drain(obj: Any) -> tuple[int, int, int, int]:
    out = obj.programs["drain"].test_run(ctx=bytes(TOTALS.size)).ctx_out
    return TOTALS.unpack(out)


def test_written_records_reach_the_program(urbobj: Any) -> None:
    with UserRingBuffer(urbobj.maps["urb"].fd) as urb:
        for v in (5, 7, 11):
            urb.write(struct.pack("<Q", v))
        res = urb.reserve(16)
        res.data[:] = struct.pack("<QQ", 100, 0)
        res.submit()
        dropped = urb.reserve(8)
        dropped.data[:] = struct.pack("<Q", 1000)
        dropped.discard()
        records, total, nbytes, drained = drain(urbobj)
        assert (records, total, nbytes) == (4, 123, 40)
        assert drained == 4
        assert urb.free_space() == urb.size
        assert drain(urbobj)[0] == 0


def test_full_ring_and_bad_sizes(urbobj: Any) -> None:
    with UserRingBuffer(urbobj.maps["urb"].fd) as urb:
        n = 0
        with pytest.raises(MapError, match="full"):
            while True:
                urb.write(struct.pack("<QQ", n, n))
                n += 1
        assert n == urb.size // 24
        with pytest.raises(MapError):
            urb.reserve(urb.size)
        records, total, _, _ = drain(urbobj)
        assert records == n and total == n * (n - 1) // 2
        urb.write(b"\x01" * 8)  # room again after the drain
        res = urb.reserve(8)
        res.submit()
        with pytest.raises(MapError, match="already"):
            res.submit()
