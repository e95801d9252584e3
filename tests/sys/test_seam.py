"""The syscall seam (``pybpf.sys.syscall.raw``): paths the real kernel takes rarely and
never on demand, reached by answering some calls in place of the kernel.

Only these answers are made up (EAGAIN from a PROG_LOAD, EINTR, a log buffer too small
for the verifier's log); every other call, the program loads included, goes to the real
kernel through ``super()``.
"""

from __future__ import annotations

import ctypes
import errno
from collections import Counter
from typing import Any

import pytest

from pybpf.errors import ProgramLoadError, VerifierError
from pybpf.sys import _insn, maps, perf, progs, syscall
from pybpf.sys.attrs import ProgLoadAttr
from pybpf.uapi.enums import Cmd, MapType, ProgType

pytestmark = pytest.mark.usefixtures("kernel")

RET0 = _insn.program(_insn.mov64_imm(0, 0), _insn.exit_())


@pytest.fixture(autouse=True)
def _probed() -> None:
    """Run the cached feature probes of a load now, so the counts below see only the
    load's own calls."""
    progs.prog_load(ProgType.SOCKET_FILTER, RET0, name="warm").close()


class Scripted(syscall.Syscalls):
    """Answers ``-errno`` for the next calls of a command as scripted; the real kernel
    answers the rest. ``calls`` counts every bpf(2) command seen."""

    def __init__(self, script: dict[int, list[int]] | None = None) -> None:
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.calls: Counter[int] = Counter()
        self.perf_calls = 0

    def bpf(self, cmd: int, attr: Any, size: int) -> int:
        self.calls[cmd] += 1
        pending = self.script.get(cmd)
        if pending:
            return -pending.pop(0)
        return super().bpf(cmd, attr, size)

    def perf_event_open(self, attr: Any, pid: int, cpu: int, group_fd: int, flags: int) -> int:
        self.perf_calls += 1
        if self.perf_calls == 1:
            return -errno.EINTR
        return super().perf_event_open(attr, pid, cpu, group_fd, flags)


def test_prog_load_retries_eagain_then_loads() -> None:
    """The verifier gives up with EAGAIN when a signal arrives: the load is retried."""
    fake = Scripted({Cmd.PROG_LOAD: [errno.EAGAIN] * 4})
    with syscall.replace_syscalls(fake), progs.prog_load(ProgType.SOCKET_FILTER, RET0) as fd:
        assert fd.fileno() > 0
    assert fake.calls[Cmd.PROG_LOAD] == 5  # four refusals, then the real load


def test_prog_load_gives_up_after_its_eagain_budget() -> None:
    fake = Scripted({Cmd.PROG_LOAD: [errno.EAGAIN] * 100})
    with syscall.replace_syscalls(fake), pytest.raises(ProgramLoadError) as exc:
        progs.prog_load(ProgType.SOCKET_FILTER, RET0, name="busy")
    assert exc.value.errno == errno.EAGAIN and exc.value.program == "busy"
    # five attempts without a log, five more with one (to explain the failure); no more
    assert fake.calls[Cmd.PROG_LOAD] == 2 * syscall._PROG_LOAD_ATTEMPTS


def test_eintr_is_retried_for_every_command_and_perf_event_open() -> None:
    fake = Scripted({Cmd.MAP_CREATE: [errno.EINTR] * 3})
    with syscall.replace_syscalls(fake):
        with maps.map_create(MapType.ARRAY, 4, 4, 1) as fd:
            assert fd.fileno() > 0
        with perf.perf_event_open(perf.software_event_attr(disabled=True), pid=0, cpu=-1) as pfd:
            assert pfd.fileno() > 0
    assert fake.calls[Cmd.MAP_CREATE] == 4 and fake.perf_calls == 2


def test_seam_is_restored_after_the_block() -> None:
    real = syscall.raw
    with pytest.raises(RuntimeError), syscall.replace_syscalls(Scripted()):
        assert syscall.raw is not real
        raise RuntimeError
    assert syscall.raw is real


class SmallLogKernel(Scripted):
    """A kernel whose verifier log needs ``need`` bytes: smaller buffers get the log's
    head and ENOSPC, reporting the size needed in ``log_true_size`` only if ``tells``
    (Linux 6.4+); the load with a big enough buffer goes to the kernel."""

    def __init__(self, need: int, *, tells: bool) -> None:
        super().__init__()
        self.need, self.tells = need, tells
        self.sizes: list[int] = []

    def bpf(self, cmd: int, attr: Any, size: int) -> int:
        load: ProgLoadAttr = attr._obj
        if cmd != Cmd.PROG_LOAD or not load.log_level:
            return super().bpf(cmd, attr, size)
        self.sizes.append(int(load.log_size))
        if load.log_size >= self.need:
            return super().bpf(cmd, attr, size)
        head = b"0: R1=ctx() R10=fp0\n"[: load.log_size - 1]
        ctypes.memmove(load.log_buf, head + b"\0", len(head) + 1)
        load.log_true_size = self.need if self.tells else 0
        return -errno.ENOSPC


BAD = _insn.program(_insn.insn(0xBF, 0, 5), _insn.exit_())  # r0 = r5: r5 never written


@pytest.mark.parametrize("tells", [True, False], ids=["log_true_size", "pre-6.4"])
def test_verifier_log_buffer_grows_until_the_log_fits(tells: bool) -> None:
    need = 3 * 1024 * 1024
    fake = SmallLogKernel(need, tells=tells)
    with syscall.replace_syscalls(fake), pytest.raises(VerifierError) as exc:
        progs.prog_load(ProgType.SOCKET_FILTER, BAD, name="grow")
    assert "R5 !read_ok" in exc.value.log and not exc.value.truncated
    first = progs.DEFAULT_LOG_SIZE
    if tells:  # straight to the size the kernel asked for
        assert fake.sizes == [first, need + 1]
    else:  # four times bigger each round until it fits
        assert fake.sizes == [first * 4**i for i in range(4)]
        assert fake.sizes[-2] < need <= fake.sizes[-1]


def test_perf_ioctl_failure_names_the_operation() -> None:
    """An ioctl the kernel refuses (here ENODEV, as for an event whose PMU went away)
    is an AttachError naming what was attempted; the event fd is still closed after."""
    from pybpf.errors import AttachError

    class NoDevice(Scripted):
        def ioctl(self, fd: int, request: int, arg: Any) -> int:
            return -errno.ENODEV

    with perf.perf_event_open(perf.software_event_attr(disabled=True), pid=0, cpu=-1) as pfd:
        with syscall.replace_syscalls(NoDevice()), pytest.raises(AttachError) as exc:
            perf.perf_event_enable(pfd, op="enable test event")
        assert exc.value.errno == errno.ENODEV and "enable test event" in str(exc.value)
        perf.perf_event_enable(pfd)  # the real kernel again
