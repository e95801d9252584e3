""".BTF.ext: records agree with the ELF symbol table and the DWARF line table."""

from __future__ import annotations

import contextlib
import io
import re
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import need_tool

from pybpf.btf import BTF, Kind
from pybpf.btf.elfsec import btf_sections
from pybpf.btf.ext import (
    BTFExt,
    CoreReloKind,
    FuncInfo,
    LineInfo,
    encode_func_info,
    encode_line_info,
)
from pybpf.errors import BTFError


def _load(path: Path) -> tuple[BTF, BTFExt]:
    raw, ext = btf_sections(path.read_bytes())
    assert raw is not None and ext is not None
    btf = BTF.from_bytes(raw)
    return btf, BTFExt.from_bytes(ext, btf)


def _func_symbols(path: Path) -> dict[str, set[tuple[int, str]]]:
    elf = ELFFile(io.BytesIO(path.read_bytes()))
    out: dict[str, set[tuple[int, str]]] = {}
    for sym in elf.get_section_by_name(".symtab").iter_symbols():
        if sym["st_info"]["type"] == "STT_FUNC":
            sec = elf.get_section(sym["st_shndx"]).name
            out.setdefault(sec, set()).add((sym["st_value"], sym.name))
    return out


def test_func_info_matches_elf_symbols(btf_objects: list[Path]) -> None:
    seen = 0
    for obj in btf_objects:
        btf, ext = _load(obj)
        funcs = {
            sec: {(r.insn_off, btf.name_of(r.type_id)) for r in recs}
            for sec, recs in ext.func_info.items()
        }
        assert funcs == _func_symbols(obj), obj
        for recs in ext.func_info.values():
            for r in recs:
                assert btf.kind_of(r.type_id) == Kind.FUNC
                assert r.insn_index * 8 == r.insn_off
                seen += 1
    assert seen >= 10


def _dwarf_rows(path: Path) -> set[tuple[int, int, int]]:
    exe = need_tool("llvm-dwarfdump-19", "the reference for line_info")
    out = subprocess.run([exe, "--debug-line", str(path)], capture_output=True, text=True).stdout
    rows = set()
    for m in re.finditer(r"^0x([0-9a-f]{16})\s+(\d+)\s+(\d+)\s", out, re.M):
        rows.add((int(m[1], 16), int(m[2]), int(m[3])))
    return rows


def test_line_info_matches_dwarf(btf_objects: list[Path]) -> None:
    checked = 0
    for obj in btf_objects:
        _, ext = _load(obj)
        rows = _dwarf_rows(obj)
        starts = {off for s in _func_symbols(obj).values() for off, _ in s}
        src = obj.name.replace(".bpf.o", ".bpf.c")
        for sec, recs in ext.line_info.items():
            offs = [r.insn_off for r in recs]
            assert offs == sorted(offs), (obj, sec)
            for r in recs:
                if r.col == 0 and r.insn_off in starts:
                    continue  # function-start records carry the declaration line
                assert (r.insn_off, r.line, r.col) in rows, (obj, sec, r)
                if r.file_name.endswith(src):
                    text = (Path(r.file_name)).read_text().splitlines()[r.line - 1]
                    assert text == r.line_text
                checked += 1
    assert checked > 50


