"""A tiny raw-BTF writer for synthetic local/target types in CO-RE tests."""

from __future__ import annotations

import struct

from pybpf.btf import BTF, Kind


class BTFBuilder:
    """Append types (ids from 1) and strings; ``build()`` gives a parsed BTF."""

    def __init__(self, base: BTF | None = None) -> None:
        self.base = base
        self._first = base.type_count if base is not None else 1
        self._str_base = (base.start_str_off + len(base.strings)) if base is not None else 0
        self._types: list[bytes] = []
        self._strings = bytearray(b"\0")
        self._offs: dict[str, int] = {"": 0}

    def _str(self, s: str) -> int:
        if not s:
            return 0
        off = self._offs.get(s)
        if off is None:
            off = self._offs[s] = self._str_base + len(self._strings)
            self._strings += s.encode() + b"\0"
        return off

    def _add(
        self,
        name: str,
        kind: Kind,
        vlen: int,
        size_or_type: int,
        extra: bytes = b"",
        kflag: bool = False,
    ) -> int:
        info = (int(kflag) << 31) | (int(kind) << 24) | vlen
        self._types.append(struct.pack("<III", self._str(name), info, size_or_type) + extra)
        return self._first + len(self._types) - 1

    def int(
        self,
        name: str,
        size: int,
        signed: bool = False,
        bits: int | None = None,
        char: bool = False,
        boolean: bool = False,
    ) -> int:
        enc = (1 if signed else 0) | (2 if char else 0) | (4 if boolean else 0)
        return self._add(
            name, Kind.INT, 0, size, struct.pack("<I", (enc << 24) | (bits or size * 8))
        )

    def ptr(self, target: int) -> int:
        return self._add("", Kind.PTR, 0, target)

    def array(self, elem: int, nelems: int, index: int = 1) -> int:
        return self._add("", Kind.ARRAY, 0, 0, struct.pack("<III", elem, index, nelems))

    def struct(
        self,
        name: str,
        size: int,
        members: list[tuple[str, int, int] | tuple[str, int, int, int]],
        union: bool = False,
    ) -> int:
        """members: (name, type, bit_offset[, bitfield_size]); any bitfield sets kflag."""
        kflag = any(len(m) == 4 and m[3] for m in members)
        extra = b""
        for m in members:
            off = m[2] | ((m[3] if len(m) == 4 else 0) << 24) if kflag else m[2]  # type: ignore[misc]
            extra += struct.pack("<III", self._str(m[0]), m[1], off)
        return self._add(
            name, Kind.UNION if union else Kind.STRUCT, len(members), size, extra, kflag
        )

    def enum(
        self, name: str, values: list[tuple[str, int]], size: int = 4, signed: bool = False
    ) -> int:
        extra = b"".join(
            struct.pack("<Ii", self._str(n), v if v < 2**31 else v - 2**32) for n, v in values
        )
        return self._add(name, Kind.ENUM, len(values), size, extra, signed)

    def enum64(
        self, name: str, values: list[tuple[str, int]], size: int = 8, signed: bool = False
    ) -> int:
        extra = b"".join(
            struct.pack("<III", self._str(n), v & 0xFFFFFFFF, (v >> 32) & 0xFFFFFFFF)
            for n, v in values
        )
        return self._add(name, Kind.ENUM64, len(values), size, extra, signed)

    def typedef(self, name: str, target: int) -> int:
        return self._add(name, Kind.TYPEDEF, 0, target)

    def const(self, target: int) -> int:
        return self._add("", Kind.CONST, 0, target)

    def fwd(self, name: str, union: bool = False) -> int:
        return self._add(name, Kind.FWD, 0, 0, kflag=union)

    def func_proto(self, ret: int, params: list[tuple[str, int]]) -> int:
        extra = b"".join(struct.pack("<II", self._str(n), t) for n, t in params)
        return self._add("", Kind.FUNC_PROTO, len(params), ret, extra)

    def func(self, name: str, proto: int, linkage: int = 2) -> int:
        return self._add(name, Kind.FUNC, linkage, proto)

    def var(self, name: str, type_id: int, linkage: int = 1) -> int:
        return self._add(name, Kind.VAR, 0, type_id, struct.pack("<I", linkage))

    def bytes(self) -> bytes:
        types = b"".join(self._types)
        strs = bytes(self._strings)
        hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
        return hdr + types + strs

    def build(self, name: str = ".BTF") -> BTF:
        return BTF.from_bytes(self.bytes(), name=name, base=self.base)
