"""ctypes layouts of ``union bpf_attr``, one struct per command.

Each struct is the command's member of the kernel's union, field for field, so
``sizeof`` is what the kernel expects; fields a kernel does not know must be zero
(it answers E2BIG otherwise), which is how newer fields stay optional.
"""

from __future__ import annotations

import ctypes

__all__ = [
    "BatchAttr",
    "BtfLoadAttr",
    "EnableStatsAttr",
    "GetIdAttr",
    "InfoAttr",
    "IterCreateAttr",
    "LinkCreateAttr",
    "LinkDetachAttr",
    "LinkUpdateAttr",
    "MapCreateAttr",
    "MapElemAttr",
    "ObjAttr",
    "ProgAttachAttr",
    "ProgBindMapAttr",
    "ProgLoadAttr",
    "QueryAttr",
    "RawTracepointAttr",
    "TaskFdQueryAttr",
    "TestRunAttr",
]

u8 = ctypes.c_uint8
u16 = ctypes.c_uint16
u32 = ctypes.c_uint32
s32 = ctypes.c_int32
u64 = ctypes.c_uint64


class MapCreateAttr(ctypes.Structure):
    """BPF_MAP_CREATE."""

    _fields_ = (
        ("map_type", u32),
        ("key_size", u32),
        ("value_size", u32),
        ("max_entries", u32),
        ("map_flags", u32),
        ("inner_map_fd", u32),
        ("numa_node", u32),
        ("map_name", ctypes.c_char * 16),
        ("map_ifindex", u32),
        ("btf_fd", u32),
        ("btf_key_type_id", u32),
        ("btf_value_type_id", u32),
        ("btf_vmlinux_value_type_id", u32),
        ("map_extra", u64),
        ("value_type_btf_obj_fd", s32),
        ("map_token_fd", s32),
    )


class MapElemAttr(ctypes.Structure):
    """BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM, GET_NEXT_KEY, LOOKUP_AND_DELETE_ELEM, FREEZE."""

    _fields_ = (
        ("map_fd", u32),
        ("key", u64),
        ("value", u64),  # also next_key
        ("flags", u64),
    )


class BatchAttr(ctypes.Structure):
    """BPF_MAP_*_BATCH."""

    _fields_ = (
        ("in_batch", u64),
        ("out_batch", u64),
        ("keys", u64),
        ("values", u64),
        ("count", u32),
        ("map_fd", u32),
        ("elem_flags", u64),
        ("flags", u64),
    )


class ProgLoadAttr(ctypes.Structure):
    """BPF_PROG_LOAD."""

    _fields_ = (
        ("prog_type", u32),
        ("insn_cnt", u32),
        ("insns", u64),
        ("license", u64),
        ("log_level", u32),
        ("log_size", u32),
        ("log_buf", u64),
        ("kern_version", u32),
        ("prog_flags", u32),
        ("prog_name", ctypes.c_char * 16),
        ("prog_ifindex", u32),
        ("expected_attach_type", u32),
        ("prog_btf_fd", u32),
        ("func_info_rec_size", u32),
        ("func_info", u64),
        ("func_info_cnt", u32),
        ("line_info_rec_size", u32),
        ("line_info", u64),
        ("line_info_cnt", u32),
        ("attach_btf_id", u32),
        ("attach_prog_fd", u32),  # also attach_btf_obj_fd
        ("core_relo_cnt", u32),
        ("fd_array", u64),
        ("core_relos", u64),
        ("core_relo_rec_size", u32),
        ("log_true_size", u32),
        ("prog_token_fd", s32),
        ("fd_array_cnt", u32),
    )


class ObjAttr(ctypes.Structure):
    """BPF_OBJ_PIN and BPF_OBJ_GET."""

    _fields_ = (
        ("pathname", u64),
        ("bpf_fd", u32),
        ("file_flags", u32),
        ("path_fd", s32),
    )


class ProgAttachAttr(ctypes.Structure):
    """BPF_PROG_ATTACH and BPF_PROG_DETACH."""

    _fields_ = (
        ("target_fd", u32),  # also target_ifindex
        ("attach_bpf_fd", u32),
        ("attach_type", u32),
        ("attach_flags", u32),
        ("replace_bpf_fd", u32),
        ("relative_fd", u32),  # also relative_id
        ("expected_revision", u64),
    )


class TestRunAttr(ctypes.Structure):
    """BPF_PROG_TEST_RUN."""

    _fields_ = (
        ("prog_fd", u32),
        ("retval", u32),
        ("data_size_in", u32),
        ("data_size_out", u32),
        ("data_in", u64),
        ("data_out", u64),
        ("repeat", u32),
        ("duration", u32),
        ("ctx_size_in", u32),
        ("ctx_size_out", u32),
        ("ctx_in", u64),
        ("ctx_out", u64),
        ("flags", u32),
        ("cpu", u32),
        ("batch_size", u32),
    )


