"""``.BTF.ext``: per-section func_info, line_info and CO-RE relocation records.

Object files store ``insn_off`` in bytes; the kernel's ``BPF_PROG_LOAD`` wants
instruction indexes, which :func:`encode_func_info` / :func:`encode_line_info`
produce.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from pybpf._dataclass import dataclass, field
from pybpf._fastenum import FastIntEnum
from pybpf.errors import BTFError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = [
    "FUNC_INFO_SIZE",
    "LINE_INFO_SIZE",
    "BTFExt",
    "CoreRelo",
    "CoreReloKind",
    "FuncInfo",
    "LineInfo",
    "encode_func_info",
    "encode_line_info",
]

INSN_SIZE = 8
FUNC_INFO_SIZE = 8
LINE_INFO_SIZE = 16
CORE_RELO_SIZE = 16
_HDR = struct.Struct("<HBBIIIII")  # magic .. line_info_len
_CORE_HDR = struct.Struct("<II")  # core_relo_off, core_relo_len
_R = TypeVar("_R")


class CoreReloKind(FastIntEnum):
    """``enum bpf_core_relo_kind``."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12


@dataclass(frozen=True, slots=True)
class FuncInfo:
    """A function starts at byte ``insn_off`` of its section; ``type_id`` is its FUNC."""

    insn_off: int
    type_id: int

    @property
    def insn_index(self) -> int:
        return self.insn_off // INSN_SIZE


@dataclass(frozen=True, slots=True)
class LineInfo:
    """Source position of the instruction at byte ``insn_off``.

    ``file_name_off``/``line_off`` are the string offsets in the object's BTF.
    """

    insn_off: int
    file_name: str
    line_text: str
    line: int
    col: int
    file_name_off: int = field(default=0, compare=False)
    line_off: int = field(default=0, compare=False)

    @property
    def insn_index(self) -> int:
        return self.insn_off // INSN_SIZE


@dataclass(frozen=True, slots=True)
class CoreRelo:
    """A CO-RE relocation at byte ``insn_off``: ``kind`` of ``access_str`` on ``type_id``."""

    insn_off: int
    type_id: int
    access_str: str
    kind: CoreReloKind

    @property
    def insn_index(self) -> int:
        return self.insn_off // INSN_SIZE

    @property
    def access_spec(self) -> tuple[int, ...]:
        """The accessor string ``"0:1:2"`` as integers."""
        try:
            return tuple(int(x) for x in self.access_str.split(":")) if self.access_str else ()
        except ValueError as exc:
            raise BTFError(f"bad CO-RE access string {self.access_str!r}") from exc


@dataclass
class BTFExt:
    """Decoded ``.BTF.ext``: records keyed by the ELF section name they describe."""

    func_info: dict[str, tuple[FuncInfo, ...]]
    line_info: dict[str, tuple[LineInfo, ...]]
    core_relos: dict[str, tuple[CoreRelo, ...]]
    func_info_rec_size: int = FUNC_INFO_SIZE
    line_info_rec_size: int = LINE_INFO_SIZE
    core_relo_rec_size: int = CORE_RELO_SIZE

    @classmethod
    def from_bytes(
        cls, data: bytes | bytearray | memoryview, btf: BTF, *, section: str = ".BTF.ext"
    ) -> BTFExt:
        """Parse ``.BTF.ext``; names resolve against ``btf``. Raises BTFError."""
        return _Parser(bytes(data), btf, section).parse()


