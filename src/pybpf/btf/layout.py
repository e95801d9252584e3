"""Decode and encode Python values in a BTF type's memory layout (host byte order).

``Layout.for_type(btf, id)`` compiles a type once. Mapping of C to Python:

- integers, pointers -> ``int``; ``_Bool`` -> ``bool``; float/double -> ``float``;
- enums -> :class:`EnumInt` (an ``int`` with ``.name``); encoding accepts names;
- ``char[N]`` -> ``bytes`` up to the first NUL (encoding accepts ``str`` too,
  zero-padded); other arrays -> ``list`` (in a struct decoded by the fast path,
  an integer array of 16 or more items is a ``list`` subclass,
  :class:`~pybpf.btf.lazylist.IntArrayList`, that makes its items on first use);
- structs/unions -> :class:`Record` (attribute and ``[name]`` access,
  ``_asdict()``, equal to a dict with the same fields); members of anonymous
  struct/union members appear as fields of the parent, as in C.

Structs made only of scalars, scalar arrays and such nested structs decode
through one precompiled ``struct.Struct`` and a generated constructor expression
(:mod:`pybpf.btf.layout_fast`); bitfields and unions take a generic path.
"""

from __future__ import annotations

import struct
import weakref
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar

from pybpf.btf.types import Array, Enum, Enum64, Float, Int, Ptr, Struct, Union
from pybpf.errors import BTFError, UsageError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = ["EnumInt", "Layout", "Record", "check_fields", "numpy_dtype", "plain_scalar_format"]

Buffer = bytes | bytearray | memoryview
_INT_FMT = {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h",
            (4, False): "I", (4, True): "i", (8, False): "Q", (8, True): "q"}  # fmt: skip
_MAX_DEPTH = 64
_MAX_FLAT_MEMBERS = 1 << 16  # BTF vlen is 16 bits: no real struct has more
MAX_LAYOUT_SIZE = 1 << 26  # refuse values bigger than 64 MiB (corrupt nelems/sizes)


class EnumInt(int):
    """An enum value: an ``int`` that also knows its enumerator ``name`` (or None)."""

    _names: ClassVar[dict[int, str]] = {}
    _enum_name: ClassVar[str] = ""

    @property
    def name(self) -> str | None:
        return self._names.get(int(self))

    def __repr__(self) -> str:
        n = self.name
        return f"<{self._enum_name or 'enum'}.{n}: {int(self)}>" if n else f"{int(self)}"

    __str__ = __repr__


