"""BTF encoder: byte-exact copies, full re-encodes and overrides read back equal."""

from __future__ import annotations

from pathlib import Path

import pytest
from btf_helpers import bpftool

from pybpf.btf import BTF, Datasec, DeclTag, Int, IntEncoding, Kind, Struct, VarSecinfo
from pybpf.btf.dump import dump_raw
from pybpf.btf.elfsec import btf_sections
from pybpf.errors import BTFError


def _same_types(a: BTF, b: BTF) -> None:
    assert len(a) == len(b)
    for tid in range(1, len(a)):
        assert a.type(tid) == b.type(tid), tid


def test_object_round_trips(btf_objects: list[Path]) -> None:
    for obj in btf_objects:
        raw, _ = btf_sections(obj.read_bytes())
        assert raw is not None
        b = BTF.from_bytes(raw)
        assert b.encode() == raw  # nothing overridden: byte-exact
        every = dict(b.own_types())
        _same_types(b, BTF.from_bytes(b.encode(every)))
        compact = b.encode(drop_strings=True)
        _same_types(b, BTF.from_bytes(compact))
        assert len(compact) <= len(raw)


def test_vmlinux_round_trips(kernel: None, vmlinux_btf: BTF) -> None:
    assert vmlinux_btf.encode() == vmlinux_btf.data
    again = BTF.from_bytes(vmlinux_btf.encode(drop_strings=True))
    _same_types(vmlinux_btf, again)


def test_datasec_fixup_and_sanitizing_overrides(bpf_obj, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    b = BTF.from_file(bpf_obj("btf_types"))
    overrides: dict[int, object] = {}
    for tid, t in b.own_types():
        if isinstance(t, Datasec):
            off, vs = 0, []
            for v in t.vars:
                size = b.size_of(v.type)
                vs.append(VarSecinfo(v.type, off, size))
                off += (size + 7) & ~7
            overrides[tid] = Datasec(t.name, off, tuple(vs))
        elif isinstance(t, DeclTag):
            overrides[tid] = Int(t.name, 1, IntEncoding.NONE, 8)  # what an old kernel accepts
    new_id = len(b)
    overrides[new_id] = Struct("appended", 0, ())
    raw = b.encode(overrides)  # type: ignore[arg-type]
    fixed = BTF.from_bytes(raw)
    assert len(fixed) == len(b) + 1
    data = fixed.type(fixed.find_one(".data", Kind.DATASEC))
    assert isinstance(data, Datasec) and data.size > 0
    assert [v.offset for v in data.vars] == [0, 176]
    assert not any(t.kind == Kind.DECL_TAG for _, t in fixed)
    assert fixed.type(new_id) == Struct("appended", 0, ())
    path = tmp_path / "fixed.btf"
    path.write_bytes(raw)
    assert dump_raw(fixed) == bpftool("btf", "dump", "file", str(path))


def test_bad_overrides(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    b = BTF.from_file(bpf_obj("btf_types"))
    with pytest.raises(BTFError, match="follow on"):
        b.encode({len(b) + 5: Struct("x", 0, ())})
    with pytest.raises(BTFError, match="u32"):
        b.encode({1: Int("big", 1 << 40, IntEncoding.NONE, 8)})
    with pytest.raises(BTFError, match="cannot override"):
        b.encode({0: Struct("x", 0, ())})
