"""Derived facts about BTF types: size, alignment and a C-like readable name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pybpf.btf.types import (
    Array,
    Datasec,
    Enum,
    Enum64,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Kind,
    Ptr,
    Struct,
    Typedef,
    Union,
    Var,
)
from pybpf.errors import BTFError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = ["align_of", "size_of", "type_name"]

POINTER_SIZE = 8
_MAX_DEPTH = 64
_FOLLOW = frozenset(
    (Kind.TYPEDEF, Kind.CONST, Kind.VOLATILE, Kind.RESTRICT, Kind.TYPE_TAG, Kind.VAR)
)


def _loop(btf: BTF, tid: int) -> BTFError:
    return BTFError(
        f"type loop or nesting too deep at type [{tid}]", file=btf.file, section=btf.name
    )


def size_of(btf: BTF, tid: int, _depth: int = 0) -> int:
    """Size in bytes of ``tid`` following typedefs/qualifiers; arrays multiply."""
    start = tid
    for _ in range(_MAX_DEPTH - _depth):
        t = btf.type(tid)
        if isinstance(t, Int | Enum | Enum64 | Struct | Union | Float | Datasec):
            return t.size
        if isinstance(t, Ptr):
            return POINTER_SIZE
        if isinstance(t, Array):
            if _depth >= _MAX_DEPTH:
                break
            return t.nelems * size_of(btf, t.type, _depth + 1)
        if t.kind in _FOLLOW:
            tid = t.type  # type: ignore[union-attr]
            continue
        raise BTFError(
            f"type [{start}] ({btf.type_name(start)}) has no size", file=btf.file, section=btf.name
        )
    raise _loop(btf, start)


def align_of(btf: BTF, tid: int, _depth: int = 0) -> int:
    """Natural alignment of ``tid``; a packed struct/union aligns to 1."""
    start = tid
    for _ in range(_MAX_DEPTH - _depth):
        t = btf.type(tid)
        if isinstance(t, Int | Enum | Enum64 | Float):
            return max(1, min(t.size, POINTER_SIZE))
        if isinstance(t, Ptr):
            return POINTER_SIZE
        if isinstance(t, Array):
            if _depth >= _MAX_DEPTH:
                break
            return align_of(btf, t.type, _depth + 1)
        if isinstance(t, Struct | Union):
            if _depth >= _MAX_DEPTH:
                break
            best = 1
            for m in t.members:
                a = align_of(btf, m.type, _depth + 1)
                if not m.bitfield_size and m.bit_offset % (8 * a):
                    return 1  # packed: a member sits off its natural alignment
                best = max(best, a)
            return 1 if t.size % best else best
        if t.kind in _FOLLOW:
            tid = t.type  # type: ignore[union-attr]
            continue
        raise BTFError(
            f"type [{start}] ({btf.type_name(start)}) has no alignment",
            file=btf.file,
            section=btf.name,
        )
    raise _loop(btf, start)


def type_name(btf: BTF, tid: int) -> str:
    """A C-like spelling of ``tid``: ``const char *``, ``int (*)(void *)``, ..."""
    return _decl(btf, tid, "", 0)


def _join(base: str, inner: str) -> str:
    if not inner:
        return base
    if inner[0] in "[(" and not inner.startswith("(*"):
        return base + inner
    return f"{base} {inner}"


def _decl(btf: BTF, tid: int, inner: str, depth: int) -> str:
    if depth > _MAX_DEPTH:
        raise _loop(btf, tid)
    t = btf.type(tid)
    k = t.kind
    if k == Kind.UNKN:
        return _join("void", inner)
    if isinstance(t, Int | Float | Typedef):
        return _join(t.name or "<anon>", inner)
    if isinstance(t, Struct):
        return _join(f"struct {t.name}" if t.name else "struct {...}", inner)
    if isinstance(t, Union):
        return _join(f"union {t.name}" if t.name else "union {...}", inner)
    if isinstance(t, Enum | Enum64):
        return _join(f"enum {t.name}" if t.name else "enum {...}", inner)
    if isinstance(t, Fwd):
        return _join(f"{'union' if t.is_union else 'struct'} {t.name}", inner)
    if isinstance(t, Ptr):
        return _decl(btf, t.type, "*" + inner, depth + 1)
    if k in (Kind.CONST, Kind.VOLATILE, Kind.RESTRICT):
        q = k.name.lower()
        target = t.type  # type: ignore[union-attr]
        tk = btf.kind_of(target)
        if tk == Kind.PTR:
            return _decl(btf, target, f"{q} {inner}".rstrip() if inner else q, depth + 1)
        return f"{q} {_decl(btf, target, inner, depth + 1)}"
    if k == Kind.TYPE_TAG:
        return _decl(btf, t.type, inner, depth + 1)  # type: ignore[union-attr]
    if isinstance(t, Array):
        if inner.startswith("*"):
            inner = f"({inner})"
        return _decl(btf, t.type, f"{inner}[{t.nelems}]", depth + 1)
    if isinstance(t, FuncProto):
        params = ", ".join(
            "..." if (p.type == 0 and not p.name) else _decl(btf, p.type, "", depth + 1)
            for p in t.params
        )
        inner = f"({inner})" if inner.startswith("*") else inner
        return _decl(btf, t.return_type, f"{inner}({params or 'void'})", depth + 1)
    if isinstance(t, Func):
        proto = btf.type(t.type)
        if isinstance(proto, FuncProto):
            return _decl(btf, t.type, t.name, depth + 1)
        return t.name
    if isinstance(t, Var):
        return _decl(btf, t.type, t.name, depth + 1)
    if isinstance(t, Datasec):
        return f"SEC {t.name}"
    return f"{k.name.lower()} {t.name}".strip()
