"""BPF_OBJ_GET_INFO_BY_FD, decoded into dataclasses for programs, maps, links and BTF."""

from __future__ import annotations

import ctypes
import errno
from typing import Any

from pybpf._dataclass import dataclass, field
from pybpf.errors import KernelError
from pybpf.sys import syscall
from pybpf.sys._ffi import addr
from pybpf.sys.attrs import BpfBtfInfo, BpfLinkInfo, BpfMapInfo, BpfProgInfo, InfoAttr
from pybpf.sys.maps import FdLike, fdnum
from pybpf.uapi.enums import Cmd, LinkType, MapType, PerfEventLinkType, ProgType

__all__ = [
    "BtfInfo",
    "LinkInfo",
    "MapInfo",
    "ProgInfo",
    "btf_info",
    "btf_raw",
    "btf_raw_by_id",
    "link_info",
    "map_info",
    "prog_func_info",
    "prog_info",
    "prog_info_ints",
    "prog_jited_insns",
    "prog_line_info",
    "prog_xlated_insns",
]

u8, u16, u32, s32, u64 = (
    ctypes.c_uint8,
    ctypes.c_uint16,
    ctypes.c_uint32,
    ctypes.c_int32,
    ctypes.c_uint64,
)


# generated from kernel BTF (pybpf.uapi.gen_attrs): struct bpf_{prog,map,btf,link}_info
_ProgInfo, _MapInfo, _BtfInfo = BpfProgInfo, BpfMapInfo, BpfBtfInfo


def _get_info(fd: FdLike, info: ctypes.Structure, what: str, size: int | None = None) -> None:
    size = ctypes.sizeof(info) if size is None else size
    attr = InfoAttr(bpf_fd=fdnum(fd), info_len=size, info=addr(info))
    syscall.bpf(Cmd.OBJ_GET_INFO_BY_FD, attr, op=f"get {what} info")


def _enum(cls: Any, value: int) -> Any:
    try:
        return cls(value)
    except ValueError:
        return value


# ---- programs -------------------------------------------------------------------


@dataclass(frozen=True)
class ProgInfo:
    """What the kernel says about a loaded program."""

    type: ProgType | int
    id: int
    name: str
    tag: str  # hex, as bpftool prints it
    jited_prog_len: int
    xlated_prog_len: int
    load_time: int  # ns since boot
    created_by_uid: int
    map_ids: list[int]
    ifindex: int
    gpl_compatible: bool
    netns_dev: int
    netns_ino: int
    btf_id: int
    nr_func_info: int
    func_info_rec_size: int
    nr_line_info: int
    line_info_rec_size: int
    nr_jited_ksyms: int
    run_time_ns: int
    run_cnt: int
    recursion_misses: int
    verified_insns: int
    attach_btf_obj_id: int
    attach_btf_id: int


def prog_info(fd: FdLike) -> ProgInfo:
    """Info of the program behind ``fd``, with its map ids."""
    raw = _ProgInfo()
    _get_info(fd, raw, "program")
    map_ids: list[int] = []
    if raw.nr_map_ids:
        n = int(raw.nr_map_ids)
        arr = (u32 * n)()
        again = _ProgInfo(nr_map_ids=n, map_ids=addr(arr))
        _get_info(fd, again, "program")
        map_ids = list(arr[: min(n, again.nr_map_ids)])
    return ProgInfo(
        type=_enum(ProgType, raw.type),
        id=raw.id,
        name=raw.name.decode(errors="replace"),
        tag=bytes(raw.tag).hex(),
        jited_prog_len=raw.jited_prog_len,
        xlated_prog_len=raw.xlated_prog_len,
        load_time=raw.load_time,
        created_by_uid=raw.created_by_uid,
        map_ids=map_ids,
        ifindex=raw.ifindex,
        gpl_compatible=bool(raw.gpl_compatible),
        netns_dev=raw.netns_dev,
        netns_ino=raw.netns_ino,
        btf_id=raw.btf_id,
        nr_func_info=raw.nr_func_info,
        func_info_rec_size=raw.func_info_rec_size,
        nr_line_info=raw.nr_line_info,
        line_info_rec_size=raw.line_info_rec_size,
        nr_jited_ksyms=raw.nr_jited_ksyms,
        run_time_ns=raw.run_time_ns,
        run_cnt=raw.run_cnt,
        recursion_misses=raw.recursion_misses,
        verified_insns=raw.verified_insns,
        attach_btf_obj_id=raw.attach_btf_obj_id,
        attach_btf_id=raw.attach_btf_id,
    )


