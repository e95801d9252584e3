"""Global data: ``.data``/``.rodata``/``.bss`` (and their ``.*`` variants) as maps and variables.

Each data section becomes one single-element ARRAY map named after the section,
holding the section's initial bytes (zeros for ``.bss``); ``.rodata`` is
read-only to programs and sections with non-static variables are mmapable, as
with libbpf. Variables come from the BTF DATASEC of the section, or from the
symbol table when the object has no BTF.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pybpf._dataclass import dataclass
from pybpf.btf.types import Datasec, Kind, Var, VarLinkage
from pybpf.elf.externs import KCONFIG_SEC, ExternSpec, kconfig_size
from pybpf.elf.maps import MapKind, MapSpec
from pybpf.elf.reader import SectionType, SymbolBind, SymbolType, SymbolVisibility
from pybpf.errors import ObjectError
from pybpf.uapi.enums import MapFlags, MapType

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF
    from pybpf.elf.reader import ElfObject, Section

__all__ = [
    "VariableSpec",
    "check_data_sections",
    "data_kind",
    "data_maps",
    "kconfig_map",
    "variables",
]


@dataclass(frozen=True, slots=True)
class VariableSpec:
    """A global variable: where it lives (section, byte offset) and its BTF type (0 if none)."""

    name: str
    section: str
    offset: int
    size: int
    type_id: int
    is_global: bool
    is_const: bool


def data_kind(sec: Section) -> MapKind | None:
    """The kind of global-data map a section becomes, or None if it is not global data."""
    name = sec.name
    if sec.size == 0:
        return None
    if sec.type == SectionType.PROGBITS:
        if name == ".data" or name.startswith(".data."):
            return MapKind.DATA
        if name == ".rodata" or name.startswith(".rodata."):
            return MapKind.RODATA
    if sec.type == SectionType.NOBITS and (name == ".bss" or name.startswith(".bss.")):
        return MapKind.BSS
    return None


def _datasecs(btf: BTF | None) -> dict[str, tuple[int, Datasec]]:
    out: dict[str, tuple[int, Datasec]] = {}
    if btf is not None:
        for tid, t in btf.of_kind(Kind.DATASEC):
            if isinstance(t, Datasec):
                out.setdefault(t.name, (tid, t))
    return out


# The kernel refuses array maps whose one element reaches U32_MAX - PAGE_SIZE bytes
# (array_map_alloc: "make sure there is no u32 overflow later in round_up()").
MAX_DATA_SIZE = 0xFFFFFFFF - 4096


def check_data_sections(elf: ElfObject) -> None:
    """Refuse global-data sections too large for any kernel, before anything reads them."""
    for sec in elf.sections:
        if data_kind(sec) is not None:
            _check_data_size(sec.size, "the section", elf.file, sec.name)


def _check_data_size(size: int, what: str, file: str | None, section: str) -> None:
    if size >= MAX_DATA_SIZE:
        raise ObjectError(
            f"{what} is {size:#x} bytes, more than a BPF array map can hold "
            f"(the kernel's limit is under {MAX_DATA_SIZE:#x}); the object is corrupt "
            "or declares an impossibly large global",
            file=file,
            section=section,
        )


def data_maps(elf: ElfObject, btf: BTF | None) -> list[MapSpec]:
    """One ARRAY map per global-data section, in section order.

    ``.bss`` maps carry no bytes (``data == b""``): their zeros are made when
    first used, so a huge ``.bss`` costs nothing until load.
    """
    secs = _datasecs(btf)
    out: list[MapSpec] = []
    for sec in elf.sections:
        kind = data_kind(sec)
        if kind is None:
            continue
        _check_data_size(sec.size, "the section", elf.file, sec.name)
        flags = int(MapFlags.RDONLY_PROG) if kind is MapKind.RODATA else 0
        value_type_id = 0
        found = secs.get(sec.name)
        if found is not None and btf is not None:
            value_type_id = found[0]
            for vs in found[1].vars:
                v = btf.type(vs.type)
                if isinstance(v, Var) and v.linkage != VarLinkage.STATIC:
                    flags |= int(MapFlags.MMAPABLE)
                    break
        out.append(
            MapSpec(
                name=sec.name,
                type=MapType.ARRAY,
                key_size=4,
                value_size=sec.size,
                max_entries=1,
                flags=flags,
                value_type_id=value_type_id,
                section=sec.name,
                kind=kind,
                data=b"" if sec.is_nobits else sec.data,
            )
        )
    return out


def kconfig_map(btf: BTF | None, externs: Mapping[str, ExternSpec]) -> MapSpec | None:
    """The read-only ``.kconfig`` map holding kconfig extern values, if any are used."""
    size = kconfig_size(externs)
    if not size:
        return None
    _check_data_size(size, "the .kconfig map (from its externs' BTF sizes)", None, KCONFIG_SEC)
    found = _datasecs(btf).get(KCONFIG_SEC)
    return MapSpec(
        name=KCONFIG_SEC,
        type=MapType.ARRAY,
        key_size=4,
        value_size=size,
        max_entries=1,
        flags=int(MapFlags.RDONLY_PROG | MapFlags.MMAPABLE),
        value_type_id=found[0] if found else 0,
        section=KCONFIG_SEC,
        kind=MapKind.KCONFIG,
        data=b"",  # filled in at load from the running kernel's config
    )


def variables(elf: ElfObject, btf: BTF | None) -> Mapping[str, VariableSpec]:
    """Every variable of every global-data section, keyed by name, in section/offset order."""
    secs = _datasecs(btf)
    found: list[VariableSpec] = []
    for sec in elf.sections:
        kind = data_kind(sec)
        if kind is None:
            continue
        const = kind is MapKind.RODATA
        ds = secs.get(sec.name)
        if ds is not None and btf is not None:
            for vs in ds[1].vars:
                v = btf.type(vs.type)
                if not isinstance(v, Var):
                    continue
                found.append(
                    VariableSpec(
                        v.name,
                        sec.name,
                        vs.offset,
                        vs.size,
                        v.type,
                        v.linkage == VarLinkage.GLOBAL_ALLOCATED,
                        const,
                    )
                )
            continue
        for sym in sorted(elf.symbols_in(sec.index), key=lambda s: (s.value, s.index)):
            if sym.type != SymbolType.OBJECT or not sym.name or sym.name.startswith(".L"):
                continue
            glob = sym.bind in (SymbolBind.GLOBAL, SymbolBind.WEAK) and sym.visibility in (
                SymbolVisibility.DEFAULT,
                SymbolVisibility.PROTECTED,
            )
            found.append(VariableSpec(sym.name, sec.name, sym.value, sym.size, 0, glob, const))
    out: dict[str, VariableSpec] = {}
    for var in found:
        prev = out.get(var.name)
        if prev is not None and not (prev.is_global and var.is_global):
            # statics of objects linked into one: the global (else the first) keeps the name
            later, out[var.name] = (prev, var) if var.is_global else (var, prev)
            out[f"{later.name}@{later.section}+{later.offset:#x}"] = later
            continue
        if prev is not None:
            raise ObjectError(
                f"two global variables are called {var.name!r} "
                f"(in {out[var.name].section!r} and {var.section!r})",
                file=elf.file,
                section=var.section,
            )
        out[var.name] = var
    return out
