"""pybpf-bootstrap end to end: real execs and exits, in the seed's exact columns."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest
from toolproc import tool_link_ids

from pybpf.sys import features

HEADER = "TIME     EVENT COMM             PID     PPID    FILENAME/EXIT CODE"
TIME = r"\d\d:\d\d:\d\d"
PROGS = {"handle_exec", "handle_exit"}


def _exec_re(comm: str, pid: int, ppid: int | str, filename: str) -> re.Pattern[str]:
    return re.compile(rf"^{TIME} EXEC  {comm:<16} {pid:<7} {ppid!s:<7} {re.escape(filename)}$")


def _exit_re(comm: str, pid: int, ppid: int | str, code: int) -> re.Pattern[str]:
    return re.compile(
        rf"^{TIME} EXIT  {comm:<16} {pid:<7} {ppid!s:<7} \[{code}\](?: \((\d+)ms\))?$"
    )


@pytest.mark.usefixtures("kernel")
def test_bootstrap_all_events(run_tool) -> None:  # type: ignore[no-untyped-def]
    before = tool_link_ids(PROGS)
    tool = run_tool("bootstrap", "-d", "0")
    assert tool.wait_for(lambda s: s.startswith("TIME")) == HEADER
    during = tool_link_ids(PROGS) - before
    # tracepoints attach as perf links from 5.15 on (before: an ioctl, no link object)
    if features.has_link_create_perf_event():
        assert len(during) >= 2, "the tool's two tracepoint links are not in the kernel"

    sh = subprocess.Popen(["/bin/sh", "-c", "sleep 0.1; exit 3"])
    assert sh.wait() == 3
    me = os.getpid()

    tool.wait_for(_exec_re("sh", sh.pid, me, "/bin/sh").match)
    # sleep runs as a child of sh: its own EXEC, then its EXIT with a duration
    sleep_exec = tool.wait_for(
        lambda s: bool(re.match(rf"^{TIME} EXEC  sleep {{11}} \d+\s+{sh.pid:<7} \S*sleep$", s))
    )
    sleep_pid = int(sleep_exec.split()[3])
    sleep_exit = _exit_re("sleep", sleep_pid, sh.pid, 0)
    m = sleep_exit.match(tool.wait_for(sleep_exit.match))
    assert m is not None and m.group(1) is not None and int(m.group(1)) >= 100
    line = tool.wait_for(_exit_re("sh", sh.pid, me, 3).match)
    m = _exit_re("sh", sh.pid, me, 3).match(line)
    assert m is not None and m.group(1) is not None and int(m.group(1)) >= 100, line

    assert tool.stop() == 0, tool.stderr
    assert tool.stderr == ""
    assert not (during & tool_link_ids(PROGS)), "links left behind after SIGTERM"


@pytest.mark.usefixtures("kernel")
def test_bootstrap_min_duration_and_ctrl_c(run_tool) -> None:  # type: ignore[no-untyped-def]
    tool = run_tool("bootstrap", "-d", "50")
    assert tool.wait_for(lambda s: s.startswith("TIME")) == HEADER
    during = tool_link_ids(PROGS)

    quick = subprocess.Popen(["/bin/true"])
    quick.wait()
    sh = subprocess.Popen(["/bin/sh", "-c", "sleep 0.1; exit 3"])
    assert sh.wait() == 3
    line = tool.wait_for(_exit_re("sh", sh.pid, os.getpid(), 3).match)
    m = _exit_re("sh", sh.pid, os.getpid(), 3).match(line)
    assert m is not None and m.group(1) is not None and int(m.group(1)) >= 100

    lines = tool.snapshot()[1:]
    assert lines, "no events"
    # with a minimum duration only exits are reported, each lasting at least 50 ms
    for ln in lines:
        assert " EXEC " not in ln, ln
        d = re.search(r" \((\d+)ms\)$", ln)
        assert d is not None and int(d.group(1)) >= 50, ln

    assert tool.stop(signal.SIGINT) == 0, tool.stderr
    assert not (during & tool_link_ids(PROGS))
