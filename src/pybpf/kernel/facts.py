"""The running kernel's :class:`pybpf.plan.facts.KernelFacts`: the one place that asks it.

Each fact is asked on first need only (the feature probes are syscalls, the config
a gzip read, kallsyms a 0.4 s parse), so a load pays for what its object uses.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pybpf.plan.facts import KernelFacts

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = ["running_facts"]


def running_facts(btf_custom_path: str | os.PathLike[str] | None = None) -> KernelFacts:
    """Facts of the running kernel; its BTF replaced by ``btf_custom_path`` if given
    (then no module BTF is searched, as libbpf's ``btf_custom_path`` does)."""
    custom = None if btf_custom_path is None else os.fspath(btf_custom_path)

    def vmlinux() -> BTF:
        from pybpf.btf.reader import BTF, kernel_btf

        return BTF.from_file(custom) if custom is not None else kernel_btf()

    def kconfig() -> dict[str, Any]:
        from pybpf.errors import ExternError
        from pybpf.kernel.kconfig import read_kernel_config

        try:
            return dict(read_kernel_config())
        except (OSError, ExternError):
            return {}  # unreadable: a strong CONFIG_ extern says so when it is used

    def kallsyms() -> Any:
        from pybpf.kernel.ksyms import read_kallsyms

        return read_kallsyms()

    def feature(name: str) -> bool:
        from pybpf.sys import features

        if name == "syscall_wrapper":
            from pybpf.kernel.syscall_wrapper import has_syscall_wrapper

            # the running kernel's BTF answers it when parsed already (not a custom one)
            return has_syscall_wrapper(facts.btf_if_loaded() if custom is None else None)
        probe = {
            "btf": features.has_btf,
            "mmapable_array": features.has_mmapable_array,
            "bpf_cookie": features.has_bpf_cookie,
        }[name]
        return bool(probe())

    def btf_kinds() -> dict[str, bool]:
        from pybpf.sys import features

        return features.btf_kinds()

    def cpus() -> int:
        from pybpf.sys.cpus import num_possible_cpus

        return num_possible_cpus()

    def version() -> int:
        from pybpf.kernel.kconfig import kernel_version

        return kernel_version()

    def core_identity() -> str | None:
        if custom is not None:
            return None
        from pybpf._cachefile import boot_id
        from pybpf.btf.reader import VMLINUX_PATH

        boot = boot_id()
        try:
            size = os.stat(VMLINUX_PATH).st_size
        except OSError:
            return None
        return None if boot is None else f"{boot}:{os.uname().release}:{size}"

    target = None

    def modules() -> list[tuple[str, BTF]]:
        nonlocal target
        if custom is not None:
            return []
        from pybpf.btf.core import CoreTarget

        target = target or CoreTarget.kernel()
        return target.modules

    facts = KernelFacts(
        btf=vmlinux,
        modules=modules,
        kconfig=kconfig,
        kallsyms=kallsyms,
        features=feature,
        btf_kinds=btf_kinds,
        possible_cpus=cpus,
        kernel_version=version,
        name=custom or "vmlinux",
        core_identity=core_identity,
    )
    return facts
