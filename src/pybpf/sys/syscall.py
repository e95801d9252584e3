"""The bpf(2) choke point: every BPF system call of pybpf goes through :func:`bpf`.

Failures become typed :mod:`pybpf.errors` exceptions in one place,
:func:`kernel_error`, which names the operation and adds a hint for the errnos
users meet most (EPERM, ENOMEM/memlock, E2BIG, EINVAL, ENOTSUPP).

Below it is the seam: :data:`raw`, a :class:`Syscalls` whose three methods are the only
places pybpf enters the kernel for BPF (bpf(2), perf_event_open(2) and the perf ioctls).
Tests swap it with :func:`replace_syscalls` to reach the paths the real kernel produces
rarely and never on demand (EAGAIN from PROG_LOAD, EINTR, a verifier log that needs a
bigger buffer), as aya's ``sys/fake.rs`` does; everything above the seam, the retry
loops included, runs unchanged.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as _errno
import os
from collections.abc import Iterator
from typing import Any

from pybpf.errors import KernelError
from pybpf.sys._ffi import NR_BPF, NR_PERF_EVENT_OPEN, libc
from pybpf.uapi.enums import Cmd

__all__ = [
    "ENOTSUPP",
    "Syscalls",
    "bpf",
    "effective_caps",
    "kernel_error",
    "memlock_suspect",
    "privilege_hint",
    "privileged",
    "raw",
    "replace_syscalls",
]

# The kernel's internal "operation not supported" (include/linux/errno.h, not a uapi
# errno): BPF code paths return it and bpf(2) passes it through unchanged, e.g. the weak
# bpf_arch_text_poke() stub and BPF_DO_BATCH for map types without batch callbacks.
ENOTSUPP = 524
# PROG_LOAD answers EAGAIN when the verifier was interrupted by a signal it let through
# (kernel/bpf/verifier.c, do_check(): signal_pending -> -EAGAIN); libbpf retries 5 times.
_PROG_LOAD_ATTEMPTS = 5


class Syscalls:
    """The seam: the raw system calls under :func:`bpf` and :mod:`pybpf.sys.perf`.

    Each method returns the call's result, or ``-errno`` when it failed (the kernel's
    own convention, so that a replacement needs no access to libc's errno). Replace the
    module's :data:`raw` instance with :func:`replace_syscalls`.
    """

    def bpf(self, cmd: int, attr: Any, size: int) -> int:
        """bpf(2): ``attr`` is a ``ctypes.byref`` of the attr union, ``size`` its size."""
        ret = int(libc.syscall(NR_BPF, cmd, attr, size))
        return ret if ret >= 0 else -ctypes.get_errno()

    def perf_event_open(self, attr: Any, pid: int, cpu: int, group_fd: int, flags: int) -> int:
        """perf_event_open(2); ``attr`` is a ``ctypes.byref`` of a perf_event_attr."""
        ret = int(libc.syscall(NR_PERF_EVENT_OPEN, attr, pid, cpu, group_fd, ctypes.c_ulong(flags)))
        return ret if ret >= 0 else -ctypes.get_errno()

    def ioctl(self, fd: int, request: int, arg: Any) -> int:
        """ioctl(2) on a perf event fd (enable, disable, set BPF program, get id)."""
        ret = int(libc.ioctl(fd, ctypes.c_ulong(request), arg))
        return ret if ret >= 0 else -ctypes.get_errno()


#: The system calls pybpf makes; tests replace it with :func:`replace_syscalls`.
raw = Syscalls()


@contextlib.contextmanager
def replace_syscalls(fake: Syscalls) -> Iterator[Syscalls]:
    """Route every bpf(2)/perf_event_open(2)/ioctl(2) of pybpf through ``fake`` (a
    :class:`Syscalls`, usually a subclass that answers some calls itself and passes the
    rest to ``super()``) inside the ``with`` block.

    >>> class Interrupted(Syscalls):                    # doctest: +SKIP
    ...     def bpf(self, cmd, attr, size):
    ...         return -errno.EINTR if cmd == Cmd.MAP_CREATE and not self.seen else ...
    """
    global raw
    saved, raw = raw, fake
    try:
        yield fake
    finally:
        raw = saved


# Set by pybpf.sys.memlock once it knows whether the kernel charges memlock.
memlock_suspect: bool = False


def bpf(
    cmd: Cmd,
    attr: ctypes.Structure | ctypes.Union,
    size: int | None = None,
    *,
    op: str | None = None,
    error: type[KernelError] = KernelError,
) -> int:
    """Call bpf(2) with ``attr`` and return its non-negative result.

    ``size`` defaults to ``sizeof(attr)``; ``op`` describes the operation for the
    error message and ``error`` picks the :class:`KernelError` subclass raised.
    EINTR is retried, and EAGAIN too for ``PROG_LOAD`` (as libbpf does).
    """
    nbytes = ctypes.sizeof(attr) if size is None else size
    ptr = ctypes.byref(attr)
    attempts = 0
    while True:
        ret = raw.bpf(int(cmd), ptr, nbytes)
        if ret >= 0:
            return ret
        err = -ret
        attempts += 1
        if err == _errno.EINTR:
            continue
        if err == _errno.EAGAIN and cmd == Cmd.PROG_LOAD and attempts < _PROG_LOAD_ATTEMPTS:
            continue
        raise kernel_error(cmd, err, op=op, error=error)


def kernel_error(
    cmd: Cmd,
    err: int,
    *,
    op: str | None = None,
    error: type[KernelError] = KernelError,
    detail: str | None = None,
) -> KernelError:
    """Turn a failed command's errno into the typed exception, with a hint when useful."""
    what = op or f"bpf({Cmd(cmd).name})"
    return error(what, err, detail, hint=_hint(cmd, err))


