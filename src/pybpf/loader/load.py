"""The load phase: object BTF, externs, maps, programs, initial slots, freeze and mmap.

Called by :meth:`pybpf.Object.load`; on any failure the object releases whatever
was created so far, so nothing is left in the kernel.
"""

from __future__ import annotations

import errno
import mmap
import os
from typing import TYPE_CHECKING, Any

from pybpf.errors import BPFError, KernelError, MapError, NotSupportedError
from pybpf.loader.btf_sanitize import sanitize_btf
from pybpf.sys import maps as sysmaps
from pybpf.sys.fd import FD
from pybpf.sys.syscall import ENOTSUPP
from pybpf.uapi.enums import MapFlags, MapType

if TYPE_CHECKING:
    from pybpf.elf.maps import MapSpec
    from pybpf.map import Map
    from pybpf.object import Object

__all__ = ["load_object"]

_PAGE = mmap.PAGESIZE


# Map types the kernel creates only with BTF key/value types (local storages).
_BTF_TYPED_MAPS = frozenset(
    {MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE, MapType.CGRP_STORAGE}
)


def load_object(obj: Object) -> None:
    """Put ``obj`` in the kernel: BTF, maps, programs (see module docstring)."""
    from pybpf.elf.maps import MapKind
    from pybpf.loader.programs import load_programs

    _load_btf(obj)
    _fill_kconfig(obj)
    _create_maps(obj)
    load_programs(obj)
    _init_slots(obj)
    if any(ms.kind is MapKind.STRUCT_OPS for ms in obj.spec.maps.values()):
        # imported only when needed: its module is a cost at every other load
        from pybpf.loader.struct_ops import register_struct_ops

        register_struct_ops(obj)  # struct_ops maps need their programs' fds
    _finish_data_maps(obj)


# -- BTF -----------------------------------------------------------------------------------


def _needs_btf(obj: Object) -> bool:
    from pybpf.elf.maps import MapKind

    return any(
        ms.kind is MapKind.STRUCT_OPS or ms.type in _BTF_TYPED_MAPS for ms in obj.spec.maps.values()
    )


def _load_btf(obj: Object) -> None:
    """Load the object's BTF (sanitized for this kernel); continue without it if refused."""
    btf = obj.spec.btf
    if btf is None:
        return
    from pybpf.sys import features
    from pybpf.sys.btf import btf_load

    if not features.has_btf():
        if _needs_btf(obj):
            raise NotSupportedError("BTF", "this object's maps need kernel BTF support")
        _btf_fallback(obj, "the kernel has no BTF support")
        return
    data = sanitize_btf(btf, features.btf_kinds())
    try:
        obj._btf_fd = btf_load(data)
    except KernelError as exc:
        if _needs_btf(obj):
            raise
        _btf_fallback(obj, f"the kernel refused the object's BTF ({exc})")
        return
    obj.btf_loaded = True


def _btf_fallback(obj: Object, why: str) -> None:
    """Loading goes on without the object's BTF: say so loudly and record why."""
    import warnings

    from pybpf.errors import BTFFallbackWarning

    obj.btf_error = why
    msg = (
        f"{obj.name}: loading without BTF: {why}; programs lose function and line info "
        "(verifier messages without source lines) and maps their key/value types"
    )
    obj._log(msg)
    warnings.warn(msg, BTFFallbackWarning, stacklevel=5)


# -- externs -------------------------------------------------------------------------------


def _fill_kconfig(obj: Object) -> None:
    """Resolve ``.kconfig`` externs into the ``.kconfig`` map's initial image."""
    from pybpf.elf.externs import ExternKind

    kcfg = [e for e in obj.spec.externs.values() if e.kind is ExternKind.KCONFIG]
    if not kcfg:
        return
    from pybpf.loader.externs import kconfig_image

    for ms in obj.spec.maps.values():
        if ms.section == ".kconfig":
            obj._images[".kconfig"] = bytearray(kconfig_image(obj, kcfg, ms.value_size))
            return


# -- maps ----------------------------------------------------------------------------------


def _internal_name(obj: Object, ms: MapSpec) -> str:
    """libbpf's kernel name for a global-data map: object prefix + section name."""
    from pybpf.object import _is_data

    if not _is_data(ms):
        return ms.name
    sec = ms.section
    pfx = obj.name[: min(8, 15 - len(sec))] if len(sec) < 15 else ""
    return (pfx + sec)[:15]


