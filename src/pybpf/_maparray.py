"""numpy arrays in and out of BPF map batches (``Map.update_batch(keys, values)``,
``Map.lookup_batch()``, ``Map.delete_batch(keys)``).

An array that already has the map's layout (C-contiguous, one element per key or
value, the map's dtype or any dtype of the same item size) is handed to the kernel
by address: no copy, no per-element Python work. Other numeric arrays are converted
once (vectorised, range-checked). numpy is imported only here, on first use.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from pybpf.errors import MapError
from pybpf.sys import maps as sysmaps
from pybpf.uapi.enums import Cmd

if TYPE_CHECKING:
    from pybpf.map import Map

__all__ = ["delete", "is_array", "key_dtype", "lookup", "update", "value_dtype"]

_CHUNK = 4096  # elements per syscall, as the Python-object path and libbpf's examples


def is_array(obj: object) -> bool:
    """Whether ``obj`` is a numpy array (without importing numpy)."""
    np = sys.modules.get("numpy")
    return np is not None and isinstance(obj, np.ndarray)


def _dtype_of(m: Map, type_id: int, size: int) -> Any:
    import numpy as np

    if m.btf is not None and type_id:
        from pybpf.btf.layout import numpy_dtype
        from pybpf.errors import BTFError

        try:
            dt = numpy_dtype(m.btf, type_id)
        except (BTFError, TypeError, ValueError):
            dt = None
        if dt is not None and dt.itemsize == size:
            return dt.newbyteorder("=") if dt.fields is None else dt
    return np.dtype((np.void, size))


def key_dtype(m: Map) -> Any:
    """numpy dtype of one key: from BTF (``uint32``, a struct record...) else raw bytes."""
    return _dtype_of(m, m.key_type_id, m.key_size)


def value_dtype(m: Map) -> Any:
    """numpy dtype of one value (of one CPU's slot, for per-CPU maps)."""
    import numpy as np

    dt = _dtype_of(m, m.value_type_id, m.value_size)
    if m.percpu and m.value_stride != m.value_size:
        return np.dtype({"names": ["value"], "formats": [dt], "itemsize": m.value_stride})
    return dt


def _row_shape(m: Map, values: bool) -> tuple[int, ...]:
    return (m.ncpus,) if values and m.percpu else ()


def _as_rows(m: Map, data: Any, dtype: Any, row_bytes: int, what: str, values: bool) -> Any:
    """``data`` as a C-contiguous array of ``row_bytes`` per element (a view if it already is).

    The map's own dtype passes as is; other numbers are converted (range-checked);
    any other array of the right size per element is taken as raw bytes.
    """
    import numpy as np

    arr = np.asarray(data)
    if arr.ndim == 0:
        raise ValueError(f"map {m.name!r}: batch {what} must be an array, not a scalar")
    n = len(arr)
    shape = (n, *_row_shape(m, values))
    if arr.dtype == dtype and arr.shape == shape:
        return np.ascontiguousarray(arr)
    padded = dtype.fields is not None and tuple(dtype.fields) == ("value",) and values
    base = dtype["value"] if padded else dtype
    if base.kind in "iufb" and arr.dtype.kind in "iufb" and arr.shape in (shape, (n,)):
        if base.kind in "iu" and arr.dtype.kind == "f":
            raise TypeError(f"map {m.name!r}: batch {what} are floats, the map holds {base}")
        if base.kind in "iu" and arr.size:
            info = np.iinfo(base)
            lo, hi = int(arr.min()), int(arr.max())
            if lo < info.min or hi > info.max:
                raise OverflowError(
                    f"map {m.name!r}: batch {what}: {lo if lo < info.min else hi} does not "
                    f"fit {base} ({info.min}..{info.max})"
                )
        if arr.shape != shape:  # one value for every CPU of a per-CPU map
            arr = np.broadcast_to(arr[:, None], shape)
        if padded:
            out = np.zeros(shape, dtype=dtype)
            out["value"] = arr
            return out
        return np.ascontiguousarray(arr, dtype=base)
    if arr.flags.c_contiguous and arr.nbytes == n * row_bytes:
        return arr  # raw bytes of the right size per element (structured, void, u8 rows)
    raise ValueError(
        f"map {m.name!r}: batch {what} of dtype {arr.dtype} and shape {arr.shape}: "
        f"expected {n} items of {row_bytes} bytes (dtype {dtype}, shape {shape})"
    )


def update(m: Map, keys: Any, values: Any, flags: int) -> int:
    """Store ``values[i]`` under ``keys[i]``; returns how many were stored."""
    k = _as_rows(m, keys, key_dtype(m), m.key_size, "keys", False)
    v = _as_rows(m, values, value_dtype(m), m.raw_value_size, "values", True)
    if len(k) != len(v):
        raise ValueError(f"map {m.name!r}: {len(k)} keys but {len(v)} values")
    ksz, vsz = m.key_size, m.raw_value_size
    kp, vp = k.ctypes.data, v.ctypes.data

    def batch(i: int) -> int:
        c = min(_CHUNK, len(k) - i)
        return sysmaps.map_batch_at(
            Cmd.MAP_UPDATE_BATCH, m.fd, kp + i * ksz, vp + i * vsz, c, elem_flags=flags
        )[0]

    def one_by_one(i: int) -> int:
        c = min(_CHUNK, len(k) - i)
        kb, vb = k[i : i + c].tobytes(), v[i : i + c].tobytes()
        for j in range(c):
            sysmaps.map_update_elem(
                m.fd, kb[j * ksz : (j + 1) * ksz], vb[j * vsz : (j + 1) * vsz], flags
            )
        return c

    return m.write_batches(range(0, len(k), _CHUNK), batch, one_by_one)


def delete(m: Map, keys: Any) -> int:
    """Delete ``keys``; returns how many were deleted."""
    k = _as_rows(m, keys, key_dtype(m), m.key_size, "keys", False)
    ksz, kp = m.key_size, k.ctypes.data

    def batch(i: int) -> int:
        c = min(_CHUNK, len(k) - i)
        return sysmaps.map_batch_at(Cmd.MAP_DELETE_BATCH, m.fd, kp + i * ksz, 0, c)[0]

    def one_by_one(i: int) -> int:
        kb = k[i : i + _CHUNK].tobytes()
        return sum(
            int(sysmaps.map_delete_elem(m.fd, kb[j : j + ksz])) for j in range(0, len(kb), ksz)
        )

    return m.write_batches(range(0, len(k), _CHUNK), batch, one_by_one)


def lookup(m: Map) -> tuple[Any, Any]:
    """Every (key, value) of the map as two numpy arrays, read in place by batches."""
    import numpy as np

    cap = max(m.max_entries, 1)
    keys = np.empty(cap, dtype=key_dtype(m))
    vals = np.empty((cap, *_row_shape(m, True)), dtype=value_dtype(m))
    ksz, vsz = m.key_size, m.raw_value_size
    cur_in = np.zeros(max(ksz, 8), dtype=np.uint8)  # hash maps keep a bucket index here
    cur_out = np.zeros_like(cur_in)
    got, first = 0, True
    while got < cap:
        c = min(_CHUNK, cap - got)
        try:
            n, end = sysmaps.map_batch_at(
                Cmd.MAP_LOOKUP_BATCH,
                m.fd,
                keys.ctypes.data + got * ksz,
                vals.ctypes.data + got * vsz,
                c,
                in_batch=0 if first else cur_in.ctypes.data,
                out_batch=cur_out.ctypes.data,
            )
        except MapError as exc:
            if first and sysmaps.batch_refused(exc):
                return _lookup_slow(m, keys, vals)
            raise
        got += n
        first = False
        if end:
            break
        cur_in[:] = cur_out
    return keys[:got], vals[:got]


def _lookup_slow(m: Map, keys: Any, vals: Any) -> tuple[Any, Any]:
    """One element at a time (kernels or map types without batch lookup)."""
    import numpy as np

    kv = keys.view(np.uint8).reshape(len(keys), -1)
    vv = vals.view(np.uint8).reshape(len(vals), -1)
    got = 0
    for k, v in m.items_raw():
        if got == len(keys):
            break
        kv[got] = np.frombuffer(k, dtype=np.uint8)
        vv[got] = np.frombuffer(v, dtype=np.uint8)
        got += 1
    return keys[:got], vals[:got]
