"""The eBPF instruction: decode from bytes, encode back, predicates for relocation.

Instructions are 8 bytes (``opcode, dst:4|src:4, off:s16, imm:s32``, little
endian); ld_imm64 takes two slots and carries a 64-bit immediate. Decoding keeps
every bit (including the normally-zero fields of ld_imm64's second slot) so that
``encode(decode(b)) == b`` for any input of whole slots.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

from pybpf._dataclass import dataclass, field, replace
from pybpf._ints import s32
from pybpf.asm.opcodes import (
    CLASS_MASK,
    MODE_MASK,
    OP_MASK,
    SIZE_MASK,
    SOURCE_MASK,
    AluOp,
    AtomicOp,
    Class,
    JmpOp,
    Mode,
    PseudoCall,
    Size,
    Source,
)
from pybpf.errors import ObjectError

__all__ = ["INSN_SIZE", "LD_IMM64", "Instruction", "decode", "decode_iter", "encode"]

INSN_SIZE = 8
LD_IMM64 = Class.LD | Mode.IMM | Size.DW  # 0x18

_SLOT = struct.Struct("<BBhi")
_HI = struct.Struct("<BBhI")


@dataclass(frozen=True, slots=True)
class Instruction:
    """One decoded instruction; ``slot`` is its index in 8-byte slots of its section.

    For ld_imm64 ``imm`` is the low 32 bits (signed, as in the first slot) and
    ``imm64`` the full unsigned 64-bit value; ``next_*`` hold the second slot's
    other fields (zero in valid code, kept for byte-exact round trips).
    """

    opcode: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0
    imm_hi: int = 0
    next_opcode: int = 0
    next_regs: int = 0
    next_off: int = 0
    slot: int = 0
    #: the symbol the object relocates this instruction against (a map, global, extern,
    #: function or an unresolved inline-asm symbol); not encoded, not compared
    reference: str | None = field(default=None, compare=False)

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def ld_imm64(cls, dst: int, value: int, src: int = 0) -> Instruction:
        """An ld_imm64 of ``value`` (taken modulo 2**64) into ``dst``."""
        value &= (1 << 64) - 1
        lo = value & 0xFFFFFFFF
        return cls(LD_IMM64, dst, src, 0, s32(lo), value >> 32)

    # -- fields ---------------------------------------------------------------------------

    @property
    def cls(self) -> Class:
        """Instruction class."""
        return Class(self.opcode & CLASS_MASK)

    @property
    def size(self) -> int:
        """Size field (loads/stores)."""
        return self.opcode & SIZE_MASK

    @property
    def mode(self) -> int:
        """Mode field (loads/stores)."""
        return self.opcode & MODE_MASK

    @property
    def op(self) -> int:
        """Operation nibble (ALU/JMP)."""
        return self.opcode & OP_MASK

    @property
    def source(self) -> int:
        """Source bit (ALU/JMP): ``Source.K`` or ``Source.X``."""
        return self.opcode & SOURCE_MASK

    @property
    def imm64(self) -> int:
        """The unsigned 64-bit immediate of an ld_imm64 (low 32 bits otherwise)."""
        return (self.imm_hi << 32) | (self.imm & 0xFFFFFFFF)

    @property
    def width(self) -> int:
        """Slots this instruction occupies (2 for ld_imm64)."""
        return 2 if self.opcode == LD_IMM64 else 1

    @property
    def byte_offset(self) -> int:
        """Offset of this instruction in its section, in bytes."""
        return self.slot * INSN_SIZE

    # -- predicates -----------------------------------------------------------------------

    @property
    def is_ld_imm64(self) -> bool:
        """True for the two-slot 64-bit immediate load (maps, globals, BTF ids, funcs)."""
        return self.opcode == LD_IMM64

    @property
    def is_call(self) -> bool:
        """True for any call (helper, bpf-to-bpf, kfunc)."""
        return self.opcode == Class.JMP | JmpOp.CALL

    @property
    def is_helper_call(self) -> bool:
        """True for a call of a kernel helper by id."""
        return self.is_call and self.src == PseudoCall.HELPER

    @property
    def is_pseudo_call(self) -> bool:
        """True for a bpf-to-bpf call (``imm`` is a relative slot offset)."""
        return self.is_call and self.src == PseudoCall.CALL

    @property
    def is_kfunc_call(self) -> bool:
        """True for a call of a kernel function by BTF id."""
        return self.is_call and self.src == PseudoCall.KFUNC_CALL

    @property
    def is_exit(self) -> bool:
        """True for ``exit``."""
        return self.opcode == Class.JMP | JmpOp.EXIT

    @property
    def is_jump(self) -> bool:
        """True for jumps with a target (JA, gotol and conditionals; not call/exit)."""
        return self.cls.is_jump and self.op not in (JmpOp.CALL, JmpOp.EXIT)

    @property
    def is_conditional_jump(self) -> bool:
        """True for conditional jumps."""
        return self.is_jump and self.op != JmpOp.JA

    @property
    def jump_offset(self) -> int:
        """Relative target of a jump in slots (``imm`` for gotol, else ``off``)."""
        if self.cls == Class.JMP32 and self.op == JmpOp.JA:
            return self.imm
        return self.off

    @property
    def is_load(self) -> bool:
        """True for memory loads (LDX MEM/MEMSX) and legacy packet loads (LD ABS/IND)."""
        c = self.cls
        if c == Class.LDX:
            return self.mode in (Mode.MEM, Mode.MEMSX)
        return c == Class.LD and self.mode in (Mode.ABS, Mode.IND)

    @property
    def is_store(self) -> bool:
        """True for stores (ST/STX MEM)."""
        return self.cls in (Class.ST, Class.STX) and self.mode == Mode.MEM

    @property
    def is_atomic(self) -> bool:
        """True for atomic instructions (STX ATOMIC)."""
        return self.cls == Class.STX and self.mode == Mode.ATOMIC

    @property
    def is_load_acquire(self) -> bool:
        """True for load-acquire."""
        return self.is_atomic and self.imm == AtomicOp.LOAD_ACQ

    @property
    def is_store_release(self) -> bool:
        """True for store-release."""
        return self.is_atomic and self.imm == AtomicOp.STORE_REL

    @property
    def is_alu(self) -> bool:
        """True for ALU and ALU64 instructions."""
        return self.cls.is_alu

    @property
    def is_alu64(self) -> bool:
        """True for 64-bit ALU instructions."""
        return self.cls == Class.ALU64

    @property
    def is_mov(self) -> bool:
        """True for register/immediate moves (including sign-extending ones)."""
        return self.is_alu and self.op == AluOp.MOV

    @property
    def is_reg_source(self) -> bool:
        """True when an ALU/JMP instruction takes its operand from ``src``."""
        return self.source == Source.X

    # -- transformation -------------------------------------------------------------------

    def replace(self, **changes: int | str | None) -> Instruction:
        """A copy with ``changes`` applied (fields as in the constructor)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def with_imm(self, value: int) -> Instruction:
        """A copy with a new immediate: 64-bit for ld_imm64, signed/unsigned 32-bit otherwise."""
        if self.is_ld_imm64:
            value &= (1 << 64) - 1
            return replace(self, imm=s32(value & 0xFFFFFFFF), imm_hi=value >> 32)
        if not -(1 << 31) <= value < (1 << 32):
            raise ValueError(f"immediate {value:#x} does not fit in 32 bits")
        return replace(self, imm=s32(value))

    def with_src(self, src: int) -> Instruction:
        """A copy with a new source register/pseudo field."""
        return replace(self, src=src)

    def with_off(self, off: int) -> Instruction:
        """A copy with a new 16-bit offset."""
        if not -(1 << 15) <= off < (1 << 16):
            raise ValueError(f"offset {off:#x} does not fit in 16 bits")
        return replace(self, off=off if off < (1 << 15) else off - (1 << 16))

    # -- bytes ----------------------------------------------------------------------------

    def encode(self) -> bytes:
        """The instruction's bytes (16 for ld_imm64)."""
        head = _SLOT.pack(
            self.opcode, ((self.src & 0xF) << 4) | (self.dst & 0xF), self.off, self.imm
        )
        if not self.is_ld_imm64:
            return head
        return head + _HI.pack(self.next_opcode, self.next_regs, self.next_off, self.imm_hi)


