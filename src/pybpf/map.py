"""``Map``: a live BPF map as a Python mapping, with keys and values typed from BTF.

``m[key]``, ``m[key] = v``, ``del m[key]``, ``key in m`` and iteration work on
every keyed map; per-CPU maps give one value per possible CPU; queues and stacks
have ``push``/``pop``/``peek``; map-in-map slots take a :class:`Map` or an fd.
Batch operations fall back to one element at a time where the kernel lacks them.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pybpf._mapviews import MapViews
from pybpf.errors import MapError, UsageError
from pybpf.sys import maps as sysmaps
from pybpf.sys.cpus import num_possible_cpus
from pybpf.sys.fd import FD
from pybpf.uapi.enums import MapType, UpdateFlags
from pybpf.values.codec import BytesCodec, Codec, LayoutCodec, codec_for

if TYPE_CHECKING:
    from pybpf.btf import BTF
    from pybpf.elf.maps import MapSpec

__all__ = ["Map"]

_R = TypeVar("_R", bound="sysmaps.BatchResult | sysmaps.RawBatch")
_C = TypeVar("_C")

PERCPU_TYPES = frozenset(
    {
        MapType.PERCPU_HASH,
        MapType.PERCPU_ARRAY,
        MapType.LRU_PERCPU_HASH,
        MapType.PERCPU_CGROUP_STORAGE,
    }
)
ARRAY_TYPES = frozenset(
    {
        MapType.ARRAY,
        MapType.PERCPU_ARRAY,
        MapType.PROG_ARRAY,
        MapType.PERF_EVENT_ARRAY,
        MapType.CGROUP_ARRAY,
        MapType.ARRAY_OF_MAPS,
        MapType.DEVMAP,
        MapType.CPUMAP,
        MapType.XSKMAP,
    }
)
KEYLESS_TYPES = frozenset({MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER})
FD_VALUE_TYPES = frozenset(
    {
        MapType.PROG_ARRAY,
        MapType.PERF_EVENT_ARRAY,
        MapType.CGROUP_ARRAY,
        MapType.ARRAY_OF_MAPS,
        MapType.HASH_OF_MAPS,
        MapType.SOCKMAP,
        MapType.SOCKHASH,
        MapType.REUSEPORT_SOCKARRAY,
        MapType.XSKMAP,
    }
)
_BATCH = 4096


class _NotCreated(FD):
    """The fd slot of a map that is not created yet: any use says so clearly."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:  # no kernel fd behind it
        self._fd = -1
        self.kind = "map"
        self.name = name

    def fileno(self) -> int:
        """Raise: there is no fd before ``obj.load()``."""
        from pybpf.errors import BPFError

        raise BPFError(f"map {self.name!r} is not in the kernel yet: call obj.load() first")


