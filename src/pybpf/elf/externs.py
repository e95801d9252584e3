"""Extern symbols of an object: ``__kconfig`` values and ``__ksym`` kernel symbols/kfuncs.

An undefined ELF symbol with a BTF VAR or FUNC must have extern linkage and sit
in the ``.kconfig`` or ``.ksyms`` DATASEC; one without (``r0 = SYM ll`` in inline
asm) is no extern but a symbol reference left for the user to patch. ``.kconfig`` externs are laid out in one
read-only array the way libbpf does it: sorted by alignment (largest first),
then size, then name, each at the next offset aligned for its type.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from pybpf._dataclass import dataclass
from pybpf._fastenum import FastEnum
from pybpf.btf.types import (
    Array,
    Datasec,
    Enum,
    Enum64,
    Func,
    Int,
    IntEncoding,
    Kind,
    Linkage,
    Var,
    VarLinkage,
)
from pybpf.elf.reader import SymbolBind, SymbolType
from pybpf.errors import ObjectError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF
    from pybpf.elf.reader import ElfObject

__all__ = ["KCONFIG_SEC", "KSYMS_SEC", "ExternKind", "ExternSpec", "collect_externs"]

KCONFIG_SEC = ".kconfig"
KSYMS_SEC = ".ksyms"


class ExternKind(FastEnum):
    """Where an extern's value comes from."""

    KCONFIG = "kconfig"  # kernel config option / LINUX_* value, stored in .kconfig
    KSYM = "ksym"  # kernel variable or kfunc, resolved from kernel BTF/kallsyms


@dataclass(frozen=True, slots=True)
class ExternSpec:
    """One extern: ``type_id`` is the declared type (a VAR's type, or the FUNC itself).

    ``btf_id`` is the VAR/FUNC record in the object's BTF; ``size``/``align`` and
    ``offset`` (within the ``.kconfig`` map) are set for kconfig externs; for ksyms
    ``offset`` is the slot libbpf gives it in the ``.ksyms`` DATASEC.
    """

    name: str
    kind: ExternKind
    type_id: int
    btf_id: int
    symbol_index: int
    is_weak: bool
    is_func: bool
    size: int
    align: int
    offset: int


def _kcfg_type_ok(btf: BTF, tid: int) -> bool:
    """True when libbpf can fill a kconfig extern of this type (int/bool/char[]/tristate)."""
    t = btf.type(btf.resolve(tid))
    if isinstance(t, Int):
        if t.encoding & IntEncoding.BOOL:
            return t.size == 1
        return t.size in (1, 2, 4, 8)
    if isinstance(t, (Enum, Enum64)):
        return t.name == "libbpf_tristate" and (isinstance(t, Enum64) or t.size == 4)
    if isinstance(t, Array):
        if t.nelems == 0:
            return False
        el = btf.type(btf.resolve(t.type))
        # libbpf: an array of 1-byte non-bool integers (its KCFG_CHAR)
        return isinstance(el, Int) and el.size == 1 and not el.encoding & IntEncoding.BOOL
    return False


def _extern_sections(btf: BTF) -> dict[int, tuple[int, str, int]]:
    """Map VAR/FUNC id -> (DATASEC id, DATASEC name, position) for every DATASEC entry."""
    out: dict[int, tuple[int, str, int]] = {}
    for tid, t in btf.of_kind(Kind.DATASEC):
        if isinstance(t, Datasec):
            for pos, vs in enumerate(t.vars):
                out.setdefault(vs.type, (tid, t.name, pos))
    return out


