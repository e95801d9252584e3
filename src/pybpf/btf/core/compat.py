"""CO-RE type compatibility rules between a local and a target BTF.

Three relations, with libbpf's exact semantics: ``types_are_compat`` (type-based
relocations, ksym/kfunc checks), ``fields_are_compat`` (field relocations) and the
stricter ``types_match`` (``TYPE_MATCHES`` relocations).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pybpf.btf.core.spec import essential_name
from pybpf.btf.types import (
    Array,
    Enum,
    Enum64,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Kind,
    Ptr,
    Struct,
    Union,
)
from pybpf.errors import BTFError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = ["fields_are_compat", "kinds_compat", "types_are_compat", "types_match"]

_MAX_DEPTH = 32
_LEVEL = 32  # libbpf's recursion budget for FUNC_PROTO params / members
_ANY_ENUM = (Kind.ENUM, Kind.ENUM64)


def kinds_compat(k1: Kind, k2: Kind) -> bool:
    """Same kind, or both enums of either width (libbpf's btf_kind_core_compat)."""
    return k1 == k2 or (k1 in _ANY_ENUM and k2 in _ANY_ENUM)


def _loop(btf: BTF, tid: int) -> BTFError:
    return BTFError(f"type nesting too deep at type [{tid}]", section=btf.name)


def types_are_compat(
    local: BTF, local_id: int, targ: BTF, targ_id: int, level: int = _LEVEL
) -> bool:
    """libbpf's ``bpf_core_types_are_compat``: kinds agree all the way down.

    Names are not compared (the caller matched them); INTs are compatible unless
    they are legacy bitfield-like ints; pointers/arrays recurse; FUNC_PROTOs need
    the same arity and compatible parameter and return types.
    """
    if not kinds_compat(local.kind_of(local_id), targ.kind_of(targ_id)):
        return False
    for _ in range(_MAX_DEPTH):
        local_id = local.resolve(local_id)
        targ_id = targ.resolve(targ_id)
        lk, tk = local.kind_of(local_id), targ.kind_of(targ_id)
        if not kinds_compat(lk, tk):
            return False
        if lk in (Kind.UNKN, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.FWD, Kind.ENUM64):
            return True
        lt, tt = local.type(local_id), targ.type(targ_id)
        if isinstance(lt, Int) and isinstance(tt, Int):
            return lt.offset == 0 and tt.offset == 0
        if isinstance(lt, Ptr) and isinstance(tt, Ptr):
            local_id, targ_id = lt.type, tt.type
            continue
        if isinstance(lt, Array) and isinstance(tt, Array):
            local_id, targ_id = lt.type, tt.type
            continue
        if isinstance(lt, FuncProto) and isinstance(tt, FuncProto):
            if len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params, strict=True):
                if level <= 0:
                    raise _loop(local, local_id)
                if not types_are_compat(
                    local, local.resolve(lp.type), targ, targ.resolve(tp.type), level - 1
                ):
                    return False
            local_id, targ_id = lt.return_type, tt.return_type
            continue
        return False
    raise _loop(local, local_id)


def fields_are_compat(local: BTF, local_id: int, targ: BTF, targ_id: int) -> bool:
    """libbpf's ``bpf_core_fields_are_compat`` for a matched member's types."""
    for _ in range(_MAX_DEPTH):
        local_id = local.resolve(local_id)
        targ_id = targ.resolve(targ_id)
        lk, tk = local.kind_of(local_id), targ.kind_of(targ_id)
        composite = (Kind.STRUCT, Kind.UNION)
        if lk in composite and tk in composite:
            return True
        if not kinds_compat(lk, tk):
            return False
        if lk in (Kind.PTR, Kind.FLOAT):
            return True
        if lk in (Kind.FWD, Kind.ENUM, Kind.ENUM64):
            ln = essential_name(local.name_of(local_id))
            tn = essential_name(targ.name_of(targ_id))
            return not ln or not tn or ln == tn
        lt, tt = local.type(local_id), targ.type(targ_id)
        if isinstance(lt, Int) and isinstance(tt, Int):
            return lt.offset == 0 and tt.offset == 0
        if isinstance(lt, Array) and isinstance(tt, Array):
            local_id, targ_id = lt.type, tt.type
            continue
        return False
    raise _loop(local, local_id)


