"""Builds minimal BPF ELF relocatable objects for tests (raw bytes, no toolchain).

Used to wrap hand-written instruction bytes for llvm-objdump and to produce
precisely malformed objects for the reader's error paths.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SHT_PROGBITS = 1
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_NOBITS = 8
SHT_REL = 9
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
SHF_WRITE = 0x1
STB_LOCAL, STB_GLOBAL = 0, 1
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION = 0, 1, 2, 3


@dataclass
class Sec:
    """A section to emit; ``link``/``info`` are indices into the final table."""

    name: str
    type: int = SHT_PROGBITS
    flags: int = 0
    data: bytes = b""
    link: int = 0
    info: int = 0
    align: int = 8
    entsize: int = 0
    size: int | None = None  # overrides len(data) (for NOBITS)


@dataclass
class Sym:
    """A symbol; ``shndx`` is the index of its section in the final table."""

    name: str
    shndx: int
    value: int = 0
    size: int = 0
    bind: int = STB_GLOBAL
    type: int = STT_FUNC


@dataclass
class Layout:
    """Where each part landed in the built object (for targeted corruption)."""

    shoff: int = 0
    section_offsets: dict[str, int] = field(default_factory=dict)


def rel(offset: int, sym: int, rtype: int) -> bytes:
    """One Elf64_Rel entry."""
    return struct.pack("<QQ", offset, (sym << 32) | rtype)


def build(
    sections: list[Sec], symbols: list[Sym] | None = None, *, machine: int = 247
) -> tuple[bytes, Layout]:
    """Return an ELF64 LE ET_REL object: [null] + sections + .strtab + .symtab (+ .shstrtab).

    Sections are numbered from 1 in the order given; ``.strtab`` then ``.symtab`` follow
    when ``symbols`` is given; ``.shstrtab`` is last.
    """
    secs = list(sections)
    if symbols is not None:
        strtab = bytearray(b"\0")
        symtab = bytearray(bytes(24))
        nlocal = 1
        ordered = sorted(symbols, key=lambda s: s.bind != STB_LOCAL)
        for s in ordered:
            name_off = len(strtab)
            strtab += s.name.encode() + b"\0"
            symtab += struct.pack(
                "<IBBHQQ", name_off, (s.bind << 4) | s.type, 0, s.shndx, s.value, s.size
            )
            if s.bind == STB_LOCAL:
                nlocal += 1
        str_idx = len(secs) + 1
        secs.append(Sec(".strtab", SHT_STRTAB, data=bytes(strtab), align=1))
        secs.append(
            Sec(".symtab", SHT_SYMTAB, data=bytes(symtab), link=str_idx, info=nlocal, entsize=24)
        )
    shstr = bytearray(b"\0")
    name_offs = []
    for s in [*secs, Sec(".shstrtab", SHT_STRTAB)]:
        name_offs.append(len(shstr))
        shstr += s.name.encode() + b"\0"
    secs.append(Sec(".shstrtab", SHT_STRTAB, data=bytes(shstr), align=1))

    out = bytearray(64)
    layout = Layout()
    offsets = []
    for s in secs:
        while len(out) % max(s.align, 1):
            out += b"\0"
        offsets.append(len(out))
        layout.section_offsets[s.name] = len(out)
        if s.type != SHT_NOBITS:
            out += s.data
    while len(out) % 8:
        out += b"\0"
    shoff = len(out)
    layout.shoff = shoff
    out += bytes(64)  # null section
    for s, off, noff in zip(secs, offsets, name_offs, strict=True):
        size = s.size if s.size is not None else len(s.data)
        out += struct.pack(
            "<IIQQQQIIQQ", noff, s.type, s.flags, 0, off, size, s.link, s.info, s.align, s.entsize
        )
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    hdr = ident + struct.pack(
        "<HHIQQQIHHHHHH", 1, machine, 1, 0, 0, shoff, 0, 64, 0, 0, 64, len(secs) + 1, len(secs)
    )
    out[:64] = hdr
    return bytes(out), layout


def text_object(code: bytes, func: str = "f", section: str = ".text") -> bytes:
    """An object holding ``code`` in one executable section with a function symbol."""
    data, _ = build(
        [Sec(section, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, code)],
        [Sym(func, 1, 0, len(code))],
    )
    return data