class Record(tuple[Any, ...]):
    """A decoded struct/union: a tuple with named fields."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _index: ClassVar[dict[str, int]] = {}
    _type_name: ClassVar[str] = ""

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._index[key])
            except KeyError as exc:
                raise KeyError(f"{self._type_name} has no field {key!r}") from exc
        return tuple.__getitem__(self, key)

    def _asdict(self) -> dict[str, Any]:
        """Fields as a dict (nested records stay records)."""
        return dict(zip(self._fields, self, strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return len(other) == len(self._fields) and all(
                k in other and tuple.__getitem__(self, i) == other[k]
                for k, i in self._index.items()
            )
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={v!r}" for f, v in zip(self._fields, self, strict=True))
        return f"{self._type_name}({inner})"


def _record_class(name: str, fields: Sequence[str]) -> type[Record]:
    ns: dict[str, Any] = {
        "__slots__": (),
        "_fields": tuple(fields),
        "_index": {f: i for i, f in enumerate(fields)},
        "_type_name": name or "anon",
    }
    for i, f in enumerate(fields):
        if f.isidentifier() and not f.startswith("__") and f not in Record.__dict__:
            ns[f] = property(itemgetter(i))
    return type(name if name.isidentifier() else "anon", (Record,), ns)


class Layout:
    """How one BTF type sits in memory; ``decode``/``encode`` convert values.

    ``fmt`` is a ``struct`` format (no alignment) for the whole ``size`` bytes,
    or None when only the generic path can handle it (unions, bitfields).
    ``nvals`` is how many values ``fmt`` yields; ``build`` turns them back into
    this layout's Python value.
    """

    size: int = 0
    fmt: str | None = None
    nvals: int = 0
    type_name: str = ""
    #: what :mod:`pybpf.btf.layout_fast` generates code for ("" = the generic path)
    shape: ClassVar[str] = ""

    @classmethod
    def for_type(cls, btf: BTF, type_id: int) -> Layout:
        """The (memoised) layout of ``type_id`` in ``btf``."""
        return _compile(btf, type_id, 0)

    def decode(self, buf: Buffer, offset: int = 0) -> Any:
        """The value stored at ``buf[offset:offset+size]``."""
        raise NotImplementedError

    def decoder(self) -> Callable[..., Any]:
        """The fastest ``decode(buf, offset=0)`` callable for this layout (same values)."""
        return self.decode

    def encode(self, value: Any) -> bytes:
        """``value`` as ``size`` bytes."""
        out = bytearray(self.size)
        self.encode_into(out, 0, value)
        return bytes(out)

    def encode_into(self, buf: bytearray, offset: int, value: Any) -> None:
        """Write ``value`` into ``buf`` at ``offset``."""
        raise NotImplementedError

    def build(self, vals: Sequence[Any], start: int) -> Any:
        """This layout's value from ``nvals`` unpacked values starting at ``start``."""
        return vals[start]

    def flatten(self, value: Any, out: list[Any]) -> None:
        """Append this value's ``nvals`` packable values to ``out`` (inverse of build)."""
        out.append(value)

    def zero(self) -> Any:
        """The value of all-zero memory."""
        return self.decode(bytes(self.size))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type_name} size={self.size}>"


class _Scalar(Layout):
    """A fixed-size integer, bool, float, pointer or enum."""

    shape = "scalar"

    def __init__(self, fmt: str, size: int, type_name: str, conv: Callable[[Any], Any] | None):
        self.fmt, self.size, self.nvals, self.type_name = fmt, size, 1, type_name
        self.conv = conv
        self.st = struct.Struct("=" + fmt)

    def decode(self, buf: Buffer, offset: int = 0) -> Any:
        try:
            v = self.st.unpack_from(buf, offset)[0]
        except struct.error as exc:
            raise BTFError(f"cannot decode {self.type_name}: {exc}") from exc
        return self.conv(v) if self.conv is not None else v

    def build(self, vals: Sequence[Any], start: int) -> Any:
        v = vals[start]
        return self.conv(v) if self.conv is not None else v

    def to_raw(self, value: Any) -> Any:
        return value

    def flatten(self, value: Any, out: list[Any]) -> None:
        out.append(self.to_raw(value))

    def encode_into(self, buf: bytearray, offset: int, value: Any) -> None:
        try:
            self.st.pack_into(buf, offset, self.to_raw(value))
        except struct.error as exc:
            raise BTFError(f"cannot encode {value!r} as {self.type_name}: {exc}") from exc


