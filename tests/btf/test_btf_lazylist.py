"""IntArrayList behaves like the plain list it stands for, before and after first use."""

from __future__ import annotations

import copy
import json
import pickle
import struct
from collections.abc import Callable
from typing import Any

import pytest

from pybpf.btf import BTF
from pybpf.btf.layout import Layout
from pybpf.btf.lazylist import IntArrayList, lazy_int_list
from pybpf.btf.reader import HEADER

RAW = bytes(range(5, 25))
PLAIN = list(RAW)
OPS: list[Callable[[list[int]], Any]] = [
    len,
    list,
    tuple,
    repr,
    str,
    sorted,
    sum,
    bool,
    json.dumps,
    lambda x: x[3],
    lambda x: x[-1],
    lambda x: x[2:9:2],
    lambda x: 7 in x,
    lambda x: 99 in x,
    lambda x: x == PLAIN,
    lambda x: x == PLAIN,
    lambda x: x != PLAIN,
    lambda x: x < [5, 7],
    lambda x: x + [1],  # noqa: RUF005 (the + operator is what is tested)
    lambda x: [1] + x,  # noqa: RUF005
    lambda x: x * 2,
    lambda x: 2 * x,
    lambda x: list(reversed(x)),
    lambda x: x.index(9),
    lambda x: x.count(9),
    lambda x: x.copy(),
    lambda x: bytes(x),
    lambda x: struct.pack(f"{len(PLAIN)}B", *x),
    lambda x: [*x],
    lambda x: dict(enumerate(x))[4],
    lambda x: pickle.loads(pickle.dumps(x)),
    copy.copy,
    copy.deepcopy,
]
MUTATIONS: list[Callable[[list[int]], Any]] = [
    lambda x: x.append(1),
    lambda x: x.extend([1, 2]),
    lambda x: x.insert(0, 3),
    lambda x: x.pop(),
    lambda x: x.remove(9),
    lambda x: x.sort(reverse=True),
    lambda x: x.reverse(),
    lambda x: x.clear(),
    lambda x: x.__setitem__(0, 42),
    lambda x: x.__delitem__(slice(0, 3)),
    lambda x: x.__iadd__([7]),
    lambda x: x.__imul__(2),
]


@pytest.mark.parametrize("op", OPS)
def test_reads_match_a_plain_list(op: Callable[[list[int]], Any]) -> None:
    lazy = lazy_int_list("B")(RAW)
    assert isinstance(lazy, list)
    assert op(lazy) == op(list(PLAIN))
    assert op(lazy) == op(list(PLAIN))  # again, now filled


@pytest.mark.parametrize("op", MUTATIONS)
def test_mutations_match_a_plain_list(op: Callable[[list[int]], Any]) -> None:
    lazy, plain = lazy_int_list("B")(RAW), list(PLAIN)
    assert op(lazy) == op(plain)
    assert lazy == plain and repr(lazy) == repr(plain)


def test_wider_and_signed_elements() -> None:
    vals = [-3, 70000, 0, 2**31 - 1]
    lazy = lazy_int_list("i")(struct.pack(f"={len(vals)}i", *vals))
    assert lazy == vals and repr(lazy) == repr(vals) and len(lazy) == 4
    assert type(lazy) is not IntArrayList and isinstance(lazy, IntArrayList)
    with pytest.raises(TypeError):
        hash(lazy)


def test_made_like_a_list_it_is_a_list() -> None:
    assert IntArrayList([1, 2]) == [1, 2] and len(IntArrayList()) == 0


def _rec_btf() -> BTF:
    """struct rec { u64 seq; u32 pid; u32 cpu; u8 data[112]; } as raw BTF."""
    strings = b"\0u8\0u32\0u64\0rec\0seq\0pid\0cpu\0data\0"
    off = {
        n: strings.index(b"\0" + n.encode() + b"\0") + 1
        for n in ("u8", "u32", "u64", "rec", "seq", "pid", "cpu", "data")
    }
    words = [
        off["u8"], 1 << 24, 1, 8,  # [1] u8
        off["u32"], 1 << 24, 4, 32,  # [2] u32
        off["u64"], 1 << 24, 8, 64,  # [3] u64
        0, 3 << 24, 0, 1, 2, 112,  # [4] u8[112]
        off["rec"], (4 << 24) | 4, 128,  # [5] struct rec
        off["seq"], 3, 0, off["pid"], 2, 64, off["cpu"], 2, 96, off["data"], 4, 128,
    ]  # fmt: skip
    types = struct.pack(f"<{len(words)}I", *words)
    hdr = HEADER.pack(0xEB9F, 1, 0, HEADER.size, 0, len(types), len(types), len(strings))
    return BTF.from_bytes(hdr + types + strings)


def test_records_decode_long_u8_arrays_lazily() -> None:
    b = _rec_btf()
    lay = Layout.for_type(b, 5)
    raw = bytes(range(128))
    rec = lay.decode(raw)
    assert isinstance(rec.data, IntArrayList)
    assert rec.data == list(raw[16:]) and rec.seq == int.from_bytes(raw[:8], "little")
    generic = Layout.for_type(_rec_btf(), 5)
    generic._fast_tried, generic._fast = True, None  # type: ignore[attr-defined]
    want = generic.decode(raw)
    assert type(want.data) is list
    assert rec == want and repr(rec) == repr(want) and rec._asdict() == want._asdict()
    assert lay.encode(rec) == raw  # encodes back from the lazy list


def test_two_pending_lists_compare_by_items() -> None:
    """Both operands are filled: two records decoded from equal bytes are equal."""
    make = lazy_int_list("I")
    raw = struct.pack("<16I", *range(16))
    assert make(raw) == make(raw)  # fresh pairs: each comparison starts with both pending
    assert (make(raw) != make(raw)) is False
    assert make(raw) <= make(raw) and make(raw) + make(raw) == list(range(16)) * 2
    assert make(raw) != make(bytes(64)) and make(bytes(64)) < make(raw)
    lay = Layout.for_type(_rec_btf(), 5)
    assert lay.decode(bytes(128)) == lay.decode(bytes(128)) == lay.zero()
