"""An assembler for the llvm-objdump BPF syntax that :mod:`pybpf.asm.syntax` prints.

It reads plain instruction lines (``r1 = *(u32 *)(r6 + 0x10)``) as well as whole
``llvm-objdump -d``/``-dr`` listings: headers, ``<label>:`` lines, ``; source``
comments, relocation lines and ``...`` runs of zero bytes are understood, so
``assemble(disassemble(obj))`` gives the object's code back.

Beyond llvm's spelling, hand-written text may name jump targets by label
(``goto out``, ``out:``) and helpers by name (``call map_lookup_elem``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pybpf._ints import s32
from pybpf.asm.insn import LD_IMM64, Instruction
from pybpf.asm.opcodes import AluOp, AtomicOp, Class, JmpOp, Mode, PseudoCall, Size, Source
from pybpf.errors import AsmError

__all__ = ["Assembly", "Reloc", "assemble"]

_MAX_REG = 11


@dataclass(frozen=True, slots=True)
class Reloc:
    """A relocation line of a listing: ``offset`` in bytes within ``section``."""

    section: str
    offset: int
    type: str
    symbol: str


class Assembly(bytes):
    """The assembled code (a ``bytes``), with its instructions, labels and relocations.

    ``sections`` maps each ``Disassembly of section`` of a listing to its bytes
    (one entry named ``""`` for text without section headings); the value
    itself is all sections' bytes in order.
    """

    instructions: tuple[Instruction, ...]
    labels: dict[str, int]
    relocations: tuple[Reloc, ...]
    sections: dict[str, bytes]
    lines: dict[int, tuple[int, str]]  # slot -> (line number, line text)
    source: str | None


# -- tokens ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<sym><[^<>\s]+>)
  | (?P<op>s>>=|s>=|s<=|s/=|s%=|<<=|>>=|s>|s<|==|!=|>=|<=|\+=|-=|\*=|/=|%=|\|=|&=|\^=
          |[-+*()\[\],=&<>:])
  | (?P<num>0[xX][0-9a-fA-F]+|[0-9]+)
  | (?P<id>[A-Za-z_.$][\w.$]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    col: int  # 1-based


def _tokens(text: str, line: int, src: str | None, line_text: str, base: int) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise AsmError(
                f"unexpected character {text[pos]!r}",
                line=line,
                column=base + pos + 1,
                text=line_text,
                source=src,
            )
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, m.group(), base + pos + 1))
        pos = m.end()
    return out


# -- templates ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Val:
    value: int | str
    col: int
    text: str


Captures = dict[str, _Val]


@dataclass
class _Ctx:
    pc: int  # slot index of the instruction being assembled
    labels: dict[str, int]  # label -> slot (all labels are known before assembling)
    line: int
    src: str | None
    line_text: str

    def fail(self, msg: str, col: int) -> AsmError:
        return AsmError(msg, line=self.line, column=col, text=self.line_text, source=self.src)


_Builder = Callable[[Captures, _Ctx], Instruction]


@dataclass
class _Template:
    parts: list[str]
    build: _Builder
    name: str = ""


def _match(parts: Sequence[str], toks: Sequence[_Tok]) -> tuple[Captures | None, int, str]:
    """Captures if ``toks`` match ``parts``; else the failing token index and expectation."""
    caps: Captures = {}
    i = 0
    for part in parts:
        tok = toks[i] if i < len(toks) else None
        if part.startswith("@"):
            kind, _, name = part[1:].partition(":")
            if kind == "reg":
                if tok is None or tok.kind != "id" or not re.fullmatch(r"[rw]\d+", tok.text):
                    return None, i, "a register"
                caps[name] = _Val(tok.text, tok.col, tok.text)
                i += 1
            elif kind in ("imm", "rel"):
                sign = 1
                start = tok
                if tok is not None and tok.kind == "op" and tok.text in "+-":
                    if kind == "imm" and tok.text == "+" and name != "off":
                        return None, i, "a number"
                    sign = -1 if tok.text == "-" else 1
                    i += 1
                    tok = toks[i] if i < len(toks) else None
                elif kind == "rel" and tok is not None and tok.kind == "id":
                    caps[name] = _Val(tok.text, tok.col, tok.text)
                    i += 1
                    continue
                if tok is None or tok.kind != "num":
                    return None, i, "a number" if kind == "imm" else "a jump target"
                assert start is not None
                caps[name] = _Val(sign * int(tok.text, 0), start.col, tok.text)
                i += 1
                if kind == "rel" and i < len(toks) and toks[i].kind == "sym":
                    i += 1  # llvm's <symbol+0x..> comment after a target
            elif kind == "id":
                if tok is None or tok.kind != "id":
                    return None, i, "a name"
                caps[name] = _Val(tok.text, tok.col, tok.text)
                i += 1
            elif kind == "callee":
                if tok is None:
                    return None, i, "a helper number or name"
                if tok.kind == "id":
                    caps[name] = _Val(tok.text, tok.col, tok.text)
                    i += 1
                    continue
                sign = 1
                start = tok
                if tok.kind == "op" and tok.text == "-":
                    sign, i = -1, i + 1
                    tok = toks[i] if i < len(toks) else None
                if tok is None or tok.kind != "num":
                    return None, i, "a helper number or name"
                caps[name] = _Val(sign * int(tok.text, 0), start.col, tok.text)
                i += 1
            else:  # pragma: no cover - template typo
                raise AssertionError(part)
        else:
            if tok is None or tok.text != part:
                return None, i, repr(part)
            i += 1
    if i != len(toks):
        return None, i, "end of line"
    return caps, i, ""


# -- field helpers --------------------------------------------------------------------------


def _reg(c: Captures, name: str, ctx: _Ctx, prefix: str | None = None) -> int:
    v = c[name]
    text = str(v.value)
    if prefix is not None and text[0] != prefix:
        raise ctx.fail(f"expected a {prefix} register here, found {text!r}", v.col)
    n = int(text[1:])
    if n > _MAX_REG:
        raise ctx.fail(f"no register {text!r} (r0..r10, r11 internal)", v.col)
    return n


def _prefix(c: Captures, names: Sequence[str], ctx: _Ctx) -> str:
    """The shared r/w prefix of the named registers (an error if they disagree)."""
    first = str(c[names[0]].value)[0]
    for n in names[1:]:
        v = c[n]
        if str(v.value)[0] != first:
            raise ctx.fail(f"register {v.text!r} must be {first}{str(v.value)[1:]}", v.col)
    return first


def _imm32(c: Captures, name: str, ctx: _Ctx) -> int:
    v = c[name]
    assert isinstance(v.value, int)
    if not -(1 << 31) <= v.value < (1 << 32):
        raise ctx.fail(f"immediate {v.text} does not fit in 32 bits", v.col)
    return s32(v.value & 0xFFFFFFFF)


def _off16(c: Captures, name: str, ctx: _Ctx) -> int:
    v = c[name]
    assert isinstance(v.value, int)
    if not -(1 << 15) <= v.value < (1 << 15):
        raise ctx.fail(f"offset {v.value:#x} does not fit in 16 bits", v.col)
    return v.value


def _size(c: Captures, name: str, ctx: _Ctx, signed: bool = False) -> int:
    v = c[name]
    sizes = {"8": Size.B, "16": Size.H, "32": Size.W, "64": Size.DW}
    text = str(v.value)
    want = "s" if signed else "u"
    if text[:1] != want or text[1:] not in sizes:
        raise ctx.fail(f"expected {want}8/{want}16/{want}32/{want}64, found {text!r}", v.col)
    return int(sizes[text[1:]])


def _target(c: Captures, name: str, ctx: _Ctx, bits: int = 16) -> int:
    """A jump's relative slot offset from ``+0x3`` or a label name."""
    v = c[name]
    if isinstance(v.value, int):
        rel = v.value
    elif v.value in ctx.labels:
        rel = ctx.labels[v.value] - ctx.pc - 1
    else:
        raise ctx.fail(f"no label {v.value!r}", v.col)
    lim = 1 << (bits - 1)
    if not -lim <= rel < lim:
        raise ctx.fail(f"jump of {rel} slots does not fit in {bits} bits", v.col)
    return rel


