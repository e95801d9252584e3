"""Apply a computed CO-RE relocation to its instruction, with libbpf's sanity checks.

Immediates of ALU/ALU64 (``K`` source), offsets of LDX/ST/STX (and their access
size when the field's size changed in a safe way) and ld_imm64's 64-bit
immediate are patched; a failed relocation turns the instruction into
``call 0xbad2310`` so the verifier names it if (and only if) it is reachable.
"""

from __future__ import annotations

from pybpf._ints import s32
from pybpf.asm.insn import Instruction
from pybpf.asm.opcodes import Class, JmpOp, Size, Source
from pybpf.btf.core.calc import ReloValues

__all__ = ["POISON_IMM", "PatchError", "patch_insn", "poison"]

POISON_IMM = 195896080  # 0xbad2310: the verifier reports "invalid func unknown#195896080"
_U64 = (1 << 64) - 1
_SIZE_BYTES = {Size.DW: 8, Size.W: 4, Size.H: 2, Size.B: 1}
_BYTES_SIZE = {v: k for k, v in _SIZE_BYTES.items()}


class PatchError(Exception):
    """The instruction does not look like what the relocation expects (message only)."""


def poison(insn: Instruction) -> list[Instruction]:
    """The poisoned replacement of ``insn`` (both slots of an ld_imm64)."""
    call = Class.JMP | JmpOp.CALL
    out = [Instruction(call, imm=POISON_IMM, slot=insn.slot)]
    if insn.is_ld_imm64:
        out.append(Instruction(call, imm=POISON_IMM, slot=insn.slot + 1))
    return out


def patch_insn(insn: Instruction, res: ReloValues) -> tuple[list[Instruction], str]:
    """Replacement instruction(s) for ``insn`` and a libbpf-style note of what changed."""
    if res.poison:
        return poison(insn), "poisoned"
    orig, new = res.orig_val, res.new_val
    cls = insn.opcode & 0x07
    if cls in (Class.ALU, Class.ALU64):
        if insn.source != Source.K:
            raise PatchError("ALU instruction takes a register operand, not an immediate")
        if res.validate and insn.imm & _U64 != orig:
            raise PatchError(f"unexpected ALU/ALU64 value: got {insn.imm}, expected {orig}")
        return [insn.replace(imm=s32(new))], f"(ALU/ALU64) imm {insn.imm & 0xFFFFFFFF} -> {new}"
    if cls in (Class.LDX, Class.ST, Class.STX):
        if res.validate and insn.off & _U64 != orig:
            raise PatchError(f"unexpected LDX/ST/STX offset: got {insn.off}, expected {orig}")
        if new > 0x7FFF:
            raise PatchError(f"LDX/ST/STX offset {new} does not fit in 16 bits")
        if res.fail_memsz_adjust:
            return poison(insn), (
                "poisoned: accesses the field with an incompatible size (only pointers and "
                "unsigned integers may change size)"
            )
        out = insn.replace(off=new)
        note = f"(LDX/ST/STX) off {insn.off & 0xFFFF} -> {new}"
        if res.new_sz != res.orig_sz:
            have = _SIZE_BYTES.get(Size(insn.size))
            if have != res.orig_sz:
                raise PatchError(f"unexpected memory size {have}, expected {res.orig_sz}")
            size = _BYTES_SIZE.get(res.new_sz)
            if size is None:
                raise PatchError(f"invalid new memory size {res.new_sz}")
            out = out.replace(opcode=(insn.opcode & ~0x18) | size)
            note += f", mem_sz {res.orig_sz} -> {res.new_sz}"
        return [out], note
    if cls == Class.LD:
        if (
            not insn.is_ld_imm64
            or insn.src
            or insn.off
            or insn.next_opcode
            or insn.next_regs
            or insn.next_off
        ):
            raise PatchError("ld_imm64 instruction has an unexpected form")
        if res.validate and insn.imm64 != orig:
            raise PatchError(f"unexpected LDIMM64 value: got {insn.imm64}, expected {orig}")
        return [insn.with_imm(new)], f"(LDIMM64) imm64 {insn.imm64} -> {new & _U64}"
    raise PatchError(f"cannot relocate instruction with opcode {insn.opcode:#04x}")
