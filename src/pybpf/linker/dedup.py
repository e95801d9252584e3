"""Deduplicate a BTF type list (pure): structurally equal types become one.

Types are split into classes by their own fields, then the classes are refined
by the classes of the types they refer to until nothing splits any more (the
coarsest stable partition, so self-referencing structs merge too). A forward
declaration with exactly one struct/union of its name and kind then stands for
that type, and the refinement runs again. VARs and DATASECs are never merged
(two static variables of the same name stay two), as in libbpf's dedup.
"""

from __future__ import annotations

from collections.abc import Hashable

from pybpf.btf.types import Datasec, Fwd, Struct, Type, Union, Var
from pybpf.linker.btfrefs import map_refs, type_refs

__all__ = ["dedup"]


def _shallow(tid: int, t: Type) -> Hashable:
    """A type's own fields (references blanked); VAR/DATASEC are unique."""
    if isinstance(t, Var | Datasec):
        return ("unique", tid)
    return map_refs(t, lambda r: 0 if r == 0 else -1)


def _number(keys: list[Hashable]) -> list[int]:
    ids: dict[Hashable, int] = {}
    return [ids.setdefault(k, len(ids)) for k in keys]


def _refine(types: list[Type]) -> list[int]:
    """Class number of every type id (void alone in class 0)."""
    refs = [type_refs(t) for t in types]
    cls = _number([("void",)] + [_shallow(k, t) for k, t in enumerate(types) if k])
    count = len(set(cls))
    while True:
        cls = _number([(cls[k], tuple(cls[r] for r in refs[k])) for k in range(len(types))])
        new_count = len(set(cls))
        if new_count == count:
            return cls
        count = new_count


def _fwd_targets(types: list[Type], cls: list[int]) -> dict[int, int]:
    """Forward declarations that name exactly one struct/union class -> a member of it."""
    by_name: dict[tuple[str, bool], dict[int, int]] = {}
    for k, t in enumerate(types):
        if isinstance(t, Struct | Union) and t.name:
            by_name.setdefault((t.name, isinstance(t, Union)), {}).setdefault(cls[k], k)
    out: dict[int, int] = {}
    for k, t in enumerate(types):
        if isinstance(t, Fwd):
            found = by_name.get((t.name, t.is_union), {})
            if len(found) == 1:
                out[k] = next(iter(found.values()))
    return out


def dedup(types: list[Type]) -> tuple[list[Type], list[int]]:
    """(deduplicated types, old id -> new id); ``types[0]`` is void."""
    cls = _refine(types)
    fwd = _fwd_targets(types, cls)
    if fwd:
        types = [map_refs(t, lambda r: fwd.get(r, r)) if k else t for k, t in enumerate(types)]
        cls = _refine(types)
        for k, target in fwd.items():
            cls[k] = cls[target]
    rep: dict[int, int] = {}
    for k, c in enumerate(cls):
        if k not in fwd:  # a resolved forward declaration never stands for its struct
            rep.setdefault(c, k)
    order = sorted(rep.values())
    new_of_rep = {old: new for new, old in enumerate(order)}
    new_id = [new_of_rep[rep[c]] for c in cls]
    out = [map_refs(types[old], lambda r: new_id[r]) for old in order]
    return out, new_id
