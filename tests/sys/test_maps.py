"""Map commands against the real kernel: every map type, CRUD, batches, pinning."""

from __future__ import annotations

import errno
import os
import socket
import struct
import uuid
from pathlib import Path

import pytest

from pybpf.errors import KernelError, MapError
from pybpf.sys import features, info, maps, objects
from pybpf.sys.btf import btf_load
from pybpf.sys.cpus import num_possible_cpus
from pybpf.sys.fd import FD
from pybpf.sys.fs import ensure_bpffs
from pybpf.uapi.enums import BtfKind, MapFlags, MapType, UpdateFlags

pytestmark = pytest.mark.usefixtures("kernel")

PAGE = os.sysconf("SC_PAGE_SIZE")


def k32(i: int) -> bytes:
    return struct.pack("<I", i)


def _int_btf() -> bytes:
    """A BTF blob with one type: [1] int (4 bytes, signed)."""
    types = struct.pack("<III", 1, BtfKind.INT << 24, 4) + struct.pack("<I", (1 << 24) | 32)
    strings = b"\0int\0"
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return hdr + types + strings


def _create(mt: MapType) -> FD:
    """Create a map of type ``mt`` with the sizes, flags and extras it requires."""
    if mt in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
        with maps.map_create(MapType.ARRAY, 4, 4, 1) as inner:
            return maps.map_create(mt, 4, 4, 4, inner_map_fd=inner, name="outer")
    if mt in (MapType.RINGBUF, MapType.USER_RINGBUF):
        return maps.map_create(mt, 0, 0, PAGE)
    if mt in (MapType.QUEUE, MapType.STACK):
        return maps.map_create(mt, 0, 8, 4)
    if mt == MapType.BLOOM_FILTER:
        return maps.map_create(mt, 0, 8, 16, map_extra=3)
    if mt == MapType.LPM_TRIE:
        return maps.map_create(mt, 8, 8, 16, flags=MapFlags.NO_PREALLOC)
    if mt == MapType.STACK_TRACE:
        return maps.map_create(mt, 4, 8 * 127, 4)
    if mt in (MapType.CGROUP_STORAGE, MapType.PERCPU_CGROUP_STORAGE):
        return maps.map_create(mt, 16, 8, 0)
    if mt in (
        MapType.SK_STORAGE,
        MapType.INODE_STORAGE,
        MapType.TASK_STORAGE,
        MapType.CGRP_STORAGE,
    ):
        with btf_load(_int_btf()) as btf:
            return maps.map_create(
                mt,
                4,
                4,
                0,
                flags=MapFlags.NO_PREALLOC,
                btf_fd=btf,
                btf_key_type_id=1,
                btf_value_type_id=1,
            )
    if mt == MapType.ARENA:
        return maps.map_create(mt, 0, 0, 1, flags=MapFlags.MMAPABLE)
    if mt in (MapType.SOCKMAP, MapType.SOCKHASH, MapType.XSKMAP, MapType.REUSEPORT_SOCKARRAY):
        return maps.map_create(mt, 4, 4 if mt != MapType.REUSEPORT_SOCKARRAY else 8, 4)
    if mt in (MapType.CPUMAP, MapType.PROG_ARRAY, MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY):
        return maps.map_create(mt, 4, 4, 1)
    return maps.map_create(mt, 4, 8, 4)


CREATABLE = [mt for mt in MapType if mt not in (MapType.UNSPEC, MapType.STRUCT_OPS)]


@pytest.mark.parametrize("mt", CREATABLE, ids=lambda m: m.name)
def test_create_every_supported_map_type(mt: MapType) -> None:
    if not features.has_map_type(mt):
        # the probe says no: then creating must fail with a kernel error, not succeed
        with pytest.raises(MapError):
            _create(mt).close()
        return
    with _create(mt) as fd:
        mi = info.map_info(fd)
        assert mi.type == mt
        assert mi.id > 0


def test_struct_ops_map_needs_a_vmlinux_type() -> None:
    with pytest.raises(MapError) as exc:
        maps.map_create(MapType.STRUCT_OPS, 4, 8, 1)
    assert exc.value.errno == errno.EINVAL
    assert exc.value.hint


