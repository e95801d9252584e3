"""The executor: applies a :class:`pybpf.plan.model.LoadPlan` to the kernel through ``sys``.

In the plan's order: the object's BTF, maps (reused from pins, created, filled,
frozen), programs (fds patched in, BPF_PROG_LOAD, readable errors), prog-array
and map-in-map slots, struct_ops registration, mmap of data maps. Every kernel
object it makes is recorded in :class:`Handles` at once, so a failure part way
leaves nothing behind once the caller releases them.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pybpf.errors import BPFError, KernelError, MapError, NotSupportedError
from pybpf.sys import maps as sysmaps
from pybpf.sys.fd import FD
from pybpf.sys.syscall import ENOTSUPP
from pybpf.uapi.enums import MapType

if TYPE_CHECKING:
    from pybpf.link.base import Link
    from pybpf.map import Map
    from pybpf.plan.model import LoadPlan, MapPlan
    from pybpf.program import Program

__all__ = ["Handles", "execute"]

_PAGE = mmap.PAGESIZE


class Handles:
    """The live kernel objects of one loaded object, besides its maps' and programs' fds.

    ``btf_fd`` (the object's BTF), module BTF fds, pins made by the load, data-map
    mmaps, struct_ops registrations (``links``); ``sent`` holds the instructions of
    each BPF_PROG_LOAD as sent (``pybpf explain`` shows them). :meth:`release`
    closes everything.
    """

    def __init__(
        self,
        *,
        name: str = "",
        pin_root: str | os.PathLike[str] = "/sys/fs/bpf",
        mount_bpffs: bool | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.pin_root = Path(pin_root)
        self.mount_bpffs = mount_bpffs
        self.log: Callable[[str], None] = log or (lambda msg: None)
        self.btf_fd: FD | None = None
        #: why the object's BTF is not in the kernel (None: it is, or there is none)
        self.btf_error: str | None = None
        self.module_fds: dict[str, FD] = {}
        self.pinned: list[str] = []
        self.mmaps: dict[str, mmap.mmap] = {}
        self.links: list[Link] = []
        #: struct_ops map name → the link that registered it (also in ``links``)
        self.registered: dict[str, Link] = {}
        self.sent: dict[str, bytes] = {}

    def module_btf_fd(self, module: str) -> FD:
        """An fd of the kernel's BTF object for ``module`` (kept until release)."""
        fd = self.module_fds.get(module)
        if fd is not None:
            return fd
        from pybpf.sys.info import btf_info
        from pybpf.sys.objects import get_fd_by_id, ids

        for btf_id in ids("btf"):
            try:
                fd = get_fd_by_id("btf", btf_id)
            except OSError:
                continue
            if btf_info(fd).name == module:
                self.module_fds[module] = fd
                return fd
            fd.close()
        raise BPFError(f"kernel BTF object of module {module!r} not found")

    def release(self, *, unpin: bool) -> list[BaseException]:
        """Close links, mmaps and fds (and remove the load's pins if ``unpin``); the
        errors of closing links are returned, the rest is released regardless."""
        from pybpf.link.base import close_links

        errors: list[BaseException] = list(close_links(self.links))
        self.links.clear()
        self.registered.clear()
        for mm in self.mmaps.values():
            # a live memoryview may still point into it: then GC unmaps it later
            with contextlib.suppress(BufferError):
                mm.close()
        self.mmaps.clear()
        for fd in self.module_fds.values():
            fd.close()
        self.module_fds.clear()
        if self.btf_fd is not None:
            self.btf_fd.close()
            self.btf_fd = None
        if unpin:
            for path in self.pinned:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        self.pinned.clear()
        return errors


def execute(
    plan: LoadPlan,
    maps: Mapping[str, Map],
    programs: Mapping[str, Program],
    handles: Handles,
    *,
    file: str | None = None,
) -> None:
    """Create what ``plan`` describes; fds go to ``maps``/``programs`` and ``handles``."""
    from pybpf.loader.programs import load_program

    _load_btf(plan, handles)
    for name, mp in plan.maps.items():
        _create(mp, maps[name], handles)
    for pp in plan.programs.values():
        load_program(pp, programs[pp.name], maps, handles, file=file)
    _init_slots(plan, maps, programs)
    if any(mp.struct_ops is not None for mp in plan.maps.values()):
        # imported only when needed: its module is a cost at every other load
        from pybpf.loader.struct_ops import register_struct_ops

        register_struct_ops(plan, maps, programs, handles)
    _mmap_data(plan, maps, handles)


# -- BTF -----------------------------------------------------------------------------------


def _load_btf(plan: LoadPlan, handles: Handles) -> None:
    """Load the object's BTF; continue without it if refused and no map needs it."""
    if plan.btf_skip is not None:
        _btf_fallback(handles, plan.btf_skip)
        return
    if plan.btf is None:
        return
    from pybpf.sys.btf import btf_load

    try:
        handles.btf_fd = btf_load(plan.btf)
    except KernelError as exc:
        if plan.btf_required:
            raise
        _btf_fallback(handles, f"the kernel refused the object's BTF ({exc})")


def _btf_fallback(handles: Handles, why: str) -> None:
    """Loading goes on without the object's BTF: say so loudly and record why."""
    import warnings

    from pybpf.errors import BTFFallbackWarning

    handles.btf_error = why
    msg = (
        f"{handles.name}: loading without BTF: {why}; programs lose function and line info "
        "(verifier messages without source lines) and maps their key/value types"
    )
    handles.log(msg)
    warnings.warn(msg, BTFFallbackWarning, stacklevel=6)


# -- maps ----------------------------------------------------------------------------------


def _create(mp: MapPlan, m: Map, handles: Handles) -> None:
    if mp.struct_ops is not None:
        from pybpf.loader.struct_ops import create_struct_ops_map

        create_struct_ops_map(mp, m, handles)
        return
    m.max_entries = mp.create["max_entries"]
    m.flags = mp.create["flags"]
    if mp.pinning and _reuse_pinned(mp, m, handles):
        return
    fd = _create_map(mp, handles)
    m.adopt_fd(fd)
    if mp.pinning:
        path = _pin_path(mp, m, handles)
        m.pin(path, mount=handles.mount_bpffs)
        m.pin_path = path
        handles.pinned.append(path)
    handles.log(f"created map {mp.name!r} fd={fd.fileno()}")
    if mp.initial is not None:
        sysmaps.map_update_elem(fd, b"\0\0\0\0", mp.initial)
    if mp.freeze:
        # frozen right away, as libbpf does, so the verifier can prune branches on
        # ``const volatile`` values (it trusts only frozen read-only maps)
        sysmaps.map_freeze(fd)


def _btf_ids(mp: MapPlan, handles: Handles) -> dict[str, Any]:
    if handles.btf_fd is None or not (mp.btf_key_type_id or mp.btf_value_type_id):
        return {}
    return {
        "btf_fd": handles.btf_fd,
        "btf_key_type_id": mp.btf_key_type_id,
        "btf_value_type_id": mp.btf_value_type_id,
    }


def _create_map(mp: MapPlan, handles: Handles) -> FD:
    inner_fd: FD | None = None
    if mp.inner is not None:
        inner_fd = _create_map(mp.inner, handles)
    try:
        btf = _btf_ids(mp, handles)
        try:
            return sysmaps.map_create(**mp.create, inner_map_fd=inner_fd, **btf)
        except MapError as exc:
            # EINVAL/ENOTSUPP/EOPNOTSUPP: kernels before 5.x refuse some BTF value types
            if not btf or mp.needs_btf or exc.errno not in (errno.EINVAL, ENOTSUPP, errno.EOPNOTSUPP):
                raise _explain_map_error(mp, exc) from exc
            handles.log(f"map {mp.name!r}: kernel refused its BTF types, retrying without them")
            try:
                return sysmaps.map_create(**mp.create, inner_map_fd=inner_fd)
            except MapError as exc2:
                raise _explain_map_error(mp, exc2) from exc2
    finally:
        if inner_fd is not None:
            inner_fd.close()


def _explain_map_error(mp: MapPlan, exc: MapError) -> BPFError:
    from pybpf.sys import features

    if exc.errno in (errno.EPERM, errno.EACCES):
        return exc  # privileges, not support: the error says what is missing
    mtype = mp.create["map_type"]
    try:
        supported = features.has_map_type(MapType(mtype))
    except (ValueError, KernelError):
        supported = True
    if not supported:
        return NotSupportedError(
            f"map type {MapType(mtype).name} (map {mp.name!r})",
            "disable it with obj.maps[name].autocreate = False or use another map type",
            errno=exc.errno or 0,
        )
    return exc


def _pin_path(mp: MapPlan, m: Map, handles: Handles) -> str:
    """Where the map is pinned: its own pin_path, or pin_root[/pin_dir]/name (checked: on
    bpffs, no symlink, not leaving its root; the directory is made ready). iproute2's
    bpf_elf_map pinning puts maps under tc/globals or tc/<sha1 of the object>."""
    from pybpf.sys.fs import prepare_pin

    if m.pin_path:
        return str(prepare_pin(m.pin_path, mount=handles.mount_bpffs))
    root = os.path.join(handles.pin_root, mp.pin_dir)
    path = os.path.join(root, mp.name)
    return str(prepare_pin(path, root=root, mount=handles.mount_bpffs))


def _reuse_pinned(mp: MapPlan, m: Map, handles: Handles) -> bool:
    """Reuse a compatible map pinned by name; an incompatible one is an error."""
    from pybpf.sys.info import map_info
    from pybpf.sys.objects import obj_get

    path = _pin_path(mp, m, handles)
    if not os.path.exists(path):
        return False
    fd = obj_get(path)
    try:
        old = map_info(fd)
    except BaseException:
        fd.close()
        raise
    want = mp.create
    mismatch = [
        f"{what} {have} != {need}"
        for what, have, need in (
            ("type", int(old.type), int(want["map_type"])),
            ("key_size", old.key_size, want["key_size"]),
            ("value_size", old.value_size, want["value_size"]),
            ("max_entries", old.max_entries, want["max_entries"]),
            ("flags", old.map_flags, want["flags"]),
        )
        if have != need
    ]
    if mismatch:
        fd.close()
        raise BPFError(
            f"map {mp.name!r}: the map pinned at {path} is incompatible ({', '.join(mismatch)}); "
            "remove the pin or change the definition"
        )
    m.adopt_fd(fd)
    m.pin_path = path
    handles.log(f"reused pinned map {mp.name!r} at {path}")
    return True


# -- after programs: slots, mmap -------------------------------------------------------------


def _init_slots(plan: LoadPlan, maps: Mapping[str, Map], programs: Mapping[str, Program]) -> None:
    """Fill prog arrays and map-in-map slots from the maps' ``.values`` initialisers."""
    for name, mp in plan.maps.items():
        m = maps[name]
        if not mp.slots or not m.created:
            continue
        for slot, kind, target in mp.slots:
            if kind == "prog":
                prog = programs[target]
                if not prog.loaded:
                    continue
                fd = prog.fd
            else:
                fd = maps[target].fd
            sysmaps.map_update_elem(m.fd, slot.to_bytes(4, "little"), fd.to_bytes(4, "little"))


def _mmap_data(plan: LoadPlan, maps: Mapping[str, Map], handles: Handles) -> None:
    """mmap every mmapable data map (read-only ones were frozen at creation)."""
    for name, mp in plan.maps.items():
        m = maps[name]
        if not mp.mmap or not m.created:
            continue
        size = (m.value_size + _PAGE - 1) // _PAGE * _PAGE
        prot = mmap.PROT_READ if mp.freeze else mmap.PROT_READ | mmap.PROT_WRITE
        handles.mmaps[mp.section] = mmap.mmap(m.fd, size, mmap.MAP_SHARED, prot)
