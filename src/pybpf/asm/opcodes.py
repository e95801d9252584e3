"""eBPF opcode fields: instruction classes, sizes, modes, ALU/JMP/atomic operations.

An opcode byte is ``class | (size | mode)`` for loads/stores and
``class | source | op`` for ALU and jumps; the values follow the kernel's
``include/uapi/linux/bpf.h`` and the eBPF ISA document (RFC 9669).
"""

from __future__ import annotations

from pybpf._fastenum import FastIntEnum

__all__ = [
    "CLASS_MASK",
    "MODE_MASK",
    "OP_MASK",
    "SIZE_MASK",
    "SOURCE_MASK",
    "AluOp",
    "AtomicOp",
    "Class",
    "Endian",
    "JmpOp",
    "Mode",
    "PseudoCall",
    "PseudoSrc",
    "Size",
    "Source",
]

CLASS_MASK = 0x07
SIZE_MASK = 0x18
MODE_MASK = 0xE0
SOURCE_MASK = 0x08
OP_MASK = 0xF0


class Class(FastIntEnum):
    """Instruction class (low three bits)."""

    LD = 0x00
    LDX = 0x01
    ST = 0x02
    STX = 0x03
    ALU = 0x04
    JMP = 0x05
    JMP32 = 0x06
    ALU64 = 0x07

    @property
    def is_load_store(self) -> bool:
        """True for LD/LDX/ST/STX."""
        return self <= Class.STX

    @property
    def is_alu(self) -> bool:
        """True for ALU/ALU64."""
        return self in (Class.ALU, Class.ALU64)

    @property
    def is_jump(self) -> bool:
        """True for JMP/JMP32."""
        return self in (Class.JMP, Class.JMP32)


class Size(FastIntEnum):
    """Access size of loads and stores."""

    W = 0x00
    H = 0x08
    B = 0x10
    DW = 0x18

    @property
    def bytes(self) -> int:
        """Width in bytes."""
        return {Size.W: 4, Size.H: 2, Size.B: 1, Size.DW: 8}[self]


class Mode(FastIntEnum):
    """Addressing mode of loads and stores."""

    IMM = 0x00
    ABS = 0x20
    IND = 0x40
    MEM = 0x60
    MEMSX = 0x80
    ATOMIC = 0xC0


class Source(FastIntEnum):
    """Operand source for ALU and jumps: immediate (K) or register (X)."""

    K = 0x00
    X = 0x08


class Endian(FastIntEnum):
    """Source bit of ``END`` instructions: convert to little or big endian."""

    TO_LE = 0x00
    TO_BE = 0x08


class AluOp(FastIntEnum):
    """ALU operation (high nibble). SDIV/SMOD/MOVSX are DIV/MOD/MOV with a non-zero ``off``."""

    ADD = 0x00
    SUB = 0x10
    MUL = 0x20
    DIV = 0x30
    OR = 0x40
    AND = 0x50
    LSH = 0x60
    RSH = 0x70
    NEG = 0x80
    MOD = 0x90
    XOR = 0xA0
    MOV = 0xB0
    ARSH = 0xC0
    END = 0xD0


class JmpOp(FastIntEnum):
    """Jump operation (high nibble)."""

    JA = 0x00
    JEQ = 0x10
    JGT = 0x20
    JGE = 0x30
    JSET = 0x40
    JNE = 0x50
    JSGT = 0x60
    JSGE = 0x70
    CALL = 0x80
    EXIT = 0x90
    JLT = 0xA0
    JLE = 0xB0
    JSLT = 0xC0
    JSLE = 0xD0


class AtomicOp(FastIntEnum):
    """Operation in the ``imm`` of an ATOMIC-mode STX instruction."""

    ADD = 0x00
    OR = 0x40
    AND = 0x50
    XOR = 0xA0
    FETCH = 0x01
    FETCH_ADD = 0x01
    FETCH_OR = 0x41
    FETCH_AND = 0x51
    FETCH_XOR = 0xA1
    XCHG = 0xE1
    CMPXCHG = 0xF1
    LOAD_ACQ = 0x100
    STORE_REL = 0x110


class PseudoSrc(FastIntEnum):
    """``src`` of an ld_imm64 naming what ``imm`` refers to."""

    NONE = 0
    MAP_FD = 1
    MAP_VALUE = 2
    BTF_ID = 3
    FUNC = 4
    MAP_IDX = 5
    MAP_IDX_VALUE = 6


class PseudoCall(FastIntEnum):
    """``src`` of a call: helper id, bpf-to-bpf call, or kernel function."""

    HELPER = 0
    CALL = 1
    KFUNC_CALL = 2


# Signed variants selected through ``off``.
SDIV_OFF = 1  # DIV/MOD with off=1 are SDIV/SMOD
MOVSX_OFFS = (8, 16, 32)  # MOV with off=8/16/32 sign-extends