def test_core_relos_of_core_object(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    btf, ext = _load(bpf_obj("core"))
    (relos,) = ext.core_relos.values()
    kinds = {r.kind for r in relos}
    # core.bpf.c uses each of these CO-RE builtins at least once
    assert {
        CoreReloKind.FIELD_BYTE_OFFSET,
        CoreReloKind.FIELD_EXISTS,
        CoreReloKind.FIELD_BYTE_SIZE,
        CoreReloKind.FIELD_SIGNED,
        CoreReloKind.TYPE_EXISTS,
        CoreReloKind.TYPE_SIZE,
        CoreReloKind.ENUMVAL_VALUE,
    } <= kinds
    elf = ELFFile(io.BytesIO(bpf_obj("core").read_bytes()))
    (sec,) = ext.core_relos
    text_size = elf.get_section_by_name(sec).data_size
    for r in relos:
        assert 0 <= r.insn_off < text_size and r.insn_off % 8 == 0
        assert r.access_spec and r.access_spec[0] >= 0
        if r.kind <= CoreReloKind.FIELD_RSHIFT_U64:
            t = btf.type(btf.resolve(r.type_id))
            assert t.kind in (Kind.STRUCT, Kind.UNION)
    names = {btf.name_of(r.type_id) for r in relos}
    assert "task_struct___mine" in names
    # task_struct___mine.pid is member 1: "0:1"
    pid = [r for r in relos if btf.name_of(r.type_id) == "task_struct___mine"]
    assert any(r.access_str == "0:1" for r in pid)


def test_encoders_write_kernel_records(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    btf, ext = _load(bpf_obj("globals"))
    for recs in ext.func_info.values():
        raw = encode_func_info(recs)
        got = list(struct.iter_unpack("=II", raw))
        assert got == [(r.insn_off // 8, r.type_id) for r in recs]
    for recs in ext.line_info.values():
        raw = encode_line_info(recs, btf)
        for r, (insn, fname, line, lc) in zip(recs, struct.iter_unpack("=IIII", raw), strict=True):
            assert insn == r.insn_index
            assert btf.string(fname) == r.file_name and btf.string(line) == r.line_text
            assert (lc >> 10, lc & 0x3FF) == (r.line, r.col)
    # records made without string offsets are resolved by text
    r0 = next(iter(ext.line_info.values()))[0]
    bare = LineInfo(r0.insn_off, r0.file_name, r0.line_text, r0.line, r0.col)
    assert encode_line_info([bare], btf) == encode_line_info([r0], btf)
    with pytest.raises(BTFError, match="not in the BTF strings"):
        encode_line_info([LineInfo(0, "nope.c", "x", 1, 1)], btf)
    with pytest.raises(BTFError):
        encode_func_info([FuncInfo(-8, 1)])


def _ext_blob(rec_size: int, records: list[tuple[int, int]], name_off: int) -> bytes:
    body = struct.pack("<I", rec_size) + struct.pack("<II", name_off, len(records))
    for insn, tid in records:
        body += struct.pack("<II", insn, tid) + b"\xee" * (rec_size - 8)
    hdr = struct.pack("<HBBIIIIIII", 0xEB9F, 1, 0, 32, 0, len(body), len(body), 0, len(body), 0)
    return hdr + body


def test_larger_records_and_malformed(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    btf, _ = _load(bpf_obj("globals"))
    sec_off = btf.strings.index(b".text\0")
    e = BTFExt.from_bytes(_ext_blob(12, [(0, 1), (16, 2)], sec_off), btf)
    assert e.func_info == {".text": (FuncInfo(0, 1), FuncInfo(16, 2))}
    assert e.func_info_rec_size == 12
    with pytest.raises(BTFError, match="record size"):
        BTFExt.from_bytes(_ext_blob(4, [(0, 1)], sec_off), btf)
    with pytest.raises(BTFError, match="string offset"):
        BTFExt.from_bytes(_ext_blob(8, [(0, 1)], 1 << 30), btf)
    with pytest.raises(BTFError) as ei:
        BTFExt.from_bytes(_ext_blob(8, [(0, 1)], sec_off)[:-3], btf, section="x.ext")
    assert ei.value.section == "x.ext" and ei.value.offset is not None


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzz_ext_only_btferror(bpf_obj, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    raw, ext = btf_sections(bpf_obj("core").read_bytes())
    assert raw is not None and ext is not None
    btf = BTF.from_bytes(raw)
    blob = bytearray(ext)
    cut = data.draw(st.integers(0, len(blob)))
    for _ in range(data.draw(st.integers(0, 4))):
        pos = data.draw(st.integers(0, len(blob) - 1))
        blob[pos] = data.draw(st.integers(0, 255))
    try:
        e = BTFExt.from_bytes(bytes(blob[: cut or len(blob)]), btf)
        for recs in e.core_relos.values():
            for r in recs:
                with contextlib.suppress(BTFError):
                    assert isinstance(r.access_spec, tuple)
    except BTFError:
        pass
