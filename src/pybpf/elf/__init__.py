"""Reading BPF ELF objects: the raw reader (sections, symbols, relocations)."""

from __future__ import annotations

from pybpf.elf.reader import (
    ElfObject,
    Relocation,
    RelocType,
    Section,
    SectionType,
    Symbol,
    SymbolBind,
    SymbolType,
    SymbolVisibility,
)

__all__ = [
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
