"""Link commands of bpf(2): create (with the per-kind extras), update, detach,
iterators, raw tracepoints, stats, and task_fd_query."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

from pybpf._dataclass import dataclass
from pybpf.errors import AttachError, LinkError
from pybpf.sys import syscall
from pybpf.sys._ffi import addr, c_buffer, cstr
from pybpf.sys.attrs import (
    EnableStatsAttr,
    IterCreateAttr,
    LinkCreateAttr,
    LinkDetachAttr,
    LinkUpdateAttr,
    RawTracepointAttr,
    TaskFdQueryAttr,
)
from pybpf.sys.fd import FD
from pybpf.sys.maps import FdLike, fdnum
from pybpf.sys.progs import attach_type_name
from pybpf.uapi.enums import AttachFlags, AttachType, Cmd, StatsType, TaskFdType

__all__ = [
    "KprobeMulti",
    "Netfilter",
    "Relative",
    "TaskFdInfo",
    "UprobeMulti",
    "enable_stats",
    "iter_create",
    "link_create",
    "link_detach",
    "link_update",
    "raw_tracepoint_open",
    "task_fd_query",
]


@dataclass(frozen=True)
class KprobeMulti:
    """kprobe_multi link target: by symbol names or addresses, with optional cookies."""

    syms: Sequence[str] = ()
    addrs: Sequence[int] = ()
    cookies: Sequence[int] = ()
    flags: int = 0  # KprobeMultiFlags.RETURN for kretprobes


@dataclass(frozen=True)
class UprobeMulti:
    """uprobe_multi link target: offsets in ``path``, optional ref counters, cookies, pid."""

    path: str
    offsets: Sequence[int]
    ref_ctr_offsets: Sequence[int] = ()
    cookies: Sequence[int] = ()
    pid: int = 0
    flags: int = 0  # UprobeMultiFlags.RETURN for uretprobes


@dataclass(frozen=True)
class Netfilter:
    """netfilter link hook: protocol family, hook number, priority, flags."""

    pf: int
    hooknum: int
    priority: int
    flags: int = 0


@dataclass(frozen=True)
class Relative:
    """Position of a tcx/netkit/cgroup link relative to another program or link."""

    relative_fd: FdLike | None = None
    relative_id: int = 0
    expected_revision: int = 0


def _u64s(values: Sequence[int]) -> ctypes.Array[ctypes.c_uint64] | None:
    return (ctypes.c_uint64 * len(values))(*values) if values else None


def _check_len(what: str, values: Sequence[object], n: int) -> None:
    if values and len(values) != n:
        raise ValueError(f"{len(values)} {what} for {n} probes")


def link_create(
    prog_fd: FdLike,
    target_fd: FdLike | int,
    attach_type: AttachType | int,
    *,
    flags: int = 0,
    target_btf_id: int = 0,
    iter_info: bytes | None = None,
    perf_event_cookie: int | None = None,
    tracing_cookie: int | None = None,
    kprobe_multi: KprobeMulti | None = None,
    uprobe_multi: UprobeMulti | None = None,
    netfilter: Netfilter | None = None,
    relative: Relative | None = None,
    op: str | None = None,
) -> FD:
    """BPF_LINK_CREATE: attach ``prog_fd`` to ``target_fd`` (or ifindex) and return the link.

    Give at most one of the per-kind extras; they share the kernel's union.
    """
    given = [
        name
        for name, value in (
            ("iter_info", iter_info),
            ("perf_event_cookie", perf_event_cookie),
            ("tracing_cookie", tracing_cookie),
            ("kprobe_multi", kprobe_multi),
            ("uprobe_multi", uprobe_multi),
            ("netfilter", netfilter),
            ("relative", relative),
        )
        if value is not None
    ]
    if target_btf_id and tracing_cookie is None:
        given.append("target_btf_id")
    if len(given) > 1:
        raise ValueError(f"link_create: {', '.join(given)} share one union: give one")
    attr = LinkCreateAttr(
        prog_fd=fdnum(prog_fd),
        target_fd=fdnum(target_fd),
        attach_type=int(attach_type),
        flags=flags,
    )
    keep: list[object] = []  # buffers that must outlive the syscall
    ex = attr  # the per-kind extras: members of an anonymous union, as in C
    if tracing_cookie is not None:
        ex.tracing.target_btf_id = target_btf_id
        ex.tracing.cookie = tracing_cookie
    elif target_btf_id:
        ex.target_btf_id = target_btf_id
    if iter_info is not None:
        buf = c_buffer(iter_info)
        keep.append(buf)
        ex.iter_info, ex.iter_info_len = addr(buf), len(iter_info)
    if perf_event_cookie is not None:
        ex.perf_event.bpf_cookie = perf_event_cookie
    if kprobe_multi is not None:
        km = kprobe_multi
        n = len(km.syms) or len(km.addrs)
        if not n or (km.syms and km.addrs):
            raise ValueError("kprobe_multi: give either syms or addrs")
        _check_len("cookies", km.cookies, n)
        ex.kprobe_multi.flags, ex.kprobe_multi.cnt = km.flags, n
        if km.syms:
            names = [cstr(s) for s in km.syms]
            ptrs = (ctypes.c_uint64 * n)(*(addr(s) for s in names))
            keep += [names, ptrs]
            ex.kprobe_multi.syms = addr(ptrs)
        addrs, cookies = _u64s(km.addrs), _u64s(km.cookies)
        keep += [addrs, cookies]
        ex.kprobe_multi.addrs, ex.kprobe_multi.cookies = addr(addrs), addr(cookies)
    if uprobe_multi is not None:
        um = uprobe_multi
        n = len(um.offsets)
        if not n:
            raise ValueError("uprobe_multi: no offsets")
        _check_len("ref_ctr_offsets", um.ref_ctr_offsets, n)
        _check_len("cookies", um.cookies, n)
        path = cstr(um.path)
        offs, refs, cookies = _u64s(um.offsets), _u64s(um.ref_ctr_offsets), _u64s(um.cookies)
        keep += [path, offs, refs, cookies]
        u = ex.uprobe_multi
        u.path, u.offsets, u.ref_ctr_offsets, u.cookies = (
            addr(path),
            addr(offs),
            addr(refs),
            addr(cookies),
        )
        u.cnt, u.flags, u.pid = n, um.flags, um.pid
    if netfilter is not None:
        nf = ex.netfilter
        nf.pf, nf.hooknum, nf.priority, nf.flags = (
            netfilter.pf,
            netfilter.hooknum,
            netfilter.priority,
            netfilter.flags,
        )
    if relative is not None:
        if relative.relative_fd is not None and relative.relative_id:
            raise ValueError("relative_fd and relative_id share a field: give one")
        ex.tcx.relative_fd = fdnum(relative.relative_fd) or relative.relative_id
        ex.tcx.expected_revision = relative.expected_revision
    label = op or f"create {attach_type_name(attach_type)} link"
    fd = syscall.bpf(Cmd.LINK_CREATE, attr, op=label, error=AttachError)
    del keep
    return FD(fd, "link")


def link_update(
    link_fd: FdLike,
    new_prog_fd: FdLike,
    *,
    old_prog_fd: FdLike | None = None,
    flags: int = 0,
    op: str = "update link",
) -> None:
    """BPF_LINK_UPDATE: swap the program of a link (only if it is ``old_prog_fd``, if given).

    Giving ``old_prog_fd`` sets BPF_F_REPLACE, which the kernel requires with it.
    """
    if old_prog_fd is not None:
        flags |= AttachFlags.REPLACE
    attr = LinkUpdateAttr(
        link_fd=fdnum(link_fd),
        new_prog_fd=fdnum(new_prog_fd),
        flags=flags,
        old_prog_fd=fdnum(old_prog_fd),
    )
    syscall.bpf(Cmd.LINK_UPDATE, attr, op=op, error=LinkError)


def link_detach(link_fd: FdLike) -> None:
    """BPF_LINK_DETACH: detach the link from its hook while the fd stays open."""
    attr = LinkDetachAttr(link_fd=fdnum(link_fd))
    syscall.bpf(Cmd.LINK_DETACH, attr, op="detach link", error=LinkError)


def iter_create(link_fd: FdLike) -> FD:
    """BPF_ITER_CREATE: a readable fd producing one pass of an iterator link's output."""
    attr = IterCreateAttr(link_fd=fdnum(link_fd))
    return FD(syscall.bpf(Cmd.ITER_CREATE, attr, op="create iterator"), "iter")