def decode_iter(data: bytes, *, section: str | None = None) -> Iterator[Instruction]:
    """Yield the instructions in ``data`` (whole 8-byte slots) one by one."""
    if len(data) % INSN_SIZE:
        raise ObjectError(
            f"code size {len(data)} is not a multiple of {INSN_SIZE}",
            section=section,
            offset=len(data) - len(data) % INSN_SIZE,
        )
    nslots = len(data) // INSN_SIZE
    slot = 0
    while slot < nslots:
        opcode, regs, off, imm = _SLOT.unpack_from(data, slot * INSN_SIZE)
        if opcode == LD_IMM64:
            if slot + 1 >= nslots:
                raise ObjectError(
                    "ld_imm64 instruction truncated (missing second slot)",
                    section=section,
                    offset=slot * INSN_SIZE,
                )
            nop, nregs, noff, hi = _HI.unpack_from(data, (slot + 1) * INSN_SIZE)
            yield Instruction(opcode, regs & 0xF, regs >> 4, off, imm, hi, nop, nregs, noff, slot)
            slot += 2
        else:
            yield Instruction(opcode, regs & 0xF, regs >> 4, off, imm, slot=slot)
            slot += 1


def decode(data: bytes, *, section: str | None = None) -> list[Instruction]:
    """Decode ``data`` into instructions; ld_imm64 consumes 16 bytes."""
    return list(decode_iter(data, section=section))


def encode(insns: Iterable[Instruction]) -> bytes:
    """Concatenate the encodings of ``insns``."""
    return b"".join(i.encode() for i in insns)
