"""CO-RE access specs: parse a relocation's access string against the local BTF.

A spec is the list of high-level accessors (named members and array indexes) plus
the raw index path and the accessed bit offset, exactly as libbpf's
``bpf_core_parse_spec`` builds it; matching against target types produces the same
structure for the target (see :mod:`pybpf.btf.core.match`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pybpf._dataclass import dataclass, field
from pybpf.btf.coreresult import relo_kind_str
from pybpf.btf.ext import CoreReloKind
from pybpf.btf.types import Array, Enum, Enum64, Kind, Struct, Union
from pybpf.errors import BTFError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = [
    "MAX_SPEC_LEN",
    "Accessor",
    "CoreSpec",
    "SpecError",
    "essential_name",
    "format_spec",
    "is_enumval_based",
    "is_field_based",
    "is_type_based",
    "kind_str",
    "parse_spec",
    "relo_kind_str",
]

MAX_SPEC_LEN = 64  # BPF_CORE_SPEC_MAX_LEN

_FIELD_KINDS = frozenset(
    (
        CoreReloKind.FIELD_BYTE_OFFSET,
        CoreReloKind.FIELD_BYTE_SIZE,
        CoreReloKind.FIELD_EXISTS,
        CoreReloKind.FIELD_SIGNED,
        CoreReloKind.FIELD_LSHIFT_U64,
        CoreReloKind.FIELD_RSHIFT_U64,
    )
)
_TYPE_KINDS = frozenset(
    (
        CoreReloKind.TYPE_ID_LOCAL,
        CoreReloKind.TYPE_ID_TARGET,
        CoreReloKind.TYPE_EXISTS,
        CoreReloKind.TYPE_MATCHES,
        CoreReloKind.TYPE_SIZE,
    )
)
_ENUM_KINDS = frozenset((CoreReloKind.ENUMVAL_EXISTS, CoreReloKind.ENUMVAL_VALUE))

_KIND_STR = {
    Kind.UNKN: "void",
    Kind.FUNC_PROTO: "func_proto",
    Kind.DECL_TAG: "decl_tag",
    Kind.TYPE_TAG: "type_tag",
}


class SpecError(BTFError):
    """A relocation's access string does not fit its local type."""


def is_field_based(kind: int) -> bool:
    """True for the six FIELD_* relocation kinds."""
    return kind in _FIELD_KINDS


def is_type_based(kind: int) -> bool:
    """True for TYPE_ID_LOCAL/TARGET, TYPE_EXISTS/SIZE/MATCHES."""
    return kind in _TYPE_KINDS


def is_enumval_based(kind: int) -> bool:
    """True for ENUMVAL_EXISTS/VALUE."""
    return kind in _ENUM_KINDS


def kind_str(kind: Kind) -> str:
    """libbpf's name of a BTF kind (``struct``, ``enum64``, ``func_proto``, ...)."""
    return _KIND_STR.get(kind, kind.name.lower())


def _is_flavor_sep(name: str, i: int) -> bool:
    return (
        name[i] != "_" and name[i + 1 : i + 4] == "___" and i + 4 < len(name) and name[i + 4] != "_"
    )


def essential_name(name: str) -> str:
    """``name`` without its last ``___flavor`` suffix (``task_struct___v2`` -> ``task_struct``).

    Same rule as libbpf: the separator is ``X___Y`` with X and Y not underscores.
    """
    if "___" not in name:
        return name
    for i in range(len(name) - 5, -1, -1):
        if _is_flavor_sep(name, i):
            return name[: i + 1]
    return name


@dataclass(slots=True)
class Accessor:
    """One high-level step: member ``idx`` of ``type_id`` (named) or array index ``idx``."""

    type_id: int
    idx: int
    name: str | None = None


@dataclass(slots=True)
class CoreSpec:
    """A parsed (local) or matched (target) access spec, as in libbpf."""

    btf: BTF
    root_type_id: int
    relo_kind: int
    spec: list[Accessor] = field(default_factory=list)
    raw_spec: list[int] = field(default_factory=list)
    bit_offset: int = 0

    def copy(self) -> CoreSpec:
        return CoreSpec(
            self.btf,
            self.root_type_id,
            self.relo_kind,
            [Accessor(a.type_id, a.idx, a.name) for a in self.spec],
            list(self.raw_spec),
            self.bit_offset,
        )


def skip_mods(btf: BTF, tid: int) -> int:
    """``tid`` with typedefs and qualifiers stripped (libbpf's skip_mods_and_typedefs)."""
    return btf.resolve(tid)


def resolve_size(btf: BTF, tid: int) -> int:
    """Size in bytes of ``tid`` (libbpf's btf__resolve_size)."""
    return btf.size_of(tid)


