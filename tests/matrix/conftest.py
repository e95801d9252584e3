"""Kernel-matrix helpers: which kernel runs the tests and what it must have.

These tests run on this host (6.18 without kprobes or trampolines) and, through
``scripts/vmtest.sh KERNEL``, on Debian's 5.10, 6.1 and 6.12 kernels. Each decides
from the kernel version (and, for the host's missing kprobes/trampolines, the
kernel's own answer) whether the feature must work or must give the clear error.
In a matrix VM (``PYBPF_VMTEST_KERNEL`` set), kprobes, trampolines and BPF LSM
are required: Debian builds them in, so a clear error there is a failure.
"""

from __future__ import annotations

import os
import platform
import re

import pytest

IN_VM = os.environ.get("PYBPF_VMTEST_KERNEL")


def kernel_version() -> tuple[int, int]:
    """(major, minor) of the running kernel."""
    m = re.match(r"(\d+)\.(\d+)", platform.release())
    assert m, platform.release()
    return int(m.group(1)), int(m.group(2))


def has(version: str) -> bool:
    """The running kernel is at least ``version`` ("5.18")."""
    major, minor = (int(x) for x in version.split("."))
    return kernel_version() >= (major, minor)


def kconfig(name: str) -> bool:
    """``CONFIG_<name>`` is y or m in the running kernel's config (False if unreadable)."""
    from pybpf.errors import ExternError
    from pybpf.kernel.kconfig import read_kernel_config

    try:
        value = read_kernel_config().get(f"CONFIG_{name}")
    except ExternError:
        return False
    return str(value) in ("y", "m", "True", "Tristate.YES", "Tristate.MODULE")


def kprobes() -> bool:
    """The kernel has kprobes; in a matrix VM it must."""
    from pybpf.sys import features

    present = features.has_kprobes()
    if IN_VM:
        assert present, f"Debian's {platform.release()} has kprobes; pybpf found none"
    return present


def trampolines() -> bool:
    """The kernel makes BPF trampolines (fentry/fexit/lsm); in a matrix VM it must."""
    from pybpf.sys import features

    present = features.has_trampolines()
    if IN_VM:
        assert present, f"Debian's {platform.release()} has BPF trampolines; pybpf found none"
    return present


@pytest.fixture()
def target(kernel: None) -> int:
    """The pid of this test process, the target the matrix programs filter on."""
    return os.getpid()
