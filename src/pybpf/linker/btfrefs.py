"""The type-id fields of a BTF type: list them, or rewrite them (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from pybpf.btf.types import (
    Array,
    Const,
    Datasec,
    DeclTag,
    Func,
    FuncProto,
    Ptr,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    Volatile,
)

__all__ = ["map_refs", "type_refs"]

_ONE_REF = (Ptr, Const, Volatile, Restrict, Typedef, TypeTag, DeclTag, Func, Var)


def type_refs(t: Type) -> list[int]:
    """The type ids ``t`` refers to, in field order."""
    if isinstance(t, _ONE_REF):
        return [t.type]
    if isinstance(t, Array):
        return [t.type, t.index_type]
    if isinstance(t, Struct | Union):
        return [m.type for m in t.members]
    if isinstance(t, FuncProto):
        return [t.return_type, *(p.type for p in t.params)]
    if isinstance(t, Datasec):
        return [v.type for v in t.vars]
    return []


def map_refs(t: Type, f: Callable[[int], int]) -> Type:
    """``t`` with every referenced type id replaced by ``f(id)``."""
    if isinstance(t, _ONE_REF):
        return replace(t, type=f(t.type))
    if isinstance(t, Array):
        return replace(t, type=f(t.type), index_type=f(t.index_type))
    if isinstance(t, Struct | Union):
        return replace(t, members=tuple(replace(m, type=f(m.type)) for m in t.members))
    if isinstance(t, FuncProto):
        params = tuple(replace(p, type=f(p.type)) for p in t.params)
        return replace(t, return_type=f(t.return_type), params=params)
    if isinstance(t, Datasec):
        return replace(t, vars=tuple(replace(v, type=f(v.type)) for v in t.vars))
    return t
