"""LLVM's BPF assembly syntax for one instruction, as llvm-objdump-19 prints it.

The rules (which encodings decode, and how each is spelled) were established by
disassembling every opcode with many field combinations through llvm-objdump-19;
an encoding llvm-19 rejects renders as ``None`` (printed ``<unknown>``).
Load-acquire/store-release, which llvm-19 predates, use LLVM 20's spelling.
"""

from __future__ import annotations

from collections.abc import Callable

from pybpf.asm.insn import LD_IMM64, Instruction
from pybpf.asm.opcodes import AluOp, AtomicOp, Class, JmpOp, Mode, Size, Source

__all__ = ["format_instruction", "hex_imm"]

# Registers llvm decodes (r11 is its internal "ax" register and still prints).
_MAX_REG = 11

_ALU_SYMBOL: dict[int, str] = {
    AluOp.ADD: "+=",
    AluOp.SUB: "-=",
    AluOp.MUL: "*=",
    AluOp.OR: "|=",
    AluOp.AND: "&=",
    AluOp.LSH: "<<=",
    AluOp.RSH: ">>=",
    AluOp.XOR: "^=",
    AluOp.ARSH: "s>>=",
}
_DIVMOD: dict[int, tuple[str, str]] = {AluOp.DIV: ("/=", "s/="), AluOp.MOD: ("%=", "s%=")}
_CMP = {
    JmpOp.JEQ: "==",
    JmpOp.JGT: ">",
    JmpOp.JGE: ">=",
    JmpOp.JSET: "&",
    JmpOp.JNE: "!=",
    JmpOp.JSGT: "s>",
    JmpOp.JSGE: "s>=",
    JmpOp.JLT: "<",
    JmpOp.JLE: "<=",
    JmpOp.JSLT: "s<",
    JmpOp.JSLE: "s<=",
}
_CMP_BY_OP = {int(k): v for k, v in _CMP.items()}
_SIZE_NAME = {Size.W: "32", Size.H: "16", Size.B: "8", Size.DW: "64"}
_LOCK_OP = {0x0: "+=", 0x4: "|=", 0x5: "&=", 0xA: "^="}
_FETCH_OP = {0x01: "add", 0x41: "or", 0x51: "and", 0xA1: "xor"}
JMP_COND = 0xE0  # may_goto

Symbolizer = Callable[[int], str]


def hex_imm(value: int) -> str:
    """llvm's signed hexadecimal: ``0x10``, ``-0x4``."""
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"


def _rel(value: int) -> str:
    return f"-{-value:#x}" if value < 0 else f"+{value:#x}"


def _mem(base: int, off: int) -> str:
    sign = "-" if off < 0 else "+"
    return f"r{base} {sign} {abs(off):#x}"


def format_instruction(
    insn: Instruction, *, pc: int = 0, alu32: bool = False, symbolize: Symbolizer | None = None
) -> str | None:
    """The text of ``insn`` at byte address ``pc``, or None if llvm cannot decode it.

    ``symbolize`` maps a jump target's byte address to its ``<label>`` text;
    ``alu32`` mirrors ``llvm-objdump --mattr=+alu32`` (w registers for 32-bit
    loads/stores and 32-bit atomics).
    """
    cls = insn.opcode & 0x07
    if cls in (Class.ALU, Class.ALU64):
        return _alu(insn, cls == Class.ALU64)
    if cls in (Class.JMP, Class.JMP32):
        return _jmp(insn, cls == Class.JMP32, pc, symbolize)
    if cls == Class.LD:
        return _ld(insn)
    if cls == Class.LDX:
        return _ldx(insn, alu32)
    if cls == Class.ST:
        return _st(insn)
    return _stx(insn, alu32)


def _alu(i: Instruction, is64: bool) -> str | None:
    p = "r" if is64 else "w"
    d, s, op = i.dst, i.src, i.opcode & 0xF0
    if d > _MAX_REG:
        return None
    reg_src = i.opcode & Source.X
    if op == AluOp.END:
        if i.imm not in (16, 32, 64) or (is64 and reg_src):
            return None
        name = "bswap" if is64 else ("be" if reg_src else "le")
        return f"r{d} = {name}{i.imm} r{d}"
    if op == AluOp.NEG:
        return None if reg_src else f"{p}{d} = -{p}{d}"
    if reg_src and s > _MAX_REG:
        return None
    rhs = f"{p}{s}" if reg_src else hex_imm(i.imm)
    if op in _ALU_SYMBOL:
        return f"{p}{d} {_ALU_SYMBOL[op]} {rhs}" if i.off == 0 else None
    if op in _DIVMOD:
        if i.off not in (0, 1):
            return None
        return f"{p}{d} {_DIVMOD[op][i.off]} {rhs}"
    if op == AluOp.MOV:
        if i.off == 0:
            return f"{p}{d} = {rhs}"
        if not reg_src:
            return None
        if i.off in ((8, 16, 32) if is64 else (8, 16)):
            return f"{p}{d} = (s{i.off}){p}{s}"
        if is64 and i.off == 1:
            imm = i.imm & 0xFFFFFFFF
            return f"r{d} = addr_space_cast(r{s}, {imm >> 16:#x}, {imm & 0xFFFF:#x})"
    return None


