"""Write BPF programs in Python: registers, instructions, labels, maps, helpers, ctx fields.

Each function returns one :class:`Insn` (an instruction plus what is still
symbolic: a jump label, a map, a helper name) that remembers the Python
``file:line`` that built it, so a verifier rejection names that line.
:func:`pybpf.load_program` resolves labels and maps and loads the list::

    from pybpf.asm.build import R0, R1, R2, mov, call, jeq, load, label, exit_, ld_map, ctx
    prog = [
        mov(R2, R1),
        load(R0, R1, ctx.xdp_md.ingress_ifindex),  # offset and size from BTF
        jeq(R0, 1, "lo"),
        mov(R0, 2),           # XDP_PASS
        exit_(),
        label("lo"),
        mov(R0, 1),           # XDP_DROP
        exit_(),
    ]

Every ALU and jump also exists as a 32-bit ``*32`` variant (``add32``, ``jeq32``).
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from types import FrameType
from typing import Any

from pybpf._ints import s32
from pybpf.asm.insn import LD_IMM64, Instruction
from pybpf.asm.opcodes import AluOp, AtomicOp, Class, JmpOp, Mode, PseudoCall, PseudoSrc, Size
from pybpf.asm.opcodes import Source as Src

__all__ = [
    "FP",
    "R0",
    "R1",
    "R2",
    "R3",
    "R4",
    "R5",
    "R6",
    "R7",
    "R8",
    "R9",
    "R10",
    "Built",
    "Field",
    "Insn",
    "Label",
    "Reg",
    "add",
    "add32",
    "and32",
    "and_",
    "arsh",
    "arsh32",
    "atomic_add",
    "bswap",
    "call",
    "call_local",
    "ctx",
    "div",
    "div32",
    "exit_",
    "field_of",
    "is_program",
    "jeq",
    "jeq32",
    "jge",
    "jge32",
    "jgt",
    "jgt32",
    "jle",
    "jle32",
    "jlt",
    "jlt32",
    "jne",
    "jne32",
    "jset",
    "jset32",
    "jsge",
    "jsge32",
    "jsgt",
    "jsgt32",
    "jsle",
    "jsle32",
    "jslt",
    "jslt32",
    "jump",
    "label",
    "ld_abs",
    "ld_imm64",
    "ld_ind",
    "ld_map",
    "ld_map_value",
    "load",
    "lsh",
    "lsh32",
    "mod",
    "mod32",
    "mov",
    "mov32",
    "mul",
    "mul32",
    "neg",
    "or32",
    "or_",
    "resolve",
    "rsh",
    "rsh32",
    "sdiv",
    "sdiv32",
    "smod",
    "smod32",
    "store",
    "sub",
    "sub32",
    "to_be",
    "xor",
    "xor32",
]


class Reg(enum.IntEnum):
    """A BPF register; R10 (``FP``) is the read-only frame pointer."""

    R0 = 0
    R1 = 1
    R2 = 2
    R3 = 3
    R4 = 4
    R5 = 5
    R6 = 6
    R7 = 7
    R8 = 8
    R9 = 9
    R10 = 10


R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = Reg
FP = Reg.R10


@dataclass(frozen=True, slots=True)
class Field:
    """A struct member's byte offset and size, e.g. ``ctx("xdp_md", "data")``."""

    struct: str
    path: str
    offset: int
    size: int

    def __add__(self, n: int) -> int:
        return self.offset + n

    def __int__(self) -> int:
        return self.offset

    def __getattr__(self, name: str) -> Field:
        """A nested member: ``ctx.bpf_sock_tuple.ipv4.saddr``."""
        if name.startswith("__"):
            raise AttributeError(name)
        return field_of(self.struct, f"{self.path}.{name}")