_CAP_NET_ADMIN, _CAP_SYS_ADMIN, _CAP_PERFMON, _CAP_BPF = 12, 21, 38, 39


def effective_caps() -> int:
    """The calling thread's effective capability mask (CapEff of /proc/self/status)."""
    try:
        with open("/proc/thread-self/status", "rb") as f:  # bytes: no codec import needed
            for line in f:
                if line.startswith(b"CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def privileged() -> bool:
    """Whether this process holds every privilege BPF asks for: CAP_SYS_ADMIN, or CAP_BPF
    with CAP_PERFMON and CAP_NET_ADMIN (an EPERM then is not about capabilities)."""
    caps = effective_caps()
    if caps & (1 << _CAP_SYS_ADMIN):
        return True
    want = 1 << _CAP_BPF | 1 << _CAP_PERFMON | 1 << _CAP_NET_ADMIN
    return caps & want == want


def privilege_hint() -> str:
    """What an EPERM/EACCES from bpf(2) means for this process: what is missing."""
    caps = effective_caps()
    if caps & (1 << _CAP_SYS_ADMIN):
        return "the kernel denied it even with CAP_SYS_ADMIN (lockdown, an LSM or a sysctl)"
    missing = [
        name
        for bit, name in ((_CAP_BPF, "CAP_BPF"), (_CAP_PERFMON, "CAP_PERFMON"))
        if not caps & (1 << bit)
    ]
    if not caps & (1 << _CAP_NET_ADMIN):
        missing.append("CAP_NET_ADMIN (networking programs)")
    text = (
        f"not permitted for uid {os.geteuid()}: run as root, or grant CAP_BPF plus CAP_PERFMON "
        "(tracing) or CAP_NET_ADMIN (networking)"
    )
    if missing:
        text += f"; missing: {', '.join(missing)}"
    try:
        with open("/proc/sys/kernel/unprivileged_bpf_disabled", "rb") as f:
            level = f.read().strip().decode()
    except OSError:
        level = ""
    if level and level != "0" and not caps & (1 << _CAP_BPF):
        text += f"; kernel.unprivileged_bpf_disabled={level} forbids BPF without them"
    return text


def _hint(cmd: Cmd, err: int) -> str | None:
    creates = cmd in (Cmd.MAP_CREATE, Cmd.PROG_LOAD, Cmd.BTF_LOAD, Cmd.LINK_CREATE)
    if err in (_errno.EPERM, _errno.EACCES) and not privileged():
        return privilege_hint()
    if err == _errno.EPERM:
        hint = "needs root or CAP_BPF (plus CAP_PERFMON/CAP_NET_ADMIN for some types)"
        if os.geteuid() == 0:
            hint = "the kernel denied it even to root (lockdown, LSM or a capability missing)"
        if creates and memlock_suspect:
            hint += "; or RLIMIT_MEMLOCK is too low: call pybpf.sys.memlock.bump_memlock_rlimit()"
        return hint
    if err == _errno.ENOMEM and creates and memlock_suspect:
        return "RLIMIT_MEMLOCK is too low: call pybpf.sys.memlock.bump_memlock_rlimit()"
    if err == _errno.E2BIG:
        if cmd in (Cmd.MAP_UPDATE_ELEM, Cmd.MAP_UPDATE_BATCH):
            return "the map is full (max_entries reached)"
        if cmd == Cmd.MAP_CREATE:
            return (
                "max_entries or the key/value size is larger than the kernel allows for this "
                "map type (or the kernel is older than a field set in the request)"
            )
        return "the kernel is older than a field set in the request (non-zero unknown attr bytes)"
    if err == _errno.EINVAL:
        return "the kernel rejected an argument (type, flags or sizes), or lacks the feature"
    if err in (ENOTSUPP, _errno.EOPNOTSUPP):
        return "not supported by this kernel or for this object type"
    if err == _errno.EBADF:
        return "a file descriptor passed is not open or not a BPF object of the right kind"
    return None
