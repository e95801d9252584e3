"""One-line descriptions of CO-RE relocations, as ``llvm-objdump -dr`` prints them.

``<byte_off> [5] struct task_struct::pid (0:1)``: the relocation kind, the local
BTF type id, the type, the member path the access string walks, and the string.
Malformed records describe themselves as ``<kind> [id] '<spec>' <problem>``.
"""

from __future__ import annotations

from pybpf.btf import (
    BTF,
    Array,
    Const,
    Enum,
    Enum64,
    Fwd,
    Restrict,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Volatile,
)
from pybpf.btf import Type as BTFType
from pybpf.btf.ext import CoreRelo
from pybpf.errors import BTFError

__all__ = ["describe_core_relo"]

_KIND_NAME = {
    0: "byte_off",
    1: "byte_sz",
    2: "field_exists",
    3: "signed",
    4: "lshift_u64",
    5: "rshift_u64",
    6: "local_type_id",
    7: "target_type_id",
    8: "type_exists",
    9: "type_size",
    10: "enumval_exists",
    11: "enumval_value",
    12: "type_matches",
}
_FIELD_KINDS = range(0, 6)
_TYPE_KINDS = (6, 7, 8, 9, 12)
_ENUM_KINDS = (10, 11)
_MODS = (Const, Volatile, Restrict, TypeTag)


class _Fail(Exception):
    pass


def _kind(kind: int) -> str:
    return f"<{_KIND_NAME.get(kind, f'reloc kind #{kind}')}>"


def _type(btf: BTF, tid: int) -> BTFType | None:
    try:
        return btf.type(tid)
    except (BTFError, IndexError, KeyError):
        return None


def _skip_mods(btf: BTF, t: BTFType) -> BTFType:
    while isinstance(t, (*_MODS, Typedef)):
        nxt = _type(btf, t.type)
        if nxt is None:
            break
        t = nxt
    return t


def _anon(name: str, idx: int) -> str:
    return name if name else f"<anon {idx}>"


def describe_core_relo(btf: BTF, relo: CoreRelo) -> str:
    """The llvm-objdump text (after ``CO-RE``) for ``relo`` against the object's ``btf``."""
    kind = int(relo.kind)
    spec_str = relo.access_str
    try:
        spec = [int(p) for p in spec_str.split(":")] if spec_str else []
        if any(not p.isdigit() for p in spec_str.split(":")) and spec_str:
            raise ValueError
    except ValueError:
        return f"{_kind(kind)} [{relo.type_id}] '{spec_str}' <spec string is not a number>"
    try:
        return _describe(btf, relo, kind, spec)
    except _Fail as exc:
        return f"{_kind(kind)} [{relo.type_id}] '{spec_str}' <{exc}>"


def _describe(btf: BTF, relo: CoreRelo, kind: int, spec: list[int]) -> str:
    cur = relo.type_id
    t = _type(btf, cur)
    if t is None:
        raise _Fail(f"unknown type id: {cur}")
    out = [_kind(kind), f" [{cur}]"]
    chain = 0
    while isinstance(t, _MODS):
        if chain >= 32:
            raise _Fail("modifiers chain is too long")
        if isinstance(t, TypeTag):
            out.append(f' type_tag("{t.name}")')
        else:
            out.append(" " + type(t).__name__.lower())
        cur = t.type
        nxt = _type(btf, cur)
        if nxt is None:
            raise _Fail(f"unknown type id: {cur} in modifiers chain")
        t = nxt
        chain += 1
    if cur == 0:
        out.append(" void")
    else:
        if isinstance(t, Typedef):
            out.append(" typedef")
        elif isinstance(t, Struct):
            out.append(" struct")
        elif isinstance(t, Union):
            out.append(" union")
        elif isinstance(t, (Enum, Enum64)):
            out.append(" enum")
        elif isinstance(t, Fwd):
            out.append(" fwd union" if t.is_union else " fwd struct")
        out.append(" " + _anon(t.name, cur))
    if kind in _TYPE_KINDS:
        if spec != [0]:
            raise _Fail("unexpected type-based relocation spec: should be '0'")
        return "".join(out)
    out.append("::")
    if kind in _ENUM_KINDS:
        t = _skip_mods(btf, t)
        if len(spec) != 1:
            raise _Fail("unexpected enumval relocation spec size")
        idx = spec[0]
        if not isinstance(t, (Enum, Enum64)):
            raise _Fail(f"unexpected type kind for enum relocation: {int(t.kind)}")
        if idx >= len(t.values):
            raise _Fail(f"bad value index: {idx}")
        val = t.values[idx]
        value = val.value
        if not t.signed:
            value &= (1 << 64) - 1
        out.append(f"{_anon(val.name, idx)} = {value}")
        return "".join(out)
    if kind in _FIELD_KINDS:
        if not spec:
            raise _Fail("field spec too short")
        if spec[0] != 0:
            out.append(f"[{spec[0]}]")
        for i in range(1, len(spec)):
            t = _skip_mods(btf, t)
            idx = spec[i]
            if isinstance(t, (Struct, Union)):
                if idx >= len(t.members):
                    raise _Fail(f"member index {idx} for spec sub-string {i} is out of range")
                m = t.members[idx]
                if i != 1 or spec[0] != 0:
                    out.append(".")
                out.append(_anon(m.name, idx))
                nxt = _type(btf, m.type)
                if nxt is None:
                    raise _Fail(f"unknown member type id {m.type} for spec sub-string {i}")
                t = nxt
            elif isinstance(t, Array):
                out.append(f"[{idx}]")
                nxt = _type(btf, t.type)
                if nxt is None:
                    raise _Fail(f"unknown element type id {t.type} for spec sub-string {i}")
                t = nxt
            else:
                raise _Fail(f"unexpected type kind {int(t.kind)} for spec sub-string {i}")
        out.append(f" ({relo.access_str})")
        return "".join(out)
    raise _Fail(f"unknown relocation kind: {kind}")