# -- instruction forms ----------------------------------------------------------------------

_ALU_OPS: dict[str, tuple[int, int]] = {
    "+=": (AluOp.ADD, 0),
    "-=": (AluOp.SUB, 0),
    "*=": (AluOp.MUL, 0),
    "/=": (AluOp.DIV, 0),
    "s/=": (AluOp.DIV, 1),
    "|=": (AluOp.OR, 0),
    "&=": (AluOp.AND, 0),
    "<<=": (AluOp.LSH, 0),
    ">>=": (AluOp.RSH, 0),
    "%=": (AluOp.MOD, 0),
    "s%=": (AluOp.MOD, 1),
    "^=": (AluOp.XOR, 0),
    "s>>=": (AluOp.ARSH, 0),
}
_JMP_OPS: dict[str, int] = {
    "==": JmpOp.JEQ,
    ">": JmpOp.JGT,
    ">=": JmpOp.JGE,
    "&": JmpOp.JSET,
    "!=": JmpOp.JNE,
    "s>": JmpOp.JSGT,
    "s>=": JmpOp.JSGE,
    "<": JmpOp.JLT,
    "<=": JmpOp.JLE,
    "s<": JmpOp.JSLT,
    "s<=": JmpOp.JSLE,
}
_LOCK_OPS = {"+=": 0x00, "|=": 0x40, "&=": 0x50, "^=": 0xA0}
_FETCH = {"add": 0x01, "or": 0x41, "and": 0x51, "xor": 0xA1}
JMP_COND = 0xE0


