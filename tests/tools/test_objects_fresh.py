"""The tools' shipped objects are what their sources build to, so a stale object fails;
their committed skeletons are what ``pybpf gen skeleton`` makes of the shipped objects.

Code, data and relocation sections must match byte for byte. clang-19 orders some BTF
types by heap addresses (its fixups of forward-declared structs), which vary with the
command line and environment, so BTF is compared as content: the sorted C declarations
and the CO-RE relocations and func infos by type name.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import need_tool

from pybpf.btf.cdump import dump_c
from pybpf.elf.spec import ObjectSpec
from pybpf.skeleton import generate

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BPF = ROOT / "src" / "pybpf" / "tools" / "bpf"
SHIPPED = ROOT / "src" / "pybpf" / "tools" / "objects"
SKELETONS = ROOT / "src" / "pybpf" / "tools" / "skel"
_BTF_SECTIONS = {".BTF", ".BTF.ext", ".rel.BTF", ".rel.BTF.ext", ".strtab", ".symtab"}


def fingerprint(data: bytes) -> dict[str, Any]:
    """What must not change between two builds of the same source."""
    spec = ObjectSpec.from_bytes(data)
    btf, ext = spec.btf, spec.btf_ext
    assert btf is not None and ext is not None
    sections = {
        s.name: bytes(s.data) for s in spec.elf.sections if s.name and s.name not in _BTF_SECTIONS
    }
    symbols = sorted((s.name, s.value, s.size) for s in spec.elf.symbols if s.name)
    relos = {
        sec: sorted((r.insn_off, btf.type_name(r.type_id), r.access_str, int(r.kind)) for r in rs)
        for sec, rs in ext.core_relos.items()
    }
    funcs = {
        sec: sorted((f.insn_off, btf.type_name(f.type_id)) for f in fs)
        for sec, fs in ext.func_info.items()
    }
    return {
        "sections": sections,
        "symbols": symbols,
        "btf_c": sorted(dump_c(btf).splitlines()),
        "core_relos": relos,
        "func_info": funcs,
    }


def test_shipped_objects_are_up_to_date(tmp_path: Path) -> None:
    need_tool("clang-19", "rebuilds the shipped objects")
    out, hdr, skel = tmp_path / "objects", tmp_path / "include", tmp_path / "skel"
    proc = subprocess.run(
        ["make", "-s", "-B", "-C", str(TOOLS_BPF), f"OUT={out}", f"HDR={hdr}", f"SKEL_OUT={skel}"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    sources = sorted(p.name.removesuffix(".bpf.c") for p in TOOLS_BPF.glob("*.bpf.c"))
    assert sources
    for name in sources:
        built = (out / f"{name}.bpf.o").read_bytes()
        # the same build command regenerates the skeleton from the object it built
        assert (skel / f"{name}_skel.py").read_text() == generate(built, name)
        shipped = SHIPPED / f"{name}.bpf.o"
        assert shipped.exists(), f"{shipped} is not committed: run make -C {TOOLS_BPF}"
        if built == shipped.read_bytes():
            continue
        assert fingerprint(built) == fingerprint(shipped.read_bytes()), (
            f"{shipped.name} is stale: rebuild with make -C src/pybpf/tools/bpf"
        )


def test_fingerprint_sees_a_code_change(tmp_path: Path) -> None:
    """The content comparison is not blind: another object compares unequal."""
    a = (SHIPPED / "hist.bpf.o").read_bytes()
    b = (SHIPPED / "hello.bpf.o").read_bytes()
    assert fingerprint(a) == fingerprint(a)
    assert fingerprint(a) != fingerprint(b)


def test_committed_skeletons_match_the_shipped_objects() -> None:
    """Each tool's skeleton embeds its shipped object and is what the generator makes of it."""
    sources = sorted(p.name.removesuffix(".bpf.c") for p in TOOLS_BPF.glob("*.bpf.c"))
    committed = sorted(p.name.removesuffix("_skel.py") for p in SKELETONS.glob("*_skel.py"))
    assert committed == sources, "run make -C src/pybpf/tools/bpf"
    for name in sources:
        expected = generate((SHIPPED / f"{name}.bpf.o").read_bytes(), name)
        assert (SKELETONS / f"{name}_skel.py").read_text() == expected, (
            f"{name}_skel.py is stale: regenerate with make -C src/pybpf/tools/bpf"
        )
