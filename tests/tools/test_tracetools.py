"""pybpf-hello and pybpf-hist end to end: real execs and writes, real output."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from toolproc import tool_link_ids

from pybpf.sys import features

pytestmark = pytest.mark.usefixtures("kernel")


def test_hello_prints_for_execs(run_tool) -> None:  # type: ignore[no-untyped-def]
    tool = run_tool("hello")
    assert (
        tool.wait_for(lambda s: s.startswith("TIME"))
        == "TIME(s)          COMM             PID     MESSAGE"
    )
    pids: list[int] = []

    def seen() -> bool:
        # trace_pipe is shared: re-exec until one of ours shows up
        p = subprocess.Popen(["/bin/true"])
        p.wait()
        pids.append(p.pid)
        pat = re.compile(r"^\d+\.\d{6}\s+\S.*\s(\d+)\s+Hello, BPF World!$")
        return any((m := pat.match(s)) and int(m.group(1)) in pids for s in tool.snapshot())

    links = tool_link_ids({"bpf_prog"})
    assert links or not features.has_link_create_perf_event()  # no perf links before 5.15
    deadline = time.monotonic() + 10
    while not seen():
        assert time.monotonic() < deadline, tool.snapshot()
        time.sleep(0.2)
    for line in tool.snapshot()[1:]:
        assert line.endswith(" Hello, BPF World!"), line
    assert tool.stop() == 0
    assert not links & tool_link_ids({"bpf_prog"})


def test_hist_write_sizes(run_tool) -> None:  # type: ignore[no-untyped-def]
    tool = run_tool("hist", "--cumulative", "0.5")
    tool.wait_for(lambda s: s.startswith("Tracing write() sizes"))
    links = tool_link_ids({"write_tp"})
    assert links
    dd = subprocess.run(
        ["dd", "if=/dev/zero", "of=/dev/null", "bs=4096", "count=50"], capture_output=True
    )
    assert dd.returncode == 0
    # dd's 50 writes of 4096 bytes land in slot [4096, 8191] of dd's own histogram
    head = tool.wait_for(lambda s: s.startswith("pid = ") and s.endswith(" comm = dd"))
    assert re.fullmatch(r"pid = \d+ uid = 0 comm = dd", head)
    full = "      4096 -> 8191       : 50       |****************************************|"
    tool.wait_for(lambda s: s == full)
    lines = tool.snapshot()
    at = lines.index(full)
    start = max(i for i in range(at) if lines[i].startswith("pid = "))
    assert lines[start] == head
    assert lines[start + 1] == "     bytes               : count     distribution"
    assert tool.stop() == 0
    assert not links & tool_link_ids({"write_tp"})


@pytest.mark.parametrize("tool_name", ["hist", "netrx"])
def test_kprobe_variant_gives_clear_error(tool_name: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", f"pybpf.tools.{tool_name}", "--kprobe"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1, proc.stderr
    assert err[0].startswith(f"pybpf-{tool_name}: kprobe on ")
    assert "CONFIG_KPROBES" in err[0] and "tracepoint" in err[0]