def _cls(prefix: str, wide: int, narrow: int) -> int:
    return wide if prefix == "r" else narrow


def _alu_reg(op: str) -> _Builder:
    def build(c: Captures, ctx: _Ctx) -> Instruction:
        p = _prefix(c, ["d", "s"], ctx)
        code, off = _ALU_OPS[op]
        cls = _cls(p, Class.ALU64, Class.ALU)
        return Instruction(cls | Source.X | code, _reg(c, "d", ctx), _reg(c, "s", ctx), off)

    return build


def _alu_imm(op: str) -> _Builder:
    def build(c: Captures, ctx: _Ctx) -> Instruction:
        p = _prefix(c, ["d"], ctx)
        code, off = _ALU_OPS[op]
        cls = _cls(p, Class.ALU64, Class.ALU)
        return Instruction(cls | Source.K | code, _reg(c, "d", ctx), 0, off, _imm32(c, "k", ctx))

    return build


def _mov_reg(c: Captures, ctx: _Ctx) -> Instruction:
    p = _prefix(c, ["d", "s"], ctx)
    cls = _cls(p, Class.ALU64, Class.ALU)
    return Instruction(cls | Source.X | AluOp.MOV, _reg(c, "d", ctx), _reg(c, "s", ctx))


def _mov_imm(c: Captures, ctx: _Ctx) -> Instruction:
    p = _prefix(c, ["d"], ctx)
    cls = _cls(p, Class.ALU64, Class.ALU)
    return Instruction(cls | AluOp.MOV, _reg(c, "d", ctx), 0, 0, _imm32(c, "k", ctx))


def _movsx(c: Captures, ctx: _Ctx) -> Instruction:
    p = _prefix(c, ["d", "s"], ctx)
    v = c["n"]
    bits = {"s8": 8, "s16": 16, "s32": 32}.get(str(v.value))
    if bits is None or (bits == 32 and p == "w"):
        raise ctx.fail(f"no sign extension {v.text!r} for {p} registers", v.col)
    cls = _cls(p, Class.ALU64, Class.ALU)
    return Instruction(cls | Source.X | AluOp.MOV, _reg(c, "d", ctx), _reg(c, "s", ctx), bits)


def _neg(c: Captures, ctx: _Ctx) -> Instruction:
    p = _prefix(c, ["d", "s"], ctx)
    d = _reg(c, "d", ctx)
    if _reg(c, "s", ctx) != d:
        raise ctx.fail("negation works in place: write rN = -rN", c["s"].col)
    return Instruction(_cls(p, Class.ALU64, Class.ALU) | AluOp.NEG, d)


def _endian(c: Captures, ctx: _Ctx) -> Instruction:
    _prefix(c, ["d", "s"], ctx)
    d = _reg(c, "d", ctx, "r")
    if _reg(c, "s", ctx, "r") != d:
        raise ctx.fail("byte swaps work in place: write rN = be16 rN", c["s"].col)
    v = c["op"]
    m = re.fullmatch(r"(bswap|be|le)(16|32|64)", str(v.value))
    if m is None:
        raise ctx.fail(f"expected be/le/bswap 16/32/64, found {v.text!r}", v.col)
    cls = {"bswap": Class.ALU64 | Source.K, "be": Class.ALU | Source.X, "le": Class.ALU}
    return Instruction(cls[m.group(1)] | AluOp.END, d, 0, 0, int(m.group(2)))


