"""USDT probes: ``.note.stapsdt`` notes, x86-64 argument specs and the usdt.bpf.h spec layout.

A USDT probe (``STAP_PROBEn`` from ``<sys/sdt.h>``) is a ``nop`` in the code plus an
ELF note naming its provider, name, address, ``.stapsdt.base`` address, optional
semaphore and an argument string such as ``-4@%eax 8@-8(%rbp) -4@$5``. This module
turns those into uprobe file offsets and into the bytes of libbpf's
``struct __bpf_usdt_spec`` that ``bpf_usdt_arg()`` reads on the BPF side. Pure: no
syscalls.
"""

from __future__ import annotations

import contextlib
import enum
import re
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pybpf._dataclass import dataclass
from pybpf.errors import BTFError, ObjectError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = [
    "MAX_ARGS",
    "NOTE_SECTION",
    "PT_REGS_OFFSETS",
    "ArgKind",
    "SpecLayout",
    "UsdtArg",
    "UsdtNote",
    "UsdtProbe",
    "elf_type",
    "find_probes",
    "parse_arg",
    "parse_args",
    "parse_notes",
    "read_notes",
]

NOTE_SECTION = ".note.stapsdt"
BASE_SECTION = ".stapsdt.base"
NOTE_OWNER = b"stapsdt"
NT_STAPSDT = 3
MAX_ARGS = 12  # BPF_USDT_MAX_ARG_CNT of usdt.bpf.h

# offsetof(struct pt_regs, <reg>) on x86-64, for every name of each register
_PT_REGS = {
    ("r15", "r15d", "r15w", "r15b"): 0,
    ("r14", "r14d", "r14w", "r14b"): 8,
    ("r13", "r13d", "r13w", "r13b"): 16,
    ("r12", "r12d", "r12w", "r12b"): 24,
    ("rbp", "ebp", "bp", "bpl"): 32,
    ("rbx", "ebx", "bx", "bl"): 40,
    ("r11", "r11d", "r11w", "r11b"): 48,
    ("r10", "r10d", "r10w", "r10b"): 56,
    ("r9", "r9d", "r9w", "r9b"): 64,
    ("r8", "r8d", "r8w", "r8b"): 72,
    ("rax", "eax", "ax", "al"): 80,
    ("rcx", "ecx", "cx", "cl"): 88,
    ("rdx", "edx", "dx", "dl"): 96,
    ("rsi", "esi", "si", "sil"): 104,
    ("rdi", "edi", "di", "dil"): 112,
    ("rip", "eip"): 128,
    ("rsp", "esp", "sp", "spl"): 152,
}
PT_REGS_OFFSETS: dict[str, int] = {n: off for names, off in _PT_REGS.items() for n in names}
"""x86-64 register name (any width) -> its offset in ``struct pt_regs``."""


class ArgKind(enum.IntEnum):
    """Where an argument lives (``enum __bpf_usdt_arg_type``)."""

    CONST = 0  # -4@$5
    REG = 1  # -4@%eax
    REG_DEREF = 2  # -4@-20(%rbp)
    SIB = 3  # -4@-20(%rbp,%rax,4): needs libbpf >= 1.7's usdt.bpf.h


_ENUM_NAMES = {
    ArgKind.CONST: "BPF_USDT_ARG_CONST",
    ArgKind.REG: "BPF_USDT_ARG_REG",
    ArgKind.REG_DEREF: "BPF_USDT_ARG_REG_DEREF",
    ArgKind.SIB: "BPF_USDT_ARG_SIB",
}


@dataclass(frozen=True)
class UsdtNote:
    """One ``NT_STAPSDT`` note as stored (addresses are link-time virtual addresses)."""

    provider: str
    name: str
    pc: int
    base: int
    semaphore: int
    args: str
    offset: int  # of the note in .note.stapsdt (for error messages)