def _names_match(local_name: str, targ_name: str) -> bool:
    """libbpf's ``bpf_core_names_match``: both anonymous or same essential name."""
    if not targ_name:
        return not local_name
    return essential_name(local_name) == essential_name(targ_name)


def _enums_match(lt: Enum | Enum64, tt: Enum | Enum64) -> bool:
    if lt.size != tt.size or len(lt.values) > len(tt.values):
        return False
    return all(any(_names_match(lv.name, tv.name) for tv in tt.values) for lv in lt.values)


def _composites_match(
    local: BTF, lt: Struct | Union, targ: BTF, tt: Struct | Union, behind_ptr: bool, level: int
) -> bool:
    if len(lt.members) > len(tt.members):
        return False
    for lm in lt.members:
        for tm in tt.members:
            if not _names_match(lm.name, tm.name):
                continue
            if types_match(local, lm.type, targ, tm.type, behind_ptr, level - 1):
                break
        else:
            return False
    return True


def types_match(
    local: BTF,
    local_id: int,
    targ: BTF,
    targ_id: int,
    behind_ptr: bool = False,
    level: int = _LEVEL,
) -> bool:
    """libbpf's ``__bpf_core_types_match`` (the TYPE_MATCHES relation)."""
    if level <= 0:
        raise _loop(local, local_id)
    for _ in range(_MAX_DEPTH):
        local_id = local.resolve(local_id)
        targ_id = targ.resolve(targ_id)
        if not _names_match(local.name_of(local_id), targ.name_of(targ_id)):
            return False
        lk, tk = local.kind_of(local_id), targ.kind_of(targ_id)
        if lk == Kind.UNKN:
            return lk == tk
        lt, tt = local.type(local_id), targ.type(targ_id)
        if isinstance(lt, Fwd):
            if behind_ptr:
                if isinstance(tt, Fwd):
                    return lt.is_union == tt.is_union
                return (tk == Kind.STRUCT and not lt.is_union) or (tk == Kind.UNION and lt.is_union)
            return isinstance(tt, Fwd) and lt.is_union == tt.is_union
        if isinstance(lt, Enum | Enum64):
            return isinstance(tt, Enum | Enum64) and _enums_match(lt, tt)
        if isinstance(lt, Struct | Union):
            if behind_ptr:
                if lk == tk:
                    return True
                if not isinstance(tt, Fwd):
                    return False
                return (lk == Kind.UNION) == tt.is_union
            if lk != tk:
                return False
            assert isinstance(tt, Struct | Union)
            return _composites_match(local, lt, targ, tt, behind_ptr, level)
        if isinstance(lt, Int):
            if not isinstance(tt, Int):
                return False
            ls = bool(lt.encoding & IntEncoding.SIGNED)
            ts = bool(tt.encoding & IntEncoding.SIGNED)
            return lt.size == tt.size and ls == ts
        if isinstance(lt, Ptr):
            if not isinstance(tt, Ptr):
                return False
            behind_ptr = True
            local_id, targ_id = lt.type, tt.type
            continue
        if isinstance(lt, Array):
            if not isinstance(tt, Array) or lt.nelems != tt.nelems:
                return False
            local_id, targ_id = lt.type, tt.type
            continue
        if isinstance(lt, FuncProto):
            if not isinstance(tt, FuncProto) or len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params, strict=True):
                if not types_match(local, lp.type, targ, tp.type, behind_ptr, level - 1):
                    return False
            local_id, targ_id = lt.return_type, tt.return_type
            continue
        return False
    raise _loop(local, local_id)
