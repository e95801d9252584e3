"""Link one entry program with the subprograms it reaches (pure).

libbpf's scheme: the entry function's code comes first; every bpf-to-bpf call or
callback reference (``BPF_PSEUDO_CALL`` / ``BPF_PSEUDO_FUNC``), with or without an
ELF relocation, pulls the target function in once at the end, and the call's
immediate becomes the relative distance. Map, global-data and extern references
are returned as fixups for the loader, which knows the fds.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping

from pybpf._dataclass import dataclass, field, replace
from pybpf.btf.ext import FuncInfo, LineInfo
from pybpf.elf.programs import ProgramSpec
from pybpf.elf.relocs import ProgRelocation, RelocKind
from pybpf.errors import RelocationError

__all__ = ["Fixup", "LinkedProgram", "link_program", "set_imm64", "set_insn"]

INSN = 8
_SLOT = struct.Struct("<BBhi")
OP_CALL = 0x85
OP_LD_IMM64 = 0x18
PSEUDO_CALL = 1
PSEUDO_FUNC = 4


@dataclass(frozen=True)
class Fixup:
    """A relocation the loader completes with kernel facts (fds, BTF ids, addresses)."""

    slot: int  # instruction slot in the linked program
    reloc: ProgRelocation
    function: str  # the function the instruction came from


@dataclass
class LinkedProgram:
    """An entry program with its subprograms appended, ready for fd fixups."""

    name: str
    code: bytearray
    starts: dict[str, int] = field(default_factory=dict)  # function → first slot
    sizes: dict[str, int] = field(default_factory=dict)  # function → slot count
    fixups: list[Fixup] = field(default_factory=list)
    func_info: list[FuncInfo] = field(default_factory=list)  # insn_off in bytes
    line_info: list[LineInfo] = field(default_factory=list)  # insn_off in bytes

    @property
    def has_full_func_info(self) -> bool:
        """Whether every linked function has its FUNC record (the kernel wants all or none)."""
        return bool(self.func_info) and len(self.func_info) == len(self.starts)

    def function_at(self, slot: int) -> tuple[str, int] | None:
        """(function, slot within it) for a slot of the linked program."""
        for name, start in self.starts.items():
            if start <= slot < start + self.sizes[name]:
                return name, slot - start
        return None


def set_insn(
    code: bytearray,
    slot: int,
    *,
    src: int | None = None,
    imm: int | None = None,
    off: int | None = None,
) -> None:
    """Patch fields of the instruction at ``slot`` in place."""
    op, regs, o, i = _SLOT.unpack_from(code, slot * INSN)
    if src is not None:
        regs = (regs & 0x0F) | ((src & 0xF) << 4)
    if imm is not None:
        i = imm - (1 << 32) if imm >= (1 << 31) else imm
    if off is not None:
        o = off
    _SLOT.pack_into(code, slot * INSN, op, regs, o, i)


def set_imm64(code: bytearray, slot: int, value: int, *, src: int) -> None:
    """Set an ld_imm64's pseudo source and full 64-bit immediate."""
    value &= (1 << 64) - 1
    set_insn(code, slot, src=src, imm=value & 0xFFFFFFFF)
    lo = value >> 32
    _SLOT.pack_into(code, (slot + 1) * INSN + 0, 0, 0, 0, lo - (1 << 32) if lo >= (1 << 31) else lo)


def link_program(
    main: ProgramSpec,
    functions: Mapping[str, ProgramSpec],
    code_of: Callable[[ProgramSpec], bytes],
    *,
    file: str | None = None,
) -> LinkedProgram:
    """Append every function ``main`` reaches; fix calls; collect the other relocations.

    ``functions`` holds every function of the object by name; ``code_of`` gives a
    function's code after CO-RE patching.
    """
    by_pos = {(f.section, f.insn_offset): f for f in functions.values()}
    linked = LinkedProgram(main.name, bytearray())
    order: list[ProgramSpec] = []

    def add(f: ProgramSpec) -> int:
        if f.name not in linked.starts:
            linked.starts[f.name] = len(linked.code) // INSN
            code = code_of(f)
            linked.sizes[f.name] = len(code) // INSN
            linked.code += code
            order.append(f)
        return linked.starts[f.name]

    def target_of(f: ProgramSpec, section: str, index: int, slot: int) -> ProgramSpec:
        callee = by_pos.get((section, index))
        if callee is None:
            raise RelocationError(
                f"call/callback target at instruction {index} of {section!r} is not the start "
                "of a function",
                file=file,
                section=f.section,
                offset=(f.insn_offset + slot) * INSN,
                program=main.name,
            )
        return callee

    add(main)
    i = 0
    while i < len(order):
        f = order[i]
        i += 1
        base = linked.starts[f.name]
        relocated: set[int] = set()
        for r in f.relocations:
            slot = base + r.insn_index
            relocated.add(r.insn_index)
            if r.kind in (RelocKind.CALL, RelocKind.FUNC):
                callee = (
                    functions[r.function]
                    if r.function is not None and r.function in functions
                    else target_of(f, r.target, r.offset, r.insn_index)
                )
                dist = add(callee) - (slot + 1)
                if r.kind is RelocKind.CALL:
                    set_insn(linked.code, slot, src=PSEUDO_CALL, imm=dist)
                else:
                    set_imm64(linked.code, slot, dist, src=PSEUDO_FUNC)
            else:
                linked.fixups.append(Fixup(slot, r, f.name))
        # calls resolved by the compiler inside one section carry no relocation
        n = linked.sizes[f.name]
        s = 0
        while s < n:
            op, regs, _, imm = _SLOT.unpack_from(linked.code, (base + s) * INSN)
            src = regs >> 4
            if s not in relocated and (
                (op == OP_CALL and src == PSEUDO_CALL) or (op == OP_LD_IMM64 and src == PSEUDO_FUNC)
            ):
                callee = target_of(f, f.section, f.insn_offset + s + imm + 1, s)
                dist = add(callee) - (base + s + 1)
                if op == OP_CALL:
                    set_insn(linked.code, base + s, imm=dist)
                else:
                    set_imm64(linked.code, base + s, dist, src=PSEUDO_FUNC)
            s += 2 if op == OP_LD_IMM64 else 1

    for f in order:
        start_bytes = linked.starts[f.name] * INSN
        for fi in f.func_info:
            linked.func_info.append(replace(fi, insn_off=fi.insn_off + start_bytes))
        for li in f.line_info:
            linked.line_info.append(replace(li, insn_off=li.insn_off + start_bytes))
    return linked