def _addr_space_cast(c: Captures, ctx: _Ctx) -> Instruction:
    _prefix(c, ["d", "s"], ctx)
    hi, lo = c["a"].value, c["b"].value
    assert isinstance(hi, int) and isinstance(lo, int)
    if not (0 <= hi <= 0xFFFF and 0 <= lo <= 0xFFFF):
        raise ctx.fail("address spaces are 16-bit numbers", c["a"].col)
    return Instruction(
        Class.ALU64 | Source.X | AluOp.MOV,
        _reg(c, "d", ctx, "r"),
        _reg(c, "s", ctx, "r"),
        1,
        s32((hi << 16) | lo),
    )


def _ld_imm64(c: Captures, ctx: _Ctx) -> Instruction:
    v = c["k"]
    assert isinstance(v.value, int)
    if not -(1 << 63) <= v.value < (1 << 64):
        raise ctx.fail(f"immediate {v.text} does not fit in 64 bits", v.col)
    return Instruction.ld_imm64(_reg(c, "d", ctx, "r"), v.value)


def _ld_pseudo(c: Captures, ctx: _Ctx) -> Instruction:
    src = c["s"]
    assert isinstance(src.value, int)
    if not 0 <= src.value <= 15:
        raise ctx.fail(f"pseudo source {src.text} is not 0..15", src.col)
    return Instruction(LD_IMM64, _reg(c, "d", ctx, "r"), src.value, 0, _imm32(c, "k", ctx))


def _ld_abs(c: Captures, ctx: _Ctx) -> Instruction:
    _reg(c, "d", ctx, "r")
    if c["d"].value != "r0":
        raise ctx.fail("legacy packet loads write r0", c["d"].col)
    size = _size(c, "sz", ctx)
    if size == Size.DW:
        raise ctx.fail("legacy packet loads are 8, 16 or 32 bits", c["sz"].col)
    if "s" in c:
        return Instruction(Class.LD | Mode.IND | size, 0, _reg(c, "s", ctx, "r"))
    return Instruction(Class.LD | Mode.ABS | size, 0, 0, 0, _imm32(c, "k", ctx))


def _ldx(c: Captures, ctx: _Ctx) -> Instruction:
    signed = str(c["sz"].value).startswith("s")
    size = _size(c, "sz", ctx, signed)
    p = str(c["d"].value)[0]
    if p == "w" and (signed or size == Size.DW):
        raise ctx.fail("this load needs an r register", c["d"].col)
    mode = Mode.MEMSX if signed else Mode.MEM
    if signed and size == Size.DW:
        raise ctx.fail("sign-extending loads are 8, 16 or 32 bits", c["sz"].col)
    d, s = _reg(c, "d", ctx), _reg(c, "s", ctx, "r")
    return Instruction(Class.LDX | mode | size, d, s, _off16(c, "off", ctx))


def _st_imm(c: Captures, ctx: _Ctx) -> Instruction:
    size = _size(c, "sz", ctx)
    d = _reg(c, "d", ctx, "r")
    return Instruction(Class.ST | Mode.MEM | size, d, 0, _off16(c, "off", ctx), _imm32(c, "k", ctx))


def _stx(c: Captures, ctx: _Ctx) -> Instruction:
    size = _size(c, "sz", ctx)
    if size == Size.DW and str(c["s"].value)[0] == "w":
        raise ctx.fail("a 64-bit store needs an r register", c["s"].col)
    d, s = _reg(c, "d", ctx, "r"), _reg(c, "s", ctx)
    return Instruction(Class.STX | Mode.MEM | size, d, s, _off16(c, "off", ctx))


def _lock(op: str) -> _Builder:
    def build(c: Captures, ctx: _Ctx) -> Instruction:
        size = _size(c, "sz", ctx)
        if size not in (Size.W, Size.DW):
            raise ctx.fail("atomic operations are 32 or 64 bits", c["sz"].col)
        if size == Size.DW and str(c["s"].value)[0] == "w":
            raise ctx.fail("a 64-bit atomic needs an r register", c["s"].col)
        d, s = _reg(c, "d", ctx, "r"), _reg(c, "s", ctx)
        off = _off16(c, "off", ctx)
        return Instruction(Class.STX | Mode.ATOMIC | size, d, s, off, _LOCK_OPS[op])

    return build