@dataclass(frozen=True, slots=True)
class Insn:
    """One instruction being built, with what is still symbolic and where it came from.

    ``target`` is a label for jumps (and bpf-to-bpf calls), ``map_ref`` a map
    (a :class:`~pybpf.map.Map` or its name) for ``ld_map``; ``origin`` is the
    Python ``(file, line)`` of the call that built it.
    """

    insn: Instruction
    target: str | None = None
    map_ref: Any = None
    origin: tuple[str, int] | None = None
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Label:
    """A jump target: the next instruction after it."""

    name: str
    origin: tuple[str, int] | None = field(default=None, compare=False)


Operand = Reg | int
Offset = int | Field
Item = Insn | Label


def _origin() -> tuple[str, int] | None:
    """The first caller frame outside this module: where the user wrote the instruction."""
    frame: FrameType | None = sys._getframe(1)
    here = __file__
    while frame is not None and frame.f_code.co_filename == here:
        frame = frame.f_back
    if frame is None:
        return None
    return frame.f_code.co_filename, frame.f_lineno


def _mk(insn: Instruction, **kw: Any) -> Insn:
    return Insn(insn, origin=_origin(), **kw)


def _imm(value: int, what: str = "immediate") -> int:
    if not -(1 << 31) <= value < (1 << 32):
        raise ValueError(f"{what} {value:#x} does not fit in 32 bits (use ld_imm64)")
    return s32(value & 0xFFFFFFFF)


def _off(value: Offset) -> int:
    off = int(value)
    if not -(1 << 15) <= off < (1 << 15):
        raise ValueError(f"offset {off:#x} does not fit in 16 bits")
    return off


def _reg(value: Any, what: str = "register") -> int:
    if not isinstance(value, Reg):
        raise TypeError(f"{what} must be a Reg (R0..R10), not {value!r}")
    return int(value)


# -- ALU ------------------------------------------------------------------------------------


def _alu(op: int, dst: Reg, src: Operand, cls: int, off: int = 0) -> Insn:
    d = _reg(dst, "dst")
    if isinstance(src, Reg):
        return _mk(Instruction(cls | Src.X | op, d, int(src), off))
    return _mk(Instruction(cls | Src.K | op, d, 0, off, _imm(src)))


def _alu_pair(name: str, op: int, off: int = 0) -> tuple[Any, Any]:
    def op64(dst: Reg, src: Operand) -> Insn:
        return _alu(op, dst, src, Class.ALU64, off)

    def op32(dst: Reg, src: Operand) -> Insn:
        return _alu(op, dst, src, Class.ALU, off)

    op64.__name__, op32.__name__ = name, name + "32"
    op64.__doc__ = f"64-bit ``dst {name} src`` (src a register or 32-bit immediate)."
    op32.__doc__ = f"32-bit ``dst {name} src`` (upper half of dst zeroed)."
    return op64, op32


mov, mov32 = _alu_pair("mov", AluOp.MOV)
add, add32 = _alu_pair("add", AluOp.ADD)
sub, sub32 = _alu_pair("sub", AluOp.SUB)
mul, mul32 = _alu_pair("mul", AluOp.MUL)
div, div32 = _alu_pair("div", AluOp.DIV)
sdiv, sdiv32 = _alu_pair("sdiv", AluOp.DIV, 1)
mod, mod32 = _alu_pair("mod", AluOp.MOD)
smod, smod32 = _alu_pair("smod", AluOp.MOD, 1)
or_, or32 = _alu_pair("or", AluOp.OR)
and_, and32 = _alu_pair("and", AluOp.AND)
lsh, lsh32 = _alu_pair("lsh", AluOp.LSH)
rsh, rsh32 = _alu_pair("rsh", AluOp.RSH)
arsh, arsh32 = _alu_pair("arsh", AluOp.ARSH)
xor, xor32 = _alu_pair("xor", AluOp.XOR)


def neg(dst: Reg) -> Insn:
    """``dst = -dst`` (64-bit)."""
    return _mk(Instruction(Class.ALU64 | AluOp.NEG, _reg(dst)))


