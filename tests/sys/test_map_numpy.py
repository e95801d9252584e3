"""Map batches on numpy arrays: update_batch(keys, values), lookup_batch(), delete_batch(keys)
against real maps of tests/bpf/maps.bpf.c (hash, array, per-CPU, LPM trie)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import pybpf
from pybpf import _maparray
from pybpf.sys import maps as sysmaps


@pytest.fixture
def maps_obj(bpf_obj, kernel: None):  # type: ignore[no-untyped-def]
    with pybpf.load(bpf_obj("maps")) as obj:
        yield obj


def test_hash_roundtrip_in_map_dtypes(maps_obj: Any) -> None:
    h = maps_obj.maps["m_hash"]
    keys = np.arange(16, dtype=np.uint32)
    vals = keys.astype(np.uint64) ** 2 + 7
    assert h.update_batch(keys, vals) == 16
    assert dict(h.items()) == {int(k): int(k) ** 2 + 7 for k in range(16)}
    ks, vs = h.lookup_batch()
    assert ks.dtype == np.uint32 and vs.dtype == np.uint64
    order = np.argsort(ks)
    assert (ks[order] == keys).all() and (vs[order] == vals).all()
    assert h.delete_batch(keys[:8]) == 8
    assert sorted(h) == list(range(8, 16))
    ks, _ = h.lookup_batch()
    assert sorted(ks.tolist()) == list(range(8, 16))


def test_arrays_in_map_layout_are_passed_by_address(
    maps_obj: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = maps_obj.maps["m_hash"]
    keys = np.arange(4, dtype=np.uint32)
    vals = np.arange(4, dtype=np.uint64)
    seen: list[tuple[int, int]] = []
    real = sysmaps.map_batch_at

    def spy(cmd: Any, fd: Any, k: int, v: int, count: int, **kw: Any) -> tuple[int, bool]:
        seen.append((k, v))
        return real(cmd, fd, k, v, count, **kw)

    monkeypatch.setattr(sysmaps, "map_batch_at", spy)
    assert h.update_batch(keys, vals) == 4
    assert seen == [(keys.ctypes.data, vals.ctypes.data)]  # no copy was made
    assert h.delete_batch(keys) == 4
    assert seen[1][0] == keys.ctypes.data


def test_delete_spans_several_syscalls_in_any_key_order(kernel: None) -> None:
    """10,000 keys are three BPF_MAP_DELETE_BATCH calls of 4096: insertion order and the
    dump's (bucket) order both empty the map; a missing key stops the kernel in the
    second call, after it deleted the keys before it."""
    from pybpf.map import Map

    with Map.from_fd(sysmaps.map_create(sysmaps.MapType.HASH, 4, 8, 10_000)) as h:
        keys = np.arange(10_000, dtype=np.uint32)
        vals = keys.astype(np.uint64) * 3
        assert h.update_batch(keys, vals) == 10_000
        assert h.delete_batch(keys) == 10_000
        assert len(h.lookup_batch()[0]) == 0

        assert h.update_batch(keys, vals) == 10_000
        ks, _ = h.lookup_batch()
        assert h.delete_batch(ks.copy()) == 10_000
        assert len(h.lookup_batch()[0]) == 0

        assert h.update_batch(keys, vals) == 10_000
        doomed = keys[:6000].copy()
        doomed[5000] = 7  # deleted already (index 7) when the second call reaches it
        with pytest.raises(sysmaps.BatchMapError) as err:
            h.delete_batch(doomed)
        assert err.value.processed == 5000 - 4096
        left = np.sort(h.lookup_batch()[0].view(np.uint32).ravel())
        assert (left == np.arange(5000, 10_000, dtype=np.uint32)).all()


def test_other_numbers_are_converted_with_range_checks(maps_obj: Any) -> None:
    h = maps_obj.maps["m_hash"]
    assert h.update_batch(np.array([1, 2, 3], dtype=np.int64), [10, 20, 30]) == 3
    assert h.update_batch([4, 5], np.array([40, 50], dtype=np.int32)) == 2
    assert dict(h.items()) == {1: 10, 2: 20, 3: 30, 4: 40, 5: 50}
    with pytest.raises(OverflowError, match=r"m_hash.*4294967296 does not fit uint32"):
        h.update_batch(np.array([1 << 32], dtype=np.int64), np.zeros(1, np.uint64))
    with pytest.raises(OverflowError, match="-1 does not fit"):
        h.update_batch(np.array([-1], dtype=np.int64), np.zeros(1, np.uint64))
    with pytest.raises(TypeError, match="floats"):
        h.update_batch(np.array([1.5]), np.zeros(1, np.uint64))
    with pytest.raises(ValueError, match="3 keys but 2 values"):
        h.update_batch(np.arange(3, dtype=np.uint32), np.zeros(2, np.uint64))
    with pytest.raises(ValueError, match="expected 2 items of 4 bytes"):
        h.update_batch(np.zeros(2, dtype="S3"), np.zeros(2, np.uint64))
    # raw bytes of the right size per key are taken as they are
    raw = np.array([6, 7], dtype="<u4").view("V4")
    assert h.update_batch(raw, np.array([60, 70], dtype=np.uint64)) == 2
    assert h[6] == 60 and h[7] == 70


def test_array_map(maps_obj: Any) -> None:
    a = maps_obj.maps["m_array"]
    idx = np.arange(16, dtype=np.uint32)
    assert a.update_batch(idx, idx.astype(np.uint64) * 3) == 16
    ks, vs = a.lookup_batch()
    assert ks.tolist() == list(range(16)) and vs.tolist() == [3 * i for i in range(16)]
    assert a[5] == 15


def test_percpu_values_have_a_column_per_cpu(maps_obj: Any) -> None:
    from pybpf.sys.cpus import possible_cpus

    ncpu = len(possible_cpus())
    pc = maps_obj.maps["m_percpu_hash"]
    keys = np.array([3, 4], dtype=np.uint32)
    assert pc.update_batch(keys, np.array([5, 6], dtype=np.uint64)) == 2  # every CPU
    assert pc[3] == [5] * ncpu
    per_cpu = np.arange(2 * ncpu, dtype=np.uint64).reshape(2, ncpu)
    assert pc.update_batch(keys, per_cpu) == 2
    ks, vs = pc.lookup_batch()
    assert vs.shape == (2, ncpu)
    got = {int(k): v.tolist() for k, v in zip(ks, vs, strict=True)}
    assert got == {3: per_cpu[0].tolist(), 4: per_cpu[1].tolist()}


def test_struct_keys_and_maps_without_batches(maps_obj: Any) -> None:
    """The LPM trie has a struct key (numpy record dtype from BTF) and no batch ops:
    the same calls fall back to one element at a time."""
    lpm = maps_obj.maps["m_lpm"]
    kdt = _maparray.key_dtype(lpm)
    assert kdt.names == ("prefixlen", "addr") and kdt.itemsize == 8
    keys = np.zeros(2, dtype=kdt)
    keys["prefixlen"] = [24, 32]
    keys["addr"] = [[10, 0, 0, 0], [10, 0, 0, 7]]
    assert lpm.update_batch(keys, np.array([1, 2], dtype=np.uint32)) == 2
    ks, vs = lpm.lookup_batch()
    assert sorted(zip(ks["prefixlen"].tolist(), vs.tolist(), strict=True)) == [(24, 1), (32, 2)]
    assert lpm.delete_batch(keys) == 2
    assert len(lpm.lookup_batch()[0]) == 0