def test_hash_crud_round_trip() -> None:
    with maps.map_create(MapType.HASH, 4, 8, 8, name="crud") as fd:
        assert maps.map_lookup_elem(fd, k32(1), 8) is None
        maps.map_update_elem(fd, k32(1), b"a" * 8, UpdateFlags.NOEXIST)
        assert maps.map_lookup_elem(fd, k32(1), 8) == b"a" * 8
        with pytest.raises(MapError) as exc:
            maps.map_update_elem(fd, k32(1), b"b" * 8, UpdateFlags.NOEXIST)
        assert exc.value.errno == errno.EEXIST
        with pytest.raises(MapError) as exc:
            maps.map_update_elem(fd, k32(2), b"b" * 8, UpdateFlags.EXIST)
        assert exc.value.errno == errno.ENOENT
        maps.map_update_elem(fd, k32(1), b"c" * 8, UpdateFlags.EXIST)
        maps.map_update_elem(fd, k32(2), b"d" * 8)
        keys = []
        key = maps.map_get_next_key(fd, None, 4)
        while key is not None:
            keys.append(key)
            key = maps.map_get_next_key(fd, key, 4)
        assert sorted(keys) == [k32(1), k32(2)]
        assert maps.map_lookup_and_delete_elem(fd, k32(2), 8) == b"d" * 8
        assert maps.map_delete_elem(fd, k32(1)) is True
        assert maps.map_delete_elem(fd, k32(1)) is False
        assert maps.map_get_next_key(fd, None, 4) is None


def test_full_hash_reports_e2big_with_hint() -> None:
    with maps.map_create(MapType.HASH, 4, 4, 2) as fd:
        maps.map_update_elem(fd, k32(1), k32(1))
        maps.map_update_elem(fd, k32(2), k32(2))
        with pytest.raises(MapError) as exc:
            maps.map_update_elem(fd, k32(3), k32(3))
        assert exc.value.errno == errno.E2BIG
        assert "full" in str(exc.value)


def test_percpu_array_values_have_one_slot_per_possible_cpu() -> None:
    ncpu = num_possible_cpus()
    with maps.map_create(MapType.PERCPU_ARRAY, 4, 4, 2) as fd:
        stride = 8 * ncpu  # each value rounds up to 8 bytes
        value = b"".join(struct.pack("<Q", 100 + c) for c in range(ncpu))
        maps.map_update_elem(fd, k32(1), value)
        got = maps.map_lookup_elem(fd, k32(1), stride)
        assert got is not None
        assert [struct.unpack_from("<Q", got, 8 * c)[0] for c in range(ncpu)] == [
            100 + c for c in range(ncpu)
        ]


def test_queue_pop_and_freeze() -> None:
    with maps.map_create(MapType.QUEUE, 0, 8, 4) as q:
        maps.map_update_elem(q, None, struct.pack("<Q", 7))
        maps.map_update_elem(q, None, struct.pack("<Q", 8))
        assert maps.map_lookup_elem(q, None, 8) == struct.pack("<Q", 7)  # peek
        assert maps.map_lookup_and_delete_elem(q, None, 8) == struct.pack("<Q", 7)
        assert maps.map_lookup_and_delete_elem(q, None, 8) == struct.pack("<Q", 8)
        assert maps.map_lookup_and_delete_elem(q, None, 8) is None
    with maps.map_create(MapType.ARRAY, 4, 4, 1) as arr:
        maps.map_update_elem(arr, k32(0), k32(5))
        maps.map_freeze(arr)
        with pytest.raises(MapError) as exc:
            maps.map_update_elem(arr, k32(0), k32(6))
        assert exc.value.errno == errno.EPERM
        assert maps.map_lookup_elem(arr, k32(0), 4) == k32(5)


