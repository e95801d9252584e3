"""RLIMIT_MEMLOCK: raise it only on kernels that still charge BPF memory to it.

Kernels since 5.11 account BPF memory to the memory cgroup instead; like libbpf,
pybpf detects that by loading a program calling ``bpf_ktime_get_coarse_ns``, a
helper that arrived in the same release.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource

from pybpf.errors import KernelError
from pybpf.sys import _insn, syscall
from pybpf.sys._ffi import addr, c_buffer, cstr
from pybpf.sys.attrs import ProgLoadAttr
from pybpf.uapi.enums import Cmd, ProgType

__all__ = ["bump_memlock_rlimit", "ensure_memlock", "memcg_accounting"]

# FuncId.ktime_get_coarse_ns (UAPI numbers are never reused); spelt as a number so that
# this probe, run by every process that loads, does not build the 212-member FuncId.
KTIME_GET_COARSE_NS = 160
_memcg: bool | None = None
_ensured = False


def _probe_memcg() -> bool:
    code = c_buffer(
        _insn.program(_insn.call(KTIME_GET_COARSE_NS), _insn.mov64_imm(0, 0), _insn.exit_())
    )
    lic = cstr("GPL")
    attr = ProgLoadAttr(
        prog_type=ProgType.SOCKET_FILTER, insn_cnt=3, insns=addr(code), license=addr(lic)
    )
    try:
        fd = syscall.bpf(Cmd.PROG_LOAD, attr)
    except KernelError:
        return False
    os.close(fd)
    return True


def memcg_accounting() -> bool:
    """True if the kernel charges BPF memory to memcg rather than RLIMIT_MEMLOCK."""
    global _memcg
    if _memcg is None:
        from pybpf.sys.probecache import lookup

        _memcg = lookup("memcg_accounting", _probe_memcg)  # kept per boot when privileged
        syscall.memlock_suspect = not _memcg
    return _memcg


def bump_memlock_rlimit(limit: int = resource.RLIM_INFINITY) -> None:
    """Raise RLIMIT_MEMLOCK (soft and hard) to ``limit``; needs CAP_SYS_RESOURCE to raise."""
    try:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (limit, limit))
    except (OSError, ValueError) as exc:
        raise KernelError(
            "raise RLIMIT_MEMLOCK",
            getattr(exc, "errno", None) or errno.EPERM,
            hint="run as root or raise the limit with ulimit -l / systemd LimitMEMLOCK",
        ) from exc


def ensure_memlock() -> None:
    """Once per process, before the first map/program/BTF: bump the limit if it matters."""
    global _ensured
    if _ensured:
        return
    _ensured = True
    if memcg_accounting():
        return
    try:
        bump_memlock_rlimit()
    except KernelError:
        # not permitted to go past the hard limit: at least go up to it; if that is still
        # too little, creation errors carry the memlock hint
        _soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
        with contextlib.suppress(KernelError):
            bump_memlock_rlimit(hard)
