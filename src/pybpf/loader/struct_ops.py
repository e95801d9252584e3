"""struct_ops maps: create them and register them once their programs are loaded.

The planner (:mod:`pybpf.plan.planner`) lays out the kernel's ``struct
bpf_struct_ops_T`` value and binds each member program (attach BTF id ``T``,
expected attach type the member's index). :func:`create_struct_ops_map` creates
the map before programs load; :func:`register_struct_ops` writes the programs'
fds into the function slots after, stores the value (which registers a plain
``.struct_ops`` map) and, for ``.struct_ops.link`` maps, creates the link.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from pybpf.errors import BPFError, KernelError, MapError
from pybpf.link.base import CallbackLink, FDLink, Link
from pybpf.sys import links as syslinks
from pybpf.sys import maps as sysmaps
from pybpf.sys.fd import FD, dup_fd
from pybpf.uapi.enums import AttachType, MapFlags

if TYPE_CHECKING:
    from pybpf.loader.load import Handles
    from pybpf.map import Map
    from pybpf.object import Object
    from pybpf.plan.model import LoadPlan, MapPlan
    from pybpf.program import Program

__all__ = ["create_struct_ops_map", "register_struct_ops", "struct_ops_link"]


def create_struct_ops_map(mp: MapPlan, m: Map, handles: Handles) -> None:
    """Create the STRUCT_OPS map of ``mp`` (its value is stored at registration)."""
    so = mp.struct_ops
    assert so is not None
    module_fd = handles.module_btf_fd(so.module) if so.module is not None else None
    try:
        fd = sysmaps.map_create(
            **mp.create,
            btf_fd=handles.btf_fd,
            btf_vmlinux_value_type_id=so.wrapper_id,
            value_type_btf_obj_fd=module_fd,
        )
    except MapError as exc:
        raise MapError(
            f"create struct_ops map {mp.name!r} ({so.type_name})",
            exc.errno or 0,
            hint=exc.hint,
        ) from exc
    m.value_type_id = 0
    m.value_size = len(so.value)  # before the fd: sizes are fixed once the map exists
    m.flags = mp.create["flags"]
    m.adopt_fd(fd)
    handles.log(f"created struct_ops map {mp.name!r} ({so.type_name}) fd={fd.fileno()}")


def register_struct_ops(
    plan: LoadPlan, maps: Mapping[str, Map], programs: Mapping[str, Program], handles: Handles
) -> None:
    """Fill program fds into the created struct_ops maps and register them (after load).

    ``.struct_ops.link`` maps get a struct_ops link; plain ones are registered by
    the map update and unregistered (map delete) when the returned link closes.
    The links are in ``handles.registered`` (closed with the object), found by
    :func:`struct_ops_link`.
    """
    for name, mp in plan.maps.items():
        so = mp.struct_ops
        if so is None or name in handles.registered:
            continue
        m = maps[name]
        value = bytearray(so.value)
        for off, prog_name in so.slots:
            prog = programs[prog_name]
            if not prog.loaded:
                continue  # left NULL; the kernel refuses if the member is mandatory
            value[off : off + 8] = prog.fd.to_bytes(8, "little")
        what = f"register struct_ops {name!r}"
        try:
            sysmaps.map_update_elem(m.fd, b"\0\0\0\0", bytes(value))
        except MapError as exc:
            raise MapError(
                what,
                exc.errno or 0,
                hint="the kernel rejected the value: a mandatory member without a program, "
                "a name already registered, or a member the kernel does not allow",
            ) from exc
        if m.flags & MapFlags.LINK:
            lfd = syslinks.link_create(m.fd, 0, AttachType.STRUCT_OPS, op=what)
            link: Link = FDLink(lfd, "struct_ops", name, name)
        else:
            map_fd = dup_fd(m.fd, "map")
            link = CallbackLink(_unregister(map_fd, name), "struct_ops", name, name)
        handles.registered[name] = link
        handles.links.append(link)


def _unregister(map_fd: FD, name: str) -> Callable[[], None]:
    def undo() -> None:
        try:
            sysmaps.map_delete_elem(map_fd, b"\0\0\0\0")
        except KernelError as exc:
            if exc.errno not in (errno.ENOENT, errno.EINVAL):
                raise
        finally:
            map_fd.close()

    return undo


def struct_ops_link(obj: Object, map_name: str) -> Link:
    """The link registering struct_ops map ``map_name`` of a loaded object."""
    link = obj.handles.registered.get(map_name) if obj.handles is not None else None
    if link is None:
        raise BPFError(f"struct_ops map {map_name!r} is not registered")
    return link
