"""Resolve an object's externs on the running kernel: ``.kconfig`` values and ``.ksyms``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pybpf.errors import ExternError

if TYPE_CHECKING:
    from pybpf.elf.externs import ExternSpec
    from pybpf.ksyms import KsymResolution
    from pybpf.object import Object

__all__ = ["kconfig_image", "resolve_object_ksyms"]


def _has_syscall_wrapper() -> bool:
    """Whether syscalls go through ``__<arch>_sys_*`` wrappers (libbpf asks kallsyms)."""
    from pybpf.ksyms import read_kallsyms

    try:
        return bool(
            read_kallsyms().lookup("__x64_sys_bpf") or read_kallsyms().lookup("__arm64_sys_bpf")
        )
    except OSError:
        return False


def kconfig_image(obj: Object, externs: Sequence[ExternSpec], size: int) -> bytes:
    """The ``.kconfig`` map contents for ``externs`` (user overrides win over the kernel's)."""
    from pybpf.kconfig import fill_kconfig, read_kernel_config
    from pybpf.sys import features

    btf = obj.spec.btf
    if btf is None:
        raise ExternError(".kconfig externs need the object's BTF", file=obj.spec.file)
    config: Any = None
    if any(e.name.startswith("CONFIG_") for e in externs):
        try:
            config = dict(read_kernel_config())
        except (OSError, ExternError):
            config = {}
        for k, v in obj.kconfig_overrides.items():
            config[k] = v if isinstance(v, str) else str(v)
    return fill_kconfig(
        btf,
        externs,
        size,
        config=config,
        has_bpf_cookie=features.has_bpf_cookie(),
        has_syscall_wrapper=_has_syscall_wrapper(),
    )


def resolve_object_ksyms(obj: Object, externs: Sequence[ExternSpec]) -> dict[str, KsymResolution]:
    """Resolve ``.ksyms`` externs against kallsyms and kernel (module) BTF."""
    from pybpf.ksyms import KernelBTFs, resolve_ksyms

    btf = obj.spec.btf
    if btf is None:
        raise ExternError(".ksyms externs need the object's BTF", file=obj.spec.file)
    kernel = KernelBTFs(obj.kernel_btf, lambda: obj.module_btfs())
    return resolve_ksyms(btf, externs, kernel)