def _prog_array(fd: FdLike, len_field: str, ptr_field: str, rec_field: str = "") -> bytes:
    """Fetch one variable-size array of a program's info: its size first, then contents.

    ``len_field`` counts bytes, or records of ``rec_field`` bytes when that is given.
    """
    raw = _ProgInfo()
    _get_info(fd, raw, "program")
    n = int(getattr(raw, len_field))
    rec = int(getattr(raw, rec_field)) if rec_field else 1
    if not n or not rec:
        return b""
    buf = ctypes.create_string_buffer(n * rec)
    again = _ProgInfo()
    setattr(again, len_field, n)
    setattr(again, ptr_field, addr(buf))
    if rec_field:
        setattr(again, rec_field, rec)
    _get_info(fd, again, "program")
    return buf.raw[: n * rec]


def prog_info_ints(
    fd: FdLike, count_field: str, ptr_field: str, ctype: Any, rec_field: str = ""
) -> list[int]:
    """One array of numbers in a program's ``bpf_prog_info`` (its count first, then its
    contents), each a ``ctype``; ``rec_field`` names the field telling the kernel the
    record size. Example: ``prog_info_ints(fd, "nr_jited_ksyms", "jited_ksyms", u64)``."""
    raw = _ProgInfo()
    _get_info(fd, raw, "program")
    n = int(getattr(raw, count_field))
    if not n:
        return []
    buf = (ctype * n)()
    again = _ProgInfo()
    setattr(again, count_field, n)
    setattr(again, ptr_field, addr(buf))
    if rec_field:
        setattr(again, rec_field, ctypes.sizeof(ctype))
    _get_info(fd, again, "program")
    return list(buf)


def prog_xlated_insns(fd: FdLike) -> bytes:
    """The program as the verifier rewrote it (needs CAP_SYS_ADMIN; pointers may be hidden)."""
    return _prog_array(fd, "xlated_prog_len", "xlated_prog_insns")


def prog_jited_insns(fd: FdLike) -> bytes:
    """The JIT-compiled machine code of the program."""
    return _prog_array(fd, "jited_prog_len", "jited_prog_insns")


def prog_func_info(fd: FdLike) -> bytes:
    """The kernel's copy of the program's bpf_func_info records."""
    return _prog_array(fd, "nr_func_info", "func_info", "func_info_rec_size")


def prog_line_info(fd: FdLike) -> bytes:
    """The kernel's copy of the program's bpf_line_info records."""
    return _prog_array(fd, "nr_line_info", "line_info", "line_info_rec_size")


# ---- maps -----------------------------------------------------------------------


@dataclass(frozen=True)
class MapInfo:
    """What the kernel says about a map."""

    type: MapType | int
    id: int
    name: str
    key_size: int
    value_size: int
    max_entries: int
    map_flags: int
    ifindex: int
    btf_id: int
    btf_key_type_id: int
    btf_value_type_id: int
    btf_vmlinux_value_type_id: int
    btf_vmlinux_id: int
    map_extra: int
    netns_dev: int
    netns_ino: int


