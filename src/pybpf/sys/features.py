"""Feature probes: what the running kernel supports, each asked once per process.

Every probe creates the smallest object that exercises the feature through the
raw :func:`pybpf.sys.syscall.bpf` entry point, closes it, and caches the answer.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING

from pybpf.errors import KernelError
from pybpf.sys import _insn, syscall
from pybpf.sys._ffi import addr, c_buffer, cstr
from pybpf.sys.attrs import BtfLoadAttr, LinkCreateAttr, MapCreateAttr, ProgLoadAttr
from pybpf.sys.memlock import memcg_accounting
from pybpf.sys.probecache import per_boot
from pybpf.uapi import enums
from pybpf.uapi.enums import (
    AttachType,
    BtfKind,
    Cmd,
    MapFlags,
    MapType,
    ProgFlags,
    ProgType,
)

if TYPE_CHECKING:
    from pybpf.uapi.enums import FuncId  # built on first use: 212 members

__all__ = [
    "btf_kinds",
    "has_batch_ops",
    "has_bpf_cookie",
    "has_btf",
    "has_btf_datasec",
    "has_btf_decl_tag",
    "has_btf_enum64",
    "has_btf_float",
    "has_btf_func",
    "has_btf_func_global",
    "has_btf_type_tag",
    "has_helper",
    "has_kprobe_pmu",
    "has_kprobes",
    "has_link_create_perf_event",
    "has_log_true_size",
    "has_map_name",
    "has_map_type",
    "has_mmapable_array",
    "has_prog_name",
    "has_prog_type",
    "has_ringbuf",
    "has_trampolines",
    "has_uprobe_pmu",
    "memcg_accounting",
]

_RET0 = _insn.program(_insn.mov64_imm(0, 0), _insn.exit_())


def _try(cmd: Cmd, attr: ctypes.Structure) -> int:
    """Run a probe command: 0 on success (closing the fd it made), else the errno.

    EPERM/EACCES of an unprivileged process is raised (with what is missing), so a
    probe never reports a feature as absent when only the privileges are.
    """
    try:
        fd = syscall.bpf(cmd, attr)
    except KernelError as exc:
        if exc.errno in (errno.EPERM, errno.EACCES) and not syscall.privileged():
            raise  # a missing privilege, not a missing feature: never cache "unsupported"
        return exc.errno or errno.EINVAL
    os.close(fd)
    return 0


def _load(
    prog_type: int,
    insns: bytes = _RET0,
    *,
    name: bytes = b"",
    expected_attach_type: int = 0,
    flags: int = 0,
    attach_btf_id: int = 0,
    log: ctypes.Array[ctypes.c_char] | None = None,
) -> tuple[int, ProgLoadAttr]:
    code = c_buffer(insns)
    lic = cstr("GPL")
    attr = ProgLoadAttr(
        prog_type=prog_type,
        insn_cnt=len(insns) // 8,
        insns=addr(code),
        license=addr(lic),
        prog_name=name,
        expected_attach_type=expected_attach_type,
        prog_flags=flags,
        attach_btf_id=attach_btf_id,
        kern_version=_kernel_version_code(),
    )
    if log is not None:
        attr.log_level, attr.log_size, attr.log_buf = 1, len(log), addr(log)
    return _try(Cmd.PROG_LOAD, attr), attr


def _map(map_type: int, **fields: int) -> int:
    """Create and close a map; ``fields`` override 4-byte key/value, one entry."""
    values = {"key_size": 4, "value_size": 4, "max_entries": 1, **fields}
    if "flags" in values:
        values["map_flags"] = values.pop("flags")
    attr = MapCreateAttr(map_type=map_type, **values)
    return _try(Cmd.MAP_CREATE, attr)


@functools.cache
def _kernel_version_code() -> int:
    """LINUX_VERSION_CODE of the running kernel (old kernels check it for kprobes)."""
    release = os.uname().release
    parts = [int("".join(ch for ch in p if ch.isdigit()) or 0) for p in release.split(".")[:3]]
    parts += [0] * (3 - len(parts))
    return (parts[0] << 16) + (parts[1] << 8) + min(parts[2], 255)


# ---- program and map types, helpers ---------------------------------------------

# Program types the kernel only loads with a specific expected_attach_type.
_EXPECTED_ATTACH: dict[ProgType, AttachType] = {
    ProgType.CGROUP_SOCK_ADDR: AttachType.CGROUP_INET4_CONNECT,
    ProgType.CGROUP_SOCKOPT: AttachType.CGROUP_GETSOCKOPT,
    ProgType.SK_LOOKUP: AttachType.SK_LOOKUP,
    ProgType.NETFILTER: AttachType.NETFILTER,
}
# Program types that need a BTF attach target: probed by the kernel's answer to none.
_NEEDS_BTF_TARGET = {ProgType.TRACING, ProgType.EXT, ProgType.LSM, ProgType.STRUCT_OPS}


@functools.cache
@per_boot
def has_prog_type(prog_type: ProgType) -> bool:
    """Whether the kernel knows ``prog_type`` (loads ``r0 = 0; exit`` of that type)."""
    pt = ProgType(prog_type)
    if pt == ProgType.UNSPEC:
        return False
    if pt in _NEEDS_BTF_TARGET:
        # Without a target the kernel answers EINVAL for an unknown type but a
        # target-related error (ESRCH/EINVAL with log/ENOTSUPP) for a known one;
        # the log says which: an unknown type produces no log.
        log = ctypes.create_string_buffer(4096)
        expected = {
            ProgType.TRACING: AttachType.TRACE_FENTRY,
            ProgType.LSM: AttachType.LSM_MAC,
        }.get(pt, 0)
        err, _ = _load(pt, expected_attach_type=expected, log=log)
        return err == 0 or bool(log.value) or err not in (errno.EINVAL, errno.E2BIG)
    flags = ProgFlags.SLEEPABLE if pt == ProgType.SYSCALL else 0
    err, _ = _load(pt, expected_attach_type=_EXPECTED_ATTACH.get(pt, 0), flags=flags)
    return err == 0


_LOCAL_STORAGE = {
    MapType.SK_STORAGE,
    MapType.INODE_STORAGE,
    MapType.TASK_STORAGE,
    MapType.CGRP_STORAGE,
}


def _map_params(mt: MapType) -> dict[str, int]:
    """key/value/max_entries/flags that let a map of type ``mt`` be created bare."""
    page = os.sysconf("SC_PAGE_SIZE")
    p: dict[str, int] = {"key_size": 4, "value_size": 4, "max_entries": 1}
    if mt in (MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER):
        p["key_size"] = 0
    elif mt in (MapType.RINGBUF, MapType.USER_RINGBUF):
        p.update(key_size=0, value_size=0, max_entries=page)
    elif mt == MapType.LPM_TRIE:
        p.update(key_size=8, flags=MapFlags.NO_PREALLOC)
    elif mt in (MapType.CGROUP_STORAGE, MapType.PERCPU_CGROUP_STORAGE):
        p.update(key_size=16, max_entries=0)
    elif mt in _LOCAL_STORAGE:
        p.update(max_entries=0, flags=MapFlags.NO_PREALLOC)
    elif mt == MapType.ARENA:
        p.update(key_size=0, value_size=0, max_entries=1, flags=MapFlags.MMAPABLE)
    elif mt == MapType.STACK_TRACE:
        p.update(value_size=8)
    return p


@functools.cache
@per_boot
def has_map_type(map_type: MapType) -> bool:
    """Whether the kernel knows ``map_type`` (creates a tiny map of that type)."""
    mt = MapType(map_type)
    if mt == MapType.UNSPEC:
        return False
    if mt in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
        inner = MapCreateAttr(map_type=MapType.ARRAY, key_size=4, value_size=4, max_entries=1)
        try:
            ifd = syscall.bpf(Cmd.MAP_CREATE, inner)
        except KernelError:
            return False
        try:
            return _map(mt, inner_map_fd=ifd) == 0
        finally:
            os.close(ifd)
    if mt == MapType.STRUCT_OPS:
        # needs a vmlinux value type: a known map type rejects the missing one with EINVAL
        # after it passed the type check, which an unknown type fails with EINVAL too;
        # struct_ops arrived with the TRACING-era kernels, probe via its prog type
        return has_prog_type(ProgType.STRUCT_OPS)
    err = _map(mt, **_map_params(mt))
    if mt in _LOCAL_STORAGE:
        return err == 0 or (err == errno.EINVAL and _local_storage_known(mt))
    if mt == MapType.ARENA and err == errno.EPERM:
        return True  # the type exists; arenas need more privileges/config
    return err == 0


def _local_storage_known(mt: MapType) -> bool:
    """Local-storage maps need BTF for key and value: create one with an int/int BTF."""
    blob = c_buffer(_btf_blob(_int_type(1), _STRS))
    battr = BtfLoadAttr(btf=addr(blob), btf_size=len(blob))
    try:
        btf_fd = syscall.bpf(Cmd.BTF_LOAD, battr)
    except KernelError:
        return False
    try:
        return (
            _map(
                mt,
                max_entries=0,
                flags=MapFlags.NO_PREALLOC,
                btf_fd=btf_fd,
                btf_key_type_id=1,
                btf_value_type_id=1,
            )
            == 0
        )
    finally:
        os.close(btf_fd)


@functools.cache
@per_boot
def has_helper(prog_type: ProgType, helper: FuncId) -> bool:
    """Whether programs of ``prog_type`` may call ``helper`` (the verifier is the judge)."""
    if not has_prog_type(prog_type):
        return False
    pt = ProgType(prog_type)
    insns = _insn.program(_insn.call(int(helper)), _insn.mov64_imm(0, 0), _insn.exit_())
    log = ctypes.create_string_buffer(4096)
    flags = ProgFlags.SLEEPABLE if pt == ProgType.SYSCALL else 0
    err, _ = _load(
        pt, insns, expected_attach_type=_EXPECTED_ATTACH.get(pt, 0), flags=flags, log=log
    )
    if err == 0:
        return True
    text = log.value.decode(errors="replace")
    # rejected for a reason other than the call itself (e.g. its arguments): it exists
    return bool(text) and not any(
        marker in text
        for marker in ("invalid func", "unknown func", "program of this type cannot use helper")
    )


# ---- names, cookies, links ------------------------------------------------------


@functools.cache
@per_boot
def has_prog_name() -> bool:
    """Program names (4.15)."""
    return _load(ProgType.SOCKET_FILTER, name=b"pybpf_probe")[0] == 0


@functools.cache
@per_boot
def has_map_name() -> bool:
    """Map names (4.15)."""
    attr = MapCreateAttr(
        map_type=MapType.ARRAY, key_size=4, value_size=4, max_entries=1, map_name=b"pybpf_probe"
    )
    return _try(Cmd.MAP_CREATE, attr) == 0


@functools.cache
def has_ringbuf() -> bool:
    """BPF_MAP_TYPE_RINGBUF (5.8)."""
    return has_map_type(MapType.RINGBUF)


@functools.cache
@per_boot
def has_mmapable_array() -> bool:
    """BPF_F_MMAPABLE arrays (5.5), used for global data."""
    return _map(MapType.ARRAY, flags=MapFlags.MMAPABLE) == 0


@functools.cache
@per_boot
def has_batch_ops() -> bool:
    """BPF_MAP_*_BATCH (5.6): a lookup batch on an empty hash answers ENOENT, not EINVAL."""
    from pybpf.sys.attrs import BatchAttr

    attr = MapCreateAttr(map_type=MapType.HASH, key_size=4, value_size=4, max_entries=1)
    try:
        fd = syscall.bpf(Cmd.MAP_CREATE, attr)
    except KernelError:
        return False
    try:
        keys = ctypes.create_string_buffer(8)
        values = ctypes.create_string_buffer(8)
        out = ctypes.create_string_buffer(8)
        battr = BatchAttr(
            out_batch=addr(out), keys=addr(keys), values=addr(values), count=1, map_fd=fd
        )
        return _try(Cmd.MAP_LOOKUP_BATCH, battr) in (0, errno.ENOENT)
    finally:
        os.close(fd)


@functools.cache
@per_boot
def has_log_true_size() -> bool:
    """The kernel reports the log size it needed (log_true_size, 6.4)."""
    log = ctypes.create_string_buffer(1024)
    err, attr = _load(ProgType.SOCKET_FILTER, log=log)
    return err == 0 and attr.log_true_size > 0


@functools.cache
def has_bpf_cookie() -> bool:
    """bpf_get_attach_cookie for perf-event-based programs (5.15)."""
    return has_helper(ProgType.KPROBE, enums.FuncId.get_attach_cookie)


@functools.cache
@per_boot
def has_link_create_perf_event() -> bool:
    """BPF_LINK_CREATE with BPF_PERF_EVENT (5.15): a bad perf fd gives EBADF, not EINVAL."""
    code = c_buffer(_RET0)
    lic = cstr("GPL")
    pattr = ProgLoadAttr(
        prog_type=ProgType.TRACEPOINT, insn_cnt=2, insns=addr(code), license=addr(lic)
    )
    try:
        pfd = syscall.bpf(Cmd.PROG_LOAD, pattr)
    except KernelError:
        return False
    try:
        lattr = LinkCreateAttr(prog_fd=pfd, target_fd=0x7FFFFFFF, attach_type=AttachType.PERF_EVENT)
        return _try(Cmd.LINK_CREATE, lattr) == errno.EBADF
    finally:
        os.close(pfd)


@functools.cache
@per_boot
def has_trampolines() -> bool:
    """fentry/fexit/fmod_ret/LSM programs can load (BPF trampolines work)."""
    from pybpf.btf import BTF, Kind

    btf = BTF.load_vmlinux()
    ids = btf.find("bpf_fentry_test1", Kind.FUNC)
    if not ids:
        return False
    err, _ = _load(
        ProgType.TRACING,
        expected_attach_type=AttachType.TRACE_FENTRY,
        attach_btf_id=ids[0],
    )
    return err == 0


# ---- BTF ------------------------------------------------------------------------


def _btf_blob(types: bytes, strings: bytes) -> bytes:
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return header + types + strings


def _btf_type(name_off: int, kind: int, vlen: int, size_or_type: int, kflag: int = 0) -> bytes:
    return struct.pack("<III", name_off, (kflag << 31) | (kind << 24) | vlen, size_or_type)


def _int_type(name_off: int = 0) -> bytes:
    # int: 4 bytes, signed, 32 bits
    return _btf_type(name_off, BtfKind.INT, 0, 4) + struct.pack("<I", (1 << 24) | 32)


def _load_btf(blob: bytes) -> bool:
    data = c_buffer(blob)
    attr = BtfLoadAttr(btf=addr(data), btf_size=len(blob))
    return _try(Cmd.BTF_LOAD, attr) == 0


_STRS = b"\0int\0x\0f\0.data\0tag\0"  # offsets: int=1 x=5 f=7 .data=9 tag=15


@functools.cache
@per_boot
def has_btf() -> bool:
    """BPF_BTF_LOAD of a one-int BTF blob (4.18)."""
    return _load_btf(_btf_blob(_int_type(1), _STRS))


@functools.cache
@per_boot
def has_btf_func() -> bool:
    """BTF_KIND_FUNC / FUNC_PROTO (5.0)."""
    types = (
        _int_type(1)
        + _btf_type(0, BtfKind.FUNC_PROTO, 0, 1)  # [2] int (void)
        + _btf_type(7, BtfKind.FUNC, 0, 2)  # [3] static f
    )
    return _load_btf(_btf_blob(types, _STRS))


@functools.cache
@per_boot
def has_btf_func_global() -> bool:
    """Global linkage of BTF_KIND_FUNC (5.6)."""
    types = (
        _int_type(1)
        + _btf_type(0, BtfKind.FUNC_PROTO, 0, 1)
        + _btf_type(7, BtfKind.FUNC, 1, 2)  # vlen carries linkage: 1 = global
    )
    return _load_btf(_btf_blob(types, _STRS))


@functools.cache
@per_boot
def has_btf_datasec() -> bool:
    """BTF_KIND_VAR / DATASEC (5.2)."""
    types = (
        _int_type(1)
        + _btf_type(5, BtfKind.VAR, 0, 1)  # [2] static int x
        + struct.pack("<I", 0)
        + _btf_type(9, BtfKind.DATASEC, 1, 4)  # [3] .data, 4 bytes, one var
        + struct.pack("<III", 2, 0, 4)
    )
    return _load_btf(_btf_blob(types, _STRS))


@functools.cache
@per_boot
def has_btf_float() -> bool:
    """BTF_KIND_FLOAT (5.13)."""
    return _load_btf(_btf_blob(_btf_type(1, BtfKind.FLOAT, 0, 4), _STRS))


@functools.cache
@per_boot
def has_btf_decl_tag() -> bool:
    """BTF_KIND_DECL_TAG (5.16)."""
    types = (
        _int_type(1)
        + _btf_type(5, BtfKind.VAR, 0, 1)
        + struct.pack("<I", 0)
        + _btf_type(15, BtfKind.DECL_TAG, 0, 2)  # tag on var [2]
        + struct.pack("<i", -1)
    )
    return _load_btf(_btf_blob(types, _STRS))


@functools.cache
@per_boot
def has_btf_type_tag() -> bool:
    """BTF_KIND_TYPE_TAG (5.17)."""
    types = (
        _int_type(1)
        + _btf_type(15, BtfKind.TYPE_TAG, 0, 1)  # [2] tag -> int
        + _btf_type(0, BtfKind.PTR, 0, 2)  # [3] ptr -> tag
    )
    return _load_btf(_btf_blob(types, _STRS))


@functools.cache
@per_boot
def has_btf_enum64() -> bool:
    """BTF_KIND_ENUM64 (6.0)."""
    types = _btf_type(1, BtfKind.ENUM64, 1, 8) + struct.pack("<IIi", 5, 1, 0)
    return _load_btf(_btf_blob(types, _STRS))


def btf_kinds() -> dict[str, bool]:
    """Which BTF features the kernel accepts, by name."""
    return {
        "btf": has_btf(),
        "func": has_btf_func(),
        "func_global": has_btf_func_global(),
        "datasec": has_btf_datasec(),
        "float": has_btf_float(),
        "decl_tag": has_btf_decl_tag(),
        "type_tag": has_btf_type_tag(),
        "enum64": has_btf_enum64(),
    }


# ---- probes that are not bpf(2) -------------------------------------------------

_PMU = Path("/sys/bus/event_source/devices")


@functools.cache
def has_kprobe_pmu() -> bool:
    """The ``kprobe`` perf PMU exists (kprobes can be made with perf_event_open)."""
    return (_PMU / "kprobe" / "type").exists()


@functools.cache
def has_uprobe_pmu() -> bool:
    """The ``uprobe`` perf PMU exists."""
    return (_PMU / "uprobe" / "type").exists()


@functools.cache
def has_kprobes() -> bool:
    """Kprobes are available: the kprobe PMU, or kprobe_events in tracefs."""
    if has_kprobe_pmu():
        return True
    from pybpf.sys.fs import tracefs_root

    root = tracefs_root(mount=False)
    return root is not None and (root / "kprobe_events").exists()
