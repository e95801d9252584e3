"""The BTF reader: parse a raw BTF blob (base or split) and answer type queries.

Parsing makes one pass recording where each type record starts; records are
decoded into :mod:`pybpf.btf.types` objects only when asked for, and the name
index is built (or read from the on-disk cache) on the first :meth:`BTF.find`.
"""

from __future__ import annotations

import bisect
import struct
import sys
import zlib
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pybpf._ints import s32
from pybpf.btf.types import (
    VOID,
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Kind,
    Linkage,
    Member,
    Param,
    Ptr,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarLinkage,
    VarSecinfo,
    Volatile,
)
from pybpf.errors import BTFError

if TYPE_CHECKING:
    from pybpf.btf import cache as _cache
    from pybpf.btf.encode import TypeOverrides

__all__ = ["BTF", "BTF_MAGIC", "HEADER", "VMLINUX_PATH", "kernel_btf", "read_blob"]

BTF_MAGIC = 0xEB9F
VMLINUX_PATH = "/sys/kernel/btf/vmlinux"
# magic, version, flags, hdr_len, type_off, type_len, str_off, str_len
HEADER = struct.Struct("<HBBIIIII")
MAX_TYPES = 0xFFFFFF  # BTF_MAX_TYPE
_MAX_DEPTH = 64
POINTER_SIZE = 8

# Words after the 3-word header of a record: fixed part and per-vlen part, by kind.
_BAD = 1 << 40  # makes the index pass overshoot on unknown kinds
_FIXED = [_BAD] * 32
_PER = [0] * 32
for _k, _fixed, _per in (
    (Kind.INT, 1, 0),
    (Kind.PTR, 0, 0),
    (Kind.ARRAY, 3, 0),
    (Kind.STRUCT, 0, 3),
    (Kind.UNION, 0, 3),
    (Kind.ENUM, 0, 2),
    (Kind.FWD, 0, 0),
    (Kind.TYPEDEF, 0, 0),
    (Kind.VOLATILE, 0, 0),
    (Kind.CONST, 0, 0),
    (Kind.RESTRICT, 0, 0),
    (Kind.FUNC, 0, 0),
    (Kind.FUNC_PROTO, 0, 2),
    (Kind.VAR, 1, 0),
    (Kind.DATASEC, 0, 3),
    (Kind.FLOAT, 0, 0),
    (Kind.DECL_TAG, 1, 0),
    (Kind.TYPE_TAG, 0, 0),
    (Kind.ENUM64, 0, 3),
):
    _FIXED[_k] = _fixed
    _PER[_k] = _per

# The same by the info word's top byte (kind | kflag << 7), for the index pass.
_STEP = [3 + _FIXED[h & 0x1F] for h in range(256)]
_STEP_PER = [_PER[h & 0x1F] for h in range(256)]
# Up to this many own types the name index is built on the first lookup; above it
# a process searches by string until it has done _SCAN_LIMIT lookups, or the
# offsets came from the cache (a later run: worth building and caching the index).
_SMALL = 4096
_SCAN_LIMIT = 16

_SKIP_QUALIFIERS = frozenset(
    (Kind.TYPEDEF, Kind.CONST, Kind.VOLATILE, Kind.RESTRICT, Kind.TYPE_TAG)
)
_SIZED = frozenset(
    (Kind.INT, Kind.ENUM, Kind.ENUM64, Kind.STRUCT, Kind.UNION, Kind.FLOAT, Kind.DATASEC)
)


_UNKNOWN_KIND_HINT = (
    f" (known kinds are 1..{max(Kind)}: the BTF is corrupt, or from a compiler newer than pybpf)"
)


