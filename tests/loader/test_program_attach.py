"""Program's explicit attach_* methods (whatever the section says) and obj.attach()."""

from __future__ import annotations

import os
import subprocess

import pytest

import pybpf
from pybpf.errors import NotSupportedError
from pybpf.kernel import introspect

pytestmark = pytest.mark.usefixtures("kernel")

C_TP, C_RAW = 0, 1


def _count(obj: pybpf.Object, slot: int) -> int:
    return int(obj.maps["counts"][slot])


def test_explicit_tracepoint_and_raw_tracepoint(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    with pybpf.load(bpf_obj("attach_tracing")) as obj:
        obj.maps["lt_config"][0] = os.getpid()
        tp = obj.programs["lt_tp_getpid"].attach_tracepoint("syscalls", "sys_enter_getpid")
        raw = obj.programs["lt_raw_enter"].attach_raw_tracepoint("sys_enter")
        with tp, raw:
            for _ in range(5):
                os.getpid()
            assert _count(obj, C_TP) == 5
            assert _count(obj, C_RAW) == 5
        os.getpid()  # detached: no more counting
        assert (_count(obj, C_TP), _count(obj, C_RAW)) == (5, 5)
        assert tp.closed and raw.closed


def test_explicit_iter_reads_our_process(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    with (
        pybpf.load(bpf_obj("attach_tracing")) as obj,
        obj.programs["lt_iter_task"].attach_iter() as it,
    ):
        text = it.read()  # type: ignore[attr-defined]
    assert f"{os.getpid()} " in text


def test_explicit_kprobe_gives_the_clear_error(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("attach_tracing"))
    prog = obj.programs["lt_uprobe_add"]  # a KPROBE-type program (uprobe section)
    obj.load()
    with pytest.raises(NotSupportedError, match="CONFIG_KPROBES"):
        prog.attach_kprobe("do_sys_openat2")
    obj.close()


def test_obj_attach_detaches_everything_on_close(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    before = {lk.id for lk in introspect.links()}
    obj = pybpf.open(bpf_obj("attach_tracing"))
    obj.load()
    links = obj.attach()
    # tp, raw_tp, tp_btf and iter sections name their targets (as in libbpf's skeleton
    # attach); bare uprobe/uretprobe/perf_event sections don't
    attached = sorted(lk.program for lk in links)
    assert attached == ["lt_exec", "lt_iter_task", "lt_raw_enter", "lt_tp_getpid"]
    assert set(obj.attach_skipped) == {"lt_uprobe_add", "lt_uret_mul", "lt_sample"}
    progs = {p.info().id for p in obj.programs.values() if p.loaded}
    # other processes may attach meanwhile: count only the links of this object's programs
    ours = {lk.id for lk in introspect.links() if lk.prog_id in progs} - before
    assert len(ours) == 4
    obj.maps["lt_config"][0] = os.getpid()
    subprocess.run(["/bin/true"], check=True)  # tp_btf/sched_process_exec of our child
    assert int(obj.maps["counts"][2]) == 1
    obj.close()
    assert not ours & {lk.id for lk in introspect.links()}
