"""Fix up an object's BTF from its ELF, as libbpf does when opening an object.

Clang leaves every DATASEC's size and its variables' offsets at zero in object
files; the kernel wants the real ones. Sizes come from the ELF sections, offsets
from the variables' symbols; global variables with hidden visibility become
static, and so do hidden global functions (verified in their caller's context,
as libbpf does: usdt.bpf.h relies on it); entries are sorted by offset. The
extern sections get their layout: ``.kconfig`` from the extern layout, ``.ksyms``
as 4-byte slots (kfuncs point at a dummy variable so the kernel accepts the DATASEC).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pybpf._dataclass import replace
from pybpf.btf.types import (
    Datasec,
    Func,
    FuncProto,
    Int,
    IntEncoding,
    Kind,
    Linkage,
    Param,
    Type,
    Var,
    VarLinkage,
    VarSecinfo,
)
from pybpf.elf.externs import KCONFIG_SEC, KSYMS_SEC, ExternKind, ExternSpec, kconfig_size
from pybpf.elf.reader import Symbol, SymbolType, SymbolVisibility
from pybpf.errors import BTFError, ObjectError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF
    from pybpf.elf.reader import ElfObject

__all__ = ["DUMMY_KSYM", "fixup_btf"]

DUMMY_KSYM = "dummy_ksym"


class _Fixer:
    def __init__(self, elf: ElfObject, btf: BTF, externs: Mapping[str, ExternSpec]) -> None:
        self.elf = elf
        self.btf = btf
        self.externs = externs
        self.overrides: dict[int, Type] = {}
        self.next_id = btf.type_count

    def err(self, msg: str, section: str | None = None) -> ObjectError:
        return ObjectError(msg, file=self.elf.file, section=section)

    def var(self, sec: str, vs: VarSecinfo) -> Var:
        t = self.overrides.get(vs.type) or self.btf.type(vs.type)
        if not isinstance(t, Var):
            raise self.err(f"BTF DATASEC entry [{vs.type}] is a {t.kind.name}, not a VAR", sec)
        return t

    def append(self, t: Type) -> int:
        tid = self.next_id
        self.overrides[tid] = t
        self.next_id += 1
        return tid

    def run(self) -> BTF:
        hidden = {
            s.name
            for s in self.elf.symbols
            if s.type == SymbolType.FUNC
            and s.visibility in (SymbolVisibility.HIDDEN, SymbolVisibility.INTERNAL)
        }
        for tid, t in list(self.btf.of_kind(Kind.FUNC, Kind.DATASEC)):
            if isinstance(t, Func) and t.linkage == Linkage.GLOBAL and t.name in hidden:
                self.overrides[tid] = replace(t, linkage=Linkage.STATIC)
            elif isinstance(t, Datasec):
                if t.name == KCONFIG_SEC:
                    self.kconfig(tid, t)
                elif t.name == KSYMS_SEC:
                    self.ksyms(tid, t)
                else:
                    self.data(tid, t)
        if not self.overrides:
            return self.btf
        from pybpf.btf.reader import BTF

        return BTF.from_bytes(self.btf.encode(self.overrides), name=self.btf.name)

    def data(self, tid: int, t: Datasec) -> None:
        sec = self.elf.section(t.name)
        size = t.size
        fix_offsets = size == 0
        if fix_offsets:
            if sec is None or sec.size == 0:
                raise self.err(f"BTF DATASEC {t.name!r} has no ELF section to size it", t.name)
            size = sec.size
        syms: dict[str, Symbol] = {}
        if sec is not None:
            for s in self.elf.symbols_in(sec.index):
                if s.type == SymbolType.OBJECT and s.name:
                    syms.setdefault(s.name, s)
        out: list[VarSecinfo] = []
        for vs in t.vars:
            v = self.var(t.name, vs)
            if v.linkage == VarLinkage.GLOBAL_EXTERN:
                out.append(vs)
                continue
            sym = syms.get(v.name)
            if sym is None:
                if v.linkage == VarLinkage.STATIC:
                    out.append(vs)
                    continue
                raise self.err(f"no ELF symbol for BTF variable {v.name!r}", t.name)
            if fix_offsets:
                vs = replace(vs, offset=sym.value)
            if v.linkage == VarLinkage.GLOBAL_ALLOCATED and sym.visibility in (
                SymbolVisibility.HIDDEN,
                SymbolVisibility.INTERNAL,
            ):
                self.overrides[vs.type] = replace(v, linkage=VarLinkage.STATIC)
            if vs.offset + vs.size > size:
                raise self.err(
                    f"variable {v.name!r} ({vs.size} bytes at {vs.offset:#x}) extends past the "
                    f"end of its section ({size:#x} bytes)",
                    t.name,
                )
            out.append(vs)
        out.sort(key=lambda x: x.offset)
        new = Datasec(t.name, size, tuple(out))
        if new != t:
            self.overrides[tid] = new

    def kconfig(self, tid: int, t: Datasec) -> None:
        out: list[VarSecinfo] = []
        for vs in t.vars:
            v = self.var(t.name, vs)
            ext = self.externs.get(v.name)
            if ext is None or ext.kind is not ExternKind.KCONFIG:
                raise self.err(f"no extern definition for BTF variable {v.name!r}", t.name)
            self.overrides[vs.type] = replace(v, linkage=VarLinkage.GLOBAL_ALLOCATED)
            out.append(VarSecinfo(vs.type, ext.offset, vs.size or ext.size))
        out.sort(key=lambda x: x.offset)
        self.overrides[tid] = Datasec(t.name, kconfig_size(self.externs), tuple(out))

    def int_id(self) -> int:
        for tid, t in self.btf.of_kind(Kind.INT):
            if isinstance(t, Int) and t.bits == 32 and t.size == 4:
                return tid
        return self.append(Int("int", 4, IntEncoding.SIGNED, 32))

    def ksyms(self, tid: int, t: Datasec) -> None:
        int_id = self.int_id()
        dummy = 0
        out: list[VarSecinfo] = []
        for i, vs in enumerate(t.vars):
            vt = self.btf.type(vs.type)
            name = getattr(vt, "name", "")
            ext = self.externs.get(name)
            if ext is None or ext.kind is not ExternKind.KSYM:
                raise self.err(f"no extern definition for BTF {vt.kind.name} {name!r}", t.name)
            if isinstance(vt, Func):
                if not dummy:
                    dummy = self.append(Var(DUMMY_KSYM, int_id, VarLinkage.GLOBAL_ALLOCATED))
                proto = self.btf.type(vt.type)
                if isinstance(proto, FuncProto):
                    params = tuple(
                        Param(DUMMY_KSYM, p.type) if p.type and not p.name else p
                        for p in proto.params
                    )
                    if params != proto.params:
                        self.overrides[vt.type] = replace(proto, params=params)
                self.overrides[vs.type] = replace(vt, linkage=Linkage.GLOBAL)
                out.append(VarSecinfo(dummy, i * 4, 4))
            elif isinstance(vt, Var):
                self.overrides[vs.type] = Var(vt.name, int_id, VarLinkage.GLOBAL_ALLOCATED)
                out.append(VarSecinfo(vs.type, i * 4, 4))
            else:
                raise self.err(f"unexpected {vt.kind.name} in the {KSYMS_SEC} DATASEC", t.name)
        self.overrides[tid] = Datasec(t.name, len(out) * 4, tuple(out))


def fixup_btf(elf: ElfObject, btf: BTF, externs: Mapping[str, ExternSpec]) -> BTF:
    """A copy of ``btf`` with DATASEC sizes/offsets and extern sections fixed up."""
    try:
        return _Fixer(elf, btf, externs).run()
    except BTFError as exc:
        raise exc.with_file(elf.file) from exc.__cause__
