"""``plan_object``: an ObjectSpec, the user's settings and KernelFacts → a LoadPlan (pure).

Everything of a load that does not need a file descriptor is decided here: the
object's BTF as this kernel accepts it, each map's create attributes and initial
contents, struct_ops values, each program linked with its subprograms, CO-RE
relocated against the target's BTF, with externs (kconfig, ksyms, kfuncs) and
attach BTF ids resolved. What needs fds (map references, module BTF objects) is
left as :class:`pybpf.plan.model.Patch` entries for the executor.

Example (no root needed)::

    from pybpf.plan import KernelFacts, plan_object
    plan = plan_object(ObjectSpec.from_file("x.bpf.o"), KernelFacts.from_btf(vmlinux_path))
    print(plan.programs["handle_exec"].code.hex())
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from pybpf._dataclass import dataclass, replace
from pybpf.elf.maps import MapKind
from pybpf.errors import (
    BPFError,
    CoreRelocationError,
    ExternError,
    NotSupportedError,
    ObjectError,
    RelocationError,
)
from pybpf.plan.linker import INSN, LinkedProgram, link_program, set_imm64, set_insn
from pybpf.plan.model import (
    LoadPlan,
    MapPlan,
    MapSettings,
    ObjectSettings,
    Patch,
    ProgramPlan,
    ProgramSettings,
    StructOpsPlan,
)
from pybpf.uapi.enums import AttachType, MapFlags, MapType, ProgFlags, ProgType

if TYPE_CHECKING:
    from pybpf.btf.core import CoreResolver
    from pybpf.btf.reader import BTF
    from pybpf.elf.maps import MapSpec
    from pybpf.elf.programs import ProgramSpec
    from pybpf.elf.spec import ObjectSpec
    from pybpf.kernel.ksyms import KsymResolution
    from pybpf.plan.corecache import CoreCache
    from pybpf.plan.facts import KernelFacts

__all__ = ["plan_object", "settings_for"]

PSEUDO_MAP_FD = 1
PSEUDO_MAP_VALUE = 2
PSEUDO_BTF_ID = 3
PSEUDO_KFUNC_CALL = 2
POISON_KFUNC_BASE = 2002000000  # libbpf's marker for a missing weak kfunc
_PAGE = os.sysconf("SC_PAGE_SIZE")
_STRUCT_OPS_PREFIX = "bpf_struct_ops_"

# Map types the kernel creates only with BTF key/value types (local storages).
BTF_TYPED_MAPS = frozenset(
    {MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE, MapType.CGRP_STORAGE}
)


def settings_for(spec: ObjectSpec, name: str | None = None) -> ObjectSettings:
    """The settings of ``spec`` as an untouched opened object has them."""
    maps = {
        n: MapSettings(ms.max_entries, ms.flags, ms.key_size, ms.value_size)
        for n, ms in spec.maps.items()
    }
    progs = {
        n: ProgramSettings(ps.prog_type, ps.expected_attach_type, ps.attach_target)
        for n, ps in spec.programs.items()
    }
    images = {ms.section: ms.data for ms in spec.maps.values() if ms.is_data and ms.data}
    if name is None:
        from pybpf.elf.spec import object_name

        name = object_name(str(spec.file or "object"))
    return ObjectSettings(name, maps, progs, images)


def plan_object(
    spec: ObjectSpec, facts: KernelFacts, settings: ObjectSettings | None = None
) -> LoadPlan:
    """The load plan of ``spec`` on the kernel ``facts`` describe (see module docstring)."""
    settings = settings or settings_for(spec)
    plan = LoadPlan(settings.name)
    _plan_btf(plan, spec, facts)
    kconfig = _kconfig_image(spec, facts, settings)
    for name, ms in spec.maps.items():
        ms_set = settings.maps.get(name) or MapSettings(
            ms.max_entries, ms.flags, ms.key_size, ms.value_size
        )
        if not ms_set.autocreate:
            continue
        image = kconfig if ms.section == ".kconfig" and kconfig is not None else None
        if image is None and ms.is_data:
            image = settings.images.get(ms.section)
        plan.maps[name] = _plan_map(spec, ms, ms_set, facts, settings.name, image)
    progs = {n: replace(p) for n, p in settings.programs.items()}
    for name, mp in plan.maps.items():
        if mp.struct_ops is not None:
            _bind_struct_ops(spec, spec.maps[name], mp.struct_ops, progs)
    _plan_programs(plan, spec, facts, settings, progs)
    return plan


# -- BTF ---------------------------------------------------------------------------------------


def _plan_btf(plan: LoadPlan, spec: ObjectSpec, facts: KernelFacts) -> None:
    plan.btf_required = any(
        ms.kind is MapKind.STRUCT_OPS or ms.type in BTF_TYPED_MAPS for ms in spec.maps.values()
    )
    if spec.btf is None:
        return
    if not facts.has("btf"):
        if plan.btf_required:
            raise NotSupportedError("BTF", "this object's maps need kernel BTF support")
        plan.btf_skip = "the kernel has no BTF support"
        return
    from pybpf.plan.btf_sanitize import sanitize_btf

    plan.btf = sanitize_btf(spec.btf, facts.btf_kinds)


# -- externs: .kconfig ---------------------------------------------------------------------


def _kconfig_image(spec: ObjectSpec, facts: KernelFacts, settings: ObjectSettings) -> bytes | None:
    """The ``.kconfig`` map's contents (user overrides win over the kernel's config)."""
    from pybpf.elf.externs import ExternKind

    externs = [e for e in spec.externs.values() if e.kind is ExternKind.KCONFIG]
    ms = next((m for m in spec.maps.values() if m.section == ".kconfig"), None)
    if not externs or ms is None:
        return None
    from pybpf.kernel.kconfig import fill_kconfig

    if spec.btf is None:
        raise ExternError(".kconfig externs need the object's BTF", file=spec.file)
    config: Any = None
    if any(e.name.startswith("CONFIG_") for e in externs):
        config = dict(facts.kconfig or {})
        for k, v in settings.kconfig.items():
            config[k] = v if isinstance(v, str) else str(v)
    names = {e.name for e in externs}
    return fill_kconfig(
        spec.btf,
        externs,
        ms.value_size,
        config=config,
        kernel_version=facts.kernel_version if "LINUX_KERNEL_VERSION" in names else None,
        has_bpf_cookie="LINUX_HAS_BPF_COOKIE" in names and facts.has("bpf_cookie"),
        has_syscall_wrapper="LINUX_HAS_SYSCALL_WRAPPER" in names and facts.has("syscall_wrapper"),
    )


# -- maps ------------------------------------------------------------------------------------


def internal_name(obj_name: str, ms: MapSpec) -> str:
    """libbpf's kernel name for a global-data map: object prefix + section name."""
    if not ms.is_data:
        return ms.name
    sec = ms.section
    pfx = obj_name[: min(8, 15 - len(sec))] if len(sec) < 15 else ""
    return (pfx + sec)[:15]