@dataclass(frozen=True)
class UsdtArg:
    """One argument: ``size`` bytes (1/2/4/8), ``signed``, and where it is.

    CONST: the value is ``val_off``. REG: register ``reg``. REG_DEREF: memory at
    ``reg + val_off``. SIB: memory at ``reg + index_reg * scale + val_off``.
    """

    text: str
    size: int
    signed: bool
    kind: ArgKind
    val_off: int = 0
    reg: str = ""
    index_reg: str = ""
    scale: int = 1

    @property
    def reg_off(self) -> int:
        """Offset of ``reg`` in ``struct pt_regs`` (0 for constants)."""
        return PT_REGS_OFFSETS[self.reg] if self.reg else 0

    @property
    def idx_reg_off(self) -> int:
        """Offset of ``index_reg`` in ``struct pt_regs`` (0 unless SIB)."""
        return PT_REGS_OFFSETS[self.index_reg] if self.index_reg else 0

    @property
    def bitshift(self) -> int:
        """Bits to clear (and sign-extend from) to narrow a u64 to ``size`` bytes."""
        return 64 - 8 * self.size


@dataclass(frozen=True)
class UsdtProbe:
    """A USDT call site of a binary, ready to attach: uprobe offsets and parsed arguments."""

    provider: str
    name: str
    address: int  # virtual address of the nop (after the .stapsdt.base adjustment)
    offset: int  # file offset (what the uprobe takes)
    semaphore: int  # semaphore virtual address, 0 if none
    semaphore_offset: int  # its file offset (the uprobe's ref_ctr_offset), 0 if none
    args_text: str
    args: tuple[UsdtArg, ...]


# -- notes -----------------------------------------------------------------------------


def parse_notes(
    data: bytes, *, file: str | None = None, addr_size: int = 8, byteorder: str = "little"
) -> list[UsdtNote]:
    """Every ``stapsdt`` note in the raw contents of a ``.note.stapsdt`` section.

    Notes of other owners or types are skipped; malformed ones raise ObjectError.
    """
    end = "<" if byteorder == "little" else ">"
    addr_fmt = end + ("3Q" if addr_size == 8 else "3I")
    notes: list[UsdtNote] = []
    pos = 0
    while pos + 12 <= len(data):
        start = pos

        def bad(msg: str, at: int = start) -> ObjectError:
            return ObjectError(
                f"malformed USDT note: {msg}", file=file, section=NOTE_SECTION, offset=at
            )

        namesz, descsz, ntype = struct.unpack_from(end + "3I", data, pos)
        pos += 12
        name_end = pos + namesz
        desc_start = pos + _align4(namesz)
        desc_end = desc_start + descsz
        if desc_end > len(data):
            raise bad(f"note of {namesz}+{descsz} bytes runs past the section's {len(data)}")
        pos = desc_start + _align4(descsz)
        owner = data[start + 12 : name_end].rstrip(b"\0")
        if owner != NOTE_OWNER or ntype != NT_STAPSDT:
            continue
        desc = data[desc_start:desc_end]
        fixed = struct.calcsize(addr_fmt)
        if len(desc) < fixed + 3:
            raise bad(f"description of {len(desc)} bytes is too short")
        pc, base, sema = struct.unpack_from(addr_fmt, desc, 0)
        fields = desc[fixed:].split(b"\0")
        if len(fields) < 3:
            raise bad("provider, name and arguments must be NUL-terminated strings")
        provider, name, args = (f.decode("utf-8", "replace") for f in fields[:3])
        if not name:
            raise bad("empty probe name")
        if args.startswith(":"):
            args = ""  # sdt.h's form for "no arguments"
        notes.append(UsdtNote(provider, name, pc, base, sema, args, start))
    if pos < len(data) and any(data[pos:]):
        raise ObjectError(
            "malformed USDT note: trailing bytes", file=file, section=NOTE_SECTION, offset=pos
        )
    return notes


def _align4(n: int) -> int:
    return (n + 3) & ~3


def elf_type(path: str) -> str:
    """The ELF file type of ``path`` (``ET_EXEC``, ``ET_DYN``, ...)."""
    with _open_elf(path) as (elf, _):
        return str(elf.header["e_type"])


def read_notes(path: str) -> list[UsdtNote]:
    """The USDT notes of the ELF file at ``path`` (empty when it has none)."""
    with _open_elf(path) as (elf, _):
        return _elf_notes(elf, path)