def bswap(dst: Reg, bits: int) -> Insn:
    """Byte-swap the low ``bits`` (16/32/64) of ``dst``."""
    return _mk(Instruction(Class.ALU64 | AluOp.END, _reg(dst), 0, 0, bits))


def to_be(dst: Reg, bits: int) -> Insn:
    """Convert ``dst`` between host and big endian (network order) at ``bits`` 16/32/64."""
    return _mk(Instruction(Class.ALU | Src.X | AluOp.END, _reg(dst), 0, 0, bits))


# -- loads and stores -----------------------------------------------------------------------

_SIZES = {1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW}


def _size(size: int | None, off: Offset) -> int:
    if size is None:
        size = off.size if isinstance(off, Field) else 8
    if size not in _SIZES:
        raise ValueError(f"access size {size} must be 1, 2, 4 or 8 bytes")
    return int(_SIZES[size])


def load(dst: Reg, src: Reg, off: Offset = 0, size: int | None = None) -> Insn:
    """``dst = *(uN *)(src + off)``; a :class:`Field` offset gives its own size."""
    sz = _size(size, off)
    return _mk(Instruction(Class.LDX | Mode.MEM | sz, _reg(dst), _reg(src), _off(off)))


def store(dst: Reg, off: Offset, src: Operand, size: int | None = None) -> Insn:
    """``*(uN *)(dst + off) = src`` (a register or a 32-bit immediate)."""
    sz = _size(size, off)
    if isinstance(src, Reg):
        return _mk(Instruction(Class.STX | Mode.MEM | sz, _reg(dst), int(src), _off(off)))
    return _mk(Instruction(Class.ST | Mode.MEM | sz, _reg(dst), 0, _off(off), _imm(src)))


def atomic_add(dst: Reg, off: Offset, src: Reg, size: int = 8) -> Insn:
    """``lock *(uN *)(dst + off) += src`` (4 or 8 bytes)."""
    if size not in (4, 8):
        raise ValueError("atomic operations are 4 or 8 bytes")
    sz = _SIZES[size]
    return _mk(
        Instruction(Class.STX | Mode.ATOMIC | sz, _reg(dst), _reg(src), _off(off), AtomicOp.ADD)
    )


def ld_imm64(dst: Reg, value: int) -> Insn:
    """``dst = value`` for any 64-bit value (two slots)."""
    return _mk(Instruction.ld_imm64(_reg(dst), value))


def ld_map(dst: Reg, map_ref: Any) -> Insn:
    """``dst = &map`` for a :class:`~pybpf.map.Map` or a map name given to ``load_program``."""
    return _mk(Instruction(LD_IMM64, _reg(dst), PseudoSrc.MAP_FD), map_ref=map_ref)


def ld_map_value(dst: Reg, map_ref: Any, offset: int = 0) -> Insn:
    """``dst = &map.value[0] + offset`` of an array map (direct value access)."""
    insn = Instruction(LD_IMM64, _reg(dst), PseudoSrc.MAP_VALUE, 0, 0, offset)
    return _mk(insn, map_ref=map_ref)


def ld_abs(size: int, offset: int) -> Insn:
    """Legacy packet load ``r0 = *(uN *)skb[offset]`` (socket filters; big endian)."""
    return _mk(Instruction(Class.LD | Mode.ABS | _size(size, 0), 0, 0, 0, _imm(offset)))


def ld_ind(size: int, src: Reg, offset: int = 0) -> Insn:
    """Legacy packet load ``r0 = *(uN *)skb[src + offset]``."""
    return _mk(Instruction(Class.LD | Mode.IND | _size(size, 0), 0, _reg(src), 0, _imm(offset)))


# -- jumps and calls ------------------------------------------------------------------------


def label(name: str) -> Label:
    """Mark the position of the next instruction as ``name`` (a jump target)."""
    return Label(name, _origin())