def collect_externs(elf: ElfObject, btf: BTF | None) -> Mapping[str, ExternSpec]:
    """All externs of ``elf`` keyed by name; ObjectError for anything libbpf rejects."""
    undefined = [
        s
        for s in elf.symbols
        if s.index
        and s.is_undefined
        and s.name
        and s.type not in (SymbolType.SECTION, SymbolType.FILE)
    ]
    if not undefined or btf is None:
        # without BTF an undefined symbol is a plain symbol reference (inline asm's
        # `r0 = SYM ll`), kept on its instruction for the user to patch before load
        return MappingProxyType({})
    by_name: dict[str, int] = {}
    for bid, bt in btf.of_kind(Kind.VAR, Kind.FUNC):
        if isinstance(bt, (Var, Func)) and bt.name not in by_name:
            by_name[bt.name] = bid
    secs = _extern_sections(btf)
    kcfg: list[tuple[int, int, str, ExternSpec]] = []
    out: dict[str, ExternSpec] = {}
    for sym in undefined:
        tid = by_name.get(sym.name)
        if tid is None:
            continue  # no BTF VAR/FUNC: a symbol reference (see relocs.RelocKind.SYMBOL)
        t = btf.type(tid)
        assert isinstance(t, (Var, Func))
        if isinstance(t, Var) and t.linkage != VarLinkage.GLOBAL_EXTERN:
            raise ObjectError(f"BTF VAR {sym.name!r} of an extern is not extern", file=elf.file)
        if isinstance(t, Func) and t.linkage != Linkage.EXTERN:
            raise ObjectError(f"BTF FUNC {sym.name!r} of an extern is not extern", file=elf.file)
        where = secs.get(tid)
        if where is None:
            raise ObjectError(
                f"extern {sym.name!r} is in no BTF DATASEC (declare it __kconfig or __ksym)",
                file=elf.file,
            )
        _, sec_name, pos = where
        weak = sym.bind == SymbolBind.WEAK
        if sec_name == KCONFIG_SEC:
            if isinstance(t, Func):
                raise ObjectError(
                    f"extern function {sym.name!r} cannot be a {KCONFIG_SEC} extern", file=elf.file
                )
            assert isinstance(t, Var)
            size = btf.size_of(t.type)
            align = btf.align_of(t.type)
            if size <= 0 or align <= 0:
                raise ObjectError(f"kconfig extern {sym.name!r} has no size", file=elf.file)
            if not _kcfg_type_ok(btf, t.type):
                raise ObjectError(
                    f"kconfig extern {sym.name!r} has an unsupported type "
                    "(use an integer, bool, char array or enum libbpf_tristate)",
                    file=elf.file,
                )
            ext = ExternSpec(
                sym.name, ExternKind.KCONFIG, t.type, tid, sym.index, weak, False, size, align, 0
            )
            kcfg.append((-align, size, sym.name, ext))
        elif sec_name == KSYMS_SEC:
            is_func = isinstance(t, Func)
            type_id = tid if isinstance(t, Func) else t.type
            size = 0
            if not is_func and type_id:
                try:
                    size = btf.size_of(type_id)
                except ObjectError:
                    size = 0
            out[sym.name] = ExternSpec(
                sym.name, ExternKind.KSYM, type_id, tid, sym.index, weak, is_func, size, 0, pos * 4
            )
        else:
            raise ObjectError(
                f"extern {sym.name!r} is in unsupported extern section {sec_name!r}", file=elf.file
            )
    off = 0
    for _, _, _, ext in sorted(kcfg, key=lambda k: (k[0], k[1], k[2])):
        start = -(-off // ext.align) * ext.align
        off = start + ext.size
        out[ext.name] = ExternSpec(
            ext.name,
            ext.kind,
            ext.type_id,
            ext.btf_id,
            ext.symbol_index,
            ext.is_weak,
            False,
            ext.size,
            ext.align,
            start,
        )
    return MappingProxyType(
        dict(sorted(out.items(), key=lambda kv: (kv[1].kind.value, kv[1].offset, kv[0])))
    )


def kconfig_size(externs: Mapping[str, ExternSpec]) -> int:
    """Bytes of the ``.kconfig`` map (0 when there are no kconfig externs)."""
    return max(
        (e.offset + e.size for e in externs.values() if e.kind is ExternKind.KCONFIG), default=0
    )
