"""Map definitions of an object: legacy ``maps``, BTF-defined ``.maps``, struct_ops.

Legacy maps follow the samples/bpf loader: every symbol in the ``maps`` section
is one ``struct bpf_map_def`` and all have the same size (section size / number
of maps); a smaller struct is zero-extended, a larger one must be zero past the
known fields, except that a 36-byte definition is iproute2's ``struct bpf_elf_map``
(pinning under ``tc/globals`` or ``tc/<object sha1>``, map-in-map by id). Static
definitions are refused. BTF-defined maps are decoded from their anonymous struct
(``__uint``/``__type``/``__array`` members), with initial ``.values`` from the
``.rel.maps`` relocations.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from pybpf._dataclass import dataclass, replace
from pybpf._fastenum import FastEnum
from pybpf.btf.types import Array, Datasec, Enum, Enum64, FuncProto, Kind, Ptr, Struct, Var
from pybpf.elf.reader import RelocType, Symbol, SymbolBind, SymbolType
from pybpf.errors import ObjectError
from pybpf.uapi.enums import MapFlags, MapType

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF
    from pybpf.elf.reader import ElfObject, Section

__all__ = [
    "BPF_ELF_MAP_SIZE",
    "BPF_MAP_DEF_SIZE",
    "LEGACY_MAPS_SEC",
    "MAPS_SEC",
    "PIN_BY_NAME",
    "PIN_GLOBAL_NS",
    "PIN_NONE",
    "PIN_OBJECT_NS",
    "MapKind",
    "MapSpec",
    "btf_maps",
    "legacy_maps",
    "struct_ops_maps",
]

LEGACY_MAPS_SEC = "maps"
MAPS_SEC = ".maps"
STRUCT_OPS_SECS = (".struct_ops", ".struct_ops.link")
PIN_NONE = 0
PIN_BY_NAME = 1
#: samples/bpf's struct bpf_load_map_def: type, key_size, value_size, max_entries,
#: map_flags, inner_map_idx, numa_node (seven u32)
BPF_MAP_DEF_SIZE = 28
_MAP_DEF = struct.Struct("<7I")
#: iproute2's struct bpf_elf_map (include/bpf_elf.h): type, size_key, size_value,
#: max_elem, flags, id, pinning, inner_id, inner_idx (nine u32)
BPF_ELF_MAP_SIZE = 36
_ELF_MAP = struct.Struct("<9I")
#: iproute2 pinning values: per object (tc/<sha1 of the object>) and global (tc/globals)
PIN_OBJECT_NS = 1
PIN_GLOBAL_NS = 2
#: iproute2's pin directories under the bpffs root
TC_GLOBALS_DIR = "tc/globals"


class MapKind(FastEnum):
    """Where a map comes from."""

    USER = "user"  # defined by the program (legacy maps or .maps)
    DATA = "data"  # .data / .data.*
    RODATA = "rodata"  # .rodata / .rodata.*
    BSS = "bss"  # .bss / .bss.*
    KCONFIG = "kconfig"  # values of __kconfig externs
    STRUCT_OPS = "struct_ops"  # a struct_ops variable


@dataclass(frozen=True, slots=True)
class MapSpec:
    """Everything needed to create one map, read from the object (no kernel involved).

    ``key_type_id``/``value_type_id`` are ids in the object's BTF (0 when absent).
    ``values`` are initial ``(slot, symbol)`` pairs (prog arrays: program names,
    map-in-map: map names). ``data`` is the initial value of global-data and
    struct_ops maps (empty when it is all zeros, as for ``.bss``: zero images are
    made at load, so a huge ``.bss`` costs nothing at open). ``func_members`` maps
    a struct_ops member to its program.
    """

    name: str
    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    numa_node: int = 0
    map_extra: int = 0
    pinning: int = PIN_NONE
    inner: MapSpec | None = None
    key_type_id: int = 0
    value_type_id: int = 0
    legacy: bool = False
    section: str = ""
    offset: int = 0
    kind: MapKind = MapKind.USER
    data: bytes = b""
    values: tuple[tuple[int, str], ...] = ()
    inner_map_idx: int = 0
    btf_var_id: int = 0
    struct_ops_type: str = ""
    func_members: tuple[tuple[str, str], ...] = ()
    #: directory of the pin under the pin root (iproute2: ``tc/globals``, ``tc/<sha1>``)
    pin_dir: str = ""

    @property
    def is_map_in_map(self) -> bool:
        """True for ARRAY_OF_MAPS / HASH_OF_MAPS."""
        return self.type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS)

    @property
    def is_data(self) -> bool:
        """True for global data (``.data``, ``.rodata``, ``.bss``, ``.kconfig``): an image
        Python reads and writes through ``obj.globals``."""
        return self.kind in (MapKind.DATA, MapKind.RODATA, MapKind.BSS, MapKind.KCONFIG)

    @property
    def is_readonly(self) -> bool:
        """True for global data frozen at load (``.rodata*``, ``.kconfig``)."""
        return self.kind in (MapKind.RODATA, MapKind.KCONFIG)


def _map_type(value: int, name: str, file: str | None, section: str) -> MapType:
    try:
        return MapType(value)
    except ValueError as exc:
        raise ObjectError(
            f"map {name!r}: unknown map type {value}", file=file, section=section
        ) from exc


# ---------------------------------------------------------------- legacy "maps"


def legacy_maps(elf: ElfObject, data: bytes | None = None) -> list[MapSpec]:
    """Maps of the legacy ``maps`` section, in offset order (``map_fd[]`` order).

    Definitions of iproute2's size (``struct bpf_elf_map``, 36 bytes) are read with
    its layout: pinning (PIN_OBJECT_NS / PIN_GLOBAL_NS) and the map-in-map fields
    ``id``/``inner_id``/``inner_idx``. ``data`` (the object's bytes) names the
    per-object pin directory, as iproute2 does with the object's SHA-1.
    """
    sec = elf.section(LEGACY_MAPS_SEC)
    if sec is None:
        return []
    file, where = elf.file, sec.name
    syms = sorted(
        (s for s in elf.symbols_in(sec.index) if s.type != SymbolType.SECTION and s.name),
        key=lambda s: (s.value, s.index),
    )
    if not syms:
        if sec.size:
            raise ObjectError(
                "legacy maps section has data but no map symbols", file=file, section=where
            )
        return []
    for sym in syms:
        if sym.bind == SymbolBind.LOCAL:
            raise ObjectError(
                f"map {sym.name!r}: static map definitions are not supported (loaders find "
                "legacy maps by their global symbols); drop 'static'",
                file=file,
                section=where,
                offset=sym.value,
            )
    if sec.size % len(syms):
        raise ObjectError(
            f"cannot tell the map definition size: {len(syms)} maps in {sec.size} bytes",
            file=file,
            section=where,
        )
    def_size = sec.size // len(syms)
    if def_size == BPF_ELF_MAP_SIZE:
        return _elf_maps(elf, syms, sec, data)
    copy = min(def_size, BPF_MAP_DEF_SIZE)
    out: list[MapSpec] = []
    for sym in syms:
        off = sym.value
        raw = _definition(elf, sym, sec, def_size)
        extra = raw[copy:]
        if any(extra):
            bad = copy + next(j for j, b in enumerate(extra) if b)
            raise ObjectError(
                f"map {sym.name!r}: definition is {def_size} bytes, larger than struct "
                f"bpf_map_def ({BPF_MAP_DEF_SIZE} bytes), and uses unknown fields "
                f"(non-zero byte at offset {bad} of the definition)",
                file=file,
                section=where,
                offset=off + bad,
            )
        fields = _MAP_DEF.unpack(raw[:copy].ljust(BPF_MAP_DEF_SIZE, b"\0"))
        mtype, ksize, vsize, maxent, flags, inner_idx, numa = fields
        out.append(
            MapSpec(
                name=sym.name,
                type=_map_type(mtype, sym.name, file, where),
                key_size=ksize,
                value_size=vsize,
                max_entries=maxent,
                flags=flags,
                numa_node=numa,
                legacy=True,
                section=where,
                offset=off,
                inner_map_idx=inner_idx,
            )
        )
    result: list[MapSpec] = []
    for m in out:
        if m.is_map_in_map:
            if m.inner_map_idx >= len(out) or out[m.inner_map_idx] is m:
                raise ObjectError(
                    f"map {m.name!r}: inner_map_idx {m.inner_map_idx} does not name another map "
                    f"({len(out)} maps in the section)",
                    file=file,
                    section=where,
                    offset=m.offset,
                )

            m = replace(m, inner=out[m.inner_map_idx])
        result.append(m)
    return result


def _definition(elf: ElfObject, sym: Symbol, sec: Section, size: int) -> bytes:
    """The ``size`` definition bytes of map ``sym`` (zeros in a NOBITS section, which
    is never allocated whole: its size comes from the header, not the file)."""
    off = sym.value
    if off + size > sec.size:
        raise ObjectError(
            f"map {sym.name!r}: definition ({size} bytes at {off:#x}) extends past the "
            f"end of the section ({sec.size:#x} bytes)",
            file=elf.file,
            section=LEGACY_MAPS_SEC,
            offset=off,
        )
    return bytes(size) if sec.is_nobits else bytes(sec.data[off : off + size])


def _elf_maps(
    elf: ElfObject, syms: list[Symbol], sec: Section, data: bytes | None
) -> list[MapSpec]:
    """iproute2's ``struct bpf_elf_map`` definitions (tc/ip/xdp objects without BTF)."""
    file, where = elf.file, LEGACY_MAPS_SEC
    out: list[tuple[MapSpec, int, int, int]] = []  # (spec, id, inner_id, inner_idx)
    for sym in syms:
        raw = _definition(elf, sym, sec, BPF_ELF_MAP_SIZE)
        mtype, ksize, vsize, maxent, flags, map_id, pinning, inner_id, inner_idx = _ELF_MAP.unpack(
            raw
        )
        pin_dir = ""
        if pinning == PIN_GLOBAL_NS:
            pin_dir = TC_GLOBALS_DIR
        elif pinning == PIN_OBJECT_NS:
            import hashlib

            digest = hashlib.sha1(data if data is not None else sec.data).hexdigest()
            pin_dir = f"tc/{digest}"
        elif pinning != PIN_NONE:
            raise ObjectError(
                f"map {sym.name!r}: iproute2 pinning {pinning} names a custom pin directory "
                "(/etc/iproute2/bpf_pinning), which pybpf does not read; use PIN_GLOBAL_NS (2) "
                "or PIN_OBJECT_NS (1), or set obj.maps[name].pin_path before load",
                file=file,
                section=where,
                offset=sym.value + 24,
            )
        spec = MapSpec(
            name=sym.name,
            type=_map_type(mtype, sym.name, file, where),
            key_size=ksize,
            value_size=vsize,
            max_entries=maxent,
            flags=flags,
            pinning=PIN_BY_NAME if pin_dir else PIN_NONE,
            pin_dir=pin_dir,
            legacy=True,
            section=where,
            offset=sym.value,
        )
        out.append((spec, map_id, inner_id, inner_idx))
    by_id: dict[int, MapSpec] = {}
    for spec, map_id, _, _ in out:
        if map_id:
            by_id.setdefault(map_id, spec)
    result: list[MapSpec] = []
    for spec, _, inner_id, _ in out:
        if spec.is_map_in_map:
            # iproute2: the map whose id is inner_id is the template of the inner maps,
            # and every map with that id and an inner_idx goes into that slot
            template = by_id.get(inner_id) if inner_id else None
            if template is None or template is spec:
                raise ObjectError(
                    f"map {spec.name!r}: map-in-map needs inner_id naming another map's id "
                    f"(inner_id {inner_id}; ids: {sorted(by_id) or 'none'})",
                    file=file,
                    section=where,
                    offset=spec.offset + 28,
                )
            slots = tuple(
                (idx, other.name)
                for other, oid, oinner, idx in out
                if oid == inner_id and not oinner and idx != 0xFFFFFFFF
            )
            spec = replace(spec, inner=template, values=slots)
        result.append(spec)
    return result


# ---------------------------------------------------------------- BTF ".maps"


_INT_FIELDS = (
    "type",
    "max_entries",
    "map_flags",
    "numa_node",
    "key_size",
    "value_size",
    "map_extra",
    "pinning",
)


@dataclass
class _Def:
    type: int = 0
    max_entries: int = 0
    map_flags: int = 0
    numa_node: int = 0
    key_size: int = 0
    value_size: int = 0
    map_extra: int = 0
    pinning: int = 0
    key_type_id: int = 0
    value_type_id: int = 0
    values_offset: int = -1
    inner: MapSpec | None = None
    has: frozenset[str] = frozenset()


class _BTFMaps:
    def __init__(self, elf: ElfObject, btf: BTF, section: Section) -> None:
        self.elf = elf
        self.btf = btf
        self.sec = section

    def err(self, msg: str, offset: int | None = None) -> ObjectError:
        return ObjectError(msg, file=self.elf.file, section=self.sec.name, offset=offset)

    def uint(self, map_name: str, member: str, tid: int) -> int:
        """Value of a ``__uint(member, N)`` field: pointer to an array of N elements."""
        t = self.btf.type(self.btf.resolve(tid))
        if isinstance(t, Ptr):
            a = self.btf.type(self.btf.resolve(t.type))
            if isinstance(a, Array):
                return a.nelems
        raise self.err(
            f"map {map_name!r}: field {member!r} is not a __uint() (pointer to array), "
            f"it is a {t.kind.name}"
        )

    def ulong(self, map_name: str, member: str, tid: int) -> int:
        """A 64-bit field: ``__uint(member, N)`` or ``__ulong(member, N)``.

        ``__ulong`` (current libbpf) declares a one-value enum, ENUM64 when the value
        needs it; as in libbpf only ``map_extra`` takes it. The value is read with the
        enum's signedness (libbpf sign-extends every 32-bit ENUM value).
        """
        t = self.btf.type(self.btf.resolve(tid))
        if isinstance(t, Ptr):
            return self.uint(map_name, member, tid)
        if not isinstance(t, Enum | Enum64):
            raise self.err(
                f"map {map_name!r}: field {member!r} is not a __uint() or __ulong(), "
                f"it is a {t.kind.name}"
            )
        if len(t.values) != 1:
            raise self.err(
                f"map {map_name!r}: field {member!r} is an enum of {len(t.values)} values, "
                "not a __ulong() (one value)"
            )
        return t.values[0].value & ((1 << 64) - 1)

    def pointee(self, map_name: str, member: str, tid: int) -> int:
        """Type id named by ``__type(member, T)`` (a pointer to T)."""
        t = self.btf.type(self.btf.resolve(tid))
        if not isinstance(t, Ptr):
            raise self.err(
                f"map {map_name!r}: field {member!r} is not a __type() (pointer), "
                f"it is a {t.kind.name}"
            )
        return t.type

    def parse_def(self, map_name: str, struct_id: int, *, inner: bool) -> _Def:
        t = self.btf.type(self.btf.resolve(struct_id))
        if not isinstance(t, Struct):
            raise self.err(f"map {map_name!r}: definition is a {t.kind.name}, not a struct")
        d = _Def()
        seen: set[str] = set()
        values_member = None
        for m in t.members:
            if m.name in seen:
                raise self.err(f"map {map_name!r}: field {m.name!r} given twice")
            seen.add(m.name)
            if m.name == "map_extra":
                d.map_extra = self.ulong(map_name, m.name, m.type)
            elif m.name in _INT_FIELDS:
                setattr(d, m.name, self.uint(map_name, m.name, m.type))
            elif m.name in ("key", "value"):
                tid = self.pointee(map_name, m.name, m.type)
                try:
                    size = self.btf.size_of(tid)
                except ObjectError as exc:
                    raise self.err(f"map {map_name!r}: {m.name} type has no size ({exc})") from exc
                if m.name == "key":
                    d.key_type_id, key_size = tid, size
                    if "key_size" in seen and d.key_size != key_size:
                        raise self.err(
                            f"map {map_name!r}: key_size {d.key_size} conflicts "
                            f"with the key type's size {key_size}"
                        )
                    d.key_size = key_size
                else:
                    d.value_type_id = tid
                    if "value_size" in seen and d.value_size != size:
                        raise self.err(
                            f"map {map_name!r}: value_size {d.value_size} conflicts "
                            f"with the value type's size {size}"
                        )
                    d.value_size = size
            elif m.name == "values":
                if m is not t.members[-1]:
                    raise self.err(f"map {map_name!r}: 'values' must be the last field")
                values_member = m
            else:
                raise self.err(f"map {map_name!r}: unknown field {m.name!r}")
        if "key_size" in seen and "key" in seen and d.key_size != self.btf.size_of(d.key_type_id):
            raise self.err(f"map {map_name!r}: key_size conflicts with the key type")
        if (
            "value_size" in seen
            and "value" in seen
            and d.value_size != self.btf.size_of(d.value_type_id)
        ):
            raise self.err(f"map {map_name!r}: value_size conflicts with the value type")
        if values_member is not None:
            if inner:
                raise self.err(f"map {map_name!r}: multi-level inner maps are not supported")
            mtype = d.type
            in_map = mtype in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS)
            if not in_map and mtype != MapType.PROG_ARRAY:
                raise self.err(
                    f"map {map_name!r}: 'values' needs a map-in-map or prog array type, not {mtype}"
                )
            if "value_size" in seen and d.value_size != 4:
                raise self.err(
                    f"map {map_name!r}: value_size {d.value_size} conflicts with "
                    "'values' (4-byte ids)"
                )
            d.value_size = 4
            arr = self.btf.type(self.btf.resolve(values_member.type))
            if not isinstance(arr, Array):
                raise self.err(f"map {map_name!r}: 'values' is not an array (use __array())")
            ptr = self.btf.type(self.btf.resolve(arr.type))
            if not isinstance(ptr, Ptr):
                raise self.err(f"map {map_name!r}: 'values' is not an array of pointers")
            target_id = self.btf.resolve(ptr.type)
            target = self.btf.type(target_id)
            if in_map:
                if not isinstance(target, Struct):
                    raise self.err(
                        f"map {map_name!r}: inner map definition is a "
                        f"{target.kind.name}, not a struct"
                    )
                inner_name = f"{map_name}.inner"
                idef = self.parse_def(inner_name, target_id, inner=True)
                d.inner = self.to_spec(inner_name, idef, offset=0, var_id=0)
            elif not isinstance(target, FuncProto):
                raise self.err(
                    f"map {map_name!r}: prog array 'values' must point to a "
                    f"function prototype, not a {target.kind.name}"
                )
            d.values_offset = values_member.bit_offset // 8
        if d.pinning not in (PIN_NONE, PIN_BY_NAME):
            raise self.err(
                f"map {map_name!r}: invalid pinning value {d.pinning} (0 or LIBBPF_PIN_BY_NAME)"
            )
        d.has = frozenset(seen)
        return d

    def to_spec(self, name: str, d: _Def, *, offset: int, var_id: int) -> MapSpec:
        return MapSpec(
            name=name,
            type=_map_type(d.type, name, self.elf.file, self.sec.name),
            key_size=d.key_size,
            value_size=d.value_size,
            max_entries=d.max_entries,
            flags=d.map_flags,
            numa_node=d.numa_node,
            map_extra=d.map_extra,
            pinning=d.pinning,
            inner=d.inner,
            key_type_id=d.key_type_id,
            value_type_id=d.value_type_id,
            section=self.sec.name,
            offset=offset,
            btf_var_id=var_id,
        )

    def run(self) -> list[MapSpec]:
        ds_id = next(
            (
                tid
                for tid, t in self.btf.of_kind(Kind.DATASEC)
                if isinstance(t, Datasec) and t.name == MAPS_SEC
            ),
            None,
        )
        if ds_id is None:
            if self.sec.size:
                raise self.err("the .maps section has no BTF DATASEC describing it")
            return []
        ds = self.btf.type(ds_id)
        assert isinstance(ds, Datasec)
        specs: list[tuple[MapSpec, int, int]] = []  # (spec, values_offset, end)
        for vs in ds.vars:
            var = self.btf.type(vs.type)
            if not isinstance(var, Var):
                raise self.err(f"BTF DATASEC entry [{vs.type}] is a {var.kind.name}, not a VAR")
            d = self.parse_def(var.name, var.type, inner=False)
            spec = self.to_spec(var.name, d, offset=vs.offset, var_id=vs.type)
            specs.append((spec, d.values_offset, vs.offset + vs.size))
        return self.values(specs)

    def values(self, specs: list[tuple[MapSpec, int, int]]) -> list[MapSpec]:
        """Attach the initial ``.values`` given by the relocations of ``.rel.maps``."""

        slots: dict[str, dict[int, str]] = {}
        by_offset = {s.offset: s for s, _, _ in specs}
        for rel in self.elf.relocations(self.sec.index):
            if rel.type == RelocType.R_BPF_NONE:
                continue
            before = [(s, vo) for s, vo, _ in specs if s.offset <= rel.offset]
            if not before:
                raise self.err(f"relocation at {rel.offset:#x} is outside every map", rel.offset)
            owner = max(before, key=lambda sv: sv[0].offset)
            spec, voff = owner
            if rel.type not in (RelocType.R_BPF_64_ABS64, RelocType.R_BPF_64_64):
                raise self.err(
                    f"map {spec.name!r}: unexpected {rel.type.name} relocation", rel.offset
                )
            if voff < 0 or rel.offset < spec.offset + voff:
                raise self.err(
                    f"map {spec.name!r}: relocation at {rel.offset:#x} is not in "
                    "its 'values' initializer",
                    rel.offset,
                )
            pos = rel.offset - spec.offset - voff
            if pos % 8:
                raise self.err(
                    f"map {spec.name!r}: misaligned 'values' slot at {rel.offset:#x}", rel.offset
                )
            slot = pos // 8
            if spec.max_entries and slot >= spec.max_entries:
                raise self.err(
                    f"map {spec.name!r}: 'values' slot {slot} is beyond max_entries "
                    f"{spec.max_entries}",
                    rel.offset,
                )
            sym = self.elf.symbol(rel.symbol)
            if spec.type == MapType.PROG_ARRAY:
                if sym.type != SymbolType.FUNC or not self._is_exec(sym):
                    raise self.err(
                        f"map {spec.name!r}: slot {slot} refers to {sym.name!r}, "
                        "which is not a BPF program",
                        rel.offset,
                    )
            else:
                if sym.shndx != self.sec.index or sym.value not in by_offset:
                    raise self.err(
                        f"map {spec.name!r}: slot {slot} refers to {sym.name!r}, "
                        "which is not a map in .maps",
                        rel.offset,
                    )
            slots.setdefault(spec.name, {})[slot] = (
                sym.name if spec.type == MapType.PROG_ARRAY else by_offset[sym.value].name
            )
        out: list[MapSpec] = []
        for spec, _, _ in specs:
            got = slots.get(spec.name)
            if got:
                spec = replace(spec, values=tuple(sorted(got.items())))
            out.append(spec)
        return out

    def _is_exec(self, sym: Symbol) -> bool:
        return 0 < sym.shndx < len(self.elf.sections) and self.elf.sections[sym.shndx].is_exec