def jump(target: str) -> Insn:
    """``goto target``."""
    return _mk(Instruction(Class.JMP | JmpOp.JA), target=target)


def _cond_pair(name: str, op: int) -> tuple[Any, Any]:
    def build(cls: int, dst: Reg, src: Operand, target: str) -> Insn:
        d = _reg(dst, "dst")
        if isinstance(src, Reg):
            return _mk(Instruction(cls | Src.X | op, d, int(src)), target=target)
        return _mk(Instruction(cls | Src.K | op, d, 0, 0, _imm(src)), target=target)

    def j64(dst: Reg, src: Operand, target: str) -> Insn:
        return build(Class.JMP, dst, src, target)

    def j32(dst: Reg, src: Operand, target: str) -> Insn:
        return build(Class.JMP32, dst, src, target)

    j64.__name__, j32.__name__ = name, name + "32"
    j64.__doc__ = f"``if dst {name[1:]} src goto target`` comparing 64 bits."
    j32.__doc__ = f"``if dst {name[1:]} src goto target`` comparing the low 32 bits."
    return j64, j32


jeq, jeq32 = _cond_pair("jeq", JmpOp.JEQ)
jne, jne32 = _cond_pair("jne", JmpOp.JNE)
jgt, jgt32 = _cond_pair("jgt", JmpOp.JGT)
jge, jge32 = _cond_pair("jge", JmpOp.JGE)
jlt, jlt32 = _cond_pair("jlt", JmpOp.JLT)
jle, jle32 = _cond_pair("jle", JmpOp.JLE)
jsgt, jsgt32 = _cond_pair("jsgt", JmpOp.JSGT)
jsge, jsge32 = _cond_pair("jsge", JmpOp.JSGE)
jslt, jslt32 = _cond_pair("jslt", JmpOp.JSLT)
jsle, jsle32 = _cond_pair("jsle", JmpOp.JSLE)
jset, jset32 = _cond_pair("jset", JmpOp.JSET)


def call(helper: str | int) -> Insn:
    """Call a kernel helper by name (``"map_lookup_elem"``, ``"bpf_ktime_get_ns"``) or id."""
    from pybpf.uapi.enums import FuncId

    if isinstance(helper, str):
        try:
            helper = int(FuncId[helper.removeprefix("bpf_")])
        except KeyError as exc:
            raise ValueError(f"no BPF helper named {helper!r}") from exc
    return _mk(Instruction(Class.JMP | JmpOp.CALL, 0, PseudoCall.HELPER, 0, int(helper)))


def call_local(target: str) -> Insn:
    """A bpf-to-bpf call of the function at label ``target``."""
    return _mk(Instruction(Class.JMP | JmpOp.CALL, 0, PseudoCall.CALL), target=target)


def exit_() -> Insn:
    """Return ``r0``."""
    return _mk(Instruction(Class.JMP | JmpOp.EXIT))


# -- typed context offsets ------------------------------------------------------------------


def field_of(struct: str, path: str) -> Field:
    """Offset and size of ``struct.path`` from the kernel's BTF (``field_of("xdp_md", "data")``).

    ``path`` may name nested members (``"tuple.ipv4.saddr"``) and works for any
    kernel struct, not only program contexts.
    """
    from pybpf.btf import Struct, Union, kernel_btf
    from pybpf.btf.types import Kind

    btf = kernel_btf()
    ids = btf.find(struct, Kind.STRUCT)
    if not ids:
        raise ValueError(f"the kernel's BTF has no struct {struct!r}")
    tid = ids[0]
    offset = 0
    for part in path.split("."):
        t = btf.type(btf.resolve(tid))
        if not isinstance(t, (Struct, Union)):
            raise ValueError(f"{struct}.{path}: {part!r} is not inside a struct or union")
        found = _member(btf, t, part)
        if found is None:
            raise ValueError(f"struct {t.name or '<anon>'} has no member {part!r}")
        bit_off, bits, tid = found
        if bits:
            raise ValueError(f"{struct}.{path} is a bitfield")
        offset += bit_off // 8
    return Field(struct, path, offset, btf.size_of(btf.resolve(tid)))