def _fetch(c: Captures, ctx: _Ctx) -> Instruction:
    v = c["fn"]
    m = re.fullmatch(r"atomic_fetch_(add|or|and|xor)", str(v.value))
    if m is None:
        raise ctx.fail(f"no atomic {v.text!r}", v.col)
    _prefix(c, ["s", "s2"], ctx)
    if c["s"].value != c["s2"].value:
        raise ctx.fail("the fetched and stored register must be the same", c["s2"].col)
    size = _size(c, "sz", ctx)
    want = "r" if size == Size.DW else "w"
    if size not in (Size.W, Size.DW) or str(c["s"].value)[0] != want:
        raise ctx.fail(f"a u{'64' if want == 'r' else '32'} atomic uses {want} registers", v.col)
    d, s = _reg(c, "d", ctx, "r"), _reg(c, "s", ctx)
    off = _off16(c, "off", ctx)
    return Instruction(Class.STX | Mode.ATOMIC | size, d, s, off, _FETCH[m.group(1)])


def _xchg(c: Captures, ctx: _Ctx) -> Instruction:
    v = c["fn"]
    sizes = {"xchg_64": ("r", Size.DW), "xchg32_32": ("w", Size.W)}
    if v.value not in sizes:
        raise ctx.fail(f"expected xchg_64 or xchg32_32, found {v.text!r}", v.col)
    p, size = sizes[str(v.value)]
    for r in ("s", "s2"):
        _reg(c, r, ctx, p)
    if c["s"].value != c["s2"].value:
        raise ctx.fail("the exchanged register must be the destination", c["s2"].col)
    d, s = _reg(c, "d", ctx, "r"), _reg(c, "s", ctx)
    off = _off16(c, "off", ctx)
    return Instruction(Class.STX | Mode.ATOMIC | size, d, s, off, AtomicOp.XCHG)


def _cmpxchg(c: Captures, ctx: _Ctx) -> Instruction:
    v = c["fn"]
    sizes = {"cmpxchg_64": ("r", Size.DW), "cmpxchg32_32": ("w", Size.W)}
    if v.value not in sizes:
        raise ctx.fail(f"expected cmpxchg_64 or cmpxchg32_32, found {v.text!r}", v.col)
    p, size = sizes[str(v.value)]
    for r in ("r0", "r0b"):
        if _reg(c, r, ctx, p) != 0:
            raise ctx.fail(f"cmpxchg compares with {p}0", c[r].col)
    d, s = _reg(c, "d", ctx, "r"), _reg(c, "s", ctx, p)
    off = _off16(c, "off", ctx)
    return Instruction(Class.STX | Mode.ATOMIC | size, d, s, off, AtomicOp.CMPXCHG)


def _load_acquire(c: Captures, ctx: _Ctx) -> Instruction:
    size = _size(c, "sz", ctx)
    want = "r" if size == Size.DW else "w"
    d, s = _reg(c, "d", ctx, want), _reg(c, "s", ctx, "r")
    off = _off16(c, "off", ctx)
    return Instruction(Class.STX | Mode.ATOMIC | size, d, s, off, AtomicOp.LOAD_ACQ)


def _store_release(c: Captures, ctx: _Ctx) -> Instruction:
    size = _size(c, "sz", ctx)
    want = "r" if size == Size.DW else "w"
    d, s = _reg(c, "d", ctx, "r"), _reg(c, "s", ctx, want)
    off = _off16(c, "off", ctx)
    return Instruction(Class.STX | Mode.ATOMIC | size, d, s, off, AtomicOp.STORE_REL)


def _goto(c: Captures, ctx: _Ctx) -> Instruction:
    return Instruction(Class.JMP | JmpOp.JA, 0, 0, _target(c, "t", ctx))


def _gotol(c: Captures, ctx: _Ctx) -> Instruction:
    return Instruction(Class.JMP32 | JmpOp.JA, 0, 0, 0, _target(c, "t", ctx, 32))


def _may_goto(c: Captures, ctx: _Ctx) -> Instruction:
    return Instruction(Class.JMP | JMP_COND, 0, 0, _target(c, "t", ctx))


