"""Ids, open-by-id, info by fd, raw BTF by id, and fd hygiene against the real kernel."""

from __future__ import annotations

import errno
import gc
import os
import time
from pathlib import Path

import pytest

from pybpf.errors import KernelError
from pybpf.sys import _insn, info, maps, objects, progs
from pybpf.sys.btf import BTFLoadError, btf_load
from pybpf.uapi.enums import MapType, ProgType

pytestmark = pytest.mark.usefixtures("kernel")

RET0 = _insn.program(_insn.mov64_imm(0, 0), _insn.exit_())


def test_ids_and_fd_by_id_round_trip() -> None:
    with (
        maps.map_create(MapType.HASH, 4, 4, 4, name="by_id") as m,
        progs.prog_load(ProgType.SOCKET_FILTER, RET0, name="by_id") as p,
    ):
        mid, pid = info.map_info(m).id, info.prog_info(p).id
        assert mid in objects.ids("map")
        assert pid in objects.ids("prog")
        with objects.get_fd_by_id("map", mid) as m2:
            assert info.map_info(m2).name == "by_id"
        with objects.get_fd_by_id("prog", pid) as p2:
            pi = info.prog_info(p2)
            assert pi.name == "by_id" and pi.type == ProgType.SOCKET_FILTER
            assert pi.tag == info.prog_info(p).tag and len(pi.tag) == 16
            assert pi.xlated_prog_len == len(RET0)
            assert info.prog_xlated_insns(p2) == RET0
            assert len(info.prog_jited_insns(p2)) == pi.jited_prog_len > 0
    with pytest.raises(KernelError) as exc:
        objects.get_fd_by_id("map", mid)
    assert exc.value.errno == errno.ENOENT


def test_vmlinux_btf_by_id_is_the_sysfs_blob() -> None:
    vmlinux = Path("/sys/kernel/btf/vmlinux").read_bytes()
    for btf_id in objects.ids("btf"):
        with objects.get_fd_by_id("btf", btf_id) as fd:
            bi = info.btf_info(fd)
            if bi.kernel_btf and bi.name == "vmlinux":
                assert bi.size == len(vmlinux)
                assert info.btf_raw_by_id(btf_id) == vmlinux
                return
    pytest.fail("no vmlinux BTF object among the kernel's BTF ids")


def test_btf_load_round_trip_and_rejection_log() -> None:
    from tests.sys.test_maps import _int_btf

    blob = _int_btf()
    with btf_load(blob) as fd:
        bi = info.btf_info(fd)
        assert not bi.kernel_btf and bi.size == len(blob)
        assert info.btf_raw(fd) == blob
    bad = bytearray(blob)
    bad[24 + 4] = 0x7F  # vlen 127 on an INT (low byte of the type's info word)
    with pytest.raises(BTFLoadError) as exc:
        btf_load(bytes(bad))
    assert exc.value.errno == errno.EINVAL
    assert exc.value.log  # the kernel's BTF log explains it
    assert "vlen != 0" in exc.value.log
    assert "vlen != 0" in str(exc.value)


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_no_fd_or_kernel_object_leaks() -> None:
    """Only the objects this process created are counted (their ids, and its own fds):
    other processes loading BPF at the same time cannot make this fail."""
    before_fds = _open_fds()
    created_maps: set[int] = set()
    created_progs: set[int] = set()
    for i in range(200):
        m = maps.map_create(MapType.ARRAY, 4, 4, 1)
        p = progs.prog_load(ProgType.SOCKET_FILTER, RET0)
        created_maps.add(info.map_info(m).id)
        created_progs.add(info.prog_info(p).id)
        if i % 2:
            m.close()
            p.close()
        else:
            del m, p  # closed by the garbage collector
        with pytest.raises(KernelError):  # failures must not leak either
            progs.prog_load(ProgType.SOCKET_FILTER, _insn.exit_())
    gc.collect()
    assert _open_fds() == before_fds  # no fd of ours: failed loads left none either
    assert len(created_maps) == len(created_progs) == 200
    # freeing is asynchronous in the kernel (RCU): wait a little for the ids to go
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        alive = (created_maps & set(objects.ids("map"))) | (
            created_progs & set(objects.ids("prog"))
        )
        if not alive:
            break
        time.sleep(0.05)
    assert not created_maps & set(objects.ids("map"))
    assert not created_progs & set(objects.ids("prog"))
