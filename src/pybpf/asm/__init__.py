"""eBPF instructions: opcodes, decode/encode, and an llvm-objdump compatible disassembler."""

from __future__ import annotations

from pybpf.asm.insn import INSN_SIZE, LD_IMM64, Instruction, decode, decode_iter, encode
from pybpf.asm.opcodes import (
    AluOp,
    AtomicOp,
    Class,
    Endian,
    JmpOp,
    Mode,
    PseudoCall,
    PseudoSrc,
    Size,
    Source,
)

__all__ = [
    "INSN_SIZE",
    "LD_IMM64",
    "AluOp",
    "AtomicOp",
    "Class",
    "Endian",
    "Instruction",
    "JmpOp",
    "Mode",
    "PseudoCall",
    "PseudoSrc",
    "Size",
    "Source",
    "decode",
    "decode_iter",
    "encode",
]
