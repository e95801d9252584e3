"""kprobes on a kernel built without them: the clear NotSupportedError, nothing left behind."""

from __future__ import annotations

import platform

import pytest
from tests.link._progs import Counter

from pybpf.errors import NotSupportedError
from pybpf.link.kprobe import (
    attach_kprobe,
    attach_kprobe_multi,
    attach_ksyscall,
    pmu_type,
    syscall_function,
)
from pybpf.sys import features
from pybpf.uapi.enums import ProgType

pytestmark = pytest.mark.kernel


def _no_kprobes() -> bool:
    return not features.has_kprobes()


def _assert_clear(exc: NotSupportedError) -> None:
    msg = str(exc)
    assert "CONFIG_KPROBES" in msg and "without kprobes" in msg
    for alternative in ("tracepoint", "raw_tp", "tp_btf"):
        assert alternative in msg


@pytest.mark.parametrize("retprobe", [False, True])
@pytest.mark.parametrize("use_pmu", [None, False])
def test_kprobe_without_kprobes(no_leaks: object, retprobe: bool, use_pmu: bool | None) -> None:
    if not _no_kprobes():
        pytest.skip("this kernel has kprobes; covered by the error-free path")
    c = Counter(ProgType.KPROBE, name="lt_kprobe")
    try:
        with pytest.raises(NotSupportedError) as exc:
            attach_kprobe(c.fd, "do_sys_openat2", retprobe=retprobe, use_pmu=use_pmu)
        _assert_clear(exc.value)
        assert ("kretprobe" if retprobe else "kprobe") in str(exc.value)
    finally:
        c.close()


def test_ksyscall_without_kprobes(no_leaks: object) -> None:
    if not _no_kprobes():
        pytest.skip("this kernel has kprobes")
    c = Counter(ProgType.KPROBE, name="lt_ksys")
    try:
        with pytest.raises(NotSupportedError) as exc:
            attach_ksyscall(c.fd, "getpid")
        _assert_clear(exc.value)
        assert "ksyscall on getpid" in str(exc.value)
    finally:
        c.close()


def test_kprobe_multi_without_kprobes(no_leaks: object) -> None:
    if not _no_kprobes():
        pytest.skip("this kernel has kprobes")
    c = Counter(ProgType.KPROBE, name="lt_kmulti")
    try:
        with pytest.raises(NotSupportedError) as exc:
            attach_kprobe_multi(c.fd, syms=["do_sys_openat2"])
        _assert_clear(exc.value)
        with pytest.raises(NotSupportedError) as exc:
            attach_kprobe_multi(c.fd, "do_sys_open*", retprobe=True)
        _assert_clear(exc.value)
        assert "kretprobe.multi on do_sys_open*" in str(exc.value)
    finally:
        c.close()


def test_kprobe_pmu_detection_matches_sysfs() -> None:
    import os

    present = os.path.exists("/sys/bus/event_source/devices/kprobe/type")
    assert (pmu_type("kprobe") is not None) == present
    with open("/sys/bus/event_source/devices/uprobe/type") as f:
        assert pmu_type("uprobe") == int(f.read().strip())


def test_syscall_function_uses_arch_wrapper() -> None:
    name = syscall_function("getpid")
    assert name.endswith("sys_getpid")
    if platform.machine() == "x86_64":
        with open("/proc/kallsyms") as f:
            has_wrapper = any(line.split()[2] == "__x64_sys_getpid" for line in f)
        assert (name == "__x64_sys_getpid") == has_wrapper