class Map(MapViews, MutableMapping[Any, Any]):
    """A BPF map in the kernel, owned through its fd.

    Maps of an opened object exist before load too: their shape (``max_entries``,
    ``value_size``, ...) can be changed until ``obj.load()`` creates them.

    Example::

        counts = obj.maps["counts"]
        counts[42] = 1                  # keys and values encoded from BTF
        for key, value in counts.items():
            print(key, value)
        obj.maps["dist"].print_log2_hist("usecs")
    """

    def __init__(
        self,
        fd: FD | None,
        *,
        name: str,
        type: MapType | int,
        key_size: int,
        value_size: int,
        max_entries: int,
        flags: int = 0,
        btf: BTF | None = None,
        key_type_id: int = 0,
        value_type_id: int = 0,
    ) -> None:
        self._fd: FD = fd if fd is not None else _NotCreated(name)
        self.name = name
        try:
            self.type: MapType | int = MapType(type)
        except ValueError:
            self.type = int(type)
        self._key_size = key_size
        self._value_size = value_size
        self.max_entries = max_entries
        self.flags = flags
        self.btf = btf
        self.key_type_id = key_type_id
        self.value_type_id = value_type_id
        #: whether batch syscalls are tried: False once the kernel refused one for this
        #: map (set it False to force the key-by-key walk, e.g. to compare the two)
        self.batch_ops = True
        #: before load: create this map (False leaves it out, for kernels lacking its type)
        self.autocreate = True
        #: where a ``pinning = LIBBPF_PIN_BY_NAME`` map is pinned (default: pin_root/name)
        self.pin_path: str | None = None
        self._shape_changed()

    @property
    def key_size(self) -> int:
        """Key size in bytes (settable before load)."""
        return self._key_size

    @key_size.setter
    def key_size(self, size: int) -> None:
        self._resize(key_size=size)

    @property
    def value_size(self) -> int:
        """Value size in bytes (settable before load, e.g. deeper stack traces)."""
        return self._value_size

    @value_size.setter
    def value_size(self, size: int) -> None:
        self._resize(value_size=size)

    def _resize(self, *, key_size: int | None = None, value_size: int | None = None) -> None:
        if self.created:
            from pybpf.errors import BPFError

            raise BPFError(f"map {self.name!r} exists already: sizes are fixed once created")
        if key_size is not None:
            self._key_size = key_size
        if value_size is not None:
            self._value_size = value_size
        self._shape_changed()

    def _shape_changed(self) -> None:
        """Recompute codecs and strides after the key/value sizes are known or changed."""
        self.percpu = self.type in PERCPU_TYPES
        #: value slots per element: the possible CPUs for a per-CPU map, else 1
        self.ncpus = num_possible_cpus() if self.percpu else 1
        #: bytes per slot: a per-CPU map rounds each CPU's value up to 8 bytes
        #: (``bpf_map_value_size()``, kernel/bpf/syscall.c)
        self.value_stride = (self.value_size + 7) & ~7 if self.percpu else self.value_size
        self.__dict__.pop("key_codec", None)  # rebuilt on next use (__getattr__)
        self.__dict__.pop("value_codec", None)

    key_codec: Codec
    value_codec: Codec

    def __getattr__(self, name: str) -> Any:
        """``key_codec`` and ``value_codec``, built from BTF on first use: a map that only
        BPF code touches never lays out its types (the import and work of a load)."""
        if name == "key_codec":
            codec = codec_for(self.btf, self.key_type_id, self.key_size, "key")
        elif name == "value_codec":
            if self.type in FD_VALUE_TYPES:
                codec = BytesCodec(self.value_size)
            else:
                codec = codec_for(self.btf, self.value_type_id, self.value_size, "value")
        else:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        self.__dict__[name] = codec
        return codec

    def adopt_fd(self, fd: FD) -> None:
        """Take ownership of the fd of this map once the loader has created it."""
        self._fd = fd

    @property
    def created(self) -> bool:
        """Whether the map exists in the kernel (and this handle is open)."""
        return not self._fd.closed

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_spec(cls, ms: MapSpec, btf: BTF | None, *, name: str | None = None) -> Map:
        """The (not yet created) map an object's :class:`~pybpf.elf.maps.MapSpec` describes:
        the one place the loader and :class:`~pybpf.object.Object` make maps from specs.
        ``btf`` is the object's BTF, which the spec's type ids refer to."""
        return cls(
            None,
            name=name or ms.name,
            type=ms.type,
            key_size=ms.key_size,
            value_size=ms.value_size,
            max_entries=ms.max_entries,
            flags=ms.flags,
            btf=btf,
            key_type_id=ms.key_type_id,
            value_type_id=ms.value_type_id,
        )

    # -- construction from the kernel ------------------------------------------------------

    @classmethod
    def from_fd(cls, fd: FD | int, *, btf: BTF | None = None) -> Map:
        """Wrap an existing map fd (taking ownership), reading its shape from the kernel."""
        from pybpf.sys.info import map_info

        owned = fd if isinstance(fd, FD) else FD(fd, "map")
        info = map_info(owned)
        return cls(
            owned,
            name=info.name,
            type=info.type,
            key_size=info.key_size,
            value_size=info.value_size,
            max_entries=info.max_entries,
            flags=info.map_flags,
            btf=btf,
            key_type_id=info.btf_key_type_id if btf else 0,
            value_type_id=info.btf_value_type_id if btf else 0,
        )

    @classmethod
    def from_pin(cls, path: str | os.PathLike[str]) -> Map:
        """Open a map pinned on bpffs."""
        from pybpf.sys.objects import obj_get

        return cls.from_fd(obj_get(os.fspath(path)))

    @classmethod
    def from_id(cls, map_id: int) -> Map:
        """Open a map by its kernel id."""
        from pybpf.sys.objects import get_fd_by_id

        return cls.from_fd(get_fd_by_id("map", map_id))

    # -- fd ownership --------------------------------------------------------------------

    @property
    def fd(self) -> int:
        """The map's file descriptor number."""
        return self._fd.fileno()

    @property
    def closed(self) -> bool:
        """Whether the fd has been closed (or was never created)."""
        return self._fd.closed

    def close(self) -> None:
        """Close this handle (the kernel frees the map once nothing else holds it)."""
        self._fd.close()

    def __enter__(self) -> Map:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = self.type.name if isinstance(self.type, MapType) else str(self.type)
        state = "closed" if self.closed else f"fd={self.fd}"
        return f"<Map {self.name!r} {kind} max_entries={self.max_entries} {state}>"

    # -- codecs --------------------------------------------------------------------------

    def _key(self, key: Any) -> bytes:
        if self.type in ARRAY_TYPES and isinstance(key, int) and not 0 <= key < self.max_entries:
            raise KeyError(key)
        try:
            return self.key_codec.encode(key)
        except UsageError as exc:
            raise UsageError(f"map {self.name!r} key: {exc}") from exc

    def _value(self, value: Any) -> bytes:
        if isinstance(value, Map):
            value = value.fd
        if self.type in FD_VALUE_TYPES and hasattr(value, "fd") and not isinstance(value, int):
            value = value.fd
        if not self.percpu:
            try:
                return self.value_codec.encode(value)
            except UsageError as exc:
                raise UsageError(f"map {self.name!r} value: {exc}") from exc
        if (
            isinstance(value, bytes | bytearray | memoryview)
            and len(value) == self.value_stride * self.ncpus
        ):
            return bytes(value)
        if not isinstance(value, Sequence) or isinstance(value, str | bytes):
            value = [value] * self.ncpus
        if len(value) != self.ncpus:
            raise ValueError(
                f"map {self.name!r}: a per-CPU value needs {self.ncpus} items, got {len(value)}"
            )
        pad = self.value_stride - self.value_size
        return b"".join(self.value_codec.encode(v) + bytes(pad) for v in value)

    def _decode_value(self, raw: bytes) -> Any:
        if not self.percpu:
            return self.value_codec.decode(raw)
        s, n = self.value_stride, self.value_size
        view = memoryview(raw)
        return [self.value_codec.decode(view[i * s : i * s + n]) for i in range(self.ncpus)]

    @property
    def raw_value_size(self) -> int:
        """Bytes of one element's value as the syscalls move it (all CPUs' slots)."""
        return self.value_stride * self.ncpus

    # -- element access ------------------------------------------------------------------

    def lookup(self, key: Any, *, flags: int = 0, raw: bool = False) -> Any:
        """The value under ``key`` or None; ``raw=True`` gives the bytes."""
        data = sysmaps.map_lookup_elem(self._fd, self._key(key), self.raw_value_size, flags)
        if data is None or raw:
            return data
        return self._decode_value(data)

    def __getitem__(self, key: Any) -> Any:
        value = self.lookup(key)
        if value is None:
            raise KeyError(key)
        return value

    def update(
        self, key: Any = None, value: Any = None, /, flags: int = UpdateFlags.ANY, **kw: Any
    ) -> None:
        """Store ``value`` under ``key`` with ``flags`` (``BPF_NOEXIST``, ``BPF_EXIST``...).

        Called with a mapping or pairs instead, updates every item (as ``dict.update``).
        """
        if (
            value is None
            and key is not None
            and not kw
            and (
                hasattr(key, "items")
                or (isinstance(key, Iterable) and not isinstance(key, str | bytes | int))
            )
        ):
            items = key.items() if hasattr(key, "items") else key
            for k, v in items:
                self.update(k, v, flags=flags)
            return
        if kw:
            raise UsageError("Map.update takes no keyword items: pass a dict or (key, value)")
        self._update(key, value, flags)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._update(key, value, UpdateFlags.ANY)

    def _update(self, key: Any, value: Any, flags: int) -> None:
        k, v = self._key(key), self._value(value)
        try:
            sysmaps.map_update_elem(self._fd, k, v, flags)
        except MapError as exc:
            raise MapError(
                f"update map {self.name!r} at key {key!r}",
                exc.errno or 0,
                exc.detail,
                hint=exc.hint,
            ) from exc

    def __delitem__(self, key: Any) -> None:
        if not sysmaps.map_delete_elem(self._fd, self._key(key)):
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        try:
            return self.lookup(key) is not None
        except (KeyError, TypeError, ValueError):
            return False

    def lookup_and_delete(self, key: Any) -> Any:
        """Remove ``key`` and return its value (None if absent)."""
        data = sysmaps.map_lookup_and_delete_elem(self._fd, self._key(key), self.raw_value_size)
        return None if data is None else self._decode_value(data)

    # -- queue / stack / bloom filter ----------------------------------------------------

    def push(self, value: Any, *, flags: int = UpdateFlags.ANY) -> None:
        """Push onto a queue or stack (``BPF_EXIST`` overwrites the oldest when full); add to a bloom filter."""
        sysmaps.map_update_elem(self._fd, b"", self._value(value), flags)

    def pop(self, *args: Any) -> Any:
        """Pop from a queue/stack (None when empty); with a key, ``dict.pop`` semantics."""
        if self.type not in KEYLESS_TYPES:
            return super().pop(*args)
        data = sysmaps.map_lookup_and_delete_elem(self._fd, b"", self.raw_value_size)
        return None if data is None else self._decode_value(data)

    def peek(self) -> Any:
        """The next value a pop would return, without removing it (None when empty)."""
        data = sysmaps.map_lookup_elem(self._fd, b"", self.raw_value_size)
        return None if data is None else self._decode_value(data)

    def contains_value(self, value: Any) -> bool:
        """Bloom filter membership: False means certainly absent, True probably present."""
        return sysmaps.map_peek_value(self._fd, self._value(value))

    # -- iteration -----------------------------------------------------------------------

    def keys_raw(self) -> Iterator[bytes]:
        """Every key as bytes (BPF_MAP_GET_NEXT_KEY walk)."""
        key: bytes | None = None
        while True:
            nxt = sysmaps.map_get_next_key(self._fd, key, self.key_size)
            if nxt is None:
                return
            yield nxt
            key = nxt

    def __iter__(self) -> Iterator[Any]:
        if self.type in KEYLESS_TYPES:
            raise TypeError(f"map {self.name!r} ({self.type}) has no keys; use pop()/peek()")
        for raw in self.keys_raw():
            yield self.key_codec.decode(raw)

    def __len__(self) -> int:
        """Element count: max_entries for arrays, a key walk otherwise."""
        if self.type in ARRAY_TYPES:
            return self.max_entries
        return sum(1 for _ in self.keys_raw())

    def items_raw(self) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) as bytes, by batches where the kernel allows."""
        if self.batch_ops and self.type not in FD_VALUE_TYPES:
            try:
                yield from self._items_batched()
                return
            except _NoBatch:
                self.batch_ops = False
        for key in self.keys_raw():
            value = sysmaps.map_lookup_elem(self._fd, key, self.raw_value_size)
            if value is not None:
                yield key, value

    def _items_batched(self) -> Iterator[tuple[bytes, bytes]]:
        ks, vs = self.key_size, self.raw_value_size
        for res in self._read_batches(
            lambda cur: sysmaps.map_lookup_batch(self._fd, ks, vs, _BATCH, cur)
        ):
            yield from zip(res.keys, res.values, strict=True)

    def items(self) -> Iterator[tuple[Any, Any]]:  # type: ignore[override]
        """Every (key, value), decoded."""
        bulk = self._bulk_formats()
        if bulk is not None and self.batch_ops:
            try:
                yield from self._items_bulk(*bulk)
                return
            except _NoBatch:
                self.batch_ops = False
        kd = self.key_codec.decode
        for k, v in self.items_raw():
            yield kd(k), self._decode_value(v)

    def _bulk_formats(self) -> tuple[str, str] | None:
        """struct formats of key and value when both are plain BTF scalars (ints, floats)
        of a hash-like map: batches then encode/decode in one struct call per batch."""
        if self.percpu or self.type in ARRAY_TYPES or self.type in FD_VALUE_TYPES:
            return None
        from pybpf.btf.layout import plain_scalar_format

        fmts = []
        for codec in (self.key_codec, self.value_codec):
            if not isinstance(codec, LayoutCodec) or codec.layout.size != codec.size:
                return None
            fmt = plain_scalar_format(codec.layout)
            if fmt is None:
                return None
            fmts.append(fmt)
        return fmts[0], fmts[1]

    def _items_bulk(self, kfmt: str, vfmt: str) -> Iterator[tuple[Any, Any]]:
        ks, vs = self.key_size, self.value_size
        for res in self._read_batches(
            lambda cur: sysmaps.map_lookup_batch_raw(self._fd, ks, vs, _BATCH, cur)
        ):
            n = res.count
            keys = struct.unpack(f"={n}{kfmt}", res.keys)
            vals = struct.unpack(f"={n}{vfmt}", res.values)
            yield from zip(keys, vals, strict=True)

    def batches_raw(self) -> list[sysmaps.RawBatch] | None:
        """The whole map as raw BPF_MAP_LOOKUP_BATCH batches (keys blob, values blob,
        count), or None when batches are off for this map (an fd-valued map, or the
        kernel refused one): then walk :meth:`items_raw`.

        Example: ``n = sum(b.count for b in m.batches_raw() or ())``
        """
        if not self.batch_ops or self.type in FD_VALUE_TYPES:
            return None
        ks, vs = self.key_size, self.raw_value_size
        try:
            return list(
                self._read_batches(
                    lambda cur: sysmaps.map_lookup_batch_raw(self._fd, ks, vs, _BATCH, cur)
                )
            )
        except _NoBatch:
            self.batch_ops = False
            return None

    def _read_batches(self, fetch: Callable[[bytes | None], _R]) -> Iterator[_R]:
        """The one BPF_MAP_LOOKUP_BATCH walk: ``fetch(cursor)`` batch after batch until
        the map's end; raises _NoBatch when the first batch is refused (the kernel or
        this map type has no batch lookup: the caller then walks key by key)."""
        if not _kernel_batches():
            raise _NoBatch
        cursor: bytes | None = None
        first = True
        while True:
            try:
                res = fetch(cursor)
            except MapError as exc:
                if first and sysmaps.batch_refused(exc):
                    raise _NoBatch from exc
                raise
            first = False
            yield res
            if res.cursor is None:
                return
            cursor = res.cursor

    def write_batches(
        self, chunks: Iterable[_C], batch: Callable[[_C], int], one_by_one: Callable[[_C], int]
    ) -> int:
        """The one batch-write loop (update and delete, bytes or numpy): ``batch(chunk)``
        while the kernel takes batches, ``one_by_one(chunk)`` from the first refusal on.
        A batch that failed part way (some elements processed) is not retried.
        Package-internal (``pybpf._maparray`` writes numpy batches through it)."""
        if self.batch_ops and not _kernel_batches():
            self.batch_ops = False
        done = 0
        for chunk in chunks:
            if self.batch_ops:
                try:
                    done += batch(chunk)
                    continue
                except MapError as exc:
                    if not sysmaps.batch_refused(exc) or _processed(exc):
                        raise
                    self.batch_ops = False
            done += one_by_one(chunk)
        return done

    def _pack_bulk(self, fmt: str, size: int, items: Sequence[Any]) -> sysmaps.PackedBatch | None:
        """``items`` packed in one struct call, or None when some item is not a plain
        number (bytes, objects): the per-item codec then handles (or rejects) them."""
        try:
            return sysmaps.PackedBatch(struct.pack(f"={len(items)}{fmt}", *items), size)
        except (struct.error, TypeError):
            return None

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        """Every value, decoded."""
        for _, v in self.items_raw():
            yield self._decode_value(v)

    # -- batches -------------------------------------------------------------------------

    def update_batch(self, items: Iterable[Any], values: Any = None, *, flags: int = 0) -> int:
        """Store many items at once (one syscall per 4096 where supported).

        ``items`` are (key, value) pairs, or keys with ``values`` parallel to them.
        numpy arrays in the map's layout go to the kernel without a copy:
        ``m.update_batch(np.arange(n, dtype=np.uint32), np.zeros(n, np.uint64))``.
        """
        if values is not None:
            from pybpf import _maparray

            if _maparray.is_array(items) or _maparray.is_array(values):
                return _maparray.update(self, items, values, flags)
            items = zip(items, values, strict=True)
        bulk = self._bulk_formats()
        if bulk is not None and self.batch_ops:
            items = list(items)
            ks = self._pack_bulk(bulk[0], self.key_size, [k for k, _ in items])
            vs = self._pack_bulk(bulk[1], self.value_size, [v for _, v in items])
            if ks is not None and vs is not None:
                return self._update_packed(ks, vs, flags)
        pairs = [(self._key(k), self._value(v)) for k, v in items]
        return self._update_pairs(pairs, flags)

    def _update_packed(self, ks: sysmaps.PackedBatch, vs: sysmaps.PackedBatch, flags: int) -> int:
        kb, vb, ksz, vsz = ks.blob, vs.blob, ks.size, vs.size
        Chunk = tuple[sysmaps.PackedBatch, sysmaps.PackedBatch]
        chunks: list[Chunk] = [
            (
                sysmaps.PackedBatch(kb[i * ksz : (i + _BATCH) * ksz], ksz),
                sysmaps.PackedBatch(vb[i * vsz : (i + _BATCH) * vsz], vsz),
            )
            for i in range(0, len(ks), _BATCH)
        ]

        def batch(c: Chunk) -> int:
            return sysmaps.map_update_batch(self._fd, c[0], c[1], elem_flags=flags)

        def one_by_one(c: Chunk) -> int:
            return self._update_pairs(list(zip(c[0], c[1], strict=True)), flags)

        return self.write_batches(chunks, batch, one_by_one)

    def _update_pairs(self, pairs: list[tuple[bytes, bytes]], flags: int) -> int:
        def batch(chunk: list[tuple[bytes, bytes]]) -> int:
            keys = [k for k, _ in chunk]
            vals = [v for _, v in chunk]
            return sysmaps.map_update_batch(self._fd, keys, vals, elem_flags=flags)

        def one_by_one(chunk: list[tuple[bytes, bytes]]) -> int:
            for k, v in chunk:
                sysmaps.map_update_elem(self._fd, k, v, flags)
            return len(chunk)

        chunks = (pairs[i : i + _BATCH] for i in range(0, len(pairs), _BATCH))
        return self.write_batches(chunks, batch, one_by_one)

    def delete_batch(self, keys: Iterable[Any]) -> int:
        """Delete many keys at once; returns how many were deleted.

        A numpy array of keys in the map's layout is passed without a copy.
        """
        from pybpf import _maparray

        if _maparray.is_array(keys):
            return _maparray.delete(self, keys)
        keys = list(keys)
        bulk = self._bulk_formats()
        packed = self._pack_bulk(bulk[0], self.key_size, keys) if bulk is not None else None
        raw: Sequence[bytes] = packed if packed is not None else [self._key(k) for k in keys]
        return self.write_batches(
            (raw[i : i + _BATCH] for i in range(0, len(raw), _BATCH)),
            lambda chunk: sysmaps.map_delete_batch(self._fd, chunk),
            lambda chunk: sum(int(sysmaps.map_delete_elem(self._fd, k)) for k in chunk),
        )

    def lookup_batch(self) -> tuple[Any, Any]:
        """Every (key, value) as two numpy arrays, read by BPF_MAP_LOOKUP_BATCH in place.

        dtypes come from BTF (``uint32``, structured records...; raw bytes without it);
        per-CPU values have one column per possible CPU. Needs numpy.
        Example: ``keys, values = m.lookup_batch(); total = values.sum()``.
        """
        from pybpf import _maparray

        return _maparray.lookup(self)

    def clear(self) -> None:
        """Delete every element (arrays cannot be cleared: their slots always exist)."""
        if self.type in ARRAY_TYPES and self.type not in FD_VALUE_TYPES:
            raise TypeError(f"array map {self.name!r} cannot be cleared")
        self.delete_batch([self.key_codec.decode(k) for k in list(self.keys_raw())])

    # -- map-in-map ----------------------------------------------------------------------

    def get_inner(self, key: Any) -> Map | None:
        """Open the inner map stored under ``key`` of a map-in-map (None if empty)."""
        raw = sysmaps.map_lookup_elem(self._fd, self._key(key), 4)
        if raw is None:
            return None
        return Map.from_id(int.from_bytes(raw[:4], "little"))

    # -- kernel object management ----------------------------------------------------------

    def freeze(self) -> None:
        """Make the map read-only for user space (BPF_MAP_FREEZE)."""
        sysmaps.map_freeze(self._fd)

    def pin(self, path: str | os.PathLike[str], *, mount: bool | None = None) -> None:
        """Pin the map on bpffs at ``path`` (mode 0600). The path must not go through a
        symlink; missing directories inside a bpffs are created. A bpffs is mounted only
        at an empty /sys/fs/bpf, or on the pin's directory with ``mount=True``.

        Example: ``m.pin("/sys/fs/bpf/myapp/counts")``
        """
        from pybpf.sys.fs import prepare_pin
        from pybpf.sys.objects import obj_pin

        obj_pin(self._fd, os.fspath(prepare_pin(path, mount=mount)))

    @staticmethod
    def unpin(path: str | os.PathLike[str]) -> None:
        """Remove a pin (the map lives on while other references exist)."""
        os.unlink(path)

    def info(self) -> Any:
        """The kernel's view of this map (``bpf_map_info``)."""
        from pybpf.sys.info import map_info

        return map_info(self._fd)

    @property
    def id(self) -> int:
        """The map's kernel id."""
        return int(self.info().id)


def _kernel_batches() -> bool:
    """The kernel has BPF_MAP_*_BATCH (5.6, commit cb4d03ab499d); probed once a process,
    so that no map on an older kernel spends a refused syscall finding out."""
    from pybpf.sys.features import has_batch_ops

    return has_batch_ops()


def _processed(exc: MapError) -> bool:
    """Whether a failed batch had already handled some elements (no fallback then)."""
    return bool(getattr(exc, "processed", 0))


class _NoBatch(Exception):
    """The kernel has no batch operations for this map type."""