def _cond(op: str, reg_src: bool) -> _Builder:
    def build(c: Captures, ctx: _Ctx) -> Instruction:
        p = _prefix(c, ["d", "s"] if reg_src else ["d"], ctx)
        cls = _cls(p, Class.JMP, Class.JMP32)
        d = _reg(c, "d", ctx)
        off = _target(c, "t", ctx)
        if reg_src:
            return Instruction(cls | Source.X | _JMP_OPS[op], d, _reg(c, "s", ctx), off)
        return Instruction(cls | _JMP_OPS[op], d, 0, off, _imm32(c, "k", ctx))

    return build


def _call(c: Captures, ctx: _Ctx) -> Instruction:
    v = c["f"]
    code = Class.JMP | JmpOp.CALL
    if isinstance(v.value, int):
        return Instruction(code, 0, PseudoCall.HELPER, 0, _imm32(c, "f", ctx))
    if v.value in ctx.labels:  # a bpf-to-bpf call of a local function
        return Instruction(code, 0, PseudoCall.CALL, 0, ctx.labels[v.value] - ctx.pc - 1)
    helper = _helper_id(v.value)
    if helper is None:
        raise ctx.fail(f"no label or helper named {v.value!r}", v.col)
    return Instruction(code, 0, PseudoCall.HELPER, 0, helper)


def _callx(c: Captures, ctx: _Ctx) -> Instruction:
    return Instruction(Class.JMP | Source.X | JmpOp.CALL, _reg(c, "d", ctx, "r"))


def _exit(c: Captures, ctx: _Ctx) -> Instruction:
    return Instruction(Class.JMP | JmpOp.EXIT)


def _helper_id(name: str) -> int | None:
    from pybpf.uapi.enums import FuncId

    key = name.removeprefix("bpf_")
    try:
        return int(FuncId[key])
    except KeyError:
        return None


def _t(spec: str, build: _Builder) -> _Template:
    """A template from a space-separated spec: literals and ``@kind:name`` captures."""
    return _Template(spec.split(), build, spec)


_MEM = "( @reg:{b} @imm:off )"


def _mem(base: str) -> str:
    return _MEM.format(b=base)


def _templates() -> list[_Template]:
    ts: list[_Template] = []
    for op in _ALU_OPS:
        ts.append(_t(f"@reg:d {op} @reg:s", _alu_reg(op)))
        ts.append(_t(f"@reg:d {op} @imm:k", _alu_imm(op)))
    ts += [
        _t("@reg:d = @reg:s", _mov_reg),
        _t("@reg:d = @imm:k", _mov_imm),
        _t("@reg:d = ( @id:n ) @reg:s", _movsx),
        _t("@reg:d = - @reg:s", _neg),
        _t("@reg:d = @id:op @reg:s", _endian),
        _t("@reg:d = addr_space_cast ( @reg:s , @imm:a , @imm:b )", _addr_space_cast),
        _t("@reg:d = @imm:k ll", _ld_imm64),
        _t("ld_pseudo @reg:d , @imm:s , @imm:k", _ld_pseudo),
        _t("@reg:d = * ( @id:sz * ) skb [ @imm:k ]", _ld_abs),
        _t("@reg:d = * ( @id:sz * ) skb [ @reg:s ]", _ld_abs),
        _t(f"@reg:d = * ( @id:sz * ) {_mem('s')}", _ldx),
        _t(f"* ( @id:sz * ) {_mem('d')} = @imm:k", _st_imm),
        _t(f"* ( @id:sz * ) {_mem('d')} = @reg:s", _stx),
        _t(f"@reg:d = load_acquire ( ( @id:sz * ) {_mem('s')} )", _load_acquire),
        _t(f"store_release ( ( @id:sz * ) {_mem('d')} , @reg:s )", _store_release),
        _t(f"@reg:s = @id:fn ( ( @id:sz * ) {_mem('d')} , @reg:s2 )", _fetch),
        _t("@reg:s = @id:fn ( @reg:d @imm:off , @reg:s2 )", _xchg),
        _t("@reg:r0 = @id:fn ( @reg:d @imm:off , @reg:r0b , @reg:s )", _cmpxchg),
        _t("goto @rel:t", _goto),
        _t("gotol @rel:t", _gotol),
        _t("may_goto @rel:t", _may_goto),
        _t("call @callee:f", _call),
        _t("callx @reg:d", _callx),
        _t("exit", _exit),
    ]
    for op in _LOCK_OPS:
        ts.append(_t(f"lock * ( @id:sz * ) {_mem('d')} {op} @reg:s", _lock(op)))
    for op in _JMP_OPS:
        ts.append(_t(f"if @reg:d {op} @reg:s goto @rel:t", _cond(op, True)))
        ts.append(_t(f"if @reg:d {op} @imm:k goto @rel:t", _cond(op, False)))
    return ts