class GetIdAttr(ctypes.Structure):
    """BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID."""

    _fields_ = (
        ("start_id", u32),  # also prog_id, map_id, btf_id, link_id
        ("next_id", u32),
        ("open_flags", u32),
    )


class InfoAttr(ctypes.Structure):
    """BPF_OBJ_GET_INFO_BY_FD."""

    _fields_ = (
        ("bpf_fd", u32),
        ("info_len", u32),
        ("info", u64),
    )


class QueryAttr(ctypes.Structure):
    """BPF_PROG_QUERY."""

    _fields_ = (
        ("target_fd", u32),  # also target_ifindex
        ("attach_type", u32),
        ("query_flags", u32),
        ("attach_flags", u32),
        ("prog_ids", u64),
        ("count", u32),  # also prog_cnt
        ("prog_attach_flags", u64),
        ("link_ids", u64),
        ("link_attach_flags", u64),
        ("revision", u64),
    )


class RawTracepointAttr(ctypes.Structure):
    """BPF_RAW_TRACEPOINT_OPEN."""

    _fields_ = (
        ("name", u64),
        ("prog_fd", u32),
        ("cookie", u64),
    )


class BtfLoadAttr(ctypes.Structure):
    """BPF_BTF_LOAD."""

    _fields_ = (
        ("btf", u64),
        ("btf_log_buf", u64),
        ("btf_size", u32),
        ("btf_log_size", u32),
        ("btf_log_level", u32),
        ("btf_log_true_size", u32),
        ("btf_flags", u32),
        ("btf_token_fd", s32),
    )


class TaskFdQueryAttr(ctypes.Structure):
    """BPF_TASK_FD_QUERY."""

    _fields_ = (
        ("pid", u32),
        ("fd", u32),
        ("flags", u32),
        ("buf_len", u32),
        ("buf", u64),
        ("prog_id", u32),
        ("fd_type", u32),
        ("probe_offset", u64),
        ("probe_addr", u64),
    )


class _KprobeMulti(ctypes.Structure):
    _fields_ = (
        ("flags", u32),
        ("cnt", u32),
        ("syms", u64),
        ("addrs", u64),
        ("cookies", u64),
    )


class _Tracing(ctypes.Structure):
    _fields_ = (("target_btf_id", u32), ("cookie", u64))


class _Netfilter(ctypes.Structure):
    _fields_ = (("pf", u32), ("hooknum", u32), ("priority", s32), ("flags", u32))


class _Relative(ctypes.Structure):
    """tcx, netkit and cgroup links: position relative to another prog or link."""

    _fields_ = (("relative_fd", u32), ("expected_revision", u64))  # relative_fd/_id


class _UprobeMulti(ctypes.Structure):
    _fields_ = (
        ("path", u64),
        ("offsets", u64),
        ("ref_ctr_offsets", u64),
        ("cookies", u64),
        ("cnt", u32),
        ("flags", u32),
        ("pid", u32),
    )


class _Iter(ctypes.Structure):
    _fields_ = (("iter_info", u64), ("iter_info_len", u32))


class _PerfEvent(ctypes.Structure):
    _fields_ = (("bpf_cookie", u64),)


class _LinkExtra(ctypes.Union):
    _fields_ = (
        ("target_btf_id", u32),
        ("iter", _Iter),
        ("perf_event", _PerfEvent),
        ("kprobe_multi", _KprobeMulti),
        ("tracing", _Tracing),
        ("netfilter", _Netfilter),
        ("tcx", _Relative),
        ("uprobe_multi", _UprobeMulti),
        ("netkit", _Relative),
        ("cgroup", _Relative),
    )


class LinkCreateAttr(ctypes.Structure):
    """BPF_LINK_CREATE."""

    _fields_ = (
        ("prog_fd", u32),  # also map_fd
        ("target_fd", u32),  # also target_ifindex
        ("attach_type", u32),
        ("flags", u32),
        ("extra", _LinkExtra),
    )


class LinkUpdateAttr(ctypes.Structure):
    """BPF_LINK_UPDATE."""

    _fields_ = (
        ("link_fd", u32),
        ("new_prog_fd", u32),  # also new_map_fd
        ("flags", u32),
        ("old_prog_fd", u32),  # also old_map_fd
    )


class LinkDetachAttr(ctypes.Structure):
    """BPF_LINK_DETACH."""

    _fields_ = (("link_fd", u32),)


class EnableStatsAttr(ctypes.Structure):
    """BPF_ENABLE_STATS."""

    _fields_ = (("type", u32),)


class IterCreateAttr(ctypes.Structure):
    """BPF_ITER_CREATE."""

    _fields_ = (("link_fd", u32), ("flags", u32))


class ProgBindMapAttr(ctypes.Structure):
    """BPF_PROG_BIND_MAP."""

    _fields_ = (("prog_fd", u32), ("map_fd", u32), ("flags", u32))
