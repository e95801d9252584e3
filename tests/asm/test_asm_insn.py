"""Instruction decode/encode: byte-exact round trips, predicates, relocation mapping."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf.asm import (
    LD_IMM64,
    AluOp,
    AtomicOp,
    Class,
    Instruction,
    JmpOp,
    Mode,
    PseudoCall,
    Size,
    decode,
    encode,
)
from pybpf.elf import ElfObject, RelocType
from pybpf.errors import ObjectError


def _code_sections(bpf_objects: Path) -> list[tuple[ElfObject, int]]:
    out = []
    for path in sorted(bpf_objects.glob("*.bpf.o")):
        obj = ElfObject.from_file(path)
        out += [(obj, s.index) for s in obj.sections if s.is_exec and s.data]
    assert out
    return out


def test_round_trip_every_object(bpf_objects: Path) -> None:
    for obj, idx in _code_sections(bpf_objects):
        data = obj.sections[idx].data
        insns = decode(data)
        assert encode(insns) == data
        assert sum(i.width for i in insns) * 8 == len(data)
        slot = 0
        for i in insns:
            assert i.slot == slot and i.byte_offset == slot * 8
            slot += i.width


def test_relocations_land_on_instructions(bpf_objects: Path) -> None:
    """Every ld_imm64/call relocation offset is the byte offset of a decoded instruction."""
    for obj, idx in _code_sections(bpf_objects):
        by_off = {i.byte_offset: i for i in decode(obj.sections[idx].data)}
        for r in obj.relocations(idx):
            insn = by_off[r.offset]
            if r.type == RelocType.R_BPF_64_64:
                assert insn.is_ld_imm64
            elif r.type == RelocType.R_BPF_64_32:
                assert insn.is_call or insn.is_ld_imm64  # call or ld_imm64 of a func


_slot = st.tuples(
    st.integers(0, 255).filter(lambda op: op != LD_IMM64),
    st.integers(0, 255),
    st.integers(-(2**15), 2**15 - 1),
    st.integers(-(2**31), 2**31 - 1),
).map(lambda t: struct.pack("<BBhi", *t))
_wide = st.tuples(st.integers(0, 255), st.binary(min_size=14, max_size=14)).map(
    lambda t: bytes([LD_IMM64, t[0]]) + t[1]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_slot, _wide), max_size=40))
def test_round_trip_generated_streams(chunks: list[bytes]) -> None:
    data = b"".join(chunks)
    insns = decode(data)
    assert len(insns) == len(chunks)
    assert encode(insns) == data
    assert [i.encode() for i in insns] == chunks


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 15), st.integers(0, 2**64 - 1), st.integers(0, 6))
def test_ld_imm64_value(dst: int, value: int, src: int) -> None:
    insn = Instruction.ld_imm64(dst, value, src)
    assert insn.imm64 == value and insn.is_ld_imm64
    (back,) = decode(insn.encode())
    assert back.imm64 == value and back.dst == dst and back.src == src
    patched = back.with_imm(value ^ 0xFFFF_0000_0000_FFFF)
    assert patched.imm64 == value ^ 0xFFFF_0000_0000_FFFF and patched.slot == back.slot


def test_patching_helpers() -> None:
    call = Instruction(Class.JMP | JmpOp.CALL, src=PseudoCall.CALL, imm=-1, slot=7)
    assert call.is_pseudo_call and not call.is_helper_call and call.is_call
    moved = call.with_imm(12)
    assert moved.imm == 12 and moved.slot == 7 and moved.encode()[4:] == struct.pack("<i", 12)
    assert call.with_imm(0xFFFFFFFF).imm == -1
    with pytest.raises(ValueError):
        call.with_imm(1 << 32)
    kfunc = call.replace(src=PseudoCall.KFUNC_CALL)
    assert kfunc.is_kfunc_call and not kfunc.is_pseudo_call
    assert Instruction(Class.JMP | JmpOp.CALL, imm=14).is_helper_call
    ld = Instruction(Class.LDX | Mode.MEM | Size.W, dst=1, src=2, off=4)
    assert ld.is_load and not ld.is_store and ld.with_off(-8).off == -8
    assert ld.with_off(0xFFFF).off == -1
    assert Instruction(Class.JMP | JmpOp.EXIT).is_exit


def test_decode_errors_are_object_errors() -> None:
    with pytest.raises(ObjectError, match="multiple of 8"):
        decode(bytes(12), section="prog")
    with pytest.raises(ObjectError, match="ld_imm64") as info:
        decode(bytes(8) + bytes([LD_IMM64]) + bytes(7), section="prog")
    assert info.value.offset == 8 and info.value.section == "prog"


def test_insn_v4_exercises_the_v4_isa(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    """The test program really contains every v4 feature the disassembler must show."""
    obj = ElfObject.from_file(bpf_obj("insn_v4"))
    insns = [i for s in obj.sections if s.is_exec for i in decode(s.data)]

    def any_of(pred) -> bool:  # type: ignore[no-untyped-def]
        return any(pred(i) for i in insns)

    for cls in (Class.ALU, Class.ALU64):
        for op in (AluOp.DIV, AluOp.MOD):
            assert any_of(lambda i, c=cls, o=op: i.cls == c and i.op == o and i.off == 1)
    for off in (8, 16, 32):
        assert any_of(lambda i, o=off: i.is_mov and i.is_alu64 and i.off == o)
    for size in (Size.B, Size.H, Size.W):
        assert any_of(lambda i, s=size: i.cls == Class.LDX and i.mode == Mode.MEMSX and i.size == s)
    for width in (16, 32, 64):
        assert any_of(lambda i, w=width: i.opcode == Class.ALU64 | AluOp.END and i.imm == w)
    assert any_of(lambda i: i.cls == Class.JMP32 and i.is_conditional_jump)
    atomic_imms = {i.imm for i in insns if i.is_atomic and i.size == Size.DW}
    assert {
        AtomicOp.ADD,
        AtomicOp.OR,
        AtomicOp.AND,
        AtomicOp.XOR,
        AtomicOp.FETCH_ADD,
        AtomicOp.FETCH_OR,
        AtomicOp.FETCH_AND,
        AtomicOp.FETCH_XOR,
        AtomicOp.XCHG,
        AtomicOp.CMPXCHG,
    } <= atomic_imms
    assert {AtomicOp.XCHG, AtomicOp.CMPXCHG} <= {
        i.imm for i in insns if i.is_atomic and i.size == Size.W
    }
