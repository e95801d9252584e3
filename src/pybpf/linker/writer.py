"""Write a BPF ELF relocatable object (ET_REL, EM_BPF, little-endian ELF64).

The linker hands over finished sections, symbols and relocations; this module
only lays them out: section contents after the ELF header, then the section
header table. Symbols and section names share one ``.strtab``, as libbpf's
linker output does.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from pybpf.elf.reader import EM_BPF, ET_REL, SectionType
from pybpf.linker.strtab import ElfStrings

__all__ = ["OutRel", "OutSection", "OutSymbol", "write_elf"]

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_REL = struct.Struct("<QQ")
SHN_ABS = 0xFFF1
SHF_INFO_LINK = 0x40


@dataclass(eq=False)
class OutSection:
    """One section of the output: its header fields and growing contents."""

    name: str
    type: int
    flags: int
    entsize: int = 0
    align: int = 1
    data: bytearray = field(default_factory=bytearray)
    nobits_size: int = 0  # size of a NOBITS section (no file contents)
    rels: list[OutRel] = field(default_factory=list)
    index: int = 0  # filled in by write_elf

    @property
    def size(self) -> int:
        return self.nobits_size if self.type == SectionType.NOBITS else len(self.data)

    @property
    def is_exec(self) -> bool:
        return bool(self.flags & 0x4)


@dataclass(eq=False)
class OutSymbol:
    """One output symbol; ``section`` None is undefined (or absolute with ``absolute``)."""

    name: str
    bind: int
    type: int
    visibility: int
    section: OutSection | None = None
    value: int = 0
    size: int = 0
    absolute: bool = False
    index: int = 0  # filled in by write_elf


@dataclass(frozen=True, eq=False)
class OutRel:
    """A REL entry: patch ``offset`` of its section using ``symbol``."""

    offset: int
    symbol: OutSymbol
    type: int


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a if a > 1 else n


def _symtab(symbols: list[OutSymbol], names: ElfStrings) -> tuple[bytes, int]:
    """The symbol table bytes (locals first) and the index of the first global."""
    ordered = [s for s in symbols if s.bind == 0] + [s for s in symbols if s.bind != 0]
    out = bytearray(_SYM.size)  # entry 0: the null symbol
    for i, s in enumerate(ordered, start=1):
        s.index = i
        shndx = SHN_ABS if s.absolute else (s.section.index if s.section else 0)
        info = (s.bind << 4) | (s.type & 0xF)
        out += _SYM.pack(names.add(s.name), info, s.visibility & 3, shndx, s.value, s.size)
    first_global = 1 + sum(1 for s in symbols if s.bind == 0)
    return bytes(out), first_global


def write_elf(sections: list[OutSection], symbols: list[OutSymbol]) -> bytes:
    """The ELF file holding ``sections`` (plus REL, symbol and string tables)."""
    names = ElfStrings()
    rel_secs: list[tuple[OutSection, OutSection]] = []
    for sec in sections:
        if sec.rels:
            rel_secs.append((OutSection(".rel" + sec.name, SectionType.REL, SHF_INFO_LINK,
                                        _REL.size, 8), sec))  # fmt: skip
    symtab = OutSection(".symtab", SectionType.SYMTAB, 0, _SYM.size, 8)
    strtab = OutSection(".strtab", SectionType.STRTAB, 0)
    table = [*sections, *(r for r, _ in rel_secs), symtab, strtab]
    for i, sec in enumerate(table, start=1):
        sec.index = i
    symtab.data[:], first_global = _symtab(symbols, names)
    for rel, target in rel_secs:
        for r in target.rels:
            rel.data += _REL.pack(r.offset, (r.symbol.index << 32) | r.type)
    headers: list[tuple[int, ...]] = [(0,) * 10]
    for sec in table:
        names.add(sec.name)
    strtab.data[:] = names.data()
    body = bytearray()
    pos = _EHDR.size
    for sec in table:
        pos = _align(pos, max(sec.align, 1))
        body += b"\0" * (pos - _EHDR.size - len(body))
        if sec.type != SectionType.NOBITS:
            body += sec.data
        link, info = 0, 0
        if sec is symtab:
            link, info = strtab.index, first_global
        elif sec.type == SectionType.REL:
            target = next(t for r, t in rel_secs if r is sec)
            link, info = symtab.index, target.index
        headers.append((names.add(sec.name), sec.type, sec.flags, 0, pos, sec.size,
                        link, info, sec.align, sec.entsize))  # fmt: skip
        if sec.type != SectionType.NOBITS:
            pos += len(sec.data)
    shoff = _align(_EHDR.size + len(body), 8)
    body += b"\0" * (shoff - _EHDR.size - len(body))
    ident = b"\x7fELF\x02\x01\x01" + b"\0" * 9
    ehdr = _EHDR.pack(ident, ET_REL, EM_BPF, 1, 0, 0, shoff, 0, _EHDR.size, 0, 0,
                      _SHDR.size, len(headers), strtab.index)  # fmt: skip
    return ehdr + bytes(body) + b"".join(_SHDR.pack(*h) for h in headers)
