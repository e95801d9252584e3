"""Map commands of bpf(2): create, element CRUD, batches, freeze.

Keys and values are bytes here; layout (per-CPU strides, BTF types) is the
caller's business. Absence is not an error: lookups return ``None``.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Sequence
from typing import overload

from pybpf._dataclass import dataclass
from pybpf.errors import MapError
from pybpf.sys import syscall
from pybpf.sys._ffi import addr, c_buffer
from pybpf.sys.attrs import BatchAttr, MapCreateAttr, MapElemAttr
from pybpf.sys.fd import FD
from pybpf.uapi.enums import OBJ_NAME_LEN, Cmd, MapType, UpdateFlags

__all__ = [
    "BatchMapError",
    "BatchResult",
    "FdLike",
    "PackedBatch",
    "RawBatch",
    "batch_refused",
    "fdnum",
    "map_batch_at",
    "map_create",
    "map_delete_batch",
    "map_delete_elem",
    "map_freeze",
    "map_get_next_key",
    "map_lookup_and_delete_batch",
    "map_lookup_and_delete_elem",
    "map_lookup_batch",
    "map_lookup_batch_raw",
    "map_lookup_elem",
    "map_peek_value",
    "map_update_batch",
    "map_update_elem",
    "obj_name",
]

FdLike = FD | int


def fdnum(fd: FdLike | None) -> int:
    """The raw number of an FD or int (0 for None, meaning "no fd" in attrs)."""
    if fd is None:
        return 0
    return fd.fileno() if isinstance(fd, FD) else int(fd)


def obj_name(name: str) -> bytes:
    """A kernel object name: at most 15 bytes of [A-Za-z0-9_.], others dropped."""
    raw = "".join(c for c in name if c.isascii() and (c.isalnum() or c in "_.")).encode()
    return raw[: OBJ_NAME_LEN - 1]


def map_create(
    map_type: MapType | int,
    key_size: int,
    value_size: int,
    max_entries: int,
    *,
    flags: int = 0,
    name: str = "",
    inner_map_fd: FdLike | None = None,
    numa_node: int = 0,
    ifindex: int = 0,
    btf_fd: FdLike | None = None,
    btf_key_type_id: int = 0,
    btf_value_type_id: int = 0,
    btf_vmlinux_value_type_id: int = 0,
    map_extra: int = 0,
    value_type_btf_obj_fd: FdLike | None = None,
    token_fd: FdLike | None = None,
) -> FD:
    """BPF_MAP_CREATE: create a map and return its fd."""
    from pybpf.sys import features
    from pybpf.sys.memlock import ensure_memlock

    ensure_memlock()
    attr = MapCreateAttr(
        map_type=int(map_type),
        key_size=key_size,
        value_size=value_size,
        max_entries=max_entries,
        map_flags=int(flags),
        inner_map_fd=fdnum(inner_map_fd),
        numa_node=numa_node,
        map_ifindex=ifindex,
        btf_fd=fdnum(btf_fd),
        btf_key_type_id=btf_key_type_id,
        btf_value_type_id=btf_value_type_id,
        btf_vmlinux_value_type_id=btf_vmlinux_value_type_id,
        map_extra=map_extra,
        value_type_btf_obj_fd=fdnum(value_type_btf_obj_fd),
        map_token_fd=fdnum(token_fd),
    )
    if name and features.has_map_name():
        attr.map_name = obj_name(name)
    try:
        kind = MapType(map_type).name
    except ValueError:
        kind = str(int(map_type))
    label = f"create map {name!r} ({kind})" if name else f"create {kind} map"
    return FD(syscall.bpf(Cmd.MAP_CREATE, attr, op=label, error=MapError), "map")


def _key(key: bytes | None) -> ctypes.Array[ctypes.c_char] | None:
    """A C copy of ``key``; NULL for keyless maps (queue, stack, bloom filter)."""
    return c_buffer(key) if key else None


def _elem(cmd: Cmd, fd: FdLike, key: int, value: int, flags: int, op: str) -> int:
    attr = MapElemAttr(map_fd=fdnum(fd), key=key, value=value, flags=flags)
    return syscall.bpf(cmd, attr, op=op, error=MapError)


def map_lookup_elem(fd: FdLike, key: bytes | None, value_size: int, flags: int = 0) -> bytes | None:
    """BPF_MAP_LOOKUP_ELEM: the value under ``key``, or None if absent.

    ``value_size`` is the full value stride (``round_up(size, 8) * ncpus`` for per-CPU maps).
    """
    k = _key(key)
    v = ctypes.create_string_buffer(max(value_size, 1))
    try:
        _elem(Cmd.MAP_LOOKUP_ELEM, fd, addr(k), addr(v), flags, "look up map element")
    except MapError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    return v.raw[:value_size]


def map_peek_value(fd: FdLike, value: bytes) -> bool:
    """BPF_MAP_LOOKUP_ELEM with no key and ``value`` as input (bloom filter membership):
    False when certainly absent (ENOENT), True when probably present."""
    v = c_buffer(value)
    try:
        _elem(Cmd.MAP_LOOKUP_ELEM, fd, 0, addr(v), 0, "look up bloom filter")
    except MapError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    return True


def map_update_elem(fd: FdLike, key: bytes, value: bytes, flags: int = UpdateFlags.ANY) -> None:
    """BPF_MAP_UPDATE_ELEM: store ``value`` under ``key`` (flags ANY/NOEXIST/EXIST/F_LOCK)."""
    k, v = _key(key), c_buffer(value)
    _elem(Cmd.MAP_UPDATE_ELEM, fd, addr(k), addr(v), int(flags), "update map element")


def map_delete_elem(fd: FdLike, key: bytes) -> bool:
    """BPF_MAP_DELETE_ELEM: delete ``key``; False if it was absent."""
    k = c_buffer(key)
    try:
        _elem(Cmd.MAP_DELETE_ELEM, fd, addr(k), 0, 0, "delete map element")
    except MapError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    return True


def map_get_next_key(fd: FdLike, key: bytes | None, key_size: int) -> bytes | None:
    """BPF_MAP_GET_NEXT_KEY: the key after ``key`` (the first for None); None at the end."""
    k = c_buffer(key) if key is not None else None
    nxt = ctypes.create_string_buffer(max(key_size, 1))
    try:
        _elem(Cmd.MAP_GET_NEXT_KEY, fd, addr(k), addr(nxt), 0, "iterate map keys")
    except MapError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    return nxt.raw[:key_size]


def map_lookup_and_delete_elem(
    fd: FdLike, key: bytes | None, value_size: int, flags: int = 0
) -> bytes | None:
    """BPF_MAP_LOOKUP_AND_DELETE_ELEM: pop ``key`` (None for queue/stack); None if absent."""
    k = _key(key)
    v = ctypes.create_string_buffer(max(value_size, 1))
    try:
        _elem(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, fd, addr(k), addr(v), flags, "pop map element")
    except MapError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    return v.raw[:value_size]


def map_freeze(fd: FdLike) -> None:
    """BPF_MAP_FREEZE: make the map read-only for user space from now on."""
    _elem(Cmd.MAP_FREEZE, fd, 0, 0, 0, "freeze map")


_BATCH_REFUSED = frozenset({errno.EINVAL, errno.EOPNOTSUPP, syscall.ENOTSUPP})


def batch_refused(exc: MapError) -> bool:
    """Whether a batch command failed because the kernel (< 5.6) or this map type has no
    batch operations: EINVAL from kernels without the command or map types without the
    ``map_*_batch`` callback (arrays of fds), EOPNOTSUPP/ENOTSUPP from map types that
    refuse it explicitly (``bpf_map_do_batch()``, 5.6+)."""
    return exc.errno in _BATCH_REFUSED


class BatchMapError(MapError):
    """A batch operation failed part way; ``processed`` elements were handled."""

    processed: int = 0


@dataclass(frozen=True)
class BatchResult:
    """What a lookup batch returned: parallel keys/values and the cursor to continue from.

    ``cursor`` is None when the map has been walked to its end.
    """

    keys: list[bytes]
    values: list[bytes]
    cursor: bytes | None

    def __len__(self) -> int:
        return len(self.keys)


def _cursor_size(key_size: int) -> int:
    # hash maps keep a u32 bucket index in the cursor, arrays a key: allow for both
    return max(key_size, 8)


@dataclass
class RawBatch:
    """A lookup batch as two blobs: ``count`` keys and values back to back."""

    keys: bytes
    values: bytes
    count: int
    cursor: bytes | None


def _lookup_batch_raw(
    cmd: Cmd,
    fd: FdLike,
    key_size: int,
    value_size: int,
    count: int,
    cursor: bytes | None,
    elem_flags: int,
    flags: int,
) -> RawBatch:
    csize = _cursor_size(key_size)
    in_batch = c_buffer(cursor.ljust(csize, b"\0")) if cursor is not None else None
    out_batch = ctypes.create_string_buffer(csize)
    keys = ctypes.create_string_buffer(max(key_size * count, 1))
    values = ctypes.create_string_buffer(max(value_size * count, 1))
    attr = BatchAttr(
        in_batch=addr(in_batch),
        out_batch=addr(out_batch),
        keys=addr(keys),
        values=addr(values),
        count=count,
        map_fd=fdnum(fd),
        elem_flags=elem_flags,
        flags=flags,
    )
    done = False
    op = "look up map batch" if cmd == Cmd.MAP_LOOKUP_BATCH else "pop map batch"
    asked = int(attr.count)
    try:
        syscall.bpf(cmd, attr, op=op, error=MapError)
    except MapError as exc:
        if exc.errno != errno.ENOENT:
            raise _batch_error(exc, attr.count, asked) from exc
        done = True
    n = attr.count
    return RawBatch(
        keys=keys.raw[: n * key_size],
        values=values.raw[: n * value_size],
        count=n,
        cursor=None if done else out_batch.raw,
    )


def _lookup_batch(
    cmd: Cmd,
    fd: FdLike,
    key_size: int,
    value_size: int,
    count: int,
    cursor: bytes | None,
    elem_flags: int,
    flags: int,
) -> BatchResult:
    r = _lookup_batch_raw(cmd, fd, key_size, value_size, count, cursor, elem_flags, flags)
    kraw, vraw, n = r.keys, r.values, r.count
    return BatchResult(
        keys=[kraw[i * key_size : (i + 1) * key_size] for i in range(n)],
        values=[vraw[i * value_size : (i + 1) * value_size] for i in range(n)],
        cursor=r.cursor,
    )


def map_lookup_batch_raw(
    fd: FdLike,
    key_size: int,
    value_size: int,
    count: int,
    cursor: bytes | None = None,
    *,
    elem_flags: int = 0,
    flags: int = 0,
) -> RawBatch:
    """Like :func:`map_lookup_batch`, keys and values as two blobs (no per-item copies)."""
    return _lookup_batch_raw(
        Cmd.MAP_LOOKUP_BATCH, fd, key_size, value_size, count, cursor, elem_flags, flags
    )


def _batch_error(exc: MapError, count: int, asked: int) -> BatchMapError:
    """The error of a failed batch; ``count`` is what the kernel left in ``batch.count``.

    The kernel writes the number of processed elements back only once the map's batch
    callback ran (``generic_map_*_batch()`` in kernel/bpf/syscall.c, 5.6): a refusal
    before it (no callback: ENOTSUPP; bad flags: EINVAL) leaves our ``asked`` count
    there, which must not read as "all processed". A callback that fails stops at the
    failing element, so a real count is always below ``asked``.
    """
    processed = count if count < asked else 0
    err = BatchMapError(exc.op, exc.errno or 0, f"{processed} elements processed", hint=exc.hint)
    err.processed = processed
    return err


def map_lookup_batch(
    fd: FdLike,
    key_size: int,
    value_size: int,
    count: int,
    cursor: bytes | None = None,
    *,
    elem_flags: int = 0,
    flags: int = 0,
) -> BatchResult:
    """BPF_MAP_LOOKUP_BATCH: up to ``count`` elements after ``cursor`` (None: from the start)."""
    return _lookup_batch(
        Cmd.MAP_LOOKUP_BATCH, fd, key_size, value_size, count, cursor, elem_flags, flags
    )


def map_lookup_and_delete_batch(
    fd: FdLike,
    key_size: int,
    value_size: int,
    count: int,
    cursor: bytes | None = None,
    *,
    elem_flags: int = 0,
    flags: int = 0,
) -> BatchResult:
    """BPF_MAP_LOOKUP_AND_DELETE_BATCH: like :func:`map_lookup_batch`, deleting what it returns."""
    return _lookup_batch(
        Cmd.MAP_LOOKUP_AND_DELETE_BATCH,
        fd,
        key_size,
        value_size,
        count,
        cursor,
        elem_flags,
        flags,
    )


class PackedBatch(Sequence[bytes]):
    """``count`` fixed-size items already joined into one blob (no per-item copies).

    Batch commands accept it wherever they take a sequence of keys or values.
    """

    def __init__(self, blob: bytes, size: int) -> None:
        if size <= 0 or len(blob) % size:
            raise ValueError(f"a packed batch of {len(blob)} bytes is not a multiple of {size}")
        self.blob, self.size = blob, size

    def __len__(self) -> int:
        return len(self.blob) // self.size

    @overload
    def __getitem__(self, i: int) -> bytes: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[bytes]: ...

    def __getitem__(self, i: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step == 1:
                return PackedBatch(
                    self.blob[start * self.size : max(stop, start) * self.size], self.size
                )
            return [self[j] for j in range(start, stop, step)]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(i)
        i %= n
        return self.blob[i * self.size : (i + 1) * self.size]


def _join(items: Sequence[bytes], size: int, what: str) -> bytes:
    if isinstance(items, PackedBatch):
        if items.size != size:
            raise ValueError(f"batch {what} of {items.size} bytes, expected {size}")
        return items.blob
    for item in items:
        if len(item) != size:
            raise ValueError(f"batch {what} of {len(item)} bytes, expected {size}")
    return b"".join(items)


def map_update_batch(
    fd: FdLike,
    keys: Sequence[bytes],
    values: Sequence[bytes],
    *,
    elem_flags: int = 0,
    flags: int = 0,
) -> int:
    """BPF_MAP_UPDATE_BATCH: store ``values`` under ``keys``; returns how many were stored.

    Raises :class:`BatchMapError` (with ``processed``) if the kernel stops part way.
    """
    if len(keys) != len(values):
        raise ValueError(f"{len(keys)} keys but {len(values)} values")
    if not keys:
        return 0
    k = c_buffer(_join(keys, len(keys[0]), "key"))
    v = c_buffer(_join(values, len(values[0]), "value"))
    attr = BatchAttr(
        keys=addr(k),
        values=addr(v),
        count=len(keys),
        map_fd=fdnum(fd),
        elem_flags=elem_flags,
        flags=flags,
    )
    asked = int(attr.count)
    try:
        syscall.bpf(Cmd.MAP_UPDATE_BATCH, attr, op="update map batch", error=MapError)
    except MapError as exc:
        raise _batch_error(exc, attr.count, asked) from exc
    return int(attr.count)


def map_delete_batch(
    fd: FdLike, keys: Sequence[bytes], *, elem_flags: int = 0, flags: int = 0
) -> int:
    """BPF_MAP_DELETE_BATCH: delete ``keys``; returns how many were deleted.

    A missing key stops the kernel with ENOENT: :class:`BatchMapError` says how far it got.
    """
    if not keys:
        return 0
    k = c_buffer(_join(keys, len(keys[0]), "key"))
    attr = BatchAttr(
        keys=addr(k), count=len(keys), map_fd=fdnum(fd), elem_flags=elem_flags, flags=flags
    )
    asked = int(attr.count)
    try:
        syscall.bpf(Cmd.MAP_DELETE_BATCH, attr, op="delete map batch", error=MapError)
    except MapError as exc:
        raise _batch_error(exc, attr.count, asked) from exc
    return int(attr.count)


def map_batch_at(
    cmd: Cmd,
    fd: FdLike,
    keys: int,
    values: int,
    count: int,
    *,
    in_batch: int = 0,
    out_batch: int = 0,
    elem_flags: int = 0,
    flags: int = 0,
) -> tuple[int, bool]:
    """One BPF_MAP_*_BATCH call on caller-owned memory (addresses, e.g. of numpy arrays).

    No copy is made: the kernel reads keys/values from (or writes them to) the given
    addresses, which must hold ``count`` elements. Returns (elements handled, end
    reached): the end of a lookup is ENOENT; other errors raise BatchMapError.
    Example: ``map_batch_at(Cmd.MAP_DELETE_BATCH, fd, keys.ctypes.data, 0, len(keys))``.
    """
    attr = BatchAttr(
        in_batch=in_batch,
        out_batch=out_batch,
        keys=keys,
        values=values,
        count=count,
        map_fd=fdnum(fd),
        elem_flags=elem_flags,
        flags=flags,
    )
    lookup = cmd in (Cmd.MAP_LOOKUP_BATCH, Cmd.MAP_LOOKUP_AND_DELETE_BATCH)
    asked = int(attr.count)
    try:
        syscall.bpf(cmd, attr, op=_BATCH_OPS.get(cmd, "map batch"), error=MapError)
    except MapError as exc:
        if lookup and exc.errno == errno.ENOENT:
            return int(attr.count), True
        raise _batch_error(exc, attr.count, asked) from exc
    return int(attr.count), False


_BATCH_OPS = {
    Cmd.MAP_LOOKUP_BATCH: "look up map batch",
    Cmd.MAP_LOOKUP_AND_DELETE_BATCH: "pop map batch",
    Cmd.MAP_UPDATE_BATCH: "update map batch",
    Cmd.MAP_DELETE_BATCH: "delete map batch",
}