_TEMPLATES: list[_Template] | None = None


def _assemble_tokens(toks: Sequence[_Tok], ctx: _Ctx) -> Instruction:
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = _templates()
    best_i, expected = -1, []
    for t in _TEMPLATES:
        caps, i, exp = _match(t.parts, toks)
        if caps is not None:
            return t.build(caps, ctx)
        if i > best_i:
            best_i, expected = i, [exp]
        elif i == best_i and exp not in expected:
            expected.append(exp)
    if best_i >= len(toks):
        col = toks[-1].col + len(toks[-1].text) if toks else 1
        raise ctx.fail(f"incomplete instruction: expected {' or '.join(expected)}", col)
    tok = toks[best_i]
    raise ctx.fail(f"expected {' or '.join(expected[:4])}, found {tok.text!r}", tok.col)


# -- listings -------------------------------------------------------------------------------

_HEADER = re.compile(r"^\S.*:\s+file format \S+\s*$")
_SECTION = re.compile(r"^Disassembly of section (?P<name>\S+):\s*$")
_SYMLABEL = re.compile(r"^(?P<addr>[0-9a-fA-F]{16}) <(?P<name>[^>]+)>:\s*$")
_LABEL = re.compile(r"^\s*(?P<name>[A-Za-z_.$][\w.$]*):\s*$")
_ZEROS = re.compile(r"^\s*\.\.\.\s*$")
_RELOC = re.compile(r"^\s*(?P<off>[0-9a-fA-F]{16}):\s+(?P<type>R_BPF_\w+|CO-RE)\s+(?P<sym>.*)$")
_LISTED = re.compile(
    r"^(?P<pre>\s*(?P<slot>\d+):\s*?(?:\t(?P<raw>[0-9a-fA-F]{2}(?: [0-9a-fA-F]{2})*)\t|\s+))"
    r"(?P<text>.*)$"
)


@dataclass
class _Line:
    no: int
    text: str  # the whole line
    body: str  # the instruction text
    col0: int  # 0-based column of body in text
    slot: int | None = None
    raw: bytes | None = None


@dataclass
class _Section:
    name: str
    items: list[tuple[int, _Line | None]] = field(default_factory=list)  # slot, line (None=zero)
    labels: dict[str, int] = field(default_factory=dict)
    relocs: list[Reloc] = field(default_factory=list)
    pos: int = 0  # next slot


def _comment_free(text: str) -> str:
    for mark in (";", "#", "//"):
        i = text.find(mark)
        if i >= 0:
            text = text[:i]
    return text