class _Parser:
    def __init__(self, data: bytes, btf: BTF, section: str) -> None:
        self.data = data
        self.btf = btf
        self.section = section
        self.le = True

    def err(self, msg: str, offset: int | None) -> BTFError:
        return BTFError(msg, section=self.section, offset=offset)

    def string(self, off: int, where: int) -> str:
        try:
            return self.btf.string(off)
        except BTFError as exc:
            raise self.err(f"string offset {off} is outside the .BTF strings", where) from exc

    def parse(self) -> BTFExt:
        d = self.data
        if len(d) < _HDR.size:
            raise self.err(f"too short for a .BTF.ext header ({len(d)} bytes)", 0)
        magic = struct.unpack_from("<H", d)[0]
        if magic == 0x9FEB:
            self.le = False
        elif magic != 0xEB9F:
            raise self.err(f"bad magic {magic:#06x}", 0)
        e = "<" if self.le else ">"
        _, version, _flags, hdr_len, fi_off, fi_len, li_off, li_len = struct.unpack_from(
            e + "HBBIIIII", d
        )
        if version != 1:
            raise self.err(f"unsupported .BTF.ext version {version}", 2)
        if hdr_len < _HDR.size or hdr_len > len(d):
            raise self.err(f"bad header length {hdr_len}", 4)
        cr_off = cr_len = 0
        if hdr_len >= _HDR.size + _CORE_HDR.size:
            cr_off, cr_len = struct.unpack_from(e + "II", d, _HDR.size)

        def fi(u: tuple[int, ...], _at: int) -> FuncInfo:
            return FuncInfo(u[0], u[1])

        def li(u: tuple[int, ...], at: int) -> LineInfo:
            return LineInfo(
                u[0], self.string(u[1], at + 4), self.string(u[2], at + 8),
                u[3] >> 10, u[3] & 0x3FF, u[1], u[2],
            )  # fmt: skip

        def cr(u: tuple[int, ...], at: int) -> CoreRelo:
            try:
                kind = CoreReloKind(u[3])
            except ValueError as exc:
                raise self.err(f"unknown CO-RE relocation kind {u[3]}", at + 12) from exc
            return CoreRelo(u[0], u[1], self.string(u[2], at + 8), kind)

        funcs, fsz = self.info(hdr_len + fi_off, fi_len, 2, FUNC_INFO_SIZE, fi, "func_info")
        lines, lsz = self.info(hdr_len + li_off, li_len, 4, LINE_INFO_SIZE, li, "line_info")
        relos, csz = self.info(hdr_len + cr_off, cr_len, 4, CORE_RELO_SIZE, cr, "core_relo")
        return BTFExt(funcs, lines, relos, fsz, lsz, csz)

    def info(
        self,
        start: int,
        length: int,
        nfields: int,
        min_size: int,
        make: Callable[[tuple[int, ...], int], _R],
        what: str,
    ) -> tuple[dict[str, tuple[_R, ...]], int]:
        """Parse one info block: record size, then (section name, count, records)*."""
        out: dict[str, tuple[_R, ...]] = {}
        if length == 0:
            return out, min_size
        d, e = self.data, "<" if self.le else ">"
        end = start + length
        if end > len(d):
            raise self.err(f"{what} runs past the end of the data", start)
        if length < 4:
            raise self.err(f"{what} too short for its record size", start)
        rec_size = struct.unpack_from(e + "I", d, start)[0]
        if rec_size < min_size or rec_size % 4:
            raise self.err(f"{what} record size {rec_size} is invalid", start)
        rec = struct.Struct(e + "I" * nfields)
        pos = start + 4
        while pos < end:
            if pos + 8 > end:
                raise self.err(f"{what} section header truncated", pos)
            name_off, count = struct.unpack_from(e + "II", d, pos)
            name = self.string(name_off, pos)
            pos += 8
            if count == 0:
                raise self.err(f"{what} for section {name!r} has no records", pos - 4)
            if pos + count * rec_size > end:
                raise self.err(f"{what} records for section {name!r} run past the end", pos)
            items = [
                make(rec.unpack_from(d, p), p) for p in range(pos, pos + count * rec_size, rec_size)
            ]
            pos += count * rec_size
            out[name] = out.get(name, ()) + tuple(items)
        return out, rec_size


def encode_func_info(records: Iterable[FuncInfo]) -> bytes:
    """Kernel ``bpf_func_info`` array (insn_off as an instruction index)."""
    st = struct.Struct("=II")
    try:
        return b"".join(st.pack(r.insn_off // INSN_SIZE, r.type_id) for r in records)
    except struct.error as exc:
        raise BTFError(f"func_info record out of range: {exc}") from exc


def encode_line_info(records: Iterable[LineInfo], btf: BTF) -> bytes:
    """Kernel ``bpf_line_info`` array against ``btf``'s string offsets.

    Stored offsets are reused when they still name the same text in ``btf``;
    otherwise the text is looked up in ``btf``'s strings (BTFError if absent).
    """
    st = struct.Struct("=IIII")
    lookup: dict[str, int] | None = None

    def off(stored: int, text: str) -> int:
        nonlocal lookup
        if not text:
            return 0
        try:
            if stored and btf.string(stored) == text:
                return stored
        except BTFError:
            pass
        if lookup is None:
            lookup = _string_offsets(btf)
        found = lookup.get(text)
        if found is None:
            raise BTFError(f"line_info string {text[:40]!r} is not in the BTF strings")
        return found

    out = []
    for r in records:
        if not (0 <= r.col <= 0x3FF and 0 <= r.line < (1 << 22)):
            raise BTFError(f"line_info line {r.line} col {r.col} out of range")
        out.append(
            st.pack(
                r.insn_off // INSN_SIZE,
                off(r.file_name_off, r.file_name),
                off(r.line_off, r.line_text),
                (r.line << 10) | r.col,
            )
        )
    return b"".join(out)


def _string_offsets(btf: BTF) -> dict[str, int]:
    table: dict[str, int] = {}
    b: BTF | None = btf
    while b is not None:
        pos = b.start_str_off
        for piece in b.strings.split(b"\0")[:-1]:
            table.setdefault(piece.decode("utf-8", "surrogateescape"), pos)
            pos += len(piece) + 1
        b = b.base
    return table