class _EnumScalar(_Scalar):
    def __init__(self, fmt: str, size: int, type_name: str, t: Enum | Enum64) -> None:
        names: dict[int, str] = {}
        mask = (1 << (8 * size)) - 1
        signed = fmt.islower()
        for v in t.values:
            val = v.value & mask
            if signed and val >> (8 * size - 1):
                val -= 1 << (8 * size)
            names.setdefault(val, v.name)
        self.by_name = {v.name: v.value for v in t.values}
        cname = t.name if t.name.isidentifier() else "enum"  # BTF names may be any bytes
        cls = type(cname, (EnumInt,), {"_names": names, "_enum_name": t.name})
        super().__init__(fmt, size, type_name, cls)

    def to_raw(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = self.by_name[value]
            except KeyError as exc:
                raise BTFError(f"{self.type_name} has no enumerator {value!r}") from exc
        v = int(value)
        bits = 8 * self.size
        if self.fmt is not None and self.fmt.islower():
            return ((v + (1 << (bits - 1))) % (1 << bits)) - (1 << (bits - 1))
        return v & ((1 << bits) - 1)


class _BigInt(Layout):
    """Integers wider than 8 bytes (``__int128``), via int.from_bytes."""

    def __init__(self, size: int, signed: bool, type_name: str) -> None:
        self.size, self.signed, self.type_name = size, signed, type_name

    def decode(self, buf: Buffer, offset: int = 0) -> Any:
        _need(buf, offset, self)
        return int.from_bytes(bytes(buf[offset : offset + self.size]), "little", signed=self.signed)

    def encode_into(self, buf: bytearray, offset: int, value: Any) -> None:
        try:
            buf[offset : offset + self.size] = int(value).to_bytes(
                self.size, "little", signed=self.signed
            )
        except OverflowError as exc:
            raise BTFError(f"cannot encode {value!r} as {self.type_name}: {exc}") from exc


class _Opaque(Layout):
    """Bytes of a type with no better Python form (long double, empty structs...)."""

    shape = "opaque"

    def __init__(self, size: int, type_name: str) -> None:
        self.size, self.type_name = size, type_name
        self.fmt, self.nvals = f"{size}s", 1

    def decode(self, buf: Buffer, offset: int = 0) -> Any:
        _need(buf, offset, self)
        return bytes(buf[offset : offset + self.size])

    def encode_into(self, buf: bytearray, offset: int, value: Any) -> None:
        data = bytes(value)
        if len(data) > self.size:
            raise BTFError(f"{len(data)} bytes do not fit {self.type_name} ({self.size})")
        buf[offset : offset + len(data)] = data


class _CharArray(Layout):
    """``char[N]``: bytes up to the first NUL."""

    shape = "chars"

    def __init__(self, n: int, type_name: str) -> None:
        self.size, self.type_name = n, type_name
        self.fmt, self.nvals = f"{n}s", 1

    def decode(self, buf: Buffer, offset: int = 0) -> Any:
        _need(buf, offset, self)
        raw = bytes(buf[offset : offset + self.size])
        nul = raw.find(b"\0")
        return raw if nul < 0 else raw[:nul]

    def build(self, vals: Sequence[Any], start: int) -> Any:
        raw: bytes = vals[start]
        nul = raw.find(b"\0")
        return raw if nul < 0 else raw[:nul]

    def _raw(self, value: Any) -> bytes:
        data = value.encode() if isinstance(value, str) else bytes(value)
        if len(data) > self.size:
            raise BTFError(f"{len(data)} bytes do not fit {self.type_name}")
        return data

    def flatten(self, value: Any, out: list[Any]) -> None:
        out.append(self._raw(value))

    def encode_into(self, buf: bytearray, offset: int, value: Any) -> None:
        data = self._raw(value)
        buf[offset : offset + self.size] = data + bytes(self.size - len(data))


class _ArrayLayout(Layout):
    """A fixed array -> list (nested lists for multi-dimensional arrays)."""

    shape = "array"

    def __init__(self, elem: Layout, n: int, type_name: str) -> None:
        self.elem, self.n, self.type_name = elem, n, type_name
        self.size = elem.size * n
        self.st: struct.Struct | None = None
        self.plain = isinstance(elem, _Scalar) and elem.conv is None
        if elem.fmt is not None:
            if len(elem.fmt) == 1 and elem.fmt != "s":
                self.fmt = f"{n}{elem.fmt}"
            elif n * len(elem.fmt) <= 1 << 16:
                self.fmt = elem.fmt * n
        if self.fmt is not None:
            self.nvals = elem.nvals * n
            self.st = struct.Struct("=" + self.fmt)

    def decode(self, buf: Buffer, offset: int = 0) -> Any:
        if self.st is not None:
            try:
                vals = self.st.unpack_from(buf, offset)
            except struct.error as exc:
                raise BTFError(f"cannot decode {self.type_name}: {exc}") from exc
            return self.build(vals, 0)
        _need(buf, offset, self)
        es = self.elem.size
        return [self.elem.decode(buf, offset + i * es) for i in range(self.n)]

    def build(self, vals: Sequence[Any], start: int) -> Any:
        e = self.elem
        if self.plain:
            return list(vals[start : start + self.n])
        k = e.nvals
        return [e.build(vals, start + i * k) for i in range(self.n)]

    def flatten(self, value: Any, out: list[Any]) -> None:
        items = list(value)
        if len(items) > self.n:
            raise BTFError(f"{len(items)} items do not fit {self.type_name}")
        for v in items:
            self.elem.flatten(v, out)
        for _ in range(self.n - len(items)):
            self.elem.flatten(self.elem.zero(), out)

    def encode_into(self, buf: bytearray, offset: int, value: Any) -> None:
        if isinstance(value, bytes | bytearray) and self.elem.size == 1:
            value = list(value)
        items = list(value)
        if len(items) > self.n:
            raise BTFError(f"{len(items)} items do not fit {self.type_name}")
        es = self.elem.size
        for i, v in enumerate(items):
            self.elem.encode_into(buf, offset + i * es, v)


class _Field:
    """One (possibly flattened) struct/union field."""

    __slots__ = ("bit_offset", "bits", "layout", "name", "signed")

    def __init__(self, name: str, layout: Layout, bit_offset: int, bits: int, signed: bool):
        self.name, self.layout, self.bit_offset = name, layout, bit_offset
        self.bits, self.signed = bits, signed


class _RecordLayout(Layout):
    """A struct or union -> :class:`Record`."""

    shape = "record"

    def __init__(self, name: str, size: int, fields: list[_Field], is_union: bool, tname: str):
        self.size, self.fields, self.type_name = size, fields, tname
        self.cls = _record_class(name, [f.name for f in fields])
        self.fmt = None if is_union else self._format()
        self.st = struct.Struct("=" + self.fmt) if self.fmt is not None else None
        self.plain = self.st is not None and all(
            isinstance(f.layout, _Scalar) and f.layout.conv is None for f in fields
        )
        self._fast: Callable[..., Any] | None = None
        self._fast_tried = False
        self.is_union = is_union
        self.names = frozenset(f.name for f in fields if f.name)
        self.required = frozenset() if is_union else _required(fields)

    def check_keys(self, value: Any, complete: bool = False) -> None:
        """A dict may name only this type's fields (a misspelled field would otherwise be
        dropped); with ``complete``, every field of a struct too (map keys and values)."""
        if not isinstance(value, Mapping) or isinstance(value, Record):
            return
        keys = set(value)
        if keys <= self.names and (not complete or keys >= self.required):
            return
        unknown = sorted(map(str, keys - self.names))
        missing = sorted(self.required - keys) if complete else []
        what = "union" if self.is_union else "struct"
        parts = []
        if unknown:
            parts.append(f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
        if missing:
            parts.append(f"missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        valid = ", ".join(f.name for f in self.fields if f.name)
        raise UsageError(
            f"cannot encode {self.type_name}: {' and '.join(parts)}; the {what}'s fields are: "
            f"{valid}" + ("" if self.is_union else " (give every field; 0 for unused ones)")
        )

    def decoder(self) -> Callable[..., Any]:
        """A decoder generated for this struct (see :mod:`pybpf.btf.layout_fast`), if any."""
        if not self._fast_tried:
            from pybpf.btf.layout_fast import fast_decoder

            self._fast_tried = True
            self._fast = fast_decoder(self)
        return self._fast if self._fast is not None else self.decode

    def _format(self) -> str | None:
        parts, pos, nvals = [], 0, 0
        for f in sorted(self.fields, key=lambda f: f.bit_offset):
            if f.bits or f.layout.fmt is None or f.bit_offset % 8:
                return None
            off = f.bit_offset // 8
            if off < pos:
                return None  # overlapping members
            if off > pos:
                parts.append(f"{off - pos}x")
            parts.append(f.layout.fmt)
            pos = off + f.layout.size
            nvals += f.layout.nvals
        if [f.bit_offset for f in self.fields] != sorted(f.bit_offset for f in self.fields):
            return None
        if pos > self.size:
            return None
        if pos < self.size:
            parts.append(f"{self.size - pos}x")
        self.nvals = nvals
        return "".join(parts)

    def decode(self, buf: Buffer, offset: int = 0) -> Any:
        if self.st is not None:
            fast = self._fast if self._fast_tried else self.decoder()
            if fast is not None and fast is not self.decode:
                return fast(buf, offset)
            try:
                vals = self.st.unpack_from(buf, offset)
            except struct.error as exc:
                raise BTFError(f"cannot decode {self.type_name}: {exc}") from exc
            if self.plain:
                return tuple.__new__(self.cls, vals)
            return self.build(vals, 0)
        _need(buf, offset, self)
        out = []
        for f in self.fields:
            if f.bits:
                out.append(self._get_bits(buf, offset, f))
            else:
                out.append(f.layout.decode(buf, offset + f.bit_offset // 8))
        return tuple.__new__(self.cls, out)

    def build(self, vals: Sequence[Any], start: int) -> Any:
        if self.plain:
            return tuple.__new__(self.cls, vals[start : start + self.nvals])
        out, i = [], start
        for f in self.fields:
            out.append(f.layout.build(vals, i))
            i += f.layout.nvals
        return tuple.__new__(self.cls, out)

    def flatten(self, value: Any, out: list[Any]) -> None:
        self.check_keys(value)
        get = _getter(value, self.type_name)
        for f in self.fields:
            v = get(f.name)
            f.layout.flatten(f.layout.zero() if v is None else v, out)

    def _get_bits(self, buf: Buffer, offset: int, f: _Field) -> Any:
        start = offset + f.bit_offset // 8
        shift = f.bit_offset % 8
        nbytes = (shift + f.bits + 7) // 8
        raw = int.from_bytes(bytes(buf[start : start + nbytes]), "little")
        v = (raw >> shift) & ((1 << f.bits) - 1)
        if f.signed and v >> (f.bits - 1):
            v -= 1 << f.bits
        lay = f.layout
        if isinstance(lay, _Scalar):
            if lay.conv is not None:
                return lay.conv(v)
            if lay.fmt == "?":
                return bool(v)
        return v

    def encode_into(self, buf: bytearray, offset: int, value: Any) -> None:
        if self.st is not None:
            flat: list[Any] = []
            self.flatten(value, flat)
            try:
                self.st.pack_into(buf, offset, *flat)
            except struct.error as exc:
                raise BTFError(f"cannot encode {self.type_name}: {exc}") from exc
            return
        self.check_keys(value)
        get = _getter(value, self.type_name)
        for f in self.fields:
            v = get(f.name)
            if v is None:
                continue
            if f.bits:
                self._set_bits(buf, offset, f, v)
            else:
                f.layout.encode_into(buf, offset + f.bit_offset // 8, v)

    def _set_bits(self, buf: bytearray, offset: int, f: _Field, value: Any) -> None:
        lay = f.layout
        v = lay.to_raw(value) if isinstance(lay, _Scalar) else int(value)
        lo, hi = (
            (-(1 << (f.bits - 1)), (1 << (f.bits - 1)) - 1) if f.signed else (0, (1 << f.bits) - 1)
        )
        if not lo <= int(v) <= hi:
            raise BTFError(
                f"{value!r} does not fit the {f.bits}-bit field {self.type_name}.{f.name}"
            )
        start = offset + f.bit_offset // 8
        shift = f.bit_offset % 8
        nbytes = (shift + f.bits + 7) // 8
        raw = int.from_bytes(bytes(buf[start : start + nbytes]), "little")
        mask = ((1 << f.bits) - 1) << shift
        raw = (raw & ~mask) | ((int(v) << shift) & mask)
        buf[start : start + nbytes] = raw.to_bytes(nbytes, "little")


def plain_scalar_format(lay: Layout) -> str | None:
    """The ``struct`` format of a plain number layout (an int, float or pointer that
    decodes with no conversion: not an enum, not bool), else None. Batch map reads
    decode such values in one ``struct.unpack`` call.

    Example: ``plain_scalar_format(codec.layout)`` → ``"I"`` for a ``__u32``.
    """
    if type(lay) is not _Scalar or lay.conv is not None:
        return None
    return lay.fmt


def check_fields(lay: Layout, value: Any) -> None:
    """Check that every dict in ``value`` names exactly the fields of its struct (all of
    them) or members of its union, recursively; raises :class:`UsageError` listing the
    valid fields. Map keys and values are checked this way before they are encoded.

    Example: ``check_fields(Layout.for_type(btf, key_id), {"pid": 1, "comm": b"sh"})``
    """
    if isinstance(lay, _RecordLayout):
        lay.check_keys(value, complete=True)
        if isinstance(value, Mapping) and not isinstance(value, Record):
            for f in lay.fields:
                if f.name in value:
                    check_fields(f.layout, value[f.name])
    elif (
        isinstance(lay, _ArrayLayout)
        and isinstance(lay.elem, _RecordLayout)
        and isinstance(value, Sequence)
        and not isinstance(value, str | bytes | bytearray)
    ):
        for item in value:
            check_fields(lay.elem, item)


def _required(fields: Sequence[_Field]) -> frozenset[str]:
    """Named fields that share no byte with another field (members of an anonymous union,
    flattened into their parent, are alternatives: none of them is required)."""
    spans = []
    for f in fields:
        start = f.bit_offset
        end = start + (f.bits or f.layout.size * 8)
        spans.append((start, max(end, start + 1)))
    out = set()
    for i, f in enumerate(fields):
        if not f.name:
            continue
        a, b = spans[i]
        if all(j == i or b <= c or d <= a for j, (c, d) in enumerate(spans)):
            out.add(f.name)
    return frozenset(out)


def _need(buf: Buffer, offset: int, lay: Layout) -> None:
    if offset < 0 or len(buf) - offset < lay.size:
        raise BTFError(
            f"{max(0, len(buf) - offset)} bytes at offset {offset} are too few "
            f"for {lay.type_name} ({lay.size} bytes)"
        )


def _getter(value: Any, what: str) -> Callable[[str], Any]:
    if isinstance(value, Record):
        idx = value._index
        return lambda k: value[k] if k in idx else None
    if isinstance(value, Mapping):
        return value.get
    if value is None or isinstance(value, int | float | str | bytes):
        raise BTFError(f"cannot encode {value!r} as {what}: want a dict or record")
    return lambda k: getattr(value, k, None)


#: compiled layouts per live BTF object: id(btf) → {type id: layout}; an entry goes
#: when its BTF is freed (before its id can be reused)
_LAYOUTS: dict[int, dict[int, Layout]] = {}


def _compile(btf: BTF, tid: int, depth: int) -> Layout:
    # memoised per type id, nested types included: a type used by many members
    # (or by many types of a kernel's BTF) is compiled once, so crafted BTF that
    # reuses one type at every level costs linear, not exponential, time
    cache = _LAYOUTS.get(id(btf))
    if cache is None:
        cache = _LAYOUTS[id(btf)] = {}
        weakref.finalize(btf, _LAYOUTS.pop, id(btf), None)
    lay = cache.get(tid)
    if lay is not None:
        return lay
    lay = _compile1(btf, tid, depth)
    if lay.size > MAX_LAYOUT_SIZE:
        raise BTFError(
            f"type [{tid}] is too large for a value layout ({lay.size} bytes)",
            file=btf.file,
            section=btf.name,
        )
    cache[tid] = lay
    return lay


def _compile1(btf: BTF, tid: int, depth: int) -> Layout:
    if depth > _MAX_DEPTH:
        raise BTFError(f"type [{tid}] nests too deeply", file=btf.file, section=btf.name)
    rid = btf.resolve(tid)
    t = btf.type(rid)
    tname = btf.type_name(tid)
    if isinstance(t, Int):
        if t.is_bool and t.size == 1:
            return _Scalar("?", 1, tname, None)
        fmt = _INT_FMT.get((t.size, t.signed))
        if fmt is None:
            return _BigInt(t.size, t.signed, tname)
        return _Scalar(fmt, t.size, tname, None)
    if isinstance(t, Ptr):
        return _Scalar("Q", 8, tname, None)
    if isinstance(t, Enum | Enum64):
        fmt = _INT_FMT.get((t.size, t.signed))
        if fmt is None:
            return _Opaque(t.size, tname)
        return _EnumScalar(fmt, t.size, tname, t)
    if isinstance(t, Float):
        if t.size == 4:
            return _Scalar("f", 4, tname, None)
        if t.size == 2:
            return _Scalar("e", 2, tname, None)
        if t.size == 8:
            return _Scalar("d", 8, tname, None)
        return _Opaque(t.size, tname)
    if isinstance(t, Array):
        erid = btf.resolve(t.type)
        et = btf.type(erid)
        if (
            isinstance(et, Int)
            and et.size == 1
            and (et.is_char or et.name in ("char", "signed char"))
        ):
            return _CharArray(t.nelems, tname)
        elem = _compile(btf, t.type, depth + 1)
        if elem.size * t.nelems > MAX_LAYOUT_SIZE:
            raise BTFError(f"type [{tid}] ({tname}) is too large for a value layout")
        return _ArrayLayout(elem, t.nelems, tname)
    if isinstance(t, Struct | Union):
        fields: list[_Field] = []
        _collect(btf, t, 0, fields, depth)
        seen: set[str] = set()
        for f in fields:
            if f.name in seen:
                raise BTFError(
                    f"{tname}: two members are called {f.name!r} (anonymous members included)",
                    file=btf.file,
                    section=btf.name,
                )
            seen.add(f.name)
            end = f.bit_offset + (f.bits or 8 * f.layout.size)
            if end > 8 * t.size:
                raise BTFError(
                    f"{tname}: member {f.name} ends at bit {end}, past the {t.size}-byte size",
                    file=btf.file,
                    section=btf.name,
                )
        return _RecordLayout(t.name, t.size, fields, isinstance(t, Union), tname)
    raise BTFError(f"type [{tid}] ({tname}) has no value layout", file=btf.file, section=btf.name)


def _collect(
    btf: BTF,
    t: Struct | Union,
    base_bits: int,
    out: list[_Field],
    depth: int,
    visited: list[int] | None = None,
) -> None:
    """Fields of ``t``; anonymous struct/union members are flattened into ``out``."""
    if visited is None:
        visited = [0]
    visited[0] += len(t.members)
    if visited[0] > _MAX_FLAT_MEMBERS:
        # one anonymous type reused at every level would flatten exponentially
        raise BTFError(
            f"{t.kind.name.lower()} {t.name or '(anon)'}: more than {_MAX_FLAT_MEMBERS} "
            "members once anonymous members are flattened",
            file=btf.file,
            section=btf.name,
        )
    if depth > _MAX_DEPTH:
        raise BTFError(
            f"{t.kind.name.lower()} {t.name or '(anon)'}: anonymous members nest too deeply "
            f"(more than {_MAX_DEPTH} levels; a BTF cycle?)",
            file=btf.file,
            section=btf.name,
        )
    for m in t.members:
        bit_off = base_bits + m.bit_offset
        mrid = btf.resolve(m.type)
        mt = btf.type(mrid)
        if not m.name and isinstance(mt, Struct | Union):
            _collect(btf, mt, bit_off, out, depth + 1, visited)
            continue
        name = m.name or f"_anon{len(out)}"
        lay = _compile(btf, m.type, depth + 1)
        bits = m.bitfield_size
        signed = False
        if not bits and isinstance(mt, Int) and (mt.offset or mt.bits != 8 * mt.size):
            bits, bit_off = mt.bits, bit_off + mt.offset  # legacy int bitfield
        if bits:
            if isinstance(mt, Int | Enum | Enum64):
                signed = mt.signed
            else:
                raise BTFError(
                    f"bitfield {m.name} of non-integer type [{m.type}]",
                    file=btf.file,
                    section=btf.name,
                )
        out.append(_Field(name, lay, bit_off, bits, signed))


def numpy_dtype(btf: BTF, type_id: int) -> Any:
    """A numpy structured dtype for a fixed-size struct/union (bitfields are skipped)."""
    import numpy as np

    return np.dtype(_np_spec(btf, type_id, 0))


def _np_spec(btf: BTF, tid: int, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise BTFError(f"type [{tid}] nests too deeply", file=btf.file, section=btf.name)
    t = btf.type(btf.resolve(tid))
    if isinstance(t, Int):
        if t.is_bool and t.size == 1:
            return "?"
        return f"{'i' if t.signed else 'u'}{t.size}"
    if isinstance(t, Enum | Enum64):
        return f"{'i' if t.signed else 'u'}{t.size}"
    if isinstance(t, Ptr):
        return "u8"
    if isinstance(t, Float):
        return f"f{t.size}"
    if isinstance(t, Array):
        et = btf.type(btf.resolve(t.type))
        if (
            isinstance(et, Int)
            and et.size == 1
            and (et.is_char or et.name in ("char", "signed char"))
        ):
            return f"S{t.nelems}"
        return (_np_spec(btf, t.type, depth + 1), (t.nelems,))
    if isinstance(t, Struct | Union):
        names, formats, offsets = [], [], []
        lay = Layout.for_type(btf, tid)
        assert isinstance(lay, _RecordLayout)
        for f in lay.fields:
            if f.bits:
                continue
            names.append(f.name)
            offsets.append(f.bit_offset // 8)
            formats.append(_np_spec_of_layout(btf, f, depth))
        return {"names": names, "formats": formats, "offsets": offsets, "itemsize": t.size}
    raise BTFError(f"type [{tid}] has no numpy dtype", file=btf.file, section=btf.name)


def _np_spec_of_layout(btf: BTF, f: _Field, depth: int) -> Any:
    # the field's layout was compiled from a type id we no longer hold; re-derive via format
    lay = f.layout
    if isinstance(lay, _CharArray):
        return f"S{lay.size}"
    if isinstance(lay, _Scalar):
        code = {"?": "?", "f": "f4", "d": "f8"}.get(lay.fmt or "")
        if code:
            return code
        return f"{'i' if (lay.fmt or 'B').islower() else 'u'}{lay.size}"
    if isinstance(lay, _ArrayLayout):
        inner = _np_spec_of_layout(btf, _Field("", lay.elem, 0, 0, False), depth + 1)
        return (inner, (lay.n,))
    if isinstance(lay, _RecordLayout):
        names, formats, offsets = [], [], []
        for g in lay.fields:
            if g.bits:
                continue
            names.append(g.name)
            offsets.append(g.bit_offset // 8)
            formats.append(_np_spec_of_layout(btf, g, depth + 1))
        return {"names": names, "formats": formats, "offsets": offsets, "itemsize": lay.size}
    return f"V{lay.size}"
