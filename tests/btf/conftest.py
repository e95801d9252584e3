"""Fixtures for the BTF tests: compiled objects that carry .BTF, vmlinux BTF, bpftool."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import need

from pybpf.btf import BTF
from pybpf.btf.elfsec import btf_sections

VMLINUX = Path("/sys/kernel/btf/vmlinux")


@pytest.fixture(scope="session")
def btf_objects(bpf_objects: Path) -> list[Path]:
    """Every compiled test object that has a .BTF section."""
    objs = [p for p in sorted(bpf_objects.glob("*.bpf.o")) if btf_sections(p.read_bytes())[0]]
    assert any(p.name == "btf_types.bpf.o" for p in objs), objs
    return objs


@pytest.fixture(scope="session")
def vmlinux_btf() -> BTF:
    """The kernel's BTF, parsed without the on-disk cache."""
    need(VMLINUX.exists(), "kernel has no BTF (/sys/kernel/btf/vmlinux)")
    return BTF.from_file(VMLINUX)