def assemble(text: str, *, source: str | None = None) -> Assembly:
    """Assemble BPF text in llvm-objdump syntax into instruction bytes.

    ``source`` names the text in errors (a file name). Listings with raw bytes
    (``llvm-objdump -d``) are checked: each line's text must print the same as
    its bytes; lines llvm cannot decode (``<unknown>``) take their bytes.

    >>> assemble("r0 = 0x2\\nexit") == bytes.fromhex("b70000000200000095" + "00" * 7)
    True
    """
    secs: list[_Section] = []
    cur: _Section | None = None
    pending_zero = False

    def section(name: str) -> _Section:
        nonlocal cur
        cur = _Section(name)
        secs.append(cur)
        return cur

    def err(msg: str, no: int, col: int, line: str) -> AsmError:
        return AsmError(msg, line=no, column=col, text=line, source=source)

    for no, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith((";", "#", "//")) or _HEADER.match(line):
            continue
        if m := _SECTION.match(stripped):
            section(m["name"])
            continue
        sec = cur or section("")
        if m := _SYMLABEL.match(stripped):
            addr = int(m["addr"], 16)
            if addr % 8:
                raise err("label address is not a multiple of 8", no, 1, line)
            if addr // 8 < sec.pos:
                raise err(f"label address {addr:#x} goes backwards", no, 1, line)
            while sec.pos < addr // 8:
                sec.items.append((sec.pos, None))
                sec.pos += 1
            sec.labels[m["name"]] = sec.pos
            pending_zero = False
            continue
        if _ZEROS.match(line):
            pending_zero = True
            continue
        if m := _RELOC.match(line):
            sec.relocs.append(Reloc(sec.name, int(m["off"], 16), m["type"], m["sym"].strip()))
            continue
        if m := _LABEL.match(line):
            if m["name"] in sec.labels:
                raise err(f"label {m['name']!r} defined twice", no, m.start("name") + 1, line)
            sec.labels[m["name"]] = sec.pos
            continue
        entry = _Line(no, line, line, 0)
        if m := _LISTED.match(line):
            entry = _Line(no, line, m["text"], m.start("text"), int(m["slot"]))
            if m["raw"]:
                entry.raw = bytes.fromhex(m["raw"])
        body = _comment_free(entry.body)
        entry.body = body
        if entry.slot is not None and entry.slot != sec.pos:
            if entry.slot < sec.pos or not pending_zero:
                raise err(
                    f"instruction number {entry.slot} does not follow {sec.pos - 1}",
                    no,
                    line.find(str(entry.slot)) + 1,
                    line,
                )
            while sec.pos < entry.slot:
                sec.items.append((sec.pos, None))
                sec.pos += 1
        pending_zero = False
        sec.items.append((sec.pos, entry))
        width = 1
        if entry.raw is not None:
            width = max(1, len(entry.raw) // 8)
        elif re.search(r"\bll\s*$|^\s*ld_pseudo\b", body):
            width = 2
        sec.pos += width

    return _finish(secs, source)


def _finish(secs: list[_Section], source: str | None) -> Assembly:
    from pybpf.asm.insn import decode

    all_insns: list[Instruction] = []
    all_labels: dict[str, int] = {}
    lines: dict[int, tuple[int, str]] = {}
    relocs: list[Reloc] = []
    parts: dict[str, bytes] = {}
    base = 0
    for sec in secs:
        call_relocs = {r.offset for r in sec.relocs if r.type == "R_BPF_64_32"}
        out = bytearray()
        insns: list[Instruction] = []
        for slot, entry in sec.items:
            if entry is None:
                out += bytes(8)
                continue
            ctx = _Ctx(slot, sec.labels, entry.no, source, entry.text)
            body = entry.body.strip()
            lead = len(entry.body) - len(entry.body.lstrip())
            if body == "<unknown>" or body.startswith("<unknown opcode"):
                if entry.raw is None:
                    raise ctx.fail("cannot assemble <unknown> without its bytes", entry.col0 + 1)
                out += entry.raw
                continue
            toks = _tokens(body, entry.no, source, entry.text, entry.col0 + lead)
            if not toks:
                raise ctx.fail("expected an instruction", entry.col0 + 1)
            insn = _assemble_tokens(toks, ctx)
            if insn.is_helper_call and slot * 8 in call_relocs:
                insn = insn.replace(src=PseudoCall.CALL)  # a relocated bpf-to-bpf/kfunc call
            code = insn.encode()
            if entry.raw is not None and entry.raw != code:
                if len(entry.raw) != len(code) or not _same_text(entry.raw, insn, slot):
                    raise ctx.fail(
                        f"the text does not match its bytes {entry.raw.hex(' ')}",
                        entry.col0 + lead + 1,
                    )
                code = entry.raw  # another encoding of the same text (lossy llvm spelling)
            insns.extend(i.replace(slot=base + slot) for i in decode(code))
            lines[base + slot] = (entry.no, body)
            out += code
        for name, slot in sec.labels.items():
            all_labels.setdefault(name, base + slot)
        relocs.extend(sec.relocs)
        parts[sec.name] = bytes(out)
        base += len(out) // 8
        all_insns.extend(insns)
    result = Assembly(b"".join(parts.values()))
    result.instructions = tuple(all_insns)
    result.labels = all_labels
    result.relocations = tuple(relocs)
    result.sections = parts
    result.lines = lines
    result.source = source
    return result


def _same_text(raw: bytes, insn: Instruction, slot: int) -> bool:
    """True when ``raw`` prints like ``insn`` (llvm spells both the same)."""
    from pybpf.asm.insn import decode
    from pybpf.asm.syntax import format_instruction

    (other,) = decode(raw)
    return any(
        format_instruction(other, pc=slot * 8, alu32=a)
        == format_instruction(insn, pc=slot * 8, alu32=a)
        for a in (False, True)
    )