def _plan_map(
    spec: ObjectSpec,
    ms: MapSpec,
    user: MapSettings,
    facts: KernelFacts,
    obj_name: str,
    image: bytes | None,
) -> MapPlan:
    if ms.kind is MapKind.STRUCT_OPS:
        return _plan_struct_ops(spec, ms, user, facts)
    mtype = ms.type
    max_entries, flags = user.max_entries, user.flags
    if mtype == MapType.PERF_EVENT_ARRAY and max_entries == 0:
        # the kernel refuses 0 entries (array_map_alloc_check); one slot per possible CPU
        # is what bpf_perf_event_output(BPF_F_CURRENT_CPU) indexes (libbpf does the same)
        max_entries = facts.possible_cpus
    if mtype in (MapType.RINGBUF, MapType.USER_RINGBUF):
        # a power-of-two multiple of the page size: ringbuf_map_alloc() answers EINVAL
        # otherwise (kernel/bpf/ringbuf.c, 5.8; libbpf rounds up the same way)
        size = max(max_entries, _PAGE)
        max_entries = 1 << (size - 1).bit_length()
    data = ms.is_data
    if data:
        # global data is mmap()ed for Object.globals: BPF_F_MMAPABLE arrays exist since
        # 5.5 (commit fc9702273e2e); before, globals are read-only from Python after load
        if facts.has("mmapable_array"):
            flags |= MapFlags.MMAPABLE
        # .rodata is read-only to programs (BPF_F_RDONLY_PROG, Linux 5.2): once frozen,
        # the verifier reads its values as known constants and prunes dead branches
        if ms.is_readonly:
            flags |= MapFlags.RDONLY_PROG
    key_id = value_id = 0
    if ms.key_type_id or ms.value_type_id or ms.btf_var_id:
        if data:  # global data maps carry their DATASEC as value type
            value_id = ms.value_type_id
        elif mtype not in (MapType.PERF_EVENT_ARRAY, MapType.RINGBUF, MapType.USER_RINGBUF):
            key_id, value_id = ms.key_type_id, ms.value_type_id
    inner = None
    if ms.inner is not None:
        isettings = MapSettings(
            ms.inner.max_entries, ms.inner.flags, ms.inner.key_size, ms.inner.value_size
        )
        inner = _plan_map(spec, ms.inner, isettings, facts, obj_name, None)
    value_size = user.value_size
    return MapPlan(
        name=ms.name,
        kind=ms.kind,
        create={
            "map_type": mtype,
            "key_size": user.key_size,
            "value_size": value_size,
            "max_entries": max_entries,
            "flags": flags,
            "name": internal_name(obj_name, ms),
            "numa_node": ms.numa_node,
            "map_extra": ms.map_extra,
        },
        section=ms.section,
        btf_key_type_id=key_id,
        btf_value_type_id=value_id,
        needs_btf=mtype in BTF_TYPED_MAPS,
        inner=inner,
        initial=image if data and image is not None and any(image) else None,
        freeze=data and ms.is_readonly,
        mmap=data and bool(flags & MapFlags.MMAPABLE) and value_size > 0,
        pinning=ms.pinning,
        pin_dir=ms.pin_dir,
        pin_path=user.pin_path,
        slots=tuple(
            (slot, "prog" if mtype == MapType.PROG_ARRAY else "map", target)
            for slot, target in ms.values
        ),
    )


