"""``ObjectSpec``: everything a BPF ELF object says, as frozen data (no syscalls).

Reading an object yields its license and kernel version, its BTF (DATASECs fixed
up as libbpf does) and ``.BTF.ext``, its programs and subprograms (with
relocations and per-function BTF.ext records), maps (legacy, BTF-defined, global
data, kconfig, struct_ops), global variables and externs. The loader turns this
into kernel objects; ``pybpf inspect`` prints it.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pybpf._dataclass import dataclass, replace
from pybpf.elf.externs import ExternSpec, collect_externs
from pybpf.elf.globals import (
    VariableSpec,
    check_data_sections,
    data_maps,
    kconfig_map,
    variables,
)
from pybpf.elf.maps import (
    LEGACY_MAPS_SEC,
    MAPS_SEC,
    MapKind,
    MapSpec,
    btf_maps,
    by_name,
    legacy_maps,
    struct_ops_maps,
)
from pybpf.elf.programs import TEXT_SEC, Function, ProgramSpec, split_functions
from pybpf.elf.reader import ElfObject, Section
from pybpf.elf.relocs import INSN_SIZE, ProgRelocation, RelocContext, RelocKind, program_relocations
from pybpf.elf.sections import SectionInfo, match_section
from pybpf.errors import ObjectError
from pybpf.uapi.enums import ProgType

if TYPE_CHECKING:
    from pybpf.btf.ext import BTFExt
    from pybpf.btf.reader import BTF

__all__ = [
    "ExternSpec",
    "MapKind",
    "MapSpec",
    "ObjectSpec",
    "ProgRelocation",
    "ProgramSpec",
    "RelocKind",
    "SectionInfo",
    "VariableSpec",
]

LICENSE_SEC = "license"
VERSION_SEC = "version"
BTF_SEC = ".BTF"
BTF_EXT_SEC = ".BTF.ext"


def object_name(path: str | None) -> str:
    """The object's short name as libbpf forms it: basename up to the first dot."""
    if not path:
        return "obj"
    base = Path(path).name
    return base.split(".", 1)[0] or base


