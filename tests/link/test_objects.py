"""End to end: programs compiled from tests/bpf/attach_*.bpf.c, loaded by pybpf, attached
by pybpf.link to every tracing hook this kernel supports, counting real events."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pybpf
from pybpf.errors import NotSupportedError
from pybpf.link import FDLink, LinkGroup
from pybpf.link.iter import IterLink, attach_iter
from pybpf.link.kprobe import attach_kprobe, attach_ksyscall
from pybpf.link.perf_event import attach_sampling, online_cpus
from pybpf.link.tracepoint import attach_raw_tracepoint, attach_tracepoint
from pybpf.link.tracing import attach_tracing
from pybpf.link.uprobe import attach_uprobe
from pybpf.uapi.enums import AttachType, LinkType

pytestmark = pytest.mark.kernel

C_TP, C_RAW, C_EXEC, C_UPROBE, C_URET, C_SAMPLE, C_UARG = range(7)
CALLS = 11


@pytest.fixture()
def obj(no_leaks: object, bpf_obj: Any) -> Iterator[Any]:
    """attach_tracing.bpf.o loaded, told this process's pid; closed after the test."""
    o = pybpf.open(bpf_obj("attach_tracing"))
    o.load()
    try:
        o.maps["lt_config"][0] = os.getpid()
        yield o
    finally:
        o.close()


def prog(o: Any, name: str) -> tuple[int, str]:
    return o.programs[name].fd, name


def count(o: Any, slot: int) -> int:
    return int(o.maps["counts"][slot])


@pytest.mark.parametrize("use_link", [None, False], ids=["auto", "ioctl"])
def test_tracepoint_program(obj: Any, use_link: bool | None) -> None:
    fd, name = prog(obj, "lt_tp_getpid")
    with attach_tracepoint(fd, "syscalls/sys_enter_getpid", prog_name=name, use_link=use_link):
        for _ in range(CALLS):
            os.getpid()
    for _ in range(CALLS):
        os.getpid()
    assert count(obj, C_TP) == CALLS


def test_raw_tracepoint_program(obj: Any) -> None:
    fd, name = prog(obj, "lt_raw_enter")
    with attach_raw_tracepoint(fd, "sys_enter", prog_name=name) as link:
        assert link.info().type == LinkType.RAW_TRACEPOINT
        for _ in range(CALLS):
            os.getpid()
    os.getpid()
    assert count(obj, C_RAW) == CALLS


@pytest.mark.parametrize("cookie", [0, 0xC0FFEE], ids=["raw_tp_open", "link_create"])
def test_tp_btf_sched_process_exec(obj: Any, cookie: int) -> None:
    fd, name = prog(obj, "lt_exec")
    link = attach_tracing(
        fd,
        prog_name=name,
        kind="tp_btf",
        target="sched_process_exec",
        attach_type=AttachType.TRACE_RAW_TP,
        cookie=cookie,
    )
    with link:
        assert isinstance(link, FDLink)
        info = link.info()
        assert info.type == LinkType.RAW_TRACEPOINT  # the kernel's link type for tp_btf
        assert info.details["tp_name"] == "sched_process_exec"
        assert info.details["cookie"] == cookie
        for _ in range(3):
            subprocess.run(["/bin/true"], check=True)
    subprocess.run(["/bin/true"], check=True)
    assert count(obj, C_EXEC) == 3


def test_uprobe_programs_see_arguments_and_returns(obj: Any, uprobe_target: Path) -> None:
    add_fd, add_name = prog(obj, "lt_uprobe_add")
    mul_fd, mul_name = prog(obj, "lt_uret_mul")
    proc = subprocess.Popen(
        [str(uprobe_target), str(CALLS), "wait"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        with (
            attach_uprobe(
                add_fd, str(uprobe_target), "pybpf_target_add", pid=proc.pid, prog_name=add_name
            ),
            attach_uprobe(
                mul_fd,
                str(uprobe_target),
                "pybpf_target_mul",
                pid=proc.pid,
                retprobe=True,
                prog_name=mul_name,
            ),
        ):
            out, _ = proc.communicate(b"x", timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert count(obj, C_UPROBE) == CALLS
    assert count(obj, C_UARG) == sum(range(CALLS))  # first argument of each call
    assert count(obj, C_URET) == sum(i * 2 for i in range(0, CALLS, 2))  # return values
    expected_sum = sum(i + 1 for i in range(CALLS)) + sum(i * 2 for i in range(0, CALLS, 2))
    assert int(out) == expected_sum


def test_perf_event_sampling_per_cpu(obj: Any) -> None:
    fd, name = prog(obj, "lt_sample")
    group = attach_sampling(fd, prog_name=name, sample_period=100_000)  # cpu-clock: 100 us
    assert isinstance(group, LinkGroup) and len(group) == len(online_cpus())
    with group:
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            pass
    seen = count(obj, C_SAMPLE)
    assert seen > 100  # 300 ms busy at 10 kHz on at least one CPU
    time.sleep(0.05)
    assert count(obj, C_SAMPLE) == seen
    assert all(link.closed for link in group)


def test_iter_task_lists_this_process(obj: Any) -> None:
    fd, name = prog(obj, "lt_iter_task")
    link = attach_iter(fd, prog_name=name, target="task")
    with link:
        assert isinstance(link, IterLink)
        assert link.info().type == LinkType.ITER
        assert link.info().details["target_name"] == "task"
        comm = Path("/proc/self/comm").read_text().strip()
        text = link.read()
        assert f"{os.getpid()} {comm}" in text.splitlines()
        assert "1 " in text  # init is a task too
        lines = list(link)  # a second pass works
        assert f"{os.getpid()} {comm}" in lines


def test_unsupported_hooks_give_clear_errors(no_leaks: object, bpf_obj: Any) -> None:
    o = pybpf.open(bpf_obj("attach_unsupported"))
    o.programs["lt_fentry"].autoload = False
    o.load()
    try:
        with pytest.raises(NotSupportedError, match=r"CONFIG_KPROBES.*tracepoint"):
            attach_kprobe(o.programs["lt_kprobe"].fd, "do_unlinkat", prog_name="lt_kprobe")
        with pytest.raises(NotSupportedError, match=r"ksyscall on getpid.*CONFIG_KPROBES"):
            attach_ksyscall(o.programs["lt_ksyscall"].fd, "getpid", prog_name="lt_ksyscall")
    finally:
        o.close()
    o = pybpf.open(bpf_obj("attach_unsupported"))
    try:
        with pytest.raises(NotSupportedError) as exc:
            o.load()
        assert "trampoline" in str(exc.value) and "lt_fentry" in str(exc.value)
        assert "tp_btf" in str(exc.value)
    finally:
        o.close()
