"""Generated skeletons against the kernel: rodata before load, typed globals and events."""

from __future__ import annotations

import ctypes
import os
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import pybpf
from pybpf.errors import BPFError

pytestmark = pytest.mark.usefixtures("kernel")

SkelModule = Callable[[str], ModuleType]
_libc = ctypes.CDLL(None, use_errno=True)
SYS_getpid = 39
RUN_ON_CPU = 1  # BPF_F_TEST_RUN_ON_CPU


def getpid_syscall() -> None:
    """A real getpid() syscall (no caching anywhere)."""
    _libc.syscall(SYS_getpid)


def test_globals_rodata_load_and_typed_variables(skel: SkelModule) -> None:
    mod = skel("globals")
    with mod.GlobalsSkeleton.open() as s:
        assert isinstance(s.obj, pybpf.Object) and s.obj.name == "globals"
        assert s.rodata.multiplier == 1 and s.rodata_cfg.rodata_cfg == 3
        assert s.data.data_counter == 7 and s.data_custom.greeting == b"hello"
        s.rodata.multiplier = 5
        s.rodata_cfg.rodata_cfg = 10
        s.data_custom.greeting = b"hi there"
        assert s.rodata.multiplier == 5
        assert s.load() is s
        with pytest.raises(BPFError, match="read-only after load") as info:
            s.rodata.multiplier = 6
        with pytest.raises(BPFError) as direct:
            s.obj.globals["multiplier"] = 6
        assert str(info.value) == str(direct.value)  # the same error Object gives
        assert s.rodata.multiplier == 5

        run = s.progs.compute.test_run()
        assert run.retval == 5 * 5 + 10 + 1  # global_add_one(scale(5))
        assert s.bss.bss_counter == 1
        assert s.data.data_counter == 7 + 2 * 5 + 10
        assert s.bss.loop_sum == sum(range(10))
        assert s.data_custom.greeting == b"hi there"
        # .bss/.data are live: a write from Python is what the program sees next
        s.bss.bss_counter = 41
        s.data.data_counter = 0
        s.progs.compute.test_run()
        assert s.bss.bss_counter == 42
        assert s.data.data_counter == 2 * 5 + 10
        assert isinstance(s.bss.bss_counter, int) and type(s.bss.seq) is int


def test_globals_events_are_dataclasses(skel: SkelModule) -> None:
    mod = skel("globals")
    me = os.getpid()
    with mod.GlobalsSkeleton.open() as s:
        s.rodata.target_pid = me
        s.rodata.multiplier = 3
        s.load()
        links = s.attach()
        assert len(links) == 1 and "compute" in s.obj.attach_skipped
        got: list[Any] = []
        with s.ringbuf_rb(got.append) as rb:
            for _ in range(3):
                getpid_syscall()
            rb.poll(1000)
            while rb.poll(100):
                pass
            count = s.maps.counts[me]  # every getpid() of this process since attach
            rb.consume()
        assert len(got) == count >= 3
        assert all(isinstance(e, mod.Event) for e in got)
        assert [e.seq for e in got] == list(range(len(got)))
        assert {e.pid for e in got} == {me}
        assert [e.value for e in got] == [3 * i + 3 for i in range(len(got))]
        s.detach()
        before = len(got)
        with s.ringbuf_rb(got.append) as rb:
            getpid_syscall()
            rb.poll(100)
        assert len(got) == before  # detached: no more events


def test_ringbuf_before_load_is_a_clear_error(skel: SkelModule) -> None:
    with skel("globals").GlobalsSkeleton.open() as s, pytest.raises(BPFError, match="load"):
        s.ringbuf_rb(print)


def test_bootstrap_tool_skeleton_sees_a_process(skel: SkelModule) -> None:
    mod = skel("bootstrap")
    with mod.BootstrapSkeleton.open() as s:
        s.rodata.min_duration_ns = 0
        s.attach()  # loads first
        assert s.obj.loaded
        events: list[Any] = []
        with s.ringbuf_rb(events.append) as rb:
            child = subprocess.run(["/bin/true"], check=True)
            assert child.returncode == 0
            for _ in range(20):
                rb.poll(100)
                if any(e.exit_event and e.comm == b"true" for e in events):
                    break
        mine = [e for e in events if e.comm == b"true"]
        assert any(not e.exit_event and e.filename == b"/bin/true" for e in mine)
        assert any(e.exit_event and e.exit_code == 0 for e in mine)
        assert all(isinstance(e, mod.Event) for e in events)


