"""The first mainline Linux version of BPF features, for clear "not supported" errors.

When a kernel refuses something (an unknown helper, attach type or link kind), pybpf
names the feature and the first kernel that has it. Distribution kernels backport
features, so these versions only ever word an error the kernel itself gave; they
never decide whether pybpf tries something.

>>> helper_since("loop")
'5.17'
>>> before("99.0")
True
"""

from __future__ import annotations

import functools
import os
import re

__all__ = [
    "ATTACH_SINCE",
    "HELPER_SINCE",
    "PROG_TYPE_SINCE",
    "before",
    "helper_since",
    "running_version",
]

#: First mainline version of program types (``ProgType`` names).
PROG_TYPE_SINCE: dict[str, str] = {
    "STRUCT_OPS": "5.6",
    "EXT": "5.6",
    "LSM": "5.7",
    "SK_LOOKUP": "5.9",
    "SYSCALL": "5.14",
    "NETFILTER": "6.4",
}

#: First mainline version of expected attach types (``AttachType`` names).
ATTACH_SINCE: dict[str, str] = {
    "TRACE_ITER": "5.8",
    "XDP": "5.9",
    "SK_SKB_VERDICT": "5.13",
    "SK_REUSEPORT_SELECT": "5.14",
    "SK_REUSEPORT_SELECT_OR_MIGRATE": "5.14",
    "PERF_EVENT": "5.15",
    "TRACE_KPROBE_MULTI": "5.18",
    "LSM_CGROUP": "6.0",
    "STRUCT_OPS": "6.4",
    "NETFILTER": "6.4",
    "TCX_INGRESS": "6.6",
    "TCX_EGRESS": "6.6",
    "TRACE_UPROBE_MULTI": "6.6",
    "NETKIT_PRIMARY": "6.7",
    "NETKIT_PEER": "6.7",
    "TRACE_KPROBE_SESSION": "6.10",
}

#: First mainline version of BPF helpers (``enum bpf_func_id`` names, no ``bpf_`` prefix)
#: that programs commonly use.
HELPER_SINCE: dict[str, str] = {
    "probe_read_kernel": "5.5",
    "probe_read_user": "5.5",
    "probe_read_kernel_str": "5.5",
    "probe_read_user_str": "5.5",
    "ringbuf_output": "5.8",
    "ringbuf_reserve": "5.8",
    "ringbuf_submit": "5.8",
    "ringbuf_discard": "5.8",
    "ringbuf_query": "5.8",
    "d_path": "5.10",
    "snprintf_btf": "5.10",
    "seq_printf_btf": "5.10",
    "per_cpu_ptr": "5.10",
    "this_cpu_ptr": "5.10",
    "bprm_opts_set": "5.11",
    "ktime_get_coarse_ns": "5.11",
    "ima_inode_hash": "5.11",
    "sock_from_file": "5.11",
    "check_mtu": "5.12",
    "for_each_map_elem": "5.13",
    "snprintf": "5.13",
    "sys_bpf": "5.14",
    "btf_find_by_name_kind": "5.14",
    "sys_close": "5.14",
    "timer_init": "5.15",
    "timer_set_callback": "5.15",
    "timer_start": "5.15",
    "timer_cancel": "5.15",
    "get_func_ip": "5.15",
    "get_attach_cookie": "5.15",
    "task_pt_regs": "5.15",
    "get_branch_snapshot": "5.16",
    "trace_vprintk": "5.16",
    "skc_to_unix_sock": "5.16",
    "kallsyms_lookup_name": "5.16",
    "find_vma": "5.17",
    "loop": "5.17",
    "strncmp": "5.17",
    "get_func_arg": "5.17",
    "get_func_ret": "5.17",
    "get_func_arg_cnt": "5.17",
    "get_retval": "5.18",
    "set_retval": "5.18",
    "xdp_get_buff_len": "5.18",
    "xdp_load_bytes": "5.18",
    "xdp_store_bytes": "5.18",
    "copy_from_user_task": "5.18",
    "skb_set_tstamp": "5.18",
    "ima_file_hash": "5.18",
    "kptr_xchg": "5.19",
    "map_lookup_percpu_elem": "5.19",
    "dynptr_from_mem": "5.19",
    "ringbuf_reserve_dynptr": "5.19",
    "ringbuf_submit_dynptr": "5.19",
    "ringbuf_discard_dynptr": "5.19",
    "dynptr_read": "5.19",
    "dynptr_write": "5.19",
    "dynptr_data": "5.19",
    "ktime_get_tai_ns": "6.1",
    "user_ringbuf_drain": "6.1",
    "cgrp_storage_get": "6.2",
    "cgrp_storage_delete": "6.2",
}

_VERSION = re.compile(r"(\d+)\.(\d+)")


def helper_since(name: str) -> str | None:
    """First mainline version with helper ``name`` (``loop`` or ``bpf_loop``), if listed."""
    return HELPER_SINCE.get(name.removeprefix("bpf_"))


@functools.cache
def running_version() -> tuple[int, int]:
    """(major, minor) of the running kernel, from ``uname -r``."""
    m = _VERSION.match(os.uname().release)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def before(version: str) -> bool:
    """The running kernel is older than ``version`` ("5.18")."""
    m = _VERSION.match(version)
    if not m:
        raise ValueError(f"not a kernel version: {version!r}")
    return running_version() < (int(m.group(1)), int(m.group(2)))