@contextlib.contextmanager
def _open_elf(path: str) -> Iterator[tuple[Any, Any]]:
    """``with _open_elf(path) as (elffile, file)``: pyelftools errors become ObjectError."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, after the caller's block
    except OSError as exc:
        raise ObjectError(f"cannot read: {exc.strerror}", file=path) from exc
    with f:
        try:
            elf = ELFFile(f)
        except ELFError as exc:
            raise ObjectError(f"not an ELF file: {exc}", file=path) from exc
        try:
            yield elf, f
        except ELFError as exc:
            raise ObjectError(f"malformed ELF: {exc}", file=path) from exc


def _elf_notes(elf: Any, path: str) -> list[UsdtNote]:
    from elftools.common.exceptions import ELFError

    try:
        sec = elf.get_section_by_name(NOTE_SECTION)
        if sec is None:
            return []
        if sec["sh_type"] != "SHT_NOTE":
            raise ObjectError("USDT notes section is not SHT_NOTE", file=path, section=NOTE_SECTION)
        data = sec.data()
    except ELFError as exc:
        raise ObjectError(f"malformed ELF: {exc}", file=path, section=NOTE_SECTION) from exc
    return parse_notes(
        data,
        file=path,
        addr_size=8 if elf.elfclass == 64 else 4,
        byteorder="little" if elf.little_endian else "big",
    )


# -- argument specs --------------------------------------------------------------------

_INT = r"[-+]?(?:0[xX][0-9a-fA-F]+|\d+)"
_ARG = re.compile(r"^(?P<size>[-+]?\d+)@(?P<loc>.+)$")
_CONST = re.compile(rf"^\$(?P<val>{_INT})$")
_REG = re.compile(r"^%(?P<reg>[a-z0-9]+)$")
# disp(%base[,%index[,scale]]); disp is a number, or symbol[+-number] for %rip
_MEM = re.compile(
    r"^(?P<disp>[^(]*)\(\s*%(?P<base>[a-z0-9]+)\s*"
    r"(?:,\s*%(?P<index>[a-z0-9]+)\s*(?:,\s*(?P<scale>\d+)\s*)?)?\)$"
)
_SYM_DISP = re.compile(rf"^(?P<sym>[A-Za-z_.$][\w.$@]*)(?P<add>{_INT})?$")

SymbolLookup = Callable[[str], "int | None"]


def parse_arg(
    text: str,
    *,
    pc: int | None = None,
    symbols: SymbolLookup | None = None,
    where: str = "",
) -> UsdtArg:
    """Parse one x86-64 argument spec (``-4@%eax``, ``8@-8(%rbp)``, ``-4@$5``, ``-4@(%rdx,%rcx,4)``).

    ``sym+off(%rip)`` operands need ``symbols`` (name -> virtual address) and the
    probe's ``pc``: the uprobe sees %rip at the probe, so the offset becomes
    ``address - pc``. Unsupported forms raise ObjectError naming the spec.
    """

    def bad(why: str) -> ObjectError:
        return ObjectError(f"USDT argument {text!r}{where}: {why}", section=NOTE_SECTION)

    m = _ARG.match(text.strip())
    if m is None:
        raise bad("expected <size>@<location> (sdt.h v3 notes)")
    size = int(m["size"])
    signed = size < 0
    if abs(size) not in (1, 2, 4, 8):
        raise bad(f"unsupported size {abs(size)} (1, 2, 4 or 8 bytes)")
    loc = m["loc"].strip()

    def reg(name: str) -> str:
        if name not in PT_REGS_OFFSETS:
            raise bad(f"unsupported register %{name}")
        return name

    def arg(kind: ArgKind, **kw: Any) -> UsdtArg:
        return UsdtArg(text, abs(size), signed, kind, **kw)

    if c := _CONST.match(loc):
        return arg(ArgKind.CONST, val_off=int(c["val"], 0))
    if r := _REG.match(loc):
        return arg(ArgKind.REG, reg=reg(r["reg"]))
    mm = _MEM.match(loc)
    if mm is None:
        raise bad(
            "unsupported location (constant $N, %reg, disp(%reg) or disp(%base,%index,scale))"
        )
    base, disp_text = reg(mm["base"]), mm["disp"].strip()
    disp = _displacement(disp_text, base, pc, symbols, bad)
    if mm["index"] is None:
        return arg(ArgKind.REG_DEREF, val_off=disp, reg=base)
    scale = int(mm["scale"] or 1)
    if scale not in (1, 2, 4, 8):
        raise bad(f"invalid scale {scale} (1, 2, 4 or 8)")
    return arg(ArgKind.SIB, val_off=disp, reg=base, index_reg=reg(mm["index"]), scale=scale)


def _displacement(
    disp: str,
    base: str,
    pc: int | None,
    symbols: SymbolLookup | None,
    bad: Callable[[str], ObjectError],
) -> int:
    if not disp:
        return 0
    try:
        return int(disp, 0)
    except ValueError:
        pass
    s = _SYM_DISP.match(disp)
    if s is None:
        raise bad(f"unsupported displacement {disp!r}")
    if base not in ("rip", "eip"):
        raise bad(f"symbol {s['sym']!r} relative to %{base} (only %rip-relative symbols work)")
    if symbols is None or pc is None:
        raise bad(f"symbol {s['sym']!r} needs the binary's symbol table")
    addr = symbols(s["sym"])
    if addr is None:
        raise bad(f"symbol {s['sym']!r} is not defined in the binary")
    return addr + (int(s["add"], 0) if s["add"] else 0) - pc


def parse_args(
    text: str,
    *,
    pc: int | None = None,
    symbols: SymbolLookup | None = None,
    where: str = "",
) -> tuple[UsdtArg, ...]:
    """All arguments of a note's argument string (at most :data:`MAX_ARGS`)."""
    parts = text.split()
    if len(parts) > MAX_ARGS:
        raise ObjectError(
            f"USDT probe{where} has {len(parts)} arguments; usdt.bpf.h takes at most {MAX_ARGS}",
            section=NOTE_SECTION,
        )
    return tuple(parse_arg(p, pc=pc, symbols=symbols, where=where) for p in parts)


