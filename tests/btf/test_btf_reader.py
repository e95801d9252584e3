"""BTF reader: parses real objects and vmlinux exactly as bpftool reads them."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from btf_helpers import bpftool

from pybpf.btf import (
    BTF,
    Array,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Float,
    FuncProto,
    Int,
    Kind,
    Struct,
    TypeTag,
    Union,
    Var,
)
from pybpf.btf.dump import dump_raw
from pybpf.btf.elfsec import btf_sections
from pybpf.btf.encode import StringTable, encode_type
from pybpf.errors import BTFError


def test_objects_match_bpftool_raw_dump(btf_objects: list[Path]) -> None:
    for obj in btf_objects:
        assert dump_raw(BTF.from_file(obj)) == bpftool("btf", "dump", "file", str(obj)), obj


def test_vmlinux_matches_bpftool_raw_dump(kernel: None, vmlinux_btf: BTF) -> None:
    ref = bpftool("btf", "dump", "file", "/sys/kernel/btf/vmlinux")
    mine = dump_raw(vmlinux_btf)
    assert mine.count("\n[") > 100_000
    assert mine == ref


def _bpftool_members(text: str, tid: int) -> list[tuple[str, int, int, int]]:
    block = re.search(rf"^\[{tid}\] STRUCT .*?\n((?:\t.*\n)*)", text, re.M)
    assert block
    out = []
    for line in block.group(1).splitlines():
        m = re.match(r"\t'(.*)' type_id=(\d+) bits_offset=(\d+)(?: bitfield_size=(\d+))?", line)
        assert m, line
        out.append((m[1] if m[1] != "(anon)" else "", int(m[2]), int(m[3]), int(m[4] or 0)))
    return out


def test_task_struct_members_match_bpftool(kernel: None, vmlinux_btf: BTF) -> None:
    (tid,) = vmlinux_btf.find("task_struct", Kind.STRUCT)
    t = vmlinux_btf.type(tid)
    assert isinstance(t, Struct)
    ref = _bpftool_members(bpftool("btf", "dump", "file", "/sys/kernel/btf/vmlinux"), tid)
    assert [(m.name, m.type, m.bit_offset, m.bitfield_size) for m in t.members] == ref
    assert len(ref) > 50
    assert vmlinux_btf.size_of(tid) == t.size
    pid = next(m for m in t.members if m.name == "pid")
    assert vmlinux_btf.type_name(pid.type) == "pid_t"
    assert vmlinux_btf.size_of(pid.type) == 4


def test_vmlinux_queries(kernel: None, vmlinux_btf: BTF) -> None:
    b = vmlinux_btf
    assert len(b) == b.type_count > 100_000
    ids = b.find("task_struct")
    assert ids and all(b.name_of(i) == "task_struct" for i in ids)
    assert b.find("no_such_type_in_any_kernel__") == []
    (ptr_fn,) = b.find("__x64_sys_bpf", Kind.FUNC)
    assert b.type_name(ptr_fn) == "long int __x64_sys_bpf(const struct pt_regs *)"
    # resolve() walks typedef chains: u32 -> __u32 -> unsigned int
    (u32,) = b.find("u32", Kind.TYPEDEF)
    r = b.type(b.resolve(u32))
    assert isinstance(r, Int) and r.size == 4 and not r.signed
    assert b.align_of(b.find_one("task_struct", Kind.STRUCT)) >= 8
    for tid, t in b:
        assert b.kind_of(tid) == t.kind
        if tid > 2000:
            break


def test_btf_types_object_kinds(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    b = BTF.from_file(bpf_obj("btf_types"))
    kinds = {t.kind for _, t in b}
    assert {
        Kind.DECL_TAG,
        Kind.TYPE_TAG,
        Kind.FLOAT,
        Kind.ENUM64,
        Kind.UNION,
        Kind.DATASEC,
    } <= kinds
    bits = b.type(b.find_one("btf_bits", Kind.STRUCT))
    assert isinstance(bits, Struct)
    assert [(m.name, m.bit_offset, m.bitfield_size) for m in bits.members][:3] == [
        ("a", 0, 3),
        ("b", 3, 5),
        ("c", 8, 7),
    ]
    sign = b.type(b.find_one("btf_signed"))
    assert isinstance(sign, Enum) and sign.signed
    assert {v.name: v.value for v in sign.values}["BTF_NEG"] == -2
    big = b.type(b.find_one("btf_big"))
    assert isinstance(big, Enum64)
    assert {v.name: v.value for v in big.values}["BTF_BIG_TOP"] == 0xFFFFFFFF00000000
    val = b.type(b.find_one("btf_value"))
    assert isinstance(val, Union) and val.size == 8
    (tag,) = [t for _, t in b if isinstance(t, DeclTag) and t.name == "event_tag"]
    assert tag.component_idx == -1 and b.name_of(tag.type) == "btf_event"
    (arg,) = [t for _, t in b if isinstance(t, DeclTag) and t.name == "arg_tag"]
    assert arg.component_idx == 0 and b.kind_of(arg.type) == Kind.FUNC
    assert any(isinstance(t, TypeTag) and t.name == "user" for _, t in b)
    assert any(isinstance(t, Float) and t.name == "double" and t.size == 8 for _, t in b)
    cb = b.find_one("btf_callback_t", Kind.TYPEDEF)
    assert b.type_name(cb) == "btf_callback_t"
    proto = b.type(b.resolve(b.type(b.resolve(cb)).type))  # type: ignore[union-attr]
    assert isinstance(proto, FuncProto) and proto.variadic
    assert b.type_name(b.type(cb).type) == "int (*)(void *, int, ...)"  # type: ignore[union-attr]
    ev = b.find_one("btf_event", Kind.STRUCT)
    assert b.type_name(ev) == "struct btf_event"
    nested = next(m for m in b.type(ev).members if m.name == "nested")  # type: ignore[union-attr]
    assert b.type_name(nested.type) == "long long[2][3]"
    assert b.size_of(nested.type) == 48
    packed = b.find_one("btf_packed", Kind.STRUCT)
    assert b.size_of(packed) == 7 and b.align_of(packed) == 1
    assert b.align_of(ev) == 8
    secs = {t.name: t for _, t in b if isinstance(t, Datasec)}
    assert {".data", ".rodata", ".bss"} <= set(secs)
    bss_vars = {b.name_of(v.type) for v in secs[".bss"].vars}
    assert {"btf_bss_event", "btf_bss_counter", "btf_bss_packed"} <= bss_vars
    var = b.type(b.find_one("btf_rodata_limit", Kind.VAR))
    assert isinstance(var, Var)
    assert b.type_name(var.type) == "const volatile __u64"
    arr = b.type(b.resolve(b.type(b.find_one("btf_rodata_name")).type))  # type: ignore[union-attr]
    assert isinstance(arr, Array) and arr.nelems == 8
    with pytest.raises(BTFError):
        b.find_one("no_such_type")
    with pytest.raises(BTFError):
        b.type(len(b))
    with pytest.raises(BTFError):
        b.size_of(b.find_one("btf_types_prog", Kind.FUNC))


def _split(full: BTF, first_split: int) -> tuple[bytes, bytes]:
    """Cut ``full`` into a base blob (ids < first_split) and a split blob (the rest)."""
    hdr = struct.Struct("<HBBIIIII")
    base_types = b"".join(full.raw_record(i) for i in range(1, first_split))
    strs = full.strings
    base = hdr.pack(0xEB9F, 1, 0, 24, 0, len(base_types), len(base_types), len(strs))
    base += base_types + strs
    table = StringTable(b"", start=len(strs))
    words: list[int] = []
    for tid in range(first_split, full.type_count):
        words += encode_type(full.type(tid), table)
    types = struct.pack(f"<{len(words)}I", *words)
    split = hdr.pack(0xEB9F, 1, 0, 24, 0, len(types), len(types), len(table.buf))
    return base, split + types + bytes(table.buf)


def test_split_btf(bpf_obj, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    full = BTF.from_file(bpf_obj("btf_types"))
    base_raw, split_raw = _split(full, 20)
    base = BTF.from_bytes(base_raw)
    split = BTF.from_bytes(split_raw, base=base, name="split")
    assert split.start_id == 20 and len(split) == len(full)
    for tid, t in full:
        assert split.type(tid) == t
    assert split.find("btf_event") == full.find("btf_event")
    assert split.find("int") == full.find("int")  # found in the base
    # bpftool reads our split blob the same way
    (tmp_path / "base").write_bytes(base_raw)
    (tmp_path / "split").write_bytes(split_raw)
    ref = bpftool("btf", "dump", "-B", str(tmp_path / "base"), "file", str(tmp_path / "split"))
    assert dump_raw(split) == ref
    # and re-encoding the split blob keeps it split
    again = BTF.from_bytes(split.encode(), base=base)
    assert [t for _, t in again.own_types()] == [t for _, t in split.own_types()]


def test_errors_name_section_and_offset(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    raw, _ = btf_sections(bpf_obj("btf_types").read_bytes())
    assert raw is not None
    with pytest.raises(BTFError) as ei:
        BTF.from_bytes(raw[:10])
    assert ei.value.section == ".BTF" and ei.value.offset == 0
    bad = bytearray(raw)
    bad[24 + 4 + 3] = 0x1F  # kind of type [1] := 31
    with pytest.raises(BTFError, match="unknown kind 31") as ei:
        BTF.from_bytes(bytes(bad), name=".BTF(obj)")
    assert ei.value.section == ".BTF(obj)" and ei.value.offset == 24 + 4
    with pytest.raises(BTFError, match="magic"):
        BTF.from_bytes(b"\0" * 40)
    with pytest.raises(BTFError, match=r"no \.BTF"):
        BTF.from_file(bpf_obj("legacy_hello"))
