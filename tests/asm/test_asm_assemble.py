"""The assembler: round trips over every test object, llvm-objdump's own text, hand-written
text with labels and helper names, and errors that name line and column."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pybpf.asm import assemble, decode, disassemble
from pybpf.asm.disasm import disassemble as disassemble_object
from pybpf.elf import ElfObject
from pybpf.elf.spec import ObjectSpec
from pybpf.errors import AsmError

_RAW = re.compile(r"^(\s*\d+:)\t[0-9a-f ]+\t", re.M)


def _objects(bpf_objects: Path) -> list[Path]:
    objs = sorted(bpf_objects.glob("*.bpf.o"))
    assert len(objs) > 20
    return objs


def _code_sections(obj: ElfObject) -> dict[str, bytes]:
    return {s.name: s.data for s in obj.sections if s.is_exec and s.data}


def test_every_program_round_trips(bpf_objects: Path) -> None:
    seen: set[str] = set()
    nprogs = 0
    for path in _objects(bpf_objects):
        spec = ObjectSpec.from_file(path)
        for prog in (*spec.programs.values(), *spec.subprograms.values()):
            text = disassemble(prog)
            got = assemble(text, source=str(path))
            assert got == prog.insns, f"{path.name}:{prog.name}"
            nprogs += 1
            for insn in decode(prog.insns):
                if insn.is_ld_imm64:
                    seen.add("ld_imm64")
                if insn.is_atomic:
                    seen.add(f"atomic{insn.imm:#x}")
                if insn.is_pseudo_call:
                    seen.add("bpf2bpf call")
                if insn.is_helper_call:
                    seen.add("helper call")
                if insn.is_mov and insn.off:
                    seen.add("movsx")
                if insn.opcode & 0x07 == 1 and insn.mode == 0x80:
                    seen.add("ldsx")
                if insn.opcode == 0x06:
                    seen.add("gotol")
                if insn.opcode == 0xD7:
                    seen.add("bswap")
                if insn.op in (0x30, 0x90) and insn.is_alu and insn.off == 1:
                    seen.add("sdiv/smod")
    assert nprogs > 100
    want = {"ld_imm64", "bpf2bpf call", "helper call", "movsx", "ldsx", "bswap", "sdiv/smod"}
    want |= {"atomic0xe1", "atomic0xf1", "atomic0x1", "atomic0x0"}
    assert want <= seen, want - seen


@pytest.mark.parametrize("relocs", [False, True])
@pytest.mark.parametrize("alu32", [False, True])
def test_whole_listing_round_trips(bpf_objects: Path, relocs: bool, alu32: bool) -> None:
    for path in _objects(bpf_objects):
        obj = ElfObject.from_file(path)
        text = disassemble_object(obj, relocs=relocs, alu32=alu32)
        got = assemble(text, source=str(path))
        assert got.sections == _code_sections(obj), path.name
        assert got == b"".join(_code_sections(obj).values())


def test_text_alone_round_trips(bpf_objects: Path) -> None:
    """Without the bytes column the text decides; llvm spells a bpf-to-bpf call that clang
    resolved itself (no relocation) like a helper call, the one ambiguity of its syntax."""
    ambiguous = 0
    for path in _objects(bpf_objects):
        obj = ElfObject.from_file(path)
        text = _RAW.sub(r"\1\t", disassemble_object(obj, relocs=True, alu32=True))
        got = assemble(text, source=str(path))
        for name, data in _code_sections(obj).items():
            mine = decode(got.sections[name])
            for a, b in zip(mine, decode(data), strict=True):
                if a != b:
                    assert b.is_pseudo_call and a.is_helper_call and a.imm == b.imm, path.name
                    ambiguous += 1
    assert ambiguous < 5


def test_llvm_objdump_text(bpf_objects: Path) -> None:
    """llvm-objdump-19's own output assembles to the object's code."""
    objdump = shutil.which("llvm-objdump-19")
    assert objdump, "llvm-objdump-19 is a test dependency"
    for path in _objects(bpf_objects):
        text = subprocess.run(
            [objdump, "-dr", "--mattr=+alu32", str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        got = assemble(text, source=str(path))
        assert got.sections == _code_sections(ElfObject.from_file(path)), path.name


def test_hand_written_text() -> None:
    text = """
        ; count and return
        r6 = r1
        r1 = 0x0 ll          ; a map, filled in at load
        call bpf_map_lookup_elem
        if r0 == 0x0 goto out
        r1 = 0x1
        lock *(u64 *)(r0 + 0x0) += r1
        w2 = w1
        w2 s/= 0x3
        r3 = (s16)r2
        r4 = *(s8 *)(r6 - 0x2)
        r5 = bswap32 r5
        r1 = atomic_fetch_add((u64 *)(r0 + 0x8), r1)
        w0 = cmpxchg32_32(r0 + 0x4, w0, w1)
        call helper
    out:
        r0 = 0x2
        exit
    helper:
        gotol +0x0
        r0 = -0x1
        exit
    """
    got = assemble(text)
    insns = got.instructions
    assert got.labels == {"out": 15, "helper": 17}
    jeq = insns[3]
    assert jeq.opcode == 0x15 and jeq.slot + 1 + jeq.off == 15
    assert insns[2].is_helper_call and insns[2].imm == 1
    call = insns[13]
    assert call.is_pseudo_call and call.slot + 1 + call.imm == 17
    assert insns[1].is_ld_imm64 and insns[1].width == 2
    assert insns[5].encode().hex() == "db10000000000000"  # lock add, 64-bit
    assert insns[7].encode().hex() == "3402010003000000"  # w2 s/= 3
    assert insns[8].encode().hex() == "bf23100000000000"  # movsx 16
    assert insns[9].encode().hex() == "9164feff00000000"  # ldsx 8
    assert insns[10].encode().hex() == "d705000020000000"  # bswap32
    assert insns[12].encode().hex() == "c3100400f1000000"  # cmpxchg 32
    assert insns[16].encode().hex() == "0600000000000000"  # gotol
    # every line prints back as written (whitespace and comments aside)
    again = assemble(disassemble(got))
    assert again == got


@pytest.mark.parametrize(
    ("text", "line", "column", "what"),
    [
        ("r0 = 0x0\nr1 = *(u32 *)(r2 + 0x4\nexit", 2, 23, "expected ')'"),
        ("r1 += q", 1, 7, "expected a register or a number, found 'q'"),
        ("exit\n  w1 = r2", 2, 8, "must be w2"),
        ("r12 = 0x1", 1, 1, "no register 'r12'"),
        ("goto nowhere", 1, 6, "no label 'nowhere'"),
        ("call no_such_helper", 1, 6, "no label or helper named 'no_such_helper'"),
        ("r1 = 0x100000000", 1, 6, "does not fit in 32 bits"),
        ("*(u64 *)(r1 + 0x10000) = r2", 1, 13, "does not fit in 16 bits"),
        ("r1 = *(u128 *)(r2 + 0x0)", 1, 8, "expected u8/u16/u32/u64"),
        ("r1 = r2 ? r3", 1, 9, "unexpected character '?'"),
        ("a:\na:\nexit", 2, 1, "label 'a' defined twice"),
        ("       0:\tb7 01 00 00 02 00 00 00\tr1 = 0x3", 1, 35, "does not match its bytes"),
        ("r1 = be16 r2", 1, 11, "in place"),
    ],
)
def test_errors_name_line_and_column(text: str, line: int, column: int, what: str) -> None:
    with pytest.raises(AsmError) as exc:
        assemble(text, source="prog.s")
    err = exc.value
    assert (err.line, err.column) == (line, column), str(err)
    assert what in str(err)
    assert str(err).startswith(f"prog.s:{line}:{column}: ")
