"""Carry every input's relocations over to the output sections (pure).

Offsets move with their section and symbols become output symbols. A
relocation against a *section* symbol encodes the target's offset in the
instruction itself (``ld_imm64`` of ``.rodata`` + k, or a call into ``.text``),
so that immediate moves by where the referenced section landed: in bytes for
data, in instructions for calls (libbpf's linker does the same).
"""

from __future__ import annotations

import struct

from pybpf.elf.reader import SectionType, SymbolType
from pybpf.errors import ObjectError
from pybpf.linker.inputs import LinkInput
from pybpf.linker.layout import Placement
from pybpf.linker.symbols import SymbolTable
from pybpf.linker.writer import OutRel, OutSection

__all__ = ["copy_relocations"]

_IMM = struct.Struct("<i")
_OP_CALL = 0x85
_INSN = 8


def _shift_imm(out: OutSection, offset: int, delta: int, file: str) -> None:
    imm = _IMM.unpack_from(out.data, offset + 4)[0] + (
        delta // _INSN if out.data[offset] == _OP_CALL else delta
    )
    try:
        _IMM.pack_into(out.data, offset + 4, imm)
    except struct.error as exc:
        raise ObjectError("relocated immediate overflows 32 bits", file=file, section=out.name,
                          offset=offset) from exc  # fmt: skip


def _copy_one(i: int, inp: LinkInput, target: int, p: Placement, syms: SymbolTable) -> None:
    placed = p.of(i, target)
    if placed is None:
        return
    out, base = placed
    tname = inp.elf.sections[target].name
    for r in inp.elf.relocations(target):
        src = inp.elf.symbol(r.symbol)
        sym = syms.maps[i].get(r.symbol)
        if sym is None:
            raise ObjectError(
                f"relocation at {r.offset:#x} refers to symbol {src.name or src.index!r}, "
                "which is not in the linked object",
                file=inp.file,
                section=tname,
            )
        if src.type == SymbolType.SECTION:
            if not out.is_exec:
                raise ObjectError(
                    "relocation against a section symbol in a data section is not supported",
                    file=inp.file,
                    section=tname,
                    offset=r.offset,
                )
            ref = p.of(i, src.shndx)
            assert ref is not None
            _shift_imm(out, base + r.offset, ref[1], inp.file)
        out.rels.append(OutRel(base + r.offset, sym, int(r.type)))


def copy_relocations(inputs: list[LinkInput], p: Placement, syms: SymbolTable) -> None:
    """Append every input's relocations to the output sections they now patch."""
    for i, inp in enumerate(inputs):
        for sec in inp.elf.sections:
            if sec.type == SectionType.RELA and p.of(i, sec.info) is not None:
                raise ObjectError("RELA relocations are not used by BPF objects", file=inp.file,
                                  section=sec.name)  # fmt: skip
            if sec.type == SectionType.REL:
                _copy_one(i, inp, sec.info, p, syms)