def test_core_struct_global(skel: SkelModule) -> None:
    """A CO-RE-relocated program fills a struct in .bss; the property is a dataclass."""
    mod = skel("core")
    with mod.CoreSkeleton.open() as s:
        s.rodata.target_tgid = os.getpid()
        s.attach()
        getpid_syscall()
        out = s.bss.out
        assert isinstance(out, mod.Result)
        assert out.hits >= 1 and out.pid == out.tgid == os.getpid()
        assert out.ppid == os.getppid()
        assert out.comm == Path("/proc/self/comm").read_bytes().strip()[:15]
        # writing a dataclass back goes through its C field names
        s.bss.out = mod.Result.from_record([0] * len(out.to_dict()))
        assert s.bss.out.hits == 0 and s.bss.out.pid == 0


@pytest.mark.parametrize(("slot", "expected"), [(0, 99), (1, 11), (2, 22)])
def test_tailcall_slot_through_bss(skel: SkelModule, slot: int, expected: int) -> None:
    with skel("tailcall").TailcallSkeleton.open() as s:
        s.load()
        s.bss.slot = slot
        assert s.progs.entry.test_run(b"\0" * 64).retval == expected
        assert s.maps.jmp_table.info().max_entries == 4


def test_perfbuf_samples_are_dataclasses(skel: SkelModule) -> None:
    mod = skel("events_perf")
    with mod.EventsPerfSkeleton.open() as s:
        s.load()
        got: list[tuple[int, Any]] = []
        with s.perfbuf_events(lambda cpu, e: got.append((cpu, e))) as pb:
            s.progs.produce.test_run(
                ctx=struct.pack("<QQ", 3, 128), ctx_size_out=0, flags=RUN_ON_CPU, cpu=0
            )
            pb.poll(1000)
        assert [cpu for cpu, _ in got] == [0, 0, 0]
        events = [e for _, e in got]
        assert all(isinstance(e, mod.Event) for e in events)
        assert [e.seq for e in events] == [0, 1, 2]
        for e in events:
            assert e.words == [e.seq * 31 + j for j in range(15)]
        assert s.bss.sent == 3 and s.bss.failed == 0


def test_raw_ringbuf_and_explicit_event_type(skel: SkelModule) -> None:
    """Two anchored structs: the helpers give bytes, ``ringbuf(event=...)`` decodes."""
    mod = skel("events_ringbuf")
    with mod.EventsRingbufSkeleton.open() as s:
        s.load()
        args = struct.pack("<8Q", 2, 0, 0, 0, 0x77, 0, 0, 0)  # 2 records, MODE_16, ring rb
        raw: list[bytes] = []
        with s.ringbuf_rb(raw.append) as rb:
            s.progs.produce.test_run(ctx=args, ctx_size_out=0)
            rb.poll(100)
        assert [type(r) for r in raw] == [bytes, bytes] and len(raw[0]) == 16
        typed: list[Any] = []
        with s.ringbuf("rb", typed.append, event=mod.Event) as rb:
            s.progs.produce.test_run(ctx=args, ctx_size_out=0)
            rb.poll(100)
        assert [e.tag for e in typed] == [0x77, 0x77]
        assert [e.seq for e in typed] == [2, 3]
        assert mod.Event._decode(raw[1]) == mod.Event(seq=1, cpu=raw_cpu(raw[1]), tag=0x77)
        assert s.bss.next_seq == 4


def raw_cpu(record: bytes) -> int:
    return int(struct.unpack_from("<I", record, 8)[0])


def test_close_releases_everything(skel: SkelModule) -> None:
    s = skel("tailcall").TailcallSkeleton.open()
    s.load()
    fds = [s.progs.entry.fd, s.maps.jmp_table.fd]
    s.close()
    for fd in fds:
        with pytest.raises(OSError):
            os.fstat(fd)
