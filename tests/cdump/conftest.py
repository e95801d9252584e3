"""Fixtures for the C dump tests: bpftool (the reference), clang, and the test objects."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import need, need_tool

from pybpf.btf import BTF
from pybpf.btf.cdump import dump_c

VMLINUX = Path("/sys/kernel/btf/vmlinux")
CLANG = "clang-19"


@pytest.fixture(scope="session")
def bpftool() -> Callable[[Path], subprocess.CompletedProcess[str]]:
    """Run ``bpftool btf dump file PATH format c`` (skips when bpftool is missing)."""
    exe = need_tool("bpftool", "the reference dumper")

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
    exe = need_tool(CLANG, "compiles the dumped headers")
    return exe


@pytest.fixture(scope="session")
def vmlinux_path() -> Path:
    need(VMLINUX.exists(), "kernel has no BTF (/sys/kernel/btf/vmlinux)")
    return VMLINUX


@pytest.fixture(scope="session")
def vmlinux_btf(vmlinux_path: Path) -> BTF:
    """The kernel's BTF, parsed once for the session."""
    return BTF.from_file(vmlinux_path)


@pytest.fixture(scope="session")
def vmlinux_header(vmlinux_btf: BTF) -> str:
    """``dump_c`` of the kernel's BTF with the kfunc block (what vmlinux.h holds)."""
    return dump_c(vmlinux_btf)
