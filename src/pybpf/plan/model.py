"""The plan's plain data: what to create in the kernel, in which order, with what.

A :class:`LoadPlan` is made by :func:`pybpf.plan.plan_object` without syscalls and
applied by :func:`pybpf.loader.load.execute`. File descriptors do not exist when it
is made: instructions carry zero where an fd goes and a :class:`Patch` says which.
The user's settings made before load (``autoload``, ``max_entries``, ``.rodata``
values...) come in as :class:`ObjectSettings`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pybpf._dataclass import dataclass, field

if TYPE_CHECKING:
    from pybpf.asm.insn import Instruction
    from pybpf.elf.maps import MapKind
    from pybpf.elf.sections import SectionInfo
    from pybpf.kernel.ksyms import KsymResolution
    from pybpf.plan.linker import LinkedProgram

__all__ = [
    "LoadPlan",
    "MapPlan",
    "MapSettings",
    "ObjectSettings",
    "Patch",
    "ProgramPlan",
    "ProgramSettings",
    "StructOpsPlan",
]


# -- input: the user's settings -----------------------------------------------------------


@dataclass
class MapSettings:
    """A map's settings as the user left them before load (``obj.maps[name]``)."""

    max_entries: int
    flags: int
    key_size: int
    value_size: int
    autocreate: bool = True
    pin_path: str | None = None


@dataclass
class ProgramSettings:
    """A program's settings as the user left them before load (``obj.programs[name]``)."""

    prog_type: int
    expected_attach_type: int | None
    attach_target: str | None
    autoload: bool = True
    flags: int = 0
    log_level: int = 0
    log_size: int | None = None
    attach_btf_id: int = 0
    #: instructions edited through ``prog.instructions`` (None: the object's own)
    instructions: list[Instruction] | None = None
    #: the kernel module whose BTF holds attach_btf_id (None: vmlinux)
    attach_btf_module: str | None = None


@dataclass
class ObjectSettings:
    """Everything the user set on an opened object that the plan depends on."""

    name: str
    maps: dict[str, MapSettings] = field(default_factory=dict)
    programs: dict[str, ProgramSettings] = field(default_factory=dict)
    #: data section → its initial image as edited through ``obj.globals``
    images: dict[str, bytes] = field(default_factory=dict)
    #: ``kconfig=`` overrides of ``CONFIG_*`` values
    kconfig: dict[str, Any] = field(default_factory=dict)
    log_level: int = 0


# -- output: the plan ------------------------------------------------------------------------


@dataclass(frozen=True)
class Patch:
    """An fd the executor writes into an instruction once it exists.

    ``ref`` is ``("map", name)`` or ``("module_btf", module)``. ``how``: ``"imm64"``
    puts ``fd | offset << 32`` in the ld_imm64 at ``slot`` with source register
    ``src``; ``"kfunc"`` puts the fd's index in the program's ``fd_array`` into the
    call's offset field.
    """

    slot: int
    ref: tuple[str, str]
    how: str = "imm64"
    src: int = 0
    offset: int = 0


@dataclass(frozen=True)
class StructOpsPlan:
    """A struct_ops map's value in the kernel's ``struct bpf_struct_ops_T`` layout.

    Registered after its programs load: their fds go at ``slots`` (byte offset,
    program); ``members`` are (program, member index), the index being the
    program's expected attach type.
    """

    type_name: str
    value: bytes
    slots: tuple[tuple[int, str], ...]
    wrapper_id: int  # struct bpf_struct_ops_T in the kernel's BTF
    type_id: int  # struct T
    module: str | None  # the module whose BTF holds them (None: vmlinux)
    members: tuple[tuple[str, int], ...] = ()


@dataclass
class MapPlan:
    """One map to create (or reuse from its pin), then fill, freeze and mmap."""

    name: str
    kind: MapKind
    #: ``sys.maps.map_create`` arguments but fds: map_type, key_size, value_size,
    #: max_entries, flags, name (the kernel's), numa_node, map_extra
    create: dict[str, Any]
    section: str = ""
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0
    #: the kernel creates this map type only with BTF key/value types (local storages)
    needs_btf: bool = False
    inner: MapPlan | None = None
    #: the data map's initial image (None: zeroes)
    initial: bytes | None = None
    freeze: bool = False
    mmap: bool = False
    #: reuse or pin at pin_root/pin_dir/name (``pinning``), or at ``pin_path``
    pinning: int = 0
    pin_dir: str = ""
    pin_path: str | None = None
    #: prog-array and map-in-map slots: (slot, "prog" or "map", target name)
    slots: tuple[tuple[int, str, str], ...] = ()
    struct_ops: StructOpsPlan | None = None


@dataclass
class ProgramPlan:
    """One program to load: final instructions but fds, and its load attributes."""

    name: str
    section: str
    sec: SectionInfo | None
    prog_type: int
    expected_attach_type: int | None
    attach_target: str | None
    code: bytearray
    patches: list[Patch] = field(default_factory=list)
    #: module BTFs of kfunc calls, by fd_array index (index 0 is vmlinux)
    fd_array: list[str] = field(default_factory=list)
    license: str = ""
    kern_version: int = 0
    flags: int = 0
    log_level: int = 0
    log_size: int | None = None
    #: .BTF.ext func/line info, sent only with the object's BTF loaded
    func_info: bytes = b""
    line_info: bytes = b""
    attach_btf_id: int = 0
    #: the kernel module whose BTF holds attach_btf_id (None: vmlinux)
    attach_btf_module: str | None = None
    #: freplace: attach_btf_id is found in the target program's BTF at load
    freplace: bool = False
    #: CO-RE results per linked function
    core: dict[str, list[Any]] = field(default_factory=dict)
    linked: LinkedProgram | None = None


@dataclass
class LoadPlan:
    """Everything a load does, in order: BTF, maps, programs, slots, freeze, mmap."""

    name: str
    #: the object's BTF sanitized for the kernel (None: no BTF to load)
    btf: bytes | None = None
    #: why the object loads without BTF although it has some (None: it does not)
    btf_skip: str | None = None
    #: some map cannot exist without the object's BTF
    btf_required: bool = False
    maps: dict[str, MapPlan] = field(default_factory=dict)
    programs: dict[str, ProgramPlan] = field(default_factory=dict)
    #: the ``.ksyms`` externs the loaded programs use, resolved
    ksyms: dict[str, KsymResolution] = field(default_factory=dict)
    #: CO-RE results by function
    core: dict[str, list[Any]] = field(default_factory=dict)
