"""Feature probes answer what this machine's kernel is known to have."""

from __future__ import annotations

import pytest

from pybpf.sys import features
from pybpf.uapi.enums import FuncId, MapType, ProgType

pytestmark = pytest.mark.usefixtures("kernel")


def test_modern_kernel_basics() -> None:
    assert features.memcg_accounting()
    assert features.has_prog_name() and features.has_map_name()
    assert features.has_ringbuf() and features.has_batch_ops()
    assert features.has_mmapable_array() and features.has_log_true_size()
    assert features.has_bpf_cookie() and features.has_link_create_perf_event()
    assert all(features.btf_kinds().values()), features.btf_kinds()


def test_types_and_helpers() -> None:
    for pt in (ProgType.SOCKET_FILTER, ProgType.XDP, ProgType.TRACEPOINT, ProgType.TRACING):
        assert features.has_prog_type(pt), pt
    assert not features.has_prog_type(ProgType.UNSPEC)
    for mt in (MapType.HASH, MapType.RINGBUF, MapType.SK_STORAGE, MapType.HASH_OF_MAPS):
        assert features.has_map_type(mt), mt
    assert features.has_helper(ProgType.XDP, FuncId.redirect)
    assert features.has_helper(ProgType.TRACEPOINT, FuncId.get_current_pid_tgid)
    # bpf_override_return is for kprobe programs only: the verifier says so
    assert not features.has_helper(ProgType.SOCKET_FILTER, FuncId.override_return)


def test_machine_specific_absences() -> None:
    # DEVELOPERS.md: CONFIG_KPROBES is off and trampolines fail with EPERM here
    assert not features.has_kprobe_pmu()
    assert not features.has_kprobes()
    assert not features.has_trampolines()
    assert features.has_uprobe_pmu()


def test_probes_are_memoised() -> None:
    features.has_ringbuf.cache_clear()
    assert features.has_ringbuf() is features.has_ringbuf()
    assert features.has_ringbuf.cache_info().hits >= 1
