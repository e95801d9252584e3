"""Fixtures for the C dump tests: bpftool (the reference), clang, and the test objects."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pybpf.btf import BTF
from pybpf.btf.cdump import dump_c

VMLINUX = Path("/sys/kernel/btf/vmlinux")
CLANG = "clang-19"


@pytest.fixture(scope="session")
def bpftool() -> Callable[[Path], subprocess.CompletedProcess[str]]:
    """Run ``bpftool btf dump file PATH format c`` (skips when bpftool is missing)."""
    exe = shutil.which("bpftool")
    if exe is None:
        pytest.skip("bpftool (the reference dumper) is not installed")

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [exe, "btf", "dump", "file", str(path), "format", "c"],
            capture_output=True,
            text=True,
            errors="surrogateescape",
        )

    return run


@pytest.fixture(scope="session")
def clang() -> str:
    """The clang used for the BPF test objects (skips when missing)."""
    exe = shutil.which(CLANG)
    if exe is None:
        pytest.skip(f"{CLANG} is not installed")
    return exe


@pytest.fixture(scope="session")
def vmlinux_path() -> Path:
    if not VMLINUX.exists():
        pytest.skip("no /sys/kernel/btf/vmlinux")
    return VMLINUX


@pytest.fixture(scope="session")
def vmlinux_btf(vmlinux_path: Path) -> BTF:
    """The kernel's BTF, parsed once for the session."""
    return BTF.from_file(vmlinux_path)


@pytest.fixture(scope="session")
def vmlinux_header(vmlinux_btf: BTF) -> str:
    """``dump_c`` of the kernel's BTF with the kfunc block (what vmlinux.h holds)."""
    return dump_c(vmlinux_btf)
