"""bpftool's raw text format for BTF (``bpftool btf dump file X``), line for line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pybpf.btf.types import (
    Array,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Linkage,
    Ptr,
    Struct,
    Type,
    Union,
    Var,
    VarLinkage,
)
from pybpf.errors import BTFError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = ["dump_raw", "format_raw", "iter_raw"]

_INT_ENC = {0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL"}
_FUNC_LINKAGE = {Linkage.STATIC: "static", Linkage.GLOBAL: "global", Linkage.EXTERN: "extern"}
_VAR_LINKAGE = {
    VarLinkage.STATIC: "static",
    VarLinkage.GLOBAL_ALLOCATED: "global",
    VarLinkage.GLOBAL_EXTERN: "extern",
}


def _n(name: str) -> str:
    return name or "(anon)"


def format_raw(btf: BTF, tid: int) -> str:
    """One type in bpftool's raw format (may span several lines, no final newline)."""
    t: Type = btf.type(tid)
    head = f"[{tid}] {t.kind.name} '{_n(t.name)}'"
    if isinstance(t, Int):
        enc = _INT_ENC.get(int(t.encoding), "UNKN")
        return f"{head} size={t.size} bits_offset={t.offset} nr_bits={t.bits} encoding={enc}"
    if isinstance(t, Ptr) or t.kind.name in (
        "CONST",
        "VOLATILE",
        "RESTRICT",
        "TYPEDEF",
        "TYPE_TAG",
    ):
        return f"{head} type_id={t.type}"  # type: ignore[union-attr]
    if isinstance(t, Array):
        return f"{head} type_id={t.type} index_type_id={t.index_type} nr_elems={t.nelems}"
    if isinstance(t, Struct | Union):
        lines = [f"{head} size={t.size} vlen={len(t.members)}"]
        for m in t.members:
            line = f"\t'{_n(m.name)}' type_id={m.type} bits_offset={m.bit_offset}"
            if m.bitfield_size:
                line += f" bitfield_size={m.bitfield_size}"
            lines.append(line)
        return "\n".join(lines)
    if isinstance(t, Enum | Enum64):
        enc = "SIGNED" if t.signed else "UNSIGNED"
        lines = [f"{head} encoding={enc} size={t.size} vlen={len(t.values)}"]
        if isinstance(t, Enum64):
            suffix = "LL" if t.signed else "ULL"
            lines += [f"\t'{_n(v.name)}' val={v.value}{suffix}" for v in t.values]
        else:
            lines += [f"\t'{_n(v.name)}' val={v.value}" for v in t.values]
        return "\n".join(lines)
    if isinstance(t, Fwd):
        return f"{head} fwd_kind={'union' if t.is_union else 'struct'}"
    if isinstance(t, Func):
        return f"{head} type_id={t.type} linkage={_FUNC_LINKAGE.get(t.linkage, '(unknown)')}"
    if isinstance(t, FuncProto):
        lines = [f"{head} ret_type_id={t.return_type} vlen={len(t.params)}"]
        lines += [f"\t'{_n(p.name)}' type_id={p.type}" for p in t.params]
        return "\n".join(lines)
    if isinstance(t, Var):
        return f"{head} type_id={t.type}, linkage={_VAR_LINKAGE.get(t.linkage, '(unknown)')}"
    if isinstance(t, Datasec):
        lines = [f"{head} size={t.size} vlen={len(t.vars)}"]
        for v in t.vars:
            line = f"\ttype_id={v.type} offset={v.offset} size={v.size}"
            if v.type < btf.type_count:
                try:
                    line += f" ({btf.kind_of(v.type).name} '{_n(btf.name_of(v.type))}')"
                except BTFError:
                    line += " (UNKNOWN '(invalid)')"
            lines.append(line)
        return "\n".join(lines)
    if isinstance(t, Float):
        return f"{head} size={t.size}"
    if isinstance(t, DeclTag):
        return f"{head} type_id={t.type} component_idx={t.component_idx}"
    return head


def iter_raw(btf: BTF) -> Iterator[str]:
    """Each own type of ``btf`` (not its base's) formatted as :func:`format_raw`."""
    for tid in range(btf.start_id, btf.type_count):
        yield format_raw(btf, tid)


def dump_raw(btf: BTF) -> str:
    """The whole raw dump, as ``bpftool btf dump file X`` prints it."""
    return "".join(line + "\n" for line in iter_raw(btf))