# -- probes of a binary ----------------------------------------------------------------


@dataclass(frozen=True)
class _Segment:
    start: int
    end: int
    offset: int
    executable: bool


def find_probes(path: str, provider: str | None = None, name: str | None = None) -> list[UsdtProbe]:
    """The USDT sites of ``path`` (optionally only ``provider``/``name``), like libbpf sees them.

    Addresses are corrected by ``.stapsdt.base`` (prelink) and mapped to file
    offsets through the PT_LOAD segments; semaphores must lie in a writable
    segment. Arguments are parsed; an unsupported one raises ObjectError.
    """
    with _open_elf(path) as (elf, _):
        if elf.header["e_type"] not in ("ET_EXEC", "ET_DYN"):
            raise ObjectError(
                f"USDT probes need an executable or shared library, not {elf.header['e_type']}",
                file=path,
            )
        notes = [
            n
            for n in _elf_notes(elf, path)
            if (provider is None or n.provider == provider) and (name is None or n.name == name)
        ]
        if not notes:
            return []
        if elf.header["e_machine"] != "EM_X86_64":
            raise ObjectError(
                f"USDT argument specs of {elf.header['e_machine']} binaries: pybpf parses "
                "x86-64 ones only",
                file=path,
            )
        segs = _segments(elf)
        base_sec = elf.get_section_by_name(BASE_SECTION)
        base_addr = int(base_sec["sh_addr"]) if base_sec is not None else 0
        symbols = _symbol_lookup(elf)
        return [_probe(n, path, segs, base_addr, symbols) for n in notes]


def _probe(
    note: UsdtNote,
    path: str,
    segs: Sequence[_Segment],
    base_addr: int,
    symbols: SymbolLookup,
) -> UsdtProbe:
    what = f"{note.provider}:{note.name}"
    shift = base_addr - note.base if base_addr and note.base else 0
    addr = note.pc + shift

    def bad(msg: str) -> ObjectError:
        return ObjectError(
            f"USDT probe {what}: {msg}", file=path, section=NOTE_SECTION, offset=note.offset
        )

    seg = _segment_of(segs, addr)
    if seg is None or not seg.executable:
        raise bad(f"address {addr:#x} is not in an executable PT_LOAD segment")
    sema = sema_off = 0
    if note.semaphore:
        sema = note.semaphore + shift
        sseg = _segment_of(segs, sema)
        if sseg is None or sseg.executable:
            raise bad(f"semaphore {sema:#x} is not in a data PT_LOAD segment")
        sema_off = sema - sseg.start + sseg.offset
    where = f" of {what} at {addr:#x} in {path}"
    try:
        args = parse_args(note.args, pc=addr, symbols=symbols, where=where)
    except ObjectError as exc:
        raise ObjectError(exc.message, file=path, section=NOTE_SECTION, offset=note.offset) from exc
    return UsdtProbe(
        note.provider,
        note.name,
        addr,
        addr - seg.start + seg.offset,
        sema,
        sema_off,
        note.args,
        args,
    )


