"""Layout facts the C dumper needs, computed the way libbpf's btf_dump does.

Alignment, size and "is this struct packed" are inferred from BTF alone (which
records no alignment), so the header reproduces the original layout; results must
match libbpf's rules exactly for the dump to be byte-identical with bpftool's.
"""

from __future__ import annotations

from collections.abc import Sequence

from pybpf.btf.types import Array, Kind, Struct, Type, Union

__all__ = ["LONG_NAMES", "Layout", "pointer_size"]

# Spellings of C's ``long`` whose INT size gives the target's pointer size.
LONG_NAMES = frozenset(
    (
        "long",
        "long int",
        "int long",
        "unsigned long",
        "long unsigned",
        "unsigned long int",
        "unsigned int long",
        "long unsigned int",
        "long int unsigned",
        "int unsigned long",
        "int long unsigned",
    )
)

_SCALAR = frozenset((Kind.INT, Kind.ENUM, Kind.ENUM64, Kind.FLOAT))
_FOLLOW = frozenset((Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG))
_SIZED = frozenset(
    (Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.DATASEC, Kind.FLOAT)
)
_MAX_RESOLVE_DEPTH = 32
_U32_MAX = 0xFFFFFFFF


def pointer_size(types: Sequence[Type]) -> int:
    """Pointer size guessed from the first 4- or 8-byte INT named like ``long``; 0 if none."""
    for t in types:
        if t.kind == Kind.INT and t.size in (4, 8) and t.name in LONG_NAMES:  # type: ignore[union-attr]
            return t.size  # type: ignore[union-attr]
    return 0


class Layout:
    """Alignment and size queries over a fully decoded type list (index = type id)."""

    def __init__(self, types: Sequence[Type], ptr_size: int) -> None:
        self.types = types
        self.ptr_size = ptr_size
        self._align: dict[int, int] = {}

    def align_of(self, tid: int) -> int:
        """Natural alignment as libbpf infers it; 1 for packed records, 0 if unknown."""
        cached = self._align.get(tid)
        if cached is not None:
            return cached
        chain = []
        t = self.types[tid]
        while t.kind in _FOLLOW or t.kind == Kind.ARRAY:
            chain.append(tid)
            tid = t.type  # type: ignore[union-attr]
            if tid in self._align or len(chain) > _MAX_RESOLVE_DEPTH:
                break
            t = self.types[tid]
        result = self._align.get(tid)
        if result is None:
            k = t.kind
            if k in _SCALAR:
                result = min(self.ptr_size, t.size)  # type: ignore[union-attr]
            elif k == Kind.PTR:
                result = self.ptr_size
            elif isinstance(t, Struct | Union):
                result = self._record_align(t)
            else:
                result = 0
            self._align[tid] = result
        for c in chain:
            self._align[c] = result
        return result

    def _record_align(self, t: Struct | Union) -> int:
        max_align = 1
        for m in t.members:
            a = self.align_of(m.type)
            if a <= 0:
                return a
            max_align = max(max_align, a)
            if m.bitfield_size == 0 and m.bit_offset % (8 * a):
                return 1
        if t.size % max_align:
            return 1
        return max_align

    def is_packed(self, t: Struct) -> bool:
        """True when a member sits off its natural alignment or the size is not a multiple."""
        max_align = 1
        for m in t.members:
            a = self.align_of(m.type)
            if a and m.bitfield_size == 0 and m.bit_offset % (8 * a):
                return True
            max_align = max(a, max_align)
        return t.size % max_align != 0

    def resolve_size(self, tid: int) -> int:
        """Byte size following typedefs/modifiers/arrays; -1 when it has none."""
        nelems = 1
        for _ in range(_MAX_RESOLVE_DEPTH):
            if tid == 0:
                return -1
            t = self.types[tid]
            k = t.kind
            if k in _SIZED:
                size: int = t.size  # type: ignore[union-attr]
                break
            if k == Kind.PTR:
                size = self.ptr_size
                break
            if k in _FOLLOW or k in (Kind.VAR, Kind.DECL_TAG):
                tid = t.type  # type: ignore[union-attr]
            elif isinstance(t, Array):
                if nelems and t.nelems > _U32_MAX // nelems:
                    return -1
                nelems *= t.nelems
                tid = t.type
            else:
                return -1
        else:
            return -1
        if nelems and size > _U32_MAX // nelems:
            return -1
        return nelems * size
