"""Rewrite an object's BTF for a kernel that lacks some BTF kinds (pure).

Follows libbpf's substitutions so that type ids stay stable: kinds the kernel
does not know become harmless kinds of the same encoded size (VAR → INT,
DATASEC → STRUCT, FLOAT → STRUCT, DECL_TAG → INT, TYPE_TAG → CONST, ENUM64 →
UNION, FUNC → TYPEDEF, FUNC_PROTO → ENUM, global FUNC → static FUNC). Kernels
without ENUM64 (before 6.0) also reject the signed flag (kind_flag) on ENUM: it is
cleared, as libbpf does. Beyond libbpf: an INT with several encoding bits (GCC's BPF
back end marks ``signed char`` SIGNED|CHAR) is refused by every kernel, which allows one
bit at most (``btf_int_check_meta``); it keeps SIGNED, as clang encodes ``signed char``. GCC also leaves a non-zero type in FWD
records, where the kernel wants zero, and nameless FUNC records, which it refuses
("Invalid name"): they become pointers to their prototype.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pybpf.btf import (
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Int,
    IntEncoding,
    Kind,
    Linkage,
    Member,
    Ptr,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
)

if TYPE_CHECKING:
    from pybpf.btf import BTF

__all__ = ["sanitize_btf", "sanitize_overrides"]


def sanitize_overrides(btf: BTF, kinds: Mapping[str, bool]) -> dict[int, Type]:
    """Replacement types (by id) making ``btf`` acceptable to a kernel with ``kinds``."""
    out: dict[int, Type] = {}
    ok = {
        k: kinds.get(k, True)
        for k in ("func", "func_global", "datasec", "float", "decl_tag", "type_tag", "enum64")
    }
    for tid, t in btf.of_kind(Kind.INT, Kind.FWD, Kind.FUNC):  # GCC 12's quirks, one scan
        if isinstance(t, Int):
            if t.encoding & (t.encoding - 1):  # more than one bit set
                keep = t.encoding & IntEncoding.SIGNED or t.encoding & -t.encoding
                out[tid] = Int(t.name, t.size, IntEncoding(keep), t.bits, t.offset)
        elif isinstance(t, Func):
            if not t.name:  # one per extern kfunc declaration
                out[tid] = Ptr(t.type)  # same record size; func info names only named FUNCs
        elif btf.raw_record(tid)[8:12] != b"\0\0\0\0":  # FWD with a non-zero type
            out[tid] = t  # re-encoded with the zero size/type the kernel demands
    if all(ok.values()):
        return out
    for tid, t in btf:
        new: Type | None = None
        if isinstance(t, Var) and not ok["datasec"]:
            new = Int(t.name, 1, IntEncoding(0), 8, 0)
        elif isinstance(t, Datasec) and not ok["datasec"]:
            # a struct whose members keep the var slots (same vlen, same record size)
            members = tuple(
                Member(f"__pybpf_var{i}", v.type, v.offset * 8, 0) for i, v in enumerate(t.vars)
            )
            new = Struct(t.name.replace(".", "_"), t.size, members)
        elif isinstance(t, Float) and not ok["float"]:
            new = Struct("", t.size, ())  # "long double" is no valid struct name
        elif isinstance(t, DeclTag) and not ok["decl_tag"]:
            new = Int("", 1, IntEncoding(0), 8, 0)
        elif isinstance(t, TypeTag) and not ok["type_tag"]:
            new = Const(t.type)
        elif isinstance(t, Enum64) and not ok["enum64"]:
            new = Union(t.name, t.size, ())
        elif isinstance(t, Enum) and t.signed and not ok["enum64"]:
            new = Enum(t.name, t.size, False, t.values)  # kind_flag came with ENUM64 (6.0)
        elif isinstance(t, Func) and not ok["func"]:
            new = Typedef(t.name, t.type)
        elif isinstance(t, FuncProto) and not ok["func"]:
            values = tuple(
                EnumValue(p.name or f"__pybpf_arg{i}", 0) for i, p in enumerate(t.params)
            )
            new = Enum("", 4, False, values)
        elif isinstance(t, Func) and not ok["func_global"] and t.linkage == Linkage.GLOBAL:
            new = Func(t.name, t.type, Linkage.STATIC)
        if new is not None:
            out[tid] = new
    return out


def _encoded_as_is(btf: BTF) -> bool:
    """Whether ``btf.encode()`` would give back ``btf.data`` byte for byte: no base, and
    the layout encode writes (flags 0, a 24-byte header, types then strings, no gap and
    nothing after). The type records are copied as they are, so only the layout differs."""
    if btf.base is not None or len(btf.header) != 8:
        return False
    _magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = btf.header
    return (version, flags, hdr_len, type_off, str_off) == (1, 0, 24, 0, type_len) and len(
        btf.data
    ) == 24 + type_len + str_len


def sanitize_btf(btf: BTF, kinds: Mapping[str, bool]) -> bytes:
    """``btf`` encoded for the kernel, with unsupported kinds replaced (the object's own
    bytes when nothing is replaced and they are what encoding would give)."""
    overrides = sanitize_overrides(btf, kinds)
    if not overrides and _encoded_as_is(btf):
        return btf.data
    return btf.encode(overrides or None)
