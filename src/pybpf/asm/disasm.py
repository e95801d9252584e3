"""Disassembly of BPF objects in llvm-objdump-19's ``-d``/``-dr`` text format.

Layout rules follow llvm-objdump: one block per executable section, a label per
symbol address (the highest-named symbol wins, section and file symbols never
label), runs of 8+ zero bytes collapse to ``...``, relocations print after the
instruction they patch, and jump targets are symbolized against the section's
symbols. With ``line_info`` (from ``.BTF.ext``) source lines precede the
instructions they describe, as ``llvm-objdump -S`` does with DWARF.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence

from pybpf._dataclass import dataclass
from pybpf.asm.insn import LD_IMM64, Instruction
from pybpf.asm.syntax import format_instruction
from pybpf.elf.reader import ElfObject, Relocation, Section, SymbolType

__all__ = ["SourceLine", "decode_at", "disassemble", "disassemble_section"]


@dataclass(frozen=True, slots=True)
class SourceLine:
    """A source line to show before the instruction at byte offset ``insn_off``.

    Like llvm-objdump, a line is shown only when the previous instruction's line
    (``file``, ``line``) differs.
    """

    insn_off: int
    text: str
    line: int = 0
    file: str = ""


@dataclass(frozen=True, slots=True, order=True)
class _Sym:
    addr: int
    name: str
    type: int


def _symbols(obj: ElfObject, sec: Section) -> list[_Sym]:
    """The section's label candidates sorted as llvm sorts them (addr, name, type)."""
    syms = sorted(
        _Sym(s.value, s.name, int(s.type))
        for s in obj.symbols_in(sec.index)
        if s.type not in (SymbolType.SECTION, SymbolType.FILE)
    )
    if not syms or syms[0].addr != 0:
        syms.insert(0, _Sym(0, sec.name, SymbolType.FUNC))
    return syms


def _labels(syms: Sequence[_Sym], size: int) -> list[tuple[int, str]]:
    """One label per distinct address inside the section: code symbols before data."""
    by_addr: dict[int, list[_Sym]] = {}
    for s in syms:
        if s.addr < size:
            by_addr.setdefault(s.addr, []).append(s)
    out = []
    for addr in sorted(by_addr):
        here = by_addr[addr]
        code = [s for s in here if s.type != SymbolType.OBJECT] or here
        out.append((addr, code[-1].name))
    return out


class _Symbolizer:
    """Maps a byte address to ``<sym>`` / ``<sym+0xN>`` like llvm's branch-target comment."""

    def __init__(self, syms: Sequence[_Sym]) -> None:
        self.addrs = [s.addr for s in syms]
        self.syms = syms

    def __call__(self, target: int) -> str:
        target &= (1 << 64) - 1  # llvm computes targets in unsigned 64-bit
        i = bisect.bisect_right(self.addrs, target) - 1
        if i < 0:
            return ""
        s = self.syms[i]
        return f"<{s.name}>" if s.addr == target else f"<{s.name}+{target - s.addr:#x}>"


def _reloc_symbol(obj: ElfObject, rel: Relocation) -> str:
    sym = obj.symbols[rel.symbol]
    if sym.type == SymbolType.SECTION and 0 < sym.shndx < len(obj.sections):
        return obj.sections[sym.shndx].name
    return sym.name


def decode_at(data: bytes, idx: int) -> tuple[int, Instruction | None]:
    """Size consumed at ``idx`` and the instruction (None when too few bytes are left),
    mirroring llvm's BPF decoder sizes. Example: ``size, insn = decode_at(code, 0)``."""
    left = len(data) - idx
    if left < 8 or (data[idx] == LD_IMM64 and left < 16):
        return 1, None
    width = 16 if data[idx] == LD_IMM64 else 8
    raw = data[idx : idx + width]
    insn = Instruction(
        raw[0],
        raw[1] & 0xF,
        raw[1] >> 4,
        int.from_bytes(raw[2:4], "little", signed=True),
        int.from_bytes(raw[4:8], "little", signed=True),
        int.from_bytes(raw[12:16], "little") if width == 16 else 0,
        raw[8] if width == 16 else 0,
        raw[9] if width == 16 else 0,
        int.from_bytes(raw[10:12], "little", signed=True) if width == 16 else 0,
        idx // 8,
    )
    return width, insn


def _zero_run(data: bytes, idx: int, limit: int) -> int:
    n = 0
    while n < limit and data[idx + n] == 0:
        n += 1
    return n & ~3 if n >= 8 else 0


