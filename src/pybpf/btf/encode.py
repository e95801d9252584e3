"""Marshal BTF types back into a raw blob (what ``BPF_BTF_LOAD`` takes).

Types that are not overridden are copied record-for-record; overridden (or
appended) ones are encoded from their dataclasses. The output keeps the input's
byte order.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from pybpf.btf.types import (
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Kind,
    Ptr,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    Volatile,
)
from pybpf.errors import BTFError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = ["StringTable", "TypeOverrides", "encode", "encode_type"]

TypeOverrides = Mapping[int, Type]
_MASK32 = 0xFFFFFFFF


class StringTable:
    """A growing BTF string section that reuses offsets of strings it already has."""

    def __init__(self, initial: bytes = b"\0", start: int = 0) -> None:
        self.buf = bytearray(initial)
        self.start = start
        self._index: dict[bytes, int] | None = None

    def _build(self) -> dict[bytes, int]:
        index: dict[bytes, int] = {}
        pos = 0
        for piece in bytes(self.buf).split(b"\0")[:-1]:
            index.setdefault(piece, self.start + pos)
            pos += len(piece) + 1
        return index

    def add(self, s: str) -> int:
        """The offset of ``s``, appending it when new; "" is offset 0."""
        if not s:
            return 0
        key = s.encode("utf-8", "surrogateescape")
        if b"\0" in key:
            raise BTFError(f"name {s!r} contains a NUL byte")
        if self._index is None:
            self._index = self._build()
        off = self._index.get(key)
        if off is None:
            off = self.start + len(self.buf)
            self.buf += key + b"\0"
            self._index[key] = off
        return off


def _info(kind: Kind, vlen: int = 0, kflag: bool = False) -> int:
    if not 0 <= vlen <= 0xFFFF:
        raise BTFError(f"{kind.name} has too many entries ({vlen})")
    return (int(kflag) << 31) | (int(kind) << 24) | vlen


def encode_type(t: Type, strings: StringTable) -> list[int]:
    """The u32 words of one type record (names added to ``strings``)."""
    s = strings.add
    if isinstance(t, Int):
        enc = (int(t.encoding) << 24) | (t.offset << 16) | t.bits
        return [s(t.name), _info(Kind.INT), t.size, enc]
    if isinstance(t, Ptr | Volatile | Const | Restrict):
        return [0, _info(t.kind), t.type]
    if isinstance(t, Typedef):
        return [s(t.name), _info(Kind.TYPEDEF), t.type]
    if isinstance(t, Array):
        return [0, _info(Kind.ARRAY), 0, t.type, t.index_type, t.nelems]
    if isinstance(t, Struct | Union):
        kflag = any(m.bitfield_size for m in t.members)
        words = [s(t.name), _info(t.kind, len(t.members), kflag), t.size]
        for m in t.members:
            if kflag and (m.bit_offset > 0xFFFFFF or m.bitfield_size > 0xFF):
                raise BTFError(f"{t.kind.name.lower()} {t.name}: member {m.name} offset too big")
            off = (m.bitfield_size << 24) | m.bit_offset if kflag else m.bit_offset
            words += [s(m.name), m.type, off]
        return words
    if isinstance(t, Enum):
        words = [s(t.name), _info(Kind.ENUM, len(t.values), t.signed), t.size]
        for v in t.values:
            words += [s(v.name), v.value & _MASK32]
        return words
    if isinstance(t, Enum64):
        words = [s(t.name), _info(Kind.ENUM64, len(t.values), t.signed), t.size]
        for v64 in t.values:
            u = v64.value & 0xFFFFFFFFFFFFFFFF
            words += [s(v64.name), u & _MASK32, u >> 32]
        return words
    if isinstance(t, Fwd):
        return [s(t.name), _info(Kind.FWD, 0, t.is_union), 0]
    if isinstance(t, Func):
        return [s(t.name), _info(Kind.FUNC, int(t.linkage)), t.type]
    if isinstance(t, FuncProto):
        words = [0, _info(Kind.FUNC_PROTO, len(t.params)), t.return_type]
        for p in t.params:
            words += [s(p.name), p.type]
        return words
    if isinstance(t, Var):
        return [s(t.name), _info(Kind.VAR), t.type, int(t.linkage)]
    if isinstance(t, Datasec):
        words = [s(t.name), _info(Kind.DATASEC, len(t.vars)), t.size]
        for sv in t.vars:
            words += [sv.type, sv.offset, sv.size]
        return words
    if isinstance(t, Float):
        return [s(t.name), _info(Kind.FLOAT), t.size]
    if isinstance(t, DeclTag):
        return [
            s(t.name),
            _info(Kind.DECL_TAG, 0, t.attribute),
            t.type,
            t.component_idx & _MASK32,
        ]
    if isinstance(t, TypeTag):
        return [s(t.name), _info(Kind.TYPE_TAG, 0, t.attribute), t.type]
    raise BTFError(f"cannot encode {t!r} as a BTF type")


def _to_words(words: Iterable[int], what: str) -> array[int]:
    try:
        return array("I", words)
    except (OverflowError, TypeError) as exc:
        raise BTFError(f"{what}: value out of range for a u32 ({exc})") from exc


def encode(
    btf: BTF, overrides: TypeOverrides | None = None, *, drop_strings: bool = False
) -> bytes:
    """Raw BTF of ``btf``'s own types, with ``overrides`` replacing/appending by id.

    ``drop_strings`` rebuilds the string section from only the names the
    encoded types use; otherwise the original section is kept and new names
    are appended.
    """
    overrides = dict(overrides or {})
    end = btf.type_count
    for tid in sorted(overrides):
        if tid < btf.start_id:
            raise BTFError(
                f"cannot override type [{tid}]: not in this blob", file=btf.file, section=btf.name
            )
        if tid >= end:
            if tid != end:
                raise BTFError(
                    f"appended type ids must follow on from {btf.type_count}: got {tid}",
                    file=btf.file,
                    section=btf.name,
                )
            end += 1
    if drop_strings:
        strings = StringTable(b"" if btf.base is not None else b"\0", btf.start_str_off)
    else:
        strings = StringTable(btf.strings, btf.start_str_off)
    parts: list[bytes] = []
    for tid in range(btf.start_id, end):
        t = overrides.get(tid)
        if t is None and not drop_strings:
            parts.append(btf.raw_record(tid))
            continue
        if t is None:
            t = btf.type(tid)
        words = _to_words(encode_type(t, strings), f"type [{tid}]")
        if not btf.little_endian:
            words.byteswap()
        if array("I", [1]).tobytes()[0] != 1:  # big-endian host
            words.byteswap()
        parts.append(words.tobytes())
    types = b"".join(parts)
    strs = bytes(strings.buf)
    fmt = "<HBBIIIII" if btf.little_endian else ">HBBIIIII"
    hdr = struct.pack(fmt, 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
    return hdr + types + strs
