"""Encode the merged ``.BTF`` and ``.BTF.ext`` sections of the linked object (pure).

``.BTF.ext`` records of every input are rebased to where their section landed
(``insn_off`` in bytes, as in object files) and their type ids follow the merge
and the dedup. Its strings (section and file names, source lines, CO-RE access
strings) live in the ``.BTF`` string section.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from pybpf.btf.encode import StringTable, encode_type
from pybpf.btf.ext import (
    CORE_RELO_SIZE,
    FUNC_INFO_SIZE,
    LINE_INFO_SIZE,
    CoreRelo,
    FuncInfo,
    LineInfo,
)
from pybpf.btf.types import Type
from pybpf.errors import ObjectError
from pybpf.linker.inputs import LinkInput
from pybpf.linker.layout import Placement

__all__ = ["ExtRecords", "collect_ext", "encode_btf", "encode_ext"]

_HDR = struct.Struct("<HBBIIIII")
_EXT_HDR = struct.Struct("<HBBIIIIIII")
_MAGIC = 0xEB9F


@dataclass
class ExtRecords:
    """Rebased records per output section name, in output order."""

    func_info: dict[str, list[FuncInfo]] = field(default_factory=dict)
    line_info: dict[str, list[LineInfo]] = field(default_factory=dict)
    core_relos: dict[str, list[CoreRelo]] = field(default_factory=dict)


def _offset(p: Placement, i: int, inp: LinkInput, name: str) -> int:
    sec = inp.elf.section(name)
    placed = p.of(i, sec.index) if sec is not None else None
    if placed is None:
        raise ObjectError(f".BTF.ext refers to section {name!r}, not in the object", file=inp.file)
    return placed[1]


def collect_ext(
    inputs: list[LinkInput], p: Placement, type_id: Callable[[int, int], int]
) -> ExtRecords:
    """Every input's records, rebased; ``type_id(input, old id)`` gives the final id."""
    out = ExtRecords()
    for i, inp in enumerate(inputs):
        if inp.ext is None:
            continue
        for name, fis in inp.ext.func_info.items():
            off = _offset(p, i, inp, name)
            out.func_info.setdefault(name, []).extend(
                FuncInfo(r.insn_off + off, type_id(i, r.type_id)) for r in fis
            )
        for name, lis in inp.ext.line_info.items():
            off = _offset(p, i, inp, name)
            out.line_info.setdefault(name, []).extend(
                LineInfo(r.insn_off + off, r.file_name, r.line_text, r.line, r.col) for r in lis
            )
        for name, crs in inp.ext.core_relos.items():
            off = _offset(p, i, inp, name)
            out.core_relos.setdefault(name, []).extend(
                CoreRelo(r.insn_off + off, type_id(i, r.type_id), r.access_str, r.kind) for r in crs
            )
    return out


def encode_types(types: list[Type], strings: StringTable) -> bytes:
    """The type section: every type but void, in id order."""
    words: list[int] = []
    for t in types[1:]:
        words += encode_type(t, strings)
    return struct.pack(f"<{len(words)}I", *words)


def encode_btf(type_data: bytes, strings: StringTable) -> bytes:
    """A ``.BTF`` blob from encoded types and the final string table."""
    strs = bytes(strings.buf)
    hdr = _HDR.pack(_MAGIC, 1, 0, _HDR.size, 0, len(type_data), len(type_data), len(strs))
    return hdr + type_data + strs


def _block(rec_size: int, groups: dict[str, list[bytes]], strings: StringTable) -> bytes:
    if not any(groups.values()):
        return b""
    out = bytearray(struct.pack("<I", rec_size))
    for name, recs in groups.items():
        if recs:
            out += struct.pack("<II", strings.add(name), len(recs)) + b"".join(recs)
    return bytes(out)


def encode_ext(ext: ExtRecords, strings: StringTable) -> bytes:
    """A ``.BTF.ext`` blob (header with CO-RE part, func, line and CO-RE records)."""
    s = strings.add
    fi = _block(FUNC_INFO_SIZE, {
        n: [struct.pack("<II", r.insn_off, r.type_id) for r in rs] for n, rs in ext.func_info.items()
    }, strings)  # fmt: skip
    li = _block(LINE_INFO_SIZE, {
        n: [struct.pack("<IIII", r.insn_off, s(r.file_name), s(r.line_text), (r.line << 10) | r.col)
            for r in rs]
        for n, rs in ext.line_info.items()
    }, strings)  # fmt: skip
    cr = _block(CORE_RELO_SIZE, {
        n: [struct.pack("<IIII", r.insn_off, r.type_id, s(r.access_str), int(r.kind)) for r in rs]
        for n, rs in ext.core_relos.items()
    }, strings)  # fmt: skip
    hdr = _EXT_HDR.pack(_MAGIC, 1, 0, _EXT_HDR.size, 0, len(fi), len(fi), len(li),
                        len(fi) + len(li), len(cr))  # fmt: skip
    return hdr + fi + li + cr
