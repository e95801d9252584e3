"""The disassembler against llvm-objdump-19: every test object, hand-built streams, source."""

from __future__ import annotations

import difflib
import itertools
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "elf"))
from elf_builder import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHT_PROGBITS,
    SHT_REL,
    STB_LOCAL,
    STT_NOTYPE,
    Sec,
    Sym,
    build,
    rel,
    text_object,
)

from pybpf.asm.annotate import btf_annotations
from pybpf.asm.disasm import disassemble
from pybpf.cli.main import main
from pybpf.elf import ElfObject

OBJDUMP = "llvm-objdump-19"
STRIP = "llvm-strip-19"


@pytest.fixture(scope="module", autouse=True)
def _tools() -> None:
    assert shutil.which(OBJDUMP) and shutil.which(STRIP), "llvm-19 tools are test dependencies"


def _llvm(path: Path, *flags: str) -> str:
    return subprocess.run(
        [OBJDUMP, *flags, str(path)], capture_output=True, text=True, check=True
    ).stdout


def _norm(text: str) -> list[str]:
    """Only whitespace is normalised: runs collapse to one space, blank lines drop."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _diff(ref: str, mine: str, what: str) -> str:
    a, b = _norm(ref), _norm(mine)
    if a == b:
        return ""
    lines = list(difflib.unified_diff(a, b, "llvm-objdump", "pybpf", n=1, lineterm=""))
    return f"{what}:\n" + "\n".join(lines[:30])


def _pybpf(path: Path, *, relocs: bool = False, alu32: bool = False, source: bool = False) -> str:
    obj = ElfObject.from_file(path)
    ann = btf_annotations(obj, strict=source)
    return disassemble(
        obj,
        name=str(path),
        relocs=relocs,
        alu32=alu32,
        core=ann.core,
        source=ann.source if source else None,
    )


MODES = [
    ((), {}),
    (("-r",), {"relocs": True}),
    (("--mattr=+alu32",), {"alu32": True}),
]


def test_every_object_matches_llvm_objdump(bpf_objects: Path) -> None:
    objs = sorted(bpf_objects.glob("*.bpf.o"))
    assert len(objs) >= 1
    failures = []
    for path in objs:
        for flags, opts in MODES:
            d = _diff(_llvm(path, "-d", *flags), _pybpf(path, **opts), f"{path.name} -d {flags}")
            if d:
                failures.append(d)
    assert not failures, "\n\n".join(failures)


def test_every_stripped_object_source_matches_llvm_objdump_S(
    bpf_objects: Path, tmp_path: Path
) -> None:
    """Without DWARF, llvm-objdump -S reads .BTF.ext line_info; so does pybpf --source."""
    failures = []
    for path in sorted(bpf_objects.glob("*.bpf.o")):
        stripped = tmp_path / path.name
        subprocess.run([STRIP, "-g", str(path), "-o", str(stripped)], check=True)
        d = _diff(_llvm(stripped, "-S"), _pybpf(stripped, source=True), f"{path.name} -S")
        if d:
            failures.append(d)
    assert not failures, "\n\n".join(failures)


_INSN_LINE = re.compile(r"^ *(\d+):\t")


def test_source_lines_precede_their_instructions(bpf_objects: Path) -> None:
    checked = 0
    for path in sorted(bpf_objects.glob("*.bpf.o")):
        obj = ElfObject.from_file(path)
        ann = btf_annotations(obj)
        text = disassemble(obj, source=ann.source).splitlines()
        for sec, records in ann.source.items():
            start = text.index(f"Disassembly of section {sec}:")
            body = text[start + 1 :]
            end = next((i for i, t in enumerate(body) if t.startswith("Disassembly")), len(body))
            body = body[:end]
            at = {int(m[1]): n for n, t in enumerate(body) if (m := _INSN_LINE.match(t))}
            prev_line: tuple[str, int] | None = None
            line_of = {r.insn_off // 8: (r.file, r.line) for r in records}
            for r in records:
                n = at[r.insn_off // 8]
                # llvm style: shown unless the previous instruction is on the same line
                prev_idx = max((i for i in at if i < r.insn_off // 8), default=None)
                prev_line = line_of.get(prev_idx) if prev_idx is not None else None
                if prev_line == (r.file, r.line):
                    continue
                assert body[n - 1] == f"; {r.text}", (path.name, sec, r)
                checked += 1
    assert checked > 50


# -- hand-built instruction streams ------------------------------------------------------------

_REGS = (0, 1, 11, 12)
_OFFS = (0, 1, 8, 16, 32, -1)
_IMMS = (0, 1, 16, 32, 64, -1, 0x10000)
_ATOMIC_OPS = (0xC3, 0xCB, 0xD3, 0xDB)
_ACQ_REL = (0x100, 0x110)  # llvm-19 predates load-acquire/store-release: tested below


def _insn(op: int, dst: int, src: int, off: int, imm: int) -> bytes:
    return struct.pack("<BBhi", op, (src << 4) | dst, off, imm)


def _product_stream() -> bytes:
    """Every opcode with many field combinations, each after an ``r0 = 0x5a5a`` marker."""
    marker = _insn(0xB7, 0, 0, 0, 0x5A5A)
    out = bytearray()
    for op in range(256):
        for dst, src, off, imm in itertools.product(_REGS, _REGS, _OFFS, _IMMS):
            out += marker + _insn(op, dst, src, off, imm)
            if op == 0x18:
                out += _insn(0, 0, 0, 0, 0x12345678)
    for op in _ATOMIC_OPS:  # every atomic operation byte, with high bits set or not
        for imm in range(256):
            for high in (0, 0x200, 0x7FFFFF00):
                if imm | high not in _ACQ_REL:
                    out += marker + _insn(op, 1, 2, -8, imm | high)
    return bytes(out)


@pytest.mark.parametrize("alu32", [False, True])
def test_every_opcode_matches_llvm(tmp_path: Path, alu32: bool) -> None:
    path = tmp_path / "all.o"
    path.write_bytes(text_object(_product_stream()))
    flags = ("--mattr=+alu32",) if alu32 else ()
    d = _diff(_llvm(path, "-d", *flags), _pybpf(path, alu32=alu32), "product stream")
    assert not d, d


def test_layout_rules_match_llvm(tmp_path: Path) -> None:
    """Labels (ties, no symbol at 0), jump symbolization, zero runs, truncation, relocs."""

    def i(op: int, d: int = 0, s: int = 0, o: int = 0, m: int = 0) -> bytes:
        return _insn(op, d, s, o, m)

    prog = (
        i(0x05, o=1)
        + i(0xB7, 1)
        + i(0x05, o=3)
        + i(0x05, o=-4)
        + i(0x05, o=100)
        + i(0x06, m=-6)
        + bytes(20)
        + i(0x95)
        + i(0x85, s=1, m=-1)
        + i(0x18, 1)
        + i(0, m=5)
        + i(0x95)
        + bytes([0x18, 1, 0, 0, 0, 0, 0, 0])
    )
    nosym = i(0x05) + bytes(12) + i(0x95) + i(0x05, o=-9)
    data, _ = build(
        [
            Sec(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, b""),
            Sec("prog", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, prog),
            Sec(
                ".relprog",
                SHT_REL,
                data=rel(0x58, 4, 10) + rel(4, 4, 1) + rel(0x60, 3, 1) + rel(0x30, 5, 3),
                link=6,
                info=2,
                entsize=16,
            ),
            Sec("nosym", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, nosym),
        ],
        [
            Sym("a", 2, 0x10, bind=STB_LOCAL, type=STT_NOTYPE),
            Sym("", 2, 0, bind=STB_LOCAL, type=3),
            Sym("t", 2, 0x30, bind=STB_LOCAL, type=STT_NOTYPE),
            Sym("z", 2, 0x10),
            Sym("g", 2, 0, 0x18),
        ],
    )
    path = tmp_path / "layout.o"
    path.write_bytes(data)
    for flags, opts in MODES:
        d = _diff(_llvm(path, "-d", *flags), _pybpf(path, **opts), f"layout {flags}")
        assert not d, d


@pytest.mark.parametrize(
    ("opcode", "imm", "text"),
    [
        # LLVM 20's spelling (llvm/test/MC/BPF load-acquire/store-release tests)
        (0xD3, 0x100, "w2 = load_acquire((u8 *)(r1 + 0x10))"),
        (0xCB, 0x100, "w2 = load_acquire((u16 *)(r1 + 0x10))"),
        (0xC3, 0x100, "w2 = load_acquire((u32 *)(r1 + 0x10))"),
        (0xDB, 0x100, "r2 = load_acquire((u64 *)(r1 + 0x10))"),
        (0xD3, 0x110, "store_release((u8 *)(r2 + 0x10), w1)"),
        (0xCB, 0x110, "store_release((u16 *)(r2 + 0x10), w1)"),
        (0xC3, 0x110, "store_release((u32 *)(r2 + 0x10), w1)"),
        (0xDB, 0x110, "store_release((u64 *)(r2 + 0x10), r1)"),
    ],
)
def test_load_acquire_store_release(opcode: int, imm: int, text: str) -> None:
    # load: dst = *(src + off); store: *(dst + off) = src
    raw = _insn(opcode, 2, 1, 0x10, imm)
    obj = ElfObject.from_bytes(text_object(raw + _insn(0x95, 0, 0, 0, 0)))
    out = disassemble(obj, name="x.o")
    assert f"0:\t{' '.join(f'{b:02x}' for b in raw)}\t{text}" in out


# -- CLI ------------------------------------------------------------------------------------------


def test_cli_matches_llvm(bpf_obj, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = bpf_obj("insn_v4")
    assert main(["disasm", str(path), "--reloc"]) == 0
    out = capsys.readouterr().out
    assert out == _llvm(path, "-dr")  # byte-exact, not just modulo whitespace
    assert main(["disasm", str(path), "--section", "syscall"]) == 0
    out = capsys.readouterr().out
    assert out == _llvm(path, "-d", "-j", "syscall")
    assert "r5 s/= r4" not in out and "insn_v4" in out


def test_cli_errors(tmp_path: Path, bpf_obj, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.o"
    bad.write_bytes(b"not an elf")
    assert main(["disasm", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.o" in err and "not an ELF file" in err
    assert main(["disasm", str(bpf_obj("insn_v4")), "--section", "nope"]) == 1
    assert "no section 'nope'" in capsys.readouterr().err
