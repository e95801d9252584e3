"""One input object of the static linker: its ELF, BTF and ``.BTF.ext``, and which
of its sections the linker keeps (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pybpf.btf.types import Datasec, Func, Kind, Linkage, Var, VarLinkage
from pybpf.elf.reader import ElfObject, Section, SectionType, Symbol
from pybpf.errors import ObjectError

if TYPE_CHECKING:
    from pybpf.btf.ext import BTFExt
    from pybpf.btf.reader import BTF

__all__ = ["LinkInput", "is_kept", "is_non_static", "read_input"]


def is_kept(sec: Section) -> bool:
    """Whether a section's contents go to the output (code and data, not metadata).

    As libbpf's linker: DWARF, string/symbol tables, address-significance tables
    and an empty ``.text`` are dropped; ``.BTF``/``.BTF.ext`` and relocations are
    rebuilt separately.
    """
    if sec.index == 0 or sec.name.startswith(".debug_") or sec.name in (".BTF", ".BTF.ext"):
        return False
    if sec.type not in (SectionType.PROGBITS, SectionType.NOBITS):
        return False
    return not (sec.name == ".text" and sec.size == 0)


@dataclass
class LinkInput:
    """A parsed input object with the BTF facts the linker asks about."""

    file: str
    elf: ElfObject
    btf: BTF | None
    ext: BTFExt | None
    # name of a non-static BTF VAR/FUNC -> (type id, DATASEC name or "")
    globals_btf: dict[str, tuple[int, str]] = field(default_factory=dict)

    def err(self, msg: str, section: str | None = None) -> ObjectError:
        return ObjectError(msg, file=self.file, section=section)

    def btf_of_global(self, sym: Symbol) -> tuple[int, str]:
        """The BTF VAR/FUNC id of a global or extern symbol and its DATASEC name."""
        if self.btf is None:
            raise self.err(f"global symbol {sym.name!r} needs BTF (compile with -g)")
        found = self.globals_btf.get(sym.name)
        if found is None:
            raise self.err(f"no BTF VAR or FUNC for global symbol {sym.name!r}")
        return found


def is_non_static(t: object) -> bool:
    """A global or extern VAR/FUNC (what a global symbol's BTF is)."""
    if isinstance(t, Var):
        return t.linkage != VarLinkage.STATIC
    return isinstance(t, Func) and t.linkage != Linkage.STATIC


def _globals_btf(btf: BTF) -> dict[str, tuple[int, str]]:
    """Map each non-static VAR/FUNC name to its id and the DATASEC listing it."""
    out: dict[str, tuple[int, str]] = {}
    for tid, t in btf.of_kind(Kind.VAR, Kind.FUNC):
        if is_non_static(t):
            out.setdefault(t.name, (tid, ""))
    for _, ds in btf.of_kind(Kind.DATASEC):
        assert isinstance(ds, Datasec)
        for vs in ds.vars:
            name = btf.name_of(vs.type)
            prev = out.get(name)
            if prev is not None and prev[0] == vs.type:
                out[name] = (vs.type, ds.name)
    return out


def read_input(src: str | Path | bytes, index: int) -> LinkInput:
    """Parse one input (a path, or bytes named ``<input N>``)."""
    if isinstance(src, bytes):
        file = f"<input {index}>"
        elf = ElfObject.from_bytes(src, file=file)
    else:
        file = str(src)
        elf = ElfObject.from_file(src)
    btf = ext = None
    sec = elf.section(".BTF")
    if sec is not None:
        from pybpf.btf.reader import BTF

        btf = BTF.from_bytes(sec.data, name=".BTF")
        ext_sec = elf.section(".BTF.ext")
        if ext_sec is not None:
            from pybpf.btf.ext import BTFExt

            ext = BTFExt.from_bytes(ext_sec.data, btf)
    inp = LinkInput(file, elf, btf, ext)
    if btf is not None:
        inp.globals_btf = _globals_btf(btf)
    return inp