def _segments(elf: Any) -> list[_Segment]:
    out = [
        _Segment(
            int(s["p_vaddr"]),
            int(s["p_vaddr"] + s["p_memsz"]),
            int(s["p_offset"]),
            bool(s["p_flags"] & 1),  # PF_X
        )
        for s in elf.iter_segments()
        if s["p_type"] == "PT_LOAD"
    ]
    return sorted(out, key=lambda s: s.start)


def _segment_of(segs: Sequence[_Segment], addr: int) -> _Segment | None:
    for s in segs:
        if s.start <= addr < s.end:
            return s
    return None


def _symbol_lookup(elf: Any) -> SymbolLookup:
    """Lazy name -> address lookup over .symtab then .dynsym (defined symbols only)."""
    table: dict[str, int] | None = None

    def lookup(name: str) -> int | None:
        nonlocal table
        if table is None:
            table = dict(_iter_symbols(elf))
        return table.get(name)

    return lookup


def _iter_symbols(elf: Any) -> Iterator[tuple[str, int]]:
    from elftools.elf.sections import SymbolTableSection

    for sec_name in (".dynsym", ".symtab"):  # .symtab last: it wins on duplicates
        sec = elf.get_section_by_name(sec_name)
        if not isinstance(sec, SymbolTableSection):
            continue
        for sym in sec.iter_symbols():
            if sym.name and sym["st_shndx"] != "SHN_UNDEF" and sym["st_value"]:
                yield sym.name.split("@", 1)[0], int(sym["st_value"])


# -- struct __bpf_usdt_spec ------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    bit_offset: int
    bits: int


