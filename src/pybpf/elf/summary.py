"""A JSON-ready description of an :class:`ObjectSpec` with stable keys (for ``inspect``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pybpf.elf.reader import SectionType

if TYPE_CHECKING:
    from pybpf.elf.maps import MapSpec
    from pybpf.elf.programs import ProgramSpec
    from pybpf.elf.spec import ObjectSpec

__all__ = ["section_flags", "section_type", "summarize"]

# readelf's flag letters, in readelf's order
_FLAG_LETTERS = (
    (0x1, "W"),
    (0x2, "A"),
    (0x4, "X"),
    (0x10, "M"),
    (0x20, "S"),
    (0x40, "I"),
    (0x80, "L"),
    (0x100, "O"),
    (0x200, "G"),
    (0x400, "T"),
    (0x800, "C"),
    (0x80000000, "E"),
    (0x100000, "R"),
)


def section_flags(flags: int) -> str:
    """Section flags as readelf's letters (``"WA"``, ``"AX"``, ...)."""
    return "".join(letter for bit, letter in _FLAG_LETTERS if flags & bit)


def section_type(stype: int) -> str:
    """Section type name (``PROGBITS``, ``REL``, ...) or its hex value."""
    try:
        return SectionType(stype).name
    except ValueError:
        return f"{stype:#x}"


def _enum_name(value: Any) -> str | None:
    return None if value is None else str(value.name).lower()


def _program(spec: ObjectSpec, p: ProgramSpec) -> dict[str, Any]:
    sec = p.sec
    return {
        "name": p.name,
        "section": p.section,
        "type": _enum_name(p.prog_type),
        "expected_attach_type": _enum_name(p.expected_attach_type),
        "attach_target": p.attach_target,
        "attach_kind": sec.kind.value if sec else None,
        "auto_attach": sec.auto_attach if sec else False,
        "sleepable": p.sleepable,
        "insns": p.insn_count,
        "offset": p.offset,
        "global": p.is_global,
        "subprog": p.is_subprog,
        "relocations": len(p.relocations),
        "core_relocations": len(p.core_relos),
    }


def _map(spec: ObjectSpec, m: MapSpec) -> dict[str, Any]:
    return {
        "name": m.name,
        "type": _enum_name(m.type),
        "kind": m.kind.value,
        "section": m.section,
        "key_size": m.key_size,
        "value_size": m.value_size,
        "key_type": spec.type_name(m.key_type_id) or None,
        "value_type": spec.type_name(m.value_type_id) or None,
        "max_entries": m.max_entries,
        "flags": m.flags,
        "numa_node": m.numa_node,
        "map_extra": m.map_extra,
        "legacy": m.legacy,
        "pinning": "by_name" if m.pinning else "none",
        "inner": _map(spec, m.inner) if m.inner is not None else None,
        "values": {str(slot): sym for slot, sym in m.values},
        "struct_ops": dict(m.func_members) if m.kind.value == "struct_ops" else None,
    }


def summarize(spec: ObjectSpec) -> dict[str, Any]:
    """Everything ``pybpf inspect`` shows, as plain JSON-able values."""
    return {
        "file": spec.file,
        "name": spec.name,
        "license": spec.license,
        "kern_version": spec.kern_version,
        "btf": spec.btf is not None,
        "btf_ext": spec.btf_ext is not None,
        "sections": [
            {
                "index": s.index,
                "name": s.name,
                "type": section_type(s.type),
                "size": s.size,
                "flags": section_flags(s.flags),
            }
            for s in spec.sections
            if s.index
        ],
        "programs": [_program(spec, p) for p in spec.programs.values()],
        "subprograms": [_program(spec, p) for p in spec.subprograms.values()],
        "maps": [_map(spec, m) for m in spec.maps.values()],
        "variables": [
            {
                "name": v.name,
                "section": v.section,
                "offset": v.offset,
                "size": v.size,
                "type": spec.type_name(v.type_id) or None,
                "global": v.is_global,
                "const": v.is_const,
            }
            for v in spec.variables.values()
        ],
        "externs": [
            {
                "name": e.name,
                "kind": e.kind.value,
                "type": spec.type_name(e.type_id) or None,
                "weak": e.is_weak,
                "func": e.is_func,
                "size": e.size,
                "offset": e.offset,
            }
            for e in spec.externs.values()
        ],
        "core_relocations": spec.core_relo_count,
    }