class BTF:
    """A parsed BTF blob: type ids ``start_id .. type_count-1`` plus its base's.

    Type id 0 is ``void``. Split BTF (kernel modules) continues the ids and the
    string offsets of ``base``.
    """

    def __init__(self) -> None:  # use the from_* constructors
        self.name = ".BTF"
        self.file: str | None = None  # the file read by from_file (named in errors)
        self.base: BTF | None = None
        self.data = b""
        self.little_endian = True
        self.start_id = 1
        self.type_count = 1
        self.start_str_off = 0
        self._words: Sequence[int] = ()
        self._offsets: _cache.U32s = array("I")
        self._str_start = 0
        self._str_len = 0
        self._types: dict[int, Type] = {}
        self._name_hashes: _cache.U32s | None = None
        self._name_ids: _cache.U32s | None = None
        self._name_offs: _cache.U32s | None = None
        self._name_offs_packed: bytes | None = None
        self._all_starts: bool | None = None
        self._from_cache = False
        self._scans = 0
        self._cache_key: tuple[int, int] | None = None
        self.header: tuple[int, ...] = ()

    # ------------------------------------------------------------------ parsing

    def _error(self, message: str, offset: int | None = None) -> BTFError:
        return BTFError(message, file=self.file, section=self.name, offset=offset)

    @classmethod
    def from_bytes(
        cls,
        data: bytes | bytearray | memoryview,
        *,
        base: BTF | None = None,
        name: str = "",
        cache: bool = False,
        _key: tuple[int, int] | None = None,
    ) -> BTF:
        """Parse a raw BTF blob; ``base`` makes it split BTF. Raises BTFError."""
        self = cls()
        self.name = name or ".BTF"
        self.base = base
        self.data = data = bytes(data)
        if base is not None:
            self.start_id = base.type_count
            self.start_str_off = base.start_str_off + base._str_len
        if len(data) < HEADER.size:
            raise self._error(f"too short for a BTF header ({len(data)} bytes)", 0)
        magic = struct.unpack_from("<H", data)[0]
        if magic == BTF_MAGIC:
            self.little_endian = True
            hdr_fmt = HEADER
        elif magic == 0x9FEB:
            self.little_endian = False
            hdr_fmt = struct.Struct(">HBBIIIII")
        else:
            raise self._error(f"bad magic {magic:#06x} (want {BTF_MAGIC:#06x})", 0)
        self.header = hdr = hdr_fmt.unpack_from(data)
        _, version, _flags, hdr_len, type_off, type_len, str_off, str_len = hdr
        if version != 1:
            raise self._error(f"unsupported BTF version {version}", 2)
        if hdr_len < HEADER.size or hdr_len > len(data):
            raise self._error(f"bad header length {hdr_len}", 4)
        ts, ss = hdr_len + type_off, hdr_len + str_off
        if ts + type_len > len(data):
            raise self._error("type section runs past the end of the data", ts)
        if ss + str_len > len(data):
            raise self._error("string section runs past the end of the data", ss)
        if type_off % 4 or type_len % 4 or ts % 4:
            raise self._error("type section is not 4-byte aligned", ts)
        if ts < ss + str_len and ss < ts + type_len:
            raise self._error("type and string sections overlap", ss)
        if str_len and data[ss + str_len - 1] != 0:
            raise self._error("string section is not NUL-terminated", ss + str_len - 1)
        if base is None and (not str_len or data[ss] != 0):
            raise self._error("string section must start with an empty string", ss)
        self._str_start, self._str_len = ss, str_len

        native = (sys.byteorder == "little") == self.little_endian
        if native:
            self._words = memoryview(data)[ts : ts + type_len].cast("I")
        else:
            words = array("I")
            words.frombytes(data[ts : ts + type_len])
            words.byteswap()
            self._words = words
        nwords = type_len // 4

        cached = None
        if cache:
            from pybpf.btf import cache as _cache

            self._cache_key = _key if _key is not None else _cache.content_key(data)
            cached = _cache.load(self._cache_key)
            if cached is not None and not self._plausible(cached, nwords):
                cached = None
        if cached is not None:
            self._from_cache = True
            self._offsets = cached.offsets
            self._name_hashes = cached.name_hashes
            self._name_ids = cached.name_ids
            self._name_offs = cached.name_offs
            self._all_starts = cached.all_starts
        else:
            self._offsets = self._index(nwords, ts, cache)
            self._save()
        self.type_count = self.start_id + len(self._offsets)
        if self.type_count - 1 > MAX_TYPES:
            raise self._error(f"too many types ({self.type_count - 1})", ts)
        return self

    def _plausible(self, cached: _cache.CachedIndex, nwords: int) -> bool:
        """Cheap sanity check of a cached offset table against the blob."""
        offsets = cached.offsets
        if not offsets:
            return nwords == 0
        last = offsets[-1]
        if last + 3 > nwords:
            return False
        nos = cached.name_offs
        if nos is not None and (nos[-1] != self._words[last] or nos[0] != self._words[0]):
            return False
        info = self._words[last + 1]
        k = (info >> 24) & 0x1F
        return last + 3 + _FIXED[k] + _PER[k] * (info & 0xFFFF) == nwords

    def _index(self, nwords: int, ts: int, names: bool = False) -> array[int]:
        """One pass over the type section recording each record's word offset.

        With ``names`` it also gathers each record's name offset (for the cache).
        """
        words = self._words
        if isinstance(words, memoryview):  # array indexing is a little faster
            words = array("I")
            words.frombytes(self._words.cast("B"))  # type: ignore[attr-defined]
            self._words = words
        step, per = _STEP, _STEP_PER
        found: list[int] = []
        append = found.append
        i = 0
        try:
            while True:  # ends with IndexError reading the info word past the end
                append(i)
                h = words[i + 1]
                i += step[h >> 24] + per[h >> 24] * (h & 0xFFFF)
        except IndexError:
            pass
        end = found.pop()
        offsets = array("I", found)
        if end != nwords:
            if end < nwords:  # a record starts there but its header is cut short
                offsets.append(end)
            self._diagnose(offsets, nwords, ts)
        if names:
            from pybpf.btf import names as _names

            self._name_offs = _names.name_offsets(words, offsets)
        return offsets

    def _save(self) -> None:
        """Write what is known of the index to the on-disk cache (if caching)."""
        if self._cache_key is None:
            return
        from pybpf.btf import cache as _cache

        index = _cache.CachedIndex(
            self._offsets,
            self._name_hashes,
            self._name_ids,
            self._name_offs,
            self._all_starts,
        )
        _cache.save(self._cache_key, index)

    def _diagnose(self, offsets: array[int], nwords: int, ts: int) -> None:
        """Raise the precise error for a type section the index pass rejected."""
        i = offsets[-1]
        tid = self.start_id + len(offsets) - 1
        where = ts + 4 * i
        if i + 3 > nwords:
            raise self._error(f"type [{tid}] header truncated", where)
        k = (self._words[i + 1] >> 24) & 0x1F
        if _FIXED[k] == _BAD:
            raise self._error(f"type [{tid}] has unknown kind {k}{_UNKNOWN_KIND_HINT}", where + 4)
        raise self._error(f"type [{tid}] ({Kind(k).name}) runs past the type section", where)

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_file(cls, path: str | Path, base: BTF | None = None, *, cache: bool = False) -> BTF:
        """Read BTF from a raw blob (``/sys/kernel/btf/vmlinux``) or an ELF object's ``.BTF``."""
        try:
            data = read_blob(path)
        except OSError as exc:
            raise BTFError(f"cannot read BTF: {exc.strerror}", file=str(path)) from exc
        key = None
        if cache and str(path) == VMLINUX_PATH:
            key = _vmlinux_key(data)
        try:
            if data[:4] == b"\x7fELF":
                from pybpf.btf.elfsec import btf_sections

                raw, _ = btf_sections(data, file=str(path))
                if raw is None:
                    raise BTFError("ELF object has no .BTF section", file=str(path))
                data = raw
            btf = cls.from_bytes(data, base=base, cache=cache, _key=key)
        except BTFError as exc:
            raise exc.with_file(str(path)) from exc.__cause__
        btf.file = str(path)
        return btf

    @classmethod
    def load_vmlinux(cls, path: str | Path = VMLINUX_PATH, *, cache: bool = True) -> BTF:
        """Load the kernel's BTF, using the on-disk index cache unless disabled."""
        return cls.from_file(path, cache=cache)

    @classmethod
    def load_module(cls, name: str, base: BTF | None = None, *, cache: bool = True) -> BTF:
        """Load a kernel module's split BTF (``/sys/kernel/btf/<name>``) on vmlinux."""
        if base is None:
            base = kernel_btf()
        return cls.from_file(Path(VMLINUX_PATH).parent / name, base, cache=cache)

    # ------------------------------------------------------------------ strings

    def string(self, offset: int) -> str:
        """The string at ``offset`` in the (base + own) string section."""
        if offset < self.start_str_off:
            assert self.base is not None
            return self.base.string(offset)
        local = offset - self.start_str_off
        if local >= self._str_len:
            raise self._error(f"string offset {offset} out of range", None)
        start = self._str_start + local
        end = self.data.index(b"\0", start)
        return self.data[start:end].decode("utf-8", "surrogateescape")

    def string_bytes(self, offset: int) -> bytes:
        """The string at ``offset``, as raw bytes (no decoding: for hashing and compares)."""
        if offset < self.start_str_off:
            assert self.base is not None
            return self.base.string_bytes(offset)
        local = offset - self.start_str_off
        if local >= self._str_len:
            raise self._error(f"string offset {offset} out of range", None)
        start = self._str_start + local
        return self.data[start : self.data.index(b"\0", start)]

    @property
    def strings_span(self) -> tuple[int, int]:
        """(start, length) of this blob's own string section in :attr:`data`, for scans
        over the raw bytes without a copy."""
        return self._str_start, self._str_len

    @property
    def strings(self) -> bytes:
        """This blob's own string section, raw."""
        return self.data[self._str_start : self._str_start + self._str_len]

    # ------------------------------------------------------------------ types

    def __len__(self) -> int:
        return self.type_count

    def __iter__(self) -> Iterator[tuple[int, Type]]:
        """Every (id, type) from 1, base types included."""
        for tid in range(1, self.type_count):
            yield tid, self.type(tid)

    def of_kind(self, *kinds: Kind) -> Iterator[tuple[int, Type]]:
        """Every (id, type) of the given kinds, base types first; others are not decoded."""
        if self.base is not None:
            yield from self.base.of_kind(*kinds)
        want = {int(k) for k in kinds}
        words, start = self._words, self.start_id
        hits = [x for x, off in enumerate(self._offsets) if (words[off + 1] >> 24) & 0x1F in want]
        for x in hits:
            yield start + x, self.type(start + x)

    def own_types(self) -> Iterator[tuple[int, Type]]:
        """(id, type) for this blob's own types only (not the base's)."""
        for tid in range(self.start_id, self.type_count):
            yield tid, self.type(tid)

    def _word_index(self, tid: int) -> int:
        if tid >= self.type_count or tid < self.start_id:
            raise self._error(f"type id {tid} out of range (1..{self.type_count - 1})")
        return self._offsets[tid - self.start_id]

    def record_offset(self, tid: int) -> int:
        """Byte offset of type ``tid``'s record in :attr:`data`."""
        hdr_len, type_off = self.header[3], self.header[4]
        return hdr_len + type_off + 4 * self._word_index(tid)

    def kind_of(self, tid: int) -> Kind:
        """The kind of ``tid`` without decoding it."""
        if tid == 0:
            return Kind.UNKN
        if tid < self.start_id:
            assert self.base is not None
            return self.base.kind_of(tid)
        return Kind((self._words[self._word_index(tid) + 1] >> 24) & 0x1F)

    def name_of(self, tid: int) -> str:
        """The name of ``tid`` without decoding the rest of it."""
        if tid == 0:
            return ""
        if tid < self.start_id:
            assert self.base is not None
            return self.base.name_of(tid)
        return self.string(self._words[self._word_index(tid)])

    def raw_record(self, tid: int) -> bytes:
        """The raw bytes of type ``tid``'s record (own types only)."""
        i = self._word_index(tid)
        n = self._record_words(i)
        start = self.header[3] + self.header[4] + 4 * i
        return self.data[start : start + 4 * n]

    def _record_words(self, i: int) -> int:
        info = self._words[i + 1]
        k = (info >> 24) & 0x1F
        return 3 + _FIXED[k] + _PER[k] * (info & 0xFFFF)

    def type(self, tid: int) -> Type:
        """The decoded type ``tid`` (memoised); BTFError for an unknown id."""
        t = self._types.get(tid)
        if t is not None:
            return t
        if tid == 0:
            return VOID
        if 0 < tid < self.start_id:
            assert self.base is not None
            return self.base.type(tid)
        t = self._decode(tid)
        self._types[tid] = t
        return t

    def __getitem__(self, tid: int) -> Type:
        return self.type(tid)

    def _decode(self, tid: int) -> Type:
        i = self._word_index(tid)
        w = self._words
        name_off, info, sz = w[i], w[i + 1], w[i + 2]
        k = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        kflag = bool(info >> 31)
        s = self.string
        try:
            name = s(name_off)
            p = i + 3
            if k == Kind.INT:
                v = w[p]
                return Int(name, sz, IntEncoding((v >> 24) & 0xF), v & 0xFF, (v >> 16) & 0xFF)
            if k == Kind.PTR:
                return Ptr(sz)
            if k == Kind.ARRAY:
                return Array(w[p], w[p + 1], w[p + 2])
            if k in (Kind.STRUCT, Kind.UNION):
                members = []
                for j in range(p, p + 3 * vlen, 3):
                    off = w[j + 2]
                    if kflag:
                        members.append(Member(s(w[j]), w[j + 1], off & 0xFFFFFF, off >> 24))
                    else:
                        members.append(Member(s(w[j]), w[j + 1], off, 0))
                cls = Struct if k == Kind.STRUCT else Union
                return cls(name, sz, tuple(members))
            if k == Kind.ENUM:
                conv = s32 if kflag else int
                vals = tuple(EnumValue(s(w[j]), conv(w[j + 1])) for j in range(p, p + 2 * vlen, 2))
                return Enum(name, sz, kflag, vals)
            if k == Kind.ENUM64:
                vals64 = []
                for j in range(p, p + 3 * vlen, 3):
                    v = w[j + 1] | (w[j + 2] << 32)
                    if kflag and v >> 63:
                        v -= 1 << 64
                    vals64.append(EnumValue(s(w[j]), v))
                return Enum64(name, sz, kflag, tuple(vals64))
            if k == Kind.FWD:
                return Fwd(name, kflag)
            if k == Kind.TYPEDEF:
                return Typedef(name, sz)
            if k == Kind.VOLATILE:
                return Volatile(sz)
            if k == Kind.CONST:
                return Const(sz)
            if k == Kind.RESTRICT:
                return Restrict(sz)
            if k == Kind.FUNC:
                return Func(name, sz, Linkage(vlen))
            if k == Kind.FUNC_PROTO:
                params = tuple(Param(s(w[j]), w[j + 1]) for j in range(p, p + 2 * vlen, 2))
                return FuncProto(sz, params)
            if k == Kind.VAR:
                return Var(name, sz, VarLinkage(w[p]))
            if k == Kind.DATASEC:
                secinfo = tuple(
                    VarSecinfo(w[j], w[j + 1], w[j + 2]) for j in range(p, p + 3 * vlen, 3)
                )
                return Datasec(name, sz, secinfo)
            if k == Kind.FLOAT:
                return Float(name, sz)
            if k == Kind.DECL_TAG:
                return DeclTag(name, sz, s32(w[p]), kflag)
            if k == Kind.TYPE_TAG:
                return TypeTag(name, sz, kflag)
        except BTFError as exc:  # (a ValueError too: caught first)
            raise self._error(f"type [{tid}]: {exc.message}", self.record_offset(tid)) from exc
        except ValueError as exc:  # bad linkage or encoding value
            raise self._error(f"type [{tid}]: {exc}", self.record_offset(tid)) from exc
        raise self._error(
            f"type [{tid}] has unknown kind {k}{_UNKNOWN_KIND_HINT}", self.record_offset(tid)
        )

    # ------------------------------------------------------------------ names

    def find(self, name: str, kind: Kind | None = None) -> list[int]:
        """Ids of every type named exactly ``name`` (base types first)."""
        ids = self.base.find(name, kind) if self.base is not None else []
        key = name.encode("utf-8", "surrogateescape")
        ids += [self.start_id + x for x in self._find_own(key)]
        if kind is not None:
            ids = [t for t in ids if self.kind_of(t) == kind]
        return ids

    def _find_own(self, key: bytes) -> list[int]:
        """Indexes (from 0, ascending) of own types named ``key``."""
        if self._name_hashes is None:
            big = len(self._offsets) > _SMALL and not self._from_cache
            if big and key and self._scans < _SCAN_LIMIT:
                self._scans += 1
                found = self._search(key)
                if found is not None:
                    return found
            self._build_name_index()
        assert self._name_hashes is not None and self._name_ids is not None
        h = zlib.crc32(key)
        hashes, nids = self._name_hashes, self._name_ids
        j = bisect.bisect_left(hashes, h)
        words, offs = self._words, self._offsets
        found = []
        while j < len(hashes) and hashes[j] == h:
            x = nids[j]
            if self.string_bytes(words[offs[x]]) == key:
                found.append(x)
            j += 1
        return found

    def _own_name_offs(self) -> _cache.U32s:
        if self._name_offs is None:
            from pybpf.btf import names as _names

            self._name_offs = _names.name_offsets(self._words, self._offsets)
        return self._name_offs

    def _search(self, key: bytes) -> list[int] | None:
        """Own types named ``key`` by string search; None when an index is cheaper.

        Offsets inside a longer string are candidates too unless every type name
        is known to start a string (learnt when the hashed index is built).
        """
        from pybpf.btf import names as _names

        cands = _names.string_offsets(self, key)
        want = [off for off, start in cands if start or self._all_starts is not True]
        if len(want) > 64:
            return None
        nos = self._own_name_offs()
        if self._name_offs_packed is None:
            self._name_offs_packed = nos.tobytes()
        from pybpf.btf import names as _names

        return _names.search(nos, self._name_offs_packed, want)

    def find_one(self, name: str, kind: Kind | None = None) -> int:
        """The single id named ``name`` (of ``kind``); BTFError if none or several."""
        ids = self.find(name, kind)
        what = f"{kind.name.lower()} {name!r}" if kind is not None else repr(name)
        if not ids:
            raise self._error(f"no type {what}")
        if len(ids) > 1:
            raise self._error(f"{len(ids)} types named {what}: ids {ids[:8]}")
        return ids[0]

    def _build_name_index(self) -> None:
        """Build the hashed name index in bulk and persist it when caching is on."""
        from pybpf.btf import names as _names

        hashes, ids, starts = _names.build_hashed(self, self._own_name_offs())
        self._name_hashes, self._name_ids, self._all_starts = hashes, ids, starts
        self._save()

    # ------------------------------------------------------------------ queries

    def resolve(self, tid: int) -> int:
        """Skip typedef/const/volatile/restrict/type_tag layers; returns the id."""
        for _ in range(_MAX_DEPTH):
            if self.kind_of(tid) not in _SKIP_QUALIFIERS:
                return tid
            tid = self.type(tid).type  # type: ignore[union-attr]
        raise self._error(f"type loop while resolving type [{tid}]")

    def size_of(self, tid: int) -> int:
        """Size in bytes of a type (pointer size 8); BTFError for sizeless kinds."""
        from pybpf.btf import typeinfo

        return typeinfo.size_of(self, tid)

    def align_of(self, tid: int) -> int:
        """Natural alignment in bytes of a type (1 for packed structs)."""
        from pybpf.btf import typeinfo

        return typeinfo.align_of(self, tid)

    def type_name(self, tid: int) -> str:
        """A readable C-like name, e.g. ``struct task_struct *``."""
        from pybpf.btf import typeinfo

        return typeinfo.type_name(self, tid)

    def encode(
        self, overrides: TypeOverrides | None = None, *, drop_strings: bool = False
    ) -> bytes:
        """Re-marshal own types (with ``overrides`` by id) into a raw BTF blob."""
        from pybpf.btf import encode

        return encode.encode(self, overrides, drop_strings=drop_strings)

    def __repr__(self) -> str:
        split = f", base of {self.start_id - 1} types" if self.base is not None else ""
        return f"<BTF {self.name} {self.type_count - self.start_id} types{split}>"


