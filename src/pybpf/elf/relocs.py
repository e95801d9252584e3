"""Relocations of program code, classified by what they refer to.

Each ``R_BPF_*`` entry of a code section's REL section becomes a
:class:`ProgRelocation` relative to the function holding it: a map reference, a
global-data reference, a bpf-to-bpf call, a callback address, or an extern.
Pseudo calls that the compiler resolved within a section (no ELF relocation)
are recorded as CALL relocations too, so that the loader sees every call in one
place. Anything else raises :class:`ObjectError` naming section, offset and symbol.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from pybpf._dataclass import dataclass
from pybpf._fastenum import FastEnum
from pybpf.elf.externs import ExternKind, ExternSpec
from pybpf.elf.reader import SHN_LORESERVE, Relocation, RelocType, Symbol, SymbolType
from pybpf.errors import ObjectError

if TYPE_CHECKING:
    from pybpf.elf.reader import ElfObject, Section

__all__ = ["INSN_SIZE", "ProgRelocation", "RelocKind", "insn_fields", "program_relocations"]

INSN_SIZE = 8
OP_LD_IMM64 = 0x18  # BPF_LD | BPF_IMM | BPF_DW
OP_CALL = 0x85  # BPF_JMP | BPF_CALL
PSEUDO_CALL = 1
PSEUDO_FUNC = 4
_INSN = struct.Struct("<BBhi")


class RelocKind(FastEnum):
    """What a program relocation refers to."""

    MAP = "map"  # ld_imm64 of a map (legacy maps / .maps): target = map name
    DATA = "data"  # ld_imm64 of global data: target = section (map) name, offset = byte offset
    CALL = "call"  # bpf-to-bpf call: target = section, offset = instruction index there
    FUNC = "func"  # ld_imm64 of a function address (callback): same target as CALL
    KCONFIG = "kconfig"  # ld_imm64 of a __kconfig extern
    KSYM = "ksym"  # ld_imm64 of a __ksym extern (variable, or kfunc address)
    KFUNC = "kfunc"  # call of a __ksym kernel function
    SYMBOL = "symbol"  # ld_imm64 of a symbol nothing defines (inline asm): patch before load


@dataclass(frozen=True, slots=True)
class ProgRelocation:
    """One relocation at instruction ``insn_index`` (relative to the function start).

    ``target`` is a map name (MAP), a section name (DATA/CALL/FUNC) or an extern
    name (KCONFIG/KSYM/KFUNC). ``offset`` is the byte offset into the data
    (DATA), the instruction index within ``target`` (CALL/FUNC), or the addend
    in the instruction (externs). ``function`` names the called function.
    """

    insn_index: int
    kind: RelocKind
    symbol: str
    target: str
    offset: int = 0
    function: str | None = None
    extern: ExternSpec | None = None


def insn_fields(code: bytes, off: int) -> tuple[int, int, int, int, int]:
    """(opcode, dst_reg, src_reg, off, imm) of the instruction at byte ``off``."""
    op, regs, joff, imm = _INSN.unpack_from(code, off)
    return op, regs & 0xF, regs >> 4, joff, imm


@dataclass(frozen=True, slots=True)
class RelocContext:
    """What classification needs to know about the rest of the object."""

    elf: ElfObject
    #: (section index, byte offset of the definition) -> map name, for maps/.maps
    map_at: Mapping[tuple[int, int], str]
    #: section indexes holding map definitions
    map_sections: frozenset[int]
    #: section index -> global data section (map) name
    data_sections: Mapping[int, str]
    externs: Mapping[str, ExternSpec]
    #: (section index, instruction index) -> function name, for every function
    function_at: Callable[[int, int], str | None]


def program_relocations(
    ctx: RelocContext,
    sec: Section,
    func_name: str,
    start: int,
    size: int,
) -> tuple[ProgRelocation, ...]:
    """Classified relocations of the function at ``[start, start+size)`` of ``sec``."""
    elf = ctx.elf
    code = sec.data
    out: list[ProgRelocation] = []
    relocated: set[int] = set()
    for rel in elf.relocations(sec.index):
        if not start <= rel.offset < start + size:
            continue
        if rel.type == RelocType.R_BPF_NONE:
            continue
        out.append(_classify(ctx, sec, func_name, start, size, rel))
        relocated.add(rel.offset)
    # calls resolved by the compiler inside the section carry no ELF relocation
    pos = start
    while pos < start + size:
        op, _, src, _, imm = insn_fields(code, pos)
        if (
            pos not in relocated
            and src in (PSEUDO_CALL, PSEUDO_FUNC)
            and (
                (op == OP_CALL and src == PSEUDO_CALL) or (op == OP_LD_IMM64 and src == PSEUDO_FUNC)
            )
        ):
            target = pos // INSN_SIZE + imm + 1
            name = ctx.function_at(sec.index, target)
            if name is None:
                raise ObjectError(
                    f"function {func_name!r}: call at instruction {(pos - start) // INSN_SIZE} "
                    f"jumps to instruction {target}, which starts no function",
                    file=elf.file,
                    section=sec.name,
                    offset=pos,
                )
            kind = RelocKind.CALL if op == OP_CALL else RelocKind.FUNC
            out.append(ProgRelocation((pos - start) // INSN_SIZE, kind, "", sec.name, target, name))
        pos += 2 * INSN_SIZE if op == OP_LD_IMM64 else INSN_SIZE
    out.sort(key=lambda r: r.insn_index)
    return tuple(out)


def _classify(
    ctx: RelocContext, sec: Section, func_name: str, start: int, size: int, rel: Relocation
) -> ProgRelocation:
    elf = ctx.elf
    sym = elf.symbol(rel.symbol)
    sym_name = sym.name or _section_name(elf, sym)

    def err(msg: str) -> ObjectError:
        return ObjectError(
            f"function {func_name!r}: relocation against {sym_name!r}: {msg}",
            file=elf.file,
            section=sec.name,
            offset=rel.offset,
        )

    if rel.offset % INSN_SIZE:
        raise err("offset is not at an instruction boundary")
    idx = (rel.offset - start) // INSN_SIZE
    op, _, src, _, imm = insn_fields(sec.data, rel.offset)
    is_call = op == OP_CALL
    is_ld64 = op == OP_LD_IMM64
    if not (is_call or is_ld64):
        raise err(f"instruction {idx} (opcode {op:#04x}) cannot take a relocation")
    if is_ld64 and rel.offset + 2 * INSN_SIZE > start + size:
        raise err(f"ld_imm64 at instruction {idx} is cut off by the end of the function")
    want = RelocType.R_BPF_64_32 if is_call else RelocType.R_BPF_64_64
    if rel.type != want:
        what = "call" if is_call else "ld_imm64"
        raise err(f"{rel.type.name} on a {what} instruction (expected {want.name})")

    if sym.is_undefined:
        ext = ctx.externs.get(sym.name)
        if ext is None:
            if is_call:
                raise err(
                    "call of an undefined function that is no __ksym extern (link the object "
                    "that defines it)"
                )
            # `r0 = SYM ll` from inline asm: kept as a reference the user patches
            return ProgRelocation(idx, RelocKind.SYMBOL, sym.name, sym.name, imm)
        if ext.kind is ExternKind.KCONFIG:
            if is_call:
                raise err("call of a __kconfig extern")
            return ProgRelocation(idx, RelocKind.KCONFIG, sym.name, ext.name, imm, None, ext)
        if is_call:
            if not ext.is_func:
                raise err("call of a __ksym variable")
            return ProgRelocation(idx, RelocKind.KFUNC, sym.name, ext.name, 0, ext.name, ext)
        return ProgRelocation(idx, RelocKind.KSYM, sym.name, ext.name, imm, None, ext)

    if sym.shndx >= SHN_LORESERVE:
        raise err(f"symbol in special section index {sym.shndx:#x}")
    target_sec = elf.section_by_index(sym.shndx)

    if is_call:
        if src != PSEUDO_CALL:
            raise err(f"call at instruction {idx} is not a bpf-to-bpf call (src_reg {src})")
        if not target_sec.is_exec:
            raise err(f"call into non-code section {target_sec.name!r}")
        if sym.value % INSN_SIZE:
            raise err(f"call target offset {sym.value:#x} is not instruction-aligned")
        target = sym.value // INSN_SIZE + imm + 1
        name = ctx.function_at(target_sec.index, target)
        if name is None:
            raise err(f"call target instruction {target} of {target_sec.name!r} starts no function")
        return ProgRelocation(idx, RelocKind.CALL, sym_name, target_sec.name, target, name)

    if target_sec.is_exec:
        if sym.type not in (SymbolType.SECTION, SymbolType.FUNC, SymbolType.NOTYPE):
            kind = sym.type.name if isinstance(sym.type, SymbolType) else f"type {sym.type}"
            raise err(f"{kind} symbol in code section")
        addr = sym.value + imm
        if addr % INSN_SIZE:
            raise err(f"function address {addr:#x} is not instruction-aligned")
        name = ctx.function_at(target_sec.index, addr // INSN_SIZE)
        if name is None:
            raise err(f"address {addr:#x} of {target_sec.name!r} starts no function")
        return ProgRelocation(
            idx, RelocKind.FUNC, sym_name, target_sec.name, addr // INSN_SIZE, name
        )
    if target_sec.index in ctx.map_sections:
        at = sym.value + (imm if sym.type == SymbolType.SECTION else 0)
        map_name = ctx.map_at.get((target_sec.index, at))
        if map_name is None:
            raise err(f"offset {at:#x} of {target_sec.name!r} is not the start of a map")
        return ProgRelocation(idx, RelocKind.MAP, sym_name, map_name)
    data = ctx.data_sections.get(target_sec.index)
    if data is not None:
        off = sym.value + imm
        if not 0 <= off <= target_sec.size:
            raise err(f"data offset {off:#x} is outside {data!r} ({target_sec.size:#x} bytes)")
        return ProgRelocation(idx, RelocKind.DATA, sym_name, data, off)
    raise err(f"section {target_sec.name!r} is not a map, data or code section")


def _section_name(elf: ElfObject, sym: Symbol) -> str:
    if 0 < sym.shndx < len(elf.sections):
        return elf.sections[sym.shndx].name
    return f"#{sym.index}"