@dataclass(frozen=True)
class ObjectSpec:
    """A parsed BPF object: immutable, deterministic, independent of the running kernel.

    Example::

        spec = pybpf.open("bootstrap.bpf.o").spec
        print(list(spec.programs), list(spec.maps), spec.license)
    """

    file: str | None
    name: str
    license: str
    kern_version: int | None
    btf: BTF | None
    btf_ext: BTFExt | None
    elf: ElfObject
    sections: tuple[Section, ...]
    programs: Mapping[str, ProgramSpec]
    subprograms: Mapping[str, ProgramSpec]
    maps: Mapping[str, MapSpec]
    variables: Mapping[str, VariableSpec]
    externs: Mapping[str, ExternSpec]
    core_relo_count: int

    # -- construction ---------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path, *, name: str | None = None) -> ObjectSpec:
        """Read and parse the object at ``path``."""
        file = str(path)
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ObjectError(f"cannot read object: {exc.strerror or exc}", file=file) from exc
        return cls.from_bytes(data, name=name, file=file)

    @classmethod
    def from_bytes(
        cls, data: bytes, *, name: str | None = None, file: str | None = None
    ) -> ObjectSpec:
        """Parse an object from memory; every problem is an :class:`ObjectError`."""
        try:
            return _build(bytes(data), name or object_name(file), file)
        except ObjectError as exc:
            raise exc.with_file(file) from exc.__cause__
        except (
            struct.error,
            IndexError,
            KeyError,
            ValueError,
            TypeError,
            OverflowError,
            RecursionError,
            UnicodeError,
            AssertionError,
        ) as exc:
            raise ObjectError(
                f"malformed object (unexpected {type(exc).__name__}: {exc})",
                file=file,
                unexpected=True,
            ) from exc

    # -- queries ----------------------------------------------------------------

    def function(self, name: str) -> ProgramSpec:
        """A program or subprogram by name (KeyError if there is none)."""
        found = self.programs.get(name) or self.subprograms.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def function_at(self, section_index: int, insn_index: int) -> ProgramSpec | None:
        """The program or subprogram starting at instruction ``insn_index`` of a section."""
        for p in (*self.programs.values(), *self.subprograms.values()):
            if p.section_index == section_index and p.insn_offset == insn_index:
                return p
        return None

    def type_name(self, type_id: int) -> str:
        """A readable name of an object BTF type id ('' without BTF or for id 0)."""
        if self.btf is None or not type_id:
            return ""
        return self.btf.type_name(type_id)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description with stable keys (what ``pybpf inspect --json`` prints)."""
        from pybpf.elf.summary import summarize

        return summarize(self)

    def __repr__(self) -> str:
        return (
            f"<ObjectSpec {self.file or self.name}: {len(self.programs)} programs, "
            f"{len(self.maps)} maps>"
        )


# ------------------------------------------------------------------ building


def _license(elf: ElfObject) -> str:
    sec = elf.section(LICENSE_SEC)
    if sec is None:
        return ""
    return sec.data.split(b"\0", 1)[0].decode("utf-8", "replace")


def _kern_version(elf: ElfObject) -> int | None:
    sec = elf.section(VERSION_SEC)
    if sec is None:
        return None
    if sec.size != 4 or len(sec.data) != 4:
        raise ObjectError(
            f"invalid size {sec.size} of the version section (must be 4: a u32 LINUX_VERSION_CODE)",
            file=elf.file,
            section=sec.name,
        )
    return int(struct.unpack("<I", sec.data)[0])


def _btf(elf: ElfObject) -> tuple[BTF | None, bytes | None]:
    sec = elf.section(BTF_SEC)
    ext = elf.section(BTF_EXT_SEC)
    if sec is None:
        return None, None
    from pybpf.btf.reader import BTF

    btf = BTF.from_bytes(sec.data, name=BTF_SEC)
    return btf, (ext.data if ext is not None else None)


def _ext_records(
    ext: BTFExt | None, func: Function
) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]:
    """The .BTF.ext records of one function, rebased to its first instruction."""
    if ext is None:
        return (), (), ()
    name, lo, hi = func.section.name, func.offset, func.offset + func.size

    def pick(recs: Mapping[str, tuple[Any, ...]]) -> tuple[Any, ...]:
        return tuple(
            replace(r, insn_off=r.insn_off - lo)
            for r in recs.get(name, ())
            if lo <= r.insn_off < hi
        )

    return pick(ext.func_info), pick(ext.line_info), pick(ext.core_relos)


def _distinct_static_names(functions: list[Function]) -> list[Function]:
    """Static subprograms of one name (each object linked into this one had its own)
    are told apart by offset, as libbpf does: later ones are named ``name@0xOFFSET``."""
    seen: set[str] = set()
    out: list[Function] = []
    for f in functions:
        if f.name in seen and not f.is_global and f.section.name == TEXT_SEC:
            f = replace(f, name=f"{f.name}@{f.offset:#x}")
        seen.add(f.name)
        out.append(f)
    return out


def _build(data: bytes, name: str, file: str | None) -> ObjectSpec:
    elf = ElfObject.from_bytes(data, file=file)
    check_data_sections(elf)
    license_ = _license(elf)
    kern_version = _kern_version(elf)
    raw_btf, ext_data = _btf(elf)
    externs = collect_externs(elf, raw_btf)
    btf: BTF | None = None
    btf_ext: BTFExt | None = None
    if raw_btf is not None:
        from pybpf.elf.btffix import fixup_btf

        btf = fixup_btf(elf, raw_btf, externs)
        if ext_data is not None:
            from pybpf.btf.ext import BTFExt

            btf_ext = BTFExt.from_bytes(ext_data, btf, section=BTF_EXT_SEC)

    functions = _distinct_static_names(split_functions(elf))
    func_at: dict[tuple[int, int], Function] = {
        (f.section.index, f.offset // INSN_SIZE): f for f in functions
    }
    func_by_offset = {(f.section.index, f.offset): f.name for f in functions}

    def program_at(section_index: int, offset: int) -> str | None:
        return func_by_offset.get((section_index, offset))

    def function_at(section_index: int, insn: int) -> str | None:
        f = func_at.get((section_index, insn))
        return f.name if f is not None else None

    # maps
    legacy = legacy_maps(elf, data)
    defined = btf_maps(elf, btf)
    data_list = data_maps(elf, btf)
    kcfg = kconfig_map(btf, externs)
    ops = struct_ops_maps(elf, btf, program_at)
    all_maps = [*legacy, *defined, *data_list, *([kcfg] if kcfg else []), *ops]
    maps = by_name(all_maps, file)

    map_at: dict[tuple[int, int], str] = {}
    map_secs: set[int] = set()
    for sec_name, group in ((LEGACY_MAPS_SEC, legacy), (MAPS_SEC, defined)):
        sec = elf.section(sec_name)
        if sec is not None:
            map_secs.add(sec.index)
            for m in group:
                map_at[(sec.index, m.offset)] = m.name
    data_secs = {
        s.index: s.name for s in elf.sections if any(m.section == s.name for m in data_list)
    }
    ctx = RelocContext(elf, map_at, frozenset(map_secs), data_secs, externs, function_at)

    programs: dict[str, ProgramSpec] = {}
    subprograms: dict[str, ProgramSpec] = {}
    infos: dict[int, SectionInfo] = {}
    for f in functions:
        sec = f.section
        is_sub = sec.name == TEXT_SEC
        info: SectionInfo | None = None
        if not is_sub:
            info = infos.get(sec.index)
            if info is None:
                info = infos[sec.index] = match_section(sec.name, file=file)
        relocs = program_relocations(ctx, sec, f.name, f.offset, f.size)
        fi, li, cr = _ext_records(btf_ext, f)
        spec = ProgramSpec(
            name=f.name,
            section=sec.name,
            section_index=sec.index,
            offset=f.offset,
            insns=sec.data[f.offset : f.offset + f.size],
            sec=info,
            prog_type=info.prog_type if info else ProgType.UNSPEC,
            expected_attach_type=info.expected_attach_type if info else None,
            attach_target=info.attach_target if info else None,
            is_subprog=is_sub,
            is_global=f.is_global,
            relocations=relocs,
            func_info=fi,
            line_info=li,
            core_relos=cr,
            symbol_index=f.symbol_index,
        )
        if f.name in programs or f.name in subprograms:
            raise ObjectError(f"two functions are called {f.name!r}", file=file, section=sec.name)
        (subprograms if is_sub else programs)[f.name] = spec

    core_count = sum(len(v) for v in btf_ext.core_relos.values()) if btf_ext else 0
    return ObjectSpec(
        file=file,
        name=name,
        license=license_,
        kern_version=kern_version,
        btf=btf,
        btf_ext=btf_ext,
        elf=elf,
        sections=elf.sections,
        programs=MappingProxyType(programs),
        subprograms=MappingProxyType(subprograms),
        maps=MappingProxyType(dict(maps)),
        variables=MappingProxyType(dict(variables(elf, btf))),
        externs=externs,
        core_relo_count=core_count,
    )