def _target(pc: int, rel: int, symbolize: Symbolizer | None) -> str:
    text = _rel(rel)
    if symbolize is not None:
        text += " " + symbolize(pc + 8 + rel * 8)
    return text


def _jmp(i: Instruction, is32: bool, pc: int, symbolize: Symbolizer | None) -> str | None:
    op, reg_src = i.opcode & 0xF0, i.opcode & Source.X
    if op == JmpOp.JA:
        if reg_src:
            return None
        if is32:
            return f"gotol {_target(pc, i.imm, symbolize)}"
        return f"goto {_target(pc, i.off, symbolize)}"
    if op == JMP_COND:
        return None if reg_src or is32 else f"may_goto {_target(pc, i.off, symbolize)}"
    if op == JmpOp.CALL:
        if is32:
            return None
        if reg_src:
            return f"callx r{i.dst}" if i.dst <= _MAX_REG else None
        return f"call {hex_imm(i.imm)}"
    if op == JmpOp.EXIT:
        return "exit" if not is32 and not reg_src and i.imm == 0 else None
    cmp = _CMP_BY_OP.get(op)
    if cmp is None or i.dst > _MAX_REG or (reg_src and i.src > _MAX_REG):
        return None
    p = "w" if is32 else "r"
    rhs = f"{p}{i.src}" if reg_src else hex_imm(i.imm)
    return f"if {p}{i.dst} {cmp} {rhs} goto {_target(pc, i.off, symbolize)}"


def _ld(i: Instruction) -> str | None:
    mode, size = i.opcode & 0xE0, i.opcode & 0x18
    if i.opcode == LD_IMM64:
        if i.off != 0 or i.dst > _MAX_REG:
            return None
        if i.src == 0:
            return f"r{i.dst} = {i.imm64:#x} ll"
        return f"ld_pseudo\tr{i.dst}, {i.src:#x}, {i.imm & 0xFFFFFFFF:#x}"
    if size == Size.DW:
        return None
    if mode == Mode.ABS:
        return f"r0 = *(u{_SIZE_NAME[Size(size)]} *)skb[{hex_imm(i.imm)}]"
    if mode == Mode.IND and i.src <= _MAX_REG:
        return f"r0 = *(u{_SIZE_NAME[Size(size)]} *)skb[r{i.src}]"
    return None


def _ldx(i: Instruction, alu32: bool) -> str | None:
    mode, size = i.opcode & 0xE0, Size(i.opcode & 0x18)
    if i.dst > _MAX_REG or i.src > _MAX_REG:
        return None
    bits = _SIZE_NAME[size]
    if mode == Mode.MEM:
        p = "w" if alu32 and size != Size.DW else "r"
        return f"{p}{i.dst} = *(u{bits} *)({_mem(i.src, i.off)})"
    if mode == Mode.MEMSX and size != Size.DW:
        return f"r{i.dst} = *(s{bits} *)({_mem(i.src, i.off)})"
    return None


def _st(i: Instruction) -> str | None:
    if i.opcode & 0xE0 != Mode.MEM or i.dst > _MAX_REG:
        return None
    bits = _SIZE_NAME[Size(i.opcode & 0x18)]
    return f"*(u{bits} *)({_mem(i.dst, i.off)}) = {hex_imm(i.imm)}"


def _stx(i: Instruction, alu32: bool) -> str | None:
    mode, size = i.opcode & 0xE0, Size(i.opcode & 0x18)
    if i.dst > _MAX_REG or i.src > _MAX_REG:
        return None
    bits = _SIZE_NAME[size]
    addr = _mem(i.dst, i.off)
    if mode == Mode.MEM:
        p = "w" if alu32 and size != Size.DW else "r"
        return f"*(u{bits} *)({addr}) = {p}{i.src}"
    if mode != Mode.ATOMIC:
        return None
    if i.imm in (AtomicOp.LOAD_ACQ, AtomicOp.STORE_REL):  # LLVM 20 spelling
        p = "r" if size == Size.DW else "w"
        if i.imm == AtomicOp.LOAD_ACQ:
            return f"{p}{i.dst} = load_acquire((u{bits} *)({_mem(i.src, i.off)}))"
        return f"store_release((u{bits} *)({addr}), {p}{i.src})"
    if size == Size.W and not alu32:
        # llvm-19 without alu32 knows only the legacy 32-bit xadd, by the high nibble.
        return f"lock *(u32 *)({addr}) += r{i.src}" if i.imm & 0xF0 == 0 else None
    if size not in (Size.W, Size.DW):
        return None
    p = "r" if size == Size.DW else "w"
    b = i.imm & 0xFF
    if b & 0xF != 1:
        sym = _LOCK_OP.get(b >> 4)
        return f"lock *(u{bits} *)({addr}) {sym} {p}{i.src}" if sym else None
    if b in _FETCH_OP:
        return f"{p}{i.src} = atomic_fetch_{_FETCH_OP[b]}((u{bits} *)({addr}), {p}{i.src})"
    suffix = "64" if size == Size.DW else "32_32"
    if b == AtomicOp.XCHG:
        return f"{p}{i.src} = xchg{'_' if size == Size.DW else ''}{suffix}({addr}, {p}{i.src})"
    if b == AtomicOp.CMPXCHG:
        return f"{p}0 = cmpxchg{'_' if size == Size.DW else ''}{suffix}({addr}, {p}0, {p}{i.src})"
    return None
