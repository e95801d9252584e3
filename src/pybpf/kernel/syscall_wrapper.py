"""``LINUX_HAS_SYSCALL_WRAPPER``: whether syscalls enter through ``__<arch>_sys_*`` wrappers
(x86-64 since 4.17), answered once per boot without parsing kallsyms."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = ["has_syscall_wrapper", "kallsyms_has_prefix", "syscall_wrapper_from_btf"]


# os.uname().machine -> the arch part of syscall wrapper names (__x64_sys_bpf, ...)
_SYSCALL_ARCH = {
    "x86_64": "x64",
    "i386": "ia32",
    "i686": "ia32",
    "aarch64": "arm64",
    "arm64": "arm64",
    "s390x": "s390x",
    "s390": "s390",
    "riscv64": "riscv",
    "ppc64le": "powerpc",
    "ppc64": "powerpc",
    "mips64": "mips",
    "loongarch64": "loongarch",
}
_wrapper_answer: bool | None = None  # per process; the per-boot file is below


def _wrapper_cache_file() -> Path | None:
    """``<cache dir>/syscall-wrapper-<boot id>``: the answer, valid until reboot."""
    from pybpf._cachefile import boot_id, cache_dir

    boot, d = boot_id(), cache_dir()
    if boot is None or d is None:
        return None
    return d / f"syscall-wrapper-{boot}"


def _read_wrapper_cache(path: Path) -> bool | None:
    from pybpf import _cachefile

    data = _cachefile.read(path)  # None unless a safe file of this user
    return {b"1\n": True, b"0\n": False}.get(bytes(data)) if data is not None else None


def _write_wrapper_cache(path: Path, answer: bool) -> None:
    from pybpf import _cachefile

    _cachefile.write(path, b"1\n" if answer else b"0\n")  # unwritable: only slower


def kallsyms_has_prefix(prefix: str, path: str = "/proc/kallsyms") -> bool:
    """Whether any symbol name in kallsyms starts with ``prefix`` (stops at the first).

    Reads ``path`` in chunks and stops at the first match, so a hit early in the
    file costs a few ms instead of the whole ~140 ms read.
    Example: ``kallsyms_has_prefix("__x64_sys_")``.
    """
    needle = b" " + prefix.encode()
    tail = b""
    try:
        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(1 << 16):
                buf = tail + chunk
                if needle in buf:
                    return True
                tail = buf[-len(needle) :]
    except OSError:
        return False
    return False


def syscall_wrapper_from_btf(btf: BTF, machine: str | None = None) -> bool | None:
    """True when kernel BTF has ``__<arch>_sys_bpf`` as a FUNC; None when it cannot say.

    Absence is not proof (BTF may leave a function out), so it answers None then.
    """
    arch = _SYSCALL_ARCH.get(machine or os.uname().machine)
    if arch is None:
        return False  # an arch without syscall wrappers
    from pybpf.btf.types import Kind

    return True if btf.find(f"__{arch}_sys_bpf", Kind.FUNC) else None


def has_syscall_wrapper(kernel_btf: BTF | None = None) -> bool:
    """Whether syscalls go through ``__<arch>_sys_*`` wrappers (LINUX_HAS_SYSCALL_WRAPPER).

    Answered once per boot: from the per-boot cache file, else from the running
    kernel's BTF when the caller has it loaded already, else by a kallsyms scan that
    stops at the first ``__<arch>_sys_`` symbol. kallsyms is never parsed for it.
    """
    global _wrapper_answer
    if _wrapper_answer is not None:
        return _wrapper_answer
    cache = _wrapper_cache_file()
    answer = _read_wrapper_cache(cache) if cache is not None else None
    if answer is None:
        arch = _SYSCALL_ARCH.get(os.uname().machine)
        if arch is None:
            answer = False
        else:
            if kernel_btf is not None:
                answer = syscall_wrapper_from_btf(kernel_btf)
            if answer is None:
                answer = kallsyms_has_prefix(f"__{arch}_sys_")
        if cache is not None:
            _write_wrapper_cache(cache, answer)
    _wrapper_answer = answer
    return answer
