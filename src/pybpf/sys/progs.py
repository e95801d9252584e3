"""Program commands of bpf(2): load (with the verifier-log protocol), test run,
attach/detach/query to a target fd, bind a map.

Loading tries without a log first (fast path); on failure it loads again with a
log buffer that grows until the whole log fits, and raises
:class:`~pybpf.errors.VerifierError` carrying it.
"""

from __future__ import annotations

import ctypes
import errno
import functools
from collections.abc import Callable, Sequence
from typing import ParamSpec

from pybpf._dataclass import dataclass
from pybpf.errors import (
    AttachError,
    KernelError,
    NotSupportedError,
    ProgramLoadError,
    VerifierError,
)
from pybpf.sys import syscall
from pybpf.sys._ffi import addr, c_buffer, cstr
from pybpf.sys.attrs import ProgAttachAttr, ProgBindMapAttr, ProgLoadAttr, QueryAttr, TestRunAttr
from pybpf.sys.fd import FD
from pybpf.sys.maps import FdLike, fdnum, obj_name
from pybpf.uapi.enums import LOG_BUF_SIZE_MAX, AttachType, Cmd, ProgType

__all__ = [
    "DEFAULT_LOG_SIZE",
    "QueryResult",
    "RunResult",
    "attach_type_name",
    "prog_attach",
    "prog_bind_map",
    "prog_detach",
    "prog_load",
    "prog_load_log",
    "prog_query",
    "prog_test_run",
    "trampoline_error",
    "trampoline_refused",
]

DEFAULT_LOG_SIZE = 64 * 1024  # first verifier log buffer; grows as needed
_MIN_LOG_SIZE = 128  # the kernel refuses smaller log buffers
_INSN_SIZE = 8
P = ParamSpec("P")


def prog_load_log(
    prog_type: ProgType | int,
    insns: bytes,
    *,
    license: str = "GPL",
    name: str = "",
    log_level: int = 0,
    log_size: int = DEFAULT_LOG_SIZE,
    kern_version: int = 0,
    flags: int = 0,
    ifindex: int = 0,
    expected_attach_type: AttachType | int = 0,
    btf_fd: FdLike | None = None,
    func_info: bytes = b"",
    func_info_rec_size: int = 0,
    line_info: bytes = b"",
    line_info_rec_size: int = 0,
    attach_btf_id: int = 0,
    attach_btf_obj_fd: FdLike | None = None,
    attach_prog_fd: FdLike | None = None,
    fd_array: Sequence[int] | None = None,
    token_fd: FdLike | None = None,
) -> tuple[FD, str]:
    """BPF_PROG_LOAD: load ``insns`` (raw instruction bytes); return the program fd and log.

    On rejection raises :class:`VerifierError` with the complete verifier log (or
    :class:`ProgramLoadError` when the kernel gave no log). ``log_level`` > 0 asks
    for the log even on success; at ``log_level`` 0 the returned log is empty.
    """
    from pybpf.sys import features
    from pybpf.sys.memlock import ensure_memlock

    if len(insns) % _INSN_SIZE or not insns:
        raise ValueError(f"program {name!r}: {len(insns)} bytes is not a whole number of insns")
    if attach_btf_obj_fd is not None and attach_prog_fd is not None:
        raise ValueError("attach_btf_obj_fd and attach_prog_fd share a field: give one")
    ensure_memlock()
    code = c_buffer(insns)
    lic = cstr(license)
    finfo = c_buffer(func_info) if func_info else None
    linfo = c_buffer(line_info) if line_info else None
    fds = (ctypes.c_int32 * len(fd_array))(*fd_array) if fd_array else None
    attr = ProgLoadAttr(
        prog_type=int(prog_type),
        insn_cnt=len(insns) // _INSN_SIZE,
        insns=addr(code),
        license=addr(lic),
        kern_version=kern_version,
        prog_flags=int(flags),
        prog_ifindex=ifindex,
        expected_attach_type=int(expected_attach_type),
        prog_btf_fd=fdnum(btf_fd),
        func_info_rec_size=func_info_rec_size if func_info else 0,
        func_info=addr(finfo),
        func_info_cnt=len(func_info) // func_info_rec_size if func_info else 0,
        line_info_rec_size=line_info_rec_size if line_info else 0,
        line_info=addr(linfo),
        line_info_cnt=len(line_info) // line_info_rec_size if line_info else 0,
        attach_btf_id=attach_btf_id,
        attach_prog_fd=fdnum(attach_btf_obj_fd) or fdnum(attach_prog_fd),
        fd_array=addr(fds),
        prog_token_fd=fdnum(token_fd),
    )
    if name and features.has_prog_name():
        attr.prog_name = obj_name(name)
    label = name or _type_name(prog_type)
    op = f"load program {label!r}"

    first_err = 0
    if log_level == 0:
        try:
            return FD(syscall.bpf(Cmd.PROG_LOAD, attr, op=op), "prog"), ""
        except KernelError as exc:
            first_err = exc.errno or 0
    level = log_level or 1
    size = max(log_size, _MIN_LOG_SIZE)
    while True:
        buf = ctypes.create_string_buffer(size)
        attr.log_level, attr.log_size, attr.log_buf = level, size, addr(buf)
        attr.log_true_size = 0
        try:
            fd = FD(syscall.bpf(Cmd.PROG_LOAD, attr, op=op), "prog")
        except KernelError as exc:
            err = exc.errno or 0
            log = buf.value.decode(errors="replace")
            if err == errno.ENOSPC and size < LOG_BUF_SIZE_MAX:
                size = _grow(size, int(attr.log_true_size))
                continue
            raise _load_error(
                label, err or first_err, log, exc, prog_type, expected_attach_type
            ) from exc
        return fd, buf.value.decode(errors="replace") if log_level else ""


