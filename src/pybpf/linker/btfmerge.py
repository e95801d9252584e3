"""Merge the inputs' BTF into one type list (pure; deduplicated afterwards).

Every input type is appended with its ids remapped, except:
- one VAR/FUNC per global name: the definition's (or the first extern's), made
  non-extern when defined; every other object's VAR/FUNC of that name points to it;
- DATASECs, rebuilt per output section: statics of every object at their new
  offsets, each global once at its symbol's final place, sizes from the output.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pybpf.btf.types import (
    VOID,
    Datasec,
    Func,
    Linkage,
    Type,
    Var,
    VarLinkage,
    VarSecinfo,
)
from pybpf.elf.reader import SymbolBind, SymbolType
from pybpf.linker.btfrefs import map_refs
from pybpf.linker.inputs import LinkInput, is_non_static
from pybpf.linker.layout import Placement
from pybpf.linker.symbols import Global, SymbolTable

__all__ = ["MergedBTF", "merge_btf"]


@dataclass
class MergedBTF:
    """All types (index = id, 0 is void) and each input's old id -> merged id."""

    types: list[Type] = field(default_factory=lambda: [VOID])
    id_maps: list[dict[int, int]] = field(default_factory=list)


def _as_defined(t: Type, g: Global) -> Type:
    """The owner's VAR/FUNC, made non-extern once a definition exists."""
    if g.extern:
        return t
    if isinstance(t, Var):
        return replace(t, linkage=VarLinkage.GLOBAL_ALLOCATED)
    if isinstance(t, Func):
        return replace(t, linkage=Linkage.GLOBAL)
    return t


class _Merger:
    def __init__(self, inputs: list[LinkInput], p: Placement, syms: SymbolTable) -> None:
        self.inputs = inputs
        self.p = p
        self.syms = syms
        self.m = MergedBTF(id_maps=[{} for _ in inputs])
        self.origin: list[int] = [-1]
        self.global_ids: dict[str, int] = {}
        self.secs: dict[str, list[VarSecinfo]] = {}
        self.placed_globals: set[str] = set()

    def run(self) -> MergedBTF:
        deferred: list[tuple[int, int, str]] = []
        for i, inp in enumerate(self.inputs):
            if inp.btf is not None:
                deferred += self.append_types(i, inp)
        for i, tid, name in deferred:
            self.m.id_maps[i][tid] = self.global_ids[name]
        types = self.m.types
        for k in range(1, len(types)):
            ids = self.m.id_maps[self.origin[k]]
            types[k] = map_refs(types[k], lambda r, ids=ids: ids[r] if r else 0)  # type: ignore[misc]
        for i, inp in enumerate(self.inputs):
            if inp.btf is not None:
                self.add_datasecs(i, inp)
        for name, entries in self.secs.items():
            out = self.p.by_name.get(name)
            entries.sort(key=lambda v: v.offset)
            types.append(Datasec(name, out.size if out else 0, tuple(entries)))
        return self.m

    def append_types(self, i: int, inp: LinkInput) -> list[tuple[int, int, str]]:
        """Append input ``i``'s types; returns the global VAR/FUNCs to point elsewhere."""
        assert inp.btf is not None
        deferred: list[tuple[int, int, str]] = []
        ids = self.m.id_maps[i]
        for tid, t in inp.btf.own_types():
            if isinstance(t, Datasec):
                continue
            g = self.syms.globals.get(t.name) if is_non_static(t) else None
            if g is not None and (g.owner, g.btf_id) != (i, tid):
                deferred.append((i, tid, t.name))
                continue
            if g is not None:
                t = _as_defined(t, g)
                self.global_ids[g.name] = len(self.m.types)
            ids[tid] = len(self.m.types)
            self.m.types.append(t)
            self.origin.append(i)
        return deferred

    # -- DATASECs -----------------------------------------------------------------

    def add_datasecs(self, i: int, inp: LinkInput) -> None:
        assert inp.btf is not None
        for _, ds in inp.btf.own_types():
            if not isinstance(ds, Datasec):
                continue
            sec = inp.elf.section(ds.name)
            if sec is not None and (i, sec.index) in self.p.deduped:
                continue
            placed = self.p.of(i, sec.index) if sec is not None else None
            entries = self.secs.setdefault(ds.name, [])
            statics = self.static_offsets(inp, sec.index) if sec and placed else {}
            for vs in ds.vars:
                t = inp.btf.type(vs.type)
                g = self.syms.globals.get(t.name) if is_non_static(t) else None
                if g is not None:
                    self.add_global(g, ds.name, vs, entries)
                    continue
                off = vs.offset
                if placed is not None:
                    off = placed[1] + statics.get(t.name, vs.offset)
                entries.append(VarSecinfo(self.m.id_maps[i][vs.type], off, vs.size))

    def add_global(self, g: Global, sec: str, vs: VarSecinfo, out: list[VarSecinfo]) -> None:
        """List global ``g`` once, where its definition (or its extern's section) is."""
        if g.name in self.placed_globals:
            return
        tid = self.global_ids[g.name]
        if g.extern:
            if g.datasec != sec:
                return
            out.append(VarSecinfo(tid, vs.offset, vs.size))
        else:
            if g.sym.section is None or g.sym.section.name != sec:
                return
            owner = self.inputs[g.owner].btf
            assert owner is not None
            t = owner.type(g.btf_id)
            size = owner.size_of(t.type) if isinstance(t, Var) else vs.size
            out.append(VarSecinfo(tid, g.sym.value, size))
        self.placed_globals.add(g.name)

    @staticmethod
    def static_offsets(inp: LinkInput, shndx: int) -> dict[str, int]:
        """Offsets of the static variables of one section, from their local symbols."""
        return {
            s.name: s.value
            for s in inp.elf.symbols_in(shndx)
            if s.bind == SymbolBind.LOCAL and s.type == SymbolType.OBJECT
        }


def merge_btf(inputs: list[LinkInput], placement: Placement, syms: SymbolTable) -> MergedBTF:
    """One type list for all inputs (see the module docstring)."""
    return _Merger(inputs, placement, syms).run()