def _create_maps(obj: Object) -> None:
    from pybpf.elf.maps import MapKind

    for name, ms in obj.spec.maps.items():
        m = obj.maps[name]
        if not m.autocreate:
            continue
        if ms.kind is MapKind.STRUCT_OPS:
            from pybpf.loader.struct_ops import create_struct_ops_map

            create_struct_ops_map(obj, ms, m)
            continue
        if ms.pinning and _reuse_pinned(obj, ms, m):
            continue
        fd = _create_map(obj, ms, m)
        m._attach_fd(fd)
        if ms.pinning:
            _pin_new(obj, ms, m)
        obj._log(f"created map {name!r} fd={fd.fileno()}")
        _write_initial_data(obj, ms, m)


def _map_params(obj: Object, ms: MapSpec, m: Map) -> dict[str, Any]:
    from pybpf.object import _is_data, _is_readonly
    from pybpf.sys import features
    from pybpf.sys.cpus import possible_cpus

    mtype = ms.type
    max_entries = m.max_entries
    flags = m.flags
    if mtype == MapType.PERF_EVENT_ARRAY and max_entries == 0:
        # the kernel refuses 0 entries (array_map_alloc_check); one slot per possible CPU
        # is what bpf_perf_event_output(BPF_F_CURRENT_CPU) indexes (libbpf does the same)
        max_entries = len(possible_cpus())
        m.max_entries = max_entries
    if mtype in (MapType.RINGBUF, MapType.USER_RINGBUF):
        # a power-of-two multiple of the page size: ringbuf_map_alloc() answers EINVAL
        # otherwise (kernel/bpf/ringbuf.c, 5.8; libbpf rounds up the same way)
        size = max(max_entries, _PAGE)
        max_entries = 1 << (size - 1).bit_length()
        m.max_entries = max_entries
    if _is_data(ms):
        # global data is mmap()ed for Object.globals: BPF_F_MMAPABLE arrays exist since
        # 5.5 (commit fc9702273e2e); before, globals are read-only from Python after load
        if features.has_mmapable_array():
            flags |= MapFlags.MMAPABLE
        # .rodata is read-only to programs (BPF_F_RDONLY_PROG, Linux 5.2): once frozen,
        # the verifier reads its values as known constants and prunes dead branches
        if _is_readonly(ms):
            flags |= MapFlags.RDONLY_PROG
        m.flags = flags
    return {
        "map_type": mtype,
        "key_size": m.key_size,
        "value_size": m.value_size,
        "max_entries": max_entries,
        "flags": flags,
        "name": _internal_name(obj, ms),
        "numa_node": ms.numa_node,
        "map_extra": ms.map_extra,
    }


def _btf_ids(obj: Object, ms: MapSpec) -> dict[str, Any]:
    if obj._btf_fd is None or not (ms.key_type_id or ms.value_type_id or ms.btf_var_id):
        return {}
    from pybpf.object import _is_data

    if _is_data(ms):
        # global data maps carry their DATASEC as value type
        return {"btf_fd": obj._btf_fd, "btf_key_type_id": 0, "btf_value_type_id": ms.value_type_id}
    if ms.type in (MapType.PERF_EVENT_ARRAY, MapType.RINGBUF, MapType.USER_RINGBUF):
        return {}
    return {
        "btf_fd": obj._btf_fd,
        "btf_key_type_id": ms.key_type_id,
        "btf_value_type_id": ms.value_type_id,
    }


def _create_map(obj: Object, ms: MapSpec, m: Map) -> FD:
    params = _map_params(obj, ms, m)
    inner_fd: FD | None = None
    if ms.inner is not None:
        inner_m = _template(obj, ms.inner)
        inner_fd = _create_map(obj, ms.inner, inner_m)
    try:
        btf = _btf_ids(obj, ms)
        try:
            return sysmaps.map_create(**params, inner_map_fd=inner_fd, **btf)
        except MapError as exc:
            if not btf or exc.errno not in (errno.EINVAL, ENOTSUPP, errno.EOPNOTSUPP):
                raise _explain_map_error(obj, ms, exc) from exc
            if ms.type in _BTF_TYPED_MAPS:
                raise _explain_map_error(obj, ms, exc) from exc
            obj._log(f"map {ms.name!r}: kernel refused its BTF types, retrying without them")
            try:
                return sysmaps.map_create(**params, inner_map_fd=inner_fd)
            except MapError as exc2:
                raise _explain_map_error(obj, ms, exc2) from exc2
    finally:
        if inner_fd is not None:
            inner_fd.close()