def _fd_only(load: Callable[P, tuple[FD, str]]) -> Callable[P, FD]:
    """``load`` with the same arguments, returning only the fd."""

    def prog_load(*args: P.args, **kwargs: P.kwargs) -> FD:
        """BPF_PROG_LOAD: :func:`prog_load_log` without the log; returns the program fd."""
        return load(*args, **kwargs)[0]

    functools.update_wrapper(prog_load, load, assigned=("__module__",))  # signature of load
    return prog_load


prog_load = _fd_only(prog_load_log)


def _grow(size: int, true_size: int) -> int:
    """Next log buffer size: what the kernel says it needs (>= 6.4), else double."""
    if true_size > size:
        return min(true_size + 1, LOG_BUF_SIZE_MAX)
    return min(size * 4, LOG_BUF_SIZE_MAX)


def _type_name(prog_type: ProgType | int) -> str:
    try:
        return ProgType(prog_type).name.lower()
    except ValueError:
        return f"type {int(prog_type)}"


#: Attach types whose programs run through a BPF trampoline: fentry/fexit (5.5),
#: fmod_ret (5.7), lsm (5.7, BPF_LSM_MAC), lsm_cgroup (6.0). freplace (BPF_PROG_TYPE_EXT,
#: 5.6) uses one too, with attach type 0.
_TRAMPOLINE_ATTACH = frozenset(
    {
        AttachType.TRACE_FENTRY,
        AttachType.TRACE_FEXIT,
        AttachType.MODIFY_RETURN,
        AttachType.LSM_MAC,
        AttachType.LSM_CGROUP,
    }
)
#: How a kernel without trampolines refuses them: EPERM from the verifier where the JIT
#: cannot make one (this 6.18 host, no ftrace direct calls), ENOTSUPP (524) from the
#: weak ``bpf_arch_text_poke()``/``arch_prepare_bpf_trampoline()`` stubs of kernel/bpf/
#: (arches without them), EOPNOTSUPP from ``register_ftrace_direct()`` without
#: CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS.
_TRAMPOLINE_ERRNOS = frozenset({errno.EPERM, errno.EOPNOTSUPP, syscall.ENOTSUPP})


def trampoline_refused(
    err: int, attach_type: AttachType | int | None, prog_type: ProgType | int | None = None
) -> bool:
    """Whether ``err`` from loading or attaching a program of ``attach_type`` (and
    ``prog_type``) means the kernel cannot make BPF trampolines: the one check that
    the loader, the tracing attach and the raw load share.

    >>> trampoline_refused(errno.EPERM, AttachType.TRACE_FENTRY)
    True
    >>> trampoline_refused(errno.EPERM, AttachType.TRACE_RAW_TP)  # tp_btf: no trampoline
    False
    """
    if err not in _TRAMPOLINE_ERRNOS:
        return False
    if prog_type is not None and int(prog_type) == ProgType.EXT:
        return True
    return attach_type is not None and int(attach_type) in _TRAMPOLINE_ATTACH


def trampoline_error(
    err: int, *, kind: str = "fentry", program: str = "", target: str = ""
) -> NotSupportedError:
    """The error for a kernel that refused a trampoline-based program (load or attach):
    says that the kernel cannot make BPF trampolines and what to use instead."""
    what = f"{kind} program {program!r}" if program else f"{kind} programs"
    if target:
        what += f" on {target}"
    reason = {
        errno.EPERM: "the kernel refused to create a BPF trampoline (EPERM)",
        errno.EOPNOTSUPP: "the kernel has no BPF trampoline support (EOPNOTSUPP)",
        syscall.ENOTSUPP: "the kernel has no BPF trampoline support (ENOTSUPP)",
    }.get(err, f"the kernel refused the BPF trampoline (errno {err})")
    hint = (
        f"{reason}: {what} need BPF trampolines (an x86-64/arm64 BPF JIT with "
        "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS / CONFIG_FUNCTION_TRACER; "
        "lsm also needs CONFIG_BPF_LSM with 'bpf' in the lsm= list); "
        "use a tracepoint (tp/), raw tracepoint (raw_tp/) or BTF tracepoint (tp_btf/) "
        "program instead"
    )
    return NotSupportedError("tracing trampolines (fentry/fexit/fmod_ret/lsm)", hint, errno=err)