def is_flex_arr(btf: BTF, acc: Accessor | None, arr: Array) -> bool:
    """True when ``arr`` is a zero-length array ending the struct ``acc`` points into."""
    if acc is None or not acc.name or arr.nelems > 0:
        return False
    t = btf.type(acc.type_id)
    return isinstance(t, Struct | Union) and acc.idx == len(t.members) - 1


def _bad(btf: BTF, relo_type_id: int, access: str, why: str) -> SpecError:
    return SpecError(
        f"CO-RE access string {access!r} on type [{relo_type_id}] "
        f"({btf.type_name(relo_type_id) if 0 < relo_type_id < len(btf) else '?'}): {why}",
        section=btf.name,
    )


def parse_spec(btf: BTF, type_id: int, access: str, kind: int) -> CoreSpec:
    """Build the local spec of a relocation (libbpf's ``bpf_core_parse_spec``)."""
    if not 0 < type_id < len(btf):
        raise SpecError(f"CO-RE relocation on unknown type id {type_id}", section=btf.name)
    if not access or access.startswith(":"):
        raise _bad(btf, type_id, access, "empty or malformed")
    spec = CoreSpec(btf, type_id, kind)
    if is_type_based(kind):
        if access != "0":
            raise _bad(btf, type_id, access, "type-based relocations take the access '0'")
        return spec
    try:
        raw = [int(x) for x in access.split(":")]
    except ValueError as exc:
        raise _bad(btf, type_id, access, "not a list of integers") from exc
    if len(raw) > MAX_SPEC_LEN:
        raise _bad(btf, type_id, access, f"more than {MAX_SPEC_LEN} levels")
    spec.raw_spec = raw
    tid = skip_mods(btf, type_id)
    t = btf.type(tid)
    first = Accessor(tid, raw[0])
    spec.spec.append(first)

    if is_enumval_based(kind):
        if not isinstance(t, Enum | Enum64) or len(raw) > 1 or not 0 <= raw[0] < len(t.values):
            raise _bad(btf, type_id, access, "not an enumerator index")
        first.name = t.values[raw[0]].name
        return spec
    if not is_field_based(kind):
        raise _bad(btf, type_id, access, f"unknown relocation kind {kind}")

    spec.bit_offset = raw[0] * resolve_size(btf, tid) * 8
    for i in range(1, len(raw)):
        tid = skip_mods(btf, tid)
        t = btf.type(tid)
        idx = raw[i]
        if isinstance(t, Struct | Union):
            if not 0 <= idx < len(t.members):
                raise _bad(btf, type_id, access, f"member index {idx} out of range")
            m = t.members[idx]
            spec.bit_offset += m.bit_offset
            if m.name:
                spec.spec.append(Accessor(tid, idx, m.name))
            tid = m.type
        elif isinstance(t, Array):
            elem = skip_mods(btf, t.type)
            flex = is_flex_arr(btf, spec.spec[-1], t)
            if not flex and not 0 <= idx < t.nelems:
                raise _bad(btf, type_id, access, f"array index {idx} out of bounds")
            spec.spec.append(Accessor(elem, idx))
            spec.bit_offset += idx * resolve_size(btf, elem) * 8
            tid = elem
        else:
            raise _bad(
                btf, type_id, access, f"step {i} reaches {kind_str(t.kind)} [{tid}], not a field"
            )
    return spec


def format_spec(spec: CoreSpec) -> str:
    """libbpf's debug rendering: ``<byte_off> [5] struct foo.bar[1] (0:2:1 @ offset 8)``."""
    btf = spec.btf
    t = btf.type(spec.root_type_id)
    name = btf.name_of(spec.root_type_id) or "<anon>"
    out = f"<{relo_kind_str(spec.relo_kind)}> [{spec.root_type_id}] {kind_str(t.kind)} {name}"
    if is_type_based(spec.relo_kind):
        return out
    if is_enumval_based(spec.relo_kind):
        et = btf.type(skip_mods(btf, spec.root_type_id))
        if isinstance(et, Enum | Enum64) and spec.raw_spec:
            ev = et.values[spec.raw_spec[0]]
            return f"{out}::{ev.name} = {ev.value}"
        return out
    return f"{out}{access_path(spec)} ({raw_and_offset(spec)})"


def access_path(spec: CoreSpec) -> str:
    """The C-like field path of a field spec: ``.real_parent.comm[3]``."""
    parts = []
    for i, a in enumerate(spec.spec):
        if a.name:
            parts.append(f".{a.name}")
        elif i > 0 or a.idx > 0:
            parts.append(f"[{a.idx}]")
    return "".join(parts)


def raw_and_offset(spec: CoreSpec) -> str:
    """``0:1:2 @ offset 8`` (with ``.bit`` for sub-byte offsets)."""
    raw = ":".join(str(x) for x in spec.raw_spec)
    off = spec.bit_offset
    at = f"{off // 8}.{off % 8}" if off % 8 else f"{off // 8}"
    return f"{raw} @ offset {at}"