def map_info(fd: FdLike) -> MapInfo:
    """Info of the map behind ``fd``."""
    raw = _MapInfo()
    _get_info(fd, raw, "map")
    return MapInfo(
        type=_enum(MapType, raw.type),
        id=raw.id,
        name=raw.name.decode(errors="replace"),
        key_size=raw.key_size,
        value_size=raw.value_size,
        max_entries=raw.max_entries,
        map_flags=raw.map_flags,
        ifindex=raw.ifindex,
        btf_id=raw.btf_id,
        btf_key_type_id=raw.btf_key_type_id,
        btf_value_type_id=raw.btf_value_type_id,
        btf_vmlinux_value_type_id=raw.btf_vmlinux_value_type_id,
        btf_vmlinux_id=raw.btf_vmlinux_id,
        map_extra=raw.map_extra,
        netns_dev=raw.netns_dev,
        netns_ino=raw.netns_ino,
    )


# ---- BTF ------------------------------------------------------------------------


@dataclass(frozen=True)
class BtfInfo:
    """What the kernel says about a BTF object (``vmlinux``, a module's, or a program's)."""

    id: int
    name: str
    size: int
    kernel_btf: bool


def btf_info(fd: FdLike) -> BtfInfo:
    """Info of the BTF object behind ``fd``, with its name."""
    name = ctypes.create_string_buffer(256)
    raw = _BtfInfo(name=addr(name), name_len=len(name))
    try:
        _get_info(fd, raw, "BTF")
    except KernelError as exc:
        if exc.errno != errno.E2BIG:
            raise
        # Kernels before 5.11 know only btf/btf_size/id (name and kernel_btf came with
        # module BTF in 5.11) and refuse a longer info with non-zero tail
        # bytes. Their only kernel BTF is vmlinux, which they do not mark either.
        raw = _BtfInfo()
        _get_info(fd, raw, "BTF", size=_BtfInfo.name.offset)
    return BtfInfo(
        id=raw.id,
        name=name.value.decode(errors="replace"),
        size=raw.btf_size,
        kernel_btf=bool(raw.kernel_btf),
    )


def btf_raw(fd: FdLike) -> bytes:
    """The raw BTF bytes (header, types, strings) of the BTF object behind ``fd``."""
    raw = _BtfInfo()
    _get_info(fd, raw, "BTF")
    buf = ctypes.create_string_buffer(max(int(raw.btf_size), 1))
    again = _BtfInfo(btf=addr(buf), btf_size=raw.btf_size)
    _get_info(fd, again, "BTF")
    return buf.raw[: raw.btf_size]


def btf_raw_by_id(btf_id: int) -> bytes:
    """The raw BTF bytes of the kernel BTF object with id ``btf_id``."""
    from pybpf.sys.objects import get_fd_by_id

    with get_fd_by_id("btf", btf_id) as fd:
        return btf_raw(fd)


# ---- links ----------------------------------------------------------------------