def _load_error(
    name: str,
    err: int,
    log: str,
    exc: KernelError,
    prog_type: ProgType | int,
    attach_type: AttachType | int,
) -> ProgramLoadError:
    truncated = err == errno.ENOSPC
    # EFAULT too: the verifier's "sequence of N jumps is too complex" comes back as it
    if log.strip() and err in (errno.EACCES, errno.EINVAL, errno.ENOSPC, errno.E2BIG, errno.EFAULT):
        return VerifierError(name, err, log, truncated=truncated)
    hint = exc.hint
    if trampoline_refused(err, attach_type, prog_type):
        hint = trampoline_error(err, program=name).hint
    return ProgramLoadError(exc.op, err, exc.detail, hint=hint, program=name, log=log)


@dataclass(frozen=True)
class RunResult:
    """Outcome of BPF_PROG_TEST_RUN."""

    retval: int
    duration_ns: int
    data_out: bytes
    ctx_out: bytes


def prog_test_run(
    fd: FdLike,
    *,
    data_in: bytes = b"",
    data_out_size: int | None = None,
    ctx_in: bytes = b"",
    ctx_out_size: int | None = None,
    repeat: int = 0,
    flags: int = 0,
    cpu: int = 0,
    batch_size: int = 0,
    prog_type: ProgType | int | None = None,
) -> RunResult:
    """BPF_PROG_TEST_RUN: run the program on ``data_in``/``ctx_in`` in the kernel.

    ``data_out_size`` defaults to room for the input plus headroom (XDP may grow it);
    ``ctx_out_size`` to the size of ``ctx_in``. With ``prog_type`` SYSCALL no
    ``ctx_out`` buffer is passed (the kernel refuses one): the kernel writes the ctx
    back into ``ctx_in``, and that comes back as ``ctx_out``.
    """
    syscall_prog = prog_type == ProgType.SYSCALL
    if syscall_prog and ctx_out_size:
        raise ValueError("syscall programs return their ctx in ctx_in: give no ctx_out_size")
    if data_out_size is None:
        data_out_size = len(data_in) + 256 if data_in else 0
    if ctx_out_size is None:
        ctx_out_size = 0 if syscall_prog else len(ctx_in)
    din = c_buffer(data_in) if data_in else None
    dout = ctypes.create_string_buffer(data_out_size) if data_out_size else None
    cin = c_buffer(ctx_in) if ctx_in else None
    cout = ctypes.create_string_buffer(ctx_out_size) if ctx_out_size else None
    attr = TestRunAttr(
        prog_fd=fdnum(fd),
        data_size_in=len(data_in),
        data_size_out=data_out_size,
        data_in=addr(din),
        data_out=addr(dout),
        repeat=repeat,
        ctx_size_in=len(ctx_in),
        ctx_size_out=ctx_out_size,
        ctx_in=addr(cin),
        ctx_out=addr(cout),
        flags=flags,
        cpu=cpu,
        batch_size=batch_size,
    )
    syscall.bpf(Cmd.PROG_TEST_RUN, attr, op="test-run program")
    if syscall_prog:
        ctx_out = cin.raw[: len(ctx_in)] if cin else b""
    else:
        ctx_out = cout.raw[: min(attr.ctx_size_out, ctx_out_size)] if cout else b""
    return RunResult(
        retval=int(attr.retval),
        duration_ns=int(attr.duration),
        data_out=dout.raw[: min(attr.data_size_out, data_out_size)] if dout else b"",
        ctx_out=ctx_out,
    )


def _attach_attr(
    target_fd: FdLike,
    prog_fd: FdLike | None,
    attach_type: AttachType | int,
    flags: int,
    replace_prog_fd: FdLike | None,
    relative_fd: FdLike | None,
    relative_id: int,
    expected_revision: int,
) -> ProgAttachAttr:
    if relative_fd is not None and relative_id:
        raise ValueError("relative_fd and relative_id share a field: give one")
    return ProgAttachAttr(
        target_fd=fdnum(target_fd),
        attach_bpf_fd=fdnum(prog_fd),
        attach_type=int(attach_type),
        attach_flags=int(flags),
        replace_bpf_fd=fdnum(replace_prog_fd),
        relative_fd=fdnum(relative_fd) or relative_id,
        expected_revision=expected_revision,
    )