def _explain_map_error(obj: Object, ms: MapSpec, exc: MapError) -> BPFError:
    from pybpf.sys import features

    if exc.errno in (errno.EPERM, errno.EACCES):
        return exc  # privileges, not support: the error says what is missing
    try:
        supported = features.has_map_type(MapType(ms.type))
    except (ValueError, KernelError):
        supported = True
    if not supported:
        return NotSupportedError(
            f"map type {MapType(ms.type).name} (map {ms.name!r})",
            "disable it with obj.maps[name].autocreate = False or use another map type",
            errno=exc.errno or 0,
        )
    return exc


def _template(obj: Object, ms: MapSpec) -> Map:
    from pybpf.map import Map

    return Map.from_spec(ms, obj.spec.btf)


def _pin_path(obj: Object, ms: MapSpec, m: Map) -> str:
    """Where the map is pinned: its own pin_path, or pin_root[/pin_dir]/name (checked: on
    bpffs, no symlink, not leaving its root; the directory is made ready). iproute2's
    bpf_elf_map pinning puts maps under tc/globals or tc/<sha1 of the object>."""
    from pybpf.sys.fs import prepare_pin

    if m.pin_path:
        return str(prepare_pin(m.pin_path, mount=obj.mount_bpffs))
    root = os.path.join(obj.pin_root, ms.pin_dir)
    path = os.path.join(root, ms.name)
    return str(prepare_pin(path, root=root, mount=obj.mount_bpffs))


def _reuse_pinned(obj: Object, ms: MapSpec, m: Map) -> bool:
    """Reuse a compatible map pinned by name; an incompatible one is an error."""
    from pybpf.map import Map as _Map

    path = _pin_path(obj, ms, m)
    if not os.path.exists(path):
        return False
    old = _Map.from_pin(path)
    want = _map_params(obj, ms, m)
    mismatch = [
        f"{what} {have} != {need}"
        for what, have, need in (
            ("type", int(old.type), int(want["map_type"])),
            ("key_size", old.key_size, want["key_size"]),
            ("value_size", old.value_size, want["value_size"]),
            ("max_entries", old.max_entries, want["max_entries"]),
            ("flags", old.flags, want["flags"]),
        )
        if have != need
    ]
    if mismatch:
        old.close()
        raise BPFError(
            f"map {ms.name!r}: the map pinned at {path} is incompatible ({', '.join(mismatch)}); "
            "remove the pin or change the definition"
        )
    fd = old._fd
    assert isinstance(fd, FD)
    m._attach_fd(fd)
    m.pin_path = path
    obj._log(f"reused pinned map {ms.name!r} at {path}")
    return True


def _pin_new(obj: Object, ms: MapSpec, m: Map) -> None:
    path = _pin_path(obj, ms, m)
    m.pin(path, mount=obj.mount_bpffs)
    m.pin_path = path
    obj._pinned_by_us.append(path)


def _write_initial_data(obj: Object, ms: MapSpec, m: Map) -> None:
    """Write a data map's initial image; freeze read-only ones right away, as libbpf
    does, so the verifier can prune branches on ``const volatile`` values."""
    from pybpf.object import _is_data, _is_readonly

    if not _is_data(ms):
        return
    image = obj._images.get(ms.section)
    if image is not None and any(image):
        sysmaps.map_update_elem(m._fd, b"\0\0\0\0", bytes(image))
    if _is_readonly(ms):
        sysmaps.map_freeze(m._fd)


# -- after programs: slots, freeze, mmap -----------------------------------------------------


def _init_slots(obj: Object) -> None:
    """Fill prog arrays and map-in-map slots from the maps' ``.values`` initialisers."""
    for name, ms in obj.spec.maps.items():
        if not ms.values:
            continue
        m = obj.maps[name]
        if not m.created:
            continue
        for slot, target in ms.values:
            if ms.type == MapType.PROG_ARRAY:
                prog = obj.programs[target]
                if not prog.loaded:
                    continue
                fd = prog.fd
            else:
                fd = obj.maps[target].fd
            sysmaps.map_update_elem(m._fd, slot.to_bytes(4, "little"), fd.to_bytes(4, "little"))


def _finish_data_maps(obj: Object) -> None:
    """mmap every mmapable data map (read-only ones were frozen at creation)."""
    from pybpf.object import _is_data, _is_readonly

    for name, ms in obj.spec.maps.items():
        if not _is_data(ms):
            continue
        m = obj.maps[name]
        if not m.created:
            continue
        if m.flags & MapFlags.MMAPABLE and m.value_size:
            size = (m.value_size + _PAGE - 1) // _PAGE * _PAGE
            prot = mmap.PROT_READ if _is_readonly(ms) else mmap.PROT_READ | mmap.PROT_WRITE
            obj._mmaps[ms.section] = mmap.mmap(m.fd, size, mmap.MAP_SHARED, prot)
