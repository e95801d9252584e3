"""Differential tests: pybpf's C dump against ``bpftool btf dump ... format c``.

The only normalisation is removing what bpftool 7.5+ adds for kfuncs (which the
installed bpftool 7.1 does not write); everything else must match byte for byte.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cdump_synth import strip_kfunc_additions

from pybpf.btf import BTF
from pybpf.btf.cdump import dump_c
from pybpf.btf.elfsec import btf_sections
from pybpf.errors import BTFError

BPF_SRC = Path(__file__).resolve().parents[1] / "bpf"
OBJECT_STEMS = sorted(p.name.removesuffix(".bpf.c") for p in BPF_SRC.glob("*.bpf.c"))

Bpftool = Callable[[Path], subprocess.CompletedProcess[str]]


def _first_difference(mine: str, ref: str) -> str:
    a, b = mine.splitlines(), ref.splitlines()
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"line {i + 1}:\n  pybpf:   {x!r}\n  bpftool: {y!r}"
    return f"line counts differ: pybpf {len(a)}, bpftool {len(b)}"


def assert_same(mine: str, ref: str) -> None:
    if mine != ref:
        pytest.fail("C dump differs from bpftool's at " + _first_difference(mine, ref))


def test_vmlinux_matches_bpftool(
    bpftool: Bpftool, vmlinux_path: Path, vmlinux_btf: BTF, vmlinux_header: str
) -> None:
    ref = bpftool(vmlinux_path)
    assert ref.returncode == 0, ref.stderr
    assert_same(dump_c(vmlinux_btf, kfuncs=False), ref.stdout)
    with_kfuncs, block = strip_kfunc_additions(vmlinux_header)
    assert_same(with_kfuncs, ref.stdout)
    assert block.count("__weak __ksym;") > 0


@pytest.mark.parametrize("stem", OBJECT_STEMS)
def test_object_matches_bpftool(stem: str, bpf_objects: Path, bpftool: Bpftool) -> None:
    path = bpf_objects / f"{stem}.bpf.o"
    ref = bpftool(path)
    raw, _ = btf_sections(path.read_bytes(), file=str(path))
    if raw is None:
        # Built without -g (legacy_*): bpftool refuses too, and so must we.
        assert ref.returncode != 0
        with pytest.raises(BTFError):
            BTF.from_file(path)
        return
    assert ref.returncode == 0, ref.stderr
    btf = BTF.from_bytes(raw)
    assert_same(dump_c(btf, kfuncs=False), ref.stdout)
    stripped, block = strip_kfunc_additions(dump_c(btf))
    assert_same(stripped, ref.stdout)
    assert block == "\n/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n#endif\n\n"


def test_header_guard_is_configurable(bpf_objects: Path) -> None:
    btf = BTF.from_file(bpf_objects / "cdump_types.bpf.o")
    text = dump_c(btf, kfuncs=False, header_guard="CD_TYPES_H")
    assert text.startswith("#ifndef CD_TYPES_H\n#define CD_TYPES_H\n")
    assert text.endswith("#endif /* CD_TYPES_H */\n")
    assert "__VMLINUX_H__" not in text
    assert text.replace("CD_TYPES_H", "__VMLINUX_H__") == dump_c(btf, kfuncs=False)