class SpecLayout:
    """Where the fields of ``struct __bpf_usdt_spec`` sit, read from an object's BTF.

    :meth:`default` is the classic layout (usdt.bpf.h before SIB arguments) for
    objects without BTF; newer headers move fields (their bitfields make the arg
    spec 24 bytes), which only BTF tells. :meth:`encode` fills one spec;
    ``supports_sib`` says whether the object's usdt.bpf.h knows ``BPF_USDT_ARG_SIB``.
    """

    def __init__(
        self,
        size: int,
        max_args: int,
        arg_size: int,
        spec_fields: dict[str, _Field],
        arg_fields: dict[str, _Field],
        kinds: dict[ArgKind, int],
    ) -> None:
        self.size = size
        self.max_args = max_args
        self.arg_size = arg_size
        self.spec_fields = spec_fields
        self.arg_fields = arg_fields
        self.kinds = kinds

    @property
    def supports_sib(self) -> bool:
        """Whether scale-index-base arguments can be encoded for this BPF side."""
        return ArgKind.SIB in self.kinds and {"idx_reg_off", "scale_bitshift"} <= set(
            self.arg_fields
        )

    @classmethod
    def default(cls) -> SpecLayout:
        """12 args of 16 bytes, then usdt_cookie and arg_cnt (208 bytes); no SIB."""
        arg = {
            "val_off": _Field(0, 64),
            "arg_type": _Field(64, 32),
            "reg_off": _Field(96, 16),
            "arg_signed": _Field(112, 8),
            "arg_bitshift": _Field(120, 8),
        }
        spec = {
            "args": _Field(0, MAX_ARGS * 128),
            "usdt_cookie": _Field(1536, 64),
            "arg_cnt": _Field(1600, 16),
        }
        return cls(208, MAX_ARGS, 16, spec, arg, {k: int(k) for k in ArgKind if k != ArgKind.SIB})

    @classmethod
    def from_btf(cls, btf: BTF, type_id: int) -> SpecLayout:
        """The layout of BTF type ``type_id`` (a ``struct __bpf_usdt_spec``)."""
        from pybpf.btf.types import Array, Enum, Enum64, Struct

        def bad(msg: str) -> BTFError:
            return BTFError(f"struct __bpf_usdt_spec (type [{type_id}]): {msg}")

        spec_t = btf.type(btf.resolve(type_id))
        if not isinstance(spec_t, Struct):
            raise bad("not a struct")
        spec_fields = cls._fields(btf, spec_t)
        for need in ("args", "usdt_cookie", "arg_cnt"):
            if need not in spec_fields:
                raise bad(f"no member {need!r}")
        args_m = next(m for m in spec_t.members if m.name == "args")
        args_t = btf.type(btf.resolve(args_m.type))
        if not isinstance(args_t, Array):
            raise bad("member 'args' is not an array")
        arg_t = btf.type(btf.resolve(args_t.type))
        if not isinstance(arg_t, Struct):
            raise bad("'args' elements are not structs")
        arg_fields = cls._fields(btf, arg_t)
        for need in ("val_off", "arg_type", "reg_off", "arg_signed", "arg_bitshift"):
            if need not in arg_fields:
                raise bad(f"struct {arg_t.name} has no member {need!r}")
        type_m = next(m for m in arg_t.members if m.name == "arg_type")
        enum_t = btf.type(btf.resolve(type_m.type))
        kinds: dict[ArgKind, int] = {}
        if isinstance(enum_t, Enum | Enum64):
            by_name = {v.name: v.value for v in enum_t.values}
            kinds = {k: by_name[n] for k, n in _ENUM_NAMES.items() if n in by_name}
        else:
            kinds = {k: int(k) for k in ArgKind if k is not ArgKind.SIB}
        return cls(spec_t.size, args_t.nelems, arg_t.size, spec_fields, arg_fields, kinds)

    @staticmethod
    def _fields(btf: BTF, st: Any) -> dict[str, _Field]:
        out: dict[str, _Field] = {}
        for m in st.members:
            bits = m.bitfield_size or 8 * btf.size_of(m.type)
            out[m.name] = _Field(m.bit_offset, bits)
        return out

    def encode(self, args: Sequence[UsdtArg], cookie: int = 0) -> bytes:
        """The spec value for ``args`` with user cookie ``cookie`` (what ``bpf_usdt_cookie`` returns)."""
        if len(args) > self.max_args:
            raise ObjectError(
                f"USDT probe has {len(args)} arguments; the object's usdt.bpf.h takes {self.max_args}"
            )
        buf = bytearray(self.size)
        for i, a in enumerate(args):
            if a.kind not in self.kinds or (a.kind is ArgKind.SIB and not self.supports_sib):
                raise ObjectError(
                    f"argument {a.text!r}: the BPF object's usdt.bpf.h has no "
                    f"{_ENUM_NAMES[a.kind]} (scale-index-base arguments need libbpf >= 1.7 headers)"
                )
            base = self.spec_fields["args"].bit_offset + i * self.arg_size * 8
            values = {
                "val_off": a.val_off,
                "arg_type": self.kinds[a.kind],
                "reg_off": a.reg_off,
                "arg_signed": int(a.signed),
                "arg_bitshift": a.bitshift,
            }
            if a.kind is ArgKind.SIB:
                values["idx_reg_off"] = a.idx_reg_off
                values["scale_bitshift"] = a.scale.bit_length() - 1
            for fname, value in values.items():
                f = self.arg_fields[fname]
                _put(buf, base + f.bit_offset, f.bits, value)
        f = self.spec_fields["usdt_cookie"]
        _put(buf, f.bit_offset, f.bits, cookie)
        f = self.spec_fields["arg_cnt"]
        _put(buf, f.bit_offset, f.bits, len(args))
        return bytes(buf)


def _put(buf: bytearray, bit_offset: int, bits: int, value: int) -> None:
    """Store ``value`` (two's complement, truncated to ``bits``) little-endian at ``bit_offset``."""
    mask = (1 << bits) - 1
    first, last = bit_offset // 8, (bit_offset + bits - 1) // 8
    shift = bit_offset - first * 8
    cur = int.from_bytes(buf[first : last + 1], "little")
    cur = (cur & ~(mask << shift)) | ((value & mask) << shift)
    buf[first : last + 1] = cur.to_bytes(last - first + 1, "little")
