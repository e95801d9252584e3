"""Object-level commands of bpf(2): pin/get on bpffs, walk ids, open objects by id."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Literal

from pybpf.errors import KernelError
from pybpf.sys import syscall
from pybpf.sys._ffi import addr, cstr
from pybpf.sys.attrs import GetIdAttr, ObjAttr
from pybpf.sys.fd import FD
from pybpf.sys.maps import FdLike, fdnum
from pybpf.uapi.enums import Cmd

__all__ = ["ObjKind", "get_fd_by_id", "get_next_id", "ids", "obj_get", "obj_pin"]

ObjKind = Literal["prog", "map", "link", "btf"]

_NEXT_ID: dict[str, Cmd] = {
    "prog": Cmd.PROG_GET_NEXT_ID,
    "map": Cmd.MAP_GET_NEXT_ID,
    "link": Cmd.LINK_GET_NEXT_ID,
    "btf": Cmd.BTF_GET_NEXT_ID,
}
_FD_BY_ID: dict[str, Cmd] = {
    "prog": Cmd.PROG_GET_FD_BY_ID,
    "map": Cmd.MAP_GET_FD_BY_ID,
    "link": Cmd.LINK_GET_FD_BY_ID,
    "btf": Cmd.BTF_GET_FD_BY_ID,
}


def obj_pin(fd: FdLike, path: str) -> None:
    """BPF_OBJ_PIN: pin the object at ``path`` on a bpffs."""
    name = cstr(path)
    attr = ObjAttr(pathname=addr(name), bpf_fd=fdnum(fd))
    syscall.bpf(Cmd.OBJ_PIN, attr, op=f"pin object at {path}")


def obj_get(path: str, file_flags: int = 0, kind: str = "pinned") -> FD:
    """BPF_OBJ_GET: open the object pinned at ``path`` (file_flags: MapFlags.RDONLY/WRONLY)."""
    name = cstr(path)
    attr = ObjAttr(pathname=addr(name), file_flags=file_flags)
    return FD(syscall.bpf(Cmd.OBJ_GET, attr, op=f"open pinned object {path}"), kind)


def get_next_id(kind: ObjKind, start_id: int = 0) -> int | None:
    """BPF_*_GET_NEXT_ID: the first id of ``kind`` after ``start_id``; None when none is left."""
    attr = GetIdAttr(start_id=start_id)
    try:
        syscall.bpf(_NEXT_ID[kind], attr, op=f"walk {kind} ids")
    except KernelError as exc:
        if exc.errno == errno.ENOENT:  # the kernel's way of saying "no id after start_id"
            return None
        raise
    return int(attr.next_id)


def ids(kind: ObjKind) -> Iterator[int]:
    """Every id of ``kind`` loaded in the kernel, in increasing order."""
    cur = get_next_id(kind)
    while cur is not None:
        yield cur
        cur = get_next_id(kind, cur)


def get_fd_by_id(kind: ObjKind, obj_id: int, open_flags: int = 0) -> FD:
    """BPF_*_GET_FD_BY_ID: open the ``kind`` object with id ``obj_id``."""
    attr = GetIdAttr(start_id=obj_id, open_flags=open_flags)
    return FD(syscall.bpf(_FD_BY_ID[kind], attr, op=f"open {kind} id {obj_id}"), kind)
