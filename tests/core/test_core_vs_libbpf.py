"""Differential: pybpf's CO-RE resolution of every test object equals libbpf's.

libbpf (through ``bpftool -d prog loadall``) logs each relocation it applies:
``prog 'X': relo #N: patched insn #I (ALU/ALU64) imm A -> B`` or ``substituting
insn #I w/ invalid insn``. pybpf must patch the same instruction to the same value
(or poison the same instruction) for every relocation, against the running
kernel's BTF.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from pybpf.asm.insn import decode
from pybpf.btf import BTF
from pybpf.btf.core import CoreResolver, CoreTarget
from pybpf.btf.ext import BTFExt
from pybpf.elf.reader import ElfObject, SymbolType

BPF_SRC = Path(__file__).resolve().parents[1] / "bpf"
OBJECTS = sorted(p.name[: -len(".bpf.c")] for p in BPF_SRC.glob("*.bpf.c"))
BPFFS = Path("/sys/fs/bpf")

_PATCHED = re.compile(
    r"prog '(?P<prog>[^']+)': relo #(?P<n>\d+): patched insn #(?P<insn>\d+) "
    r"\((?P<what>ALU/ALU64|LDX/ST/STX|LDIMM64)\) (?:imm|off|imm64) (?P<old>\d+) -> (?P<new>\d+)"
)
_POISON = re.compile(
    r"prog '(?P<prog>[^']+)': relo #(?P<n>\d+): substituting insn #(?P<insn>\d+) w/ invalid insn"
)


def libbpf_relocations(obj: Path) -> dict[tuple[str, int], tuple[str, int, int]] | None:
    """(prog, relo #) -> ("patch", insn, new value) or ("poison", insn, 0), from libbpf.

    None when libbpf cannot even open the object (libbpf 1.1 rejects, e.g., static
    entry programs).
    """
    if not os.path.ismount(BPFFS):
        subprocess.run(["mount", "-t", "bpf", "bpf", str(BPFFS)], check=True)
    pin = BPFFS / f"pybpf_core_diff_{uuid.uuid4().hex[:8]}"
    try:
        proc = subprocess.run(
            ["bpftool", "-d", "prog", "loadall", str(obj), str(pin)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        subprocess.run(["rm", "-rf", str(pin)], check=False)
    if "failed to open object file" in proc.stderr or "failed to guess program type" in proc.stderr:
        return None  # libbpf 1.1 predates this object's features (e.g. tcx/ sections)
    out: dict[tuple[str, int], tuple[str, int, int]] = {}
    for line in proc.stderr.splitlines():
        if m := _PATCHED.search(line):
            key = (m["prog"], int(m["n"]))
            out.setdefault(key, ("patch", int(m["insn"]), int(m["new"])))
        elif m := _POISON.search(line):
            key = (m["prog"], int(m["n"]))
            insn = int(m["insn"])
            if key in out:  # a poisoned ld_imm64 logs both slots, the second one first
                insn = min(insn, out[key][1])
            out[key] = ("poison", insn, 0)
    return out


def pybpf_relocations(
    obj: Path, target: CoreTarget
) -> tuple[dict[tuple[str, int], tuple[str, int, int]], float]:
    """The same mapping computed by pybpf, and the time resolution took."""
    elf = ElfObject.from_file(obj)
    btf_sec, ext_sec = elf.section(".BTF"), elf.section(".BTF.ext")
    if btf_sec is None or ext_sec is None:
        return {}, 0.0
    btf = BTF.from_bytes(btf_sec.data)
    ext = BTFExt.from_bytes(ext_sec.data, btf)
    resolver = CoreResolver(btf, target, file=str(obj))
    out: dict[tuple[str, int], tuple[str, int, int]] = {}
    elapsed = 0.0
    for sec_name, relos in ext.core_relos.items():
        sec = elf.section(sec_name)
        assert sec is not None
        funcs = [s for s in elf.symbols_in(sec.index) if s.type == SymbolType.FUNC]
        insns = decode(sec.data, section=sec_name)
        t0 = time.perf_counter()
        _, results = resolver.relocate(relos, insns, section=sec_name)
        elapsed += time.perf_counter() - t0
        for r in results:
            byte = r.section_slot * 8
            prog = next(f for f in funcs if f.value <= byte < f.value + f.size)
            insn = r.section_slot - prog.value // 8
            key = (prog.name, r.index)
            out[key] = ("poison", insn, 0) if r.poisoned else ("patch", insn, r.new_value)
    return out, elapsed


# Objects the reference (Debian's libbpf 1.1, through bpftool) cannot open, and why.
REFERENCE_CANNOT_OPEN = {
    "legacy_tracex": "legacy 'maps' section (dropped in libbpf 1.0)",
    "legacy_spec_small": "legacy 'maps' section (dropped in libbpf 1.0)",
    "legacy_spec_large": "legacy 'maps' section (dropped in libbpf 1.0)",
    "spec_multi": "a static entry program, which libbpf 1.1 refuses",
    "net_tc": "tcx/ section names, newer than libbpf 1.1",
    "net_misc": "a netfilter section, newer than libbpf 1.1",
    "legacy_iproute2": "legacy 'maps' section (dropped in libbpf 1.0)",
    "legacy_static_map": "legacy 'maps' section (dropped in libbpf 1.0)",
    "parity_map_attrs": "map_extra given with __ulong, newer than libbpf 1.1 (1.4)",
    "parity_sections": "'<rule>/' section names, which libbpf 1.x leaves without a type",
    "parity_asm_symbols": "inline-asm symbols without BTF VAR/FUNC, which libbpf refuses",
}

# Objects the reference opens but stops on before CO-RE (it resolves externs first), so
# it logs no relocation to compare with.
REFERENCE_STOPS_BEFORE_CORE = {
    "matrix_modkfunc": "kfunc externs with ___flavour suffixes, which libbpf 1.1 does not strip",
}


@pytest.fixture(scope="module")
def kernel_target() -> CoreTarget:
    return CoreTarget.kernel()


@pytest.mark.parametrize("name", OBJECTS)
def test_same_relocations_as_libbpf(
    name: str, bpf_obj, kernel: None, kernel_target: CoreTarget
) -> None:  # type: ignore[no-untyped-def]
    obj = bpf_obj(name)
    ours, _ = pybpf_relocations(obj, kernel_target)
    theirs = libbpf_relocations(obj)
    if name in REFERENCE_CANNOT_OPEN:
        assert theirs is None, f"libbpf now opens {name}: remove it from REFERENCE_CANNOT_OPEN"
        return  # pybpf resolved every relocation above; there is no reference to compare
    assert theirs is not None, (
        f"the reference libbpf cannot open {name}: add it to REFERENCE_CANNOT_OPEN with the reason"
    )
    if name in REFERENCE_STOPS_BEFORE_CORE:
        assert ours, f"{name} has CO-RE relocations; pybpf resolved none"
        assert theirs == {}, f"libbpf now relocates {name}: remove it from REFERENCE_STOPS_BEFORE_CORE"
        return
    assert ours == theirs


def test_core_objects_are_compared(bpf_obj, kernel: None, kernel_target: CoreTarget) -> None:  # type: ignore[no-untyped-def]
    """The differential above is not vacuous: core.bpf.o has poisoned and patched relos."""
    ours, _ = pybpf_relocations(bpf_obj("core"), kernel_target)
    kinds = [v[0] for v in ours.values()]
    assert len(ours) >= 20 and "poison" in kinds and "patch" in kinds
    fail, _ = pybpf_relocations(bpf_obj("core_fail"), kernel_target)
    assert list(fail.values()) == [("poison", 1, 0)]
