"""Links, raw tracepoints, iterators, stats and perf events against the real kernel."""

from __future__ import annotations

import errno
import os
import time

import pytest

from pybpf.errors import AttachError
from pybpf.sys import _insn, features, info, links, perf, progs
from pybpf.sys.fs import ensure_tracefs, tracefs_root
from pybpf.uapi.enums import AttachType, LinkType, PerfEventLinkType, PerfSwId, ProgType

pytestmark = pytest.mark.usefixtures("kernel")

RET0 = _insn.program(_insn.mov64_imm(0, 0), _insn.exit_())


def _run_cnt(prog: object) -> int:
    return info.prog_info(prog).run_cnt  # type: ignore[arg-type]


def test_raw_tracepoint_runs_with_stats_and_reports_its_name() -> None:
    with (
        links.enable_stats() as _stats,
        progs.prog_load(ProgType.RAW_TRACEPOINT, RET0, name="rawtp") as p,
        links.raw_tracepoint_open("sys_enter", p) as link,
    ):
        for _ in range(20):
            os.getppid()
        assert _run_cnt(p) >= 20
        li = info.link_info(link)
        assert li.type == LinkType.RAW_TRACEPOINT
        assert li.tp_name == "sys_enter"
        assert li.prog_id == info.prog_info(p).id
    with progs.prog_load(ProgType.RAW_TRACEPOINT, RET0) as p, pytest.raises(AttachError) as exc:
        links.raw_tracepoint_open("no_such_tracepoint_xyz", p)
    assert exc.value.errno == errno.ENOENT


def test_iterator_link_reads_and_refuses_detach() -> None:
    from pybpf.btf import BTF, Kind

    target = BTF.load_vmlinux().find("bpf_iter_bpf_map", Kind.FUNC)
    assert target
    with (
        progs.prog_load(
            ProgType.TRACING,
            RET0,
            name="iter",
            expected_attach_type=AttachType.TRACE_ITER,
            attach_btf_id=target[0],
        ) as p,
        links.link_create(p, 0, AttachType.TRACE_ITER) as link,
    ):
        li = info.link_info(link)
        assert li.type == LinkType.ITER and li.target_name == "bpf_map"
        with links.iter_create(link) as it:
            assert os.read(it.fileno(), 4096) == b""  # the program prints nothing
        # iterator links cannot be detached, only closed: the kernel says so clearly
        from pybpf.errors import LinkError

        with pytest.raises(LinkError) as exc:
            links.link_detach(link)
        assert exc.value.errno == errno.EOPNOTSUPP
        assert exc.value.hint


def test_software_perf_event_with_bpf_link_and_cookie() -> None:
    assert features.has_link_create_perf_event()
    attr = perf.software_event_attr(PerfSwId.CPU_CLOCK, sample_period=100_000)  # 100 us
    with (
        links.enable_stats(),
        progs.prog_load(ProgType.PERF_EVENT, RET0, name="sampler") as p,
        perf.perf_event_open(attr, pid=0, cpu=-1) as ev,
    ):
        assert perf.perf_event_id(ev) > 0
        with links.link_create(p, ev, AttachType.PERF_EVENT, perf_event_cookie=0xC00C1E) as link:
            li = info.link_info(link)
            assert li.type == LinkType.PERF_EVENT
            assert li.perf_event_type == PerfEventLinkType.EVENT
            assert li.config == PerfSwId.CPU_CLOCK and li.cookie == 0xC00C1E
            end = time.monotonic() + 0.2
            while time.monotonic() < end:
                pass
            assert _run_cnt(p) > 0


def test_tracepoint_via_perf_ioctl() -> None:
    root = ensure_tracefs()
    assert tracefs_root(mount=False) == root
    tp = perf.tracepoint_id("syscalls", "sys_enter_getppid")
    attr = perf.PerfEventAttr(type=2, config=tp, sample_period=1, wakeup_events=1)  # TRACEPOINT
    with (
        links.enable_stats(),
        progs.prog_load(ProgType.TRACEPOINT, RET0, name="tp") as p,
        perf.perf_event_open(attr, pid=-1, cpu=0) as ev,
    ):
        perf.perf_event_set_bpf(ev, p)
        perf.perf_event_enable(ev)
        os.sched_setaffinity(0, {0})
        try:
            for _ in range(10):
                os.getppid()
        finally:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        assert _run_cnt(p) >= 10
        perf.perf_event_disable(ev)
    with pytest.raises(Exception) as exc:
        perf.tracepoint_id("syscalls", "no_such_event_xyz")
    assert getattr(exc.value, "errno", None) == errno.ENOENT


def test_kprobe_pmu_absent_is_a_clear_error() -> None:
    if features.has_kprobe_pmu():
        pytest.skip("this kernel has the kprobe PMU")
    from pybpf.errors import NotSupportedError

    with pytest.raises(NotSupportedError) as exc:
        perf.probe_event_open("kprobe", "do_sys_open")
    assert "kprobe" in str(exc.value)


def test_uprobe_pmu_event_opens() -> None:
    assert features.has_uprobe_pmu()
    assert perf.pmu_retprobe_bit("uprobe") >= 0
    # offset 0 of a real binary is a valid uprobe location for perf_event_open
    with perf.probe_event_open("uprobe", "/bin/true", 0, pid=os.getpid(), cpu=-1) as ev:
        assert perf.perf_event_id(ev) > 0