def prog_attach(
    target_fd: FdLike,
    prog_fd: FdLike,
    attach_type: AttachType | int,
    flags: int = 0,
    *,
    replace_prog_fd: FdLike | None = None,
    relative_fd: FdLike | None = None,
    relative_id: int = 0,
    expected_revision: int = 0,
) -> None:
    """BPF_PROG_ATTACH: attach to a cgroup, sockmap, netns, tcx device (``target_fd``)."""
    attr = _attach_attr(
        target_fd,
        prog_fd,
        attach_type,
        flags,
        replace_prog_fd,
        relative_fd,
        relative_id,
        expected_revision,
    )
    op = f"attach program ({attach_type_name(attach_type)})"
    syscall.bpf(Cmd.PROG_ATTACH, attr, op=op, error=AttachError)


def prog_detach(
    target_fd: FdLike,
    attach_type: AttachType | int,
    prog_fd: FdLike | None = None,
    *,
    flags: int = 0,
    relative_fd: FdLike | None = None,
    relative_id: int = 0,
    expected_revision: int = 0,
) -> None:
    """BPF_PROG_DETACH: detach ``prog_fd`` (or the only program) from ``target_fd``."""
    attr = _attach_attr(
        target_fd, prog_fd, attach_type, flags, None, relative_fd, relative_id, expected_revision
    )
    op = f"detach program ({attach_type_name(attach_type)})"
    syscall.bpf(Cmd.PROG_DETACH, attr, op=op, error=AttachError)


def attach_type_name(attach_type: AttachType | int) -> str:
    """``attach_type`` for messages: ``cgroup_inet_ingress``, or ``attach type 99``."""
    try:
        return AttachType(attach_type).name.lower()
    except ValueError:
        return f"attach type {int(attach_type)}"


@dataclass(frozen=True)
class QueryResult:
    """Programs (and links) attached at a hook, from BPF_PROG_QUERY."""

    attach_flags: int
    prog_ids: list[int]
    prog_attach_flags: list[int]
    link_ids: list[int]
    link_attach_flags: list[int]
    revision: int


def prog_query(
    target_fd: FdLike,
    attach_type: AttachType | int,
    *,
    query_flags: int = 0,
    capacity: int = 64,
) -> QueryResult:
    """BPF_PROG_QUERY: what is attached to ``target_fd`` for ``attach_type``."""
    while True:
        ids = (ctypes.c_uint32 * capacity)()
        pflags = (ctypes.c_uint32 * capacity)()
        lids = (ctypes.c_uint32 * capacity)()
        lflags = (ctypes.c_uint32 * capacity)()
        attr = QueryAttr(
            target_fd=fdnum(target_fd),
            attach_type=int(attach_type),
            query_flags=query_flags,
            prog_ids=addr(ids),
            count=capacity,
            prog_attach_flags=addr(pflags),
            link_ids=addr(lids),
            link_attach_flags=addr(lflags),
        )
        try:
            syscall.bpf(Cmd.PROG_QUERY, attr, op=f"query {attach_type_name(attach_type)} programs")
        except KernelError as exc:
            if exc.errno == errno.ENOSPC and attr.count > capacity:
                capacity = int(attr.count)
                continue
            if exc.errno in (errno.E2BIG, errno.EINVAL):
                # kernels before the link fields (6.6) refuse them (E2BIG past their
                # bpf_attr, EINVAL inside it): ask again with only the old fields
                return _query_old(target_fd, attach_type, query_flags, capacity)
            raise
        n = int(attr.count)
        return QueryResult(
            attach_flags=int(attr.attach_flags),
            prog_ids=list(ids[:n]),
            prog_attach_flags=list(pflags[:n]),
            link_ids=list(lids[:n]),
            link_attach_flags=list(lflags[:n]),
            revision=int(attr.revision),
        )


def _query_old(
    target_fd: FdLike, attach_type: AttachType | int, query_flags: int, capacity: int
) -> QueryResult:
    ids = (ctypes.c_uint32 * capacity)()
    attr = QueryAttr(
        target_fd=fdnum(target_fd),
        attach_type=int(attach_type),
        query_flags=query_flags,
        prog_ids=addr(ids),
        count=capacity,
    )
    syscall.bpf(Cmd.PROG_QUERY, attr, QueryAttr.prog_attach_flags.offset, op="query programs")
    n = int(attr.count)
    return QueryResult(int(attr.attach_flags), list(ids[:n]), [], [], [], 0)


def prog_bind_map(prog_fd: FdLike, map_fd: FdLike) -> None:
    """BPF_PROG_BIND_MAP: keep ``map_fd`` alive as long as the program (e.g. .rodata)."""
    attr = ProgBindMapAttr(prog_fd=fdnum(prog_fd), map_fd=fdnum(map_fd))
    syscall.bpf(Cmd.PROG_BIND_MAP, attr, op="bind map to program")