def test_batch_round_trip_on_hash() -> None:
    assert features.has_batch_ops()
    n = 100
    keys = [k32(i) for i in range(n)]
    values = [struct.pack("<Q", i * i) for i in range(n)]
    with maps.map_create(MapType.HASH, 4, 8, 128) as fd:
        assert maps.map_update_batch(fd, keys, values) == n
        seen: dict[bytes, bytes] = {}
        cursor = None
        rounds = 0
        while True:
            res = maps.map_lookup_batch(fd, 4, 8, 16, cursor)
            seen.update(zip(res.keys, res.values, strict=True))
            rounds += 1
            if res.cursor is None:
                break
            cursor = res.cursor
        assert rounds > 1
        assert seen == dict(zip(keys, values, strict=True))
        assert maps.map_delete_batch(fd, keys[:10]) == 10
        with pytest.raises(maps.BatchMapError) as exc:
            maps.map_delete_batch(fd, [keys[20], keys[0], keys[21]])
        assert exc.value.errno == errno.ENOENT and exc.value.processed == 1
        popped: dict[bytes, bytes] = {}
        cursor = None
        while True:
            res = maps.map_lookup_and_delete_batch(fd, 4, 8, 32, cursor)
            popped.update(zip(res.keys, res.values, strict=True))
            if res.cursor is None:
                break
            cursor = res.cursor
        assert set(popped) == set(keys[10:]) - {keys[20]}
        assert maps.map_get_next_key(fd, None, 4) is None


def test_batch_on_array_covers_every_index() -> None:
    with maps.map_create(MapType.ARRAY, 4, 4, 10) as fd:
        maps.map_update_batch(fd, [k32(i) for i in range(10)], [k32(i + 1) for i in range(10)])
        res = maps.map_lookup_batch(fd, 4, 4, 10)
        assert [struct.unpack("<I", v)[0] for v in res.values] == list(range(1, 11))


def test_map_batches_fall_back_where_the_map_type_has_none() -> None:
    """A DEVMAP_HASH has no batch callbacks (the kernel answers ENOTSUPP, 524): Map's one
    batch loop then goes element by element, for updates, reads and deletes."""
    from pybpf.map import Map

    with maps.map_create(MapType.DEVMAP_HASH, 4, 4, 8) as raw:
        with pytest.raises(MapError) as exc:
            maps.map_update_batch(raw, [k32(1)], [k32(1)])
        assert maps.batch_refused(exc.value), exc.value
    lo = socket.if_nametoindex("lo")
    keys = [k32(i * 3) for i in range(5)]
    m = Map.from_fd(maps.map_create(MapType.DEVMAP_HASH, 4, 4, 8))
    with m:
        assert m.update_batch((k, k32(lo)) for k in keys) == 5
        assert dict(m.items()) == dict.fromkeys(keys, k32(lo))
        assert m.delete_batch(keys[:3]) == 3
        assert sorted(m) == sorted(keys[3:])


def test_pin_and_get(tmp_path: Path) -> None:
    root = ensure_bpffs()
    path = root / f"pybpf_test_{uuid.uuid4().hex[:12]}"
    with maps.map_create(MapType.ARRAY, 4, 4, 1, name="pinned") as fd:
        maps.map_update_elem(fd, k32(0), k32(42))
        objects.obj_pin(fd, str(path))
        try:
            with pytest.raises(KernelError) as exc:
                objects.obj_pin(fd, str(path))
            assert exc.value.errno == errno.EEXIST
            with objects.obj_get(str(path)) as again:
                assert info.map_info(again).id == info.map_info(fd).id
                assert maps.map_lookup_elem(again, k32(0), 4) == k32(42)
            with objects.obj_get(str(path), MapFlags.RDONLY) as ro:
                with pytest.raises(MapError) as exc2:
                    maps.map_update_elem(ro, k32(0), k32(1))
                assert exc2.value.errno == errno.EPERM
        finally:
            path.unlink()
    with pytest.raises(OSError) as exc3:
        objects.obj_get(str(path))
    assert exc3.value.errno == errno.ENOENT


def test_bloom_filter_membership_through_map_peek_value() -> None:
    """BPF_MAP_LOOKUP_ELEM with the value as input: ENOENT reads as absent."""
    from pybpf.map import Map

    with Map.from_fd(
        maps.map_create(MapType.BLOOM_FILTER, 0, 8, 16, flags=MapFlags.ZERO_SEED, map_extra=3)
    ) as m:
        m.push(b"\x01" * 8)
        assert maps.map_peek_value(m.fd, b"\x01" * 8) is True
        assert m.contains_value(b"\x01" * 8)
        assert not m.contains_value(b"\x02" * 8)  # zero seed: the same bits every run
