"""What a skeleton holds, read from an object's spec: maps, programs, variables, types.

The model is pure data (no code text): :mod:`pybpf.skeleton.render` turns it into a
module. Types come from the maps' key/value types, the global variables' types and
the "anchored" event structs (``struct event *unused_anchor``, a global pointer kept
only so the struct reaches BTF).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pybpf.btf.types import Ptr, Struct, Union
from pybpf.elf.maps import MapKind
from pybpf.errors import BTFError
from pybpf.skeleton.pytypes import EnumDef, Names, PyType, RecordDef, TypeMapper, camel
from pybpf.uapi.enums import MapType

if TYPE_CHECKING:
    from pybpf.elf.spec import ObjectSpec

__all__ = ["MapDef", "ProgDef", "SectionDef", "SkeletonModel", "VarDef", "build_model"]

# names the generated module defines or imports itself
_MODULE_NAMES = {
    "annotations", "base64", "dataclass", "Any", "Callable", "ClassVar", "Sequence",
    "TYPE_CHECKING", "pybpf", "Layout", "SkelEnum", "Skeleton", "layout_of", "ELF",
    "ELF_SHA256", "OBJECT_NAME", "EVENT_TYPE", "Self",
}  # fmt: skip
_SKELETON_MEMBERS = {"obj", "maps", "progs", "open", "load", "attach", "detach", "close"}


@dataclass
class MapDef:
    """A map attribute; ``event`` is the record its events decode as (ring/perf buffers)."""

    attr: str
    c_name: str
    type_name: str
    key: PyType | None
    value: PyType | None
    reader: str = ""  # "ringbuf", "perfbuf" or ""


@dataclass
class ProgDef:
    """A program attribute."""

    attr: str
    c_name: str
    section: str


@dataclass
class VarDef:
    """A variable property; ``type`` None means raw bytes (no value layout)."""

    attr: str
    c_name: str
    type: PyType | None
    size: int
    c_type: str


@dataclass
class SectionDef:
    """A namespace of variables of one data section."""

    attr: str
    section: str
    class_name: str
    readonly: bool
    vars: list[VarDef] = field(default_factory=list)


@dataclass
class SkeletonModel:
    """Everything a skeleton module declares."""

    name: str
    class_name: str
    elf: bytes
    sha256: str
    maps: list[MapDef]
    progs: list[ProgDef]
    sections: list[SectionDef]
    types: list[RecordDef | EnumDef]
    event: RecordDef | None
    maps_class: str
    progs_class: str


def _attr(names: Names, name: str, taken: set[str]) -> str:
    out = names.member(name.lstrip("."), taken | {"pybpf"})
    taken.add(out)
    return out


def _maybe_type(mapper: TypeMapper, tid: int) -> PyType | None:
    if not tid:
        return None
    try:
        return mapper.py_type(tid)
    except BTFError:
        return None


def _anchored(spec: ObjectSpec) -> list[int]:
    """Struct/union ids that global pointer variables point to (event anchors)."""
    btf = spec.btf
    found: list[int] = []
    if btf is None:
        return found
    for var in spec.variables.values():
        if not var.is_global or not var.type_id:
            continue
        t = btf.type(btf.resolve(var.type_id))
        if not isinstance(t, Ptr):
            continue
        rid = btf.resolve(t.type)
        target = btf.type(rid)
        if isinstance(target, Struct | Union) and target.size and rid not in found:
            found.append(rid)
    return found


def build_model(spec: ObjectSpec, data: bytes, name: str) -> SkeletonModel:
    """The skeleton of the object ``data`` (parsed as ``spec``), named ``name``."""
    base = camel(name)
    class_name = f"{base}Skeleton"
    names = Names(_MODULE_NAMES)
    class_name = names.claim(class_name)
    maps_class = names.claim(f"{base}Maps")
    progs_class = names.claim(f"{base}Progs")
    btf = spec.btf
    mapper = TypeMapper(btf, names) if btf is not None else None

    # events: the single anchored struct, if there is exactly one
    event: RecordDef | None = None
    if mapper is not None:
        anchors = _anchored(spec)
        for rid in anchors:
            _maybe_type(mapper, rid)
        if len(anchors) == 1:
            event = mapper.records.get(anchors[0])

    maps: list[MapDef] = []
    taken: set[str] = set()
    for mname, ms in spec.maps.items():
        try:
            tname = MapType(ms.type).name.lower()
        except ValueError:
            tname = f"type {ms.type}"
        user = ms.kind is MapKind.USER
        key = _maybe_type(mapper, ms.key_type_id) if mapper and user else None
        value = _maybe_type(mapper, ms.value_type_id) if mapper and user else None
        reader = {MapType.RINGBUF: "ringbuf", MapType.PERF_EVENT_ARRAY: "perfbuf"}.get(ms.type, "")
        maps.append(MapDef(_attr(names, mname, taken), mname, tname, key, value, reader))

    progs: list[ProgDef] = []
    taken = set()
    for pname, ps in spec.programs.items():
        progs.append(ProgDef(_attr(names, pname, taken), pname, ps.section))

    sections: dict[str, SectionDef] = {}
    sec_taken = set(_SKELETON_MEMBERS)
    for vname, var in spec.variables.items():
        if not var.is_global:
            continue  # static variables are not part of the interface (as in libbpf)
        sec = sections.get(var.section)
        if sec is None:
            attr = _attr(names, var.section, sec_taken)
            readonly = var.section.startswith(".rodata") or var.section == ".kconfig"
            sec = SectionDef(attr, var.section, names.claim(f"{base}{camel(attr)}"), readonly)
            sections[var.section] = sec
        vtype = _maybe_type(mapper, var.type_id) if mapper is not None else None
        c_type = btf.type_name(var.type_id) if btf is not None and var.type_id else "?"
        vtaken = {v.attr for v in sec.vars} | {"_globals"}
        sec.vars.append(VarDef(_attr(names, vname, vtaken), vname, vtype, var.size, c_type))

    types: list[RecordDef | EnumDef] = list(mapper.order) if mapper is not None else []
    return SkeletonModel(
        name=name,
        class_name=class_name,
        elf=data,
        sha256=hashlib.sha256(data).hexdigest(),
        maps=maps,
        progs=progs,
        sections=list(sections.values()),
        types=types,
        event=event,
        maps_class=maps_class,
        progs_class=progs_class,
    )