def btf_maps(elf: ElfObject, btf: BTF | None) -> list[MapSpec]:
    """Maps of the ``.maps`` section (needs BTF), in DATASEC order."""
    sec = elf.section(MAPS_SEC)
    if sec is None:
        return []
    if btf is None:
        raise ObjectError(
            "BTF-defined maps need .BTF (compile with -g)", file=elf.file, section=sec.name
        )
    return _BTFMaps(elf, btf, sec).run()


# ---------------------------------------------------------------- struct_ops


def struct_ops_maps(
    elf: ElfObject, btf: BTF | None, program_at: Callable[[int, int], str | None]
) -> list[MapSpec]:
    """One STRUCT_OPS map per variable of ``.struct_ops``/``.struct_ops.link``.

    ``program_at(section_index, byte_offset)`` names the program a function
    pointer relocation refers to.
    """
    out: list[MapSpec] = []
    for sec_name in STRUCT_OPS_SECS:
        sec = elf.section(sec_name)
        if sec is None:
            continue
        if btf is None:
            raise ObjectError(
                "struct_ops maps need .BTF (compile with -g)", file=elf.file, section=sec_name
            )
        out.extend(_struct_ops_section(elf, btf, sec, program_at))
    return out


def _struct_ops_section(
    elf: ElfObject, btf: BTF, sec: Section, program_at: Callable[[int, int], str | None]
) -> list[MapSpec]:
    def err(msg: str, offset: int | None = None) -> ObjectError:
        return ObjectError(msg, file=elf.file, section=sec.name, offset=offset)

    ds = next(
        (t for _, t in btf.of_kind(Kind.DATASEC) if isinstance(t, Datasec) and t.name == sec.name),
        None,
    )
    if ds is None:
        raise err("struct_ops section has no BTF DATASEC describing it")
    relocs = elf.relocations(sec.index)
    out: list[MapSpec] = []
    for vs in ds.vars:
        var = btf.type(vs.type)
        if not isinstance(var, Var):
            raise err(f"BTF DATASEC entry [{vs.type}] is a {var.kind.name}, not a VAR")
        st_id = btf.resolve(var.type)
        st = btf.type(st_id)
        if not isinstance(st, Struct) or not st.name:
            raise err(f"struct_ops variable {var.name!r} is not a named struct")
        if vs.offset + st.size > sec.size:
            raise err(f"struct_ops variable {var.name!r} extends past the section", vs.offset)
        data = b"" if sec.is_nobits else sec.data[vs.offset : vs.offset + st.size]
        funcs: list[tuple[str, str]] = []
        for rel in relocs:
            if not vs.offset <= rel.offset < vs.offset + st.size:
                continue
            moff = (rel.offset - vs.offset) * 8
            member = next((m for m in st.members if m.bit_offset == moff), None)
            if member is None:
                raise err(
                    f"struct_ops {var.name!r}: relocation at {rel.offset:#x} is not at a member",
                    rel.offset,
                )
            mt = btf.type(btf.resolve(member.type))
            if not isinstance(mt, Ptr) or not isinstance(btf.type(btf.resolve(mt.type)), FuncProto):
                raise err(
                    f"struct_ops {var.name!r}: member {member.name!r} is not a function pointer",
                    rel.offset,
                )
            sym = elf.symbol(rel.symbol)
            prog = program_at(sym.shndx, sym.value) if sym.type == SymbolType.FUNC else None
            if sym.type == SymbolType.SECTION:
                prog = program_at(sym.shndx, sym.value)
            if prog is None:
                raise err(
                    f"struct_ops {var.name!r}: member {member.name!r} refers to "
                    f"{sym.name!r}, which is not a BPF program",
                    rel.offset,
                )
            funcs.append((member.name, prog))
        out.append(
            MapSpec(
                name=var.name,
                type=MapType.STRUCT_OPS,
                key_size=4,
                value_size=st.size,
                max_entries=1,
                flags=int(MapFlags.LINK) if sec.name.endswith(".link") else 0,
                value_type_id=st_id,
                section=sec.name,
                offset=vs.offset,
                kind=MapKind.STRUCT_OPS,
                data=data,
                btf_var_id=vs.type,
                struct_ops_type=st.name,
                func_members=tuple(funcs),
            )
        )
    return out


def by_name(maps: list[MapSpec], file: str | None) -> Mapping[str, MapSpec]:
    """Index maps by name; two maps with one name are an ObjectError."""
    out: dict[str, MapSpec] = {}
    for m in maps:
        if m.name in out:
            raise ObjectError(f"two maps are called {m.name!r}", file=file, section=m.section)
        out[m.name] = m
    return out
