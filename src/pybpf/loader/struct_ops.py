"""struct_ops maps: kernel-side value layout, program binding and registration.

A ``.struct_ops``/``.struct_ops.link`` variable of type ``struct T`` becomes a
STRUCT_OPS map whose value is the kernel's ``struct bpf_struct_ops_T`` (a common
header and the ``data`` member of type ``T``, found in vmlinux or module BTF).
:func:`create_struct_ops_map` runs before programs load: it copies the object's
non-function members by name into the kernel layout, tells each member program
its attach BTF id (``T``'s id) and expected attach type (the member's index),
and creates the map. :func:`register_struct_ops` runs after programs load: it
writes their fds into the function slots, stores the value (which registers a
plain ``.struct_ops`` map) and, for ``.struct_ops.link`` maps, creates the link.
"""

from __future__ import annotations

import contextlib
import errno
import weakref
from collections.abc import Callable
from dataclasses import field
from typing import TYPE_CHECKING

from pybpf._dataclass import dataclass
from pybpf.btf import BTF, Kind, Ptr, Struct
from pybpf.errors import BPFError, KernelError, MapError, NotSupportedError, ObjectError
from pybpf.link.base import CallbackLink, FDLink, Link
from pybpf.sys import links as syslinks
from pybpf.sys import maps as sysmaps
from pybpf.sys.fd import FD, dup_fd
from pybpf.uapi.enums import AttachType, MapFlags, MapType

if TYPE_CHECKING:
    from pybpf.elf.maps import MapSpec
    from pybpf.map import Map
    from pybpf.object import Object

__all__ = ["create_struct_ops_map", "register_struct_ops", "struct_ops_link"]

_PREFIX = "bpf_struct_ops_"


@dataclass
class _Pending:
    """A created struct_ops map waiting for its programs' fds."""

    value: bytearray
    slots: list[tuple[int, str]]  # (byte offset in value, program name)
    link: Link | None = None


@dataclass
class _State:
    pending: dict[str, _Pending] = field(default_factory=dict)


_STATE: weakref.WeakKeyDictionary[Object, _State] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class _KernelType:
    btf: BTF
    btf_name: str  # "vmlinux" or the module
    wrapper_id: int  # struct bpf_struct_ops_T
    type_id: int  # struct T
    data_offset: int  # byte offset of .data in the wrapper


