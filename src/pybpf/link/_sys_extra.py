"""Kernel calls the link layer needs that ``pybpf.sys`` does not (yet) offer.

Thin, typed wrappers of bpf(2) link commands, perf_event_open(2) and its ioctls,
and mount(2) for tracefs; every call goes through ``pybpf.sys`` primitives
(``syscall.bpf``, ``_ffi.libc``) so errors stay typed.
"""

from __future__ import annotations

import ctypes

from pybpf.errors import AttachError, LinkError
from pybpf.sys import syscall
from pybpf.sys._ffi import NR_PERF_EVENT_OPEN, addr, cstr, libc
from pybpf.sys.attrs import (
    IterCreateAttr,
    LinkCreateAttr,
    LinkDetachAttr,
    LinkUpdateAttr,
    RawTracepointAttr,
)
from pybpf.sys.fd import FD
from pybpf.uapi.enums import AttachType, Cmd

__all__ = [
    "PERF_EVENT_IOC_DISABLE",
    "PERF_EVENT_IOC_ENABLE",
    "PERF_EVENT_IOC_SET_BPF",
    "PerfEventAttr",
    "iter_create",
    "link_create",
    "link_detach",
    "link_update",
    "perf_event_open",
    "perf_ioctl",
    "raw_tracepoint_open",
]

u16 = ctypes.c_uint16
u32 = ctypes.c_uint32
s32 = ctypes.c_int32
u64 = ctypes.c_uint64

# _IO('$', 0), _IO('$', 1), _IOW('$', 8, __u32)
PERF_EVENT_IOC_ENABLE = 0x2400
PERF_EVENT_IOC_DISABLE = 0x2401
PERF_EVENT_IOC_SET_BPF = 0x40042408


def link_create(
    prog_fd: int,
    target_fd: int,
    attach_type: AttachType | int,
    *,
    flags: int = 0,
    extra: dict[str, dict[str, int] | int] | None = None,
    op: str | None = None,
) -> FD:
    """BPF_LINK_CREATE; ``extra`` fills the attach-type specific union member."""
    attr = LinkCreateAttr(
        prog_fd=prog_fd, target_fd=target_fd, attach_type=int(attach_type), flags=flags
    )
    for member, values in (extra or {}).items():
        if isinstance(values, int):
            setattr(attr.extra, member, values)
            continue
        sub = getattr(attr.extra, member)
        for name, value in values.items():
            setattr(sub, name, value)
    what = op or f"create link ({_attach_name(attach_type)})"
    return FD(syscall.bpf(Cmd.LINK_CREATE, attr, op=what, error=AttachError), "link")


def raw_tracepoint_open(prog_fd: int, name: str | None, *, cookie: int = 0) -> FD:
    """BPF_RAW_TRACEPOINT_OPEN: raw_tp by ``name``, or (``None``) a BTF-attached program."""
    buf = cstr(name) if name else None
    attr = RawTracepointAttr(name=addr(buf), prog_fd=prog_fd, cookie=cookie)
    size = ctypes.sizeof(attr) if cookie else RawTracepointAttr.cookie.offset
    what = f"open raw tracepoint {name!r}" if name else "attach tracing program"
    return FD(syscall.bpf(Cmd.RAW_TRACEPOINT_OPEN, attr, size, op=what, error=AttachError), "link")


def link_update(link_fd: int, new_prog_fd: int, *, old_prog_fd: int = 0) -> None:
    """BPF_LINK_UPDATE: swap the program of a link (optionally only if ``old_prog_fd``)."""
    flags = 1 << 2 if old_prog_fd else 0  # BPF_F_REPLACE
    attr = LinkUpdateAttr(
        link_fd=link_fd, new_prog_fd=new_prog_fd, flags=flags, old_prog_fd=old_prog_fd
    )
    syscall.bpf(Cmd.LINK_UPDATE, attr, op="update link program", error=LinkError)


def link_detach(link_fd: int) -> None:
    """BPF_LINK_DETACH: detach the link's program now, even if others hold the link."""
    syscall.bpf(Cmd.LINK_DETACH, LinkDetachAttr(link_fd=link_fd), op="detach link", error=LinkError)


def iter_create(link_fd: int) -> FD:
    """BPF_ITER_CREATE: a readable fd producing one pass of an iterator link."""
    attr = IterCreateAttr(link_fd=link_fd)
    return FD(syscall.bpf(Cmd.ITER_CREATE, attr, op="create iterator"), "iter")


class PerfEventAttr(ctypes.Structure):
    """``struct perf_event_attr`` (PERF_ATTR_SIZE_VER8: 136 bytes)."""

    _fields_ = (
        ("type", u32),
        ("size", u32),
        ("config", u64),
        ("sample_period", u64),  # also sample_freq
        ("sample_type", u64),
        ("read_format", u64),
        ("flags", u64),  # disabled:1, inherit:1, pinned:1, ... freq:1 (bit 10) ...
        ("wakeup_events", u32),
        ("bp_type", u32),
        ("config1", u64),  # also kprobe_func, uprobe_path, bp_addr
        ("config2", u64),  # also kprobe_addr, probe_offset, bp_len
        ("branch_sample_type", u64),
        ("sample_regs_user", u64),
        ("sample_stack_user", u32),
        ("clockid", s32),
        ("sample_regs_intr", u64),
        ("aux_watermark", u32),
        ("sample_max_stack", u16),
        ("_reserved_2", u16),
        ("aux_sample_size", u32),
        ("_reserved_3", u32),
        ("sig_data", u64),
        ("config3", u64),
    )


PERF_FLAG_DISABLED = 1 << 0
PERF_FLAG_FREQ = 1 << 10
PERF_FLAG_FD_CLOEXEC = 8  # perf_event_open flags argument


def perf_event_open(
    attr: PerfEventAttr, *, pid: int = -1, cpu: int = 0, group_fd: int = -1, what: str = ""
) -> FD:
    """perf_event_open(2) with close-on-exec; raises AttachError naming ``what``."""
    attr.size = ctypes.sizeof(PerfEventAttr)
    ret = int(
        libc.syscall(
            NR_PERF_EVENT_OPEN, ctypes.byref(attr), pid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC
        )
    )
    if ret < 0:
        err = ctypes.get_errno()
        raise AttachError(f"open perf event{' for ' + what if what else ''}", err)
    return FD(ret, "perf_event")


def perf_ioctl(fd: int, request: int, arg: int = 0, *, what: str = "") -> None:
    """ioctl(2) on a perf event fd (ENABLE, DISABLE, SET_BPF)."""
    if libc.ioctl(fd, ctypes.c_ulong(request), ctypes.c_ulong(arg)) < 0:
        err = ctypes.get_errno()
        raise AttachError(what or f"perf ioctl {request:#x}", err)


def _attach_name(attach_type: AttachType | int) -> str:
    try:
        return AttachType(attach_type).name.lower()
    except ValueError:
        return f"attach type {int(attach_type)}"