def _member(btf: Any, t: Any, name: str) -> tuple[int, int, int] | None:
    """(bit offset, bitfield size, type id) of ``name`` in ``t``, looking into anonymous members."""
    from pybpf.btf import Struct, Union

    for m in t.members:
        if m.name == name:
            return m.bit_offset, m.bitfield_size, m.type
        if not m.name:
            inner = btf.type(btf.resolve(m.type))
            if isinstance(inner, (Struct, Union)):
                found = _member(btf, inner, name)
                if found is not None:
                    return m.bit_offset + found[0], found[1], found[2]
    return None


class _StructPath:
    """``ctx.xdp_md.data``: attribute access down a kernel struct, ending in a Field."""

    def __init__(self, struct: str, path: str = "") -> None:
        self._struct, self._path = struct, path

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return field_of(self._struct, f"{self._path}.{name}" if self._path else name)


class _Ctx:
    """Typed struct offsets from the kernel's BTF: ``ctx.xdp_md.data`` or ``ctx("xdp_md", "data")``.

    The result is a :class:`Field` (offset and size) usable wherever an offset
    is; nested members chain (``ctx.__sk_buff.len``).
    """

    def __call__(self, struct: str, path: str) -> Field:
        return field_of(struct, path)

    def __getattr__(self, struct: str) -> Any:
        if struct.startswith("__") and struct.endswith("__"):
            raise AttributeError(struct)
        return _StructPath(struct)


ctx = _Ctx()


# -- resolution -----------------------------------------------------------------------------


@dataclass
class Built:
    """A program with labels resolved: its code, map references and origins per slot."""

    insns: list[Instruction]
    map_refs: dict[int, Any]  # slot -> Map or name
    origins: dict[int, tuple[str, int]]  # slot -> (file, line)

    @property
    def code(self) -> bytes:
        """The instruction bytes (map fds still zero)."""
        return b"".join(i.encode() for i in self.insns)


def resolve(items: Iterable[Item]) -> Built:
    """Lay the items out in slots and turn label references into relative offsets."""
    laid: list[tuple[int, Insn]] = []
    labels: dict[str, int] = {}
    slot = 0
    for item in items:
        if isinstance(item, Label):
            if item.name in labels:
                raise ValueError(f"{_where(item.origin)}label {item.name!r} defined twice")
            labels[item.name] = slot
        elif isinstance(item, Insn):
            laid.append((slot, item))
            slot += item.insn.width
        else:
            raise TypeError(f"not an instruction or label: {item!r}")
    insns: list[Instruction] = []
    refs: dict[int, Any] = {}
    origins: dict[int, tuple[str, int]] = {}
    for at, it in laid:
        insn = replace(it.insn, slot=at)
        if it.target is not None:
            if it.target not in labels:
                raise ValueError(f"{_where(it.origin)}no label {it.target!r}")
            rel = labels[it.target] - at - 1
            if insn.is_call:
                insn = insn.replace(imm=rel)
            else:
                if not -(1 << 15) <= rel < (1 << 15):
                    raise ValueError(f"{_where(it.origin)}jump to {it.target!r} is too far")
                insn = insn.replace(off=rel)
        if it.map_ref is not None:
            refs[at] = it.map_ref
        if it.origin is not None:
            origins[at] = it.origin
        insns.append(insn)
    return Built(insns, refs, origins)


def _where(origin: tuple[str, int] | None) -> str:
    return f"{origin[0]}:{origin[1]}: " if origin else ""


def is_program(items: Any) -> bool:
    """True when ``items`` is a sequence of builder items."""
    return isinstance(items, Sequence) and all(isinstance(i, (Insn, Label)) for i in items)