def read_blob(path: str | Path) -> bytes:
    """The bytes of a file, copied from a private read-only mapping when it maps.

    sysfs serves ``/sys/kernel/btf/*`` one page per read(2): 1,300 system calls for a
    5 MiB vmlinux BTF, where a mapping is copied in one go (about 40% less CPU). Files
    that do not map (empty, pipes, older kernels' sysfs) are read as usual.
    """
    with open(path, "rb") as f:
        try:
            import mmap

            with mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ) as m:
                return m[:]
        except (OSError, ValueError):
            return f.read()


def _vmlinux_key(data: bytes) -> tuple[int, int]:
    """The cache key (size, CRC32) of the running kernel's BTF ``data``.

    The blob cannot change before a reboot, so its CRC is kept in a per-boot file of
    the cache directory: later processes skip checksumming 5 MiB. A per-boot file
    naming another size is ignored (and rewritten).
    """
    from pybpf import _cachefile

    boot, d = _cachefile.boot_id(), _cachefile.cache_dir()
    path = d / f"vmlinux-btf-{boot}" if boot is not None and d is not None else None
    if path is not None:
        memo = _cachefile.read(path)
        if memo is not None and len(memo) == 12:
            size, crc, check = struct.unpack("<III", memo)
            if size == len(data) and check == size ^ crc ^ 0x5A5A5A5A:
                return size, crc
    from pybpf.btf import cache as _cache

    key = _cache.content_key(data)
    if path is not None:
        _cachefile.write(path, struct.pack("<III", key[0], key[1], key[0] ^ key[1] ^ 0x5A5A5A5A))
    return key


_kernel: BTF | None = None


def kernel_btf() -> BTF:
    """The running kernel's BTF, loaded once per process."""
    global _kernel
    if _kernel is None:
        _kernel = BTF.load_vmlinux()
    return _kernel
