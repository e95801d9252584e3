"""BTF deduplication of the static linker on hand-built type lists (pure)."""

from __future__ import annotations

from pybpf.btf.types import (
    VOID,
    Datasec,
    Fwd,
    Int,
    IntEncoding,
    Member,
    Ptr,
    Struct,
    Type,
    Var,
    VarLinkage,
    VarSecinfo,
)
from pybpf.linker.dedup import dedup

INT = Int("int", 4, IntEncoding.SIGNED, 32)


def _node(next_id: int, int_id: int) -> Struct:
    return Struct("node", 16, (Member("next", next_id, 0), Member("v", int_id, 64)))


def test_self_referencing_structs_of_two_objects_merge() -> None:
    # object 1: [1] int, [2] node, [3] node *; object 2 the same at [4..6]
    types: list[Type] = [VOID, INT, _node(3, 1), Ptr(2), INT, _node(6, 4), Ptr(5)]
    out, new = dedup(types)
    assert out == [VOID, INT, _node(3, 1), Ptr(2)]
    assert new == [0, 1, 2, 3, 1, 2, 3]


def test_different_structs_of_one_name_stay_apart() -> None:
    other = Struct("node", 16, (Member("next", 3, 0), Member("w", 1, 64)))
    types: list[Type] = [VOID, INT, _node(3, 1), Ptr(2), other]
    out, new = dedup(types)
    assert len(out) == 5 and new == [0, 1, 2, 3, 4]


def test_forward_declaration_resolves_to_the_one_struct() -> None:
    # [1] int, [2] fwd node, [3] ptr to fwd (object 1); [4] node, [5] ptr to node (object 2)
    types: list[Type] = [VOID, INT, Fwd("node"), Ptr(2), _node(5, 1), Ptr(4)]
    out, new = dedup(types)
    assert new[2] == new[4] and new[3] == new[5]  # fwd -> struct, both pointers one
    assert isinstance(out[new[2]], Struct)  # the struct survives, not the forward
    assert not any(isinstance(t, Fwd) for t in out)


def test_ambiguous_forward_declaration_is_kept() -> None:
    other = Struct("node", 8, (Member("v", 1, 0),))
    types: list[Type] = [VOID, INT, Fwd("node"), _node(4, 1), Ptr(3), other]
    out, _ = dedup(types)
    assert sum(isinstance(t, Fwd) for t in out) == 1


def test_vars_and_datasecs_are_never_merged() -> None:
    v = Var("counter", 1, VarLinkage.STATIC)
    types: list[Type] = [VOID, INT, v, INT, Var("counter", 3, VarLinkage.STATIC),
                         Datasec(".bss", 8, (VarSecinfo(2, 0, 4), VarSecinfo(4, 4, 4)))]  # fmt: skip
    out, new = dedup(types)
    assert new == [0, 1, 2, 1, 3, 4]
    assert out[4] == Datasec(".bss", 8, (VarSecinfo(2, 0, 4), VarSecinfo(3, 4, 4)))
    assert out[3] == Var("counter", 1, VarLinkage.STATIC)
