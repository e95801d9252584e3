"""Pure reader of BPF ELF relocatable objects: sections, symbols, relocations.

Records are decoded with precompiled ``struct`` formats (no ELF library: the
reader sits on every object load, and a generic ELF library costs more to import
than this whole parse); everything around them (bounds, indices, offsets) is
validated here so that any byte
string either reads as a consistent object or raises :class:`ObjectError`
naming the file, section and offset of the problem.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TypeVar

from pybpf._dataclass import dataclass
from pybpf._fastenum import FastIntEnum
from pybpf.errors import ObjectError

__all__ = [
    "EM_BPF",
    "ElfObject",
    "RelocType",
    "Relocation",
    "Section",
    "SectionType",
    "Symbol",
    "SymbolBind",
    "SymbolType",
    "SymbolVisibility",
]

EM_BPF = 247
ET_REL = 1
SHN_UNDEF = 0
SHN_LORESERVE = 0xFF00
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2
SHN_XINDEX = 0xFFFF

SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4

_EHDR_SIZE = 64
_SHDR_SIZE = 64
_SYM_SIZE = 24
_REL_SIZE = 16
_RELA_SIZE = 24
_REL = struct.Struct("<QQ")  # Elf64_Rel
_RELA = struct.Struct("<QQq")  # Elf64_Rela
# Elf64_Shdr: name, type, flags, addr, offset, size, link, info, addralign, entsize
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")  # Elf64_Sym: name, info, other, shndx, value, size


class SectionType(FastIntEnum):
    """The ELF section types found in BPF objects (others are kept as plain ints)."""

    NULL = 0
    PROGBITS = 1
    SYMTAB = 2
    STRTAB = 3
    RELA = 4
    HASH = 5
    DYNAMIC = 6
    NOTE = 7
    NOBITS = 8
    REL = 9
    LLVM_ADDRSIG = 0x6FFF4C03


class SymbolBind(FastIntEnum):
    """Symbol binding (``STB_*``)."""

    LOCAL = 0
    GLOBAL = 1
    WEAK = 2


class SymbolType(FastIntEnum):
    """Symbol type (``STT_*``)."""

    NOTYPE = 0
    OBJECT = 1
    FUNC = 2
    SECTION = 3
    FILE = 4


class SymbolVisibility(FastIntEnum):
    """Symbol visibility (``STV_*``)."""

    DEFAULT = 0
    INTERNAL = 1
    HIDDEN = 2
    PROTECTED = 3


class RelocType(FastIntEnum):
    """BPF relocation types (``R_BPF_*``)."""

    R_BPF_NONE = 0
    R_BPF_64_64 = 1
    R_BPF_64_ABS64 = 2
    R_BPF_64_ABS32 = 3
    R_BPF_64_NODYLD32 = 4
    R_BPF_64_32 = 10


# GCC with binutils before 2.40 numbers its data relocations differently from LLVM:
# R_BPF_DATA_32 (11) and R_BPF_DATA_64 (12) are LLVM's ABS32 and ABS64 (elf/bpf.h).
_GNU_DATA_RELOCS = {11: RelocType.R_BPF_64_ABS32, 12: RelocType.R_BPF_64_ABS64}

# Bytes of the target section patched by each relocation type (at its offset).
_RELOC_PATCH_SIZE = {
    RelocType.R_BPF_NONE: 0,
    RelocType.R_BPF_64_64: 16,  # a whole ld_imm64 instruction
    RelocType.R_BPF_64_ABS64: 8,
    RelocType.R_BPF_64_ABS32: 4,
    RelocType.R_BPF_64_NODYLD32: 4,
    RelocType.R_BPF_64_32: 8,  # a call instruction
}


@dataclass(frozen=True, slots=True)
class Section:
    """One entry of the section header table, with its contents."""

    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int
    data: bytes

    @property
    def is_exec(self) -> bool:
        """True for code sections (``SHF_EXECINSTR``)."""
        return bool(self.flags & SHF_EXECINSTR)

    @property
    def is_alloc(self) -> bool:
        """True for sections that occupy memory at run time (``SHF_ALLOC``)."""
        return bool(self.flags & SHF_ALLOC)

    @property
    def is_write(self) -> bool:
        """True for writable data (``SHF_WRITE``)."""
        return bool(self.flags & SHF_WRITE)

    @property
    def is_nobits(self) -> bool:
        """True for sections without file contents (``.bss``)."""
        return self.type == SectionType.NOBITS


@dataclass(frozen=True, slots=True)
class Symbol:
    """One symbol table entry; ``shndx`` is the raw section index (SHN_* included)."""

    index: int
    name: str
    value: int
    size: int
    bind: int
    type: int
    visibility: int
    shndx: int

    @property
    def is_undefined(self) -> bool:
        """True for extern symbols (no defining section)."""
        return self.shndx == SHN_UNDEF


@dataclass(frozen=True, slots=True)
class Relocation:
    """One REL entry: patch ``offset`` of the target section using ``symbol``."""

    offset: int
    symbol: int
    type: RelocType
    addend: int = 0


_E = TypeVar("_E", bound=enum.IntEnum)


def _as_enum(cls: type[_E], value: int) -> int:
    """Return ``cls(value)`` when ``value`` is a known member, else ``value``."""
    try:
        return cls(value)
    except ValueError:
        return value


class _Shdr:
    """One raw Elf64_Shdr (a plain class: a NamedTuple costs ~0.25 ms to define)."""

    __slots__ = (
        "sh_addr",
        "sh_addralign",
        "sh_entsize",
        "sh_flags",
        "sh_info",
        "sh_link",
        "sh_name",
        "sh_offset",
        "sh_size",
        "sh_type",
    )

    def __init__(
        self,
        sh_name: int,
        sh_type: int,
        sh_flags: int,
        sh_addr: int,
        sh_offset: int,
        sh_size: int,
        sh_link: int,
        sh_info: int,
        sh_addralign: int,
        sh_entsize: int,
    ) -> None:
        self.sh_name, self.sh_type, self.sh_flags, self.sh_addr = (
            sh_name,
            sh_type,
            sh_flags,
            sh_addr,
        )
        self.sh_offset, self.sh_size, self.sh_link, self.sh_info = (
            sh_offset,
            sh_size,
            sh_link,
            sh_info,
        )
        self.sh_addralign, self.sh_entsize = sh_addralign, sh_entsize


def _cstring(table: bytes, offset: int) -> str | None:
    """The NUL-terminated string at ``offset`` of a string table, or None if out of range."""
    if offset == 0 and not table:
        return ""
    if not 0 <= offset < len(table):
        return None
    end = table.find(b"\0", offset)
    if end < 0:
        return None
    return table[offset:end].decode("utf-8", errors="surrogateescape")


class ElfObject:
    """A parsed BPF ELF relocatable object (immutable, deterministic)."""

    def __init__(
        self,
        *,
        file: str | None,
        sections: tuple[Section, ...],
        symbols: tuple[Symbol, ...],
        relocations: Mapping[int, tuple[Relocation, ...]],
        rel_sections: Mapping[int, int],
        pending: Mapping[int, Callable[[], tuple[Relocation, ...]]] | None = None,
    ) -> None:
        self.file = file
        self.sections = sections
        self.symbols = symbols
        self._relocations = dict(relocations)
        self._rel_sections = dict(rel_sections)
        self._pending = dict(pending or {})
        self._by_name: dict[str, Section] = {}
        for sec in sections:
            self._by_name.setdefault(sec.name, sec)

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path) -> ElfObject:
        """Read and parse the object at ``path``."""
        name = str(path)
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ObjectError(f"cannot read object: {exc.strerror or exc}", file=name) from exc
        return cls.from_bytes(data, file=name)

    @classmethod
    def from_bytes(cls, data: bytes, *, file: str | None = None) -> ElfObject:
        """Parse ``data``; every malformation raises :class:`ObjectError` naming ``file``."""
        try:
            return _Parser(bytes(data), file).parse()
        except ObjectError as exc:
            raise exc.with_file(file) from exc.__cause__
        except (struct.error, IndexError, KeyError, ValueError, OverflowError) as exc:
            # every read above is bounds-checked: this only names a check that was missed
            raise ObjectError(
                f"malformed ELF object (unexpected {type(exc).__name__}: {exc})",
                file=file,
                unexpected=True,
            ) from exc

    # -- queries ------------------------------------------------------------------

    def section(self, name: str) -> Section | None:
        """The first section called ``name``, or None."""
        return self._by_name.get(name)

    def section_by_index(self, index: int) -> Section:
        """The section at ``index`` of the section header table."""
        if not 0 <= index < len(self.sections):
            raise ObjectError(
                f"section index {index} out of range (object has {len(self.sections)})",
                file=self.file,
            )
        return self.sections[index]

    def relocations(self, section_index: int) -> tuple[Relocation, ...]:
        """Relocations applying to section ``section_index`` (from its REL section).

        Those of non-allocated sections (DWARF, BTF) are read on first use: the
        loader never needs them and ``-g`` objects carry thousands.
        """
        rels = self._relocations.get(section_index)
        if rels is None:
            parse = self._pending.pop(section_index, None)
            if parse is None:
                return ()
            rels = self._relocations[section_index] = parse()
        return rels

    def relocation_section(self, section_index: int) -> Section | None:
        """The REL section whose ``sh_info`` targets ``section_index``, if any."""
        idx = self._rel_sections.get(section_index)
        return None if idx is None else self.sections[idx]

    def symbols_in(self, section_index: int) -> tuple[Symbol, ...]:
        """Symbols defined in section ``section_index``, in symbol table order."""
        return tuple(s for s in self.symbols if s.shndx == section_index)

    def symbol(self, index: int) -> Symbol:
        """The symbol at ``index`` of the symbol table."""
        if not 0 <= index < len(self.symbols):
            raise ObjectError(f"symbol index {index} out of range", file=self.file)
        return self.symbols[index]

    def __repr__(self) -> str:
        return f"<ElfObject {self.file or '<bytes>'}: {len(self.sections)} sections>"


class _Parser:
    """One parse of one byte string; raises ObjectError at the first problem."""

    def __init__(self, data: bytes, file: str | None) -> None:
        self.data = data
        self.file = file

    def err(
        self, msg: str, *, section: str | None = None, offset: int | None = None
    ) -> ObjectError:
        return ObjectError(msg, file=self.file, section=section, offset=offset)

    def parse(self) -> ElfObject:
        shoff, shnum, shstrndx = self.header()
        headers = self.section_headers(shoff, shnum)
        shstrtab = self.shstrtab(headers, shstrndx)
        sections = tuple(
            self.section(i, h, shstrtab, shoff + i * _SHDR_SIZE) for i, h in enumerate(headers)
        )
        symbols = self.symbols(sections)
        relocs: dict[int, tuple[Relocation, ...]] = {}
        pending: dict[int, Callable[[], tuple[Relocation, ...]]] = {}
        rel_of: dict[int, int] = {}
        for sec in sections:
            if sec.type not in (SectionType.REL, SectionType.RELA):
                continue
            target = sec.info
            if not 0 < target < len(sections):
                raise self.err(
                    f"relocation section targets section index {target}, "
                    f"out of range (object has {len(sections)} sections)",
                    section=sec.name,
                    offset=sec.offset,
                )
            if target in rel_of:
                raise self.err(
                    f"second relocation section for {sections[target].name!r}",
                    section=sec.name,
                    offset=sec.offset,
                )
            rel_of[target] = sec.index
            if sections[target].is_alloc:
                relocs[target] = self.relocations(sec, sections[target], len(symbols))
            else:
                pending[target] = partial(self.relocations, sec, sections[target], len(symbols))
        return ElfObject(
            file=self.file,
            sections=sections,
            symbols=symbols,
            relocations=relocs,
            rel_sections=rel_of,
            pending=pending,
        )

    # -- ELF header ---------------------------------------------------------------

    def header(self) -> tuple[int, int, int]:
        d = self.data
        if len(d) < 4 or d[:4] != b"\x7fELF":
            raise self.err(
                "not an ELF file (bad magic); pass a BPF object built with clang -target bpf -c",
                offset=0,
            )
        if len(d) < 16:
            raise self.err("truncated ELF identification", offset=len(d))
        if d[4] != 2:
            raise self.err(
                f"not a 64-bit ELF object (EI_CLASS={d[4]}); BPF objects are ELF64", offset=4
            )
        if d[5] == 2:
            raise self.err(
                "big-endian (bpfeb) objects are not supported on this host; "
                "compile with -target bpfel or -target bpf",
                offset=5,
            )
        if d[5] != 1:
            raise self.err(f"bad ELF data encoding EI_DATA={d[5]}", offset=5)
        if len(d) < _EHDR_SIZE:
            raise self.err(
                f"truncated ELF header ({len(d)} bytes, need {_EHDR_SIZE})", offset=len(d)
            )
        (e_type, e_machine) = struct.unpack_from("<HH", d, 16)
        if e_type != ET_REL:
            raise self.err(
                f"not a relocatable object (e_type={e_type}, expected ET_REL=1); "
                "pass the .o produced by clang -c",
                offset=16,
            )
        if e_machine != EM_BPF:
            raise self.err(
                f"not a BPF object (e_machine={e_machine}, expected EM_BPF={EM_BPF})",
                offset=18,
            )
        shoff = struct.unpack_from("<Q", d, 40)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 58)
        if shoff == 0 and shnum == 0:
            raise self.err("object has no section header table", offset=40)
        if shentsize != _SHDR_SIZE:
            raise self.err(
                f"bad section header entry size {shentsize} (expected {_SHDR_SIZE})", offset=58
            )
        if shoff + _SHDR_SIZE > len(d):
            raise self.err(
                f"section header table at {shoff:#x} extends past end of file ({len(d):#x})",
                offset=40,
            )
        if shnum == 0:  # extended numbering: real count in section 0's sh_size
            shnum = struct.unpack_from("<Q", d, shoff + 32)[0]
        if shstrndx == SHN_XINDEX:
            shstrndx = struct.unpack_from("<I", d, shoff + 40)[0]
        if shoff + shnum * _SHDR_SIZE > len(d):
            raise self.err(
                f"section header table ({shnum} entries at {shoff:#x}) "
                f"extends past end of file ({len(d):#x})",
                offset=shoff,
            )
        return shoff, shnum, shstrndx

    def section_headers(self, shoff: int, shnum: int) -> list[_Shdr]:
        return [_Shdr(*_SHDR.unpack_from(self.data, shoff + i * _SHDR_SIZE)) for i in range(shnum)]

    def shstrtab(self, headers: list[_Shdr], shstrndx: int) -> bytes:
        if not 0 < shstrndx < len(headers):
            raise self.err(
                f"section name table index {shstrndx} out of range "
                f"(object has {len(headers)} sections)",
                offset=62,
            )
        h = headers[shstrndx]
        if h.sh_type != SectionType.STRTAB:
            raise self.err(f"section name table (section {shstrndx}) is not a string table")
        return self.contents(h, f"[{shstrndx}]")

    def contents(self, h: _Shdr, name: str) -> bytes:
        if h.sh_type == SectionType.NOBITS:
            return b""
        off, size = h.sh_offset, h.sh_size
        if off + size > len(self.data):
            raise self.err(
                f"section data ({size:#x} bytes at {off:#x}) extends past end of file "
                f"({len(self.data):#x})",
                section=name,
                offset=off,
            )
        return self.data[off : off + size]

    def section(self, index: int, h: _Shdr, shstrtab: bytes, hdr_off: int) -> Section:
        name = _cstring(shstrtab, h.sh_name) if index else ""
        if name is None:
            raise self.err(
                f"section {index}: name offset {h.sh_name:#x} outside the section name table "
                f"({len(shstrtab):#x} bytes)",
                section=f"[{index}]",
                offset=hdr_off,
            )
        data = b"" if index == 0 else self.contents(h, name)
        return Section(
            index=index,
            name=name,
            type=_as_enum(SectionType, h.sh_type),
            flags=h.sh_flags,
            addr=h.sh_addr,
            offset=h.sh_offset,
            size=h.sh_size,
            link=h.sh_link,
            info=h.sh_info,
            addralign=h.sh_addralign,
            entsize=h.sh_entsize,
            data=data,
        )

    # -- symbols ------------------------------------------------------------------

    def symbols(self, sections: tuple[Section, ...]) -> tuple[Symbol, ...]:
        tabs = [s for s in sections if s.type == SectionType.SYMTAB]
        if not tabs:
            return ()
        if len(tabs) > 1:
            raise self.err("more than one symbol table", section=tabs[1].name)
        tab = tabs[0]
        if not 0 < tab.link < len(sections):
            raise self.err(
                f"symbol table's string table index {tab.link} out of range",
                section=tab.name,
                offset=tab.offset,
            )
        strtab = sections[tab.link]
        if strtab.type != SectionType.STRTAB:
            raise self.err(
                f"symbol table links to {strtab.name!r}, which is not a string table",
                section=tab.name,
            )
        if tab.size % _SYM_SIZE:
            raise self.err(
                f"symbol table size {tab.size:#x} is not a multiple of {_SYM_SIZE}",
                section=tab.name,
                offset=tab.offset,
            )
        out: list[Symbol] = []
        for i, (st_name, st_info, st_other, shndx, st_value, st_size) in enumerate(
            _SYM.iter_unpack(tab.data)
        ):
            off = i * _SYM_SIZE
            name = _cstring(strtab.data, st_name)
            if name is None:
                raise self.err(
                    f"symbol {i}: name offset {st_name:#x} outside string table "
                    f"{strtab.name!r} ({len(strtab.data):#x} bytes)",
                    section=tab.name,
                    offset=off,
                )
            if shndx == SHN_XINDEX or (shndx < SHN_LORESERVE and shndx >= len(sections)):
                raise self.err(
                    f"symbol {i} ({name!r}): section index {shndx} out of range "
                    f"(object has {len(sections)} sections)",
                    section=tab.name,
                    offset=off,
                )
            out.append(
                Symbol(
                    index=i,
                    name=name,
                    value=st_value,
                    size=st_size,
                    bind=_as_enum(SymbolBind, st_info >> 4),
                    type=_as_enum(SymbolType, st_info & 0xF),
                    visibility=_as_enum(SymbolVisibility, st_other & 0x3),
                    shndx=shndx,
                )
            )
        return tuple(out)

    # -- relocations ----------------------------------------------------------------

    def relocations(self, rel: Section, target: Section, nsyms: int) -> tuple[Relocation, ...]:
        rela = rel.type == SectionType.RELA
        size = _RELA_SIZE if rela else _REL_SIZE
        if rel.size % size:
            raise self.err(
                f"relocation section size {rel.size:#x} is not a multiple of {size}",
                section=rel.name,
                offset=rel.offset,
            )
        if len(rel.data) != rel.size:
            raise self.err(
                f"relocation section holds {len(rel.data):#x} bytes, header says {rel.size:#x}",
                section=rel.name,
                offset=rel.offset,
            )
        out: list[Relocation] = []
        # Elf64_Rel{a}: r_offset, r_info (sym << 32 | type)[, r_addend], decoded in C
        # by struct (per-entry pyelftools parsing dominated opening objects with -g)
        entries = (_RELA if rela else _REL).iter_unpack(rel.data)
        types: dict[int, RelocType] = {}
        for i, ent in enumerate(entries):
            off = i * size
            r_offset, r_info = ent[0], ent[1]
            r_sym, r_type = r_info >> 32, r_info & 0xFFFFFFFF
            rtype = types.get(r_type)
            if rtype is None:
                try:
                    rtype = types[r_type] = RelocType(_GNU_DATA_RELOCS.get(r_type, r_type))
                except ValueError as exc:
                    raise self.err(
                        f"relocation {i}: unknown relocation type {r_type} (BPF objects use "
                        + ", ".join(f"{t.name}={int(t)}" for t in RelocType)
                        + "); build the object with clang -target bpf",
                        section=rel.name,
                        offset=off,
                    ) from exc
            if not 0 <= r_sym < nsyms:
                raise self.err(
                    f"relocation {i}: symbol index {r_sym} out of range "
                    f"(symbol table has {nsyms} entries)",
                    section=rel.name,
                    offset=off,
                )
            width = _RELOC_PATCH_SIZE[rtype]
            if r_offset + width > target.size:
                raise self.err(
                    f"relocation {i} ({rtype.name}) patches {width} bytes at {r_offset:#x}, "
                    f"outside target section {target.name!r} ({target.size:#x} bytes)",
                    section=rel.name,
                    offset=off,
                )
            out.append(
                Relocation(
                    offset=r_offset,
                    symbol=r_sym,
                    type=rtype,
                    addend=ent[2] if rela else 0,
                )
            )
        return tuple(out)
