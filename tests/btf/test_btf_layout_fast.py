"""Generated struct decoders give exactly the generic path's values (types, reprs)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from pybpf.btf import BTF, Kind
from pybpf.btf.layout import Layout, Record, _RecordLayout
from pybpf.btf.layout_fast import fast_decoder
from pybpf.errors import BTFError


def _shape(v: Any) -> Any:
    """Type and value structure, with floats by repr (NaN != NaN)."""
    if isinstance(v, Record):
        return (type(v).__name__, v._fields, [_shape(x) for x in v])
    if isinstance(v, list):  # IntArrayList included: it must equal the plain list
        return ["list", [_shape(x) for x in v]]
    if isinstance(v, float):
        return ("float", repr(v))
    return (type(v).__name__, v, repr(v))


def _generic(lay: _RecordLayout) -> _RecordLayout:
    lay._fast_tried, lay._fast = True, None  # force the generic path
    return lay


def _check_btf(btf: BTF, limit: int) -> int:
    rng = random.Random(7)
    checked = 0
    for tid in range(1, len(btf)):
        if btf.kind_of(tid) != Kind.STRUCT:
            continue
        try:
            lay = Layout.for_type(btf, tid)
        except BTFError:
            continue
        assert isinstance(lay, _RecordLayout)
        fast = fast_decoder(lay)
        if fast is None or lay.size > 4096:
            continue
        generic = _generic(lay)
        for _ in range(3):
            buf = bytes(rng.getrandbits(8) for _ in range(lay.size + 3))
            want = generic.decode(buf, 3)
            got = fast(buf, 3)
            assert _shape(got) == _shape(want), btf.type_name(tid)
            assert repr(got) == repr(want)
        if lay.size:
            with pytest.raises(BTFError, match="cannot decode"):
                fast(bytes(lay.size - 1))
        checked += 1
        if checked == limit:
            break
    return checked


def test_fast_decoder_matches_generic_on_test_objects(btf_objects) -> None:  # type: ignore[no-untyped-def]
    total = sum(_check_btf(BTF.from_file(p), 10_000) for p in btf_objects)
    assert total >= 20


def test_fast_decoder_matches_generic_on_kernel_structs(kernel: None, vmlinux_btf: BTF) -> None:
    assert _check_btf(vmlinux_btf, 300) == 300


def test_decoder_of_bitfield_struct_is_the_generic_one(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    b = BTF.from_file(bpf_obj("btf_types"))
    lay = Layout.for_type(b, b.find_one("btf_bits", Kind.STRUCT))
    assert fast_decoder(lay) is None
    assert lay.decoder() == lay.decode