# -- struct_ops ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _KernelType:
    btf: BTF
    btf_name: str  # "vmlinux" or the module
    wrapper_id: int  # struct bpf_struct_ops_T
    type_id: int  # struct T
    data_offset: int  # byte offset of .data in the wrapper


def _find_in(vmlinux: BTF, btf_name: str, btf: BTF, want: str) -> _KernelType | None:
    from pybpf.btf import Kind, Struct

    for wid in btf.find(want, Kind.STRUCT):
        if btf_name != "vmlinux" and wid < len(vmlinux):
            continue  # a base type seen through the module's split BTF
        wrapper = btf.type(wid)
        if not isinstance(wrapper, Struct):
            continue
        data = next((mb for mb in wrapper.members if mb.name == "data"), None)
        if data is not None:
            return _KernelType(btf, btf_name, wid, btf.resolve(data.type), data.bit_offset // 8)
    return None


def _find_kernel_type(facts: KernelFacts, ms: MapSpec) -> _KernelType:
    want = _STRUCT_OPS_PREFIX + ms.struct_ops_type
    found = _find_in(facts.btf, "vmlinux", facts.btf, want)
    if found is not None:
        return found
    with contextlib.suppress(BPFError):  # module BTF only when vmlinux lacks the type
        for btf_name, btf in facts.modules:
            found = _find_in(facts.btf, btf_name, btf, want)
            if found is not None:
                return found
    raise NotSupportedError(
        f"struct_ops type {ms.struct_ops_type!r} (map {ms.name!r})",
        f"the kernel BTF has no {want}; this kernel does not let BPF implement it",
    )


def _plan_struct_ops(
    spec: ObjectSpec, ms: MapSpec, user: MapSettings, facts: KernelFacts
) -> MapPlan:
    """The kernel's ``struct bpf_struct_ops_T`` value: the object's non-function members
    copied by name into the kernel layout; function slots wait for program fds."""
    from pybpf.btf import Ptr, Struct

    spec_btf = spec.btf
    if spec_btf is None:
        raise ObjectError(
            "struct_ops maps need the object's BTF", file=spec.file, section=ms.section
        )

    def err(msg: str) -> ObjectError:
        return ObjectError(f"struct_ops {ms.name!r}: {msg}", file=spec.file, section=ms.section)

    kt = _find_kernel_type(facts, ms)
    kbtf = kt.btf
    kstruct = kbtf.type(kt.type_id)
    ostruct = spec_btf.type(ms.value_type_id)
    assert isinstance(kstruct, Struct) and isinstance(ostruct, Struct)
    value = bytearray(kbtf.size_of(kt.wrapper_id))
    funcs = dict(ms.func_members)
    slots: list[tuple[int, str]] = []
    members: list[tuple[str, int]] = []
    kmembers = {mb.name: (i, mb) for i, mb in enumerate(kstruct.members)}
    for om in ostruct.members:
        osize = spec_btf.size_of(om.type) if not om.bitfield_size else 0
        ooff = om.bit_offset // 8
        raw = ms.data[ooff : ooff + osize] if osize else b""
        found = kmembers.get(om.name)
        if om.name in funcs:
            if found is None:
                raise err(f"the kernel's struct {ms.struct_ops_type} has no member {om.name!r}")
            index, km = found
            if not isinstance(kbtf.type(kbtf.resolve(km.type)), Ptr):
                raise err(f"member {om.name!r} is not a function pointer in the kernel")
            members.append((funcs[om.name], index))
            slots.append((kt.data_offset + km.bit_offset // 8, funcs[om.name]))
            continue
        if om.bitfield_size or not any(raw):
            if om.bitfield_size and found is None:
                raise err(f"bitfield member {om.name!r} is unknown to the kernel")
            continue
        if found is None:
            raise err(f"member {om.name!r} is set but the kernel's struct has no such member")
        _, km = found
        ksize = kbtf.size_of(km.type)
        if ksize != osize or km.bitfield_size:
            raise err(f"member {om.name!r} is {osize} bytes here, {ksize} in the kernel")
        start = kt.data_offset + km.bit_offset // 8
        value[start : start + ksize] = raw
    flags = user.flags
    module = None if kt.btf_name == "vmlinux" else kt.btf_name
    if module is not None:
        flags |= MapFlags.VTYPE_BTF_OBJ_FD
    return MapPlan(
        name=ms.name,
        kind=ms.kind,
        create={
            "map_type": MapType.STRUCT_OPS,
            "key_size": 4,
            "value_size": len(value),
            "max_entries": 1,
            "flags": flags,
            "name": ms.name,
        },
        section=ms.section,
        struct_ops=StructOpsPlan(
            ms.struct_ops_type,
            bytes(value),
            tuple(slots),
            kt.wrapper_id,
            kt.type_id,
            module,
            tuple(members),
        ),
    )


def _bind_struct_ops(
    spec: ObjectSpec, ms: MapSpec, so: StructOpsPlan, progs: dict[str, ProgramSettings]
) -> None:
    """Tell each member program its attach BTF id (``T``) and attach type (member index)."""
    for prog_name, index in so.members:
        p = progs.get(prog_name)
        if p is None:
            raise ObjectError(
                f"struct_ops {ms.name!r}: no program {prog_name!r}",
                file=spec.file,
                section=ms.section,
            )
        if p.attach_btf_id and (p.attach_btf_id, p.expected_attach_type) != (so.type_id, index):
            raise ObjectError(
                f"struct_ops {ms.name!r}: program {prog_name!r} is already bound to another "
                "struct_ops member; use one program per member slot type",
                file=spec.file,
                section=ms.section,
            )
        p.attach_btf_id = so.type_id
        p.expected_attach_type = index
        p.attach_btf_module = so.module


# -- programs --------------------------------------------------------------------------------


class _Programs:
    """Per-plan state shared by the programs of one object: CO-RE and ksyms, computed once."""

    def __init__(self, spec: ObjectSpec, facts: KernelFacts) -> None:
        self.spec = spec
        self.facts = facts
        self.functions: dict[str, ProgramSpec] = {**spec.subprograms, **spec.programs}
        self._code: dict[str, bytes] = {}
        self.core: dict[str, list[Any]] = {}
        self._resolver: CoreResolver | None = None
        #: per-boot CO-RE caches with answers to write when planning ends
        self.core_caches: set[CoreCache] = set()
        self._core_store: CoreCache | bool | None = None  # False: no cache for this kernel
        self.ksyms: dict[str, KsymResolution] | None = None
        #: ksym/kfunc externs that the programs being loaded reference
        self.used_ksyms: set[str] = set()

    def code_of(self, f: ProgramSpec) -> bytes:
        """``f``'s instructions with its CO-RE relocations applied (computed once)."""
        code = self._code.get(f.name)
        if code is not None:
            return code
        code = f.insns
        if f.core_relos:
            spec = self.spec
            assert spec.btf is not None
            store = self._core_cache(f)
            cached = self._cached_core(f, store)
            if cached is not None:
                code, results = cached
            else:
                from pybpf.asm.insn import decode, encode

                if self._resolver is None:
                    from pybpf.btf.core import CoreResolver

                    self._resolver = CoreResolver(spec.btf, self.facts.core_target())
                insns, results = self._resolver.relocate(
                    f.core_relos, decode(code, section=f.section), program=f.name, section=f.section
                )
                code = encode(insns)
                if len(code) != len(f.insns):
                    raise CoreRelocationError(
                        f"CO-RE patching changed the size of {f.name!r}",
                        file=spec.file,
                        section=f.section,
                    )
                self._keep_core(store, code, results)
            self.core[f.name] = results
        self._code[f.name] = code
        return code

    def _core_cache(self, f: ProgramSpec) -> tuple[CoreCache, str] | None:
        """The per-boot CO-RE cache of this object and ``f``'s key in it, when the
        kernel allows one."""
        from pybpf.plan.corecache import CoreCache

        store = self._core_store
        if store is None:
            identity = self.facts.core_identity
            btf = self.spec.btf
            if identity is None or btf is None:
                self._core_store = False
                return None
            store = self._core_store = CoreCache.for_object(identity, btf.data)
        if not isinstance(store, CoreCache):
            return None
        return store, store.key(f.insns, f.section, f.core_relos)

    def _cached_core(
        self, f: ProgramSpec, found: tuple[CoreCache, str] | None
    ) -> tuple[bytes, list[Any]] | None:
        """``f``'s relocated code and results from the per-boot cache (``found``: the
        cache and ``f``'s key, see :meth:`_core_cache`), else None."""
        hit = found[0].get(found[1]) if found is not None else None
        if hit is None:
            return None
        code, rows = hit
        if len(code) != len(f.insns) or len(rows) != len(f.core_relos):
            return None
        from pybpf.btf.coreresult import CoreResult

        try:
            results = [CoreResult(row[0], f.core_relos[row[0]], *row[1:]) for row in rows]
        except (TypeError, IndexError):
            return None
        return code, results

    def _keep_core(
        self, found: tuple[CoreCache, str] | None, code: bytes, results: list[Any]
    ) -> None:
        """Store a program's CO-RE answer under its key in ``found`` (the cache and key
        of :meth:`_core_cache`) for later processes, when it cannot change before
        reboot: every record resolved in vmlinux (or needing no target)."""
        if found is None:
            return
        from pybpf.btf.ext import CoreReloKind

        name = self.facts.name
        for r in results:
            if r.target_btf_name != name and r.relo.kind != CoreReloKind.TYPE_ID_LOCAL:
                return
        rows = [
            (
                r.index,
                r.insn_index,
                r.section_slot,
                r.local_spec,
                r.access,
                r.orig_value,
                r.new_value,
                r.poisoned,
                r.reason,
                r.target_btf_name,
                r.target_type_id,
                r.target_spec,
                r.change,
                r.slots,
            )
            for r in results
        ]
        found[0].put(found[1], code, rows)
        self.core_caches.add(found[0])

    def ksym(self, name: str) -> KsymResolution:
        if self.ksyms is None:
            from pybpf.elf.externs import ExternKind
            from pybpf.kernel.ksyms import resolve_ksyms

            btf = self.spec.btf
            if btf is None:
                raise ExternError(".ksyms externs need the object's BTF", file=self.spec.file)
            # only what loaded programs use: a strong ksym that only autoload=False
            # programs reference does not stop the load (libbpf resolves them all)
            exts = [
                e
                for e in self.spec.externs.values()
                if e.kind is ExternKind.KSYM and e.name in self.used_ksyms
            ]
            facts = self.facts
            self.ksyms = resolve_ksyms(btf, exts, facts.kernel_btfs(), lambda: facts.kallsyms)
        return self.ksyms[name]


def _plan_programs(
    plan: LoadPlan,
    spec: ObjectSpec,
    facts: KernelFacts,
    settings: ObjectSettings,
    progs: dict[str, ProgramSettings],
) -> None:
    from pybpf.elf.relocs import RelocKind

    ctx = _Programs(spec, facts)
    work = []
    for name, pspec in spec.programs.items():
        user = progs.get(name) or ProgramSettings(
            pspec.prog_type, pspec.expected_attach_type, pspec.attach_target
        )
        if not user.autoload:
            continue
        edited = _with_user_edits(spec, name, user, pspec)
        linked = link_program(edited, ctx.functions, ctx.code_of, file=spec.file)
        work.append((name, user, edited, linked))
    ctx.used_ksyms = {
        fx.reloc.target
        for *_, linked in work
        for fx in linked.fixups
        if fx.reloc.kind in (RelocKind.KSYM, RelocKind.KFUNC)
    }
    for name, user, pspec, linked in work:
        pp = _plan_program(ctx, plan, name, user, pspec, linked, settings)
        plan.programs[name] = pp
    plan.ksyms = dict(ctx.ksyms or {})
    plan.core = dict(ctx.core)
    for cache in ctx.core_caches:
        cache.flush()


def _with_user_edits(
    spec: ObjectSpec, name: str, user: ProgramSettings, pspec: ProgramSpec
) -> ProgramSpec:
    """``pspec`` with the instructions the user edited through ``prog.instructions``.

    An instruction whose ``reference`` was cleared drops its relocation (the user
    gave its value); sizes and references may not change otherwise.
    """
    insns = user.instructions
    if insns is None:
        return pspec
    from pybpf.asm.insn import encode

    code = encode(insns)

    def err(msg: str) -> RelocationError:
        return RelocationError(
            f"edited instructions: {msg}", file=spec.file, section=pspec.section, program=name
        )

    if len(code) != len(pspec.insns):
        raise err(
            f"{len(code) // INSN} slots instead of {len(pspec.insns) // INSN}: only in-place "
            "edits that keep every instruction's size are supported"
        )
    at: dict[int, Any] = {}
    slot = 0
    for ins in insns:
        at[slot] = ins
        slot += ins.width
    kept = []
    for r in pspec.relocations:
        found = at.get(r.insn_index)
        if found is None:
            raise err(f"instruction {r.insn_index} (relocated against {r.symbol!r}) was split")
        if found.reference is None:
            continue  # resolved by the user
        if found.reference != (r.function or r.symbol or r.target):
            raise err(
                f"instruction {r.insn_index}: reference {found.reference!r} cannot replace "
                f"{r.symbol or r.target!r} (clear it and set the value instead)"
            )
        kept.append(r)
    return replace(pspec, insns=code, relocations=tuple(kept))


def _data_map_name(spec: ObjectSpec, section: str) -> str:
    for ms in spec.maps.values():
        if ms.section == section and ms.is_data:
            return ms.name
    raise KeyError(f"no data section {section!r}")


def _plan_program(
    ctx: _Programs,
    plan: LoadPlan,
    name: str,
    user: ProgramSettings,
    pspec: ProgramSpec,
    linked: LinkedProgram,
    settings: ObjectSettings,
) -> ProgramPlan:
    spec = ctx.spec
    flags = user.flags
    if pspec.sec is not None:
        if pspec.sec.sleepable:
            flags |= ProgFlags.SLEEPABLE
        if getattr(pspec.sec, "xdp_frags", False):
            flags |= ProgFlags.XDP_HAS_FRAGS
    pp = ProgramPlan(
        name=name,
        section=pspec.section,
        sec=pspec.sec,
        prog_type=user.prog_type,
        expected_attach_type=user.expected_attach_type,
        attach_target=user.attach_target,
        code=linked.code,
        license=spec.license or "",
        flags=flags,
        log_level=user.log_level or settings.log_level,
        log_size=user.log_size,
        attach_btf_id=user.attach_btf_id,
        attach_btf_module=user.attach_btf_module,
        linked=linked,
    )
    _plan_fixups(ctx, plan, pp, linked)
    pp.kern_version = _kern_version(spec, ctx.facts, pp)
    if spec.btf is not None and linked.has_full_func_info:
        # func/line info only when every linked function has its FUNC record
        from pybpf.btf.ext import encode_func_info, encode_line_info

        pp.func_info = encode_func_info(linked.func_info)
        pp.line_info = encode_line_info(linked.line_info, spec.btf)
    _plan_attach_btf_id(ctx, pp)
    pp.core = {f: ctx.core[f] for f in linked.starts if f in ctx.core}
    return pp


def _created(spec: ObjectSpec, plan: LoadPlan, pp: ProgramPlan, name: str) -> str:
    """``name`` if the plan creates that map; RelocationError if autocreate is off."""
    if name not in plan.maps:
        spec.maps[name]  # KeyError: no such map
        raise RelocationError(
            f"uses map {name!r}, which was not created (autocreate is off)",
            file=spec.file,
            program=pp.name,
        )
    return name


def _plan_fixups(ctx: _Programs, plan: LoadPlan, pp: ProgramPlan, linked: LinkedProgram) -> None:
    """Resolve what needs no fd into ``pp.code``; the rest becomes ``pp.patches``."""
    from pybpf.elf.relocs import RelocKind

    spec = ctx.spec
    code = linked.code
    patches = pp.patches
    for fx in linked.fixups:
        r, slot = fx.reloc, fx.slot
        try:
            if r.kind is RelocKind.MAP:
                _created(spec, plan, pp, r.target)
                if r.offset:
                    pp.patches.append(
                        Patch(slot, ("map", r.target), src=PSEUDO_MAP_VALUE, offset=r.offset)
                    )
                else:
                    pp.patches.append(Patch(slot, ("map", r.target), src=PSEUDO_MAP_FD))
            elif r.kind is RelocKind.DATA:
                target = _created(spec, plan, pp, _data_map_name(spec, r.target))
                pp.patches.append(
                    Patch(slot, ("map", target), src=PSEUDO_MAP_VALUE, offset=r.offset)
                )
            elif r.kind is RelocKind.KCONFIG:
                assert r.extern is not None
                target = _created(spec, plan, pp, _data_map_name(spec, ".kconfig"))
                off = r.extern.offset + r.offset
                pp.patches.append(Patch(slot, ("map", target), src=PSEUDO_MAP_VALUE, offset=off))
            elif r.kind is RelocKind.KSYM:
                _fix_ksym(ctx, pp, code, slot, r.target)
            elif r.kind is RelocKind.KFUNC:
                _fix_kfunc(ctx, pp, code, slot, r.target)
            elif r.kind is RelocKind.SYMBOL:
                where = fx.function if fx.function == pp.name else f"function {fx.function!r}"
                raise RelocationError(
                    f"instruction {r.insn_index} of {where} loads symbol {r.target!r}, which "
                    "the object does not define and is no BTF extern (inline asm?): give it a "
                    f"value before load, e.g. obj.programs[{pp.name!r}].resolve_symbol("
                    f"{r.target!r}, value), or edit .instructions",
                    file=spec.file,
                    section=pp.section,
                    program=pp.name,
                )
        except KeyError as exc:
            raise RelocationError(
                f"relocation against {r.target!r} ({r.kind.value}) at insn {slot}: {exc}",
                file=spec.file,
                program=pp.name,
            ) from exc
    for p in patches:
        if p.how == "imm64":  # the final instruction but the fd (zero until the executor)
            set_imm64(code, p.slot, p.offset << 32, src=p.src)


def _fix_ksym(ctx: _Programs, pp: ProgramPlan, code: bytearray, slot: int, name: str) -> None:
    res = ctx.ksym(name)
    if res.kind == "addr" or not res.found:
        set_imm64(code, slot, res.address if res.found else 0, src=0)
        return
    set_imm64(code, slot, res.btf_id, src=PSEUDO_BTF_ID)
    if res.in_module and res.btf_name:  # the module's BTF fd goes in the upper half
        pp.patches.append(Patch(slot, ("module_btf", res.btf_name), how="btf_obj"))


def _fix_kfunc(ctx: _Programs, pp: ProgramPlan, code: bytearray, slot: int, name: str) -> None:
    res = ctx.ksym(name)
    if not res.found:
        # a missing weak kfunc: an invalid helper id the verifier only rejects if reached
        set_insn(code, slot, src=0, imm=POISON_KFUNC_BASE, off=0)
        return
    index = 0
    if res.in_module and res.btf_name:
        if res.btf_name not in pp.fd_array:
            pp.fd_array.append(res.btf_name)
        index = pp.fd_array.index(res.btf_name) + 1  # fd_array[0] stands for vmlinux
    set_insn(code, slot, src=PSEUDO_KFUNC_CALL, imm=res.btf_id, off=index)


def _kern_version(spec: ObjectSpec, facts: KernelFacts, pp: ProgramPlan) -> int:
    """``kern_version`` of BPF_PROG_LOAD: kprobe programs needed the running kernel's
    version code until Linux 5.0 (commit 6c4fc209fcf9 dropped the check)."""
    if spec.kern_version:
        return spec.kern_version
    if pp.prog_type == ProgType.KPROBE:
        return facts.kernel_version
    return 0


_TRACING_PREFIX = {
    AttachType.TRACE_RAW_TP: ("btf_trace_", "typedef"),
    AttachType.TRACE_FENTRY: ("", "func"),
    AttachType.TRACE_FEXIT: ("", "func"),
    AttachType.MODIFY_RETURN: ("", "func"),
    AttachType.TRACE_ITER: ("bpf_iter_", "func"),
    AttachType.LSM_MAC: ("bpf_lsm_", "func"),
    AttachType.LSM_CGROUP: ("bpf_lsm_", "func"),
}


def _plan_attach_btf_id(ctx: _Programs, pp: ProgramPlan) -> None:
    """The kernel BTF id (and module) a tracing/LSM/iter program attaches to.

    freplace targets are in another loaded program's BTF: the executor finds them.
    """
    from pybpf.btf import Kind

    eat = pp.expected_attach_type
    if pp.prog_type == ProgType.EXT and not pp.attach_btf_id:
        pp.freplace = True
        return
    if pp.attach_btf_id or eat not in _TRACING_PREFIX or not pp.attach_target:
        return
    if pp.prog_type not in (ProgType.TRACING, ProgType.LSM):
        return
    prefix, what = _TRACING_PREFIX[AttachType(eat)]
    name = prefix + pp.attach_target
    kind = Kind.TYPEDEF if what == "typedef" else Kind.FUNC
    found = ctx.facts.kernel_btfs().find(name, kind)
    if found is None:
        raise RelocationError(
            f"attach target {pp.attach_target!r} not found in kernel BTF (looked for {name!r})",
            file=ctx.spec.file,
            section=pp.section,
            program=pp.name,
        )
    btf_name, _, type_id = found
    pp.attach_btf_id = type_id
    pp.attach_btf_module = None if btf_name == "vmlinux" else btf_name
