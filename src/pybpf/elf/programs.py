"""Programs and subprograms: every function symbol of every code section.

A code section may hold several functions; each ``STT_FUNC`` symbol (global or
static) is cut out by its value and size. Functions of ``.text`` are
subprograms (called, never loaded alone); functions of any other code section
are entry programs whose section name says their type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pybpf._dataclass import dataclass
from pybpf.btf.ext import CoreRelo, FuncInfo, LineInfo
from pybpf.elf.reader import SectionType, SymbolBind, SymbolType
from pybpf.elf.relocs import INSN_SIZE, ProgRelocation
from pybpf.elf.sections import SectionInfo
from pybpf.errors import ObjectError
from pybpf.uapi.enums import AttachType, ProgType

if TYPE_CHECKING:
    from pybpf.elf.reader import ElfObject, Section

__all__ = ["TEXT_SEC", "Function", "ProgramSpec", "split_functions"]

TEXT_SEC = ".text"


@dataclass(frozen=True, slots=True)
class ProgramSpec:
    """One function of the object, ready to be relocated and loaded.

    ``offset`` is in bytes within ``section``; relocation, func/line info and
    CO-RE records are relative to the function start (``FuncInfo.insn_off`` and
    friends are rebased byte offsets, ``.insn_index`` the instruction index).
    Subprograms have ``prog_type`` UNSPEC and ``sec`` None.
    """

    name: str
    section: str
    section_index: int
    offset: int
    insns: bytes
    sec: SectionInfo | None
    prog_type: ProgType
    expected_attach_type: AttachType | None
    attach_target: str | None
    is_subprog: bool
    is_global: bool
    relocations: tuple[ProgRelocation, ...] = ()
    func_info: tuple[FuncInfo, ...] = ()
    line_info: tuple[LineInfo, ...] = ()
    core_relos: tuple[CoreRelo, ...] = ()
    symbol_index: int = 0

    @property
    def insn_count(self) -> int:
        """Number of 8-byte instruction slots (ld_imm64 counts twice)."""
        return len(self.insns) // INSN_SIZE

    @property
    def insn_offset(self) -> int:
        """Index of the first instruction within the section."""
        return self.offset // INSN_SIZE

    @property
    def sleepable(self) -> bool:
        """True when the section makes the program sleepable."""
        return self.sec is not None and self.sec.sleepable

    @property
    def func_btf_id(self) -> int:
        """BTF FUNC id of this function (0 without .BTF.ext)."""
        return self.func_info[0].type_id if self.func_info else 0


@dataclass(frozen=True, slots=True)
class Function:
    """A function symbol cut out of a code section (before classification)."""

    name: str
    section: Section
    offset: int
    size: int
    symbol_index: int
    is_global: bool


def split_functions(elf: ElfObject) -> list[Function]:
    """All functions of all code sections, in section then offset order."""
    out: list[Function] = []
    for sec in elf.sections:
        if not sec.is_exec or sec.type != SectionType.PROGBITS:
            continue
        syms = sorted(
            (s for s in elf.symbols_in(sec.index) if s.type == SymbolType.FUNC),
            key=lambda s: (s.value, s.index),
        )
        if not syms:
            if sec.size:
                raise ObjectError(
                    "code section has instructions but no function symbol",
                    file=elf.file,
                    section=sec.name,
                )
            continue
        if sec.size % INSN_SIZE:
            raise ObjectError(
                f"code section size {sec.size} is not a multiple of {INSN_SIZE}",
                file=elf.file,
                section=sec.name,
            )
        for i, s in enumerate(syms):
            size = s.size
            if size == 0:  # no size recorded: runs to the next function or the section end
                size = (syms[i + 1].value if i + 1 < len(syms) else sec.size) - s.value
            if not s.name:
                raise ObjectError(
                    "function symbol without a name",
                    file=elf.file,
                    section=sec.name,
                    offset=s.value,
                )
            if s.value % INSN_SIZE or size % INSN_SIZE or size <= 0:
                raise ObjectError(
                    f"function {s.name!r} at {s.value:#x} ({size} bytes) is not whole instructions",
                    file=elf.file,
                    section=sec.name,
                    offset=s.value,
                )
            if s.value + size > sec.size:
                raise ObjectError(
                    f"function {s.name!r} ({size} bytes at {s.value:#x}) runs past the end of "
                    f"its section ({sec.size:#x} bytes)",
                    file=elf.file,
                    section=sec.name,
                    offset=s.value,
                )
            if out and out[-1].section is sec and out[-1].offset + out[-1].size > s.value:
                raise ObjectError(
                    f"functions {out[-1].name!r} and {s.name!r} overlap",
                    file=elf.file,
                    section=sec.name,
                    offset=s.value,
                )
            glob = s.bind in (SymbolBind.GLOBAL, SymbolBind.WEAK)
            out.append(Function(s.name, sec, s.value, size, s.index, glob))
    return out
