"""CO-RE relocation values: what a local and a target spec say an instruction holds.

Mirrors libbpf's ``bpf_core_calc_relo``: for each relocation kind the original
(local) value, the new (target) value, whether the instruction's current value
must be validated, load/store size changes, and when the instruction must be
poisoned instead.
"""

from __future__ import annotations

from pybpf._dataclass import dataclass
from pybpf.btf.core.spec import (
    CoreSpec,
    is_enumval_based,
    is_field_based,
    is_type_based,
    relo_kind_str,
    resolve_size,
    skip_mods,
)
from pybpf.btf.ext import CoreReloKind
from pybpf.btf.types import Enum, Enum64, Int, IntEncoding, Ptr, Struct, Union
from pybpf.errors import BTFError

__all__ = ["CalcError", "ReloValues", "calc_relo"]

_U64 = (1 << 64) - 1


class CalcError(BTFError):
    """A relocation value cannot be computed (e.g. a bitfield no 64-bit load covers)."""


@dataclass(slots=True)
class ReloValues:
    """libbpf's ``bpf_core_relo_res``: values and patching decisions for one relocation."""

    orig_val: int = 0
    new_val: int = 0
    poison: bool = False
    validate: bool = True
    fail_memsz_adjust: bool = False
    orig_sz: int = 0
    new_sz: int = 0
    orig_type_id: int = 0
    new_type_id: int = 0


@dataclass(slots=True)
class _Field:
    val: int = 0
    size: int = 0
    type_id: int = 0
    validate: bool = True


class _Poison(Exception):
    """Internal: the relocation's instruction must be poisoned (libbpf's -EUCLEAN)."""


def _field(kind: int, spec: CoreSpec | None) -> _Field:
    out = _Field()
    if kind == CoreReloKind.FIELD_EXISTS:
        out.val = 1 if spec is not None else 0
        return out
    if spec is None:
        raise _Poison
    btf = spec.btf
    acc = spec.spec[-1]
    if not acc.name:  # the last step is an array element
        if kind == CoreReloKind.FIELD_BYTE_OFFSET:
            out.val = spec.bit_offset // 8
            out.size = resolve_size(btf, acc.type_id)
            out.type_id = acc.type_id
        elif kind == CoreReloKind.FIELD_BYTE_SIZE:
            out.val = resolve_size(btf, acc.type_id)
        else:
            raise CalcError(
                f"<{relo_kind_str(kind)}> relocation cannot apply to an array element",
                section=btf.name,
            )
        return out
    t = btf.type(acc.type_id)
    assert isinstance(t, Struct | Union)
    m = t.members[acc.idx]
    field_type_id = skip_mods(btf, m.type)
    mt = btf.type(field_type_id)
    bit_off = spec.bit_offset
    bit_sz = m.bitfield_size
    bitfield = bit_sz > 0
    if bitfield:
        byte_sz = getattr(mt, "size", 0)
        if byte_sz <= 0:
            raise CalcError(f"bitfield {m.name!r} has a sizeless type", section=btf.name)
        byte_off = bit_off // 8 // byte_sz * byte_sz
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
            if byte_sz >= 8:
                raise CalcError(
                    f"bitfield {m.name!r} cannot be read with a 64-bit load", section=btf.name
                )
            byte_sz *= 2
            byte_off = bit_off // 8 // byte_sz * byte_sz
    else:
        byte_sz = resolve_size(btf, field_type_id)
        byte_off = bit_off // 8
        bit_sz = byte_sz * 8
    out.validate = not bitfield
    if kind == CoreReloKind.FIELD_BYTE_OFFSET:
        out.val = byte_off
        if not bitfield:
            out.size = byte_sz
            out.type_id = field_type_id
    elif kind == CoreReloKind.FIELD_BYTE_SIZE:
        out.val = byte_sz
    elif kind == CoreReloKind.FIELD_SIGNED:
        signed = (isinstance(mt, Enum | Enum64) and mt.signed) or (
            isinstance(mt, Int) and bool(mt.encoding & IntEncoding.SIGNED)
        )
        out.val = int(signed)
        out.validate = True
    elif kind == CoreReloKind.FIELD_LSHIFT_U64:
        out.val = 64 - (bit_off + bit_sz - byte_off * 8)  # little-endian target
    elif kind == CoreReloKind.FIELD_RSHIFT_U64:
        out.val = 64 - bit_sz
        out.validate = True
    return out


def _type(kind: int, spec: CoreSpec | None) -> int:
    if spec is None:
        return 0
    if kind == CoreReloKind.TYPE_ID_TARGET:
        return spec.root_type_id
    if kind in (CoreReloKind.TYPE_EXISTS, CoreReloKind.TYPE_MATCHES):
        return 1
    if kind == CoreReloKind.TYPE_SIZE:
        return resolve_size(spec.btf, spec.root_type_id)
    raise CalcError(f"unsupported type relocation kind {kind}")


def _enumval(kind: int, spec: CoreSpec | None) -> int:
    if kind == CoreReloKind.ENUMVAL_EXISTS:
        return 1 if spec is not None else 0
    if spec is None:
        raise _Poison
    acc = spec.spec[0]
    t = spec.btf.type(acc.type_id)
    assert isinstance(t, Enum | Enum64)
    v = t.values[acc.idx].value
    if isinstance(t, Enum):  # btf_enum.val is an s32, sign-extended into the u64
        v &= 0xFFFFFFFF
        if v & 0x80000000:
            v -= 1 << 32
    return v & _U64


def calc_relo(kind: int, local: CoreSpec, targ: CoreSpec | None) -> ReloValues:
    """Values for relocating with target spec ``targ`` (None: nothing matched)."""
    res = ReloValues()
    try:
        if is_field_based(kind):
            lf = _field(kind, local)
            res.orig_val, res.orig_sz, res.orig_type_id = lf.val, lf.size, lf.type_id
            res.validate = lf.validate
            tf = _field(kind, targ)
            res.new_val, res.new_sz, res.new_type_id = tf.val, tf.size, tf.type_id
            if res.orig_sz != res.new_sz:
                assert targ is not None
                ot = local.btf.type(res.orig_type_id)
                nt = targ.btf.type(res.new_type_id)
                unsigned_ints = (
                    isinstance(ot, Int)
                    and isinstance(nt, Int)
                    and ot.encoding != IntEncoding.SIGNED
                    and nt.encoding != IntEncoding.SIGNED
                )
                if not (isinstance(ot, Ptr) and isinstance(nt, Ptr)) and not unsigned_ints:
                    res.fail_memsz_adjust = True
        elif is_type_based(kind):
            res.orig_val = _type(kind, local)
            res.new_val = _type(kind, targ)
            res.validate = kind != CoreReloKind.TYPE_ID_TARGET
        elif is_enumval_based(kind):
            res.orig_val = _enumval(kind, local)
            res.new_val = _enumval(kind, targ)
        else:
            raise CalcError(f"unrecognized CO-RE relocation kind {kind}")
    except _Poison:
        res.poison = True
    return res