def raw_tracepoint_open(name: str | None, prog_fd: FdLike, cookie: int = 0) -> FD:
    """BPF_RAW_TRACEPOINT_OPEN: attach a raw_tp/tp_btf (name None: from attach_btf_id).

    Without a cookie the attr stops before the cookie field (added in 6.10), so
    older kernels accept it.
    """
    cname = cstr(name) if name else None
    attr = RawTracepointAttr(name=addr(cname), prog_fd=fdnum(prog_fd), cookie=cookie)
    size = ctypes.sizeof(attr) if cookie else RawTracepointAttr.cookie.offset
    what = f"raw tracepoint {name!r}" if name else "BTF tracepoint"
    return FD(
        syscall.bpf(Cmd.RAW_TRACEPOINT_OPEN, attr, size, op=f"attach {what}", error=AttachError),
        "link",
    )


def enable_stats(kind: StatsType = StatsType.RUN_TIME) -> FD:
    """BPF_ENABLE_STATS: run-time statistics are collected while the returned fd is open."""
    attr = EnableStatsAttr(type=int(kind))
    return FD(syscall.bpf(Cmd.ENABLE_STATS, attr, op="enable BPF stats"), "stats")


@dataclass(frozen=True)
class TaskFdInfo:
    """What BPF_TASK_FD_QUERY says about a task's perf-event/raw-tp fd."""

    prog_id: int
    fd_type: TaskFdType | int
    name: str  # tracepoint/function name or uprobe path
    probe_offset: int
    probe_addr: int


def task_fd_query(pid: int, fd: int, flags: int = 0) -> TaskFdInfo:
    """BPF_TASK_FD_QUERY: which program runs on ``fd`` of task ``pid`` and where."""
    buf = ctypes.create_string_buffer(4096)
    attr = TaskFdQueryAttr(pid=pid, fd=fd, flags=flags, buf_len=len(buf), buf=addr(buf))
    syscall.bpf(Cmd.TASK_FD_QUERY, attr, op=f"query fd {fd} of pid {pid}")
    try:
        ftype: TaskFdType | int = TaskFdType(attr.fd_type)
    except ValueError:
        ftype = int(attr.fd_type)
    return TaskFdInfo(
        prog_id=int(attr.prog_id),
        fd_type=ftype,
        name=buf.value.decode(errors="replace"),
        probe_offset=int(attr.probe_offset),
        probe_addr=int(attr.probe_addr),
    )