def _find_in(obj: Object, btf_name: str, btf: BTF, want: str) -> _KernelType | None:
    for wid in btf.find(want, Kind.STRUCT):
        if btf_name != "vmlinux" and wid < len(obj.kernel_btf):
            continue  # a base type seen through the module's split BTF
        wrapper = btf.type(wid)
        if not isinstance(wrapper, Struct):
            continue
        data = next((mb for mb in wrapper.members if mb.name == "data"), None)
        if data is not None:
            return _KernelType(btf, btf_name, wid, btf.resolve(data.type), data.bit_offset // 8)
    return None


def _find_kernel_type(obj: Object, ms: MapSpec) -> _KernelType:
    want = _PREFIX + ms.struct_ops_type
    found = _find_in(obj, "vmlinux", obj.kernel_btf, want)
    if found is not None:
        return found
    with contextlib.suppress(BPFError):  # module BTF only when vmlinux lacks the type
        for btf_name, btf in obj.module_btfs():
            found = _find_in(obj, btf_name, btf, want)
            if found is not None:
                return found
    raise NotSupportedError(
        f"struct_ops type {ms.struct_ops_type!r} (map {ms.name!r})",
        f"the kernel BTF has no {want}; this kernel does not let BPF implement it",
    )


def create_struct_ops_map(obj: Object, ms: MapSpec, m: Map) -> None:
    """Create the STRUCT_OPS map for ``ms`` and bind its member programs (before they load)."""
    spec_btf = obj.spec.btf
    if spec_btf is None:
        raise ObjectError(
            "struct_ops maps need the object's BTF", file=obj.spec.file, section=ms.section
        )
    kt = _find_kernel_type(obj, ms)
    kbtf = kt.btf
    kstruct = kbtf.type(kt.type_id)
    ostruct = spec_btf.type(ms.value_type_id)
    assert isinstance(kstruct, Struct) and isinstance(ostruct, Struct)
    value = bytearray(kbtf.size_of(kt.wrapper_id))
    funcs = dict(ms.func_members)
    slots: list[tuple[int, str]] = []

    def err(msg: str) -> ObjectError:
        return ObjectError(f"struct_ops {ms.name!r}: {msg}", file=obj.spec.file, section=ms.section)

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
            kmt = kbtf.type(kbtf.resolve(km.type))
            if not isinstance(kmt, Ptr):
                raise err(f"member {om.name!r} is not a function pointer in the kernel")
            prog_name = funcs[om.name]
            _bind_program(obj, ms, prog_name, kt, index)
            slots.append((kt.data_offset + km.bit_offset // 8, prog_name))
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
    flags = m.flags
    module_fd: FD | None = None
    if kt.btf_name != "vmlinux":
        module_fd = obj._module_btf_fd(kt.btf_name)
        flags |= MapFlags.VTYPE_BTF_OBJ_FD
    try:
        fd = sysmaps.map_create(
            MapType.STRUCT_OPS,
            4,
            len(value),
            1,
            flags=flags,
            name=ms.name,
            btf_fd=obj._btf_fd,
            btf_vmlinux_value_type_id=kt.wrapper_id,
            value_type_btf_obj_fd=module_fd,
        )
    except MapError as exc:
        raise MapError(
            f"create struct_ops map {ms.name!r} ({ms.struct_ops_type})",
            exc.errno or 0,
            hint=exc.hint,
        ) from exc
    m.value_type_id = 0
    m.value_size = len(value)  # before the fd: sizes are fixed once the map exists
    m._attach_fd(fd)
    _STATE.setdefault(obj, _State()).pending[ms.name] = _Pending(value, slots)
    obj._log(f"created struct_ops map {ms.name!r} ({ms.struct_ops_type}) fd={fd.fileno()}")


def _bind_program(obj: Object, ms: MapSpec, prog_name: str, kt: _KernelType, index: int) -> None:
    try:
        prog = obj.programs[prog_name]
    except (KeyError, BPFError) as exc:
        raise ObjectError(
            f"struct_ops {ms.name!r}: no program {prog_name!r}",
            file=obj.spec.file,
            section=ms.section,
        ) from exc
    if prog.attach_btf_id and (prog.attach_btf_id, prog.expected_attach_type) != (
        kt.type_id,
        index,
    ):
        raise ObjectError(
            f"struct_ops {ms.name!r}: program {prog_name!r} is already bound to another "
            "struct_ops member; use one program per member slot type",
            file=obj.spec.file,
            section=ms.section,
        )
    prog.attach_btf_id = kt.type_id
    prog.expected_attach_type = index
    if kt.btf_name != "vmlinux" and prog.attach_btf_obj_fd is None:
        prog.attach_btf_obj_fd = obj._module_btf_fd(kt.btf_name).dup()


def register_struct_ops(obj: Object) -> None:
    """Fill program fds into created struct_ops maps and register them (after program load).

    ``.struct_ops.link`` maps get a struct_ops link; plain ones are registered by
    the map update and unregistered (map delete) when the returned link closes.
    The links are owned by ``obj`` (closed with it) and found by :func:`struct_ops_link`.
    """
    state = _STATE.get(obj)
    if state is None:
        return
    for name, pend in state.pending.items():
        if pend.link is not None:
            continue
        m = obj.maps[name]
        value = bytearray(pend.value)
        for off, prog_name in pend.slots:
            prog = obj.programs[prog_name]
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
        pend.link = link
        obj._links.append(link)


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
    state = _STATE.get(obj)
    pend = state.pending.get(map_name) if state is not None else None
    if pend is None or pend.link is None:
        raise BPFError(f"struct_ops map {map_name!r} is not registered")
    return pend.link