def disassemble_section(
    obj: ElfObject,
    sec: Section,
    *,
    relocs: bool = False,
    alu32: bool = False,
    source: Iterable[SourceLine] = (),
    core: Mapping[int, str] | None = None,
) -> list[str]:
    """The lines llvm-objdump prints for one executable section (after its heading)."""
    data = sec.data
    syms = _symbols(obj, sec)
    symbolize = _Symbolizer(syms)
    labels = _labels(syms, len(data))
    rels = sorted(obj.relocations(sec.index), key=lambda r: r.offset) if relocs else []
    src: dict[int, SourceLine] = {}
    for line in source:
        src.setdefault(line.insn_off, line)
    prev_line: tuple[str, int] | None = None
    lines: list[str] = []
    rel_i = 0
    for n, (start, name) in enumerate(labels):
        end = labels[n + 1][0] if n + 1 < len(labels) else len(data)
        lines.append("")
        lines.append(f"{start:016x} <{name}>:")
        idx = start
        while idx < end:
            limit = end - idx
            if rel_i < len(rels):
                limit = max(0, min(rels[rel_i].offset - idx, limit))
            skip = _zero_run(data, idx, limit)
            if skip:
                lines.append("\t\t...")
                idx += skip
                continue
            here = src.get(idx)
            key = (here.file, here.line) if here is not None else None
            if here is not None and key != prev_line:
                lines.append(f"; {here.text}")
            prev_line = key
            size, insn = decode_at(data, idx)
            text = None
            if insn is not None:
                text = format_instruction(insn, pc=idx, alu32=alu32, symbolize=symbolize)
                if text is None:
                    size = 8
            raw = " ".join(f"{b:02x}" for b in data[idx : idx + size])
            lines.append(f"{idx // 8:8d}:\t{raw}\t{text if text is not None else '<unknown>'}")
            if relocs and core and idx in core:
                lines.append(f"\t\t{idx:016x}:  CO-RE {core[idx]}")
            while rel_i < len(rels) and rels[rel_i].offset < idx + size:
                r = rels[rel_i]
                lines.append(f"\t\t{r.offset:016x}:  {r.type.name}\t{_reloc_symbol(obj, r)}")
                rel_i += 1
            idx += size
    return lines


def disassemble(
    obj: ElfObject,
    *,
    name: str | None = None,
    sections: Sequence[str] | None = None,
    relocs: bool = False,
    alu32: bool = False,
    source: Mapping[str, Iterable[SourceLine]] | None = None,
    core: Mapping[str, Mapping[int, str]] | None = None,
) -> str:
    """The full ``llvm-objdump -d`` (``-dr`` with ``relocs``) text of ``obj``.

    ``name`` is the file name shown in the header; ``sections`` restricts output
    to those sections (like ``-j``); ``source`` maps section names to source lines
    and ``core`` to CO-RE relocation texts by instruction offset (shown with ``relocs``).
    """
    out = ["", f"{name or obj.file or '<bytes>'}:\tfile format elf64-bpf"]
    for sec in obj.sections:
        if not sec.is_exec or sec.is_nobits or not sec.data:
            continue
        if sections is not None and sec.name not in sections:
            continue
        out.append("")
        out.append(f"Disassembly of section {sec.name}:")
        body = disassemble_section(
            obj,
            sec,
            relocs=relocs,
            alu32=alu32,
            source=(source or {}).get(sec.name, ()),
            core=(core or {}).get(sec.name),
        )
        out.extend(body)
    return "\n".join(out) + "\n"


def disassemble_code(code: bytes, *, alu32: bool = True) -> str:
    """One program's instructions as llvm-objdump instruction lines (slot, bytes, text).

    The listing :func:`pybpf.asm.assemble` reads back byte for byte; ``alu32``
    (default on) spells 32-bit atomics, which llvm prints only with ``+alu32``.
    """
    lines: list[str] = []
    idx = 0
    while idx < len(code):
        size, insn = decode_at(code, idx)
        text = None
        if insn is not None:
            text = format_instruction(insn, pc=idx, alu32=alu32)
            if text is None:
                size = 8
        raw = " ".join(f"{b:02x}" for b in code[idx : idx + size])
        lines.append(f"{idx // 8:8d}:\t{raw}\t{text if text is not None else '<unknown>'}")
        idx += size
    return "\n".join(lines) + "\n"
