"""Whether two objects' BTF describe the same global (pure).

The rules are libbpf's (``glob_sym_btf_matches``): names of named kinds must
agree, modifiers and typedefs are skipped, pointers only compare the shape of
what they point to (a forward declaration matches its struct), arrays ignore
their length, function argument names are ignored, and static vs non-static
linkage must agree. BTF-defined maps compare their attributes exactly.
Each check returns None when compatible, else the reason as a phrase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pybpf.btf.types import (
    Array,
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
    Void,
)

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = ["map_defs_differ", "types_differ"]

_NAMED = (Struct, Union, Enum, Enum64, Fwd, Func, Var)
_MAX_DEPTH = 64


def _kind(t: Type) -> str:
    return t.kind.name.lower()


def _fwd_mismatch(t1: Type, t2: Type) -> str | None:
    """One side is a forward declaration: it must name a struct/union of its kind."""
    if t1.name != t2.name:
        return f"forward declaration {t1.name!r} does not match {t2.name!r}"
    fwd, other = (t1, t2) if isinstance(t1, Fwd) else (t2, t1)
    assert isinstance(fwd, Fwd)
    want = Union if fwd.is_union else Struct
    if isinstance(other, want):
        return None
    return f"forward declaration of {t1.name!r} does not match a {_kind(other)}"


def _members_differ(
    btf1: BTF, t1: Struct | Union, btf2: BTF, t2: Struct | Union, depth: int
) -> str | None:
    if len(t1.members) != len(t2.members):
        return f"{_kind(t1)} {t1.name!r} has {len(t1.members)} vs {len(t2.members)} fields"
    for m1, m2 in zip(t1.members, t2.members, strict=True):
        if m1.name != m2.name:
            return f"{_kind(t1)} {t1.name!r} field names {m1.name!r} and {m2.name!r} differ"
        if (m1.bit_offset, m1.bitfield_size) != (m2.bit_offset, m2.bitfield_size):
            return f"{_kind(t1)} {t1.name!r} field {m1.name!r} is at different offsets"
        why = _differ(btf1, m1.type, btf2, m2.type, True, depth + 1)
        if why:
            return why
    return None


def _proto_differ(
    btf1: BTF, t1: FuncProto, btf2: BTF, t2: FuncProto, exact: bool, depth: int
) -> str | None:
    if len(t1.params) != len(t2.params):
        return f"{len(t1.params)} vs {len(t2.params)} parameters"
    for i, (p1, p2) in enumerate(zip(t1.params, t2.params, strict=True)):
        why = _differ(btf1, p1.type, btf2, p2.type, exact, depth + 1)
        if why:
            return f"parameter {i + 1}: {why}"
    why = _differ(btf1, t1.return_type, btf2, t2.return_type, exact, depth + 1)
    return f"return type: {why}" if why else None


def _differ(btf1: BTF, id1: int, btf2: BTF, id2: int, exact: bool, depth: int) -> str | None:
    if depth > _MAX_DEPTH:
        return "types nest too deeply to compare"
    t1, t2 = btf1.type(btf1.resolve(id1)), btf2.type(btf2.resolve(id2))
    if not exact and isinstance(t1, Fwd) != isinstance(t2, Fwd):
        return _fwd_mismatch(t1, t2)
    if t1.kind != t2.kind:
        return f"{_kind(t1)} vs {_kind(t2)}"
    if isinstance(t1, _NAMED) and t1.name != t2.name:
        return f"{_kind(t1)} names {t1.name!r} and {t2.name!r} differ"
    if isinstance(t1, Void | Fwd):
        return None
    if isinstance(t1, Int | Float | Enum | Enum64):
        assert isinstance(t2, Int | Float | Enum | Enum64)
        if t1.size != t2.size:
            return f"{_kind(t1)} sizes {t1.size} and {t2.size} differ ({t1.name!r}, {t2.name!r})"
        return None
    if isinstance(t1, Ptr):
        assert isinstance(t2, Ptr)
        return _differ(btf1, t1.type, btf2, t2.type, False, depth + 1)
    if isinstance(t1, Array):
        assert isinstance(t2, Array)
        return _differ(btf1, t1.type, btf2, t2.type, exact, depth + 1)
    if isinstance(t1, Func | Var):
        assert isinstance(t2, Func | Var)
        if _is_static(t1) != _is_static(t2):
            return f"{_kind(t1)} {t1.name!r} is static on one side only"
        return _differ(btf1, t1.type, btf2, t2.type, exact, depth + 1)
    if isinstance(t1, Struct | Union):
        assert isinstance(t2, Struct | Union)
        return _members_differ(btf1, t1, btf2, t2, depth) if exact else None
    if isinstance(t1, FuncProto):
        assert isinstance(t2, FuncProto)
        return _proto_differ(btf1, t1, btf2, t2, exact, depth)
    return f"unsupported BTF kind {_kind(t1)}"


def _is_static(t: Func | Var) -> bool:
    if isinstance(t, Func):
        return t.linkage == Linkage.STATIC
    return t.linkage == VarLinkage.STATIC


def types_differ(btf1: BTF, id1: int, btf2: BTF, id2: int) -> str | None:
    """Why two globals' VAR/FUNC types are incompatible, or None (libbpf's exact check)."""
    return _differ(btf1, id1, btf2, id2, True, 0)


def _map_struct(btf: BTF, var_id: int) -> Struct | None:
    v = btf.type(var_id)
    t = btf.type(btf.resolve(v.type)) if isinstance(v, Var) else None
    return t if isinstance(t, Struct) else None


def _attr_differ(btf1: BTF, id1: int, btf2: BTF, id2: int, name: str, depth: int) -> str | None:
    """Compare one map attribute: ``__uint`` values, ``__type`` types, inner maps."""
    t1, t2 = btf1.type(btf1.resolve(id1)), btf2.type(btf2.resolve(id2))
    if isinstance(t1, Array) and isinstance(t2, Array):  # values: inner map or programs
        p1, p2 = btf1.type(btf1.resolve(t1.type)), btf2.type(btf2.resolve(t2.type))
        if isinstance(p1, Ptr) and isinstance(p2, Ptr):
            return _defs_differ(btf1, p1.type, btf2, p2.type, depth + 1)
        return f"map attribute {name!r} differs"
    if not (isinstance(t1, Ptr) and isinstance(t2, Ptr)):
        return f"map attribute {name!r} differs"
    a1, a2 = btf1.type(btf1.resolve(t1.type)), btf2.type(btf2.resolve(t2.type))
    if name not in ("key", "value") and isinstance(a1, Array) and isinstance(a2, Array):
        if a1.nelems != a2.nelems:
            return f"map {name} {a1.nelems} and {a2.nelems} differ"
        return None
    if btf1.size_of(t1.type) != btf2.size_of(t2.type):
        return f"map {name} sizes differ"
    why = _differ(btf1, t1.type, btf2, t2.type, True, depth + 1)
    return f"map {name} type: {why}" if why else None


def _defs_differ(btf1: BTF, sid1: int, btf2: BTF, sid2: int, depth: int) -> str | None:
    s1, s2 = btf1.type(btf1.resolve(sid1)), btf2.type(btf2.resolve(sid2))
    if not (isinstance(s1, Struct) and isinstance(s2, Struct)):
        return "a map definition is not a struct"
    m1 = {m.name: m.type for m in s1.members}
    m2 = {m.name: m.type for m in s2.members}
    if set(m1) != set(m2):
        only = sorted(set(m1) ^ set(m2))
        return f"map attributes {', '.join(only)} are set on one side only"
    for name in m1:
        why = _attr_differ(btf1, m1[name], btf2, m2[name], name, depth)
        if why:
            return why
    return None


def map_defs_differ(btf1: BTF, var1: int, btf2: BTF, var2: int) -> str | None:
    """Why two BTF map definitions (VARs in ``.maps``) differ, or None when identical."""
    v1, v2 = btf1.type(var1), btf2.type(var2)
    if not (isinstance(v1, Var) and isinstance(v2, Var)):
        return "a map is not a BTF VAR"
    return _defs_differ(btf1, v1.type, btf2, v2.type, 0)
