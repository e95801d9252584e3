"""The tools' shipped objects are exactly what their sources build to (clang is
deterministic for the same source and vmlinux.h), so a stale object fails here."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BPF = ROOT / "src" / "pybpf" / "tools" / "bpf"
SHIPPED = ROOT / "src" / "pybpf" / "tools" / "objects"


@pytest.mark.skipif(shutil.which("clang-19") is None, reason="needs clang-19 to rebuild")
def test_shipped_objects_are_up_to_date(tmp_path: Path) -> None:
    out, hdr = tmp_path / "objects", tmp_path / "include"
    proc = subprocess.run(
        ["make", "-s", "-B", "-C", str(TOOLS_BPF), f"OUT={out}", f"HDR={hdr}"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    sources = sorted(p.name.removesuffix(".bpf.c") for p in TOOLS_BPF.glob("*.bpf.c"))
    assert sources
    for name in sources:
        built = (out / f"{name}.bpf.o").read_bytes()
        shipped = SHIPPED / f"{name}.bpf.o"
        assert shipped.exists(), f"{shipped} is not committed: run make -C {TOOLS_BPF}"
        assert built == shipped.read_bytes(), (
            f"{shipped.name} is stale: rebuild with make -C src/pybpf/tools/bpf"
        )