@dataclass(frozen=True)
class LinkInfo:
    """What the kernel says about a link; ``details`` holds the per-type fields."""

    type: LinkType | int
    id: int
    prog_id: int
    details: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        details = self.__dict__.get("details", {})
        if name in details:
            return details[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")


def _cstring_at(buf: ctypes.Array[ctypes.c_char]) -> str:
    return buf.value.decode(errors="replace")


def link_info(fd: FdLike) -> LinkInfo:
    """Info of the link behind ``fd``, with the fields of its type's member of the union
    (names as in ``struct bpf_link_info``; a name the kernel points to is fetched)."""
    raw = BpfLinkInfo()
    _get_info(fd, raw, "link")
    lt = _enum(LinkType, raw.type)
    d: dict[str, Any] = {}
    name_buf = ctypes.create_string_buffer(4096)

    def refetch(member: str, ptr: str, length: str) -> Any:
        """The info again, with ``member.ptr``/``member.length`` naming ``name_buf``
        (the kernel copies a name out only when given both)."""
        again = BpfLinkInfo()
        sub = again
        for part in member.split("."):
            sub = getattr(sub, part)
        setattr(sub, ptr, addr(name_buf))
        setattr(sub, length, len(name_buf))
        _get_info(fd, again, "link")
        return again

    if lt == LinkType.RAW_TRACEPOINT:
        rt = refetch("raw_tracepoint", "tp_name", "tp_name_len").raw_tracepoint
        d["tp_name"] = _cstring_at(name_buf)
        d["cookie"] = rt.cookie
    elif lt == LinkType.TRACING:
        tr = raw.tracing
        d |= {"attach_type": tr.attach_type, "target_obj_id": tr.target_obj_id}
        d |= {"target_btf_id": tr.target_btf_id, "cookie": tr.cookie}
    elif lt == LinkType.CGROUP:
        d["cgroup_id"], d["attach_type"] = raw.cgroup.cgroup_id, raw.cgroup.attach_type
    elif lt == LinkType.ITER:
        it = refetch("iter", "target_name", "target_name_len").iter
        d["target_name"] = _cstring_at(name_buf)
        d["map_id"] = it.map.map_id
    elif lt == LinkType.NETNS:
        d["netns_ino"], d["attach_type"] = raw.netns.netns_ino, raw.netns.attach_type
    elif lt in (LinkType.TCX, LinkType.NETKIT):
        dev = raw.tcx if lt == LinkType.TCX else raw.netkit
        d["ifindex"], d["attach_type"] = dev.ifindex, dev.attach_type
    elif lt == LinkType.XDP:
        d["ifindex"] = raw.xdp.ifindex
    elif lt == LinkType.STRUCT_OPS:
        d["map_id"] = raw.struct_ops.map_id
    elif lt == LinkType.SOCKMAP:
        d["map_id"], d["attach_type"] = raw.sockmap.map_id, raw.sockmap.attach_type
    elif lt == LinkType.NETFILTER:
        nf = raw.netfilter
        d |= {"pf": nf.pf, "hooknum": nf.hooknum, "priority": nf.priority, "flags": nf.flags}
    elif lt == LinkType.KPROBE_MULTI:
        km = raw.kprobe_multi
        d["count"], d["flags"], d["missed"] = km.count, km.flags, km.missed
    elif lt == LinkType.UPROBE_MULTI:
        um = raw.uprobe_multi
        d["count"], d["flags"], d["pid"] = um.count, um.flags, um.pid
    elif lt == LinkType.PERF_EVENT:
        _perf_event_details(raw, refetch, name_buf, d)
    return LinkInfo(type=lt, id=raw.id, prog_id=raw.prog_id, details=d)


def _perf_event_details(
    raw: BpfLinkInfo, refetch: Any, name_buf: ctypes.Array[ctypes.c_char], d: dict[str, Any]
) -> None:
    pk = _enum(PerfEventLinkType, raw.perf_event.type)
    d["perf_event_type"] = pk
    if pk in (PerfEventLinkType.UPROBE, PerfEventLinkType.URETPROBE):
        up = refetch("perf_event.uprobe", "file_name", "name_len").perf_event.uprobe
        d["file_name"] = _cstring_at(name_buf)
        d["offset"], d["cookie"], d["ref_ctr_offset"] = up.offset, up.cookie, up.ref_ctr_offset
    elif pk in (PerfEventLinkType.KPROBE, PerfEventLinkType.KRETPROBE):
        kp = refetch("perf_event.kprobe", "func_name", "name_len").perf_event.kprobe
        d["func_name"] = _cstring_at(name_buf)
        d["offset"], d["addr"], d["missed"], d["cookie"] = kp.offset, kp.addr, kp.missed, kp.cookie
    elif pk == PerfEventLinkType.TRACEPOINT:
        tp = refetch("perf_event.tracepoint", "tp_name", "name_len").perf_event.tracepoint
        d["tp_name"] = _cstring_at(name_buf)
        d["cookie"] = tp.cookie
    elif pk == PerfEventLinkType.EVENT:
        ev = raw.perf_event.event
        d["config"], d["event_type"], d["cookie"] = ev.config, ev.type, ev.cookie
