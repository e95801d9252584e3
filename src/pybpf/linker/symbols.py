"""Symbol resolution across objects (pure), with libbpf's rules.

- Local (static) symbols stay per object: two ``static int x`` never meet.
- One global per name. Two strong definitions are an error; a strong definition
  overrides weak ones; among weak ones the first wins; an extern binds to the
  definition, wherever it is.
- Types must agree (see :mod:`pybpf.linker.btfmatch`); BTF maps must match exactly.
- Visibility: only default and hidden; the stricter one wins, even from an extern.
- Externs left at the end must be ``.kconfig``/``.ksyms`` (the loader's business),
  unless unresolved ones are allowed (building a library object).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pybpf.elf.reader import Symbol, SymbolBind, SymbolType, SymbolVisibility
from pybpf.errors import ObjectError, StaticLinkError
from pybpf.linker.btfmatch import map_defs_differ, types_differ
from pybpf.linker.inputs import LinkInput
from pybpf.linker.layout import Placement
from pybpf.linker.writer import OutSection, OutSymbol

__all__ = ["Global", "SymbolTable", "resolve_symbols"]

SHN_ABS = 0xFFF1
SHN_LORESERVE = 0xFF00
LOADER_EXTERNS = (".kconfig", ".ksyms")


@dataclass(eq=False)
class Global:
    """A global symbol and the object whose BTF describes it."""

    name: str
    sym: OutSymbol
    owner: int  # input holding the definition (or the first extern)
    btf_id: int  # its VAR/FUNC in the owner's BTF
    datasec: str  # DATASEC the owner lists it in ("" for none)
    extern: bool
    weak: bool
    def_file: str | None
    ref_files: list[str] = field(default_factory=list)


@dataclass
class SymbolTable:
    """Output symbols, what each input symbol became, and the globals by name."""

    symbols: list[OutSymbol] = field(default_factory=list)
    maps: list[dict[int, OutSymbol]] = field(default_factory=list)
    globals: dict[str, Global] = field(default_factory=dict)
    section_syms: dict[int, OutSymbol] = field(default_factory=dict)  # id(OutSection) ->


class _Resolver:
    def __init__(self, inputs: list[LinkInput], placement: Placement) -> None:
        self.inputs = inputs
        self.p = placement
        self.t = SymbolTable()

    def run(self, allow_unresolved: bool) -> SymbolTable:
        for i, inp in enumerate(self.inputs):
            self.t.maps.append({})
            for s in inp.elf.symbols[1:]:
                self.add(i, inp, s)
        if not allow_unresolved:
            self.check_resolved()
        return self.t

    # -- one symbol ---------------------------------------------------------------

    def add(self, i: int, inp: LinkInput, s: Symbol) -> None:
        if s.type == SymbolType.FILE or s.shndx == SHN_ABS:
            self.new(i, s, None, absolute=True)
            return
        if s.shndx >= SHN_LORESERVE:
            raise ObjectError(
                f"symbol {s.name!r} has unsupported section index {s.shndx:#x}", file=inp.file
            )
        placed = self.p.of(i, s.shndx) if s.shndx else None
        if s.shndx and placed is None:
            self.dropped(i, s)
            return
        if s.type == SymbolType.SECTION:
            self.section_symbol(i, s, placed)
        elif s.bind == SymbolBind.LOCAL:
            self.new(i, s, placed)
        else:
            self.add_global(i, inp, s, placed)

    def dropped(self, i: int, s: Symbol) -> None:
        """A symbol of a section not in the output (deduped license, DWARF)."""
        if (i, s.shndx) in self.p.deduped and s.name in self.t.globals:
            self.t.maps[i][s.index] = self.t.globals[s.name].sym

    def new(
        self, i: int, s: Symbol, placed: tuple[OutSection, int] | None, *, absolute: bool = False
    ) -> OutSymbol:
        sec, off = placed if placed else (None, 0)
        o = OutSymbol(s.name, s.bind, s.type, s.visibility, sec, s.value + off, s.size, absolute)
        self.t.symbols.append(o)
        self.t.maps[i][s.index] = o
        return o

    def section_symbol(self, i: int, s: Symbol, placed: tuple[OutSection, int] | None) -> None:
        assert placed is not None
        key = id(placed[0])
        o = self.t.section_syms.get(key)
        if o is None:
            o = self.t.section_syms[key] = self.new(i, s, (placed[0], 0))
            o.value = 0
        self.t.maps[i][s.index] = o

    # -- globals ------------------------------------------------------------------

    def add_global(
        self, i: int, inp: LinkInput, s: Symbol, placed: tuple[OutSection, int] | None
    ) -> None:
        if s.visibility not in (SymbolVisibility.DEFAULT, SymbolVisibility.HIDDEN):
            raise ObjectError(
                f"symbol {s.name!r} has visibility {s.visibility}; "
                "only default and hidden can be linked",
                file=inp.file,
            )
        btf_id, datasec = inp.btf_of_global(s)
        g = self.t.globals.get(s.name)
        if g is None:
            o = self.new(i, s, placed)
            g = Global(s.name, o, i, btf_id, datasec, s.is_undefined,
                       s.bind == SymbolBind.WEAK, None if s.is_undefined else inp.file)  # fmt: skip
            self.t.globals[s.name] = g
            if s.is_undefined:
                g.ref_files.append(inp.file)
            return
        self.t.maps[i][s.index] = g.sym
        self.merge(g, i, inp, s, btf_id, datasec, placed)

    def conflict(self, g: Global, msg: str, file: str) -> StaticLinkError:
        other = g.def_file or self.inputs[g.owner].file
        return StaticLinkError(
            f"global {g.name!r}: {msg} ({other} and {file})",
            symbol=g.name,
            files=(other, file),
        )

    def merge(
        self,
        g: Global,
        i: int,
        inp: LinkInput,
        s: Symbol,
        btf_id: int,
        datasec: str,
        placed: tuple[OutSection, int] | None,
    ) -> None:
        weak = s.bind == SymbolBind.WEAK
        if not s.is_undefined and not g.extern and not g.weak and not weak:
            raise self.conflict(
                g, "defined (non-weak) in two objects; make one __weak, or static", inp.file
            )
        self.check_types(g, inp, btf_id, datasec)
        if s.bind == SymbolBind.GLOBAL:
            g.sym.bind = SymbolBind.GLOBAL
        g.sym.visibility = max(g.sym.visibility, s.visibility)
        if s.is_undefined:
            g.ref_files.append(inp.file)
            self.check_section(g, g.sym.section, datasec, inp.file)
            return
        if not g.extern and weak:
            return  # a weak definition loses to the one already there
        assert placed is not None
        self.check_section(g, placed[0], g.datasec if g.extern else "", inp.file)
        g.sym.type = s.type
        g.sym.section, g.sym.value, g.sym.size = placed[0], placed[1] + s.value, s.size
        g.owner, g.btf_id, g.datasec = i, btf_id, datasec
        g.extern, g.weak, g.def_file = False, weak, inp.file

    def check_types(self, g: Global, inp: LinkInput, btf_id: int, datasec: str) -> None:
        owner = self.inputs[g.owner]
        assert owner.btf is not None and inp.btf is not None
        if ".maps" in (g.datasec, datasec):
            why = map_defs_differ(owner.btf, g.btf_id, inp.btf, btf_id)
        else:
            why = types_differ(owner.btf, g.btf_id, inp.btf, btf_id)
        if why:
            raise self.conflict(
                g, f"types do not match: {why}; declare it alike in every object", inp.file
            )

    def check_section(self, g: Global, sec: OutSection | None, declared: str, file: str) -> None:
        """An extern declared in a data section must be defined in that section."""
        if sec is None or declared in ("", ".extern") or sec.name == declared:
            return
        raise self.conflict(
            g, f"declared in {declared!r} but defined in {sec.name!r}; declare it there", file
        )

    def check_resolved(self) -> None:
        for g in self.t.globals.values():
            if g.extern and g.datasec not in LOADER_EXTERNS:
                files = tuple(dict.fromkeys(g.ref_files))
                raise StaticLinkError(
                    f"extern {g.name!r} is not defined in any linked object "
                    f"(referenced from {', '.join(files)}); add the object that defines it, "
                    "or allow unresolved externs to build a library object",
                    symbol=g.name,
                    files=files,
                )


def resolve_symbols(
    inputs: list[LinkInput], placement: Placement, *, allow_unresolved: bool = False
) -> SymbolTable:
    """Resolve every symbol of every input into one output symbol table."""
    return _Resolver(inputs, placement).run(allow_unresolved)
