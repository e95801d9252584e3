"""eBPF instructions: opcodes, decode/encode, and an llvm-objdump compatible disassembler."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from pybpf.asm.assemble import Assembly

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
    "assemble",
    "decode",
    "decode_iter",
    "disassemble",
    "encode",
]


def assemble(text: str, *, source: str | None = None) -> Assembly:
    """Assemble llvm-objdump syntax (an instruction per line, or a whole listing) to bytes.

    >>> assemble("r0 = 0x1\\nexit").hex()
    'b7000000010000009500000000000000'
    """
    from pybpf.asm.assemble import assemble as _assemble

    return _assemble(text, source=source)


def disassemble(code: Any, *, alu32: bool = True) -> str:
    """llvm-objdump text of an ``ElfObject`` (the whole object, with relocations) or of
    one program's code (``bytes``, a ``ProgramSpec`` or instructions); ``assemble`` reads it back.

    >>> disassemble(bytes.fromhex("b7000000010000009500000000000000")).splitlines()[1]
    '       1:\\t95 00 00 00 00 00 00 00\\texit'
    """
    from pybpf.asm import disasm

    if hasattr(code, "sections") and hasattr(code, "symbols"):
        return disasm.disassemble(code, relocs=True, alu32=alu32)
    if hasattr(code, "insns"):
        code = code.insns
    if not isinstance(code, (bytes, bytearray)):
        code = encode(code)
    return disasm.disassemble_code(bytes(code), alu32=alu32)
