"""trace_pipe: line parsing (pure) and real bpf_printk output from events_printk.bpf.c."""

from __future__ import annotations

import os
import random
import struct
import threading
from typing import Any

import pytest

from pybpf.events import TracePipe
from pybpf.events.tracepipe import parse_line


def test_parse_printk_line() -> None:
    line = (
        "           <...>-12345   [001] d..31 12345.678901: bpf_trace_printk: Hello, BPF World!\n"
    )
    parsed = parse_line(line)
    assert parsed is not None
    assert parsed.task == "<...>" and parsed.pid == 12345 and parsed.cpu == 1
    assert parsed.flags == "d..31" and parsed.timestamp == pytest.approx(12345.678901)
    assert parsed.event == "bpf_trace_printk" and parsed.message == "Hello, BPF World!"


def test_parse_variants() -> None:
    # task names with dashes and spaces, a tgid column, no irq-info flags
    p = parse_line(" kworker/u8:2-my-task-77 ( 70) [000] ....1  5.000001: bpf_trace_printk: x: y")
    assert p is not None and p.task == "kworker/u8:2-my-task" and p.pid == 77
    assert p.message == "x: y"
    q = parse_line("python3 x-9 [003] 1.5: sys_enter: NR 39")
    assert q is not None and q.task == "python3 x" and q.flags == "" and q.event == "sys_enter"
    assert parse_line("CPU:1 [LOST 12 EVENTS]") is None
    assert parse_line("") is None


@pytest.fixture()
def printk(kernel: None, bpf_obj: Any) -> Any:
    import pybpf

    with pybpf.load(bpf_obj("events_printk")) as obj:
        yield obj


def test_bpf_printk_lines_of_this_process(printk: Any) -> None:
    token = random.getrandbits(48)
    hello = printk.programs["hello"]
    with TracePipe(pids={threading.get_native_id()}) as pipe:
        for value in range(3):
            hello.test_run(ctx=struct.pack("<QQ", token, value))
        lines = []
        while len(lines) < 3:
            line = pipe.wait_for(f"token={token} ", 5000)
            assert line is not None, "bpf_printk output did not arrive"
            lines.append(line)
    assert [ln.message for ln in lines] == [
        f"pybpf-hello token={token} value={v}" for v in range(3)
    ]
    assert all(
        ln.pid == threading.get_native_id() and ln.event == "bpf_trace_printk" for ln in lines
    )


def test_pid_filter_drops_other_tasks(printk: Any) -> None:
    token = random.getrandbits(48)
    hello = printk.programs["hello"]
    with TracePipe(pids={os.getpid() + 1_000_000}) as pipe:  # a pid that cannot exist
        hello.test_run(ctx=struct.pack("<QQ", token, 1))
        assert pipe.wait_for(str(token), 300) is None
        assert pipe.skipped >= 1


def test_read_lines_timeout_and_close(kernel: None) -> None:
    with TracePipe(pids={os.getpid() + 1_000_000}) as pipe:
        assert pipe.read_lines(10) == []
        assert pipe.readline(10) is None
        fd = pipe.fileno()
    assert pipe.fileno() == -1
    with pytest.raises(OSError):
        os.fstat(fd)


def test_syscall_program_test_run_runs_once(printk: Any) -> None:
    hello = printk.programs["hello"]
    with pytest.raises(ValueError, match="run once"):
        hello.test_run(ctx=bytes(16), repeat=5)
    assert hello.test_run(ctx=bytes(16), repeat=1).ctx_out == bytes(16)
